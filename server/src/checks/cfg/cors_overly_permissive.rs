//! CFG005 cors-overly-permissive: django-cors-headers' `CORS_ALLOW_ALL_ORIGINS = True` in a
//! production settings module, and FastAPI/Starlette `CORSMiddleware` with `allow_origins=["*"]`
//! or a match-all `allow_origin_regex`; Flask-CORS `CORS(app)` / `@cross_origin()` with its
//! default (every origin) or `origins="*"`; an error when credentials are allowed too.

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
        text.contains("CORSMiddleware") || text.contains("CORS_") || text.contains("flask_cors")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if file.role.development || file.role.example {
            return;
        }
        if file.role.production_settings() && file.text.contains("CORS_") {
            settings(self.id(), file, py, out);
        }
        if file.text.contains("CORSMiddleware") {
            middleware(self.id(), py, file.text, out);
        }
        if file.text.contains("flask_cors") {
            flask_cors(self.id(), py, file.text, out);
        }
    }
}

fn settings(id: &'static str, file: &File, py: &PythonFile, out: &mut Vec<Diagnostic>) {
    let source = file.text;
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
            || shared::overridden_later(file, &assignments, i)
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
            let call = match py.ancestry.called(expr) {
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

/// Flask-CORS: `CORS(app, ...)` and `@cross_origin(...)`. Its default `origins` is `"*"`, and it
/// answers a credentialed request with the caller's own origin, so `supports_credentials=True`
/// with every origin allowed lets any site read authenticated responses.
fn flask_cors(id: &'static str, py: &PythonFile, source: &str, out: &mut Vec<Diagnostic>) {
    let calls = shared::calls_to(py, source, &["flask_cors"], |q| {
        q.ends_with(".CORS") || q.ends_with(".cross_origin")
    });
    // `CORS(app)` also reads `CORS_ORIGINS` / `CORS_RESOURCES` from the app's configuration.
    let configured_here = source.contains("CORS_ORIGINS") || source.contains("CORS_RESOURCES");
    let config_elsewhere = source.contains("config.from_") || source.contains("config.update(");
    for (call, qualified) in calls {
        if wildcard_was_configured(py, call, source) {
            continue;
        }
        let Some(args) = python::arguments(call, source) else {
            continue; // `**options`
        };
        let is_extension = qualified.ends_with(".CORS");
        let mut credentials = args
            .keyword("supports_credentials")
            .is_some_and(|(v, _)| shared::is_literal(v, source, &Literal::Bool(true)));
        let (place, what, by_default) = if let Some((value, whole)) = args.keyword("origins") {
            if origins_wildcard(value, source) != Some(true) {
                continue;
            }
            (whole, "`origins` allows every origin", false)
        } else if let Some((value, whole)) = args.keyword("resources") {
            match resources_wildcard(value, source) {
                Some((true, resource_credentials)) => {
                    credentials |= resource_credentials;
                    (whole, "`resources` allow every origin", false)
                }
                _ => continue,
            }
        } else {
            // Nothing said: Flask-CORS's default is every origin. `CORS()` without the app gets
            // its options in `init_app`.
            if configured_here || is_extension && args.positional.is_empty() {
                continue;
            }
            let what = if is_extension {
                "allows every origin (Flask-CORS's default `origins` is `*`)"
            } else {
                "allows every origin on this route (the default `origins` is `*`)"
            };
            (call, what, true)
        };
        let call_text = python::text(call, source);
        let shown = if call_text.len() <= 40 && !call_text.contains('\n') {
            format!("`{call_text}`")
        } else if is_extension {
            "`CORS(...)`".to_string()
        } else {
            "`cross_origin(...)`".to_string()
        };
        let (message, severity) = if credentials {
            (
                format!("{shown}: {what} with `supports_credentials=True`: any website can make authenticated requests with your users' cookies and read the answers"),
                Severity::Error,
            )
        } else if by_default && config_elsewhere {
            (
                format!("{shown}: {what} unless the app configuration sets `CORS_ORIGINS`: any website can call this API from a browser and read the answers"),
                Severity::Info,
            )
        } else {
            (
                format!("{shown}: {what}: any website can call this API from a browser and read the answers"),
                Severity::Warning,
            )
        };
        out.push(Diagnostic::new(id, place.byte_range(), message).with_severity(severity));
    }
}

/// `"*"`, a match-all regex, or a list holding one of them; `None` when not a literal.
fn origins_wildcard(value: Node, source: &str) -> Option<bool> {
    let literal = python::literal(value, source)?;
    Some(
        literal
            .strings()
            .iter()
            .any(|o| *o == "*" || matches_everything(o)),
    )
}

/// A literal `resources` argument: does some resource allow every origin (a pattern or a list of
/// patterns gets the default `*`; a dict entry without `origins` too), and does it allow
/// credentials? `None` when not literal.
fn resources_wildcard(value: Node, source: &str) -> Option<(bool, bool)> {
    if value.kind() != "dictionary" {
        // `r"/api/*"` or a list of patterns: the default origins apply.
        return python::literal(value, source).map(|_| (true, false));
    }
    let f = python::fields();
    let mut wildcard = false;
    let mut credentials = false;
    let mut cursor = value.walk();
    for pair in value.named_children(&mut cursor) {
        if pair.kind() != "pair" {
            if pair.kind() == "comment" {
                continue;
            }
            return None; // `**other_resources`
        }
        let options = pair.child_by_field_id(f.value)?;
        if options.kind() != "dictionary" {
            return None;
        }
        let mut origins = None;
        let mut resource_credentials = false;
        let mut inner = options.walk();
        for option in options.named_children(&mut inner) {
            if option.kind() == "comment" {
                continue;
            }
            if option.kind() != "pair" {
                return None;
            }
            let key = option
                .child_by_field_id(f.key)
                .and_then(|k| python::string_value(k, source))?;
            let option_value = option.child_by_field_id(f.value)?;
            match key.as_str() {
                "origins" => origins = Some(origins_wildcard(option_value, source)?),
                "supports_credentials" => {
                    resource_credentials =
                        shared::is_literal(option_value, source, &Literal::Bool(true))
                }
                _ => {}
            }
        }
        if origins.unwrap_or(true) {
            wildcard = true;
            credentials |= resource_credentials;
        }
    }
    Some((wildcard, credentials))
}
