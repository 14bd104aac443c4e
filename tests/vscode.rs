//! The VS Code extension (editors/vscode) in a real VS Code: code-server with the platform
//! `.vsix` built from this checkout (the freshly built `preflight` bundled inside), driven in
//! headless Chromium by tests/vscode/e2e.js. The steps are the user's: the status bar item,
//! squiggles and Problems entries on a Python settings module and on an env file, the hover, a
//! quick fix from the Ctrl+. menu, a settings change turning a rule off, fix-all on save writing
//! the file, the "Fix all" and "Show output" commands, the workspace scan's progress in the
//! status bar, and the notification for a binary that is too old. Screenshots go to
//! `target/vscode-e2e/screenshots/`.
//!
//! What it needs is installed on first run into `target/vscode-e2e` by tests/vscode/install.sh
//! (code-server and playwright-core from npm, Chromium from Debian). That needs Node 20, npm
//! and the package registries; without them the test fails with the reason, it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ has a parent")
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

#[test]
fn extension_works_in_vs_code() {
    let root = workspace();
    let e2e = root.join("target").join("vscode-e2e");
    let shots = e2e.join("screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    for tool in ["node", "npm"] {
        let found = Command::new(tool).arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "the VS Code test needs `{tool}` (Node 20 or newer) on PATH"
        );
    }
    let started = std::time::Instant::now();
    let output = Command::new("timeout")
        .arg("1200")
        .arg(root.join("tests").join("vscode").join("run.sh"))
        .env("PREFLIGHT", env!("CARGO_BIN_EXE_preflight"))
        .env("E2E_DIR", &e2e)
        .env("SHOTS", &shots)
        .env("PORT", free_port().to_string())
        .output()
        .expect("run tests/vscode/run.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "{stdout}\n(VS Code test: {:.1} s)",
        started.elapsed().as_secs_f64()
    ); // shown with --nocapture
    let report = format!("--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    assert!(
        output.status.success(),
        "VS Code e2e failed ({})\n{report}",
        output.status
    );
    for step in [
        "status bar: \"Preflight\"",
        "squiggles on config/settings.py",
        "quick fix applied and saved",
        "squiggles on .env.production",
        "problems after \"preflight.ignore\": [\"CFG019\"]",
        "docker-compose.yml on disk after save",
        "Preflight: Fix all applied",
        "notification: ",
        "status bar texts seen: ",
        "OK: VS Code end-to-end passed",
    ] {
        assert!(stdout.contains(step), "missing step {step:?}\n{report}");
    }
    for shot in [
        "1-settings-squiggle-hover-problems.png",
        "2-settings-quick-fix-menu.png",
        "4-env-file-squiggles-problems.png",
        "5-env-file-rule-turned-off.png",
        "6-compose-after-fix-all-on-save.png",
    ] {
        assert!(shots.join(shot).is_file(), "no screenshot {shot}\n{report}");
    }
}

/// The extension selects documents by file name with the patterns in editors/vscode/src/documents.ts;
/// they must pick exactly the names the server gives a kind to (`FileKind::from_path`), or a file
/// the server checks never reaches it from VS Code (or one it ignores is sent for nothing).
#[test]
fn extension_file_patterns_match_the_server_file_kinds() {
    use preflight::syntax::FileKind;
    let source = std::fs::read_to_string(
        workspace()
            .join("editors")
            .join("vscode")
            .join("src")
            .join("documents.ts"),
    )
    .expect("read documents.ts");
    let list = &source[source.find("FILE_PATTERNS = [").expect("FILE_PATTERNS")..];
    let list = &list[..list.find("];").expect("end of FILE_PATTERNS")];
    let mut patterns = globset::GlobSetBuilder::new();
    let mut count = 0;
    for line in list.lines().map(str::trim).filter(|l| l.starts_with('\'')) {
        let pattern = line.trim_end_matches(',').trim_matches('\'');
        patterns.add(
            globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .unwrap_or_else(|e| panic!("{pattern}: {e}")),
        );
        count += 1;
    }
    assert!(count > 10, "patterns not found in documents.ts");
    let patterns = patterns.build().expect("glob set");
    for path in [
        "proj/.env",
        "proj/.env.production",
        "proj/deploy/prod.env",
        "proj/compose.yaml",
        "proj/docker-compose.yml",
        "proj/docker-compose.prod.yaml",
        "proj/Dockerfile",
        "proj/Dockerfile.prod",
        "proj/Dockerfile-worker",
        "proj/docker/api.Dockerfile",
        "proj/Containerfile",
        "proj/bin/entrypoint.sh",
        "proj/docker-entrypoint",
        "proj/docker-entrypoint.d/start.bash",
        "proj/requirements.txt",
        "proj/requirements-dev.txt",
        "proj/dev-requirements.txt",
        "proj/requirements/production.txt",
        "proj/pyproject.toml",
        "proj/Procfile",
        "proj/.dockerignore",
        "proj/.gitignore",
        // Not the server's: no kind, and not selected.
        "proj/notes.yml",
        "proj/README.md",
        "proj/setup.cfg",
        "proj/constraints.txt",
        "proj/environment.yml",
    ] {
        let kind = FileKind::from_path(std::path::Path::new(path));
        assert_eq!(
            patterns.is_match(path),
            kind.is_some(),
            "{path}: the server's kind is {kind:?}, the extension's patterns disagree"
        );
    }
}
