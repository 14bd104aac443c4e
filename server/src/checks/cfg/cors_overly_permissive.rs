//! CFG005 cors-overly-permissive: django-cors-headers' `CORS_ALLOW_ALL_ORIGINS = True` in a
//! production settings module, and FastAPI/Starlette `CORSMiddleware` with `allow_origins=["*"]`
//! or a match-all `allow_origin_regex`; an error when credentials are allowed too.

use tree_sitter::Node;

use super::shared;
use crate::analysis::{Diagnostic, File, PythonFile, Rule, Severity};
use crate::syntax::python::{self, Literal};
use crate::syntax::FileKind;

pub struct CorsOverlyPermissive;

const ALLOW_ALL: &[&str] = &["CORS_ALLOW_ALL_ORIGINS", "CORS_ORIGIN_ALLOW_ALL"];

impl Rule for CorsOverlyPermissive {
    fn id(&self) -> &'static str {
        "CFG005"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("CORSMiddleware") || text.contains("CORS_")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if file.module.development || shared::is_template(file.path) {
            return;
        }
        if shared::production_settings(file) && file.text.contains("CORS_") {
            settings(self.id(), py, file.text, out);
        }
        if file.text.contains("CORSMiddleware") {
            middleware(self.id(), py, file.text, out);
        }
    }
}

fn settings(id: &'static str, py: &PythonFile, source: &str, out: &mut Vec<Diagnostic>) {
    let assignments = shared::module_assignments(
        py,
        source,
        &[
            "CORS_ALLOW_ALL_ORIGINS",
            "CORS_ORIGIN_ALLOW_ALL",
            "CORS_ALLOW_CREDENTIALS",
        ],
    );
    let credentials = assignments.iter().any(|a| {
        a.name == "CORS_ALLOW_CREDENTIALS"
            && shared::is_literal(a.value, source, &Literal::Bool(true))
    });
    for (i, a) in assignments.iter().enumerate() {
        if !ALLOW_ALL.contains(&a.name.as_str())
            || a.operator != "="
            || !shared::is_literal(a.value, source, &Literal::Bool(true))
            || shared::overridden_later(&assignments, i, source)
        {
            continue;
        }
        let (message, severity) = if credentials {
            (format!("`{} = True` with `CORS_ALLOW_CREDENTIALS = True`: any website can make authenticated requests with your users' cookies and read the answers", a.name), Severity::Error)
        } else {
            (format!("`{} = True`: any website can call this API from a browser and read the answers", a.name), Severity::Warning)
        };
        out.push(Diagnostic::new(id, a.statement.byte_range(), message).with_severity(severity));
    }
}

/// Match-all origin patterns.
fn matches_everything(regex: &str) -> bool {
    let core = regex.trim_start_matches('^').trim_end_matches('$');
    matches!(core, ".*" | ".+" | "(.*)" | "https?://.*" | "https?://.+")
}

fn middleware(id: &'static str, py: &PythonFile, source: &str, out: &mut Vec<Diagnostic>) {
    let mut seen = Vec::new();
    for local in py.names.locals_under(&["fastapi", "starlette"]) {
        for identifier in py.ancestry.identifiers(source, &local) {
            let expr = py.ancestry.attribute_chain(identifier);
            if !py
                .names
                .qualify(expr, source)
                .is_some_and(|q| q.ends_with(".CORSMiddleware"))
            {
                continue;
            }
            // `CORSMiddleware(app, ...)`, or an argument of `add_middleware(...)` /
            // `Middleware(...)`.
            let call = match shared::called(py, expr) {
                Some(call) => call,
                None => {
                    let Some(args) = py
                        .ancestry
                        .parent(expr)
                        .filter(|p| p.kind() == "argument_list")
                    else {
                        continue;
                    };
                    let Some(call) = py.ancestry.parent(args).filter(|c| c.kind() == "call") else {
                        continue;
                    };
                    call
                }
            };
            if seen.contains(&call.id()) || wildcard_was_configured(py, call, source) {
                continue;
            }
            seen.push(call.id());
            check_call(id, call, source, out);
        }
    }
}

fn check_call(id: &'static str, call: Node, source: &str, out: &mut Vec<Diagnostic>) {
    let wildcard = shared::keyword_argument(call, "allow_origins", source)
        .filter(|(_, value)| {
            python::literal(*value, source)
                .is_some_and(|l| matches!(l, Literal::Seq(_)) && l.strings().contains(&"*"))
        })
        .map(|(arg, _)| (arg, "`allow_origins` contains `*`"))
        .or_else(|| {
            shared::keyword_argument(call, "allow_origin_regex", source)
                .filter(|(_, value)| {
                    python::string_value(*value, source).is_some_and(|r| matches_everything(&r))
                })
                .map(|(arg, _)| (arg, "`allow_origin_regex` matches every origin"))
        });
    let Some((argument, what)) = wildcard else {
        return;
    };
    let credentials = shared::keyword_argument(call, "allow_credentials", source)
        .is_some_and(|(_, v)| shared::is_literal(v, source, &Literal::Bool(true)));
    let (message, severity) = if credentials {
        (format!("{what} with `allow_credentials=True`: any website can make authenticated requests with your users' cookies and read the answers"), Severity::Error)
    } else {
        (
            format!("{what}: any website can call this API from a browser and read the answers"),
            Severity::Warning,
        )
    };
    out.push(Diagnostic::new(id, argument.byte_range(), message).with_severity(severity));
}

/// Inside `if "*" in allowed_origins:`: the wildcard is what the deployment configured, not a
/// value written in the code.
fn wildcard_was_configured<'t>(py: &PythonFile<'t>, call: Node<'t>, source: &str) -> bool {
    let mut node = call;
    while let Some(parent) = py.ancestry.parent(node) {
        if matches!(parent.kind(), "if_statement" | "elif_clause") {
            let condition = parent.named_child(0);
            if condition.is_some_and(|c| {
                let text = python::text(c, source);
                text.contains("\"*\"") || text.contains("'*'")
            }) {
                return true;
            }
        }
        if matches!(
            parent.kind(),
            "function_definition" | "class_definition" | "module"
        ) {
            return false;
        }
        node = parent;
    }
    false
}
