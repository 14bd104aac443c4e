//! NET: outbound network calls (TLS verification, timeouts). The shared part finds calls into
//! `requests` and `httpx` by meaning: module functions under any alias, and methods of session
//! and client instances bound to a local name (`s = requests.Session()`, `with httpx.Client() as
//! c:`), starting from the text occurrences of those names rather than walking the whole tree.

pub mod http_call_without_timeout;
pub mod tls_verification_disabled;

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use crate::analysis::context::Names;
use crate::analysis::PythonFile;
use crate::syntax::python;

/// The HTTP libraries whose calls the NET rules look at.
pub const HTTP_MODULES: &[&str] = &["requests", "httpx"];

const VERBS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "request",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Library {
    Requests,
    Httpx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `requests.get(...)`, `httpx.post(...)`
    ModuleRequest,
    /// `session.get(...)` on a `requests.Session()` / `httpx.Client()` instance
    SessionRequest,
    /// `requests.Session()`, `httpx.Client(...)`, `httpx.AsyncClient(...)`, httpx transports
    Constructor,
}

#[derive(Clone, Debug)]
pub struct HttpCall<'t> {
    pub call: Node<'t>,
    pub library: Library,
    pub kind: CallKind,
    /// The callee by meaning, normalised (`requests.Session().get`).
    pub callee: String,
    /// For session requests: the instance's local name, when it is one.
    pub instance: Option<String>,
}

pub use crate::syntax::python::{arguments, word_occurrences};

/// `requests.api.get` -> `requests.get`, `requests.session()` -> `requests.Session()`.
fn normalise(callee: &str) -> String {
    callee
        .replace("requests.api.", "requests.")
        .replace("requests.sessions.Session", "requests.Session")
        .replace("requests.sessions.session", "requests.Session")
        .replace("requests.session", "requests.Session")
}

fn classify(callee: &str) -> Option<(Library, CallKind)> {
    let (library, rest) = if let Some(rest) = callee.strip_prefix("requests.") {
        (Library::Requests, rest)
    } else if let Some(rest) = callee.strip_prefix("httpx.") {
        (Library::Httpx, rest)
    } else {
        return None;
    };
    let verb = |v: &str| VERBS.contains(&v) || library == Library::Httpx && v == "stream";
    if verb(rest) {
        return Some((library, CallKind::ModuleRequest));
    }
    let constructors: &[&str] = match library {
        Library::Requests => &["Session"],
        Library::Httpx => &[
            "Client",
            "AsyncClient",
            "HTTPTransport",
            "AsyncHTTPTransport",
        ],
    };
    if constructors.contains(&rest) {
        return Some((library, CallKind::Constructor));
    }
    let sessions: &[&str] = match library {
        Library::Requests => &["Session()"],
        Library::Httpx => &["Client()", "AsyncClient()"],
    };
    let (instance, method) = rest.split_once('.')?;
    // `Session.send(prepared, timeout=...)` takes the timeout too.
    (sessions.contains(&instance) && (verb(method) || method == "send"))
        .then_some((library, CallKind::SessionRequest))
}

/// Session/client constructors whose instances are followed.
fn is_session_constructor(callee: &str) -> bool {
    matches!(
        callee,
        "requests.Session" | "httpx.Client" | "httpx.AsyncClient"
    )
}

/// What `node` refers to: imports from `names`, session instances from `instances`.
fn qualify(
    node: Node,
    source: &str,
    names: &Names,
    instances: &HashMap<String, String>,
) -> Option<String> {
    match node.kind() {
        "identifier" => {
            let text = python::text(node, source);
            instances
                .get(text)
                .cloned()
                .or_else(|| names.get(text).map(str::to_string))
        }
        "attribute" => {
            let object = node.child_by_field_id(python::fields().object)?;
            let attr = node.child_by_field_id(python::fields().attribute)?;
            Some(format!(
                "{}.{}",
                qualify(object, source, names, instances)?,
                python::text(attr, source)
            ))
        }
        "call" => Some(format!(
            "{}()",
            qualify(
                node.child_by_field_id(python::fields().function)?,
                source,
                names,
                instances
            )?
        )),
        "parenthesized_expression" => qualify(node.named_child(0)?, source, names, instances),
        _ => None,
    }
}

/// The value a binding occurrence of a name receives, when the occurrence binds it:
/// `Some(Some(value))` for `name = value` / `with value as name`, `Some(None)` for other
/// bindings (parameters, loop targets, tuple unpacking), `None` when it only reads the name.
fn binding_value<'t>(
    identifier: Node<'t>,
    ancestry: &python::Ancestry<'t>,
) -> Option<Option<Node<'t>>> {
    let parent = ancestry.parent(identifier)?;
    let fields = python::fields();
    match parent.kind() {
        "assignment" if python::is_field(parent, fields.left, identifier) => {
            Some(parent.child_by_field_id(fields.right))
        }
        "augmented_assignment" if python::is_field(parent, fields.left, identifier) => Some(None),
        "as_pattern_target" => {
            let pattern = ancestry.parent(parent).filter(|p| p.kind() == "as_pattern");
            Some(pattern.and_then(|p| p.named_child(0)))
        }
        "parameters"
        | "lambda_parameters"
        | "default_parameter"
        | "typed_parameter"
        | "typed_default_parameter"
        | "pattern_list"
        | "tuple_pattern"
        | "list_pattern"
        | "global_statement"
        | "nonlocal_statement" => {
            if matches!(
                parent.kind(),
                "default_parameter" | "typed_default_parameter"
            ) && !python::is_field(parent, fields.name, identifier)
            {
                return None;
            }
            Some(None)
        }
        "for_statement" | "for_in_clause" if python::is_field(parent, fields.left, identifier) => {
            Some(None)
        }
        "function_definition" | "class_definition"
            if python::is_field(parent, fields.name, identifier) =>
        {
            Some(None)
        }
        _ => None,
    }
}

/// Every call into `requests` / `httpx` in the module, including calls on session instances.
pub fn http_calls<'t>(py: &PythonFile<'t>, source: &str) -> Vec<HttpCall<'t>> {
    let ancestry = &py.ancestry;
    let names = &py.names;
    let fields = python::fields();
    let mut instances: HashMap<String, String> = HashMap::new();
    let mut out: Vec<HttpCall<'t>> = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut searched: HashSet<String> = HashSet::new();
    let mut queue: Vec<(String, bool)> = names
        .locals_under(HTTP_MODULES)
        .into_iter()
        .map(|n| (n, false))
        .collect();
    // Candidate instances: name -> constructor callee (None when bound to two different things).
    while let Some((name, is_instance)) = queue.pop() {
        if !searched.insert(name.clone()) {
            continue;
        }
        let identifiers: Vec<Node<'t>> = ancestry.identifiers(source, &name);
        if is_instance {
            // Every binding of the name in the module must be a session: a name reused for
            // something else (or a parameter of that name) makes its calls unknown.
            let all_sessions = identifiers
                .iter()
                .all(|&id| match binding_value(id, ancestry) {
                    None => true,
                    Some(None) => false,
                    Some(Some(value)) => {
                        value.kind() == "call"
                            && value
                                .child_by_field_id(fields.function)
                                .and_then(|f| qualify(f, source, names, &HashMap::new()))
                                .map(|c| normalise(&c))
                                .is_some_and(|c| instances.get(&name) == Some(&format!("{c}()")))
                    }
                });
            if !all_sessions {
                instances.remove(&name);
                continue;
            }
        }
        for identifier in identifiers {
            let mut expr = identifier;
            loop {
                expr = ancestry.attribute_chain(expr);
                let Some(call) = ancestry.called(expr) else {
                    break;
                };
                if seen.insert(call.id()) {
                    if let Some(callee) = qualify(expr, source, names, &instances) {
                        let callee = normalise(&callee);
                        if let Some((library, kind)) = classify(&callee) {
                            if kind == CallKind::Constructor && is_session_constructor(&callee) {
                                if let Some(bound) = bound_name(call, source, ancestry) {
                                    if !instances.contains_key(&bound) && !searched.contains(&bound)
                                    {
                                        instances.insert(bound.clone(), format!("{callee}()"));
                                        queue.insert(0, (bound, true));
                                    }
                                }
                            }
                            out.push(HttpCall {
                                call,
                                library,
                                kind,
                                callee,
                                instance: is_instance.then(|| name.clone()),
                            });
                        }
                    }
                }
                // `requests.Session().get(...)`: continue along the chain.
                match ancestry.parent(call) {
                    Some(p)
                        if p.kind() == "attribute" && python::is_field(p, fields.object, call) =>
                    {
                        expr = p;
                    }
                    _ => break,
                }
            }
        }
    }
    // A name found ambiguous after some of its calls were recorded drops them.
    out.retain(|c| {
        c.instance
            .as_ref()
            .is_none_or(|name| instances.contains_key(name))
    });
    out.sort_by_key(|c| c.call.start_byte());
    out
}

/// The local name a constructor call is bound to: `s = requests.Session()`,
/// `with httpx.Client() as c:`.
fn bound_name<'t>(call: Node<'t>, source: &str, ancestry: &python::Ancestry<'t>) -> Option<String> {
    let parent = ancestry.parent(call)?;
    let fields = python::fields();
    let target = match parent.kind() {
        "assignment" if python::is_field(parent, fields.right, call) => {
            parent.child_by_field_id(fields.left)?
        }
        "as_pattern" if parent.named_child(0).is_some_and(|v| v.id() == call.id()) => {
            let target = parent.child_by_field_id(fields.alias)?;
            if target.kind() == "as_pattern_target" {
                target.named_child(0)?
            } else {
                target
            }
        }
        _ => return None,
    };
    (target.kind() == "identifier").then(|| python::text(target, source).to_string())
}

/// Whether a literal expression is `False`.
pub fn is_false(node: Node, source: &str) -> bool {
    matches!(
        python::literal(node, source),
        Some(python::Literal::Bool(false))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::python::parse;

    fn calls(source: &str) -> Vec<(String, CallKind)> {
        let tree = parse(source, None);
        let py = PythonFile::new(&tree, source);
        http_calls(&py, source)
            .into_iter()
            .map(|c| (c.callee, c.kind))
            .collect()
    }

    #[test]
    fn finds_calls_by_meaning() {
        let found = calls(
            "import requests as r\nfrom httpx import get\nfrom requests import Session\nr.get('u')\nget('u')\ns = Session()\ns.post('u')\nwith r.Session() as t:\n    t.get('u')\nr.Session().put('u')\n",
        );
        let callees: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            callees,
            [
                "requests.get",
                "httpx.get",
                "requests.Session",
                "requests.Session().post",
                "requests.Session",
                "requests.Session().get",
                "requests.Session",
                "requests.Session().put",
            ]
        );
    }

    #[test]
    fn reused_name_is_not_followed() {
        let found = calls(
            "import requests\ns = requests.Session()\ns.get('u')\ndef f(s):\n    s.get('u')\n",
        );
        assert_eq!(
            found,
            [("requests.Session".to_string(), CallKind::Constructor)]
        );
    }

    #[test]
    fn unrelated_get_is_ignored() {
        assert!(calls("import requests\nd = {}\nd.get('x')\nrequests_get = 1\n").is_empty());
    }
}
