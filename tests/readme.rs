//! The README stays true: its rule table is the catalog's, and CI runs its test command.

use std::path::Path;

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn readme_rule_table_matches_the_catalog() {
    let readme = repo_file("README.md");
    let start = readme
        .find("<!-- rules:start -->\n")
        .expect("rules:start marker")
        + "<!-- rules:start -->\n".len();
    let end = readme.find("<!-- rules:end -->").expect("rules:end marker");
    assert_eq!(
        &readme[start..end],
        preflight::cli::rules_markdown_table(),
        "README.md's rule table is stale: replace it with `preflight rules --format markdown`"
    );
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = repo_file("README.md");
    let after = &readme[readme
        .find("<!-- test-command -->")
        .expect("test-command marker")..];
    let command = after
        .lines()
        .nth(2)
        .expect("command line after the marker")
        .trim();
    assert!(command.starts_with("cargo test"), "{command}");
    let ci = repo_file(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == command),
        ".ci/run does not run `{command}`"
    );
}
