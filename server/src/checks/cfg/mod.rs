pub mod allowed_hosts_wildcard;
pub mod debug_enabled_by_default;
pub mod dev_default_for_deploy_setting;
pub mod env_default_in_settings;
pub mod localhost_in_production_env;
