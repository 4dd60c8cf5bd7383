//! Array-consistent matching.
//!
//! EventBridge refuses a match in which two fields come from objects in
//! *different elements of the same array*: with
//! `{"employees": [{"first": "Anna", "last": "Smith"}, {"first": "Peter", "last": "Jones"}]}`
//! the pattern `{"employees": {"first": ["Anna"], "last": ["Jones"]}}` does not match.
//!
//! Every event value carries a *trail*: the `(array id, element index)` pairs of
//! the arrays it sits in, outermost first. Two values are consistent when they
//! agree on the index of every array both sit in. A branch matches when each of
//! its fields can pick one satisfying value such that all picks are pairwise
//! consistent.
//!
//! The search runs over the tree the trails form (array elements nest inside
//! arrays nest inside elements), computing for each node which sets of fields
//! can be satisfied together inside it, as bitmasks. Arrays contribute the
//! union over their elements; siblings under one element combine freely. This
//! is polynomial in the event for a fixed number of fields, unlike naive
//! backtracking over all combinations.

/// One step of a trail: which array, which element.
pub(crate) type Step = (u32, u32);

/// `fields[i]` lists the trails of the values that satisfy field `i`.
/// Returns whether one value per field can be picked consistently.
pub(crate) fn consistent(fields: &[Vec<&[Step]>]) -> bool {
    if fields.iter().any(Vec::is_empty) {
        return false;
    }
    // A field with a value outside every array is consistent with anything.
    let constrained: Vec<&Vec<&[Step]>> = fields
        .iter()
        .filter(|cands| !cands.iter().any(|t| t.is_empty()))
        .collect();
    if constrained.len() <= 1 {
        return true;
    }
    if constrained.len() > 63 {
        // Beyond the bitmask width: fall back to the exhaustive search, which
        // such a pattern (over 63 array fields) would need to be built for.
        return backtrack(&constrained, &mut Vec::new());
    }
    let full: u64 = (1u64 << constrained.len()) - 1;
    let mut root = Node::default();
    for (i, cands) in constrained.iter().enumerate() {
        for trail in cands.iter() {
            root.insert(trail, 1u64 << i);
        }
    }
    root.achievable(full).contains(&full)
}

#[derive(Default)]
struct Node {
    /// Fields satisfied by a value sitting directly in this element.
    here: u64,
    /// Arrays inside this element, each with its elements.
    arrays: Vec<(u32, Vec<(u32, Node)>)>,
}

impl Node {
    fn insert(&mut self, trail: &[Step], bit: u64) {
        let Some((&(array, index), rest)) = trail.split_first() else {
            self.here |= bit;
            return;
        };
        let pos = match self.arrays.iter().position(|(a, _)| *a == array) {
            Some(p) => p,
            None => {
                self.arrays.push((array, Vec::new()));
                self.arrays.len() - 1
            }
        };
        let elements = &mut self.arrays[pos].1;
        let epos = match elements.iter().position(|(i, _)| *i == index) {
            Some(p) => p,
            None => {
                elements.push((index, Node::default()));
                elements.len() - 1
            }
        };
        elements[epos].1.insert(rest, bit);
    }

    /// The maximal field sets satisfiable together within this element.
    fn achievable(&self, full: u64) -> Vec<u64> {
        let mut sets = vec![self.here];
        for (_, elements) in &self.arrays {
            // One element of this array may contribute (or none).
            let mut options: Vec<u64> = Vec::new();
            for (_, child) in elements {
                for m in child.achievable(full) {
                    push_maximal(&mut options, m);
                }
            }
            let mut combined = Vec::new();
            for &s in &sets {
                push_maximal(&mut combined, s);
                for &o in &options {
                    push_maximal(&mut combined, s | o);
                }
            }
            sets = combined;
            if sets.contains(&full) {
                return vec![full];
            }
        }
        sets
    }
}

/// Adds `m` unless a superset is present; drops subsets of `m`.
fn push_maximal(sets: &mut Vec<u64>, m: u64) {
    if sets.iter().any(|&s| s & m == m) {
        return;
    }
    sets.retain(|&s| s & m != s);
    sets.push(m);
}

fn agree(a: &[Step], b: &[Step]) -> bool {
    for (x, y) in a.iter().zip(b.iter()) {
        if x.0 != y.0 {
            return true;
        }
        if x.1 != y.1 {
            return false;
        }
    }
    true
}

fn backtrack<'t>(fields: &[&Vec<&'t [Step]>], picked: &mut Vec<&'t [Step]>) -> bool {
    let Some((first, rest)) = fields.split_first() else {
        return true;
    };
    for &t in first.iter() {
        if picked.iter().all(|p| agree(p, t)) {
            picked.push(t);
            if backtrack(rest, picked) {
                return true;
            }
            picked.pop();
        }
    }
    false
}

/// The exhaustive check, for tests.
#[cfg(test)]
pub(crate) fn consistent_by_search(fields: &[Vec<&[Step]>]) -> bool {
    let refs: Vec<&Vec<&[Step]>> = fields.iter().collect();
    backtrack(&refs, &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn employees_example() {
        // employees (array 0): [ {first: Anna(0), last: Smith(0)}, {first: Peter(1), last: Jones(1)} ]
        let anna: &[Step] = &[(0, 0)];
        let jones: &[Step] = &[(0, 1)];
        let smith: &[Step] = &[(0, 0)];
        assert!(!consistent(&[vec![anna], vec![jones]]));
        assert!(consistent(&[vec![anna], vec![smith]]));
        assert!(consistent(&[vec![anna], vec![&[]]]));
    }

    fn trail() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec((0u32..3, 0u32..3), 0..3)
    }

    proptest! {
        #[test]
        fn tree_search_agrees_with_exhaustive_search(
            fields in prop::collection::vec(prop::collection::vec(trail(), 1..4), 1..5)
        ) {
            // Make trails well-formed: an array id determines its parent, so
            // derive ids from the prefix (as a real event would).
            let fixed: Vec<Vec<Vec<Step>>> = fields.iter().map(|cands| cands.iter().map(|t| {
                let mut out = Vec::new();
                let mut parent = 0u32;
                for &(a, i) in t {
                    let id = parent * 7 + a + 1;
                    out.push((id, i));
                    parent = id * 5 + i + 1;
                }
                out
            }).collect()).collect();
            let refs: Vec<Vec<&[Step]>> = fixed.iter().map(|c| c.iter().map(Vec::as_slice).collect()).collect();
            prop_assert_eq!(consistent(&refs), consistent_by_search(&refs));
        }
    }
}
