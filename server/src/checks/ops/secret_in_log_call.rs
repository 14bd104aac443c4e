//! OPS001 secret-in-log-call: a secret value (a name or attribute called `password`, `token`,
//! `api_key`, `client_secret`, ...) written by a logging call (`logger.info`, `logging.debug`,
//! structlog, `self.logger`, `print`) as an argument, a `%` argument, an f-string or `.format`
//! part, or a keyword argument. Names about a secret (`token_count`, `password_changed_at`,
//! `max_tokens`, `is_password_valid`) and masked values (`mask(token)`, `token[:4]`,
//! `len(token)`, `token is None`) are not reported.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use crate::analysis::secrets::{is_secret_words, name_words};
use crate::analysis::{Diagnostic, File, PythonFile, Rule, Severity};
use crate::syntax::{python, FileKind};

pub struct SecretInLogCall;

/// Fragments of secret-like names; each hit is then checked as a whole identifier.
static SECRET_FRAGMENT: LazyLock<Regex> = LazyLock::new(|| {
    // `\wpass\b` is `DB_PASS` / `smtpPass` (PASS only names a secret after another word), and
    // leaves out the `pass` statement that nearly every module has.
    Regex::new(
        r"(?i)passw|passphrase|\wpass\b|pwd|secret|token|api_?key|credential|private_?key|jwt",
    )
    .expect("valid secret fragment regex")
});

/// A call that may write to a log or stdout: `print(`, `<receiver>.<log method>(`, or a logging
/// function imported by name.
static LOG_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\bprint\s*\(|\.\s*(debug|info|warning|warn|error|exception|critical|fatal|log|msg)\s*\(|from\s+(logging|structlog)\s+import",
    )
    .expect("valid log call regex")
});

const LOG_METHODS: &[&str] = &[
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
    "critical",
    "fatal",
    "log",
    "msg",
];

/// Words after the secret word that still name the secret's value: `token_str`, `raw_password`
/// is before it and fine anyway.
const VALUE_WORDS: &[&str] = &[
    "VALUE",
    "STR",
    "STRING",
    "RAW",
    "PLAIN",
    "PLAINTEXT",
    "TEXT",
    "B64",
    "BASE64",
    "BYTES",
    "DATA",
];

/// Words before TOKEN that make it a pagination cursor, a text token of a language model or a
/// cancellation handle rather than a credential.
const NOT_CREDENTIAL_TOKEN: &[&str] = &[
    "NEXT",
    "PREV",
    "PREVIOUS",
    "PAGE",
    "PAGINATION",
    "CONTINUATION",
    "CURSOR",
    "SYNC",
    "CANCELLATION",
    "CANCEL",
    "STOP",
    "START",
    "END",
    "EOS",
    "BOS",
    "PAD",
    "UNK",
    "SEP",
    "MASK",
    "CLS",
    "SPECIAL",
    "INPUT",
    "OUTPUT",
    "PROMPT",
    "COMPLETION",
    "REASONING",
    "CACHED",
    "LAST",
    "FIRST",
    "NEW",
    "STREAM",
    "STREAMING",
    "CHUNK",
    "DELTA",
    "LEXER",
    "PARSER",
    "SYNTAX",
    "RESUME",
    "RESERVATION",
    "LEASE",
    "LOCK",
    "SLOT",
    "IDEMPOTENCY",
    "CONCURRENCY",
    "CORRELATION",
    "TRACE",
];

/// Words before the secret word that say the value is derived from it, not the secret itself.
const NOT_THE_VALUE: &[&str] = &[
    "HASH",
    "HASHED",
    "DIGEST",
    "FINGERPRINT",
    "MASKED",
    "REDACTED",
    "ENCRYPTED",
    "OBFUSCATED",
    "SANITIZED",
];

/// A leading verb makes the name an action or a route about the secret.
const ACTION_WORDS: &[&str] = &[
    "UPDATE", "CREATE", "DELETE", "GET", "SET", "CHANGE", "RESET", "VERIFY", "VALIDATE", "CHECK",
    "GENERATE", "REVOKE", "ROTATE", "LIST", "FORGOT", "REQUEST",
];

/// Is `name` the name of a secret value (not of something about a secret)?
fn names_secret_value(name: &str) -> bool {
    let words = name_words(name);
    if !is_secret_words(&words) {
        return false;
    }
    let Some(last_secret) = words.iter().rposition(|w| {
        matches!(
            w.as_str(),
            "SECRET"
                | "TOKEN"
                | "PASSWORD"
                | "PASSWD"
                | "PWD"
                | "PASSPHRASE"
                | "CREDENTIAL"
                | "CREDENTIALS"
                | "APIKEY"
                | "JWT"
                | "PRIVATEKEY"
                | "KEY"
        )
    }) else {
        // DSN: a URL that carries a password only sometimes; a trailing PASS is as often a
        // step (`MAX_EXPERIMENTS_PER_PASS`) as a password.
        return false;
    };
    if words[..last_secret]
        .iter()
        .any(|w| NOT_THE_VALUE.contains(&w.as_str()))
        || words
            .first()
            .is_some_and(|w| ACTION_WORDS.contains(&w.as_str()))
    {
        return false; // `hashed_token`, `UPDATE_USER_PASSWORD` (a route)
    }
    if !words[last_secret + 1..]
        .iter()
        .all(|w| VALUE_WORDS.contains(&w.as_str()))
    {
        return false; // `password_changed_at`, `token_expires`, `secret_name`
    }
    if words[last_secret] == "TOKEN"
        && words[..last_secret]
            .iter()
            .any(|w| NOT_CREDENTIAL_TOKEN.contains(&w.as_str()))
    {
        return false;
    }
    true
}

impl Rule for SecretInLogCall {
    fn id(&self) -> &'static str {
        "OPS001"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        LOG_CALL.is_match(text) && SECRET_FRAGMENT.is_match(text)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let source = file.text;
        let mut loggers: Option<HashSet<String>> = None;
        let mut seen: HashSet<usize> = HashSet::new();
        let mut reported: HashSet<usize> = HashSet::new();
        for hit in SECRET_FRAGMENT.find_iter(source) {
            let (start, end) = identifier_around(source, hit.start(), hit.end());
            let Some(found) = py.ancestry.node_at(start, end) else {
                continue;
            };
            // A name, or a string key naming the secret: `row["secret"]`, `data.get("password")`.
            let identifier = match found.kind() {
                "identifier" if found.byte_range() == (start..end) => found,
                "string_content" => match secret_lookup(py, source, found) {
                    Some(lookup) => lookup,
                    None => continue,
                },
                _ => continue,
            };
            if !seen.insert(identifier.id()) {
                continue;
            }
            let name = &source[start..end];
            if !names_secret_value(name) {
                continue;
            }
            let Some((value, call, argument)) = logged_value(py, source, identifier) else {
                continue;
            };
            let loggers = loggers.get_or_insert_with(|| logger_names(py, source));
            let Some(how) = log_call(py, source, call, loggers) else {
                continue;
            };
            // `password=password` is one finding, not one per spelling.
            let key = if argument.kind() == "keyword_argument" {
                argument.id()
            } else {
                value.id()
            };
            if !reported.insert(key) {
                continue;
            }
            let shown = python::text(value, source);
            let shown = if shown.len() > 40 || shown.contains('\n') {
                name
            } else {
                shown
            };
            let message = format!(
                "`{shown}` is written out by `{how}`: logs are kept, shipped and read far more widely than the secret may be; log a masked value or leave it out"
            );
            let mut diagnostic = Diagnostic::new(self.id(), value.byte_range(), message);
            if how == "print" && is_command_line_module(file.path) {
                // A command printing to the operator's terminal (a token it just created) is
                // often the point; a server printing to its log stream is not.
                diagnostic = diagnostic.with_severity(Severity::Info);
            }
            if file.role.development {
                diagnostic = diagnostic.with_severity(Severity::Hint);
            }
            out.push(diagnostic);
        }
    }
}

/// A command-line entry point: Django management commands, `cli/` packages, `cli.py`,
/// `__main__.py`, `scripts/`.
fn is_command_line_module(path: &std::path::Path) -> bool {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    matches!(stem, "cli" | "__main__" | "manage")
        || path.components().any(|c| {
            matches!(
                c.as_os_str().to_str(),
                Some("commands" | "cli" | "scripts" | "bin")
            )
        })
}

/// The identifier-like run of text around a regex hit.
fn identifier_around(source: &str, start: usize, end: usize) -> (usize, usize) {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = source.as_bytes();
    let mut s = start;
    while s > 0 && is_ident(bytes[s - 1]) {
        s -= 1;
    }
    let mut e = end;
    while e < bytes.len() && is_ident(bytes[e]) {
        e += 1;
    }
    (s, e)
}

/// Methods whose result still is the secret (`token.strip()`).
const PRESERVING_METHODS: &[&str] = &[
    "strip",
    "decode",
    "encode",
    "lower",
    "upper",
    "get_secret_value",
    "hex",
];

/// Attributes of a secret-named object that hold its value (DRF `token.key`).
const VALUE_MEMBERS: &[&str] = &["key", "value", "raw", "plaintext"];

/// The lookup a string names the secret in: `row["secret"]` or `data.get("password")`, when the
/// whole string is a secret name.
fn secret_lookup<'t>(py: &PythonFile<'t>, source: &str, content: Node<'t>) -> Option<Node<'t>> {
    let f = python::fields();
    let string = py.ancestry.parent(content)?;
    if string.kind() != "string"
        || python::string_value(string, source)? != python::text(content, source)
    {
        return None;
    }
    let parent = py.ancestry.parent(string)?;
    match parent.kind() {
        "subscript" if python::is_field(parent, f.subscript, string) => Some(parent),
        "argument_list" => {
            let call = py.ancestry.parent(parent)?;
            let function = call.child_by_field_id(f.function)?;
            let is_get = function.kind() == "attribute"
                && function
                    .child_by_field_id(f.attribute)
                    .is_some_and(|a| python::text(a, source) == "get")
                && parent.named_child(0).is_some_and(|a| a.id() == string.id());
            is_get.then_some(call)
        }
        _ => None,
    }
}

/// Calls that print their argument in full.
const PRINTING_CALLS: &[&str] = &["str", "repr", "format", "f"];

/// The expression holding the secret, the call it is an argument of and that argument, when the secret reaches
/// the call's arguments unmasked: through f-strings, `%`, `+`, `.format`, tuples, dicts,
/// keyword arguments and `str()`.
fn logged_value<'t>(
    py: &PythonFile<'t>,
    source: &str,
    identifier: Node<'t>,
) -> Option<(Node<'t>, Node<'t>, Node<'t>)> {
    let f = python::fields();
    let parent = py.ancestry.parent(identifier)?;
    let mut node = match parent.kind() {
        // `logger.info("login", password=pw)`: the keyword names what is logged.
        "keyword_argument" if python::is_field(parent, f.name, identifier) => {
            let value = crate::checks::inj::unparenthesize(parent.child_by_field_id(f.value)?);
            if python::literal(value, source).is_some()
                || !matches!(
                    value.kind(),
                    "identifier" | "attribute" | "subscript" | "string" | "concatenated_string"
                )
            {
                return None;
            }
            let call = py.ancestry.parent(py.ancestry.parent(parent)?)?;
            return (call.kind() == "call").then_some((parent, call, parent));
        }
        "attribute" if python::is_field(parent, f.attribute, identifier) => {
            let object_is_value = parent
                .child_by_field_id(f.object)
                .is_some_and(|o| !matches!(o.kind(), "call"));
            if !object_is_value {
                return None;
            }
            parent
        }
        _ => identifier,
    };
    let mut value = node;
    // `token.strip()` and `token.key` are still the token; `token.user_id` is something about it.
    if let Some(attribute) = py
        .ancestry
        .parent(node)
        .filter(|p| p.kind() == "attribute" && python::is_field(*p, f.object, node))
    {
        let member = python::text(attribute.child_by_field_id(f.attribute)?, source);
        let call = py.ancestry.called(attribute);
        match call {
            Some(call) if PRESERVING_METHODS.contains(&member) => node = call,
            None if VALUE_MEMBERS.contains(&member) => {
                node = attribute;
                value = attribute;
            }
            _ => return None,
        }
    }
    for _ in 0..12 {
        let parent = py.ancestry.parent(node)?;
        match parent.kind() {
            "interpolation" => {
                if !is_field_first(parent, node) {
                    return None; // a format spec
                }
                node = py.ancestry.parent(parent)?;
            }
            "concatenated_string"
            | "parenthesized_expression"
            | "tuple"
            | "list"
            | "set"
            | "expression_list"
            | "dictionary" => node = parent,
            "pair" if python::is_field(parent, f.value, node) => node = parent,
            "binary_operator" => {
                let operator = python::text(parent.child_by_field_id(f.operator)?, source);
                if operator != "%" && operator != "+" {
                    return None;
                }
                node = parent;
            }
            "keyword_argument" if python::is_field(parent, f.value, node) => node = parent,
            "conditional_expression" => {
                // `a if condition else b`: the condition is not printed.
                if parent.named_child(1).is_some_and(|c| c.id() == node.id()) {
                    return None;
                }
                node = parent;
            }
            "argument_list" => {
                let call = py.ancestry.parent(parent)?;
                if call.kind() != "call" {
                    return None;
                }
                let function = call.child_by_field_id(f.function)?;
                let name = match function.kind() {
                    "identifier" => python::text(function, source),
                    "attribute" => python::text(function.child_by_field_id(f.attribute)?, source),
                    _ => return None,
                };
                if PRINTING_CALLS.contains(&name) {
                    node = call; // `str(token)`, `"...{}".format(token)`
                    continue;
                }
                return Some((value, call, node));
            }
            _ => return None,
        }
    }
    None
}

fn is_field_first(parent: Node, child: Node) -> bool {
    parent.named_child(0).is_some_and(|c| c.id() == child.id())
}

/// Names bound to a logger in this module: `audit = logging.getLogger("audit")`,
/// `log = structlog.get_logger()`, `lgr = get_task_logger(__name__)`.
fn logger_names(py: &PythonFile, source: &str) -> HashSet<String> {
    let f = python::fields();
    let mut out = HashSet::new();
    for factory in [
        "getLogger",
        "get_logger",
        "get_task_logger",
        "getChild",
        "bind",
    ] {
        for identifier in py.ancestry.identifiers(source, factory) {
            let mut node = identifier;
            // Climb to the call, then to an assignment of it.
            for _ in 0..4 {
                let Some(parent) = py.ancestry.parent(node) else {
                    break;
                };
                if parent.kind() == "assignment" {
                    if let Some(left) = parent.child_by_field_id(f.left) {
                        let target = match left.kind() {
                            "identifier" => Some(left),
                            "attribute" => left.child_by_field_id(f.attribute),
                            _ => None,
                        };
                        if let Some(target) = target {
                            out.insert(python::text(target, source).to_string());
                        }
                    }
                    break;
                }
                node = parent;
            }
        }
    }
    out
}

/// A receiver that is a logger by its conventional name.
fn is_logger_name(name: &str) -> bool {
    matches!(
        name,
        "log" | "_log" | "LOG" | "_LOG" | "logging" | "structlog"
    ) || name_words(name).last().is_some_and(|w| w == "LOGGER")
}

/// How the call reads in a message when it writes to a log or to stdout: `logger.info`,
/// `print`.
fn log_call(
    py: &PythonFile,
    source: &str,
    call: Node,
    loggers: &HashSet<String>,
) -> Option<String> {
    let f = python::fields();
    let function = call.child_by_field_id(f.function)?;
    match function.kind() {
        "identifier" => {
            let name = python::text(function, source);
            if name == "print" {
                return Some("print".to_string());
            }
            let qualified = py.names.get(name)?;
            let (module, method) = qualified.rsplit_once('.')?;
            (matches!(module, "logging" | "structlog") && LOG_METHODS.contains(&method))
                .then(|| name.to_string())
        }
        "attribute" => {
            let method = python::text(function.child_by_field_id(f.attribute)?, source);
            if !LOG_METHODS.contains(&method) {
                return None;
            }
            let receiver = function.child_by_field_id(f.object)?;
            let is_logger = match receiver.kind() {
                "identifier" => {
                    let name = python::text(receiver, source);
                    is_logger_name(name)
                        || loggers.contains(name)
                        || py.names.get(name).is_some_and(|q| {
                            q == "logging" || q == "structlog" || q.ends_with(".logger")
                        })
                }
                "attribute" => receiver
                    .child_by_field_id(f.attribute)
                    .map(|a| python::text(a, source))
                    .is_some_and(|a| is_logger_name(a) || loggers.contains(a)),
                "call" => py
                    .names
                    .qualify(receiver, source)
                    .is_some_and(|q| q.starts_with("logging.") || q.starts_with("structlog.")),
                _ => false,
            };
            let shown = python::text(function, source);
            is_logger.then(|| shown.split_whitespace().collect())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::names_secret_value;
    use crate::analysis::testing::findings_of;

    fn findings(source: &str) -> Vec<String> {
        findings_of("OPS001", "app/services.py", source)
    }

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "db_password",
            "access_token",
            "api_key",
            "apiKey",
            "client_secret",
            "SECRET_KEY",
            "token_str",
            "private_key",
        ] {
            assert!(names_secret_value(name), "{name}");
        }
        for name in [
            "token_count",
            "password_changed_at",
            "tokens_used",
            "max_tokens",
            "token_type",
            "is_password_valid",
            "next_page_token",
            "secret_name",
            "sentry_dsn",
            "prompt_tokens",
            "MAX_EXPERIMENTS_PER_PASS",
            "UPDATE_USER_PASSWORD",
            "hashed_token",
            "reservation_token",
        ] {
            assert!(!names_secret_value(name), "{name}");
        }
    }

    #[test]
    fn masked_values_are_not_reported() {
        let src = "import logging\nlogger = logging.getLogger(__name__)\nlogger.info('t %s', mask(token))\nlogger.info(f'{token[:4]}')\nlogger.info('n=%d', len(token))\nlogger.info(f'{token is None}')\nlogger.info('x', extra={'user': user.id})\n";
        assert!(findings(src).is_empty());
    }

    #[test]
    fn every_way_into_the_message_is_found() {
        let src = "import logging\nimport structlog\naudit = logging.getLogger('audit')\nslog = structlog.get_logger()\ndef f(user, token, api_key, password):\n    audit.info(f'user {user} token {token}')\n    logging.debug('pw %s' % user.password)\n    slog.info('login', password=password)\n    print('key: {}'.format(api_key))\n    self.logger.warning('Token: ' + token.strip())\n    log.error(f\"dup {row['secret']} {data.get('password')} {token.key}\")\n";
        assert_eq!(
            findings(src),
            [
                "token",
                "user.password",
                "password=password",
                "api_key",
                "token",
                "row['secret']",
                "data.get('password')",
                "token.key"
            ]
        );
    }
}
