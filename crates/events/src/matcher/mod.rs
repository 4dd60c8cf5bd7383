//! The compiled matcher: all of a bus's rules in one structure.
//!
//! Design (Baton's, not event-ruler's or quamina's automaton): rules are
//! compiled into
//! * a **field trie** of every path some pattern names, which the flattener
//!   uses to read only those fields of an event (and to stop reading once it
//!   has them all);
//! * per path, a **value index** (hash for exact values, tries for prefixes
//!   and suffixes, prefiltered wildcards, interval trees for numeric and IP
//!   ranges, exclusion sets for anything-but) that turns one event value into
//!   the *predicates* it satisfies — identical predicates are shared by all
//!   rules that use them;
//! * **counting**: each predicate lists the rule clauses (pattern fields) it
//!   satisfies; a branch of a rule matches when all its required clauses have
//!   been hit. A clause counts once per event however many values hit it.
//!
//! So the cost of matching is the cost of reading the named fields plus the
//! number of predicates the event's values actually satisfy: it does not grow
//! with rules that cannot match. `exists: false` clauses are checked at the
//! end against the set of paths seen; array consistency is verified only for
//! candidate branches whose fields sit in containers inside arrays.
//!
//! Architecture Invariant: [`Matcher::matches`] agrees with
//! [`Pattern::matches_json`] (the per-rule interpreter) on every pattern and
//! event, except for the documented early-stop effect on repeated keys (see
//! `flatten`). A property test checks this.

mod ids;
mod index;
mod ranges;
mod strings;

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::consistency::{self, Step};
pub use crate::flatten::EventError;
use crate::flatten::{self, FieldTrie, FlatEvent, Seen};
use crate::pattern::{AnythingBut, Pattern, ValueMatcher};
use index::{EvalCtx, PathIndex};

/// Canonical identity of a predicate on one path, so rules share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PredKey {
    Exact(Box<str>),
    Ip(bool, u128, u128),
    Num(u64),
    NumText(Box<str>),
    Lit(u8),
    Prefix(Box<str>),
    PrefixIc(Box<str>),
    Suffix(Box<str>),
    SuffixIc(Box<str>),
    EqualsIc(Box<str>),
    Wildcard(Box<str>),
    Numeric(u64, bool, u64, bool),
    Exists,
    AnythingBut(Box<str>),
}

impl PredKey {
    fn of(m: &ValueMatcher) -> Option<PredKey> {
        use ValueMatcher as M;
        Some(match m {
            M::ExactString(s) => PredKey::Exact(s.as_str().into()),
            M::ExactIp(r) | M::Cidr(r) => PredKey::Ip(r.v6, r.lo, r.hi),
            M::ExactNumber(n) => match n.value() {
                Some(v) => PredKey::Num(v.to_bits()),
                None => PredKey::NumText(n.text().into()),
            },
            M::ExactTrue => PredKey::Lit(0),
            M::ExactFalse => PredKey::Lit(1),
            M::ExactNull => PredKey::Lit(2),
            M::Prefix(s) => PredKey::Prefix(s.as_str().into()),
            M::PrefixIgnoreCase(s) => PredKey::PrefixIc(s.as_str().into()),
            M::Suffix(s) => PredKey::Suffix(s.as_str().into()),
            M::SuffixIgnoreCase(s) => PredKey::SuffixIc(s.as_str().into()),
            M::EqualsIgnoreCase(s) => PredKey::EqualsIc(s.as_str().into()),
            M::Wildcard(g) => PredKey::Wildcard(g.as_str().into()),
            M::Numeric(r) => PredKey::Numeric(r.lo.to_bits(), r.lo_open, r.hi.to_bits(), r.hi_open),
            M::Exists(true) => PredKey::Exists,
            M::Exists(false) => return None,
            M::AnythingBut(ab) => {
                let (tag, mut items): (&str, Vec<String>) = match ab {
                    AnythingBut::Strings(v) => ("s", v.clone()),
                    AnythingBut::Numbers(v) => {
                        ("n", v.iter().map(|x| x.to_bits().to_string()).collect())
                    }
                    AnythingBut::IgnoreCase(v) => ("i", v.clone()),
                    AnythingBut::Prefixes(v) => ("p", v.clone()),
                    AnythingBut::Suffixes(v) => ("x", v.clone()),
                    AnythingBut::Wildcards(v) => {
                        ("w", v.iter().map(|g| g.as_str().to_owned()).collect())
                    }
                };
                items.sort();
                items.dedup();
                let mut key = String::from(tag);
                for i in items {
                    key.push('\u{0}');
                    key.push_str(&i);
                }
                PredKey::AnythingBut(key.into())
            }
        })
    }
}

#[derive(Debug, Clone)]
struct Clause {
    branch: u32,
    path: u32,
    /// Must be hit for the branch to match (no `exists: false` alternative).
    required: bool,
}

#[derive(Debug, Clone)]
struct BranchInfo {
    rule: u32,
    /// Index into the rule's pattern branches.
    index: u32,
    first_clause: u32,
    required: u32,
    /// Clauses that hold when their path is absent.
    absence: Vec<u32>,
    /// Two or more fields need values, so array consistency may matter.
    check_arrays: bool,
}

#[derive(Debug, Clone)]
struct RuleSlot<R> {
    id: R,
    pattern: Arc<Pattern>,
    alive: bool,
}

/// Many rules compiled together; see the module docs.
#[derive(Debug, Clone)]
pub struct Matcher<R> {
    trie: FieldTrie,
    paths: Vec<PathIndex>,
    /// Predicate → the clauses it satisfies.
    preds: Vec<Vec<u32>>,
    pred_ids: FxHashMap<(u32, PredKey), u32>,
    clauses: Vec<Clause>,
    branches: Vec<BranchInfo>,
    /// Branches without required clauses: candidates for every event.
    unconditional: Vec<u32>,
    rules: Vec<RuleSlot<R>>,
    by_id: HashMap<R, u32>,
    dead_branches: usize,
}

impl<R: Clone + Eq + Hash> Default for Matcher<R> {
    fn default() -> Self {
        Matcher::new()
    }
}

/// Reusable per-thread state for matching (no allocation per event once warm).
#[derive(Debug, Default)]
pub struct MatchScratch {
    epoch: u32,
    flat: FlatEvent,
    path_stamp: Vec<u32>,
    clause_stamp: Vec<u32>,
    branch_stamp: Vec<u32>,
    branch_count: Vec<u32>,
    rule_stamp: Vec<u32>,
    excluded: Vec<u32>,
    leaf_stamp: u32,
    candidates: Vec<u32>,
    fired: Vec<u32>,
    tmp: Vec<u32>,
    folded: String,
    matched: Vec<u32>,
}

impl MatchScratch {
    pub fn new() -> MatchScratch {
        MatchScratch::default()
    }

    fn prepare(
        &mut self,
        paths: usize,
        clauses: usize,
        branches: usize,
        rules: usize,
        preds: usize,
    ) {
        fn grow(v: &mut Vec<u32>, n: usize) {
            if v.len() < n {
                v.resize(n, 0);
            }
        }
        grow(&mut self.path_stamp, paths);
        grow(&mut self.clause_stamp, clauses);
        grow(&mut self.branch_stamp, branches);
        grow(&mut self.branch_count, branches);
        grow(&mut self.rule_stamp, rules);
        grow(&mut self.excluded, preds);
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            for v in [
                &mut self.path_stamp,
                &mut self.clause_stamp,
                &mut self.branch_stamp,
                &mut self.rule_stamp,
            ] {
                v.fill(0);
            }
            self.epoch = 1;
        }
        self.candidates.clear();
        self.matched.clear();
    }
}

thread_local! {
    static SCRATCH: RefCell<MatchScratch> = RefCell::new(MatchScratch::new());
}

impl<R: Clone + Eq + Hash> Matcher<R> {
    pub fn new() -> Matcher<R> {
        Matcher {
            trie: FieldTrie::new(),
            paths: Vec::new(),
            preds: Vec::new(),
            pred_ids: FxHashMap::default(),
            clauses: Vec::new(),
            branches: Vec::new(),
            unconditional: Vec::new(),
            rules: Vec::new(),
            by_id: HashMap::new(),
            dead_branches: 0,
        }
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Adds a rule (replacing any rule with the same id).
    pub fn add_rule(&mut self, id: R, pattern: &Pattern) {
        self.remove_rule(&id);
        self.insert(id, Arc::new(pattern.clone()));
    }

    fn insert(&mut self, id: R, pattern: Arc<Pattern>) {
        let rule = self.rules.len() as u32;
        for (bi, branch) in pattern.branches().iter().enumerate() {
            let b = self.branches.len() as u32;
            let first_clause = self.clauses.len() as u32;
            let mut info = BranchInfo {
                rule,
                index: bi as u32,
                first_clause,
                required: 0,
                absence: Vec::new(),
                check_arrays: false,
            };
            let mut valued_fields = 0;
            for field in branch.fields() {
                let path = self.path_id(field.path());
                let c = self.clauses.len() as u32;
                let required = !field.allows_absence();
                self.clauses.push(Clause {
                    branch: b,
                    path,
                    required,
                });
                if required {
                    info.required += 1;
                } else {
                    info.absence.push(c);
                }
                if field.has_value_matchers() {
                    valued_fields += 1;
                }
                for m in field.matchers() {
                    if let Some(p) = self.pred_id(path, m) {
                        self.preds[p as usize].push(c);
                    }
                }
            }
            info.check_arrays = valued_fields >= 2;
            if info.required == 0 {
                self.unconditional.push(b);
            }
            self.branches.push(info);
        }
        self.by_id.insert(id.clone(), rule);
        self.rules.push(RuleSlot {
            id,
            pattern,
            alive: true,
        });
    }

    fn path_id(&mut self, path: &str) -> u32 {
        let next = self.paths.len() as u32;
        let id = self.trie.insert(path, next);
        if id == next {
            self.paths.push(PathIndex::new());
        }
        id
    }

    fn pred_id(&mut self, path: u32, m: &ValueMatcher) -> Option<u32> {
        let key = PredKey::of(m)?;
        if let Some(&id) = self.pred_ids.get(&(path, key.clone())) {
            // Identical predicates share one id; a clause lists it once.
            return Some(id);
        }
        let id = self.preds.len() as u32;
        self.preds.push(Vec::new());
        self.pred_ids.insert((path, key), id);
        self.paths[path as usize].add(m, id);
        Some(id)
    }

    /// Removes a rule; returns whether it was present.
    pub fn remove_rule(&mut self, id: &R) -> bool {
        let Some(slot) = self.by_id.remove(id) else {
            return false;
        };
        if let Some(r) = self.rules.get_mut(slot as usize) {
            r.alive = false;
            self.dead_branches += r.pattern.branches().len();
        }
        // Dead rules' predicates still fire (harmlessly) until a rebuild;
        // rebuild once they are the majority.
        let live = self.branches.len() - self.dead_branches;
        if self.dead_branches > 1024 && self.dead_branches > live {
            self.rebuild();
        }
        true
    }

    fn rebuild(&mut self) {
        let rules = std::mem::take(&mut self.rules);
        *self = Matcher::new();
        for r in rules.into_iter().filter(|r| r.alive) {
            self.insert(r.id, r.pattern);
        }
    }

    /// The ids of the rules an event (JSON text) matches, in the order the
    /// rules were added.
    pub fn matches(&self, event: &str) -> Result<Vec<R>, EventError> {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut scratch) => self.matches_with(&mut scratch, event),
            Err(_) => self.matches_with(&mut MatchScratch::new(), event),
        })
    }

    /// Like [`Matcher::matches`] for a parsed event.
    pub fn matches_value(&self, event: &serde_json::Value) -> Result<Vec<R>, EventError> {
        self.matches(&event.to_string())
    }

    /// Like [`Matcher::matches`] with caller-provided scratch.
    pub fn matches_with(
        &self,
        scratch: &mut MatchScratch,
        event: &str,
    ) -> Result<Vec<R>, EventError> {
        self.run(scratch, event)?;
        Ok(scratch
            .matched
            .iter()
            .map(|&r| self.rules[r as usize].id.clone())
            .collect())
    }

    /// Calls `f` with each matching rule id; no allocation once `scratch` is warm.
    pub fn for_each_match(
        &self,
        scratch: &mut MatchScratch,
        event: &str,
        mut f: impl FnMut(&R),
    ) -> Result<(), EventError> {
        self.run(scratch, event)?;
        for &r in &scratch.matched {
            f(&self.rules[r as usize].id);
        }
        Ok(())
    }

    fn run(&self, scratch: &mut MatchScratch, event: &str) -> Result<(), EventError> {
        scratch.prepare(
            self.paths.len(),
            self.clauses.len(),
            self.branches.len(),
            self.rules.len(),
            self.preds.len(),
        );
        let MatchScratch {
            epoch,
            flat,
            path_stamp,
            clause_stamp,
            branch_stamp,
            branch_count,
            rule_stamp,
            excluded,
            leaf_stamp,
            candidates,
            fired,
            tmp,
            folded,
            matched,
        } = scratch;
        let ep = *epoch;
        let mut seen = Seen {
            stamp: path_stamp,
            epoch: ep,
            found: 0,
            total: self.paths.len() as u32,
        };
        flatten::flatten(event, &self.trie, flat, &mut seen)?;

        for leaf in &flat.leaves {
            let value = flat.leaf(leaf, event);
            *leaf_stamp = leaf_stamp.wrapping_add(1);
            if *leaf_stamp == 0 {
                excluded.fill(0);
                *leaf_stamp = 1;
            }
            fired.clear();
            let mut ctx = EvalCtx {
                out: fired,
                tmp,
                folded,
                excluded,
                stamp: *leaf_stamp,
            };
            self.paths[leaf.path as usize].eval(&value, &mut ctx);
            for &p in fired.iter() {
                for &c in &self.preds[p as usize] {
                    let cs = &mut clause_stamp[c as usize];
                    if *cs == ep {
                        continue;
                    }
                    *cs = ep;
                    let clause = &self.clauses[c as usize];
                    if !clause.required {
                        continue;
                    }
                    let b = clause.branch as usize;
                    if branch_stamp[b] != ep {
                        branch_stamp[b] = ep;
                        branch_count[b] = 0;
                    }
                    branch_count[b] += 1;
                    if branch_count[b] == self.branches[b].required {
                        candidates.push(b as u32);
                    }
                }
            }
        }

        for &b in candidates.iter().chain(self.unconditional.iter()) {
            let info = &self.branches[b as usize];
            let rule = info.rule as usize;
            if rule_stamp[rule] == ep || !self.rules[rule].alive {
                continue;
            }
            let absent_ok = info.absence.iter().all(|&c| {
                let clause = &self.clauses[c as usize];
                path_stamp[clause.path as usize] != ep || clause_stamp[c as usize] == ep
            });
            if !absent_ok {
                continue;
            }
            if info.check_arrays
                && flat.nested_arrays
                && !self.arrays_consistent(info, flat, event, path_stamp, ep)
            {
                continue;
            }
            rule_stamp[rule] = ep;
            matched.push(rule as u32);
        }
        matched.sort_unstable();
        Ok(())
    }

    /// The slow path: re-derive each field's satisfying values and check that
    /// one consistent pick exists.
    fn arrays_consistent(
        &self,
        info: &BranchInfo,
        flat: &FlatEvent,
        event: &str,
        path_stamp: &[u32],
        ep: u32,
    ) -> bool {
        let pattern = &self.rules[info.rule as usize].pattern;
        let Some(branch) = pattern.branches().get(info.index as usize) else {
            return false;
        };
        let mut picks: Vec<Vec<&[Step]>> = Vec::new();
        for (k, field) in branch.fields().iter().enumerate() {
            let clause = &self.clauses[info.first_clause as usize + k];
            if path_stamp[clause.path as usize] != ep {
                continue; // absent, and allowed to be (checked before)
            }
            let satisfying: Vec<&[Step]> = flat
                .leaves
                .iter()
                .filter(|l| l.path == clause.path)
                .filter(|l| {
                    let v = flat.leaf(l, event);
                    field.matchers().iter().any(|m| m.matches_leaf(&v))
                })
                .map(|l| flat.trail(l))
                .collect();
            picks.push(satisfying);
        }
        consistency::consistent(&picks)
    }
}
