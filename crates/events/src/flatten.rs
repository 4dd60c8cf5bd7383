//! Event JSON text → the leaves a bus's patterns care about, in one pass.
//!
//! The flattener walks the text with a trie of the field paths that some
//! pattern names. A key no pattern names has its value skipped without being
//! decoded; a string is only unescaped when it is wanted. When every named
//! path has produced a value and the walk is back in the top-level object,
//! the rest of the event is not read at all.
//!
//! Architecture Invariant: the input is assumed to be valid JSON (PutEvents
//! and TestEventPattern validate it first). Malformed text yields an error or
//! an arbitrary verdict, never a panic. Parts that are skipped are not
//! validated.
//!
//! Because of the early stop, a key that repeats after every named path has a
//! value is not seen; neither is a dotted spelling (`"a.b"`) of a path that
//! already has a value from its nested spelling. Events built by Baton's
//! envelope have no repeated keys.

use memchr::memchr;
use rustc_hash::FxHashMap;

use crate::consistency::Step;
use crate::value::Leaf;

pub(crate) const NO_PATH: u32 = u32::MAX;

/// Deeper nesting than this inside named paths is refused.
const MAX_DEPTH: u32 = 512;

/// The field paths named by patterns, split at dots.
#[derive(Debug, Clone)]
pub(crate) struct FieldTrie {
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Clone, Default)]
struct TrieNode {
    children: Children,
    /// The path id when a pattern names this node.
    path: u32,
}

#[derive(Debug, Clone, Default)]
enum Children {
    #[default]
    None,
    Few(Vec<(Box<[u8]>, u32)>),
    Many(FxHashMap<Box<[u8]>, u32>),
}

impl Children {
    fn get(&self, key: &[u8]) -> Option<u32> {
        match self {
            Children::None => None,
            Children::Few(v) => v.iter().find(|(k, _)| key_eq(k, key)).map(|&(_, n)| n),
            Children::Many(m) => m.get(key).copied(),
        }
    }
    fn is_empty(&self) -> bool {
        matches!(self, Children::None)
    }
}

/// Byte equality without a `memcmp` call for the short keys events use.
#[inline]
fn key_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= 16 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    a == b
}

impl FieldTrie {
    pub(crate) fn new() -> FieldTrie {
        FieldTrie {
            nodes: vec![TrieNode {
                children: Children::None,
                path: NO_PATH,
            }],
        }
    }

    /// The node for a dotted path, created if needed; returns its slot for the path id.
    pub(crate) fn insert(&mut self, path: &str, path_id: u32) -> u32 {
        let mut node = 0usize;
        for seg in path.split('.') {
            let seg = seg.as_bytes();
            node = match self.nodes[node].children.get(seg) {
                Some(n) => n as usize,
                None => {
                    let id = self.nodes.len() as u32;
                    self.nodes.push(TrieNode {
                        children: Children::None,
                        path: NO_PATH,
                    });
                    let children = &mut self.nodes[node].children;
                    match children {
                        Children::None => *children = Children::Few(vec![(seg.into(), id)]),
                        Children::Few(v) => {
                            v.push((seg.into(), id));
                            if v.len() > 8 {
                                let map = v.drain(..).collect();
                                *children = Children::Many(map);
                            }
                        }
                        Children::Many(m) => {
                            m.insert(seg.into(), id);
                        }
                    }
                    id as usize
                }
            };
        }
        if self.nodes[node].path == NO_PATH {
            self.nodes[node].path = path_id;
        }
        self.nodes[node].path
    }
}

/// Where a leaf's bytes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string with no escapes, in the event text.
    RawStr,
    /// An unescaped string, in the decode buffer.
    DecodedStr,
    Num,
    True,
    False,
    Null,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct FlatLeaf {
    pub(crate) path: u32,
    pub(crate) kind: Kind,
    pub(crate) start: u32,
    pub(crate) len: u32,
    pub(crate) trail_start: u32,
    pub(crate) trail_len: u32,
}

/// The flattened event (reused between events to avoid allocation).
#[derive(Debug, Default)]
pub(crate) struct FlatEvent {
    pub(crate) leaves: Vec<FlatLeaf>,
    pub(crate) trails: Vec<Step>,
    pub(crate) decoded: String,
    /// Some named value sits in a container inside an array, so fields may
    /// need the array-consistency check.
    pub(crate) nested_arrays: bool,
    stack: Vec<Step>,
    key: String,
    next_array: u32,
}

impl FlatEvent {
    pub(crate) fn clear(&mut self) {
        self.leaves.clear();
        self.trails.clear();
        self.decoded.clear();
        self.stack.clear();
        self.nested_arrays = false;
        self.next_array = 0;
    }

    pub(crate) fn leaf<'a>(&'a self, l: &FlatLeaf, event: &'a str) -> Leaf<'a> {
        let range = l.start as usize..(l.start + l.len) as usize;
        match l.kind {
            Kind::RawStr => Leaf::Str(event.get(range).unwrap_or("")),
            Kind::DecodedStr => Leaf::Str(self.decoded.get(range).unwrap_or("")),
            Kind::Num => Leaf::Num(event.get(range).unwrap_or("")),
            Kind::True => Leaf::True,
            Kind::False => Leaf::False,
            Kind::Null => Leaf::Null,
        }
    }

    pub(crate) fn trail(&self, l: &FlatLeaf) -> &[Step] {
        let s = l.trail_start as usize;
        self.trails.get(s..s + l.trail_len as usize).unwrap_or(&[])
    }
}

/// Why an event could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the event is not a JSON object")]
    NotAnObject,
    #[error("malformed JSON in the event at byte {0}")]
    Malformed(usize),
    #[error("the event nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// Per-event state the flattener shares with the matcher.
pub(crate) struct Seen<'s> {
    /// `stamp[path] == epoch` once the path has a leaf.
    pub(crate) stamp: &'s mut [u32],
    pub(crate) epoch: u32,
    /// Distinct named paths seen so far.
    pub(crate) found: u32,
    /// Distinct named paths in the trie.
    pub(crate) total: u32,
}

pub(crate) fn flatten(
    event: &str,
    trie: &FieldTrie,
    out: &mut FlatEvent,
    seen: &mut Seen<'_>,
) -> Result<(), EventError> {
    out.clear();
    let mut r = Reader {
        b: event.as_bytes(),
        src: event,
        pos: 0,
        trie,
        out,
        seen,
        done: false,
    };
    r.ws();
    if r.peek() != Some(b'{') {
        return Err(EventError::NotAnObject);
    }
    r.object(0, 0, true)
}

struct Reader<'e, 'o, 's, 't> {
    b: &'e [u8],
    src: &'e str,
    pos: usize,
    trie: &'t FieldTrie,
    out: &'o mut FlatEvent,
    seen: &'o mut Seen<'s>,
    /// Every named path has a value and no array is open: stop reading.
    done: bool,
}

impl Reader<'_, '_, '_, '_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if c == b' ' || c == b'\n' || c == b'\r' || c == b'\t' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn bad<T>(&self) -> Result<T, EventError> {
        Err(EventError::Malformed(self.pos))
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Result<(), EventError> {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            self.bad()
        }
    }

    /// Reads an object whose `{` is at `pos`, for trie node `node`.
    fn object(&mut self, node: u32, depth: u32, root: bool) -> Result<(), EventError> {
        if depth > MAX_DEPTH {
            return Err(EventError::TooDeep);
        }
        self.pos += 1; // {
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return self.bad();
            }
            self.pos += 1;
            let child = self.member_node(node)?;
            self.expect(b':')?;
            self.ws();
            match child {
                Some(c) => {
                    self.value(c, depth + 1)?;
                    if self.done {
                        return Ok(());
                    }
                }
                None => self.skip_value()?,
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    if root && self.seen.found == self.seen.total {
                        // Nothing is named at all.
                        return Ok(());
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return self.bad(),
            }
        }
    }

    /// Reads a key (after its opening quote) and finds its trie node.
    fn member_node(&mut self, node: u32) -> Result<Option<u32>, EventError> {
        let start = self.pos;
        let rest = self.b.get(start..).unwrap_or(&[]);
        let Some(end) = find_quote_or_backslash(rest) else {
            return self.bad();
        };
        let children = &self.trie.nodes[node as usize].children;
        if rest[end] == b'"' {
            self.pos = start + end + 1;
            if children.is_empty() {
                return Ok(None);
            }
            let key = &rest[..end];
            if let Some(c) = children.get(key) {
                return Ok(Some(c));
            }
            if memchr(b'.', key).is_some() {
                return Ok(self.walk_dotted(node, key));
            }
            return Ok(None);
        }
        // An escaped key: decode it first.
        let mut key = std::mem::take(&mut self.out.key);
        key.clear();
        let r = self.decode_string_into(&mut key);
        let found = match r {
            Ok(()) => {
                if children.is_empty() {
                    None
                } else {
                    self.walk_dotted(node, key.as_bytes())
                }
            }
            Err(e) => {
                self.out.key = key;
                return Err(e);
            }
        };
        self.out.key = key;
        Ok(found)
    }

    fn walk_dotted(&self, node: u32, key: &[u8]) -> Option<u32> {
        let mut n = node;
        for seg in key.split(|&c| c == b'.') {
            n = self.trie.nodes[n as usize].children.get(seg)?;
        }
        Some(n)
    }

    /// Reads a value wanted by trie node `node`.
    fn value(&mut self, node: u32, depth: u32) -> Result<(), EventError> {
        if depth > MAX_DEPTH {
            return Err(EventError::TooDeep);
        }
        let path = self.trie.nodes[node as usize].path;
        match self.peek() {
            Some(b'{') => {
                if !self.out.stack.is_empty() {
                    self.out.nested_arrays = true;
                }
                if self.trie.nodes[node as usize].children.is_empty() {
                    self.skip_value()
                } else {
                    self.object(node, depth, false)
                }
            }
            Some(b'[') => self.array(node, depth),
            Some(b'"') => {
                if path == NO_PATH {
                    return self.skip_value();
                }
                self.pos += 1;
                let start = self.pos;
                let rest = self.b.get(start..).unwrap_or(&[]);
                let Some(end) = find_quote_or_backslash(rest) else {
                    return self.bad();
                };
                if rest[end] == b'"' {
                    self.pos = start + end + 1;
                    self.emit(path, Kind::RawStr, start, end);
                } else {
                    let mut buf = std::mem::take(&mut self.out.decoded);
                    let from = buf.len();
                    let r = self.decode_string_into(&mut buf);
                    let len = buf.len() - from;
                    self.out.decoded = buf;
                    r?;
                    self.emit(path, Kind::DecodedStr, from, len);
                }
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                self.skip_number()?;
                if path != NO_PATH {
                    self.emit(path, Kind::Num, start, self.pos - start);
                }
                Ok(())
            }
            Some(b't') => self.literal(b"true", path, Kind::True),
            Some(b'f') => self.literal(b"false", path, Kind::False),
            Some(b'n') => self.literal(b"null", path, Kind::Null),
            _ => self.bad(),
        }
    }

    fn array(&mut self, node: u32, depth: u32) -> Result<(), EventError> {
        if depth > MAX_DEPTH {
            return Err(EventError::TooDeep);
        }
        self.pos += 1; // [
        let id = self.out.next_array;
        self.out.next_array = self.out.next_array.wrapping_add(1);
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        if !self.out.stack.is_empty() && matches!(self.peek(), Some(b'[')) {
            self.out.nested_arrays = true;
        }
        self.out.stack.push((id, 0));
        let mut index = 0u32;
        loop {
            if let Some(top) = self.out.stack.last_mut() {
                *top = (id, index);
            }
            self.ws();
            self.value(node, depth + 1)?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    index = index.wrapping_add(1);
                }
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return self.bad(),
            }
        }
        self.out.stack.pop();
        if self.out.stack.is_empty() && self.seen.found == self.seen.total {
            self.done = true;
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8], path: u32, kind: Kind) -> Result<(), EventError> {
        if self.b.get(self.pos..self.pos + word.len()) != Some(word) {
            return self.bad();
        }
        if path != NO_PATH {
            self.emit(path, kind, self.pos, word.len());
        }
        self.pos += word.len();
        Ok(())
    }

    #[inline]
    fn emit(&mut self, path: u32, kind: Kind, start: usize, len: usize) {
        let stamp = &mut self.seen.stamp[path as usize];
        if *stamp != self.seen.epoch {
            *stamp = self.seen.epoch;
            self.seen.found += 1;
            // Every named path has a value: outside arrays, the rest of the
            // event can only repeat keys (see the module docs).
            if self.seen.found == self.seen.total && self.out.stack.is_empty() {
                self.done = true;
            }
        }
        let trail_start = self.out.trails.len() as u32;
        let trail_len = self.out.stack.len() as u32;
        if trail_len > 0 {
            self.out.trails.extend_from_slice(&self.out.stack);
        }
        self.out.leaves.push(FlatLeaf {
            path,
            kind,
            start: start as u32,
            len: len as u32,
            trail_start,
            trail_len,
        });
    }

    /// Unescapes a string (after its opening quote) onto `buf`.
    fn decode_string_into(&mut self, buf: &mut String) -> Result<(), EventError> {
        loop {
            let rest = self.b.get(self.pos..).unwrap_or(&[]);
            let Some(at) = find_quote_or_backslash(rest) else {
                return self.bad();
            };
            buf.push_str(self.src.get(self.pos..self.pos + at).unwrap_or(""));
            self.pos += at;
            if rest[at] == b'"' {
                self.pos += 1;
                return Ok(());
            }
            match crate::json_tokens::decode_escape(self.src, self.pos) {
                Ok((c, used)) => {
                    buf.push(c);
                    self.pos += used;
                }
                Err(_) => return self.bad(),
            }
        }
    }

    fn skip_number(&mut self) -> Result<(), EventError> {
        let start = self.pos;
        while let Some(&c) = self.b.get(self.pos) {
            if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            self.bad()
        } else {
            Ok(())
        }
    }

    /// Skips one value without decoding it.
    fn skip_value(&mut self) -> Result<(), EventError> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.skip_string_body()
            }
            Some(b'{' | b'[') => self.skip_container(),
            Some(b'-' | b'0'..=b'9') => self.skip_number(),
            Some(b't') => self.skip_word(b"true"),
            Some(b'f') => self.skip_word(b"false"),
            Some(b'n') => self.skip_word(b"null"),
            _ => self.bad(),
        }
    }

    fn skip_word(&mut self, word: &[u8]) -> Result<(), EventError> {
        if self.b.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.bad()
        }
    }

    #[inline]
    fn skip_string_body(&mut self) -> Result<(), EventError> {
        loop {
            let rest = self.b.get(self.pos..).unwrap_or(&[]);
            let Some(at) = find_quote_or_backslash(rest) else {
                return self.bad();
            };
            if rest[at] == b'"' {
                self.pos += at + 1;
                return Ok(());
            }
            self.pos += at + 2; // the backslash and the escaped byte
        }
    }

    /// Skips an object or array, tracking only brackets and strings. A plain
    /// byte loop: structural bytes are too dense in event JSON (every few
    /// bytes) for word-at-a-time scanning to pay off.
    fn skip_container(&mut self) -> Result<(), EventError> {
        let b = self.b;
        let mut depth = 0usize;
        let mut i = self.pos;
        while let Some(&c) = b.get(i) {
            i += 1;
            match CLASS[c as usize] {
                0 => {}
                1 => depth += 1,
                2 => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.pos = i;
                        return Ok(());
                    }
                }
                _ => loop {
                    match b.get(i) {
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                        None => {
                            self.pos = b.len();
                            return self.bad();
                        }
                    }
                },
            }
        }
        self.pos = b.len();
        self.bad()
    }
}

/// Byte classes for skipping: 1 opens, 2 closes, 3 starts a string.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'{' as usize] = 1;
    t[b'[' as usize] = 1;
    t[b'}' as usize] = 2;
    t[b']' as usize] = 2;
    t[b'"' as usize] = 3;
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A mask with the high bit set in the lowest byte of `w` equal to `t` (and
/// possibly in later bytes; only the lowest flagged byte is exact).
#[inline]
fn byte_eq(w: u64, t: u8) -> u64 {
    let x = w ^ (ONES * u64::from(t));
    x.wrapping_sub(ONES) & !x & HIGHS
}

#[inline]
fn word_at(b: &[u8], i: usize) -> Option<u64> {
    b.get(i..i + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_le_bytes)
}

/// The index of the first `"` or `\\` in `b`, eight bytes at a time.
#[inline]
fn find_quote_or_backslash(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(w) = word_at(b, i) {
        let m = byte_eq(w, b'"') | byte_eq(w, b'\\');
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b.get(i..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|p| p + i)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn flat(paths: &[&str], event: &str) -> Vec<(String, String, Vec<Step>)> {
        let mut trie = FieldTrie::new();
        for (i, p) in paths.iter().enumerate() {
            trie.insert(p, i as u32);
        }
        let mut out = FlatEvent::default();
        let mut stamp = vec![0u32; paths.len()];
        let mut seen = Seen {
            stamp: &mut stamp,
            epoch: 1,
            found: 0,
            total: paths.len() as u32,
        };
        flatten(event, &trie, &mut out, &mut seen).unwrap();
        out.leaves
            .iter()
            .map(|l| {
                (
                    paths[l.path as usize].to_owned(),
                    format!("{:?}", out.leaf(l, event)),
                    out.trail(l).to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn named_paths_only() {
        let got = flat(
            &["a.b", "c"],
            r#"{"x": {"y": [1, "}"]}, "a": {"b": "v\"w", "z": 1}, "c": [1, [true, null]]}"#,
        );
        assert_eq!(
            got,
            vec![
                ("a.b".into(), "Str(\"v\\\"w\")".into(), vec![]),
                ("c".into(), "Num(\"1\")".into(), vec![(0, 0)]),
                ("c".into(), "True".into(), vec![(0, 1), (1, 0)]),
                ("c".into(), "Null".into(), vec![(0, 1), (1, 1)]),
            ]
        );
    }

    #[test]
    fn dotted_keys_in_events() {
        let got = flat(
            &["detail.state.status"],
            r#"{"detail": {"state.status": "running"}}"#,
        );
        assert_eq!(got.len(), 1);
        let got = flat(
            &["detail.state.status"],
            r#"{"detail.state": {"status": "running"}}"#,
        );
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn stops_early_but_never_panics_on_garbage() {
        // Everything named was seen before the broken tail.
        let got = flat(&["a"], r#"{"a": 1, "b": [[[[["#);
        assert_eq!(got.len(), 1);
        let mut trie = FieldTrie::new();
        trie.insert("a", 0);
        for bad in [
            "",
            "[",
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\": tru}",
            "{\"a\": \"\\u12\"}",
        ] {
            let mut out = FlatEvent::default();
            let mut stamp = vec![0u32; 1];
            let mut seen = Seen {
                stamp: &mut stamp,
                epoch: 1,
                found: 0,
                total: 1,
            };
            assert!(flatten(bad, &trie, &mut out, &mut seen).is_err(), "{bad}");
        }
    }
}
