//! ERR: exception handling (bare `except:`, exception text sent to clients, failures answered
//! with made-up success). The shared part finds `except` clauses from the text of the keyword
//! and climbs to the function around them; rules then walk only that handler or function.

pub mod bare_except;
pub mod exception_detail_in_response;
pub mod fake_success_fallback;

use tree_sitter::Node;

use crate::analysis::PythonFile;
use crate::syntax::python::{self, last_segment, word_occurrences};

/// One `except` clause of the module.
pub struct Handler<'t> {
    pub clause: Node<'t>,
    /// The `except` keyword.
    pub keyword: Node<'t>,
    /// The caught types, tuples flattened: empty for a bare `except:`.
    pub types: Vec<Node<'t>>,
    /// The name bound by `as e`.
    pub alias: Option<Node<'t>>,
    pub body: Node<'t>,
}

impl Handler<'_> {
    pub fn is_bare(&self) -> bool {
        self.types.is_empty()
    }

    /// The caught types as written, last dotted segment only (`db.IntegrityError` ->
    /// `IntegrityError`).
    pub fn type_names<'s>(&self, source: &'s str) -> Vec<&'s str> {
        self.types
            .iter()
            .map(|t| last_segment(python::text(*t, source)))
            .collect()
    }

    /// `except:`, `except Exception`, `except BaseException` (alone or in a tuple).
    pub fn is_broad(&self, source: &str) -> bool {
        self.is_bare()
            || self
                .type_names(source)
                .iter()
                .any(|t| matches!(*t, "Exception" | "BaseException"))
    }

    pub fn alias_name<'s>(&self, source: &'s str) -> Option<&'s str> {
        self.alias.map(|a| python::text(a, source))
    }
}

/// A named status constant for a client error, by its last segment: `HTTP_404_NOT_FOUND`
/// (DRF's `status`), `BAD_REQUEST` (`HTTPStatus`).
pub fn is_client_error_name(name: &str) -> bool {
    name.starts_with("HTTP_4")
        || matches!(
            name,
            "BAD_REQUEST"
                | "UNAUTHORIZED"
                | "FORBIDDEN"
                | "NOT_FOUND"
                | "CONFLICT"
                | "UNPROCESSABLE_ENTITY"
        )
}

/// A named status constant for a server error, by its last segment: `HTTP_500_...`,
/// `INTERNAL_SERVER_ERROR`.
pub fn is_server_error_name(name: &str) -> bool {
    name.starts_with("HTTP_5")
        || matches!(
            name,
            "INTERNAL_SERVER_ERROR" | "BAD_GATEWAY" | "SERVICE_UNAVAILABLE" | "GATEWAY_TIMEOUT"
        )
}

/// Every `except` clause (not `except*`), found from the keyword's text occurrences: strings,
/// comments and longer names are skipped because the node there is not the keyword.
pub fn handlers<'t>(py: &PythonFile<'t>, source: &str) -> Vec<Handler<'t>> {
    word_occurrences(source, "except")
        .filter_map(|at| handler_at(py, source, at))
        .collect()
}

fn handler_at<'t>(py: &PythonFile<'t>, source: &str, at: usize) -> Option<Handler<'t>> {
    let keyword = py.ancestry.node_at(at, at + "except".len())?;
    if keyword.kind() != "except" || source[keyword.end_byte()..].trim_start().starts_with('*') {
        return None;
    }
    let clause = py
        .ancestry
        .parent(keyword)
        .filter(|c| c.kind() == "except_clause")?;
    let fields = python::fields();
    let mut types = Vec::new();
    let mut alias = None;
    let mut body = None;
    let mut cursor = clause.walk();
    for child in clause.named_children(&mut cursor) {
        match child.kind() {
            "block" => body = Some(child),
            "comment" => {}
            "as_pattern" => {
                if let Some(value) = child.named_child(0) {
                    flatten_types(value, &mut types);
                }
                alias = child
                    .child_by_field_id(fields.alias)
                    .and_then(|t| {
                        if t.kind() == "as_pattern_target" {
                            t.named_child(0)
                        } else {
                            Some(t)
                        }
                    })
                    .filter(|t| t.kind() == "identifier");
            }
            _ => flatten_types(child, &mut types),
        }
    }
    Some(Handler {
        clause,
        keyword,
        types,
        alias,
        body: body?,
    })
}

fn flatten_types<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    match node.kind() {
        "tuple" | "parenthesized_expression" | "expression_list" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                flatten_types(child, out);
            }
        }
        "comment" => {}
        _ => out.push(node),
    }
}

/// The innermost function around `node` (`None` at module or class level).
pub fn enclosing_function<'t>(py: &PythonFile<'t>, node: Node<'t>) -> Option<Node<'t>> {
    let mut current = py.ancestry.parent(node)?;
    loop {
        match current.kind() {
            "function_definition" => return Some(current),
            "class_definition" | "module" | "lambda" => return None,
            _ => current = py.ancestry.parent(current)?,
        }
    }
}

/// HTTP-method and route decorators of FastAPI, Starlette, Flask, Django Ninja, Litestar
/// (`@app.get(...)`, `@router.post(...)`, `@bp.route(...)`, `@api.api_operation(...)`).
const ROUTE_DECORATOR_METHODS: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "trace",
    "route",
    "api_route",
    "websocket",
    "api_operation",
];

/// Decorators that only make sense on Django / DRF views.
const VIEW_DECORATORS: &[&str] = &[
    "api_view",
    "action",
    "require_http_methods",
    "require_GET",
    "require_POST",
    "require_safe",
    "csrf_exempt",
    "login_required",
    "permission_required",
];

/// `@<object>.<route method>(` anywhere in the text.
static ROUTE_DECORATOR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(&format!(
        r"@\s*[\w.]+\.({})\s*\(",
        ROUTE_DECORATOR_METHODS.join("|")
    ))
    .expect("valid route decorator regex")
});

/// A cheap test on the text: can this module hold a request handler or a response? It names
/// `request`, a web framework, a view decorator, or has a route decorator. Modules that do none
/// of these (utilities, scripts, libraries) skip the rules that only look at web code.
pub fn may_hold_web_code(text: &str) -> bool {
    text.contains("request")
        || exception_detail_in_response::WEB_MODULES
            .iter()
            .any(|m| text.contains(m))
        || VIEW_DECORATORS.iter().any(|d| text.contains(d))
        || ROUTE_DECORATOR.is_match(text)
}

/// Whether `function` answers HTTP requests: a route decorator, a Django/DRF view decorator, or a
/// `request` parameter in first place (after `self`/`cls` for class-based views).
pub fn is_request_handler<'t>(py: &PythonFile<'t>, function: Node<'t>, source: &str) -> bool {
    let by_decorator = py.ancestry.decorators(function).into_iter().any(|d| {
        let (callee, is_call) = match d.kind() {
            "call" => match d.child_by_field_id(python::fields().function) {
                Some(f) => (f, true),
                None => return false,
            },
            _ => (d, false),
        };
        let name = last_segment(python::text(callee, source));
        (is_call && callee.kind() == "attribute" && ROUTE_DECORATOR_METHODS.contains(&name))
            || VIEW_DECORATORS.contains(&name)
    });
    by_decorator || takes_request(function, source)
}

fn takes_request(function: Node, source: &str) -> bool {
    let Some(parameters) = function.child_by_field_name("parameters") else {
        return false;
    };
    let mut cursor = parameters.walk();
    let names: Vec<&str> = parameters
        .named_children(&mut cursor)
        .filter_map(|p| parameter_name(p, source))
        .take(2)
        .collect();
    match names.as_slice() {
        ["self" | "cls", second, ..] => *second == "request",
        [first, ..] => *first == "request",
        [] => false,
    }
}

fn parameter_name<'s>(parameter: Node, source: &'s str) -> Option<&'s str> {
    let name = match parameter.kind() {
        "identifier" => parameter,
        "typed_parameter" => parameter.named_child(0)?,
        "default_parameter" | "typed_default_parameter" => {
            parameter.child_by_field_id(python::fields().name)?
        }
        _ => return None,
    };
    (name.kind() == "identifier").then(|| python::text(name, source))
}

/// Nodes of `root`'s subtree, in order, without descending into nested functions, lambdas and
/// classes (their code does not run as part of `root`).
pub fn walk_own<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>)) {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        visit(node);
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node
            .named_children(&mut cursor)
            .filter(|c| {
                !matches!(
                    c.kind(),
                    "function_definition" | "lambda" | "class_definition"
                )
            })
            .collect();
        stack.extend(children.into_iter().rev());
    }
}

/// The last statement of a block, comments left out.
pub fn last_statement(block: Node) -> Option<Node> {
    let mut cursor = block.walk();
    let last = block
        .named_children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .last();
    last
}
