pub mod env_file_secret;
pub mod secret_env_default;
