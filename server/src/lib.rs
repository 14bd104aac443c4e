//! Preflight finds production-readiness problems in Python backends (Django, FastAPI, Flask,
//! Celery) and their settings files, as a language server and from the command line.

pub mod analysis;
pub mod checks;
pub mod cli;
pub mod config;
pub mod lsp;
pub mod project;
pub mod rule_docs;
pub mod syntax;
pub mod text;
