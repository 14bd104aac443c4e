//! AUTH: who may call a view. The rules here start from the text of the decorator or call that
//! opens a view up (`csrf_exempt`) and then look only at the functions of that view.

pub mod webhook_without_signature_verification;

use tree_sitter::Node;

use crate::analysis::PythonFile;
use crate::syntax::python;

/// Every node of `root`'s subtree, in source order (the subtree of one view, never a module).
pub fn descendants<'t>(root: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut cursor = root.walk();
    let mut descend = true;
    loop {
        let node = cursor.node();
        if descend {
            out.push(node);
            if cursor.goto_first_child() {
                continue;
            }
        }
        if node.id() == root.id() {
            break;
        }
        if cursor.goto_next_sibling() {
            descend = true;
            continue;
        }
        if !cursor.goto_parent() || cursor.node().id() == root.id() {
            break;
        }
        descend = false;
    }
    out
}

/// The function or class a `decorated_definition` wraps.
pub fn definition(decorated: Node) -> Option<Node> {
    let mut cursor = decorated.walk();
    let found = decorated
        .named_children(&mut cursor)
        .find(|c| matches!(c.kind(), "function_definition" | "class_definition"));
    found
}

/// The last segment of a callee or decorator: `stripe.Webhook.construct_event` ->
/// `construct_event`, `login_required(...)` -> `login_required`.
pub fn last_segment<'s>(expr: Node, source: &'s str) -> &'s str {
    let expr = if expr.kind() == "call" {
        expr.child_by_field_id(python::fields().function)
            .unwrap_or(expr)
    } else {
        expr
    };
    python::last_segment(python::text(expr, source))
}

/// The module-level function or class called `name`.
pub fn module_definition<'t>(py: &PythonFile<'t>, source: &str, name: &str) -> Option<Node<'t>> {
    py.ancestry
        .identifiers(source, name)
        .into_iter()
        .filter_map(|id| py.ancestry.parent(id))
        .filter(|d| matches!(d.kind(), "function_definition" | "class_definition"))
        .filter(|d| python::definition_name(*d, source) == name)
        .find(|d| {
            let mut up = py.ancestry.parent(*d);
            if up.is_some_and(|p| p.kind() == "decorated_definition") {
                up = up.and_then(|p| py.ancestry.parent(p));
            }
            up.is_some_and(|p| p.kind() == "module")
        })
}
