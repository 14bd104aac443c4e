//! CFG001 debug-enabled-by-default: DEBUG read from the environment so that it is on when the
//! variable is unset, or read as a raw string so that `DEBUG=False` turns it on; and literal
//! switches: `DEBUG = True` in a production settings module, `FastAPI(debug=True)`,
//! `Starlette(debug=True)`, Flask `app.run(debug=True)`.

use crate::analysis::env_reads::{EnvApi, EnvRead};
use tree_sitter::Node;

use super::shared;
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, PythonFile, Rule};
use crate::checks::{display_name, Concern};
use crate::syntax::python::{self, Literal};
use crate::syntax::FileKind;

pub struct DebugEnabledByDefault;

/// Strings django-environ and decouple parse as true.
const TRUE_STRINGS: &[&str] = &["true", "on", "ok", "y", "yes", "1", "t"];
const TRUE_TEST: &str = r#".lower() in ("1", "true", "yes", "on")"#;

impl Rule for DebugEnabledByDefault {
    fn id(&self) -> &'static str {
        "CFG001"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        crate::analysis::env_reads::may_read_env(text)
            || shared::line_starts_with(text, "DEBUG")
            || text.contains("debug=True")
            || text.contains("debug = True")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if file.role.development {
            return;
        }
        for read in &py.env_reads {
            // `DEBUG = parse_bool(os.getenv(...))`: the code parses the value itself.
            if read.concern != Concern::Debug
                || read.api == EnvApi::EnvironSubscript
                || !read.direct
                || file.read_overridden_in_production(read.target.as_deref(), read.range.start)
            {
                continue;
            }
            let name = display_name(read);
            let raw = receives_raw_string(read);
            let on_when_unset = debug_when_unset(read);
            let message = if raw {
                format!("`{name}` is the raw string from the environment: any non-empty value, even `False` or `0`, turns debug on")
            } else if on_when_unset == Some(true) {
                format!("`{name}` defaults to on: when the variable is unset, production serves tracebacks, settings and SQL to anyone")
            } else {
                continue;
            };
            let range = read
                .bool_wrapper
                .clone()
                .unwrap_or_else(|| read.range.clone());
            out.push(
                Diagnostic::new(self.id(), range, message)
                    .with_fix(safe_default_fix(read, file.text, raw)),
            );
        }
        if file.role.production_settings() && shared::line_starts_with(file.text, "DEBUG") {
            literal_debug_setting(self.id(), file, py, out);
        }
        if file.text.contains("debug") && !file.role.example {
            debug_arguments(self.id(), py, file.text, out);
        }
    }
}

/// Module-level `DEBUG = True` that no later assignment replaces.
fn literal_debug_setting(
    id: &'static str,
    file: &File,
    py: &PythonFile,
    out: &mut Vec<Diagnostic>,
) {
    let source = file.text;
    let assignments = shared::module_assignments(py, source, &["DEBUG"]);
    for (i, a) in assignments.iter().enumerate() {
        if a.name != "DEBUG"
            || a.operator != "="
            || !shared::is_literal(a.value, source, &Literal::Bool(true))
            || shared::overridden_later(file, &assignments, i)
        {
            continue;
        }
        let (environ, import) = shared::os_environ(py, source);
        let mut edits: Vec<Edit> = import.into_iter().collect();
        edits.push(Edit::replace(
            a.value.byte_range(),
            format!(r#"{environ}.get("DJANGO_DEBUG", "False").lower() in ("1", "true", "yes")"#),
        ));
        out.push(
            Diagnostic::new(
                id,
                a.statement.byte_range(),
                "`DEBUG = True` in a production settings module: every deployment serves tracebacks, settings and SQL to anyone",
            )
            .with_fix(Some(Fix {
                title: "Read DEBUG from DJANGO_DEBUG, off by default".to_string(),
                applicability: Applicability::Unsafe,
                edits,
            })),
        );
    }
}

const APP_CLASSES: &[&str] = &[
    "fastapi.FastAPI",
    "fastapi.applications.FastAPI",
    "starlette.applications.Starlette",
];

/// `FastAPI(debug=True)`, `Starlette(debug=True)`, and `app.run(debug=True)` on a Flask app.
fn debug_arguments(id: &'static str, py: &PythonFile, source: &str, out: &mut Vec<Diagnostic>) {
    for (call, qualified) in shared::calls_to(py, source, &["fastapi", "starlette"], |q| {
        APP_CLASSES.contains(&q)
    }) {
        let class = qualified.rsplit('.').next().unwrap_or("FastAPI");
        push_debug_true(
            id,
            call,
            source,
            &format!("`{class}(debug=True)`: unhandled errors answer with tracebacks"),
            out,
        );
    }
    for (flask, _) in shared::calls_to(py, source, &["flask"], |q| q == "flask.Flask") {
        // `Flask(__name__).run(debug=True)`
        if let Some(call) = run_call(py, flask, source) {
            push_debug_true(id, call, source, "`Flask(...).run(debug=True)`: the Werkzeug debugger lets anyone who reaches an error page run code", out);
        }
        let Some(app) = assigned_name(py, flask, source) else {
            continue;
        };
        for identifier in py.ancestry.identifiers(source, &app) {
            let Some(call) = run_call(py, identifier, source) else {
                continue;
            };
            push_debug_true(id, call, source, &format!("`{app}.run(debug=True)`: the Werkzeug debugger lets anyone who reaches an error page run code"), out);
        }
    }
}

/// `<object>.run(...)`: the call, when `object` is the receiver of a `run` method call.
fn run_call<'t>(py: &PythonFile<'t>, object: Node<'t>, source: &str) -> Option<Node<'t>> {
    let run = py.ancestry.parent(object).filter(|p| {
        p.kind() == "attribute"
            && p.child_by_field_id(python::fields().object)
                .is_some_and(|o| o.id() == object.id())
            && p.child_by_field_id(python::fields().attribute)
                .is_some_and(|a| python::text(a, source) == "run")
    })?;
    py.ancestry.called(run)
}

/// The name a call's result is assigned to: `app = Flask(__name__)` -> `app`.
fn assigned_name<'t>(py: &PythonFile<'t>, call: Node<'t>, source: &str) -> Option<String> {
    let parent = py.ancestry.parent(call)?;
    let left = (parent.kind() == "assignment")
        .then(|| parent.child_by_field_id(python::fields().left))??;
    (left.kind() == "identifier").then(|| python::text(left, source).to_string())
}

fn push_debug_true(
    id: &'static str,
    call: Node,
    source: &str,
    message: &str,
    out: &mut Vec<Diagnostic>,
) {
    let Some((argument, value)) = shared::keyword_argument(call, "debug", source) else {
        return;
    };
    if !shared::is_literal(value, source, &Literal::Bool(true)) {
        return;
    }
    out.push(
        Diagnostic::new(id, argument.byte_range(), message).with_fix(Some(Fix {
            title: "Turn debug off".to_string(),
            applicability: Applicability::Unsafe,
            edits: vec![Edit::replace(value.byte_range(), "False")],
        })),
    );
}

/// The value is used as a Python string (truthy when non-empty) rather than parsed or compared.
fn receives_raw_string(read: &EnvRead) -> bool {
    if read.parsed_bool || read.comparison.is_some() {
        return false;
    }
    match read.api {
        EnvApi::Getenv | EnvApi::EnvironGet | EnvApi::GetenvOr | EnvApi::EnvironSetdefault => true,
        EnvApi::Decouple | EnvApi::DjangoEnviron => {
            read.bool_wrapper.is_some() || read.api == EnvApi::Decouple
        }
        _ => false,
    }
}

fn transformed(value: &str, transforms: &[String]) -> String {
    let mut v = value.to_string();
    for t in transforms {
        v = match t.as_str() {
            "lower" | "casefold" => v.to_lowercase(),
            "upper" => v.to_uppercase(),
            "strip" => v.trim().to_string(),
            _ => v,
        };
    }
    v
}

fn comparison_holds(value: &str, read: &EnvRead) -> Option<bool> {
    let (op, rhs) = read.comparison.as_ref()?;
    let v = transformed(value, &read.transforms);
    Some(match op.as_str() {
        "==" => rhs.as_str() == Some(v.as_str()),
        "!=" => rhs.as_str() != Some(v.as_str()),
        "in" => rhs.strings().contains(&v.as_str()),
        "not in" => !rhs.strings().contains(&v.as_str()),
        _ => return None,
    })
}

/// Is debug on when the variable is unset? `None` when the code does not say.
fn debug_when_unset(read: &EnvRead) -> Option<bool> {
    let value = read.default_value()?;
    // A project's own helper may map its string default any way it likes
    // (`_environ_get_and_map("DEBUG", "False", _AS_BOOL)`): only a boolean, or a helper that
    // parses booleans, says what the default means.
    if read.api == EnvApi::Wrapper && !read.parsed_bool && !matches!(value, Literal::Bool(_)) {
        return None;
    }
    if read.comparison.is_some() {
        return comparison_holds(value.as_str()?, read);
    }
    if read.parsed_bool {
        return Some(match value {
            Literal::Str(s) => TRUE_STRINGS.contains(&s.trim().to_lowercase().as_str()),
            other => other.is_truthy(),
        });
    }
    Some(value.is_truthy())
}

/// The safe default: the same read with debug off when the variable is unset, and a real boolean
/// test where the code used the raw string.
fn safe_default_fix(read: &EnvRead, source: &str, raw: bool) -> Option<Fix> {
    let default = read.default.as_ref();
    if raw {
        // `X` -> `X'.lower() in (...)` where X' has the default "False".
        let mut read_text = source[read.range.clone()].to_string();
        if let Some(d) = default {
            let start = d.range.start - read.range.start;
            let end = d.range.end - read.range.start;
            read_text.replace_range(start..end, "\"False\"");
        }
        // Without a default the read may be None: `str()` keeps `.lower()` safe.
        let needs_str = default.is_none();
        let expr = match (read.api, needs_str) {
            (_, true) => format!("str({read_text}){TRUE_TEST}"),
            (EnvApi::GetenvOr, false) => format!("({read_text}){TRUE_TEST}"),
            _ => format!("{read_text}{TRUE_TEST}"),
        };
        let range = read
            .bool_wrapper
            .clone()
            .unwrap_or_else(|| read.range.clone());
        return Some(Fix {
            title: "Default DEBUG to off and parse the value as a boolean".to_string(),
            applicability: Applicability::Unsafe,
            edits: vec![Edit::replace(range, expr)],
        });
    }
    let d = default?;
    let replacement = match d.value.as_ref()? {
        Literal::Bool(true) => "False".to_string(),
        Literal::Int(_) | Literal::Float(_) => "0".to_string(),
        Literal::Str(s) => {
            let quote = source[d.range.clone()]
                .chars()
                .last()
                .filter(|c| *c == '"' || *c == '\'')
                .unwrap_or('"');
            let candidates: Vec<String> = match s.as_str() {
                "True" => vec!["False".into()],
                "true" => vec!["false".into()],
                "1" => vec!["0".into()],
                "yes" => vec!["no".into()],
                "on" => vec!["off".into()],
                _ => vec![],
            }
            .into_iter()
            .chain(["False", "false", "0", ""].map(String::from))
            .collect();
            let off = candidates.into_iter().find(|c| {
                if read.comparison.is_some() {
                    comparison_holds(c, read) == Some(false)
                } else {
                    !TRUE_STRINGS.contains(&c.to_lowercase().as_str())
                }
            })?;
            format!("{quote}{off}{quote}")
        }
        _ => return None,
    };
    Some(Fix {
        title: format!("Default {} to off", display_name(read)),
        applicability: Applicability::Unsafe,
        edits: vec![Edit::replace(d.range.clone(), replacement)],
    })
}
