//! SEC007 credentials-in-url-literal: a connection URL with a password in a Python string
//! literal (`postgres://app:s3cret@db/app`, `redis://:pw@cache:6379/0`, `amqp://...`,
//! `mongodb+srv://...`, `https://user:token@host`). Placeholders (`${DB_PASSWORD}`, `<password>`,
//! `{password}`, `***`, a password that is just the word `password`) and environment-read
//! defaults (SEC001) are not findings.

use std::sync::LazyLock;

use regex::Regex;

use super::literal_sites::{self, Scope, TargetKind};
use crate::analysis::{secrets, Diagnostic, File, Rule, Severity};
use crate::syntax::python;
use crate::syntax::FileKind;

pub struct CredentialsInUrlLiteral;

/// `scheme[+driver]://user:password@` for the schemes services are reached by.
static CREDENTIAL_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b(postgres(?:ql)?|mysql|mariadb|mssql|oracle|redis|rediss|amqps?|mongodb(?:\+srv)?|https?|ftp|smtp)(?:\+[a-z0-9]+)?://([^:/@\s"'{}]*):([^@\s"'/]+)@([^\s"'/:?#]*)"#,
    )
    .expect("valid regex")
});

/// Passwords that only show where a password goes: the usual words of documentation samples.
const SAMPLE_PASSWORDS: &[&str] = &[
    "password",
    "pass",
    "passwd",
    "pwd",
    "pw",
    "secret",
    "mypassword",
    "my-password",
    "my_password",
    "yourpassword",
    "your-password",
    "your_password",
    "token",
    "my-token",
    "mytoken",
    "apikey",
    "api-key",
    "api_key",
];

impl Rule for CredentialsInUrlLiteral {
    fn id(&self) -> &'static str {
        "SEC007"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("://") && CREDENTIAL_URL.is_match(text)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let mut seen = Vec::new();
        for m in CREDENTIAL_URL.captures_iter(file.text) {
            let (Some(whole), Some(user), Some(password), Some(host)) =
                (m.get(0), m.get(2), m.get(3), m.get(4))
            else {
                continue;
            };
            let password = password.as_str();
            if is_sample_password(user.as_str(), password) || host.as_str().is_empty() {
                continue;
            }
            let Some(string) = literal_sites::string_at(py, whole.start()) else {
                continue;
            };
            // The password must be literal text, not an f-string interpolation.
            if literal_sites::string_at(py, whole.end() - 1).map(|s| s.id()) != Some(string.id())
                || interpolated(string, whole.start()..whole.end())
            {
                continue;
            }
            if seen.contains(&string.id()) {
                continue;
            }
            seen.push(string.id());
            let value_node = literal_sites::value_expression(py, string);
            if literal_sites::is_documentation(py, value_node)
                || literal_sites::is_env_default(py, string.start_byte())
            {
                continue;
            }
            // A DSN with a secret key is SEC005's.
            if python::string_value(string, file.text).is_some_and(|v| secrets::is_sentry_dsn(&v)) {
                continue;
            }
            let target = literal_sites::target_of(py, file.text, value_node);
            let subject = match &target {
                Some(t) if t.kind != TargetKind::Keyword => format!("`{}` is a URL", t.name),
                Some(t) => format!("`{}=` gets a URL", t.name),
                None => "A URL".to_string(),
            };
            let message = format!(
                "{subject} with a password in it (`{}:***@{}`): the credential is in the source for anyone who can read it, and is the same in every environment; read the URL from the environment",
                user.as_str(),
                host.as_str()
            );
            let fixable = target.as_ref().filter(|t| {
                t.kind == TargetKind::Name
                    && t.scope != Scope::Function
                    && t.name.chars().all(|c| !c.is_ascii_lowercase())
            });
            let fix = fixable
                .map(|t| literal_sites::environ_fix(py, file.text, t.value, &t.env_var(), false));
            let mut diagnostic =
                Diagnostic::new(self.id(), string.byte_range(), message).with_fix(fix);
            if file.role.development || file.role.example {
                // Tests, examples and docs connect to throwaway services.
                diagnostic = diagnostic.with_severity(Severity::Hint);
            } else if file.role.production_settings() {
                diagnostic = diagnostic.with_severity(Severity::Error);
            }
            out.push(diagnostic);
        }
    }
}

/// A password that is a placeholder or a documentation word (`user:password@host`,
/// `username:token@`), not a credential.
fn is_sample_password(user: &str, password: &str) -> bool {
    let lower = password.to_ascii_lowercase();
    secrets::is_placeholder(password)
        || password.starts_with('$')
        || password.starts_with('%')
        || password.contains(['{', '}', '<', '>', '*'])
        || SAMPLE_PASSWORDS.contains(&lower.as_str())
        // `user:secret@`, `username:hunter@`: a sample account in prose.
        || matches!(user.to_ascii_lowercase().as_str(), "user" | "username" | "<user>")
            && password.chars().all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_')
}

/// Does `range` overlap an f-string interpolation of `string`?
fn interpolated(string: tree_sitter::Node, range: std::ops::Range<usize>) -> bool {
    let mut cursor = string.walk();
    let found = string.children(&mut cursor).any(|c| {
        c.kind() == "interpolation" && c.start_byte() < range.end && range.start < c.end_byte()
    });
    found
}
