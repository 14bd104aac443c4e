//! NET002 http-call-without-timeout: `requests` calls without `timeout=` (they can wait forever),
//! and `httpx` calls or clients that switch httpx's default timeout off with `timeout=None`.

use std::collections::HashSet;

use super::{arguments, http_calls, word_occurrences, CallKind, HttpCall, Library};
use crate::analysis::env_reads::imports_module;
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, Rule, Severity};
use crate::syntax::{python, FileKind};

pub struct HttpCallWithoutTimeout;

impl Rule for HttpCallWithoutTimeout {
    fn id(&self) -> &'static str {
        "NET002"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        // A module calls requests or httpx only after importing it.
        super::HTTP_MODULES.iter().any(|m| imports_module(text, m))
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let source = file.text;
        let calls = http_calls(py, source);
        let with_adapters = sessions_with_adapters(&calls, py, source);
        for call in &calls {
            if call
                .instance
                .as_ref()
                .is_some_and(|i| with_adapters.contains(i))
            {
                continue;
            }
            let Some(args) = arguments(call.call, source) else {
                continue; // `**kwargs`: the timeout may be in there
            };
            let timeout = args.keyword("timeout");
            let timeout_is_none = timeout
                .is_some_and(|(v, _)| python::literal(v, source) == Some(python::Literal::None));
            let (message, fix) = match (call.library, call.kind) {
                (Library::Requests, CallKind::ModuleRequest | CallKind::SessionRequest) => {
                    if timeout.is_some() && !timeout_is_none {
                        continue;
                    }
                    let message = format!(
                        "`{}(...)` without a timeout: requests waits forever by default, so a slow or dead server hangs this worker",
                        display(call)
                    );
                    let fix = match timeout {
                        Some((value, _)) => Fix {
                            title: "Set `timeout=10`".to_string(),
                            applicability: Applicability::Unsafe,
                            edits: vec![Edit::replace(value.byte_range(), "10")],
                        },
                        None => {
                            let (at, text) = args.append("timeout=10", source);
                            Fix {
                                title: "Add `timeout=10`".to_string(),
                                applicability: Applicability::Unsafe,
                                edits: vec![Edit::insert(at, text)],
                            }
                        }
                    };
                    (message, Some(fix))
                }
                (Library::Httpx, CallKind::ModuleRequest | CallKind::SessionRequest)
                | (Library::Httpx, CallKind::Constructor)
                    if timeout_is_none =>
                {
                    let (value, _) = timeout.expect("timeout_is_none implies a timeout argument");
                    let message = format!(
                        "`{}(..., timeout=None)` turns httpx's default timeout off: a slow or dead server hangs this worker",
                        display(call)
                    );
                    let fix = Fix {
                        title: "Set `timeout=10`".to_string(),
                        applicability: Applicability::Unsafe,
                        edits: vec![Edit::replace(value.byte_range(), "10")],
                    };
                    (message, Some(fix))
                }
                _ => continue,
            };
            let mut diagnostic =
                Diagnostic::new(self.id(), call.call.byte_range(), message).with_fix(fix);
            if file.role.development {
                diagnostic = diagnostic.with_severity(Severity::Hint);
            }
            out.push(diagnostic);
        }
    }
}

/// How the call reads in a message: `requests.get`, `session.get`.
fn display(call: &HttpCall) -> String {
    match (&call.instance, call.callee.rsplit_once('.')) {
        (Some(instance), Some((_, method))) => format!("{instance}.{method}"),
        _ => call.callee.clone(),
    }
}

/// Sessions with a transport adapter mounted (`s.mount("https://", TimeoutAdapter(...))`) other
/// than the plain `HTTPAdapter`: such adapters commonly add a default timeout.
fn sessions_with_adapters(
    calls: &[HttpCall],
    py: &crate::analysis::PythonFile,
    source: &str,
) -> HashSet<String> {
    let instances: HashSet<&String> = calls.iter().filter_map(|c| c.instance.as_ref()).collect();
    let mut found = HashSet::new();
    for name in instances {
        let pattern = format!("{name}.mount(");
        for at in word_occurrences(source, name) {
            if !source[at..].starts_with(&pattern) {
                continue;
            }
            let open = at + pattern.len() - 1;
            let Some(list) = py.ancestry.node_at(open, open + 1) else {
                continue;
            };
            let list = if list.kind() == "argument_list" {
                list
            } else {
                match py.ancestry.parent(list) {
                    Some(p) if p.kind() == "argument_list" => p,
                    _ => continue,
                }
            };
            let adapter = list.named_child(1);
            let plain = adapter.is_some_and(|a| {
                a.kind() == "call"
                    && a.child_by_field_id(python::fields().function)
                        .and_then(|f| py.names.qualify(f, source))
                        .is_some_and(|q| {
                            q == "requests.adapters.HTTPAdapter" || q == "requests.HTTPAdapter"
                        })
            });
            if !plain {
                found.insert(name.clone());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::findings_of;

    fn findings(path: &str, source: &str) -> Vec<String> {
        findings_of("NET002", path, source)
    }

    #[test]
    fn kwargs_splat_and_timeouts_are_not_reported() {
        let src = "import requests\nrequests.get(u, **kw)\nrequests.get(u, timeout=5)\nrequests.post(u, timeout=None)\n";
        assert_eq!(
            findings("app/client.py", src),
            ["requests.post(u, timeout=None)"]
        );
    }

    #[test]
    fn mounted_adapter_exempts_the_session() {
        let src = "import requests\ns = requests.Session()\ns.mount('https://', TimeoutAdapter(5))\ns.get(u)\nt = requests.Session()\nt.mount('https://', requests.adapters.HTTPAdapter(max_retries=3))\nt.get(u)\n";
        assert_eq!(findings("app/client.py", src), ["t.get(u)"]);
    }

    #[test]
    fn httpx_default_timeout_is_fine() {
        let src = "import httpx\nhttpx.get(u)\nc = httpx.Client()\nc.get(u)\nhttpx.AsyncClient(timeout=None)\n";
        assert_eq!(
            findings("app/client.py", src),
            ["httpx.AsyncClient(timeout=None)"]
        );
    }
}
