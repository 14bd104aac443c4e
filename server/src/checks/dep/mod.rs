//! Rules on dependencies: requirements files, `pyproject.toml`, and what a Dockerfile installs.

pub mod dev_dependency_in_production;
pub mod unpinned_requirement;

/// Distributions that belong to development and testing only (normalised names): a production
/// image that installs them is larger, slower to build, and runs tools such as the Django debug
/// toolbar or a debugger that must never face the Internet.
pub fn development_only(name: &str) -> bool {
    const TOOLS: &[&str] = &[
        "django-debug-toolbar",
        "django-silk",
        "pytest",
        "coverage",
        "black",
        "ruff",
        "flake8",
        "mypy",
        "pylint",
        "isort",
        "ipython",
        "ipdb",
        "pdbpp",
        "debugpy",
        "factory-boy",
        "model-bakery",
        "pre-commit",
        "tox",
        "nox",
        "freezegun",
        "responses",
        "bandit",
        "django-stubs",
        "sphinx",
        "werkzeug-debugger",
    ];
    TOOLS.contains(&name) || name.starts_with("pytest-") || name.starts_with("flake8-")
}
