//! Native rules: one file per rule, a folder per category. Each rule's documentation and
//! examples live in `rules/<ID>.toml`.

pub mod cfg;
pub mod env;
pub mod sec;

use crate::analysis::env_reads::{EnvApi, EnvRead};
use crate::analysis::secrets;
use crate::analysis::Rule;
use crate::syntax::python::Literal;

/// Every rule, in catalog order.
pub fn all() -> &'static [&'static dyn Rule] {
    &[
        &cfg::debug_enabled_by_default::DebugEnabledByDefault,
        &cfg::allowed_hosts_wildcard::AllowedHostsWildcard,
        &cfg::dev_default_for_deploy_setting::DevDefaultForDeploySetting,
        &cfg::localhost_in_production_env::LocalhostInProductionEnv,
        &cfg::env_default_in_settings::EnvDefaultInSettings,
        &env::env_file_duplicate_key::EnvFileDuplicateKey,
        &sec::secret_env_default::SecretEnvDefault,
        &sec::env_file_secret::EnvFileSecret,
    ]
}

/// Upper-cased words of a name: `djangoDebug` -> DJANGO, DEBUG; `CORS_ALLOWED_ORIGINS` -> ...
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

/// What an environment read configures, which decides the rule that speaks about its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concern {
    Secret,
    Debug,
    AllowedHosts,
    CorsOrigins,
    Other,
}

pub fn is_debug_name(name: &str) -> bool {
    name_words(name).last().is_some_and(|w| w == "DEBUG")
}

pub fn is_allowed_hosts_name(name: &str) -> bool {
    let words = name_words(name);
    words
        .windows(2)
        .any(|w| w[0] == "ALLOWED" && w[1] == "HOSTS")
}

pub fn is_cors_origin_name(name: &str) -> bool {
    let words = name_words(name);
    words
        .iter()
        .any(|w| w == "CORS" || w == "ORIGIN" || w == "ORIGINS")
        || words
            .windows(2)
            .any(|w| w[0] == "CSRF" && w[1] == "TRUSTED")
}

pub fn concern(read: &EnvRead) -> Concern {
    let default_str = read.default_value().and_then(Literal::as_str);
    let secret_value = default_str
        .is_some_and(|v| secrets::known_token(v).is_some() || secrets::url_password(v).is_some());
    if read.declared_secret || read.names().any(secrets::is_secret_name) || secret_value {
        Concern::Secret
    } else if read.names().any(is_debug_name) {
        Concern::Debug
    } else if read.names().any(is_allowed_hosts_name) {
        Concern::AllowedHosts
    } else if read.names().any(is_cors_origin_name) {
        Concern::CorsOrigins
    } else {
        Concern::Other
    }
}

/// How a read is named in messages: its key, else its target.
pub fn display_name(read: &EnvRead) -> String {
    read.key
        .clone()
        .or_else(|| read.target.clone())
        .unwrap_or_else(|| "the variable".to_string())
}

/// Entries of a comma- or space-separated default (`"a.com,b.com"`) or of a list default.
pub fn default_entries(value: &Literal) -> Vec<String> {
    value
        .strings()
        .iter()
        .flat_map(|s| {
            s.split([',', ' ', ';'])
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

pub fn is_local_address(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    ["localhost", "127.0.0.1", "0.0.0.0", "[::1]"]
        .iter()
        .any(|h| lower.contains(h))
}

/// Reads whose default is written in the code (not a scheme tuple or a subscript).
pub fn has_default(read: &EnvRead) -> bool {
    read.default.is_some() && read.api != EnvApi::EnvironSubscript
}
