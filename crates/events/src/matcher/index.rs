//! Everything the bus's patterns test on one field path, indexed by value.

use rustc_hash::FxHashMap;

use super::ids::Ids;
use super::ranges::{Range, RangeIndex};
use super::strings::StrIndex;
use crate::pattern::{AnythingBut, ValueMatcher, ip};
use crate::value::{Leaf, comparable, fold_into};

/// Scratch the evaluation of one value needs.
pub(crate) struct EvalCtx<'a> {
    pub(crate) out: &'a mut Vec<u32>,
    pub(crate) tmp: &'a mut Vec<u32>,
    pub(crate) folded: &'a mut String,
    /// `excluded[pred] == stamp` when an anything-but excludes this value.
    pub(crate) excluded: &'a mut [u32],
    pub(crate) stamp: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct PathIndex {
    strs: StrIndex,
    exact_num: FxHashMap<u64, Ids>,
    exact_num_text: FxHashMap<Box<str>, Ids>,
    lits: [Ids; 3],
    exists: Ids,
    numeric: RangeIndex<f64>,
    ip4: RangeIndex<u128>,
    ip6: RangeIndex<u128>,
    /// Every anything-but on this path: each holds unless the value is excluded.
    anything_but: Vec<u32>,
    ab_strs: StrIndex,
    ab_nums: FxHashMap<u64, Ids>,
}

fn num_key(v: f64) -> u64 {
    (if v == 0.0 { 0.0 } else { v }).to_bits()
}

impl PathIndex {
    pub(crate) fn new() -> PathIndex {
        PathIndex {
            strs: StrIndex::new(),
            exact_num: FxHashMap::default(),
            exact_num_text: FxHashMap::default(),
            lits: [Ids::None, Ids::None, Ids::None],
            exists: Ids::None,
            numeric: RangeIndex::new(),
            ip4: RangeIndex::new(),
            ip6: RangeIndex::new(),
            anything_but: Vec::new(),
            ab_strs: StrIndex::new(),
            ab_nums: FxHashMap::default(),
        }
    }

    pub(crate) fn add(&mut self, m: &ValueMatcher, id: u32) {
        use ValueMatcher as M;
        match m {
            M::ExactString(s) => self.strs.add_exact(s, id),
            M::ExactIp(r) | M::Cidr(r) => {
                let range = Range {
                    lo: r.lo,
                    lo_open: false,
                    hi: r.hi,
                    hi_open: false,
                };
                if r.v6 {
                    self.ip6.add(range, id);
                } else {
                    self.ip4.add(range, id);
                }
            }
            M::ExactNumber(n) => match n.value() {
                Some(v) => self.exact_num.entry(num_key(v)).or_default().push(id),
                None => self
                    .exact_num_text
                    .entry(n.text().into())
                    .or_default()
                    .push(id),
            },
            M::ExactTrue => self.lits[0].push(id),
            M::ExactFalse => self.lits[1].push(id),
            M::ExactNull => self.lits[2].push(id),
            M::Prefix(p) => self.strs.add_prefix(p, id),
            M::PrefixIgnoreCase(p) => self.strs.add_prefix_ic(p, id),
            M::Suffix(s) => self.strs.add_suffix(s, id),
            M::SuffixIgnoreCase(s) => self.strs.add_suffix_ic(s, id),
            M::EqualsIgnoreCase(s) => self.strs.add_exact_ic(s, id),
            M::Wildcard(g) => self.strs.add_glob(g, id),
            M::Numeric(r) => self.numeric.add(
                Range {
                    lo: r.lo,
                    lo_open: r.lo_open,
                    hi: r.hi,
                    hi_open: r.hi_open,
                },
                id,
            ),
            M::Exists(true) => self.exists.push(id),
            // Absence is a property of the field, not a value test.
            M::Exists(false) => {}
            M::AnythingBut(ab) => {
                self.anything_but.push(id);
                match ab {
                    AnythingBut::Strings(set) => {
                        set.iter().for_each(|s| self.ab_strs.add_exact(s, id))
                    }
                    AnythingBut::Numbers(set) => set
                        .iter()
                        .for_each(|&v| self.ab_nums.entry(num_key(v)).or_default().push(id)),
                    AnythingBut::IgnoreCase(set) => {
                        set.iter().for_each(|s| self.ab_strs.add_exact_ic(s, id));
                    }
                    AnythingBut::Prefixes(set) => {
                        set.iter().for_each(|s| self.ab_strs.add_prefix(s, id))
                    }
                    AnythingBut::Suffixes(set) => {
                        set.iter().for_each(|s| self.ab_strs.add_suffix(s, id))
                    }
                    AnythingBut::Wildcards(set) => {
                        set.iter().for_each(|g| self.ab_strs.add_glob(g, id))
                    }
                }
            }
        }
    }

    /// Emits into `ctx.out` the predicates `leaf` satisfies.
    #[inline]
    pub(crate) fn eval(&self, leaf: &Leaf<'_>, ctx: &mut EvalCtx<'_>) {
        self.exists.emit(ctx.out);
        match *leaf {
            Leaf::Str(v) => {
                if self.strs.needs_fold || self.ab_strs.needs_fold {
                    ctx.folded.clear();
                    fold_into(v, ctx.folded);
                }
                self.strs.query(v, ctx.folded, ctx.out, ctx.tmp);
                if (!self.ip4.is_empty() || !self.ip6.is_empty())
                    && let Some((v6, addr)) = ip::parse_ip(v)
                {
                    if v6 {
                        self.ip6.stab(addr, ctx.out);
                    } else {
                        self.ip4.stab(addr, ctx.out);
                    }
                }
                if !self.anything_but.is_empty() {
                    let mark = ctx.out.len();
                    self.ab_strs.query(v, ctx.folded, ctx.out, ctx.tmp);
                    self.apply_exclusions(mark, ctx);
                }
            }
            Leaf::Num(t) => {
                let value = if self.exact_num.is_empty()
                    && self.numeric.is_empty()
                    && self.ab_nums.is_empty()
                    && self.exact_num_text.is_empty()
                {
                    None
                } else {
                    comparable(t)
                };
                match value {
                    Some(x) => {
                        if let Some(ids) = self.exact_num.get(&num_key(x)) {
                            ids.emit(ctx.out);
                        }
                        if !self.numeric.is_empty() {
                            self.numeric.stab(x, ctx.out);
                        }
                    }
                    None => {
                        if let Some(ids) = self.exact_num_text.get(t) {
                            ids.emit(ctx.out);
                        }
                    }
                }
                if !self.anything_but.is_empty() {
                    let mark = ctx.out.len();
                    if let Some(x) = value
                        && let Some(ids) = self.ab_nums.get(&num_key(x))
                    {
                        ids.emit(ctx.out);
                    }
                    self.apply_exclusions(mark, ctx);
                }
            }
            Leaf::True | Leaf::False | Leaf::Null => {
                let i = match leaf {
                    Leaf::True => 0,
                    Leaf::False => 1,
                    _ => 2,
                };
                self.lits[i].emit(ctx.out);
                ctx.out.extend_from_slice(&self.anything_but);
            }
        }
    }

    /// `ctx.out[mark..]` lists excluding anything-buts; replace them with the
    /// anything-buts that hold.
    #[inline]
    fn apply_exclusions(&self, mark: usize, ctx: &mut EvalCtx<'_>) {
        for &id in &ctx.out[mark..] {
            if let Some(s) = ctx.excluded.get_mut(id as usize) {
                *s = ctx.stamp;
            }
        }
        ctx.out.truncate(mark);
        for &id in &self.anything_but {
            if ctx.excluded.get(id as usize) != Some(&ctx.stamp) {
                ctx.out.push(id);
            }
        }
    }
}
