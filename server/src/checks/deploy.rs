//! What the rules on deployment files (compose, Dockerfile, shell entrypoints, Procfile,
//! requirements) share: how a file's deployment role sets a finding's severity, which values of a
//! secret-named variable are real secrets, and the fail-fast form a variable takes.

use crate::analysis::{secrets, Severity};
use crate::project::{Deployment, FileRole};

/// The severity a finding in this file gets: the rule's own in production files, a warning in
/// files that do not say where they run (`docker-compose.yml`, `.env`), none in development,
/// test and example files (local passwords and debug switches belong there).
pub fn severity_in(role: &FileRole, rule_severity: Severity) -> Option<Severity> {
    if role.example || role.test {
        return None;
    }
    match role.deployment {
        Deployment::Production => Some(rule_severity),
        Deployment::Unknown => Some(rule_severity.min(Severity::Warning)),
        Deployment::Development => None,
    }
}

/// [`severity_in`] with the rule's catalog severity.
pub fn severity_of(rule: &str, role: &FileRole) -> Option<Severity> {
    severity_in(role, crate::analysis::registry::meta(rule)?.severity)
}

/// The rule's catalog severity.
pub fn catalog_severity(rule: &str) -> Option<Severity> {
    crate::analysis::registry::meta(rule).map(|m| m.severity)
}

/// `${NAME:?NAME is required}`: compose and POSIX shells stop with this message when NAME is
/// unset or empty, the deployment-file twin of `os.environ["NAME"]`.
pub fn required(name: &str) -> String {
    format!("${{{name}:?{name} is required}}")
}

/// What is wrong with `value` as the literal value of the variable `name`, if anything: a secret
/// written into the file, or a URL with a password in it.
pub fn literal_secret(name: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Some(token) = secrets::known_token(value) {
        if !value.to_ascii_uppercase().contains("EXAMPLE") {
            return Some(format!("holds {token}"));
        }
        return None;
    }
    if secrets::url_password(value).is_some() {
        return Some("is a URL with a password in it".to_string());
    }
    if !secrets::is_secret_name(name) || secrets::is_switch_or_number(value) || is_path(value) {
        return None;
    }
    if weak_password(name, value, None) {
        return Some(format!("is the guessable `{value}`"));
    }
    if secrets::is_placeholder(value) {
        // `change-me` is still what the container runs with unless something overrides it.
        return Some(format!("is the placeholder `{value}`"));
    }
    Some("is a literal secret".to_string())
}

/// A file path (`/run/secrets/db`, `relay/credentials.json`, `./keys/jwt.pem`): where a secret
/// is read from, not the secret.
fn is_path(value: &str) -> bool {
    !value.contains(char::is_whitespace)
        && !value.contains("://")
        && (value.starts_with('/')
            || value.starts_with("./")
            || value.starts_with("~/")
            || (value.contains('/')
                && value
                    .rsplit('/')
                    .next()
                    .is_some_and(|last| last.contains('.') && !last.ends_with('.'))))
}

/// Passwords an attacker tries first: the vendor defaults, dictionary words, short digit runs,
/// and the account's own user name.
pub fn weak_password(name: &str, value: &str, user: Option<&str>) -> bool {
    if !secrets::is_secret_name(name) {
        return false;
    }
    let lower = value.trim().to_ascii_lowercase();
    if user.is_some_and(|u| !u.is_empty() && u.eq_ignore_ascii_case(&lower)) {
        return true;
    }
    const WEAK: &[&str] = &[
        "password",
        "passwd",
        "pass",
        "secret",
        "admin",
        "root",
        "postgres",
        "mysql",
        "redis",
        "rabbitmq",
        "guest",
        "test",
        "testing",
        "changeme",
        "change_me",
        "change-me",
        "default",
        "letmein",
        "qwerty",
        "welcome",
        "django",
        "user",
        "demo",
        "example",
        "12345",
        "123456",
        "1234567",
        "12345678",
        "123456789",
        "1234567890",
        "abc123",
        "password1",
        "password123",
        "secret123",
        "admin123",
        "root123",
        "toor",
        "pa55word",
        "p@ssw0rd",
        "passw0rd",
    ];
    WEAK.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values() {
        assert!(literal_secret("POSTGRES_PASSWORD", "postgres").is_some());
        assert!(literal_secret("SECRET_KEY", "k9#fT2!qLz8@wX4$mN7^pR1").is_some());
        assert!(literal_secret("DATABASE_URL", "postgres://app:Sup3r@db/app").is_some());
        assert!(literal_secret("DATABASE_URL", "postgres://app@db/app").is_none());
        assert!(literal_secret("LOG_LEVEL", "debug").is_none());
        assert!(literal_secret("PASSWORD_RESET_TIMEOUT", "3600").is_none());
        assert!(literal_secret("SECRET_KEY", "").is_none());
        assert!(literal_secret("RELAY_CREDENTIALS", "relay/credentials.json").is_none());
        assert!(literal_secret("DB_PASSWORD", "/run/secrets/db_password").is_none());
        assert!(weak_password("DB_PASSWORD", "app", Some("app")));
        assert!(!weak_password("DB_PASSWORD", "Xk2-9fQ", Some("app")));
    }
}
