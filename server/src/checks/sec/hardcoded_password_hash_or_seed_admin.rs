//! SEC006 hardcoded-password-hash-or-seed-admin: a password hash (bcrypt, argon2, Django PBKDF2)
//! in a string literal, or SQL that inserts a user row with a literal password
//! (`INSERT INTO users (email, password_hash) VALUES ('admin@x', '$2b$...')`). Test modules,
//! templates and docs are not checked: hashing tests and tutorials are full of them.

use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::literal_sites;
use crate::analysis::{secrets, Diagnostic, File, Rule};
use crate::syntax::python;
use crate::syntax::FileKind;

pub struct HardcodedPasswordHashOrSeedAdmin;

/// Where a hash can start.
static HASH_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$2[abxy]?\$\d{2}\$|\$argon2(?:id|i|d)\$|pbkdf2_sha(?:1|256|512)\$\d")
        .expect("valid regex")
});

/// `INSERT INTO <table> (<columns>) VALUES (<values>)`.
static INSERT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?is)\binsert\s+into\s+[`"\[]?(?:\w+[`"\]]?\.[`"\[]?)?(\w+)[`"\]]?\s*\(([^()]*)\)\s*values\s*\(((?:[^()']|'[^']*'|\([^()]*\))*)\)"#,
    )
    .expect("valid regex")
});

const USER_TABLE_WORDS: &[&str] = &[
    "user",
    "users",
    "account",
    "accounts",
    "admin",
    "admins",
    "member",
    "members",
    "staff",
    "auth",
    "login",
    "logins",
    "operator",
    "operators",
    "customer",
    "customers",
];

impl Rule for HardcodedPasswordHashOrSeedAdmin {
    fn id(&self) -> &'static str {
        "SEC006"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        HASH_START.is_match(text)
            || (text.contains("INSERT") || text.contains("insert"))
                && (text.contains("pass") || text.contains("PASS"))
                && INSERT.is_match(text)
            || literal_sites::ACCOUNT_PASSWORD_CALLS
                .iter()
                .any(|(method, _)| text.contains(method))
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if file.role.development || file.role.example {
            return;
        }
        let mut reported: Vec<usize> = Vec::new();
        let mut report = |string: Node, message: String| {
            if reported.contains(&string.id()) {
                return;
            }
            reported.push(string.id());
            out.push(Diagnostic::new(self.id(), string.byte_range(), message));
        };
        for m in INSERT.captures_iter(file.text) {
            let (Some(whole), Some(table), Some(columns), Some(values)) =
                (m.get(0), m.get(1), m.get(2), m.get(3))
            else {
                continue;
            };
            let table = table.as_str();
            if !secrets::name_words(table)
                .iter()
                .any(|w| USER_TABLE_WORDS.contains(&w.to_ascii_lowercase().as_str()))
            {
                continue;
            }
            let Some(column) = split_sql_list(columns.as_str())
                .iter()
                .position(|c| is_password_column(c))
            else {
                continue;
            };
            let values = split_sql_list(values.as_str());
            let Some(value) = values.get(column) else {
                continue;
            };
            // `'...'` is a literal; `%s`, `?`, `:password`, `$1` and `{}` are parameters.
            let literal = value.len() > 2 && value.starts_with('\'') && value.ends_with('\'');
            if !literal || secrets::is_placeholder(&value[1..value.len() - 1]) {
                continue;
            }
            let Some(string) = literal_sites::string_at(py, whole.start()) else {
                continue;
            };
            if literal_sites::is_documentation(py, literal_sites::value_expression(py, string)) {
                continue;
            }
            report(
                string,
                format!("SQL seeds a `{table}` row with a literal password: every deployment gets the same account and password, known to anyone with the source; create the first admin at deploy time from a secret"),
            );
        }
        for (method, value) in literal_sites::account_password_arguments(py, file.text) {
            if value.kind() != "string" {
                continue;
            }
            let Some(password) = python::string_value(value, file.text) else {
                continue;
            };
            // `"changeme"` is still the password the account gets; `<password>` and `${VAR}`
            // are substituted before the code runs.
            if password.trim().is_empty() || password.starts_with(['<', '$', '{']) {
                continue;
            }
            report(
                value,
                format!("`{method}` is given a literal password: every installation gets the same account with a password anyone with the source knows; read it from a secret at deploy time (`createsuperuser --noinput` reads `DJANGO_SUPERUSER_PASSWORD`)"),
            );
        }
        for m in HASH_START.find_iter(file.text) {
            let Some(string) = literal_sites::string_at(py, m.start()) else {
                continue;
            };
            let value = python::string_value(string, file.text)
                .unwrap_or_else(|| python::text(string, file.text).to_string());
            let Some((what, _)) = secrets::password_hash(&value) else {
                continue;
            };
            let value_node = literal_sites::value_expression(py, string);
            if literal_sites::is_documentation(py, value_node) {
                continue;
            }
            let stored = literal_sites::target_of(py, file.text, value_node)
                .map(|t| format!(" in `{}`", t.name))
                .unwrap_or_default();
            report(
                string,
                format!("{} of a password is hard-coded{stored}: whoever knows the password behind it (often a default like `admin`) can log in on every installation, and the hash can be cracked offline; create accounts at deploy time from a secret instead", capitalise(what)),
            );
        }
    }
}

fn capitalise(what: &str) -> String {
    let mut chars = what.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn is_password_column(column: &str) -> bool {
    let words = secrets::name_words(column);
    words
        .iter()
        .any(|w| w.starts_with("PASSW") || w == "PWD" || w == "PASSHASH")
        && !words.iter().any(|w| {
            matches!(
                w.as_str(),
                "RESET" | "CHANGED" | "EXPIRES" | "EXPIRY" | "UPDATED" | "AT" | "DATE" | "SET"
            )
        })
}

/// Items of a SQL column or value list, split at top-level commas (quotes and parentheses kept).
fn split_sql_list(list: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut quoted = false;
    for c in list.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                items.push(
                    current
                        .trim()
                        .trim_matches(['"', '`', '[', ']'])
                        .to_string(),
                );
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(
        current
            .trim()
            .trim_matches(['"', '`', '[', ']'])
            .to_string(),
    );
    items
}
