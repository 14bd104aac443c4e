//! Syntax helpers shared by the settings rules of this folder: module-level assignments (the
//! root's direct children only), calls found from the text of the local names that reach them,
//! keyword arguments, and the `import os` a fix may need.

use tree_sitter::Node;

use crate::analysis::{Edit, File, PythonFile};
use crate::syntax::python::{self, Literal};
use crate::text::line_ending;

/// A module-level `NAME = value` (or `NAME += value`, `NAME: T = value`).
pub struct Assignment<'t> {
    pub name: String,
    /// `=` or `+=` (or another augmented operator).
    pub operator: String,
    pub value: Node<'t>,
    pub statement: Node<'t>,
}

/// Module-level assignments to one of `names`, in source order. Module-level statements start a
/// line, so the text is searched for the names at the start of a line and only those statements
/// are looked at (settings modules have thousands of top-level statements).
pub fn module_assignments<'t>(
    py: &PythonFile<'t>,
    source: &str,
    names: &[&str],
) -> Vec<Assignment<'t>> {
    let mut out = Vec::new();
    for name in names {
        for at in word_occurrences(source, name) {
            if at > 0 && !matches!(source.as_bytes()[at - 1], b'\n' | b'\r') {
                continue;
            }
            let Some(identifier) = py.ancestry.node_at(at, at + name.len()) else {
                continue;
            };
            let Some(inner) = py.ancestry.parent(identifier) else {
                continue;
            };
            let Some(statement) = py.ancestry.parent(inner) else {
                continue;
            };
            let at_module_level = statement.kind() == "expression_statement"
                && py
                    .ancestry
                    .parent(statement)
                    .is_some_and(|p| p.kind() == "module");
            if !at_module_level {
                continue;
            }
            if let Some(a) = assignment(inner, statement, source) {
                out.push(a);
            }
        }
    }
    out.sort_by_key(|a| a.statement.start_byte());
    out
}

/// `inner` as an assignment to a single identifier.
pub fn assignment<'t>(
    inner: Node<'t>,
    statement: Node<'t>,
    source: &str,
) -> Option<Assignment<'t>> {
    let f = python::fields();
    let operator = match inner.kind() {
        "assignment" => "=".to_string(),
        "augmented_assignment" => {
            python::text(inner.child_by_field_id(f.operator)?, source).to_string()
        }
        _ => return None,
    };
    let left = inner.child_by_field_id(f.left)?;
    if left.kind() != "identifier" {
        return None;
    }
    Some(Assignment {
        name: python::text(left, source).to_string(),
        operator,
        value: inner.child_by_field_id(f.right)?,
        statement,
    })
}

/// Is what `assignments[index]` sets replaced before it takes effect: assigned again later in the
/// module with another value (`DEBUG = True` followed by `DEBUG = env.bool("DEBUG")`), or
/// reassigned later in every production settings chain that loads the module (`DEBUG = True` in
/// `settings/base.py`, `DEBUG = False` in the `settings/production.py` that star-imports it)?
pub fn overridden_later(file: &File, assignments: &[Assignment], index: usize) -> bool {
    let source = file.text;
    let this = &assignments[index];
    let first = python::literal(this.value, source);
    assignments[index + 1..].iter().any(|a| {
        a.name == this.name && a.operator == "=" && python::literal(a.value, source) != first
    }) || file.overridden_in_production(&this.name, this.statement.start_byte())
}

use crate::syntax::python::word_occurrences;

/// Calls whose callee, qualified through the imports, satisfies `wanted`. The search starts from
/// the text of the local names bound under `modules`.
pub fn calls_to<'t>(
    py: &PythonFile<'t>,
    source: &str,
    modules: &[&str],
    wanted: impl Fn(&str) -> bool,
) -> Vec<(Node<'t>, String)> {
    let mut out: Vec<(Node<'t>, String)> = Vec::new();
    for local in py.names.locals_under(modules) {
        for identifier in py.ancestry.identifiers(source, &local) {
            let expr = py.ancestry.attribute_chain(identifier);
            let Some(call) = py.ancestry.called(expr) else {
                continue;
            };
            let Some(qualified) = py.names.qualify(expr, source) else {
                continue;
            };
            if wanted(&qualified) && !out.iter().any(|(c, _)| c.id() == call.id()) {
                out.push((call, qualified));
            }
        }
    }
    out.sort_by_key(|(c, _)| c.start_byte());
    out
}

/// The `name=value` keyword argument of `call`: (the whole argument, its value).
pub fn keyword_argument<'t>(
    call: Node<'t>,
    name: &str,
    source: &str,
) -> Option<(Node<'t>, Node<'t>)> {
    let f = python::fields();
    let args = call.child_by_field_id(f.arguments)?;
    let mut cursor = args.walk();
    let found = args.named_children(&mut cursor).find_map(|arg| {
        if arg.kind() != "keyword_argument" {
            return None;
        }
        let key = arg.child_by_field_id(f.name)?;
        (python::text(key, source) == name).then_some(arg)
    })?;
    Some((found, found.child_by_field_id(f.value)?))
}

pub fn is_literal(node: Node, source: &str, value: &Literal) -> bool {
    python::literal(node, source).as_ref() == Some(value)
}

/// The local name that reaches `os.environ` (`environ` after `from os import environ`), with an
/// `import os` edit when the module has neither.
pub fn os_environ(py: &PythonFile, source: &str) -> (String, Option<Edit>) {
    if let Some(environ) = py.names.local_for("os.environ") {
        (environ.to_string(), None)
    } else if let Some(os) = py.names.local_for("os") {
        (format!("{os}.environ"), None)
    } else {
        (
            "os.environ".to_string(),
            Some(Edit::insert(
                py.import_insertion,
                format!("import os{}", line_ending(source)),
            )),
        )
    }
}

/// A line of `text` starts with `word` (a module-level assignment is at column 0).
pub fn line_starts_with(text: &str, word: &str) -> bool {
    text.starts_with(word)
        || text
            .match_indices(word)
            .any(|(at, _)| at > 0 && text.as_bytes()[at - 1] == b'\n')
}
