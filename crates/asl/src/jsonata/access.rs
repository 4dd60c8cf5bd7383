//! Which parts of each bound value an expression can read.
//!
//! Every evaluation hands the engine its own copy of `$states` and of the variables it
//! mentions, converted from `serde_json`. `$states.context` carries the whole execution
//! input and `$states.input` may be hundreds of kilobytes, while a typical expression
//! reads one field (`$states.input.orderId`, `$states.context.Map.Item.Value`).
//! Converting only what the expression can reach makes evaluation cost follow the
//! expression instead of the payload.
//!
//! A reference `$name.a.b` (name steps with nothing attached) can only read `a.b`, in
//! every item when a level is an array; anything else (`$name` alone, a predicate, a
//! wildcard, a function argument) may read the whole value below the last name step.
//! The parent operator `%` can climb back out of a path, so an expression using it
//! gets everything. The walk gives up the same way on a syntax tree deeper than it is
//! willing to recurse.

use std::rc::Rc;

use jsonata_core::ast::{AstNode, PathStep, Stage};
use jsonata_core::value::{JArray, JMap, JValue, with_stack};
use serde_json::Value;

use super::convert::to_jvalue;

/// What an expression reads of the values it can see, by variable name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reads {
    /// `None`: the analysis gave up; every value is read whole.
    by_name: Option<Vec<(String, Trie)>>,
    sole_builtin: Option<String>,
}

/// The field paths read under one value.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Trie {
    whole: bool,
    children: Vec<(String, Trie)>,
}

impl Trie {
    fn add(&mut self, path: &[&str]) {
        if self.whole {
            return;
        }
        let Some((first, rest)) = path.split_first() else {
            self.whole = true;
            self.children.clear();
            return;
        };
        let child = match self.children.iter().position(|(k, _)| k == first) {
            Some(i) => &mut self.children[i].1,
            None => {
                self.children.push(((*first).to_owned(), Trie::default()));
                let last = self.children.len() - 1;
                &mut self.children[last].1
            }
        };
        child.add(rest);
    }

    /// What is read under field `key`, if anything.
    pub(crate) fn child(&self, key: &str) -> Option<&Trie> {
        self.children.iter().find(|(k, _)| k == key).map(|(_, t)| t)
    }
}

/// JSONata's built-in functions, the ones whose arguments are checked against a
/// signature by the engine.
const BUILTINS: &[&str] = &[
    "abs",
    "append",
    "assert",
    "average",
    "base64decode",
    "base64encode",
    "boolean",
    "ceil",
    "contains",
    "count",
    "decodeUrl",
    "decodeUrlComponent",
    "distinct",
    "each",
    "encodeUrl",
    "encodeUrlComponent",
    "error",
    "eval",
    "exists",
    "filter",
    "floor",
    "formatBase",
    "formatInteger",
    "formatNumber",
    "fromMillis",
    "join",
    "keys",
    "length",
    "lookup",
    "lowercase",
    "map",
    "match",
    "max",
    "merge",
    "millis",
    "min",
    "not",
    "now",
    "number",
    "pad",
    "parseInteger",
    "power",
    "random",
    "reduce",
    "replace",
    "reverse",
    "round",
    "shuffle",
    "sift",
    "single",
    "sort",
    "split",
    "spread",
    "sqrt",
    "string",
    "substring",
    "substringAfter",
    "substringBefore",
    "sum",
    "toMillis",
    "trim",
    "type",
    "uppercase",
    "zip",
];

/// Deeper syntax trees are not analysed (every value is then converted whole).
const MAX_WALK_DEPTH: usize = 200;

impl Reads {
    pub(crate) fn of(ast: &AstNode) -> Reads {
        let mut walk = Walk {
            reads: Vec::new(),
            gave_up: false,
            builtins: Vec::new(),
            typed_lambda: false,
        };
        walk.node(ast, 0);
        let sole_builtin = match (walk.gave_up, walk.typed_lambda, walk.builtins.as_slice()) {
            (false, false, [only]) => Some(only.clone()),
            _ => None,
        };
        Reads {
            by_name: (!walk.gave_up).then_some(walk.reads),
            sole_builtin,
        }
    }

    /// The one built-in function the expression uses, when it uses exactly one (and
    /// defines no function with a signature): the function any signature error is about.
    pub(crate) fn sole_builtin(&self) -> Option<&str> {
        self.sole_builtin.as_deref()
    }

    /// What is read of variable `name`; `None` means the whole value.
    pub(crate) fn of_name(&self, name: &str) -> Option<&Trie> {
        let reads = self.by_name.as_ref()?;
        reads
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .filter(|t| !t.whole)
    }
}

struct Walk {
    reads: Vec<(String, Trie)>,
    gave_up: bool,
    /// Built-in functions the expression calls or passes around.
    builtins: Vec<String>,
    /// Whether it defines a function with a signature (whose errors look alike).
    typed_lambda: bool,
}

impl Walk {
    fn builtin(&mut self, name: &str) {
        if !self.builtins.iter().any(|b| b == name) {
            self.builtins.push(name.to_owned());
        }
    }

    fn read(&mut self, name: &str, path: &[&str]) {
        if BUILTINS.contains(&name) {
            self.builtin(name);
        }
        match self.reads.iter_mut().find(|(n, _)| n == name) {
            Some((_, trie)) => trie.add(path),
            None => {
                let mut trie = Trie::default();
                trie.add(path);
                self.reads.push((name.to_owned(), trie));
            }
        }
    }

    fn nodes<'a>(&mut self, nodes: impl IntoIterator<Item = &'a AstNode>, depth: usize) {
        for n in nodes {
            self.node(n, depth);
        }
    }

    fn node(&mut self, node: &AstNode, depth: usize) {
        if self.gave_up {
            return;
        }
        if depth > MAX_WALK_DEPTH {
            self.gave_up = true;
            return;
        }
        let d = depth + 1;
        match node {
            AstNode::Variable(name) => self.read(name, &[]),
            AstNode::Function { name, args, .. } => {
                // A variable can be called (`$f()`); reading it whole costs nothing here.
                self.read(name, &[]);
                self.nodes(args, d);
            }
            AstNode::Path { steps } => self.path(steps, d),
            AstNode::Parent(_) => self.gave_up = true,
            AstNode::Binary { lhs, rhs, .. } => {
                self.node(lhs, d);
                self.node(rhs, d);
            }
            AstNode::Unary { operand, .. } => self.node(operand, d),
            AstNode::Call { procedure, args } => {
                self.node(procedure, d);
                self.nodes(args, d);
            }
            AstNode::Lambda {
                body, signature, ..
            } => {
                self.typed_lambda |= signature.is_some();
                self.node(body, d);
            }
            AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
                self.nodes(items, d);
            }
            AstNode::Object(pairs) => {
                for (k, v) in pairs {
                    self.node(k, d);
                    self.node(v, d);
                }
            }
            AstNode::ObjectTransform { input, pattern } => {
                self.node(input, d);
                for (k, v) in pattern {
                    self.node(k, d);
                    self.node(v, d);
                }
            }
            AstNode::Conditional {
                condition,
                then_branch,
                else_branch,
            } => {
                self.node(condition, d);
                self.node(then_branch, d);
                if let Some(e) = else_branch {
                    self.node(e, d);
                }
            }
            AstNode::FunctionApplication(inner) => self.node(inner, d),
            AstNode::Sort { input, terms } => {
                self.node(input, d);
                for (t, _) in terms {
                    self.node(t, d);
                }
            }
            AstNode::Transform {
                location,
                update,
                delete,
            } => {
                self.node(location, d);
                self.node(update, d);
                if let Some(x) = delete {
                    self.node(x, d);
                }
            }
            AstNode::String(_)
            | AstNode::Name(_)
            | AstNode::Number(_)
            | AstNode::Boolean(_)
            | AstNode::Null
            | AstNode::Undefined
            | AstNode::Placeholder
            | AstNode::Regex { .. }
            | AstNode::ParentVariable(_)
            | AstNode::Wildcard
            | AstNode::Descendant => {}
        }
    }

    fn path(&mut self, steps: &[PathStep], depth: usize) {
        if steps.iter().any(|s| s.ancestor_label.is_some()) {
            self.gave_up = true;
            return;
        }
        let mut rest = steps;
        if let Some((first, after)) = steps.split_first()
            && let AstNode::Variable(name) = &first.node
            && plain(first)
        {
            let mut path: Vec<&str> = Vec::new();
            let mut consumed = 0;
            for step in after {
                let AstNode::Name(key) = &step.node else {
                    break;
                };
                if binds(step) {
                    // `@$v` keeps the step's input as the context: the level above
                    // is read whole, so the name is not part of the path.
                    break;
                }
                path.push(key);
                consumed += 1;
                if !step.stages.is_empty() {
                    // The field is read whole from here; the predicates are walked.
                    self.stages(step, depth);
                    break;
                }
            }
            self.read(name, &path);
            rest = &after[consumed..];
        }
        for step in rest {
            self.node(&step.node, depth);
            self.stages(step, depth);
        }
    }

    fn stages(&mut self, step: &PathStep, depth: usize) {
        for stage in &step.stages {
            if let Stage::Filter(f) = stage {
                self.node(f, depth);
            }
        }
    }
}

/// A step that only names a field: no predicate, binding or tuple bookkeeping.
fn plain(step: &PathStep) -> bool {
    step.stages.is_empty() && !binds(step)
}

/// A step with a binding (`@$v`, `#$i`) or the tuple bookkeeping they and `%` need.
fn binds(step: &PathStep) -> bool {
    step.focus.is_some()
        || step.index_var.is_some()
        || step.ancestor_label.is_some()
        || step.is_tuple
        || step.inner_tuple
}

/// `value` as the engine sees it, with only the fields `reads` can reach.
pub(crate) fn bind(value: &Value, reads: Option<&Trie>) -> JValue {
    match reads {
        Some(trie) if !trie.whole => pruned(value, trie),
        _ => to_jvalue(value),
    }
}

fn pruned(value: &Value, trie: &Trie) -> JValue {
    if trie.whole {
        return to_jvalue(value);
    }
    match value {
        Value::Object(map) => with_stack(|| {
            let mut out = JMap::default();
            for (key, sub) in &trie.children {
                if let Some(v) = map.get(key) {
                    out.insert(key.clone(), pruned(v, sub));
                }
            }
            JValue::Object(Rc::new(out))
        }),
        // A name step maps over an array: every item is read the same way.
        Value::Array(items) => with_stack(|| {
            let mut flat = true;
            let items: Vec<JValue> = items
                .iter()
                .map(|item| {
                    flat &= !item.is_array();
                    pruned(item, trie)
                })
                .collect();
            JValue::Array(JArray::new_flat(items, flat))
        }),
        scalar => to_jvalue(scalar),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reads(source: &str) -> Reads {
        Reads::of(&jsonata_core::parser::parse(source).unwrap())
    }

    fn paths(t: &Trie, prefix: &str, out: &mut Vec<String>) {
        if t.whole {
            out.push(prefix.to_owned());
        }
        for (k, sub) in &t.children {
            paths(sub, &format!("{prefix}.{k}"), out);
        }
    }

    fn read_paths(source: &str, name: &str) -> Option<Vec<String>> {
        let r = reads(source);
        r.of_name(name).map(|t| {
            let mut out = Vec::new();
            paths(t, "", &mut out);
            out
        })
    }

    #[test]
    fn static_paths_are_read_and_nothing_else() {
        assert_eq!(
            read_paths("$states.input.a + $states.context.Map.Item.Value", "states").unwrap(),
            [".input.a", ".context.Map.Item.Value"]
        );
        assert_eq!(
            read_paths("$states.input.items[price > 1].name", "states").unwrap(),
            [".input.items"]
        );
        assert_eq!(read_paths("$x.y.z", "x").unwrap(), [".y.z"]);
        assert_eq!(
            read_paths("$states.input.a and $states.input.a.b", "states").unwrap(),
            [".input.a"]
        );
    }

    #[test]
    fn anything_else_reads_the_whole_value() {
        for source in [
            "$states",
            "$keys($states.input) ~> $count() + $states.input.a",
            "$states.input.a.%.b",
            "$states ~> $string()",
        ] {
            let r = reads(source);
            let whole_or_input = r
                .of_name("states")
                .is_none_or(|t| t.child("input").is_some_and(|i| i.whole) || t.whole);
            assert!(whole_or_input, "{source}");
        }
        assert!(reads("$states").of_name("states").is_none());
        assert!(reads("$states.input.a.%.b").of_name("states").is_none());
        assert!(reads("$f($states.input.a)").of_name("f").is_none());
    }

    #[test]
    fn pruning_keeps_what_paths_reach_through_arrays() {
        let r = reads("$states.input.items.name");
        let input: Value = serde_json::json!({
            "items": [{"name": "a", "big": [1, 2, 3]}, [{"name": "b", "x": 1}], 5],
            "other": {"huge": "…"}
        });
        let mut states = serde_json::Map::new();
        states.insert("input".into(), input);
        let bound = bind(&Value::Object(states), r.of_name("states"));
        assert_eq!(
            bound.to_json_string().unwrap(),
            r#"{"input":{"items":[{"name":"a"},[{"name":"b"}],5]}}"#
        );
    }
}

/// The field names (and `$`, `$$`) an expression reads from the context item at its top
/// level, where Step Functions gives it none. AWS refuses such a definition
/// (`UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not
/// supported.`). Only positions evaluated against the top-level context are searched:
/// operands, function arguments, blocks, constructors, and the first step of a path;
/// not later steps, predicates, lambda bodies or transform clauses, whose context is
/// something else. A tree too deep to walk reports what was found before the limit.
pub(crate) fn top_level_references(ast: &AstNode) -> Vec<String> {
    let mut found = Vec::new();
    top_level(ast, 0, &mut found);
    found
}

fn top_level(node: &AstNode, depth: usize, found: &mut Vec<String>) {
    if depth > MAX_WALK_DEPTH {
        return;
    }
    let d = depth + 1;
    let mut note = |name: &str| {
        if !found.iter().any(|f| f == name) {
            found.push(name.to_owned());
        }
    };
    match node {
        AstNode::Path { steps } => match steps.first().map(|s| &s.node) {
            Some(AstNode::Name(name)) => note(name),
            Some(AstNode::Variable(name)) if name.is_empty() => note("$"),
            Some(AstNode::ParentVariable(name)) if name.is_empty() => note("$$"),
            Some(first) => top_level(first, d, found),
            None => {}
        },
        AstNode::Name(name) => note(name),
        AstNode::Variable(name) if name.is_empty() => note("$"),
        AstNode::ParentVariable(name) if name.is_empty() => note("$$"),
        AstNode::Binary { lhs, rhs, .. } => {
            top_level(lhs, d, found);
            top_level(rhs, d, found);
        }
        AstNode::Unary { operand, .. } => top_level(operand, d, found),
        AstNode::FunctionApplication(inner) => top_level(inner, d, found),
        AstNode::Function { args, .. } => {
            for a in args {
                top_level(a, d, found);
            }
        }
        AstNode::Call { procedure, args } => {
            top_level(procedure, d, found);
            for a in args {
                top_level(a, d, found);
            }
        }
        AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
            for i in items {
                top_level(i, d, found);
            }
        }
        AstNode::Object(pairs) => {
            for (k, v) in pairs {
                top_level(k, d, found);
                top_level(v, d, found);
            }
        }
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            top_level(condition, d, found);
            top_level(then_branch, d, found);
            if let Some(e) = else_branch {
                top_level(e, d, found);
            }
        }
        AstNode::ObjectTransform { input, .. } | AstNode::Sort { input, .. } => {
            top_level(input, d, found);
        }
        AstNode::Lambda { .. }
        | AstNode::Transform { .. }
        | AstNode::Variable(_)
        | AstNode::ParentVariable(_)
        | AstNode::String(_)
        | AstNode::Number(_)
        | AstNode::Boolean(_)
        | AstNode::Null
        | AstNode::Undefined
        | AstNode::Placeholder
        | AstNode::Regex { .. }
        | AstNode::Wildcard
        | AstNode::Descendant
        | AstNode::Parent(_) => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod top_level_tests {
    use super::*;

    fn refs(source: &str) -> Vec<String> {
        top_level_references(&jsonata_core::parser::parse(source).unwrap())
    }

    #[test]
    fn bare_names_and_roots_at_the_top_level_are_found() {
        assert_eq!(refs("phone"), ["phone"]);
        assert_eq!(refs("{'a': phone, 'b': a.b}"), ["phone", "a"]);
        assert_eq!(refs("$count(items) + $"), ["items", "$"]);
        assert_eq!(refs("$$.a"), ["$$"]);
        assert_eq!(refs("($x := name; $x)"), ["name"]);
        assert_eq!(refs("a ? b : 'c'"), ["a", "b"]);
    }

    #[test]
    fn names_under_another_context_are_not() {
        for source in [
            "$states.input.phone",
            "$states.input.{'x': phone}",
            "$states.input[name = 'x']",
            "$map($states.input.items, function($v){ name })",
            "$states.input^(name)",
            "$x.y",
            "'phone'",
        ] {
            assert!(refs(source).is_empty(), "{source}: {:?}", refs(source));
        }
    }
}
