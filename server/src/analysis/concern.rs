//! What an environment read configures (a secret, the debug switch, ALLOWED_HOSTS, CORS origins),
//! decided once per read from its key, the name it is stored under and its default. The rule
//! that speaks about the read's default follows from it.

use super::env_reads::EnvRead;
use super::secrets::{self, name_words};
use crate::syntax::python::Literal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concern {
    Secret,
    Debug,
    AllowedHosts,
    CorsOrigins,
    Other,
}

/// `DEBUG`, `DJANGO_DEBUG`, `debug` — not `DEBUG_TOOLBAR`.
pub fn is_debug_name(name: &str) -> bool {
    is_debug_words(&name_words(name))
}

fn is_debug_words(words: &[String]) -> bool {
    words.last().is_some_and(|w| w == "DEBUG")
}

fn is_allowed_hosts_words(words: &[String]) -> bool {
    words
        .windows(2)
        .any(|w| w[0] == "ALLOWED" && w[1] == "HOSTS")
}

fn is_cors_origin_words(words: &[String]) -> bool {
    words
        .iter()
        .any(|w| w == "CORS" || w == "ORIGIN" || w == "ORIGINS")
        || words
            .windows(2)
            .any(|w| w[0] == "CSRF" && w[1] == "TRUSTED")
}

pub fn classify(read: &EnvRead) -> Concern {
    let default_str = read.default_value().and_then(Literal::as_str);
    // The fallback itself can give the secret away: a known token format, a URL with a
    // password, or a random-looking key.
    let secret_value = default_str.is_some_and(|v| {
        secrets::known_token(v).is_some()
            || secrets::url_password(v).is_some()
            || secrets::contains_key_material(v)
    });
    // Each name is split once; the families are tried in order of precedence.
    let names: Vec<Vec<String>> = read.names().map(name_words).collect();
    if read.declared_secret || secret_value || names.iter().any(|w| secrets::is_secret_words(w)) {
        Concern::Secret
    } else if names.iter().any(|w| is_debug_words(w)) {
        Concern::Debug
    } else if names.iter().any(|w| is_allowed_hosts_words(w)) {
        Concern::AllowedHosts
    } else if names.iter().any(|w| is_cors_origin_words(w)) {
        Concern::CorsOrigins
    } else {
        Concern::Other
    }
}
