//! Native rules: one file per rule, a folder per category. Each rule's documentation and
//! examples live in `rules/<ID>.toml`.

pub mod auth;
pub mod cel;
pub mod cfg;
pub mod db;
pub mod dep;
pub mod deploy;
pub mod dock;
pub mod env;
pub mod err;
pub mod inj;
pub mod net;
pub mod ops;
pub mod sec;

pub use crate::analysis::concern::Concern;
use crate::analysis::env_reads::{EnvApi, EnvRead};
pub use crate::analysis::secrets::name_words;
use crate::analysis::Rule;
use crate::syntax::python::Literal;

/// Every rule, in catalog order.
pub fn all() -> &'static [&'static dyn Rule] {
    &[
        &cfg::debug_enabled_by_default::DebugEnabledByDefault,
        &cfg::allowed_hosts_wildcard::AllowedHostsWildcard,
        &cfg::insecure_cookie_flags::InsecureCookieFlags,
        &cfg::dev_default_for_deploy_setting::DevDefaultForDeploySetting,
        &cfg::cors_overly_permissive::CorsOverlyPermissive,
        &cfg::localhost_in_production_env::LocalhostInProductionEnv,
        &cfg::password_validators_disabled::PasswordValidatorsDisabled,
        &cfg::settings_key_reassigned::SettingsKeyReassigned,
        &cfg::env_default_in_settings::EnvDefaultInSettings,
        &cfg::deploy_check_setting_weakened::DeployCheckSettingWeakened,
        &cfg::autoreload_in_production::AutoreloadInProduction,
        &cfg::insecure_setting_in_deployment_env::DebugInDeploymentEnv,
        &cfg::insecure_setting_in_deployment_env::AnyHostInDeploymentEnv,
        &env::env_file_duplicate_key::EnvFileDuplicateKey,
        &net::tls_verification_disabled::TlsVerificationDisabled,
        &net::http_call_without_timeout::HttpCallWithoutTimeout,
        &auth::webhook_without_signature_verification::WebhookWithoutSignatureVerification,
        &cel::unbounded_task_retry::UnboundedTaskRetry,
        &err::bare_except::BareExcept,
        &err::exception_detail_in_response::ExceptionDetailInResponse,
        &err::fake_success_fallback::FakeSuccessFallback,
        &db::check_then_create_race::CheckThenCreateRace,
        &sec::secret_env_default::SecretEnvDefault,
        &sec::provider_api_key_literal::ProviderApiKeyLiteral,
        &sec::sentry_dsn_literal::SentryDsnLiteral,
        &sec::hardcoded_password_hash_or_seed_admin::HardcodedPasswordHashOrSeedAdmin,
        &sec::credentials_in_url_literal::CredentialsInUrlLiteral,
        &sec::env_file_secret::EnvFileSecret,
        &sec::hardcoded_secret_literal::HardcodedSecretLiteral,
        &sec::env_file_committed::EnvFileCommitted,
        &sec::compose_secret_value::ComposeSecretValue,
        &sec::dockerfile_secret_value::DockerfileSecretValue,
        &sec::shell_secret_default::ShellSecretDefault,
        &dock::container_runs_as_root::ContainerRunsAsRoot,
        &dock::copy_context_without_dockerignore::CopyContextWithoutDockerignore,
        &dock::missing_healthcheck::MissingHealthcheck,
        &dock::migrate_on_container_start::MigrateOnContainerStart,
        &dep::unpinned_requirement::UnpinnedRequirement,
        &dep::dev_dependency_in_production::DevDependencyInProduction,
        &ops::secret_in_log_call::SecretInLogCall,
        &inj::sql_built_from_strings::SqlBuiltFromStrings,
        &inj::shell_command_interpolation::ShellCommandInterpolation,
        &inj::untrusted_deserialization::UntrustedDeserialization,
    ]
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

/// `text` on one line (runs of white space become one space), cut to `max` characters with
/// `ellipsis` as the last ones when it is longer: a piece of code quoted in a message.
pub fn one_line(text: &str, max: usize, ellipsis: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > max {
        let cut: String = line.chars().take(max - ellipsis.chars().count()).collect();
        format!("{cut}{ellipsis}")
    } else {
        line
    }
}
