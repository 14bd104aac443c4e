//! SEC009 hardcoded-secret-literal: a secret given by name a literal value: `SECRET_KEY = "..."`,
//! `app.secret_key = "..."`, `app.config["JWT_SECRET"] = "..."`, `connect(password="...")`,
//! `{"PASSWORD": "..."}`. The name must be secret-like (`secrets::is_secret_name`: not
//! `PASSWORD_RESET_TIMEOUT`, `TOKEN_URL` or `api_key_header`) and the value a credential, not a
//! placeholder, a header or setting name, a path, a URL, a number or a message. Test and
//! development modules and templates are not checked.

use std::sync::LazyLock;

use regex::Regex;

use super::literal_sites::{self, Scope, Target, TargetKind};
use crate::analysis::{secrets, Diagnostic, File, Rule, Severity};
use crate::checks::cfg::shared;
use crate::syntax::python;
use crate::syntax::FileKind;

pub struct HardcodedSecretLiteral;

/// A name followed by a string literal it is assigned or passed: `NAME = "`, `NAME: str = "`,
/// `obj.name = "`, `name="` (keyword), `["NAME"] = "`, `"NAME": "`. The name is group 1, 2 or 3.
static NAMED_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:\b([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=\n]{1,60})?=|\[\s*["']([A-Za-z_][A-Za-z0-9_.-]*)["']\s*\]\s*=|["']([A-Za-z_][A-Za-z0-9_.-]*)["']\s*:)\s*[rRuU]?["']"#,
    )
    .expect("valid regex")
});

/// Cheap text test: a secret word somewhere.
static SECRET_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)secret|passw|pwd|token|_key|apikey|jwt|credential|passphrase|_pass\b")
        .expect("valid regex")
});

/// Header names (`X-API-Key`, `Authorization`) and auth schemes are what a secret is sent
/// under, not the secret.
static HEADER_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+|(?i:authorization|bearer|basic|token|cookie|api[-_]?key))$")
        .expect("valid regex")
});

/// `SECRET_KEY`, `DJANGO_SECRET_KEY`: the name of a setting or an environment variable.
static SETTING_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$|^[A-Z]+$").expect("valid regex"));

/// Format and template strings: `{}`, `{name}`, `%s`, `%(name)s`, `{{ var }}`, `$VAR`.
static TEMPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{[A-Za-z0-9_.\[\]]*\}|%\(?[A-Za-z_]*\)?[sdr]|\$\{|\{\{").expect("valid regex")
});

/// `django.contrib.auth.hashers.PBKDF2PasswordHasher`, `gen_ai.usage.input_tokens`.
static DOTTED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*(?:[.:][A-Za-z_][A-Za-z0-9_-]*)+$").expect("valid regex")
});

/// `__not_connected__`, `__JWT_PROXY_ADMIN__`: marker values compared by identity.
static SENTINEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^_{1,2}[A-Za-z0-9_]+_{1,2}$|^<[^>]*>$").expect("valid regex"));

/// Mostly words joined by separators (`m2m-client-credentials`, `per-request-header`): an
/// identifier, however random its letters look to an entropy measure.
fn is_wordy(value: &str) -> bool {
    let parts: Vec<&str> = value.split(['-', '_', '.', ':']).collect();
    let words = parts
        .iter()
        .filter(|p| p.len() >= 3 && p.chars().all(|c| c.is_ascii_alphabetic()))
        .count();
    parts.len() >= 2 && words * 2 >= parts.len()
}

/// A word or words: `access_token`, `ui-token`, `refresh`.
static PLAIN_WORDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z]+(?:[-_ ][A-Za-z]+)*$").expect("valid regex"));

/// How sure the value is a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    /// A word or words (`admin`, `secret`, `ui-token`): a credential only where the context
    /// says so (a configuration module).
    Word,
    /// Letters mixed with digits or symbols (`hunter2`, `P@ssw0rd`, `admin123`).
    Weak,
    /// Random-looking key material or Django's `django-insecure-` key.
    Strong,
}

impl Rule for HardcodedSecretLiteral {
    fn id(&self) -> &'static str {
        "SEC009"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        // Most modules mention a token or a key somewhere; only those that give a secret-named
        // target a string literal (or call jwt) need a parse.
        SECRET_WORD.is_match(text)
            && (text.contains("jwt")
                || NAMED_LITERAL.captures_iter(text).any(|m| {
                    m.get(1)
                        .or_else(|| m.get(2))
                        .or_else(|| m.get(3))
                        .is_some_and(|name| {
                            secrets::is_secret_name(name.as_str())
                                && !extra_descriptor(name.as_str())
                        })
                }))
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if file.role.development || file.role.example {
            // Test fixtures and example settings are full of throwaway secrets; reporting them
            // is what makes name-based secret rules noisy.
            return;
        }
        let configuration = is_configuration_module(file);
        // Passwords given to `create_user` / `create_superuser` are SEC006's seed accounts.
        let mut seen: Vec<usize> = literal_sites::account_password_arguments(py, file.text)
            .iter()
            .map(|(_, value)| value.id())
            .collect();
        for m in NAMED_LITERAL.captures_iter(file.text) {
            let Some(name) = m.get(1).or_else(|| m.get(2)).or_else(|| m.get(3)) else {
                continue;
            };
            if !secrets::is_secret_name(name.as_str()) || extra_descriptor(name.as_str()) {
                continue;
            }
            let Some(whole) = m.get(0) else { continue };
            let Some(string) = literal_sites::string_at(py, whole.end() - 1) else {
                continue;
            };
            if seen.contains(&string.id()) {
                continue;
            }
            seen.push(string.id());
            let value_node = literal_sites::value_expression(py, string);
            let Some(target) = literal_sites::target_of(py, file.text, value_node) else {
                continue;
            };
            if target.name != name.as_str()
                || target.enum_member
                || literal_sites::in_example(py, file.text, target.value)
            {
                continue;
            }
            let Some(value) =
                python::literal(value_node, file.text).and_then(|l| l.as_str().map(str::to_string))
            else {
                continue; // f-strings, bytes, concatenations with names
            };
            if literal_sites::is_env_default(py, string.start_byte()) {
                continue;
            }
            let Some(strength) = strength(&value, configuration) else {
                continue;
            };
            // `{"drop_params": "drop_params"}`, `TOKEN = "token"`: a name mapped to itself.
            if value.eq_ignore_ascii_case(&target.name)
                || value.replace('-', "_").eq_ignore_ascii_case(&target.name)
            {
                continue;
            }
            let required = required_strength(&target, configuration);
            if strength < required {
                continue;
            }
            out.push(self.diagnostic(file, py, &target, &value, configuration));
        }
        self.check_jwt_keys(file, py, configuration, &mut seen, out);
    }
}

impl HardcodedSecretLiteral {
    /// `jwt.encode(claims, "secret", algorithm="HS256")`: the signing key passed as a literal
    /// (PyJWT, python-jose), whatever the argument is called.
    fn check_jwt_keys<'t>(
        &self,
        file: &File,
        py: &crate::analysis::PythonFile<'t>,
        configuration: bool,
        seen: &mut Vec<usize>,
        out: &mut Vec<Diagnostic>,
    ) {
        let calls = shared::calls_to(py, file.text, &["jwt", "jose"], |q| {
            q.ends_with("jwt.encode") || q.ends_with("jwt.decode")
        });
        for (call, qualified) in calls {
            let Some(args) = python::arguments(call, file.text) else {
                continue;
            };
            let Some(key) = args
                .keyword("key")
                .map(|(value, _)| value)
                .or_else(|| args.positional.get(1).copied())
            else {
                continue;
            };
            if key.kind() != "string" || seen.contains(&key.id()) {
                continue;
            }
            let Some(value) = python::string_value(key, file.text) else {
                continue;
            };
            // Any word is a usable signing key: `"secret"` is the classic.
            if strength(&value, configuration).is_none() {
                continue;
            }
            seen.push(key.id());
            let function = qualified.rsplit('.').next().unwrap_or("encode");
            let message = format!(
                "`jwt.{function}` gets a hard-coded signing key: anyone who can read the code can forge tokens the application accepts; read the key from the environment or a secret store"
            );
            let severity = if configuration {
                Severity::Error
            } else {
                Severity::Warning
            };
            out.push(
                Diagnostic::new(self.id(), key.byte_range(), message)
                    .with_fix(Some(literal_sites::environ_fix(
                        py,
                        file.text,
                        key,
                        "JWT_SECRET",
                        false,
                    )))
                    .with_severity(severity),
            );
        }
    }

    fn diagnostic(
        &self,
        file: &File,
        py: &crate::analysis::PythonFile,
        target: &Target,
        value: &str,
        configuration: bool,
    ) -> Diagnostic {
        let shown = match target.kind {
            TargetKind::Keyword => format!("`{}=`", target.name),
            TargetKind::Subscript => format!("`[\"{}\"]`", target.name),
            TargetKind::DictKey => format!("`\"{}\"`", target.name),
            TargetKind::Attribute => format!("`.{}`", target.name),
            TargetKind::Name => format!("`{}`", target.name),
        };
        let message = if value.starts_with("django-insecure-") {
            format!("{shown} is Django's generated development key: anyone with the source can forge sessions, password-reset links and signed data; read it from the environment or a secret store")
        } else if secrets::is_placeholder(value) {
            format!("{shown} is a placeholder secret (`{value}`) that production runs with unless start-up rejects it, and anyone with the source knows it; read it from the environment or a secret store")
        } else {
            format!("{shown} is a hard-coded secret: anyone who can read the code has it, and it is the same in every environment; read it from the environment or a secret store")
        };
        let fix = literal_sites::environ_fix(py, file.text, target.value, &target.env_var(), false);
        let severity = if configuration {
            Severity::Error
        } else {
            Severity::Warning
        };
        Diagnostic::new(self.id(), target.value.byte_range(), message)
            .with_fix(Some(fix))
            .with_severity(severity)
    }
}

/// Settings and application configuration modules (`settings.py`, `config.py`, `conf.py`,
/// `settings/production.py`): every secret there reaches production.
fn is_configuration_module(file: &File) -> bool {
    if file.role.production_settings() {
        return true;
    }
    let stem = crate::analysis::context::lowercase_stem(file.path);
    matches!(
        stem.as_str(),
        "config" | "conf" | "configuration" | "prod" | "production"
    ) || stem.ends_with("_config")
        || stem.starts_with("config_")
}

/// Names that end in a word saying the value names a key rather than holding one:
/// `INPUT_TOKEN_KEY` (a dictionary key), `TOKEN_ENV` / `SECRET_VAR` (an environment variable
/// name), `PASSWORD_MESSAGE`, `TOKEN_ATTRIBUTE`.
fn extra_descriptor(name: &str) -> bool {
    let words = secrets::name_words(name);
    let Some(last) = words.last() else {
        return false;
    };
    // Tokens that are not credentials: pagination cursors and a tokenizer's special tokens.
    if words.iter().any(|w| {
        matches!(
            w.as_str(),
            "PAGE"
                | "PAGINATION"
                | "CONTINUATION"
                | "CURSOR"
                | "NEXT"
                | "BOS"
                | "EOS"
                | "PAD"
                | "UNK"
                | "SEP"
                | "CLS"
                | "SENTINEL"
        )
    }) {
        return true;
    }
    let qualified_key = words.len() >= 2
        && last == "KEY"
        && !matches!(
            words[words.len() - 2].as_str(),
            "SECRET"
                | "API"
                | "PRIVATE"
                | "SIGNING"
                | "ENCRYPTION"
                | "ACCESS"
                | "MASTER"
                | "FERNET"
                | "HMAC"
                | "WEBHOOK"
                | "CLIENT"
                | "APP"
                | "LICENSE"
                | "SERVICE"
                | "AUTH"
        );
    qualified_key
        || matches!(
            last.as_str(),
            "ENV"
                | "VAR"
                | "VARIABLE"
                | "MESSAGE"
                | "MSG"
                | "ERROR"
                | "ATTRIBUTE"
                | "ATTR"
                | "LABEL"
                | "TEXT"
                | "TITLE"
                | "HELP"
                | "TEMPLATE"
                | "SCRIPT"
                | "MASK"
                | "PLACEHOLDER"
                | "KEYS"
                | "FIELDS"
                | "COLUMN"
                | "GRANT"
                | "EVENT"
                | "CODE"
                | "METRIC"
                | "SOURCE"
                | "MARKER"
                | "CHAR"
                | "DELIMITER"
                | "SEPARATOR"
                | "ENDPOINTS"
                | "TAG"
                | "ALGO"
        )
}

/// How strongly `value` reads as a credential; `None` when it is something else: empty, a
/// number, a header or setting name, a path, a URL, a dotted name, a template, a message.
fn strength(value: &str, configuration: bool) -> Option<Strength> {
    let v = value.trim();
    if v.is_empty()
        || v != value
        || secrets::is_switch_or_number(v)
        || !v.chars().any(|c| c.is_ascii_alphanumeric())
        || SENTINEL.is_match(v)
    {
        return None;
    }
    if literal_sites::claimed_by_format_rule(v) {
        return None; // SEC004 / SEC005 / SEC006 / SEC007
    }
    if v.starts_with("django-insecure") {
        return Some(Strength::Strong);
    }
    // In configuration modules a placeholder is still what production runs with, unless it is
    // templating syntax that will be substituted (`<...>`, `${VAR}`, `{{ var }}`).
    let templating = v.starts_with('<') || v.starts_with('$') || v.starts_with("{{");
    if secrets::is_placeholder(v) && (!configuration || templating || v.len() < 3) {
        return None;
    }
    let not_a_credential = v.contains(char::is_whitespace)
        || v.contains("://")
        || v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("~/")
        || v.ends_with(".pem")
        || v.ends_with(".key")
        || v.ends_with(".json")
        || v.ends_with(".txt")
        || (v.contains('@')
            && v.contains('.')
            && !v.contains(char::is_whitespace)
            && v.rfind('.') > v.find('@'))
        || HEADER_NAME.is_match(v)
        || SETTING_NAME.is_match(v)
        || TEMPLATE.is_match(v)
        || DOTTED_NAME.is_match(v);
    if not_a_credential {
        return None;
    }
    if secrets::contains_key_material(v) || secrets::looks_random(v) && !is_wordy(v) {
        return Some(Strength::Strong);
    }
    if PLAIN_WORDS.is_match(v) {
        // A value that is itself a secret's name (`"refresh_token"`, `"password"`) names a field
        // or a grant type everywhere but in a configuration module.
        return Some(Strength::Word);
    }
    if v.contains('/') && !v.contains(['+', '=']) {
        return None; // `oauth/token`, `a/b`: a route or path
    }
    Some(Strength::Weak)
}

/// `admin_password = "admin"`, `DEFAULT_ROOT_PASSWORD`: the password of a built-in account,
/// where any word is the credential.
fn is_default_account_password(target: &Target) -> bool {
    let words = secrets::name_words(&target.name);
    words
        .iter()
        .any(|w| matches!(w.as_str(), "ADMIN" | "ROOT" | "SUPERUSER" | "DEFAULT"))
        && words
            .iter()
            .any(|w| matches!(w.as_str(), "PASSWORD" | "PASSWD" | "PWD" | "PASS"))
}

/// The least strength that makes a finding for this kind of target.
fn required_strength(target: &Target, configuration: bool) -> Strength {
    if configuration && target.scope != Scope::Function || is_default_account_password(target) {
        return Strength::Word;
    }
    match (target.kind, target.scope) {
        // Locals and instance attributes inside functions are working values (`token = "-c"`):
        // only key material counts.
        (TargetKind::Name | TargetKind::Attribute, Scope::Function) => Strength::Strong,
        // Sample rows built inside functions (`{"secret": "6zzjnumtsx136ddy"}` in a preview).
        (TargetKind::DictKey, Scope::Function) => Strength::Strong,
        // Lower-case class attributes are model and schema defaults.
        (TargetKind::Name, Scope::Class) if target.name.chars().any(|c| c.is_ascii_lowercase()) => {
            Strength::Strong
        }
        _ => Strength::Weak,
    }
}
