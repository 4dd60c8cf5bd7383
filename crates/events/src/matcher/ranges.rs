//! Interval stabbing: which of many ranges contain a value.
//!
//! Few ranges are scanned. Many are indexed once (lazily, after the last
//! change) in a segment tree over the elementary slots their endpoints cut the
//! line into, so a lookup costs O(log n + matches).

use std::sync::OnceLock;

/// A range with optional open ends over an ordered key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range<K> {
    pub(crate) lo: K,
    pub(crate) lo_open: bool,
    pub(crate) hi: K,
    pub(crate) hi_open: bool,
}

impl<K: PartialOrd + Copy> Range<K> {
    fn contains(&self, v: K) -> bool {
        let above = if self.lo_open {
            v > self.lo
        } else {
            v >= self.lo
        };
        let below = if self.hi_open {
            v < self.hi
        } else {
            v <= self.hi
        };
        above && below
    }
}

const SCAN_LIMIT: usize = 16;

#[derive(Debug, Default)]
pub(crate) struct RangeIndex<K> {
    ranges: Vec<(Range<K>, u32)>,
    built: OnceLock<Tree<K>>,
}

impl<K: Clone> Clone for RangeIndex<K> {
    fn clone(&self) -> Self {
        RangeIndex {
            ranges: self.ranges.clone(),
            built: OnceLock::new(),
        }
    }
}

#[derive(Debug)]
struct Tree<K> {
    points: Vec<K>,
    /// Segment tree over `2 * points.len() + 1` slots.
    nodes: Vec<Vec<u32>>,
    slots: usize,
}

impl<K: PartialOrd + Copy> RangeIndex<K> {
    pub(crate) fn new() -> Self {
        RangeIndex {
            ranges: Vec::new(),
            built: OnceLock::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub(crate) fn add(&mut self, r: Range<K>, id: u32) {
        self.ranges.push((r, id));
        self.built = OnceLock::new();
    }

    #[inline]
    pub(crate) fn stab(&self, v: K, out: &mut Vec<u32>) {
        if self.ranges.len() <= SCAN_LIMIT {
            for (r, id) in &self.ranges {
                if r.contains(v) {
                    out.push(*id);
                }
            }
            return;
        }
        let tree = self.built.get_or_init(|| Tree::build(&self.ranges));
        tree.stab(v, out);
    }
}

impl<K: PartialOrd + Copy> Tree<K> {
    fn build(ranges: &[(Range<K>, u32)]) -> Tree<K> {
        let mut points: Vec<K> = ranges.iter().flat_map(|(r, _)| [r.lo, r.hi]).collect();
        points.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        points.dedup_by(|a, b| a == b);
        let slots = 2 * points.len() + 1;
        let mut tree = Tree {
            nodes: vec![Vec::new(); 4 * slots],
            points,
            slots,
        };
        for (r, id) in ranges {
            let lo_i = tree.point_index(r.lo);
            let hi_i = tree.point_index(r.hi);
            // Slot 2i+1 is point i; slot 2i is the gap before it.
            let a = if r.lo_open {
                2 * lo_i + 2
            } else {
                2 * lo_i + 1
            };
            let b = if r.hi_open { 2 * hi_i } else { 2 * hi_i + 1 };
            if a <= b {
                tree.insert(1, 0, slots - 1, a, b, *id);
            }
        }
        tree
    }

    fn point_index(&self, k: K) -> usize {
        self.points.partition_point(|p| *p < k)
    }

    fn insert(&mut self, node: usize, l: usize, r: usize, a: usize, b: usize, id: u32) {
        if b < l || r < a {
            return;
        }
        if a <= l && r <= b {
            self.nodes[node].push(id);
            return;
        }
        let m = l + (r - l) / 2;
        self.insert(2 * node, l, m, a, b, id);
        self.insert(2 * node + 1, m + 1, r, a, b, id);
    }

    fn stab(&self, v: K, out: &mut Vec<u32>) {
        let i = self.point_index(v);
        let slot = if self.points.get(i).is_some_and(|p| *p == v) {
            2 * i + 1
        } else {
            2 * i
        };
        let (mut node, mut l, mut r) = (1usize, 0usize, self.slots - 1);
        loop {
            out.extend_from_slice(&self.nodes[node]);
            if l == r {
                return;
            }
            let m = l + (r - l) / 2;
            if slot <= m {
                node *= 2;
                r = m;
            } else {
                node = 2 * node + 1;
                l = m + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn tree_agrees_with_scan(
            ranges in prop::collection::vec((-20i32..20, 0i32..15, any::<bool>(), any::<bool>()), 17..60),
            probes in prop::collection::vec(-25i32..40, 1..30),
        ) {
            let mut idx = RangeIndex::new();
            let mut plain = Vec::new();
            for (i, &(lo, w, lo_open, hi_open)) in ranges.iter().enumerate() {
                let r = Range { lo: f64::from(lo), lo_open, hi: f64::from(lo + w), hi_open };
                idx.add(r, i as u32);
                plain.push(r);
            }
            for p in probes {
                let v = f64::from(p) / 1.0;
                let mut got = Vec::new();
                idx.stab(v, &mut got);
                got.sort_unstable();
                let want: Vec<u32> = plain.iter().enumerate().filter(|(_, r)| r.contains(v)).map(|(i, _)| i as u32).collect();
                prop_assert_eq!(got, want);
            }
        }
    }
}
