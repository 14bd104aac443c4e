//! NET001 tls-verification-disabled: `verify=False` on requests/httpx calls and clients,
//! `ssl._create_unverified_context`, and Celery/Redis `ssl_cert_reqs` set to CERT_NONE (in
//! `broker_use_ssl`-style dicts, keyword arguments or `rediss://...?ssl_cert_reqs=none` URLs).

use std::collections::HashSet;

use tree_sitter::Node;

use super::{arguments, http_calls, is_false, word_occurrences, CallKind};
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, PythonFile, Rule, Severity};
use crate::syntax::{python, FileKind};

pub struct TlsVerificationDisabled;

const CELERY_SSL_SETTINGS: &[&str] = &[
    "broker_use_ssl",
    "redis_backend_use_ssl",
    "CELERY_BROKER_USE_SSL",
    "CELERY_REDIS_BACKEND_USE_SSL",
    "BROKER_USE_SSL",
];

impl Rule for TlsVerificationDisabled {
    fn id(&self) -> &'static str {
        "NET001"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        (text.contains("verify") && text.contains("False"))
            || text.contains("cert_reqs")
            || text.contains("_unverified")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let source = file.text;
        let mut found = Vec::new();
        if source.contains("verify") {
            verify_false(py, source, &mut found);
        }
        if source.contains("_create_unverified_context") {
            unverified_context(py, source, &mut found);
        }
        if source.contains("cert_reqs") {
            cert_reqs(py, source, &mut found);
        }
        for mut diagnostic in found {
            if file.role.development {
                diagnostic = diagnostic.with_severity(Severity::Hint);
            }
            out.push(diagnostic);
        }
    }
}

fn verify_false(py: &PythonFile, source: &str, out: &mut Vec<Diagnostic>) {
    for call in http_calls(py, source) {
        if call.kind == CallKind::Constructor
            && !matches!(
                call.callee.as_str(),
                "httpx.Client"
                    | "httpx.AsyncClient"
                    | "httpx.HTTPTransport"
                    | "httpx.AsyncHTTPTransport"
            )
        {
            continue;
        }
        let Some(args) = arguments(call.call, source) else {
            continue;
        };
        let Some((value, whole)) = args.keyword("verify") else {
            continue;
        };
        if !is_false(value, source) {
            continue;
        }
        let fix = args.removal(whole).map(|range| Fix {
            title: "Remove `verify=False`".to_string(),
            applicability: Applicability::Unsafe,
            edits: vec![Edit::delete(range)],
        });
        let message = format!(
            "`verify=False` on `{}`: TLS certificates are not checked, so anyone on the network path can read and alter the traffic",
            call.callee
        );
        out.push(Diagnostic::new("NET001", whole.byte_range(), message).with_fix(fix));
    }
}

fn unverified_context(py: &PythonFile, source: &str, out: &mut Vec<Diagnostic>) {
    let word = "_create_unverified_context";
    for at in word_occurrences(source, word) {
        let Some(identifier) = py.ancestry.node_at(at, at + word.len()) else {
            continue;
        };
        if identifier.kind() != "identifier" {
            continue;
        }
        let Some(parent) = py.ancestry.parent(identifier) else {
            continue;
        };
        let expr = match parent.kind() {
            "attribute" => parent,
            "dotted_name" | "aliased_import" | "import_from_statement" | "keyword_argument" => {
                continue
            }
            _ => identifier,
        };
        if py.names.qualify(expr, source).as_deref() != Some("ssl._create_unverified_context") {
            continue;
        }
        let message = "`ssl._create_unverified_context` makes a TLS context that accepts any certificate: connections using it can be intercepted";
        out.push(Diagnostic::new("NET001", expr.byte_range(), message));
    }
}

/// How a `cert_reqs` value reads: `ssl.CERT_NONE` (with the node to rewrite), a "none" string,
/// `None`, or something else.
enum CertReqs<'t> {
    SslCertNone(Node<'t>),
    NoneString,
    NoneValue,
    Other,
}

fn cert_reqs_value<'t>(value: Node<'t>, py: &PythonFile<'t>, source: &str) -> CertReqs<'t> {
    if py.names.qualify(value, source).as_deref() == Some("ssl.CERT_NONE") {
        return CertReqs::SslCertNone(value);
    }
    match python::literal(value, source) {
        Some(python::Literal::Str(s))
            if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("cert_none") =>
        {
            CertReqs::NoneString
        }
        Some(python::Literal::None) => CertReqs::NoneValue,
        _ => CertReqs::Other,
    }
}

/// The name of the setting a dict literal is the value of: `broker_use_ssl = {...}`,
/// `app.conf.update(broker_use_ssl={...})`, `{"broker_use_ssl": {...}}`.
fn setting_of<'t>(dict: Node<'t>, py: &PythonFile<'t>, source: &str) -> Option<String> {
    let fields = python::fields();
    let parent = py.ancestry.parent(dict)?;
    match parent.kind() {
        "assignment" => {
            let left = parent.child_by_field_id(fields.left)?;
            match left.kind() {
                "identifier" => Some(python::text(left, source).to_string()),
                "attribute" => left
                    .child_by_field_id(fields.attribute)
                    .map(|a| python::text(a, source).to_string()),
                "subscript" => left
                    .child_by_field_id(fields.subscript)
                    .and_then(|s| python::string_value(s, source)),
                _ => None,
            }
        }
        "keyword_argument" => parent
            .child_by_field_id(fields.name)
            .map(|n| python::text(n, source).to_string()),
        "pair" => parent
            .child_by_field_id(fields.key)
            .and_then(|k| python::string_value(k, source)),
        _ => None,
    }
}

fn cert_reqs(py: &PythonFile, source: &str, out: &mut Vec<Diagnostic>) {
    let fields = python::fields();
    let mut seen: HashSet<usize> = HashSet::new();
    for (at, _) in source.match_indices("cert_reqs") {
        let is_ident = |c: char| c.is_alphanumeric() || c == '_';
        let mut start = at;
        if source[..at].ends_with("ssl_") {
            start = at - 4;
        }
        let end = at + "cert_reqs".len();
        if source[..start].chars().next_back().is_some_and(is_ident)
            || source[end..].chars().next().is_some_and(is_ident)
        {
            continue;
        }
        let key = &source[start..end];
        let Some(node) = py.ancestry.node_at(start, end) else {
            continue;
        };
        // Where the key sits: a keyword argument, a dict key, or inside a URL string.
        let (value, context): (Node, Option<String>) = match node.kind() {
            "identifier" => {
                let Some(keyword) = py.ancestry.keyword_argument_named(node) else {
                    continue;
                };
                let callee = keyword
                    .call
                    .and_then(|c| c.child_by_field_id(fields.function))
                    .and_then(|f| py.names.qualify(f, source));
                (keyword.value, callee)
            }
            "string_content" | "string" => {
                let string = if node.kind() == "string" {
                    node
                } else {
                    match py.ancestry.parent(node) {
                        Some(s) if s.kind() == "string" => s,
                        _ => continue,
                    }
                };
                let pair = py.ancestry.parent(string).filter(|p| {
                    p.kind() == "pair"
                        && p.child_by_field_id(fields.key)
                            .is_some_and(|k| k.id() == string.id())
                });
                match pair {
                    Some(pair) if python::string_value(string, source).as_deref() == Some(key) => {
                        let Some(value) = pair.child_by_field_id(fields.value) else {
                            continue;
                        };
                        let setting = py
                            .ancestry
                            .parent(pair)
                            .filter(|d| d.kind() == "dictionary")
                            .and_then(|d| setting_of(d, py, source));
                        (value, setting)
                    }
                    Some(_) => continue,
                    None => {
                        // `rediss://host:6380/0?ssl_cert_reqs=none`
                        let rest = &source[end..string.end_byte()];
                        let Some(param) = rest.strip_prefix('=') else {
                            continue;
                        };
                        let param: String = param
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if key == "ssl_cert_reqs"
                            && (param.eq_ignore_ascii_case("none")
                                || param.eq_ignore_ascii_case("cert_none"))
                            && seen.insert(string.id())
                        {
                            let message = format!(
                                "`ssl_cert_reqs={param}` in the connection URL: the Redis/broker TLS certificate is not checked, so the connection can be intercepted"
                            );
                            out.push(Diagnostic::new("NET001", string.byte_range(), message));
                        }
                        continue;
                    }
                }
            }
            _ => continue,
        };
        let celery = context
            .as_deref()
            .is_some_and(|c| CELERY_SSL_SETTINGS.contains(&c));
        let redis_call = context.as_deref().is_some_and(|c| c.starts_with("redis."));
        let where_ = if celery {
            format!(" in `{}`", context.as_deref().unwrap_or_default())
        } else {
            String::new()
        };
        let (range, fix, shown) = match cert_reqs_value(value, py, source) {
            CertReqs::SslCertNone(node) => {
                let attr = node.child_by_field_id(fields.attribute);
                let fix = attr.map(|a| Fix {
                    title: "Require certificates: `ssl.CERT_REQUIRED`".to_string(),
                    applicability: Applicability::Unsafe,
                    edits: vec![Edit::replace(a.byte_range(), "CERT_REQUIRED")],
                });
                (node.byte_range(), fix, "ssl.CERT_NONE".to_string())
            }
            CertReqs::NoneString => (
                value.byte_range(),
                None,
                python::text(value, source).to_string(),
            ),
            // redis-py reads `ssl_cert_reqs=None` as CERT_NONE; elsewhere None may mean a default.
            CertReqs::NoneValue if key == "ssl_cert_reqs" && (celery || redis_call) => {
                (value.byte_range(), None, "None".to_string())
            }
            _ => continue,
        };
        if !seen.insert(value.id()) {
            continue;
        }
        let message = format!(
            "`{key}` is `{shown}`{where_}: the server's TLS certificate is not checked, so the connection can be intercepted"
        );
        out.push(Diagnostic::new("NET001", range, message).with_fix(fix));
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::diagnostics_of;
    use crate::analysis::Severity;

    fn findings(path: &str, source: &str) -> Vec<(String, Severity, bool)> {
        diagnostics_of("NET001", path, source)
            .into_iter()
            .map(|d| (source[d.range].to_string(), d.severity, d.fix.is_some()))
            .collect()
    }

    #[test]
    fn celery_and_redis_cert_reqs() {
        let src = "import ssl\nimport redis\nbroker_use_ssl = {'ssl_cert_reqs': 'none'}\nCELERY_REDIS_BACKEND_USE_SSL = {'ssl_cert_reqs': ssl.CERT_NONE}\napp.conf.update(broker_use_ssl={'cert_reqs': 'CERT_NONE'})\nr = redis.Redis(host='h', ssl=True, ssl_cert_reqs=None)\nok = redis.Redis(ssl_cert_reqs='required')\nURL = 'rediss://h:6380/0?ssl_cert_reqs=none'\nOPTS = {'ssl_cert_reqs': None}\n";
        let found: Vec<String> = findings("proj/celery.py", src)
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(
            found,
            [
                "'none'",
                "ssl.CERT_NONE",
                "'CERT_NONE'",
                "None",
                "'rediss://h:6380/0?ssl_cert_reqs=none'",
            ]
        );
    }

    #[test]
    fn unverified_context_and_dev_hint() {
        let src = "import ssl\nfrom ssl import _create_unverified_context\nssl._create_default_https_context = ssl._create_unverified_context\nctx = _create_unverified_context()\n";
        assert_eq!(
            findings("app/net.py", src),
            [
                (
                    "ssl._create_unverified_context".to_string(),
                    Severity::Error,
                    false
                ),
                (
                    "_create_unverified_context".to_string(),
                    Severity::Error,
                    false
                ),
            ]
        );
        let src = "import requests\nrequests.get(u, verify=False)\n";
        assert_eq!(
            findings("tests/test_api.py", src),
            [("verify=False".to_string(), Severity::Hint, true)]
        );
    }

    #[test]
    fn verify_true_or_variable_is_fine() {
        let src = "import requests\nrequests.get(u, verify=True)\nrequests.get(u, verify=settings.VERIFY)\nrequests.get(u, verify='/ca.pem')\n";
        assert!(findings("app/x.py", src).is_empty());
    }
}
