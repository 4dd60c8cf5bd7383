//! `wildcard` values: `*` matches any run of characters, `\*` and `\\` are literals.
//!
//! A glob is kept as its literal pieces between stars, so matching is a prefix
//! test, a suffix test and a left-to-right substring search for the middle —
//! linear in the value, with no backtracking (greedy leftmost placement of the
//! middle pieces is optimal for `*`-only globs).

use memchr::memmem;

/// A parsed wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Glob {
    /// The pattern text as written (escapes included).
    source: String,
    /// Literal pieces; `pieces.len() == stars + 1`.
    pieces: Vec<Vec<u8>>,
}

impl Glob {
    /// Parses wildcard text. Errors carry event-ruler's reason texts, whose
    /// positions count UTF-8 bytes from the string's opening quote.
    pub(crate) fn parse(text: &str) -> Result<Glob, String> {
        let b = text.as_bytes();
        let mut pieces = vec![Vec::new()];
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'*' => {
                    if b.get(i + 1) == Some(&b'*') {
                        return Err(format!("Consecutive wildcard characters at pos {}", i + 1));
                    }
                    pieces.push(Vec::new());
                    i += 1;
                }
                b'\\' => match b.get(i + 1) {
                    Some(&next @ (b'*' | b'\\')) => {
                        if let Some(last) = pieces.last_mut() {
                            last.push(next);
                        }
                        i += 2;
                    }
                    _ => return Err(format!("Invalid escape character at pos {}", i + 1)),
                },
                other => {
                    if let Some(last) = pieces.last_mut() {
                        last.push(other);
                    }
                    i += 1;
                }
            }
        }
        Ok(Glob {
            source: text.to_owned(),
            pieces,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub(crate) fn has_star(&self) -> bool {
        self.pieces.len() > 1
    }

    /// The literal text before the first star.
    pub(crate) fn first_piece(&self) -> &[u8] {
        self.pieces.first().map_or(&[], Vec::as_slice)
    }

    /// The literal text after the last star.
    pub(crate) fn last_piece(&self) -> &[u8] {
        self.pieces.last().map_or(&[], Vec::as_slice)
    }

    pub(crate) fn matches(&self, value: &[u8]) -> bool {
        let n = self.pieces.len();
        if n == 1 {
            return value == self.pieces[0].as_slice();
        }
        let first = self.pieces[0].as_slice();
        let last = self.pieces[n - 1].as_slice();
        if value.len() < first.len() + last.len()
            || !value.starts_with(first)
            || !value.ends_with(last)
        {
            return false;
        }
        let mut window = &value[first.len()..value.len() - last.len()];
        for piece in &self.pieces[1..n - 1] {
            if piece.is_empty() {
                continue;
            }
            match memmem::find(window, piece) {
                Some(at) => window = &window[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

/// How many glob positions a worst-case value can keep alive at once, over
/// all the wildcard patterns given (one event field of one rule).
///
/// This is Baton's version of event-ruler's `MachineComplexityEvaluator`: a
/// subset construction over the patterns' position automaton, counting the
/// live positions of the largest reachable subset. Calibrated on AWS's
/// recorded verdicts: `*:*:*:*:*:event-bus/*` (13) is refused, while
/// `arn:aws:events:us-east-1:*:event-bus/*` (5) and
/// `/Users/*/dir/dir/dir/dir/dir/doc.txt` (8) are accepted; [`MAX_COMPLEXITY`]
/// sits between.
pub(crate) fn complexity(globs: &[&Glob]) -> usize {
    // Tokens per glob: quote, literal bytes / STAR, quote (event-ruler matches
    // the quoted form, so the quotes are positions too).
    const STAR: u16 = 256;
    let toks: Vec<Vec<u16>> = globs
        .iter()
        .map(|g| {
            let mut t = vec![u16::from(b'"')];
            for (k, piece) in g.pieces.iter().enumerate() {
                if k > 0 {
                    t.push(STAR);
                }
                t.extend(piece.iter().map(|&b| u16::from(b)));
            }
            t.push(u16::from(b'"'));
            t
        })
        .collect();
    let mut alphabet: Vec<u16> = toks
        .iter()
        .flatten()
        .copied()
        .filter(|&t| t != STAR)
        .collect();
    alphabet.sort_unstable();
    alphabet.dedup();
    alphabet.push(STAR); // stands for "any byte no pattern names"

    let closure = |set: &mut Vec<(u32, u32)>| {
        let mut k = 0;
        while k < set.len() {
            let (g, p) = set[k];
            let t = &toks[g as usize];
            if t.get(p as usize) == Some(&STAR) && !set.contains(&(g, p + 1)) {
                set.push((g, p + 1));
            }
            k += 1;
        }
        set.sort_unstable();
        set.dedup();
    };
    let mut start: Vec<(u32, u32)> = (0..toks.len() as u32).map(|g| (g, 0)).collect();
    closure(&mut start);
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![start.clone()];
    seen.insert(start);
    let mut best = 0usize;
    // Bound the work: past this many subsets the rule is complex enough.
    const MAX_SUBSETS: usize = 20_000;
    while let Some(set) = todo.pop() {
        for &a in &alphabet {
            let mut next = Vec::new();
            for &(g, p) in &set {
                match toks[g as usize].get(p as usize) {
                    Some(&STAR) => next.push((g, p)),
                    Some(&t) if t == a && a != STAR => next.push((g, p + 1)),
                    _ => {}
                }
            }
            if next.is_empty() {
                continue;
            }
            closure(&mut next);
            best = best.max(next.len());
            if best > MAX_COMPLEXITY {
                return best;
            }
            if seen.len() >= MAX_SUBSETS {
                return MAX_COMPLEXITY + 1;
            }
            if seen.insert(next.clone()) {
                todo.push(next);
            }
        }
    }
    best
}

/// The largest [`complexity`] a rule's field may have.
pub(crate) const MAX_COMPLEXITY: usize = 10;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn g(s: &str) -> Glob {
        Glob::parse(s).unwrap()
    }

    #[test]
    fn matching() {
        assert!(g("143*").matches(b"1430022"));
        assert!(!g("143*").matches(b"1440022"));
        assert!(g("2*0*1*7").matches(b"2607117"));
        assert!(g("*218").matches(b"2607218"));
        assert!(
            g("/Users/*/dir/dir/dir/dir/dir/doc.txt")
                .matches(b"/Users/x/dir/dir/dir/dir/dir/doc.txt")
        );
        assert!(!g("").matches(b"x"));
        assert!(g("").matches(b""));
        assert!(g("a\\*b").matches(b"a*b"));
        assert!(!g("a\\*b").matches(b"axb"));
        assert!(g("*").matches(b""));
        assert!(!g("ab*ba").matches(b"aba"));
    }

    #[test]
    fn errors() {
        assert_eq!(
            Glob::parse("arn:aws:events:us-east-1:**:event-bus/*").unwrap_err(),
            "Consecutive wildcard characters at pos 26"
        );
        assert_eq!(
            Glob::parse("a\\b").unwrap_err(),
            "Invalid escape character at pos 2"
        );
        assert_eq!(
            Glob::parse("a\\").unwrap_err(),
            "Invalid escape character at pos 2"
        );
    }

    #[test]
    fn complexity_is_calibrated_on_recorded_verdicts() {
        let c = |pats: &[&str]| {
            let globs: Vec<Glob> = pats.iter().map(|p| g(p)).collect();
            let refs: Vec<&Glob> = globs.iter().collect();
            complexity(&refs)
        };
        assert!(c(&["*:*:*:*:*:event-bus/*"]) > MAX_COMPLEXITY);
        assert!(c(&["arn:aws:events:us-east-1:*:event-bus/*"]) <= MAX_COMPLEXITY);
        assert!(c(&["/Users/*/dir/dir/dir/dir/dir/doc.txt"]) <= MAX_COMPLEXITY);
        assert!(c(&["*/init/*", "*/dir/*"]) <= MAX_COMPLEXITY);
        for p in ["143*", "2*0*1*7", "*218", "3*5*2", "VA*IL"] {
            assert!(c(&[p]) <= MAX_COMPLEXITY, "{p}");
        }
    }
}
