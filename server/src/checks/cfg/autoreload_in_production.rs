//! CFG017 autoreload-in-production: a development server's code reloader switched on in code that
//! is not development-only: `uvicorn.run(..., reload=True)`, `Granian(..., reload=True)`, Flask's
//! `app.run(use_reloader=True)`, werkzeug's `run_simple(..., use_reloader=True)`, Sanic's
//! `app.run(auto_reload=True)`, hypercorn's `config.use_reloader = True`.

use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, PythonFile, Rule};
use crate::syntax::python::{self, Literal};
use crate::syntax::FileKind;

pub struct AutoreloadInProduction;

/// The reload switch of each server, and how its call is recognised.
const SWITCHES: &[(&str, Server)] = &[
    (
        "reload",
        Server::Qualified(&["uvicorn.run", "uvicorn.main.run"]),
    ),
    (
        "reload",
        Server::Qualified(&["granian.Granian", "granian.server.Granian"]),
    ),
    (
        "use_reloader",
        Server::Qualified(&["werkzeug.serving.run_simple", "werkzeug.run_simple"]),
    ),
    // `app.run(...)` of a Flask app (or flask-socketio's `socketio.run(app, ...)`). The app often
    // comes from a factory in another module, and no other `run` takes `use_reloader`: any
    // `.run(...)` counts.
    ("use_reloader", Server::RunMethod(&[])),
    ("auto_reload", Server::RunMethod(&["sanic"])),
];

#[derive(Clone, Copy)]
enum Server {
    /// The callee, qualified through the imports, is one of these.
    Qualified(&'static [&'static str]),
    /// A `.run(...)` method call in a module that imports one of these packages (any module when
    /// there are none).
    RunMethod(&'static [&'static str]),
}

impl Rule for AutoreloadInProduction {
    fn id(&self) -> &'static str {
        "CFG017"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("reload")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if file.role.development || file.role.example || file.role.dev_launcher {
            return;
        }
        let source = file.text;
        let mut seen = Vec::new();
        for (keyword, server) in SWITCHES {
            for identifier in py.ancestry.identifiers(source, keyword) {
                let Some(python::KeywordArgument {
                    argument,
                    value,
                    call: Some(call),
                }) = py.ancestry.keyword_argument_named(identifier)
                else {
                    continue;
                };
                if seen.contains(&argument.id())
                    || !runs_server(py, call, *server, source)
                    || guarded(py, call, source)
                {
                    continue;
                }
                let Some(args) = python::arguments(call, source) else {
                    continue; // `**options` may set it again
                };
                let callee = call
                    .child_by_field_id(python::fields().function)
                    .map_or("", |c| python::text(c, source));
                let workers = args.keyword("workers").is_some();
                let (what, fix) = if switched_on(value, source) {
                    let Some(removal) = args.removal(argument) else {
                        continue;
                    };
                    (
                        format!("`{keyword}=True` in `{callee}(...)`"),
                        Fix {
                            title: format!("Remove `{}`", python::text(argument, source)),
                            applicability: Applicability::Unsafe,
                            edits: vec![Edit::delete(removal)],
                        },
                    )
                } else if let Some((key, edit)) = on_when_unset(py, value, source) {
                    (
                        format!("`{keyword}=` in `{callee}(...)` is on unless {key} is set"),
                        Fix {
                            title: format!("Keep the reloader off when {key} is unset"),
                            applicability: Applicability::Unsafe,
                            edits: vec![edit],
                        },
                    )
                } else {
                    continue;
                };
                seen.push(argument.id());
                out.push(
                    Diagnostic::new(self.id(), argument.byte_range(), message(&what, workers))
                        .with_fix(Some(fix)),
                );
            }
        }
        hypercorn_reloader(self.id(), py, source, out);
    }
}

fn message(what: &str, workers: bool) -> String {
    let workers = if workers {
        " and runs a single process whatever `workers` says"
    } else {
        ""
    };
    format!(
        "{what}: the server watches the source tree and restarts on every file change{workers}; a reloader belongs to development, not to the code that serves production"
    )
}

fn switched_on(value: Node, source: &str) -> bool {
    python::literal(value, source).is_some_and(|l| l == Literal::Bool(true) || l == Literal::Int(1))
}

/// Strings the boolean parsers (django-environ, decouple, pydantic) read as true.
const TRUE_STRINGS: &[&str] = &["true", "on", "ok", "y", "yes", "1", "t"];

/// `reload=os.getenv("RELOAD", "true") == "true"`, `reload=env.bool("RELOAD", default=True)`:
/// the reloader is on in any deployment that does not set the variable. Returns the variable and
/// the edit that turns the default off.
fn on_when_unset(py: &PythonFile, value: Node, source: &str) -> Option<(String, Edit)> {
    let read = if value.kind() == "identifier" {
        // `reload_enabled = os.getenv(...) == "true"` earlier, `reload=reload_enabled` here.
        let name = python::text(value, source);
        py.env_reads.iter().rfind(|r| {
            r.direct && r.target.as_deref() == Some(name) && r.range.end < value.start_byte()
        })?
    } else {
        let read = py
            .env_reads
            .iter()
            .find(|r| r.range.start >= value.start_byte() && r.range.end <= value.end_byte())?;
        // The value is the read itself, `bool(read)`, or its comparison: not `int(read) == 1`.
        let whole = value.byte_range();
        let is_the_switch = read.range == whole
            || read.bool_wrapper.as_ref() == Some(&whole)
            || read.comparison.is_some() && value.kind() == "comparison_operator";
        if !is_the_switch {
            return None;
        }
        read
    };
    let default = read.default.as_ref()?;
    let holds = |candidate: &Literal| -> Option<bool> {
        match (&read.comparison, candidate) {
            (Some((op, rhs)), Literal::Str(s)) => {
                let mut v = s.clone();
                for t in &read.transforms {
                    v = match t.as_str() {
                        "lower" | "casefold" => v.to_lowercase(),
                        "upper" => v.to_uppercase(),
                        "strip" => v.trim().to_string(),
                        _ => v,
                    };
                }
                match op.as_str() {
                    "==" => Some(rhs.as_str() == Some(v.as_str())),
                    "!=" => Some(rhs.as_str() != Some(v.as_str())),
                    "in" => Some(rhs.strings().contains(&v.as_str())),
                    "not in" => Some(!rhs.strings().contains(&v.as_str())),
                    _ => None,
                }
            }
            (Some(_), _) => None,
            (None, Literal::Str(s)) if read.parsed_bool => {
                Some(TRUE_STRINGS.contains(&s.trim().to_lowercase().as_str()))
            }
            (None, other) if read.parsed_bool => Some(other.is_truthy()),
            // A raw string passed on as the switch: any non-empty value is on.
            (None, other) => Some(other.is_truthy()),
        }
    };
    if holds(default.value.as_ref()?) != Some(true) {
        return None;
    }
    let off = match default.value.as_ref()? {
        Literal::Str(_) => ["false", "0", ""]
            .into_iter()
            .find(|c| holds(&Literal::Str(c.to_string())) == Some(false))
            .map(|c| format!("\"{c}\""))?,
        _ => "False".to_string(),
    };
    Some((
        read.key
            .clone()
            .unwrap_or_else(|| "the variable".to_string()),
        Edit::replace(default.range.clone(), off),
    ))
}

fn runs_server(py: &PythonFile, call: Node, server: Server, source: &str) -> bool {
    let Some(function) = call.child_by_field_id(python::fields().function) else {
        return false;
    };
    match server {
        Server::Qualified(names) => py
            .names
            .qualify(function, source)
            .is_some_and(|q| names.contains(&q.as_str())),
        Server::RunMethod(packages) => {
            function.kind() == "attribute"
                && function
                    .child_by_field_id(python::fields().attribute)
                    .is_some_and(|a| python::text(a, source) == "run")
                && (packages.is_empty() || !py.names.locals_under(packages).is_empty())
        }
    }
}

/// Conditions that make the reloader opt-in: `if settings.DEBUG:`, `if args.reload:`,
/// `if os.environ.get("ENV") == "development":` (and their `else` branches). `if __name__ ==
/// "__main__":` is not one of them: `python main.py` is how many containers start the app.
fn guarded<'t>(py: &PythonFile<'t>, call: Node<'t>, source: &str) -> bool {
    static OPT_IN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)dev|debug|local|reload|prod|env|mode|stage|watch|test").expect("valid")
    });
    let mut node = call;
    while let Some(parent) = py.ancestry.parent(node) {
        let condition = match parent.kind() {
            "if_statement" | "elif_clause" | "while_statement" => {
                parent.child_by_field_name("condition")
            }
            "else_clause" => py
                .ancestry
                .parent(parent)
                .and_then(|s| s.child_by_field_name("condition")),
            "module" => return false,
            _ => None,
        };
        if condition.is_some_and(|c| OPT_IN.is_match(python::text(c, source))) {
            return true;
        }
        node = parent;
    }
    false
}

/// `config.use_reloader = True` on a hypercorn `Config`.
fn hypercorn_reloader(id: &'static str, py: &PythonFile, source: &str, out: &mut Vec<Diagnostic>) {
    if py.names.locals_under(&["hypercorn"]).is_empty() {
        return;
    }
    for identifier in py.ancestry.identifiers(source, "use_reloader") {
        let Some(attribute) = py
            .ancestry
            .parent(identifier)
            .filter(|a| a.kind() == "attribute")
        else {
            continue;
        };
        let Some(assignment) = py
            .ancestry
            .parent(attribute)
            .filter(|a| a.kind() == "assignment")
        else {
            continue;
        };
        let f = python::fields();
        let is_target = assignment
            .child_by_field_id(f.left)
            .is_some_and(|l| l.id() == attribute.id());
        let Some(value) = assignment.child_by_field_id(f.right) else {
            continue;
        };
        if !is_target || !switched_on(value, source) || guarded(py, assignment, source) {
            continue;
        }
        out.push(
            Diagnostic::new(
                id,
                assignment.byte_range(),
                message(&format!("`{}`", python::text(assignment, source)), false),
            )
            .with_fix(Some(Fix {
                title: "Set use_reloader to False".to_string(),
                applicability: Applicability::Unsafe,
                edits: vec![Edit::replace(value.byte_range(), "False")],
            })),
        );
    }
}
