//! Rules on how the application is packaged and started: Dockerfiles, compose services,
//! entrypoint scripts and Procfiles.

pub mod container_runs_as_root;
pub mod copy_context_without_dockerignore;
pub mod migrate_on_container_start;
pub mod missing_healthcheck;

use crate::project::SERVER_PROGRAMS;
use crate::syntax::shell::Word;

/// What a command does to the database schema on start, when it does: `migrate` (Django,
/// `alembic upgrade`, `flask db upgrade`) or `flush` (every row deleted). The word that says so.
pub fn schema_command(words: &[Word]) -> Option<(SchemaCommand, &Word)> {
    let first = words.first()?;
    let program = base_name(&first.text);
    let args: Vec<&Word> = words[1..]
        .iter()
        .filter(|w| !w.text.starts_with('-'))
        .collect();
    // `python manage.py migrate`, `./manage.py migrate`, `django-admin migrate`,
    // `python -m django migrate`.
    let manage_at = if program.starts_with("python") {
        words[1..]
            .iter()
            .position(|w| base_name(&w.text) == "manage.py" || w.text == "django")
            .map(|i| i + 1)
    } else if matches!(program, "manage.py" | "django-admin" | "django-admin.py") {
        Some(0)
    } else {
        None
    };
    if let Some(at) = manage_at {
        let subcommand = words[at + 1..].iter().find(|w| !w.text.starts_with('-'))?;
        // `migrate --check` / `--plan` only look.
        if words[at + 1..]
            .iter()
            .any(|w| matches!(w.text.as_str(), "--check" | "--plan" | "--list"))
        {
            return None;
        }
        return match subcommand.text.as_str() {
            "migrate" => Some((SchemaCommand::Migrate, subcommand)),
            "flush" => Some((SchemaCommand::Flush, subcommand)),
            _ => None,
        };
    }
    match (program, args.as_slice()) {
        ("alembic", [upgrade, ..]) if upgrade.text == "upgrade" => {
            Some((SchemaCommand::Migrate, *upgrade))
        }
        ("flask", [db, upgrade, ..]) if db.text == "db" && upgrade.text == "upgrade" => {
            Some((SchemaCommand::Migrate, *upgrade))
        }
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaCommand {
    Migrate,
    Flush,
}

/// The command starts the long-running application: a WSGI/ASGI server, a Celery worker, or a
/// development server (`manage.py runserver`, `flask run`, `fastapi run`).
pub fn starts_server(words: &[Word]) -> bool {
    let Some(first) = words.first() else {
        return false;
    };
    let program = base_name(&first.text);
    if SERVER_PROGRAMS.contains(&program) {
        return true;
    }
    let rest: Vec<&str> = words[1..].iter().map(|w| w.text.as_str()).collect();
    let module_server = program.starts_with("python")
        && rest
            .windows(2)
            .any(|w| w[0] == "-m" && SERVER_PROGRAMS.contains(&w[1]));
    let dev_server = (program.starts_with("python") || program == "manage.py")
        && rest
            .iter()
            .any(|w| *w == "runserver" || *w == "runserver_plus");
    let framework_run = matches!(program, "flask" | "fastapi") && rest.first() == Some(&"run");
    module_server || dev_server || framework_run
}

fn base_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}
