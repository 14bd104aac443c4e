//! OPS: operational hygiene of the running service (what reaches its logs).

pub mod secret_in_log_call;
