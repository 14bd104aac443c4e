//! ERR004 fake-success-fallback: a broad handler (`except:`, `except Exception`,
//! `except BaseException`) in a view or route that answers the failure with made-up data: a
//! payload saying `"status": "ok"` / `"success": True`, a plain "OK", or an empty result, with no
//! error status. The client (and monitoring) sees a success that did not happen.

use tree_sitter::Node;

use super::{
    enclosing_function, handlers, is_client_error_name, is_request_handler, is_server_error_name,
    walk_own,
};
use crate::analysis::{Diagnostic, File, Rule, Severity};
use crate::syntax::python::{self, last_segment, Literal};
use crate::syntax::FileKind;

pub struct FakeSuccessFallback;

/// Response constructors whose first argument (or `content=` / `data=`) is the body.
const RESPONSE_CALLS: &[&str] = &[
    "Response",
    "JsonResponse",
    "JSONResponse",
    "ORJSONResponse",
    "UJSONResponse",
    "HttpResponse",
    "PlainTextResponse",
    "jsonify",
    "make_response",
];

/// Keys that make a payload an error report, whatever else it says.
const ERROR_KEYS: &[&str] = &[
    "error",
    "errors",
    "detail",
    "exception",
    "err",
    "failure",
    "failed",
    "reason",
];

/// Words that claim success in a status field or a plain-text body.
const SUCCESS_WORDS: &[&str] = &[
    "ok",
    "success",
    "succeeded",
    "healthy",
    "up",
    "pass",
    "done",
];

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Claim {
    /// An empty collection (or a dict of empty values): "nothing", not "broken".
    Empty,
    /// An explicit success marker.
    Success,
}

impl Rule for FakeSuccessFallback {
    fn id(&self) -> &'static str {
        "ERR004"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("except") && text.contains("return") && super::may_hold_web_code(text)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        if file.role.development {
            return;
        }
        let Some(py) = file.python else { return };
        let source = file.text;
        for handler in handlers(py, source) {
            if !handler.is_broad(source) {
                continue;
            }
            let Some(function) = enclosing_function(py, handler.clause) else {
                continue;
            };
            let name = python::definition_name(function, source);
            // A function named for its fallback promises it (`safe_count`, `get_or_default`).
            if name.starts_with("safe_")
                || name.starts_with("try_")
                || name.contains("or_default")
                || name.contains("or_none")
                || name.contains("or_empty")
            {
                continue;
            }
            if !is_request_handler(py, function, source) {
                continue;
            }
            let mut returns = Vec::new();
            walk_own(handler.body, |node| {
                if node.kind() == "return_statement" {
                    returns.push(node);
                }
            });
            for statement in returns {
                let Some(value) = statement.named_child(0) else {
                    continue;
                };
                let Some(claim) = claim(value, source) else {
                    continue;
                };
                let caught = if handler.is_bare() {
                    "`except:`".to_string()
                } else {
                    format!("`except {}`", handler.type_names(source).join(", "))
                };
                let (message, severity) = match claim {
                    Claim::Success => (
                        format!(
                            "`{name}` answers a request that failed (caught by {caught}) with a success payload: clients and monitoring see success for a request that failed; raise or return an error status"
                        ),
                        Severity::Warning,
                    ),
                    Claim::Empty => (
                        format!(
                            "`{name}` answers a request that failed (caught by {caught}) with an empty result and no error status: the client cannot tell \"nothing found\" from \"broken\"; raise or return an error status"
                        ),
                        Severity::Info,
                    ),
                };
                out.push(
                    Diagnostic::new(self.id(), statement.byte_range(), message)
                        .with_severity(severity),
                );
            }
        }
    }
}

/// What a returned value claims, when it claims success or an empty result without an error
/// status.
fn claim(value: Node, source: &str) -> Option<Claim> {
    let fields = python::fields();
    match value.kind() {
        // Ninja `return 200, {...}`, Flask `return body, 200`: an error status is honest.
        "expression_list" | "tuple" => {
            let mut cursor = value.walk();
            let items: Vec<Node> = value
                .named_children(&mut cursor)
                .filter(|i| i.kind() != "comment")
                .collect();
            if items.iter().any(|i| is_error_status(*i, source)) {
                return None;
            }
            let statuses = items.iter().filter(|i| i.kind() == "integer").count();
            if statuses == 0 {
                return payload_claim(value, source);
            }
            let bodies: Vec<&Node> = items.iter().filter(|i| i.kind() != "integer").collect();
            match bodies.as_slice() {
                [body] => claim(**body, source),
                _ => None,
            }
        }
        "call" => {
            let callee = value.child_by_field_id(fields.function)?;
            let name = last_segment(python::text(callee, source));
            if !RESPONSE_CALLS.contains(&name) {
                return payload_claim(value, source);
            }
            let args = python::arguments(value, source)?;
            let status = args
                .keyword("status")
                .or_else(|| args.keyword("status_code"))
                .map(|(v, _)| v)
                .or_else(|| args.positional.get(1).copied());
            if status.is_some_and(|s| is_error_status(s, source) || !is_success_status(s, source)) {
                return None;
            }
            let body = args
                .positional
                .first()
                .copied()
                .or_else(|| args.keyword("content").map(|(v, _)| v))
                .or_else(|| args.keyword("data").map(|(v, _)| v))?;
            payload_claim(body, source)
        }
        _ => payload_claim(value, source),
    }
}

/// An integer >= 400, or a named status constant for an error (`status.HTTP_500_...`,
/// `HTTPStatus.BAD_REQUEST`).
fn is_error_status(node: Node, source: &str) -> bool {
    match python::literal(node, source) {
        Some(Literal::Int(code)) => code >= 400,
        _ => {
            let last = last_segment(python::text(node, source));
            is_client_error_name(last) || is_server_error_name(last)
        }
    }
}

/// A status known to be a success (2xx literal or constant); anything else is left alone.
fn is_success_status(node: Node, source: &str) -> bool {
    match python::literal(node, source) {
        Some(Literal::Int(code)) => (200..300).contains(&code),
        _ => {
            let last = last_segment(python::text(node, source));
            last.starts_with("HTTP_2") || matches!(last, "OK" | "CREATED" | "ACCEPTED")
        }
    }
}

fn payload_claim(body: Node, source: &str) -> Option<Claim> {
    let fields = python::fields();
    match body.kind() {
        "dictionary" => {
            let mut cursor = body.walk();
            let pairs: Vec<Node> = body
                .named_children(&mut cursor)
                .filter(|c| c.kind() != "comment")
                .collect();
            if pairs.is_empty() {
                return Some(Claim::Empty);
            }
            let mut success = false;
            let mut all_empty = true;
            for pair in &pairs {
                if pair.kind() != "pair" {
                    return None; // `**spread`: unknown content
                }
                let key = pair
                    .child_by_field_id(fields.key)
                    .and_then(|k| python::string_value(k, source))?
                    .to_ascii_lowercase();
                let value = pair.child_by_field_id(fields.value)?;
                if ERROR_KEYS.contains(&key.as_str()) {
                    return None;
                }
                let literal = python::literal(value, source);
                if matches!(
                    key.as_str(),
                    "success" | "ok" | "succeeded" | "status" | "result" | "state"
                ) {
                    let claims_success = match &literal {
                        Some(Literal::Bool(true)) => true,
                        Some(Literal::Str(s)) => {
                            SUCCESS_WORDS.contains(&s.to_ascii_lowercase().as_str())
                        }
                        _ => false,
                    };
                    if !claims_success {
                        return None; // `False`, "error", "degraded", a computed value
                    }
                    success = true;
                }
                if !is_empty_value(value, source) {
                    all_empty = false;
                }
            }
            if success {
                Some(Claim::Success)
            } else if all_empty {
                Some(Claim::Empty)
            } else {
                None
            }
        }
        "list" | "tuple" | "set" => (body.named_child_count() == 0).then_some(Claim::Empty),
        "string" => {
            let text = python::string_value(body, source)?;
            SUCCESS_WORDS
                .contains(&text.trim().to_ascii_lowercase().as_str())
                .then_some(Claim::Success)
        }
        "true" => Some(Claim::Success),
        "call" => {
            // `dict()`, `list()`: an empty collection spelled as a call.
            let callee = python::text(body.child_by_field_id(fields.function)?, source);
            let args = body.child_by_field_id(fields.arguments)?;
            (matches!(callee, "dict" | "list" | "set" | "tuple") && args.named_child_count() == 0)
                .then_some(Claim::Empty)
        }
        _ => None,
    }
}

/// `[]`, `{}`, `0`, `None`, `False`, `""`: values that say "nothing".
fn is_empty_value(node: Node, source: &str) -> bool {
    match node.kind() {
        "list" | "tuple" | "set" | "dictionary" => node.named_child_count() == 0,
        _ => python::literal(node, source).is_some_and(|l| !l.is_truthy()),
    }
}
