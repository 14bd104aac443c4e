//! DB: models, ORM use and concurrency.

pub mod check_then_create_race;
