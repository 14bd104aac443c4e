//! INJ003 untrusted-deserialization: request data (a body, an upload, a form field, a route's
//! upload parameter) handed to a deserializer that can run code: `pickle`/`cPickle`/`dill`/
//! `cloudpickle`/`marshal` loads, `jsonpickle.decode`, `yaml.unsafe_load`, and `yaml.load` without
//! a safe loader. Unpickling the application's own cache files or model artifacts is not this
//! rule's concern.

use tree_sitter::Node;

use super::request_data;
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, PythonFile, Rule, Severity};
use crate::syntax::{python, FileKind};

pub struct UntrustedDeserialization;

const PICKLE_MODULES: &[&str] = &["pickle", "cPickle", "_pickle", "dill", "cloudpickle"];

/// Loaders that only build plain data.
const SAFE_YAML_LOADERS: &[&str] = &["SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Loader {
    /// pickle and friends: any payload runs code.
    Pickle,
    /// `yaml.load` with an unsafe or no loader, `yaml.unsafe_load`.
    Yaml,
}

impl Rule for UntrustedDeserialization {
    fn id(&self) -> &'static str {
        "INJ003"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        ["pickle", "Pickle", "dill", "marshal", "yaml"]
            .iter()
            .any(|m| text.contains(m))
            && ["request", "UploadFile", "File(", "Body(", "Form("]
                .iter()
                .any(|w| text.contains(w))
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let source = file.text;
        for (call, callee, loader) in loader_calls(py, source) {
            let Some(args) = python::arguments(call, source) else {
                continue;
            };
            let Some(data) = args.positional.first().copied().or_else(|| {
                ["data", "s", "stream", "file", "string"]
                    .iter()
                    .find_map(|k| args.keyword(k).map(|(v, _)| v))
            }) else {
                continue;
            };
            if loader == Loader::Yaml && callee.ends_with(".load") {
                let given = args
                    .keyword("Loader")
                    .map(|(v, _)| v)
                    .or_else(|| args.positional.get(1).copied());
                if given.is_some_and(|l| {
                    let text = python::text(l, source);
                    let name = text.rsplit('.').next().unwrap_or(text);
                    // A project's own `SafeLoader` subclass is named after it by convention.
                    SAFE_YAML_LOADERS.contains(&name) || name.ends_with("SafeLoader")
                }) {
                    continue;
                }
            }
            let Some(what) = request_data(py, source, data, 0) else {
                continue;
            };
            let shown = python::text(
                call.child_by_field_id(python::fields().function)
                    .unwrap_or(call),
                source,
            );
            let message = match loader {
                Loader::Pickle => format!(
                    "`{shown}` deserializes request data ({what}): a crafted payload runs arbitrary code on the server; accept JSON and validate it instead"
                ),
                Loader::Yaml => format!(
                    "`{shown}` parses request data ({what}) with a loader that builds arbitrary Python objects: a crafted document runs code on the server; use `yaml.safe_load`"
                ),
            };
            let mut diagnostic = Diagnostic::new(self.id(), call.byte_range(), message);
            if loader == Loader::Yaml {
                diagnostic = diagnostic.with_fix(safe_load_fix(call, data, &args, source));
            }
            if file.role.development {
                diagnostic = diagnostic.with_severity(Severity::Hint);
            }
            out.push(diagnostic);
        }
    }
}

/// `yaml.load(data)` / `yaml.load(data, Loader=yaml.Loader)` -> `yaml.safe_load(data)`, when the
/// call is that simple and names the module (`yaml.` or an alias).
fn safe_load_fix(call: Node, data: Node, args: &python::Arguments, source: &str) -> Option<Fix> {
    let function = call.child_by_field_id(python::fields().function)?;
    if function.kind() != "attribute" {
        return None;
    }
    let module = function.child_by_field_id(python::fields().object)?;
    let expected = 1 + usize::from(args.keyword("Loader").is_some() || args.positional.len() == 2);
    if args.all.len() != expected || args.star_args || args.positional.len() > 2 {
        return None;
    }
    if args.positional.first().is_none_or(|p| p.id() != data.id()) {
        return None;
    }
    let replacement = format!(
        "{}.safe_load({})",
        python::text(module, source),
        python::text(data, source)
    );
    Some(Fix {
        title: "Use `yaml.safe_load`".to_string(),
        // Documents with Python-specific tags are now rejected: that is the point.
        applicability: Applicability::Unsafe,
        edits: vec![Edit::replace(call.byte_range(), replacement)],
    })
}

/// Calls into a code-running deserializer, found from the text of the function names and
/// qualified through the imports.
fn loader_calls<'t>(py: &PythonFile<'t>, source: &str) -> Vec<(Node<'t>, String, Loader)> {
    let mut out: Vec<(Node<'t>, String, Loader)> = Vec::new();
    for name in [
        "loads",
        "load",
        "Unpickler",
        "decode",
        "unsafe_load",
        "load_all",
        "unsafe_load_all",
    ] {
        for identifier in py.ancestry.identifiers(source, name) {
            let Some((callee, call)) = py.ancestry.call_named(identifier) else {
                continue;
            };
            let Some(qualified) = py.names.qualify(callee, source) else {
                continue;
            };
            let Some((module, function)) = qualified.rsplit_once('.') else {
                continue;
            };
            let loader = match (module, function) {
                (m, "loads" | "load" | "Unpickler") if PICKLE_MODULES.contains(&m) => {
                    Loader::Pickle
                }
                ("marshal", "loads" | "load") => Loader::Pickle,
                ("jsonpickle", "decode" | "loads") => Loader::Pickle,
                ("yaml", "load" | "load_all" | "unsafe_load" | "unsafe_load_all") => Loader::Yaml,
                _ => continue,
            };
            out.push((call, qualified, loader));
        }
    }
    out.sort_by_key(|(c, _, _)| c.start_byte());
    out
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::diagnostics_of;

    fn findings(source: &str) -> Vec<(String, bool)> {
        diagnostics_of("INJ003", "app/views.py", source)
            .into_iter()
            .map(|d| (source[d.range].to_string(), d.fix.is_some()))
            .collect()
    }

    #[test]
    fn pickled_request_bodies_are_reported() {
        let src = "import pickle, base64\nfrom flask import request\ndef upload():\n    obj = pickle.loads(base64.b64decode(request.get_data()))\n    return obj\n";
        assert_eq!(
            findings(src),
            [(
                "pickle.loads(base64.b64decode(request.get_data()))".to_string(),
                false
            )]
        );
    }

    #[test]
    fn django_and_fastapi_uploads_are_reported() {
        let src = "import pickle as pk\nfrom fastapi import UploadFile\nasync def restore(file: UploadFile):\n    raw = await file.read()\n    return pk.loads(raw)\ndef view(request):\n    return pk.load(request.FILES['state'])\n";
        assert_eq!(findings(src).len(), 2);
    }

    #[test]
    fn own_files_are_not_reported() {
        let src = "import pickle\ndef load_model(path, request):\n    with open(path, 'rb') as fh:\n        return pickle.load(fh)\n";
        assert!(findings(src).is_empty());
    }
}
