//! SEC004 provider-api-key-literal: a provider credential in a known format (Stripe, GitHub,
//! Slack, OpenAI, Anthropic, AWS, Google, SendGrid, GitLab, a private key block) written in a
//! Python string literal. Vendors' documentation keys and masked or patterned fakes are not
//! findings; test modules and templates get an info.

use std::sync::LazyLock;

use regex::Regex;

use super::literal_sites;
use crate::analysis::{secrets, Diagnostic, File, Rule, Severity};
use crate::syntax::python;
use crate::syntax::FileKind;

pub struct ProviderApiKeyLiteral;

/// Where a token can start: the provider prefixes of [`secrets::provider_token`].
static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:sk|rk)_(?:live|test|prod)_|\bwhsec_|\bgh[pousr]_|github_pat_|xox[abposr]-|\bsk-|\bA(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)[0-9A-Z]{16}|\bSG\.|\bAIza|PRIVATE KEY( BLOCK)?-----|hooks\.slack\.com/services|glpat-|\bSK[0-9a-f]{32}|\bkey-[0-9a-f]{32}",
    )
    .expect("valid prefix regex")
});

/// An AWS secret access key is 40 base64 characters with no prefix: it is only recognisable by
/// the name it is stored under.
static AWS_SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)secret_?access_?key["']?\s*[:=]\s*[rRuU]?["']"#).expect("valid regex")
});
static AWS_SECRET_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9/+]{40}$").expect("valid regex"));

/// The base64 body that follows a `-----BEGIN ... PRIVATE KEY-----` header in a real key (a
/// header alone is a marker code looks for, not a key).
static KEY_BODY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"PRIVATE KEY(?: BLOCK)?-----\s*(?:[A-Za-z-]+:[^\n]*\n\s*)*((?:[A-Za-z0-9+/=]+\s*){1,})",
    )
    .expect("valid regex")
});

impl Rule for ProviderApiKeyLiteral {
    fn id(&self) -> &'static str {
        "SEC004"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        PREFIX.is_match(text) || AWS_SECRET_NAME.is_match(text)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let mut seen = Vec::new();
        let candidates = PREFIX
            .find_iter(file.text)
            .map(|m| (m.start(), false))
            .chain(
                AWS_SECRET_NAME
                    .find_iter(file.text)
                    .map(|m| (m.end() - 1, true)),
            );
        for (at, by_name) in candidates {
            let Some(string) = literal_sites::string_at(py, at) else {
                continue;
            };
            if seen.contains(&string.id()) {
                continue;
            }
            let value = python::string_value(string, file.text)
                .unwrap_or_else(|| python::text(string, file.text).to_string());
            let found = if by_name {
                aws_secret_key(&value)
            } else {
                real_token(&value)
            };
            let Some((what, token_range)) = found else {
                continue;
            };
            seen.push(string.id());
            // `os.getenv("STRIPE_KEY", "sk_live_...")` is SEC001's finding (it names the token).
            if literal_sites::is_env_default(py, string.start_byte()) {
                continue;
            }
            let value_node = literal_sites::value_expression(py, string);
            let target = literal_sites::target_of(py, file.text, value_node);
            let whole_value = value[token_range.clone()].len() + 2 >= value.trim().len()
                || what == "a private key";
            let subject = match &target {
                Some(t) => format!("`{}` is set to {what}", t.name),
                None => format!("A string literal holds {what}"),
            };
            let test_mode = what == "a Stripe secret key" && value[token_range].contains("_test_");
            let message = if test_mode {
                format!("{subject} (test mode): anyone with the source can use the Stripe test account; read it from the environment and rotate it")
            } else {
                format!("{subject}: anyone who can read the code can use it; read it from the environment and rotate the key")
            };
            let mut diagnostic = Diagnostic::new(self.id(), string.byte_range(), message);
            if let Some(t) = target.as_ref().filter(|_| whole_value) {
                diagnostic = diagnostic.with_fix(Some(literal_sites::environ_fix(
                    py,
                    file.text,
                    t.value,
                    &t.env_var(),
                    false,
                )));
            }
            if file.role.development || file.role.example {
                // Keys in tests and docs are nearly always fixtures; still shown, quietly, since
                // a real one there leaks just the same.
                diagnostic = diagnostic.with_severity(Severity::Info);
            } else if test_mode {
                diagnostic = diagnostic.with_severity(Severity::Warning);
            }
            out.push(diagnostic);
        }
    }
}

/// A provider token in `value` that is not a documentation sample or a fake.
fn real_token(value: &str) -> Option<(&'static str, std::ops::Range<usize>)> {
    let (what, range) = secrets::provider_token(value)?;
    if what == "a private key" {
        // A real key block has a body of a few hundred base64 characters.
        let body: String = KEY_BODY
            .captures(&value[range.start..])?
            .get(1)?
            .as_str()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if body.len() < 64 || secrets::entropy(&body) < 4.5 {
            return None;
        }
        return Some((what, range));
    }
    if secrets::is_fake_token(&value[range.clone()]) {
        return None;
    }
    Some((what, range))
}

fn aws_secret_key(value: &str) -> Option<(&'static str, std::ops::Range<usize>)> {
    let v = value.trim();
    (AWS_SECRET_VALUE.is_match(v) && !secrets::is_fake_token(v) && secrets::entropy(v) >= 4.0)
        .then_some(("an AWS secret access key", 0..value.len()))
}
