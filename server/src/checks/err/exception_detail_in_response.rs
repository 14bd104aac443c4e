//! ERR003 exception-detail-in-response: inside `except ... as e:`, the exception's text (`str(e)`,
//! `repr(e)`, `f"{e}"`, `"%s" % e`, `"{}".format(e)`, `e.args`, `e.message`,
//! `traceback.format_exc()`) flowing into an HTTP response or HTTP error: `HTTPException(detail=...)`,
//! `HttpError(...)`, `JsonResponse(...)`, `Response(...)`, `jsonify(...)`, `abort(...)`, DRF
//! exceptions, or a value returned from a view or route function.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use tree_sitter::Node;

use super::{
    enclosing_function, handlers, is_client_error_name, is_request_handler, walk_own, Handler,
};
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, PythonFile, Rule, Severity};
use crate::checks::one_line;
use crate::syntax::python::{self, last_segment};
use crate::syntax::FileKind;

pub struct ExceptionDetailInResponse;

/// Calls whose arguments reach the client: responses, HTTP errors and the exceptions that
/// frameworks turn into a response body (with [`FRAMEWORK_EXCEPTIONS`]).
const RESPONSE_CALLS: &[&str] = &[
    "HTTPException",
    "HttpError",
    "JsonResponse",
    "Response",
    "JSONResponse",
    "ORJSONResponse",
    "UJSONResponse",
    "PlainTextResponse",
    "HTMLResponse",
    "StreamingHttpResponse",
    "jsonify",
    "make_response",
    "abort",
    "json_response",
    "render_template",
    "render_to_response",
    "TemplateResponse",
];

/// Names common enough outside web code (a project's own `ValidationError`) that they count only
/// when imported from a web framework.
const FRAMEWORK_EXCEPTIONS: &[&str] = &[
    "ValidationError",
    "ParseError",
    "NotFound",
    "NotAcceptable",
    "PermissionDenied",
    "AuthenticationFailed",
    "APIException",
    "render",
];

/// Modules whose responses and HTTP errors these names may come from. A `Response` imported from
/// anywhere else (`httpx.Response`, a project's own class) is not assumed to be sent to a client.
pub const WEB_MODULES: &[&str] = &[
    "fastapi",
    "starlette",
    "django",
    "rest_framework",
    "flask",
    "werkzeug",
    "ninja",
    "litestar",
    "sanic",
    "aiohttp",
    "quart",
];

/// Exception types whose message is written for the client: validation errors and HTTP errors
/// that are re-raised or re-wrapped. Handlers catching only these are not reported.
fn is_client_facing(type_name: &str) -> bool {
    type_name.ends_with("ValidationError")
        || type_name.ends_with("HTTPException")
        || type_name.ends_with("HttpError")
        || type_name.ends_with("APIException")
        || matches!(
            type_name,
            "Http404"
                | "PermissionDenied"
                | "NotFound"
                | "BadRequest"
                | "SuspiciousOperation"
                | "ParseError"
                | "AuthenticationFailed"
                | "NotAuthenticated"
                | "Throttled"
                | "ImmediateHttpResponse"
        )
}

/// Exceptions raised by the runtime, the database and client libraries: their text describes
/// internals (SQL, file paths, hosts, stack details) and was never meant for a client.
fn is_internal(type_name: &str) -> bool {
    matches!(
        type_name,
        "Exception"
            | "BaseException"
            | "OSError"
            | "IOError"
            | "EnvironmentError"
            | "RuntimeError"
            | "AttributeError"
            | "TypeError"
            | "ConnectionError"
            | "TimeoutError"
            | "DatabaseError"
            | "IntegrityError"
            | "OperationalError"
            | "ProgrammingError"
            | "InterfaceError"
            | "DataError"
            | "InternalError"
            | "SQLAlchemyError"
            | "RequestException"
            | "HTTPError"
            | "HTTPStatusError"
            | "RequestError"
            | "ClientError"
            | "BotoCoreError"
            | "SSLError"
            | "PermissionError"
            | "FileNotFoundError"
            | "CalledProcessError"
    )
}

/// Calls that pass text through unchanged (or formatted, escaped, translated): the exception
/// detail is still in their result.
const PASS_THROUGH_CALLS: &[&str] = &[
    "str",
    "repr",
    "format",
    "dict",
    "list",
    "tuple",
    "_",
    "gettext",
    "gettext_lazy",
    "ugettext",
    "escape",
    "dumps",
    "join",
    "strip",
    "lower",
    "upper",
    "replace",
    "split",
    "capitalize",
];

/// Nodes that hold a value as one of their parts: the first one above the exception text decides
/// what a fix replaces (`{"error": str(e)}` -> the dict value).
const CONTAINERS: &[&str] = &[
    "pair",
    "keyword_argument",
    "argument_list",
    "expression_list",
    "tuple",
    "list",
    "set",
    "return_statement",
];

/// Transparent nodes between the exception text and its destination.
const EXPRESSIONS: &[&str] = &[
    "binary_operator",
    "boolean_operator",
    "concatenated_string",
    "string",
    "interpolation",
    "conditional_expression",
    "subscript",
    "parenthesized_expression",
    "dictionary",
    "format_expression",
];

impl Rule for ExceptionDetailInResponse {
    fn id(&self) -> &'static str {
        "ERR003"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("except")
            && (text.contains(" as ") || text.contains("format_exc"))
            && super::may_hold_web_code(text)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        // Tests and development modules answer no real clients.
        if file.role.development {
            return;
        }
        let Some(py) = file.python else { return };
        let source = file.text;
        let mut reported: HashSet<usize> = HashSet::new();
        let logger = module_logger(source);
        for handler in handlers(py, source) {
            // Through the imports: `from pydantic import ValidationError as SchemaError`.
            let types: Vec<String> = handler
                .types
                .iter()
                .map(|t| {
                    let qualified = py.names.qualify(*t, source);
                    let written = python::text(*t, source);
                    last_segment(qualified.as_deref().unwrap_or(written)).to_string()
                })
                .collect();
            if !types.is_empty() && types.iter().all(|t| is_client_facing(t)) {
                continue;
            }
            let severity = if handler.is_bare() || types.iter().any(|t| is_internal(t)) {
                Severity::Warning
            } else {
                // ValueError, KeyError and the project's own exceptions often carry a message
                // written for the user; the text may still be a library's.
                Severity::Info
            };
            let logs = handler_logs(&handler, source);
            let mut logged_before: HashSet<usize> = HashSet::new();
            for leak in leaks(py, &handler, source) {
                if !reported.insert(leak.source.id()) {
                    continue;
                }
                let caught = if handler.is_bare() {
                    "`except:`".to_string()
                } else {
                    format!("`except {}`", handler.type_names(source).join(", "))
                };
                let message = format!(
                    "`{}` sends the text of the exception caught by {caught} to the client through {}: it can reveal internals (SQL, paths, hosts, library details); log it and answer with a generic message",
                    one_line(python::text(leak.source, source), 40, "..."),
                    leak.destination
                );
                let generic = if client_error_status(py, leak.carrier, source) {
                    "\"Invalid request\""
                } else {
                    "\"Internal server error\""
                };
                let mut edits = Vec::new();
                // Keep the detail where it belongs, in the logs, unless the handler logs already.
                if let Some(logger) = &logger {
                    if !logs {
                        if let Some((at, line)) = log_line(py, leak.carrier, logger, source) {
                            if logged_before.insert(at) {
                                edits.push(Edit::insert(at, line));
                            }
                        }
                    }
                }
                edits.push(Edit::replace(leak.value.byte_range(), generic));
                let fix = Fix {
                    title: format!("Answer with {generic}"),
                    applicability: Applicability::Unsafe,
                    edits,
                };
                out.push(
                    Diagnostic::new(self.id(), leak.source.byte_range(), message)
                        .with_severity(severity)
                        .with_fix(Some(fix)),
                );
            }
        }
    }
}

struct Leak<'t> {
    /// The expression that turns the exception into text.
    source: Node<'t>,
    /// The whole value a fix replaces (a dict value, an argument, the returned value).
    value: Node<'t>,
    /// The response call or `return` statement that takes the text to the client.
    carrier: Node<'t>,
    /// How the text reaches the client, for the message.
    destination: String,
}

/// Expressions of the handler that carry the exception's text to a client.
fn leaks<'t>(py: &PythonFile<'t>, handler: &Handler<'t>, source: &str) -> Vec<Leak<'t>> {
    let mut tainted: Vec<String> = handler
        .alias_name(source)
        .map(str::to_string)
        .into_iter()
        .collect();
    let mut found = Vec::new();
    // A name assigned from the exception text (`msg = str(e)`) is followed once more.
    for round in 0..2 {
        let mut sources = Vec::new();
        walk_own(handler.body, |node| {
            if let Some(s) = text_source(py, node, source, &tainted, round == 0) {
                sources.push(s);
            }
        });
        let mut assigned = Vec::new();
        for text in sources {
            match destination(py, handler, text, source) {
                Some(Flow::Client {
                    value,
                    carrier,
                    destination,
                }) => found.push(Leak {
                    source: text,
                    value,
                    carrier,
                    destination,
                }),
                Some(Flow::Assigned(name)) if !tainted.contains(&name) => assigned.push(name),
                _ => {}
            }
        }
        if assigned.is_empty() {
            break;
        }
        // The second round looks only at the new names.
        tainted = assigned;
    }
    found
}

/// `node` as an expression that yields the exception's text, if it is one.
fn text_source<'t>(
    py: &PythonFile<'t>,
    node: Node<'t>,
    source: &str,
    tainted: &[String],
    first_round: bool,
) -> Option<Node<'t>> {
    let fields = python::fields();
    let is_tainted =
        |n: Node| n.kind() == "identifier" && tainted.iter().any(|t| t == python::text(n, source));
    match node.kind() {
        "call" => {
            let callee = node.child_by_field_id(fields.function)?;
            let callee_text = python::text(callee, source);
            let name = last_segment(callee_text);
            if first_round && matches!(name, "format_exc" | "format_exception" | "format_tb") {
                return Some(node);
            }
            let args = node.child_by_field_id(fields.arguments)?;
            let mut cursor = args.walk();
            let has_tainted_argument = args.named_children(&mut cursor).any(is_tainted);
            let converts = matches!(name, "str" | "repr") && callee.kind() == "identifier"
                || name == "format" && callee.kind() == "attribute";
            (converts && has_tainted_argument).then_some(node)
        }
        "interpolation" => {
            let expression = node.named_child(0)?;
            is_tainted(expression).then_some(string_around(node)?)
        }
        "binary_operator" => {
            let operator = node.child_by_field_id(fields.operator)?;
            let right = node.child_by_field_id(fields.right)?;
            let formats = python::text(operator, source) == "%"
                && node
                    .child_by_field_id(fields.left)
                    .is_some_and(|l| matches!(l.kind(), "string" | "concatenated_string"));
            let carries = is_tainted(right) || {
                let mut cursor = right.walk();
                right.kind() == "tuple" && right.named_children(&mut cursor).any(is_tainted)
            };
            (formats && carries).then_some(node)
        }
        "attribute" => {
            let object = node.child_by_field_id(fields.object)?;
            let attribute = python::text(node.child_by_field_id(fields.attribute)?, source);
            (is_tainted(object) && matches!(attribute, "args" | "message" | "msg" | "strerror"))
                .then_some(node)
        }
        // A name assigned from the text in the first round is the text itself, where it is read
        // as a value (an f-string interpolation is reported as the whole string).
        "identifier" if !first_round && is_tainted(node) => {
            let parent = py.ancestry.parent(node)?;
            let is_keyword_name = parent.kind() == "keyword_argument"
                && parent
                    .child_by_field_id(fields.name)
                    .is_some_and(|n| n.id() == node.id());
            (!is_keyword_name && parent.kind() != "interpolation").then_some(node)
        }
        _ => None,
    }
}

/// The string an interpolation belongs to.
fn string_around(interpolation: Node) -> Option<Node> {
    let mut node = interpolation.parent()?;
    while node.kind() != "string" {
        node = node.parent()?;
    }
    Some(node)
}

enum Flow<'t> {
    Client {
        value: Node<'t>,
        carrier: Node<'t>,
        destination: String,
    },
    Assigned(String),
}

/// Where the text flows: up through containers and formatting until a response call, a
/// `return` from a view, or an assignment to a name.
fn destination<'t>(
    py: &PythonFile<'t>,
    handler: &Handler<'t>,
    text: Node<'t>,
    source: &str,
) -> Option<Flow<'t>> {
    let fields = python::fields();
    let mut node = text;
    let mut value: Option<Node<'t>> = None;
    loop {
        if node.id() == handler.body.id() {
            return None;
        }
        let parent = parent_of(py, node)?;
        let kind = parent.kind();
        if value.is_none() && CONTAINERS.contains(&kind) {
            // A dict key is not a value that reaches the client as such.
            if kind == "pair"
                && parent
                    .child_by_field_id(fields.key)
                    .is_some_and(|k| k.id() == node.id())
            {
                return None;
            }
            value = Some(node);
        }
        match kind {
            "call" => {
                let callee = parent.child_by_field_id(fields.function)?;
                if callee.id() == node.id() {
                    // `str(e).strip()`: a method of the text.
                    node = parent;
                    continue;
                }
                let name = last_segment(python::text(callee, source));
                let framework_only = FRAMEWORK_EXCEPTIONS.contains(&name);
                if (framework_only || RESPONSE_CALLS.contains(&name))
                    && is_web_name(py, callee, source, !framework_only)
                {
                    return Some(Flow::Client {
                        value: value.unwrap_or(node),
                        carrier: parent,
                        destination: format!("`{name}(...)`"),
                    });
                }
                // Django's flash messages are rendered into the next page the user sees.
                let flashes = py.names.qualify(callee, source).is_some_and(|q| {
                    q.strip_prefix("django.contrib.messages.")
                        .is_some_and(|level| {
                            matches!(
                                level,
                                "error" | "warning" | "info" | "success" | "debug" | "add_message"
                            )
                        })
                });
                if flashes {
                    return Some(Flow::Client {
                        value: value.unwrap_or(node),
                        carrier: parent,
                        destination: format!("`messages.{name}(...)`"),
                    });
                }
                if !PASS_THROUGH_CALLS.contains(&name) {
                    return None; // a logger, a sanitiser, anything we cannot see through
                }
                // The call's result is a new value: a fix replaces at least the whole call.
                value = None;
                node = parent;
            }
            "return_statement" => {
                let function = enclosing_function(py, parent)?;
                return is_request_handler(py, function, source).then(|| Flow::Client {
                    value: value.unwrap_or(node),
                    carrier: parent,
                    destination: format!(
                        "the value returned by the view `{}`",
                        python::definition_name(function, source)
                    ),
                });
            }
            "assignment" => {
                let left = parent.child_by_field_id(fields.left)?;
                let is_right = parent
                    .child_by_field_id(fields.right)
                    .is_some_and(|r| r.id() == node.id());
                return (is_right && left.kind() == "identifier")
                    .then(|| Flow::Assigned(python::text(left, source).to_string()));
            }
            // `detail if str(e) else "..."`: the condition is not the value.
            "conditional_expression"
                if parent.named_child(1).is_some_and(|c| c.id() == node.id()) =>
            {
                return None;
            }
            _ if CONTAINERS.contains(&kind) || EXPRESSIONS.contains(&kind) => node = parent,
            "attribute" => node = parent,
            _ => return None,
        }
    }
}

fn parent_of<'t>(py: &PythonFile<'t>, node: Node<'t>) -> Option<Node<'t>> {
    py.ancestry.parent(node)
}

/// A response name that is imported from a web framework, or (when `unresolved_ok`) not imported
/// at all: defined in the project or reached through a star import.
fn is_web_name<'t>(
    py: &PythonFile<'t>,
    callee: Node<'t>,
    source: &str,
    unresolved_ok: bool,
) -> bool {
    let root = match callee.kind() {
        "attribute" => {
            let mut object = callee;
            while object.kind() == "attribute" {
                match object.child_by_field_id(python::fields().object) {
                    Some(o) => object = o,
                    None => return false,
                }
            }
            object
        }
        _ => callee,
    };
    if root.kind() != "identifier" {
        return false;
    }
    match py.names.get(python::text(root, source)) {
        None => unresolved_ok,
        Some(qualified) => WEB_MODULES
            .iter()
            .any(|m| qualified == *m || qualified.starts_with(&format!("{m}."))),
    }
}

/// The module's logger: `logger = logging.getLogger(__name__)` (or `structlog.get_logger()`) at
/// module level.
fn module_logger(source: &str) -> Option<String> {
    static LOGGER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?m)^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[ \t]*(?:logging\.getLogger|getLogger|structlog\.get_logger|get_logger)\(")
            .expect("valid regex")
    });
    LOGGER.captures(source).map(|c| c[1].to_string())
}

/// Whether the handler already records the exception (a logger call, an error reporter).
fn handler_logs(handler: &Handler, source: &str) -> bool {
    let mut logs = false;
    walk_own(handler.body, |node| {
        if node.kind() == "call" {
            let callee = node
                .child_by_field_id(python::fields().function)
                .map(|f| python::text(f, source).to_ascii_lowercase())
                .unwrap_or_default();
            logs |= callee.contains("log")
                || callee.contains("capture_exception")
                || callee.contains("report_error")
                || callee.contains("print_exc");
        }
    });
    logs
}

/// `logger.exception(...)` on its own line before the statement holding `carrier`, when that
/// statement starts its line.
fn log_line<'t>(
    py: &PythonFile<'t>,
    carrier: Node<'t>,
    logger: &str,
    source: &str,
) -> Option<(usize, String)> {
    let mut statement = carrier;
    while let Some(parent) = py.ancestry.parent(statement) {
        if parent.kind() == "block" {
            break;
        }
        statement = parent;
    }
    let (line_start, indent) = python::line_prefix(source, statement.start_byte());
    if !indent.chars().all(|c| c == ' ' || c == '\t') {
        return None;
    }
    let newline = python::line_break_before(source, line_start);
    Some((
        line_start,
        format!("{indent}{logger}.exception(\"Request failed\"){newline}"),
    ))
}

/// A 4xx status next to the text: in the response call (`status_code=400`, `HttpError(400, ...)`)
/// or in the returned tuple (`return 400, {...}`, `return jsonify(...), 400`).
fn client_error_status<'t>(py: &PythonFile<'t>, carrier: Node<'t>, source: &str) -> bool {
    let mut candidates: Vec<Node<'t>> = Vec::new();
    fn add_items<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
        let mut cursor = node.walk();
        out.extend(node.named_children(&mut cursor));
    }
    match carrier.kind() {
        "call" => {
            if let Some(args) = python::arguments(carrier, source) {
                candidates.extend(args.positional.iter().copied());
                for name in ["status", "status_code", "code"] {
                    if let Some((value, _)) = args.keyword(name) {
                        candidates.push(value);
                    }
                }
            }
            if let Some(parent) = py.ancestry.parent(carrier) {
                if matches!(parent.kind(), "expression_list" | "tuple") {
                    add_items(parent, &mut candidates);
                }
            }
        }
        "return_statement" => {
            if let Some(value) = carrier.named_child(0) {
                if matches!(value.kind(), "expression_list" | "tuple") {
                    add_items(value, &mut candidates);
                }
            }
        }
        _ => {}
    }
    candidates
        .iter()
        .any(|node| match python::literal(*node, source) {
            Some(python::Literal::Int(code)) => (400..500).contains(&code),
            _ => is_client_error_name(last_segment(python::text(*node, source))),
        })
}

#[cfg(test)]
mod tests {
    use crate::analysis::fix::apply_edits;
    use crate::analysis::testing::diagnostics_of;

    /// The source after applying the fix of each ERR003 finding, one at a time.
    fn fixed(source: &str) -> Vec<String> {
        diagnostics_of("ERR003", "app/views.py", source)
            .into_iter()
            .map(|d| {
                let fix = d.fix.expect("every ERR003 finding has a fix");
                apply_edits(source, &fix.edits.iter().collect::<Vec<_>>()).0
            })
            .collect()
    }

    #[test]
    fn fix_logs_the_exception_and_keeps_the_response_shape() {
        let src = "import logging\nlogger = logging.getLogger(__name__)\n\n@app.get('/x')\ndef view():\n    try:\n        run()\n    except Exception as e:\n        raise HTTPException(status_code=500, detail={\"error\": f\"failed: {e}\"})\n";
        assert_eq!(
            fixed(src),
            ["import logging\nlogger = logging.getLogger(__name__)\n\n@app.get('/x')\ndef view():\n    try:\n        run()\n    except Exception as e:\n        logger.exception(\"Request failed\")\n        raise HTTPException(status_code=500, detail={\"error\": \"Internal server error\"})\n"]
        );
    }

    #[test]
    fn client_errors_get_a_client_error_message_and_existing_logging_is_kept() {
        let src = "logger = logging.getLogger(__name__)\n\ndef view(request):\n    try:\n        run()\n    except ValueError as e:\n        logger.warning(\"bad input\")\n        return 400, {\"error\": str(e)}\n";
        assert_eq!(
            fixed(src),
            ["logger = logging.getLogger(__name__)\n\ndef view(request):\n    try:\n        run()\n    except ValueError as e:\n        logger.warning(\"bad input\")\n        return 400, {\"error\": \"Invalid request\"}\n"]
        );
    }

    #[test]
    fn conditions_keyword_names_and_interpolated_names_are_not_reported_twice() {
        let src = "def view(request):\n    try:\n        run()\n    except Exception as e:\n        detail = f\"External: {e}\"\n        raise HTTPException(status_code=500, detail=detail if detail else \"x\")\n";
        assert_eq!(fixed(src).len(), 1);
    }
}
