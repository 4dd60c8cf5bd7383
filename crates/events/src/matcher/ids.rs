//! Small id lists: most entries map to exactly one predicate.

#[derive(Debug, Clone, Default)]
pub(crate) enum Ids {
    #[default]
    None,
    One(u32),
    Many(Vec<u32>),
}

impl Ids {
    pub(crate) fn push(&mut self, id: u32) {
        *self = match std::mem::take(self) {
            Ids::None => Ids::One(id),
            Ids::One(a) => Ids::Many(vec![a, id]),
            Ids::Many(mut v) => {
                v.push(id);
                Ids::Many(v)
            }
        };
    }

    #[inline]
    pub(crate) fn emit(&self, out: &mut Vec<u32>) {
        match self {
            Ids::None => {}
            Ids::One(a) => out.push(*a),
            Ids::Many(v) => out.extend_from_slice(v),
        }
    }
}

/// A byte trie whose nodes hold ids: every id on the path a value walks is
/// emitted, which is exactly "the patterns that are prefixes of the value".
#[derive(Debug, Clone, Default)]
pub(crate) struct ByteTrie {
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Clone, Default)]
struct TrieNode {
    next: Vec<(u8, u32)>,
    ids: Ids,
}

impl ByteTrie {
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub(crate) fn insert(&mut self, key: impl Iterator<Item = u8>, id: u32) {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut n = 0usize;
        for b in key {
            n = match self.nodes[n].next.binary_search_by_key(&b, |&(k, _)| k) {
                Ok(i) => self.nodes[n].next[i].1 as usize,
                Err(i) => {
                    let id = self.nodes.len() as u32;
                    self.nodes.push(TrieNode::default());
                    self.nodes[n].next.insert(i, (b, id));
                    id as usize
                }
            };
        }
        self.nodes[n].ids.push(id);
    }

    /// Emits the ids of every inserted key that is a prefix of `value`.
    #[inline]
    pub(crate) fn prefixes_of(&self, value: impl Iterator<Item = u8>, out: &mut Vec<u32>) {
        let Some(root) = self.nodes.first() else {
            return;
        };
        root.ids.emit(out);
        let mut n = 0usize;
        for b in value {
            let next = &self.nodes[n].next;
            let step = if next.len() <= 8 {
                next.iter().find(|&&(k, _)| k == b).map(|&(_, i)| i)
            } else {
                next.binary_search_by_key(&b, |&(k, _)| k)
                    .ok()
                    .map(|i| next[i].1)
            };
            match step {
                Some(i) => {
                    n = i as usize;
                    self.nodes[n].ids.emit(out);
                }
                None => return,
            }
        }
    }
}
