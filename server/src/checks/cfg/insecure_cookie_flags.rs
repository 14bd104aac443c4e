//! CFG003 insecure-cookie-flags: `SESSION_COOKIE_SECURE = False`, `CSRF_COOKIE_SECURE = False`,
//! `SESSION_COOKIE_HTTPONLY = False` at module level of a module that is not development, test or
//! a template (Django settings, Flask `config.py`).

use super::shared;
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, Rule};
use crate::syntax::python::Literal;
use crate::syntax::FileKind;

pub struct InsecureCookieFlags;

const FLAGS: &[(&str, &str)] = &[
    (
        "SESSION_COOKIE_SECURE",
        "the session cookie is also sent over plain http, where anyone on the network can take over the session",
    ),
    (
        "CSRF_COOKIE_SECURE",
        "the CSRF cookie is also sent over plain http",
    ),
    (
        "SESSION_COOKIE_HTTPONLY",
        "scripts can read the session cookie, so any XSS steals sessions",
    ),
];

impl Rule for InsecureCookieFlags {
    fn id(&self) -> &'static str {
        "CFG003"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("_COOKIE_")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        // Any module: at module level these names are configuration (Django settings, a Flask
        // `config.py`), whatever the file is called.
        if file.role.development || file.role.example {
            return;
        }
        let assignments = shared::module_assignments(
            py,
            file.text,
            &FLAGS.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        );
        for (i, a) in assignments.iter().enumerate() {
            let Some((name, why)) = FLAGS.iter().find(|(n, _)| *n == a.name) else {
                continue;
            };
            if a.operator != "="
                || !shared::is_literal(a.value, file.text, &Literal::Bool(false))
                || shared::overridden_later(file, &assignments, i)
            {
                continue;
            }
            out.push(
                Diagnostic::new(
                    self.id(),
                    a.statement.byte_range(),
                    format!("`{name} = False`: {why}"),
                )
                .with_fix(Some(Fix {
                    title: format!("Set {name} to True"),
                    applicability: Applicability::Unsafe,
                    edits: vec![Edit::replace(a.value.byte_range(), "True")],
                })),
            );
        }
    }
}
