pub mod credentials_in_url_literal;
pub mod env_file_secret;
pub mod hardcoded_password_hash_or_seed_admin;
pub mod hardcoded_secret_literal;
pub mod literal_sites;
pub mod provider_api_key_literal;
pub mod secret_env_default;
pub mod sentry_dsn_literal;
