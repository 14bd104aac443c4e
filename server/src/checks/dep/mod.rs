//! Rules on dependencies: requirements files, `pyproject.toml`, and what a Dockerfile installs.

pub mod dev_dependency_in_production;
pub mod unpinned_requirement;

pub use crate::project::roles::development_only;
