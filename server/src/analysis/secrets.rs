//! Deciding whether a name or a value is a secret. Precision matters as much as recall here:
//! `JWT_ALGORITHM`, `PASSWORD_RESET_TIMEOUT` and `api_key_header` are not secrets, and
//! `change-me` in an example file is a placeholder, not a leak.

use regex::Regex;
use std::sync::OnceLock;

/// Words that make a name secret-like on their own.
const SECRET_WORDS: &[&str] = &[
    "SECRET",
    "SECRETS",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "CREDENTIALS",
    "DSN",
    "APIKEY",
    "JWT",
    "PRIVATEKEY",
];

/// `X_KEY` pairs that name a secret key (a bare `KEY` is too vague: `CACHE_KEY`, `SORT_KEY`).
const SECRET_KEY_QUALIFIERS: &[&str] = &[
    "API",
    "PRIVATE",
    "SIGNING",
    "ENCRYPTION",
    "ACCESS",
    "MASTER",
    "AUTH",
    "FERNET",
    "HMAC",
    "WEBHOOK",
    "CLIENT",
    "APP",
    "LICENSE",
    "SERVICE",
];

/// Words that say the name is *about* a secret rather than the secret itself: its length, its
/// lifetime, where it lives, what it is called on the wire.
const DESCRIPTOR_WORDS: &[&str] = &[
    "ALGORITHM",
    "ALGORITHMS",
    "ALG",
    "EXPIRE",
    "EXPIRES",
    "EXPIRY",
    "EXPIRATION",
    "TTL",
    "LIFETIME",
    "TIMEOUT",
    "AGE",
    "LENGTH",
    "LEN",
    "SIZE",
    "HEADER",
    "NAME",
    "PREFIX",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "PATH",
    "FILE",
    "DIR",
    "JSON",
    "YAML",
    "YML",
    "ENABLED",
    "ENABLE",
    "REQUIRED",
    "BACKEND",
    "CLASS",
    "CLASSES",
    "TYPE",
    "FIELD",
    "PARAM",
    "ISSUER",
    "AUDIENCE",
    "SCOPE",
    "SCOPES",
    "MINUTES",
    "SECONDS",
    "HOURS",
    "DAYS",
    "ROTATION",
    "VALIDATORS",
    "HASHERS",
    "MIN",
    "MAX",
    "COUNT",
    "LIMIT",
    "RETRIES",
    "ATTEMPTS",
    "ID",
    "REGEX",
    "PATTERN",
    "FORMAT",
    "VERSION",
    "LOCATION",
    "REFRESH_URL",
    "KIND",
    "MODE",
    "STORAGE",
    "STORE",
    "CACHE",
    "LEEWAY",
    "METHOD",
    "USAGE",
    "COMPLEXITY",
    "POLICY",
    "RESET",
    "CHANGE",
    "FORGOT",
    "REDIRECT",
    "LOGIN",
    "AUTH",
    "CLAIMS",
    "CLAIM",
    "ALIAS",
    "ROUTES",
    "HINT",
    "CONFIRMATION",
    "EXCHANGE",
    "COOKIE",
    "THRESHOLD",
    "DURATION",
    "INTERVAL",
    "BUDGET",
    "RATE",
    "COUNTER",
    "TYPES",
    "ENCODING",
    "MODEL",
    "ROLE",
];

/// Words that make a name a switch or a setting about secrets, wherever they stand:
/// `ENABLE_PASSWORD_AUTH`, `HIDE_DEFAULT_CREDENTIALS_HINT`, `SEND_USER_API_KEY_ALIAS`.
const FLAG_WORDS: &[&str] = &[
    "ENABLE",
    "ENABLED",
    "DISABLE",
    "DISABLED",
    "HIDE",
    "SHOW",
    "INCLUDE",
    "EXCLUDE",
    "USE",
    "ALLOW",
    "REQUIRE",
    "FORCE",
    "SKIP",
    "VERIFY",
    "VALIDATE",
    "VALIDATION",
    "CHECK",
    "SEND",
    "FORWARD",
    "IS",
    "HAS",
    "SHOULD",
    "FIRST",
    "LOG",
    "DEBUG",
    "SAVE",
    "PERSIST",
    "ROTATE",
];

/// Upper-cased words of a name: `djangoDebug` -> DJANGO, DEBUG; `CORS_ALLOWED_ORIGINS` -> CORS,
/// ALLOWED, ORIGINS.
pub fn name_words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        // camelCase boundary: apiKey -> API, KEY
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase();
        current.push(c.to_ascii_uppercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Is `name` (an env key, a setting, a field, a keyword argument) the name of a secret?
pub fn is_secret_name(name: &str) -> bool {
    is_secret_words(&name_words(name))
}

/// [`is_secret_name`] on a name already split with [`name_words`].
pub fn is_secret_words(words: &[String]) -> bool {
    let mut last_secret = None;
    for (i, w) in words.iter().enumerate() {
        if SECRET_WORDS.contains(&w.as_str())
            // `PGPASSWORD`, `MYSQL_ROOTPASSWORD`: the word run together with its owner
            || (w.len() > 8 && (w.ends_with("PASSWORD") || w.ends_with("PASSWD")))
            // `DB_PASS`, `SMTP_PASS`, but not `PASS_THROUGH_ROUTES`
            || (w == "PASS" && i > 0 && i + 1 == words.len())
            || (w == "KEY" && i > 0 && SECRET_KEY_QUALIFIERS.contains(&words[i - 1].as_str()))
            || (w == "KEY" && i > 0 && words[i - 1] == "SECRET")
        {
            last_secret = Some(i);
        }
    }
    let Some(last_secret) = last_secret else {
        return false;
    };
    if words.iter().any(|w| FLAG_WORDS.contains(&w.as_str())) {
        return false;
    }
    // A descriptor after the secret word names something about it (`JWT_ALGORITHM`,
    // `TOKEN_TTL`, `PRIVATE_KEY_PATH`); before it, it names whose secret it is
    // (`EMAIL_HOST_PASSWORD`).
    !words[last_secret + 1..]
        .iter()
        .any(|w| DESCRIPTOR_WORDS.contains(&w.as_str()))
}

/// Env names whose value is a URL that may carry credentials (only a secret when it does).
pub fn is_connection_url_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "DATABASE_URL",
        "_DB_URL",
        "BROKER_URL",
        "REDIS_URL",
        "CACHE_URL",
        "AMQP_URL",
        "MONGO_URL",
        "MONGODB_URI",
        "RESULT_BACKEND",
    ]
    .iter()
    .any(|s| upper.ends_with(s))
}

struct TokenPattern {
    what: &'static str,
    regex: Regex,
}

fn token_patterns() -> &'static [TokenPattern] {
    static PATTERNS: OnceLock<Vec<TokenPattern>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let p = |what, re: &str| TokenPattern {
            what,
            regex: Regex::new(re).expect("valid token regex"),
        };
        vec![
            p(
                "an AWS access key id",
                r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
            ),
            p("a GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"),
            p(
                "a GitHub fine-grained token",
                r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b",
            ),
            p("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
            p(
                "a Slack webhook URL",
                r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}",
            ),
            p(
                "a Stripe secret key",
                r"\b(sk|rk)_(live|test|prod)_[A-Za-z0-9]{16,}\b",
            ),
            p(
                "a Stripe webhook signing secret",
                r"\bwhsec_[A-Za-z0-9+/=]{24,}",
            ),
            p(
                "an OpenAI API key",
                r"\bsk-(proj|svcacct|admin)-[A-Za-z0-9_-]{20,}",
            ),
            p(
                "an OpenAI API key",
                r"\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b",
            ),
            p(
                "an Anthropic API key",
                r"\bsk-ant-(api|admin)\d{2}-[A-Za-z0-9_-]{20,}",
            ),
            p("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
            p(
                "a SendGrid API key",
                r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b",
            ),
            p(
                "a private key",
                r"-----BEGIN ((RSA|EC|DSA|OPENSSH|PGP|ENCRYPTED) )?PRIVATE KEY( BLOCK)?-----",
            ),
            p(
                "a JSON Web Token",
                r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
            ),
            p(
                "a bcrypt password hash",
                r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}",
            ),
            p("a Twilio API key", r"\bSK[0-9a-f]{32}\b"),
            p("a GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
            p("a Mailgun API key", r"\bkey-[0-9a-f]{32}\b"),
        ]
    })
}

/// Values that configure behaviour rather than authenticate: booleans and numbers, as strings.
pub fn is_switch_or_number(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    matches!(
        v.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "t" | "f" | "none" | "null"
    ) || (!v.is_empty() && v.parse::<f64>().is_ok())
}

/// A value in a known credential format, whatever it is called.
pub fn known_token(value: &str) -> Option<&'static str> {
    token_patterns()
        .iter()
        .find(|p| p.regex.is_match(value))
        .map(|p| p.what)
}

/// A provider credential inside `value` (AWS, GitHub, Slack, Stripe, OpenAI, Google, SendGrid,
/// private keys, ...): what it is and where. Password hashes and JWTs are left out: they are not
/// keys to a provider account.
pub fn provider_token(value: &str) -> Option<(&'static str, std::ops::Range<usize>)> {
    token_patterns()
        .iter()
        .filter(|p| !matches!(p.what, "a bcrypt password hash" | "a JSON Web Token"))
        .find_map(|p| p.regex.find(value).map(|m| (p.what, m.range())))
}

/// A documentation or test key rather than a real one: vendors' samples (`AKIAIOSFODNN7EXAMPLE`),
/// masked or elided keys (`sk_live_xxxx...`), and bodies with too little variety to be random
/// (`ghp_000000...`, `sk_live_1234567890abcdef`).
pub fn is_fake_token(token: &str) -> bool {
    let upper = token.to_ascii_uppercase();
    if [
        "EXAMPLE", "XXXX", "...", "<", "DUMMY", "FAKE", "SAMPLE", "TEST1234", "REDACTED",
    ]
    .iter()
    .any(|m| upper.contains(m))
    {
        return true;
    }
    let body = token
        .rsplit(['_', '-'])
        .next()
        .filter(|b| b.len() >= 12)
        .unwrap_or(token);
    // A random key does not spell out a run of ten letters or digits in order.
    let sequential = ["123456789", "abcdefghij", "ABCDEFGHIJ", "qwertyuiop"]
        .iter()
        .any(|run| body.contains(run));
    sequential || entropy(body) < 3.0
}

/// A password hash in a known format: bcrypt (`$2b$12$...`), argon2 (`$argon2id$v=19$...`) or
/// Django's PBKDF2 (`pbkdf2_sha256$<iterations>$<salt>$<hash>`).
pub fn password_hash(value: &str) -> Option<(&'static str, std::ops::Range<usize>)> {
    static RE: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    let patterns = RE.get_or_init(|| {
        [
            ("a bcrypt hash", r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}"),
            (
                "an argon2 hash",
                r"\$argon2(?:id|i|d)\$(?:v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{8,}\$[A-Za-z0-9+/]{16,}",
            ),
            (
                "a PBKDF2 hash",
                r"pbkdf2_sha(?:1|256|512)\$\d{3,}\$[A-Za-z0-9./+]{4,}\$[A-Za-z0-9+/]{20,}={0,2}",
            ),
        ]
        .into_iter()
        .map(|(what, re)| (what, Regex::new(re).expect("valid hash regex")))
        .collect()
    });
    patterns
        .iter()
        .find_map(|(what, re)| re.find(value).map(|m| (*what, m.range())))
}

/// A Sentry DSN with a real key: `https://<32 hex>[:<32 hex>]@host/<project id>`.
pub fn is_sentry_dsn(value: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"https?://[0-9a-f]{32}(:[0-9a-f]{32})?@[^\s/@]+/(?:[^\s/]+/)*\d+\b")
            .expect("valid dsn regex")
    })
    .is_match(value)
}

fn url_credentials_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b[a-z][a-z0-9+.-]*://([^:/@\s]*):([^@\s/]+)@[^\s]+")
            .expect("valid url regex")
    })
}

/// The password of a `scheme://user:password@host` URL, when it is a real one (not `${VAR}`,
/// `<password>`, `$(cmd)` or another placeholder). Byte range within `value`.
pub fn url_password(value: &str) -> Option<std::ops::Range<usize>> {
    let caps = url_credentials_regex().captures(value)?;
    let password = caps.get(2)?;
    if is_placeholder(password.as_str())
        || password.as_str().starts_with('$')
        || password.as_str().starts_with('%')
    {
        return None;
    }
    Some(password.range())
}

/// Values people put where a secret will go later.
pub fn is_placeholder(value: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?ix)^(
                \s* |
                <[^>]*> |
                \$\{[^}]*\} | \$[A-Z_][A-Z0-9_]* | \$\([^)]*\) | \{\{.*\}\} |
                [x*._-]{3,} | x+ |
                (your|insert|enter|put)[-_ ].* |
                .*(change[-_ ]?me|changeit|replace[-_ ]?me|change[-_ ]?this|placeholder|example|dummy|sample|redacted|fixme|todo|tbd|not[-_ ]?set|fake|[-_ ]here).* |
                none | null | nil | empty | undefined | false | true | 0 | 1
            )$",
        )
        .expect("valid placeholder regex")
    });
    re.is_match(value.trim())
}

/// A value that holds key material whatever it is called: an unbroken run of at least 20 letters
/// and digits mixing upper case, lower case and digits with high entropy, or 32 hex digits.
/// Model names, versions, UUIDs, paths and patterns are broken into short runs and do not count.
pub fn contains_key_material(value: &str) -> bool {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|run| {
            let mixed = run.chars().any(|c| c.is_ascii_uppercase())
                && run.chars().any(|c| c.is_ascii_lowercase())
                && run.chars().any(|c| c.is_ascii_digit());
            (run.len() >= 20 && mixed && entropy(run) >= 3.8)
                || (run.len() >= 32
                    && run.chars().all(|c| c.is_ascii_hexdigit())
                    && entropy(run) >= 3.0)
        })
}

/// Shannon entropy in bits per character.
pub fn entropy(value: &str) -> f64 {
    let mut counts = [0usize; 256];
    let mut total = 0usize;
    for b in value.bytes() {
        counts[b as usize] += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total as f64;
            -p * p.log2()
        })
        .sum()
}

/// A random-looking credential: long enough, no spaces, mixed character classes or hex, and a
/// high entropy. Words, paths, hostnames and sentences do not qualify.
pub fn looks_random(value: &str) -> bool {
    let v = value.trim();
    if v.len() < 16 || v.len() > 4096 || v.contains(char::is_whitespace) || is_placeholder(v) {
        return false;
    }
    if v.contains("://") || v.starts_with('/') || v.starts_with("./") {
        return false;
    }
    // Dotted names (`django.core.mail.backends.smtp.EmailBackend`) are code, not keys.
    if v.split('.').count() > 1
        && v.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
        })
    {
        return false;
    }
    let is_hex = v.chars().all(|c| c.is_ascii_hexdigit());
    if is_hex {
        return v.len() >= 24 && entropy(v) >= 3.0;
    }
    let classes = [
        v.chars().any(|c| c.is_ascii_lowercase()),
        v.chars().any(|c| c.is_ascii_uppercase()),
        v.chars().any(|c| c.is_ascii_digit()),
        v.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    let has_digit = v.chars().any(|c| c.is_ascii_digit());
    has_digit && classes >= 3 && entropy(v) >= 3.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "SECRET_KEY",
            "JWT_SECRET",
            "DB_PASSWORD",
            "POSTGRES_PASSWORD",
            "STRIPE_API_KEY",
            "apiKey",
            "SENTRY_DSN",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "jwt_secret_key",
            "EMAIL_HOST_PASSWORD",
            "PRIVATE_KEY",
            "SIGNING_KEY",
            "DB_PASS",
            "client_secret",
            "WEBHOOK_SECRET",
            "SECRET_KEY_FALLBACKS",
            "REDIS_HOST_PASSWORD",
        ] {
            assert!(is_secret_name(name), "{name} should be secret-like");
        }
        for name in [
            "JWT_ALGORITHM",
            "ACCESS_TOKEN_EXPIRE_MINUTES",
            "PASSWORD_RESET_TIMEOUT",
            "api_key_header",
            "TOKEN_TTL",
            "AUTH_PASSWORD_VALIDATORS",
            "LOG_LEVEL",
            "DEBUG",
            "CACHE_KEY",
            "SORT_KEY",
            "TOKEN_URL",
            "PRIVATE_KEY_PATH",
            "SECRETS_DIR",
            "CSRF_HEADER_NAME",
            "PASSWORD_HASHERS",
            "AWS_ACCESS_KEY_ID",
            "ENABLE_PASSWORD_AUTH",
            "LITELLM_BUILTIN_PASS_THROUGH_ROUTES_FIRST",
            "CONTEXT_COMPACTION_TOKEN_THRESHOLD",
            "SEND_USER_API_KEY_ALIAS",
            "GENERIC_INCLUDE_TOKEN_CLAIMS",
            "LITELLM_HIDE_DEFAULT_CREDENTIALS_HINT",
            "DATABASE_ENABLE_IAM_TOKEN_AUTH",
            "passenger",
            "compass",
        ] {
            assert!(!is_secret_name(name), "{name} should not be secret-like");
        }
    }

    #[test]
    fn token_formats() {
        assert_eq!(
            known_token("sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
            Some("a Stripe secret key")
        );
        assert_eq!(
            known_token("sk-proj-abcdefghijklmnopqrstuvwxyz012345"),
            Some("an OpenAI API key")
        );
        assert_eq!(
            known_token("ghp_0123456789abcdefghijABCDEFGHIJ012345"),
            Some("a GitHub token")
        );
        assert_eq!(
            known_token("AKIAIOSFODNN7EXAMPLE"),
            Some("an AWS access key id")
        );
        assert_eq!(known_token("sk_test_123"), None);
        assert_eq!(known_token("X-API-Key"), None);
    }

    #[test]
    fn url_passwords() {
        assert!(url_password("postgres://app:s3cr3t@db:5432/app").is_some());
        assert!(url_password("postgres://app:${DB_PASSWORD}@db/app").is_none());
        assert!(url_password("postgres://app:<password>@db/app").is_none());
        assert!(url_password("redis://redis:6379/0").is_none());
        assert!(url_password("https://example.com/a:b@c").is_none());
    }

    #[test]
    fn placeholders_and_randomness() {
        for v in [
            "",
            "change-me",
            "changeme",
            "<your key>",
            "xxx",
            "your-secret-here",
            "${SECRET}",
            "***",
        ] {
            assert!(is_placeholder(v), "{v:?}");
        }
        assert!(!is_placeholder("dev"));
        assert!(looks_random("8f3kL9q2Zx7wP4mN1vB6cT0y"));
        assert!(looks_random("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"));
        assert!(!looks_random("django.core.mail.backends.smtp.EmailBackend"));
        assert!(!looks_random("hello-world-this-is"));
        assert!(contains_key_material("q8Zr2L9xKf4Wm7Tn1Vb6Hc3Y"));
        assert!(contains_key_material(
            "django-insecure-9f86d081884c7d659a2feaa0c55ad015"
        ));
        for v in [
            "sentence-transformers/all-MiniLM-L6-v2",
            "gpt-4o-mini-realtime-preview-2024-12-17",
            "550e8400-e29b-41d4-a716-446655440000",
            "^(?=.*[a-z])(?=.*[A-Z])(?=.*\\d).{8,}$",
            "audio-24khz-160kbitrate-mono-mp3",
        ] {
            assert!(!contains_key_material(v), "{v}");
        }
    }

    #[test]
    fn provider_tokens_hashes_and_dsns() {
        assert_eq!(
            provider_token("Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc")
                .map(|(what, r)| (what, r.start)),
            Some(("a Stripe secret key", 7))
        );
        assert!(
            provider_token("$2b$12$KIXQJ1aVv8n0yE5m3bP8Oe6H0eJt7c1mW9sQ2rT4uY6iO8pA0sD2e")
                .is_none()
        );
        for fake in [
            "AKIAIOSFODNN7EXAMPLE",
            "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "ghp_123456789012345678901234567890123456",
            "sk_live_0000000000000000",
        ] {
            assert!(is_fake_token(fake), "{fake}");
        }
        assert!(!is_fake_token("sk_live_4eC39HqLyjWDarjtT1zdp7dc"));
        assert!(!is_fake_token("AKIA2OGYBAH6TQK7V3MZ"));
        assert!(
            password_hash("$2b$12$KIXQJ1aVv8n0yE5m3bP8Oe6H0eJt7c1mW9sQ2rT4uY6iO8pA0sD2e").is_some()
        );
        assert!(password_hash(
            "pbkdf2_sha256$600000$Zx81kf9QmB2p$Wm7Tn1Vb6Hc3YpD5sJ0gAeR8uWkNq2Lz9xKf4aQ1b3c="
        )
        .is_some());
        assert!(password_hash("$argon2id$v=19$m=65536,t=3,p=4$wagCPXjifgvUFBzq4hqe3w$CYaIb8sB+wtD+Vu/P4uod1+Qof8h+1g7bbDlBID48Rc").is_some());
        assert!(password_hash("pbkdf2_sha256").is_none());
        assert!(is_sentry_dsn(
            "https://4f2a9c0d1e8b4a7f9c3d2e1f0a9b8c7d@o123456.ingest.sentry.io/4504"
        ));
        assert!(is_sentry_dsn(
            "https://0c8d5e2b7a4f4e1c9b6a3d0e7f2c5b8a@sentry.example.com/sentry/12"
        ));
        assert!(!is_sentry_dsn(
            "https://examplePublicKey@o0.ingest.sentry.io/0"
        ));
    }
}
