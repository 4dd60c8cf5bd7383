//! String tests of one field, indexed so a value finds its matches without
//! trying every pattern: exact values by hash, prefixes and suffixes by trie
//! walk, wildcards prefiltered by their literal head or tail.

use rustc_hash::FxHashMap;

use super::ids::{ByteTrie, Ids};
use crate::pattern::Glob;

#[derive(Debug, Clone, Default)]
pub(crate) struct StrIndex {
    exact: FxHashMap<Box<str>, Ids>,
    exact_ic: FxHashMap<Box<str>, Ids>,
    prefix: ByteTrie,
    prefix_ic: ByteTrie,
    /// Over reversed bytes.
    suffix: ByteTrie,
    suffix_ic: ByteTrie,
    globs: Vec<(Glob, u32)>,
    /// Glob indexes by literal head (non-empty heads only).
    glob_heads: ByteTrie,
    /// Glob indexes by reversed literal tail (empty head, non-empty tail).
    glob_tails: ByteTrie,
    /// Globs with neither (`*x*`).
    glob_rest: Vec<u32>,
    pub(crate) needs_fold: bool,
    pub(crate) is_empty: bool,
}

impl StrIndex {
    pub(crate) fn new() -> StrIndex {
        StrIndex {
            is_empty: true,
            ..StrIndex::default()
        }
    }

    pub(crate) fn add_exact(&mut self, s: &str, id: u32) {
        self.is_empty = false;
        self.exact.entry(s.into()).or_default().push(id);
    }

    pub(crate) fn add_exact_ic(&mut self, folded: &str, id: u32) {
        self.is_empty = false;
        self.needs_fold = true;
        self.exact_ic.entry(folded.into()).or_default().push(id);
    }

    pub(crate) fn add_prefix(&mut self, p: &str, id: u32) {
        self.is_empty = false;
        self.prefix.insert(p.bytes(), id);
    }

    pub(crate) fn add_prefix_ic(&mut self, folded: &str, id: u32) {
        self.is_empty = false;
        self.needs_fold = true;
        self.prefix_ic.insert(folded.bytes(), id);
    }

    pub(crate) fn add_suffix(&mut self, s: &str, id: u32) {
        self.is_empty = false;
        self.suffix.insert(s.bytes().rev(), id);
    }

    pub(crate) fn add_suffix_ic(&mut self, folded: &str, id: u32) {
        self.is_empty = false;
        self.needs_fold = true;
        self.suffix_ic.insert(folded.bytes().rev(), id);
    }

    pub(crate) fn add_glob(&mut self, g: &Glob, id: u32) {
        self.is_empty = false;
        if !g.has_star() {
            // A star-less wildcard is an exact byte comparison.
            let literal = String::from_utf8_lossy(g.first_piece()).into_owned();
            self.exact.entry(literal.into()).or_default().push(id);
            return;
        }
        let index = self.globs.len() as u32;
        self.globs.push((g.clone(), id));
        if !g.first_piece().is_empty() {
            self.glob_heads
                .insert(g.first_piece().iter().copied(), index);
        } else if !g.last_piece().is_empty() {
            self.glob_tails
                .insert(g.last_piece().iter().rev().copied(), index);
        } else {
            self.glob_rest.push(index);
        }
    }

    /// Emits the ids whose test `value` passes; `folded` is the folded value
    /// when [`StrIndex::needs_fold`] is set. `tmp` is scratch space.
    #[inline]
    pub(crate) fn query(&self, value: &str, folded: &str, out: &mut Vec<u32>, tmp: &mut Vec<u32>) {
        if self.is_empty {
            return;
        }
        if !self.exact.is_empty()
            && let Some(ids) = self.exact.get(value)
        {
            ids.emit(out);
        }
        if !self.prefix.is_empty() {
            self.prefix.prefixes_of(value.bytes(), out);
        }
        if !self.suffix.is_empty() {
            self.suffix.prefixes_of(value.bytes().rev(), out);
        }
        if self.needs_fold {
            if let Some(ids) = self.exact_ic.get(folded) {
                ids.emit(out);
            }
            self.prefix_ic.prefixes_of(folded.bytes(), out);
            self.suffix_ic.prefixes_of(folded.bytes().rev(), out);
        }
        if !self.globs.is_empty() {
            tmp.clear();
            self.glob_heads.prefixes_of(value.bytes(), tmp);
            self.glob_tails.prefixes_of(value.bytes().rev(), tmp);
            tmp.extend_from_slice(&self.glob_rest);
            for &i in tmp.iter() {
                if let Some((g, id)) = self.globs.get(i as usize)
                    && g.matches(value.as_bytes())
                {
                    out.push(*id);
                }
            }
        }
    }
}
