//! Whole-tree `preflight check` against `ruff check --select S` on a generated project tree.
//!
//! Run with `cargo bench --bench check_tree`. This is a benchmark, not a test: it reports numbers
//! and asserts nothing about them. Without `--bench` (as `cargo test --benches` runs it) it does a
//! short smoke run on a small tree, preflight only.
//!
//! What it does:
//! 1. Generates (once per generator version) `<target>/bench-tree`: 50 services with Django-style
//!    apps, 5,000 Python files of 100-300 lines (models, views, services, tasks, tests...), a
//!    `settings.py` per service with environment reads that Preflight reports (and, in every
//!    other service, split `settings/` modules that production overrides), `.env` files (some
//!    with duplicate keys, localhost in production, real-looking credentials), and the files
//!    that deploy each service: a Dockerfile, a compose file, an entrypoint script and a
//!    requirements file.
//! 2. Times `preflight check bench-tree --format json` (the bench-profile binary): one warm-up
//!    run, then several timed runs; wall time median/min/max, user+sys CPU and peak RSS (via
//!    `/usr/bin/time -v` when present, else by sampling `/proc/<pid>/status`).
//! 3. Does the same for `ruff check --select S --no-cache --output-format json bench-tree`, with
//!    ruff installed from PyPI into `<target>/bench-venv` (created when missing). Runs alternate
//!    between the two tools. When ruff cannot be installed, only Preflight's numbers are shown.
//! 4. Counts each tool's findings, and cross-checks Preflight's count against an in-process,
//!    single-threaded analysis of every file (also timed, for the parallel speed-up), which
//!    builds the project model first (every file's facts, then the project) and reports what
//!    that model adds to the parse and analysis.
//!
//! Environment: `PREFLIGHT_BENCH_RUNS` (default 5) overrides the number of timed runs.

#[path = "common/mod.rs"]
mod common;
use common::{proc_cpu_ticks, proc_status_kib, target_dir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use preflight::analysis::{analyse, Input, Severity};
use preflight::config::{Config, Options};
use preflight::syntax::{python, FileKind};
use serde_json::Value;

/// Bump when the generated tree changes, so an old tree is regenerated.
const GENERATOR_VERSION: u32 = 3;
const SERVICES: usize = 50;
const SMOKE_SERVICES: usize = 2;
const DEFAULT_RUNS: usize = 5;
const TIME: &str = "/usr/bin/time";

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let runs = if bench_mode {
        std::env::var("PREFLIGHT_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_RUNS)
            .max(1)
    } else {
        1
    };
    let target = target_dir();
    std::fs::create_dir_all(&target).expect("create the target directory");
    let (tree_name, services) = if bench_mode {
        ("bench-tree", SERVICES)
    } else {
        ("bench-tree-smoke", SMOKE_SERVICES)
    };
    let tree = target.join(tree_name);
    let generated = ensure_tree(&tree, services);

    println!();
    println!(
        "preflight check vs ruff: whole-tree benchmark{}",
        if bench_mode { "" } else { " (smoke run)" }
    );
    println!(
        "  tree: {} ({} Python files, {} env files, {:.1} MiB, {} lines of Python){}",
        tree.display(),
        generated.python_files,
        generated.env_files,
        generated.bytes as f64 / (1024.0 * 1024.0),
        generated.python_lines,
        if generated.fresh {
            ", generated now"
        } else {
            ", reused"
        }
    );
    println!("  preflight: {}", env!("CARGO_BIN_EXE_preflight"));

    let ruff = if bench_mode {
        ensure_ruff(&target)
    } else {
        None
    };
    match &ruff {
        Some(r) => println!("  ruff: {} ({})", r.version, r.path.display()),
        None if bench_mode => println!("  ruff: unavailable (see above); preflight only"),
        None => println!("  ruff: skipped in the smoke run"),
    }
    let measure_with_time = Path::new(TIME).exists();
    println!(
        "  peak RSS from: {}",
        if measure_with_time {
            "/usr/bin/time -v (Maximum resident set size)"
        } else {
            "sampling /proc/<pid>/status VmHWM every 2 ms"
        }
    );
    println!(
        "  cores: {}; runs: 1 warm-up + {runs} timed per tool, alternating; files are in the page cache",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let preflight_cmd = Tool {
        name: "preflight check --no-cache --format json".to_string(),
        program: PathBuf::from(env!("CARGO_BIN_EXE_preflight")),
        args: vec![
            "check".into(),
            "--no-cache".into(),
            tree_name.into(),
            "--format".into(),
            "json".into(),
        ],
    };
    let ruff_cmd = ruff.as_ref().map(|r| Tool {
        name: "ruff check --select S --no-cache".to_string(),
        program: r.path.clone(),
        args: vec![
            "check".into(),
            "--select".into(),
            "S".into(),
            "--no-cache".into(),
            "--output-format".into(),
            "json".into(),
            tree_name.into(),
        ],
    });
    let tools: Vec<&Tool> = std::iter::once(&preflight_cmd)
        .chain(ruff_cmd.as_ref())
        .collect();

    // Warm-up (also the run whose output is counted).
    let mut findings = Vec::new();
    for tool in &tools {
        let run = tool.run(&target, measure_with_time);
        findings.push(count_findings(&run.stdout));
        if !run.ok_status {
            println!(
                "  warning: {} exited with {}; stderr: {}",
                tool.name, run.status, run.stderr_tail
            );
        }
    }
    let mut results: Vec<Vec<Run>> = tools.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (tool, out) in tools.iter().zip(results.iter_mut()) {
            out.push(tool.run(&target, measure_with_time));
        }
    }

    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>12} {:>14} {:>9}",
        "", "median", "min", "max", "CPU (u+s)", "peak RSS", "findings"
    );
    for ((tool, runs), found) in tools.iter().zip(&results).zip(&findings) {
        let mut walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
        walls.sort();
        let mut cpus: Vec<Duration> = runs.iter().filter_map(|r| r.cpu).collect();
        cpus.sort();
        let peak = runs.iter().filter_map(|r| r.peak_rss_kib).max();
        println!(
            "{:<34} {:>10} {:>10} {:>10} {:>12} {:>14} {:>9}",
            tool.name,
            fmt_s(median(&walls)),
            fmt_s(walls[0]),
            fmt_s(*walls.last().expect("at least one run")),
            if cpus.is_empty() {
                "n/a".to_string()
            } else {
                fmt_s(median(&cpus))
            },
            peak.map_or("n/a".to_string(), |k| format!(
                "{:.1} MiB",
                k as f64 / 1024.0
            )),
            found.map_or("?".to_string(), |n| n.to_string()),
        );
    }
    if results.len() == 2 {
        let p = median_wall(&results[0]);
        let r = median_wall(&results[1]);
        println!(
            "preflight / ruff median wall time: {:.2}x ({})",
            p.as_secs_f64() / r.as_secs_f64(),
            if p < r {
                "preflight faster"
            } else {
                "ruff faster"
            }
        );
    }
    if let Some(ruff) = &ruff {
        if let Some(n) = ruff_file_count(&ruff.path, &target, tree_name) {
            println!("ruff --show-files lists {n} Python files in the tree");
        }
    }

    // Cross-check and single-threaded reference.
    let reference = in_process(&tree);
    let expected = reference.findings;
    println!(
        "in-process, one thread, all {} files: tree-sitter parse {} + analysis {} = {}",
        reference.files,
        fmt_s(reference.parse),
        fmt_s(reference.analyse),
        fmt_s(reference.parse + reference.analyse),
    );
    let checked = reference.parse + reference.analyse;
    println!(
        "  project model before it (facts of the settings and deployment files, then the project): {} = +{:.1}% on the parse + analysis ({:.1}% of the whole cold check)",
        fmt_s(reference.model),
        100.0 * reference.model.as_secs_f64() / checked.as_secs_f64(),
        100.0 * reference.model.as_secs_f64() / (checked + reference.model).as_secs_f64(),
    );
    println!(
        "  {} findings at warning or above ({}); {} of {} Python files mention getenv/environ/decouple/pydantic",
        expected,
        reference
            .by_rule
            .iter()
            .map(|(r, n)| format!("{r} x{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        reference.python_files_with_env_words,
        generated.python_files,
    );
    if findings[0] != Some(expected) {
        println!(
            "  note: preflight check reported {:?} findings, the in-process count is {expected}",
            findings[0]
        );
    }
    println!();
}

// ---------------------------------------------------------------------------------------------
// Paths

// ---------------------------------------------------------------------------------------------
// Running a tool

struct Tool {
    name: String,
    program: PathBuf,
    args: Vec<String>,
}

struct Run {
    wall: Duration,
    cpu: Option<Duration>,
    peak_rss_kib: Option<u64>,
    stdout: Vec<u8>,
    status: String,
    ok_status: bool,
    stderr_tail: String,
}

impl Tool {
    /// Runs the tool with `cwd` as the working directory. Exit codes 0 and 1 (findings) are fine.
    fn run(&self, cwd: &Path, with_time: bool) -> Run {
        if with_time {
            let start = Instant::now();
            let output = Command::new(TIME)
                .arg("-v")
                .arg(&self.program)
                .args(&self.args)
                .current_dir(cwd)
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("run {}: {e}", self.name));
            let wall = start.elapsed();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            let field = |name: &str| -> Option<&str> {
                stderr
                    .lines()
                    .find_map(|l| l.trim().strip_prefix(name)?.trim().strip_prefix(':'))
                    .map(str::trim)
            };
            let secs = |name: &str| field(name).and_then(|v| v.parse::<f64>().ok());
            let cpu = match (secs("User time (seconds)"), secs("System time (seconds)")) {
                (Some(u), Some(s)) => Some(Duration::from_secs_f64(u + s)),
                _ => None,
            };
            let peak_rss_kib =
                field("Maximum resident set size (kbytes)").and_then(|v| v.parse().ok());
            // GNU time reports the child's exit status as "Exit status: N".
            let code = field("Exit status").and_then(|v| v.parse::<i32>().ok());
            Run {
                wall,
                cpu,
                peak_rss_kib,
                status: code.map_or(format!("{}", output.status), |c| c.to_string()),
                ok_status: matches!(code, Some(0 | 1)),
                stderr_tail: tail(&stderr),
                stdout: output.stdout,
            }
        } else {
            self.run_sampling(cwd)
        }
    }

    /// Without `/usr/bin/time`: sample VmHWM while the process runs (its last sample before exit
    /// is the peak, up to the sampling interval).
    fn run_sampling(&self, cwd: &Path) -> Run {
        use std::io::Read;
        let start = Instant::now();
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.name));
        let pid = child.id();
        let mut stdout_pipe = child.stdout.take().expect("stdout");
        let mut stderr_pipe = child.stderr.take().expect("stderr");
        let out_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout_pipe.read_to_end(&mut buf);
            buf
        });
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut buf);
            buf
        });
        let mut peak = None;
        let mut cpu_ticks = None;
        let status = loop {
            if let Some(kib) = proc_status_kib(pid, "VmHWM") {
                peak = Some(peak.map_or(kib, |p: u64| p.max(kib)));
            }
            if let Some(t) = proc_cpu_ticks(pid) {
                cpu_ticks = Some(t);
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => panic!("wait for {}: {e}", self.name),
            }
        };
        let wall = start.elapsed();
        let stdout = out_reader.join().unwrap_or_default();
        let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
        Run {
            wall,
            // USER_HZ is 100 on mainstream Linux; the last sample misses the final moments.
            cpu: cpu_ticks.map(|t| Duration::from_millis(t * 10)),
            peak_rss_kib: peak,
            status: format!("{status}"),
            ok_status: matches!(status.code(), Some(0 | 1)),
            stderr_tail: tail(&stderr),
            stdout,
        }
    }
}

fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// Both tools print a JSON array with one element per finding.
fn count_findings(stdout: &[u8]) -> Option<usize> {
    serde_json::from_slice::<Value>(stdout)
        .ok()?
        .as_array()
        .map(Vec::len)
}

fn ruff_file_count(ruff: &Path, cwd: &Path, tree: &str) -> Option<usize> {
    let output = Command::new(ruff)
        .args(["check", "--select", "S", "--no-cache", "--show-files", tree])
        .current_dir(cwd)
        .output()
        .ok()?;
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| l.trim_end().ends_with(".py"))
            .count(),
    )
}

fn median(sorted: &[Duration]) -> Duration {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

fn median_wall(runs: &[Run]) -> Duration {
    let mut walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
    walls.sort();
    median(&walls)
}

fn fmt_s(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

// ---------------------------------------------------------------------------------------------
// ruff

struct Ruff {
    path: PathBuf,
    version: String,
}

fn ensure_ruff(target: &Path) -> Option<Ruff> {
    let venv = target.join("bench-venv");
    let ruff = venv.join("bin").join("ruff");
    let succeeded = |cmd: &mut Command, what: &str| -> bool {
        match cmd.output() {
            Ok(out) if out.status.success() => true,
            Ok(out) => {
                println!(
                    "  ruff: {what} failed ({}): {}",
                    out.status,
                    tail(&String::from_utf8_lossy(&out.stderr))
                );
                false
            }
            Err(e) => {
                println!("  ruff: {what} failed: {e}");
                false
            }
        }
    };
    if !ruff.exists() {
        println!("  ruff: installing from PyPI into {}", venv.display());
        if !venv.join("bin").join("pip").exists()
            && !succeeded(
                Command::new("python3").args(["-m", "venv"]).arg(&venv),
                "python3 -m venv",
            )
        {
            return None;
        }
        if !succeeded(
            Command::new(venv.join("bin").join("pip")).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "ruff",
            ]),
            "pip install ruff",
        ) {
            return None;
        }
    }
    let version = Command::new(&ruff).arg("--version").output().ok()?;
    if !version.status.success() {
        println!("  ruff: `ruff --version` failed");
        return None;
    }
    Some(Ruff {
        path: ruff,
        version: String::from_utf8_lossy(&version.stdout).trim().to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// In-process reference

struct InProcess {
    findings: usize,
    by_rule: BTreeMap<&'static str, usize>,
    files: usize,
    python_files_with_env_words: usize,
    parse: Duration,
    analyse: Duration,
    /// Every file's facts and the project built from them.
    model: Duration,
}

/// Every file analysed on this thread, the way `check_file` does it, with the parse timed apart
/// from the rest of the analysis.
fn in_process(tree: &Path) -> InProcess {
    let mut files = Vec::new();
    collect_files(tree, &mut files);
    files.sort();
    let texts: Vec<(PathBuf, FileKind, String)> = files
        .into_iter()
        .filter_map(|p| {
            let kind = preflight::project::scan::kind_of(&p)?;
            let text = std::fs::read_to_string(&p).ok()?;
            Some((p, kind, text))
        })
        .collect();
    let config = Config::new(tree.to_path_buf(), None, Options::default());
    // The project model first, as `preflight check` builds it: the facts of every file that is
    // judged inside the project (settings modules and deployment files; the rest give theirs from
    // their own analysis, one parse each), then the project.
    let model_start = Instant::now();
    let mut builder = preflight::project::ProjectBuilder::new(Some(tree));
    // What git ignores around the tree, as `check` reads it (the tree sits in an ignored folder).
    builder.read_repository();
    let mut facts = Vec::with_capacity(texts.len());
    for (path, kind, text) in &texts {
        let f = preflight::project::depends_on_other_files(path, *kind, text)
            .then(|| std::sync::Arc::new(preflight::project::facts::extract(path, *kind, text)));
        if let Some(f) = &f {
            builder.file(path, *kind, f.clone());
        }
        facts.push(f);
    }
    let project = builder.build();
    let model = model_start.elapsed();
    let mut out = InProcess {
        findings: 0,
        by_rule: BTreeMap::new(),
        files: texts.len(),
        python_files_with_env_words: 0,
        parse: Duration::ZERO,
        analyse: Duration::ZERO,
        model,
    };
    for ((path, kind, text), facts) in texts.iter().zip(&facts) {
        if !kind.is_checked() {
            continue;
        }
        let start = Instant::now();
        let parsed = (*kind == FileKind::Python).then(|| python::parse(text, None));
        let parsed_at = Instant::now();
        let analysis = analyse(
            &Input {
                path,
                text,
                kind: *kind,
                tree: parsed.as_ref(),
                project: &project,
                facts: facts.as_deref(),
            },
            &config.filter_for(path),
        );
        out.parse += parsed_at - start;
        out.analyse += parsed_at.elapsed();
        if *kind == FileKind::Python
            && ["getenv", "environ", "decouple", "pydantic"]
                .iter()
                .any(|w| text.contains(w))
        {
            out.python_files_with_env_words += 1;
        }
        for d in analysis.diagnostics {
            if d.severity >= Severity::Warning {
                out.findings += 1;
                *out.by_rule.entry(d.rule).or_insert(0) += 1;
            }
        }
    }
    out
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect_files(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The generated tree

struct Generated {
    python_files: usize,
    env_files: usize,
    python_lines: usize,
    bytes: u64,
    fresh: bool,
}

/// A small deterministic generator (xorshift64*), so every machine benchmarks the same tree.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const APPS: &[&str] = &[
    "accounts", "billing", "catalog", "orders", "payments", "shipping", "support", "reports",
];
const MODULES: &[&str] = &[
    "models",
    "views",
    "serializers",
    "services",
    "tasks",
    "urls",
    "admin",
    "forms",
    "utils",
    "signals",
    "tests/test_views",
    "tests/test_models",
];
const NOUNS: &[&str] = &[
    "invoice", "customer", "product", "order", "shipment", "ticket", "report", "refund", "coupon",
    "address", "payment", "review", "session", "webhook", "export",
];

fn marker_text(services: usize) -> String {
    format!("generator={GENERATOR_VERSION} services={services}\n")
}

fn ensure_tree(tree: &Path, services: usize) -> Generated {
    let marker = tree.with_extension("version");
    let fresh = std::fs::read_to_string(&marker).ok() != Some(marker_text(services));
    if fresh {
        let _ = std::fs::remove_dir_all(tree);
        let _ = std::fs::remove_file(&marker);
        generate_tree(tree, services);
        std::fs::write(&marker, marker_text(services)).expect("write the tree marker");
    }
    let mut files = Vec::new();
    collect_files(tree, &mut files);
    let mut generated = Generated {
        python_files: 0,
        env_files: 0,
        python_lines: 0,
        bytes: 0,
        fresh,
    };
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        generated.bytes += text.len() as u64;
        match FileKind::from_path(f) {
            Some(FileKind::Python) => {
                generated.python_files += 1;
                generated.python_lines += text.lines().count();
            }
            Some(FileKind::DotEnv) => generated.env_files += 1,
            _ => {}
        }
    }
    generated
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create a tree directory");
    }
    std::fs::write(path, text).expect("write a tree file");
}

fn generate_tree(tree: &Path, services: usize) {
    for s in 0..services {
        let service = tree.join(format!("svc{s:02}"));
        let mut rng = Rng::new(s as u64 + 1);
        write(&service.join("config/__init__.py"), "");
        write(
            &service.join("config/settings.py"),
            &settings_module(s, &mut rng),
        );
        write(
            &service.join("config/urls.py"),
            &python_module(&mut rng, 100, false, false),
        );
        let wsgi = python_module(&mut rng, 100, false, true).replacen(
            "\n\n\n",
            "\n\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"config.settings\")\n\n\n",
            1,
        );
        write(&service.join("config/wsgi.py"), &wsgi);
        for app in APPS {
            for module in MODULES {
                let path = service.join(format!("apps/{app}/{module}.py"));
                let lines = 100 + rng.below(201);
                // Environment reads live in settings; a few service, task and utility modules
                // read a variable or two of their own.
                let reads_env = matches!(*module, "services" | "tasks" | "utils") && rng.chance(20);
                write(&path, &python_module(&mut rng, lines, true, reads_env));
            }
        }
        write_deployment_files(&service, s);
        write(&service.join(".env.example"), &env_example(s));
        if s % 5 == 0 {
            write(&service.join(".env.production"), &env_production(s));
        }
        if s % 3 == 0 {
            write(&service.join(".env"), &env_plain(s));
        }
    }
}

/// What deploys a service: a Dockerfile, a compose file, an entrypoint, requirements; every
/// other service also has split settings whose base production overrides.
fn write_deployment_files(service: &Path, s: usize) {
    write(
        &service.join("Dockerfile"),
        &format!(
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n{}ENTRYPOINT [\"/app/docker/entrypoint.sh\"]\nCMD [\"gunicorn\", \"config.wsgi:application\", \"--bind\", \"0.0.0.0:8000\"]\n",
            if s % 2 == 0 { "USER 10001\n" } else { "" }
        ),
    );
    write(
        &service.join("docker-compose.yml"),
        &format!(
            "services:\n  web:\n    build: .\n    ports:\n      - \"80{s:02}:8000\"\n    environment:\n      DJANGO_SETTINGS_MODULE: config.settings\n      DB_PASSWORD: ${{DB_PASSWORD:-postgres}}\n      DJANGO_SECRET_KEY: ${{DJANGO_SECRET_KEY:?set it}}\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${{DB_PASSWORD:?set it}}\n"
        ),
    );
    write(
        &service.join("docker/entrypoint.sh"),
        "#!/bin/sh\nset -e\npython manage.py migrate --noinput\nexec \"$@\"\n",
    );
    write(
        &service.join("requirements.txt"),
        "Django==5.2.1\ncelery>=5.3\ngunicorn==23.0.0\npsycopg[binary]==3.2.3\nrequests\n",
    );
    if s % 2 == 1 {
        write(
            &service.join("config/settings_split/base.py"),
            "INSTALLED_APPS = [\"django.contrib.admin\"]\nDEBUG = True\nALLOWED_HOSTS = [\"*\"]\n",
        );
        write(
            &service.join("config/settings_split/production.py"),
            "import os\n\nfrom .base import *\n\nDEBUG = False\nALLOWED_HOSTS = os.environ[\"DJANGO_ALLOWED_HOSTS\"].split(\",\")\n",
        );
    }
}

fn settings_module(s: usize, rng: &mut Rng) -> String {
    let mut out = format!(
        r#""""Django settings for service {s}."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "django-insecure-{s}-k3y")
DEBUG = os.getenv("DEBUG", "{debug}") == "True"
ALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "{hosts}").split(",")
CORS_ALLOWED_ORIGINS = os.getenv("CORS_ALLOWED_ORIGINS", "http://localhost:3000").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
]

DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.getenv("DB_NAME", "svc{s}"),
        "USER": os.getenv("DB_USER", "app"),
        "PASSWORD": os.getenv("DB_PASSWORD", "postgres"),
        "HOST": os.getenv("DB_HOST", "localhost"),
        "PORT": int(os.getenv("DB_PORT", "5432")),
    }}
}}

STRIPE_API_KEY = os.environ["STRIPE_API_KEY"]
SENTRY_DSN = os.getenv("SENTRY_DSN")
JWT_SECRET = os.getenv("JWT_SECRET", "dev")
LOG_LEVEL = os.getenv("LOG_LEVEL", "INFO")
"#,
        debug = if s % 2 == 0 { "True" } else { "False" },
        hosts = if s % 3 == 0 { "*" } else { "api.example.com" },
    );
    out.push('\n');
    let body = python_module(rng, 100, false, false);
    // Skip the generated module's own docstring and imports.
    out.push_str(
        body.split_once("\n\n\n")
            .map_or(&body[..], |(_, rest)| rest),
    );
    out
}

fn python_module(rng: &mut Rng, target_lines: usize, allow_risky: bool, reads_env: bool) -> String {
    let noun = rng.pick(NOUNS);
    let mut out = format!(
        "\"\"\"{} handling for the {noun} workflow.\"\"\"\n\nimport hashlib\nimport json\nimport logging\n{}import subprocess\nfrom datetime import datetime, timedelta\n\nimport requests\nfrom django.db import models\nfrom django.http import JsonResponse\n\nlogger = logging.getLogger(__name__)\n\n\n",
        camel(noun),
        if reads_env { "import os\n" } else { "" },
    );
    let mut n = 0;
    while out.lines().count() < target_lines {
        let noun = rng.pick(NOUNS);
        let chunk = match rng.below(if allow_risky { 6 } else { 5 }) {
            0 => model_chunk(noun, n),
            1 => function_chunk(noun, n, rng),
            2 => constants_chunk(noun, n, rng, reads_env),
            3 => service_chunk(noun, n),
            4 => comment_chunk(noun, n),
            _ => risky_chunk(noun, n, rng, reads_env),
        };
        out.push_str(&chunk);
        n += 1;
    }
    out
}

fn camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

fn model_chunk(noun: &str, n: usize) -> String {
    let class = camel(noun);
    format!(
        r#"class {class}{n}(models.Model):
    """A stored {noun}."""

    reference = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["reference"])]

    def __str__(self):
        return f"{noun} {{self.reference}}"

    def is_recent(self, days=7):
        return self.created_at >= datetime.now() - timedelta(days=days)


"#
    )
}

fn function_chunk(noun: &str, n: usize, rng: &mut Rng) -> String {
    let limit = 10 + rng.below(90);
    format!(
        r#"def load_{noun}s_{n}(client, page=1, limit={limit}):
    """Fetch a page of {noun}s and index them by reference."""
    results = {{}}
    try:
        payload = client.get("/api/{noun}s", params={{"page": page, "limit": limit}})
    except ConnectionError as exc:
        logger.warning("could not load {noun}s: %s", exc)
        return results
    for item in payload.get("items", []):
        if not item.get("reference"):
            continue
        results[item["reference"]] = item
    logger.debug("loaded %d {noun}s", len(results))
    return results


"#
    )
}

fn constants_chunk(noun: &str, n: usize, rng: &mut Rng, reads_env: bool) -> String {
    let upper = noun.to_ascii_uppercase();
    let retries = 1 + rng.below(5);
    let env_line = if !reads_env {
        format!("{upper}_QUEUE_{n} = \"{noun}-default\"\n")
    } else if rng.chance(30) {
        format!("{upper}_QUEUE_{n} = os.environ.get(\"{upper}_QUEUE\", \"default\")\n")
    } else {
        format!("{upper}_QUEUE_{n} = os.environ[\"{upper}_QUEUE\"]\n")
    };
    format!(
        r#"{upper}_SETTINGS_{n} = {{
    "retries": {retries},
    "timeout": 30,
    "endpoints": ["/v1/{noun}s", "/v1/{noun}s/search"],
    "labels": {{"team": "platform", "owner": "{noun}-squad"}},
}}
{env_line}

"#
    )
}

fn service_chunk(noun: &str, n: usize) -> String {
    let class = camel(noun);
    format!(
        r#"class {class}Service{n}:
    """Business operations on {noun}s."""

    def __init__(self, repository, notifier=None):
        self.repository = repository
        self.notifier = notifier

    def create(self, data):
        reference = data.get("reference") or self._new_reference()
        item = self.repository.create(reference=reference, metadata=data)
        if self.notifier is not None:
            self.notifier.send("{noun}.created", {{"reference": reference}})
        return item

    def summary(self, item):
        text = json.dumps(item.metadata, sort_keys=True)
        return text if len(text) < 120 else text[:117] + "..."

    def _new_reference(self):
        return datetime.now().strftime("{noun}-%Y%m%d%H%M%S%f")


"#
    )
}

fn comment_chunk(noun: &str, n: usize) -> String {
    format!(
        "# ---------------------------------------------------------------------------\n\
         # {n}: {noun} helpers. Keep these small; the views call them on every request\n\
         # and the tasks call them in batches of a few hundred.\n\
         # ---------------------------------------------------------------------------\n\n\n"
    )
}

/// Code that security linters (and sometimes Preflight) have something to say about.
fn risky_chunk(noun: &str, n: usize, rng: &mut Rng, reads_env: bool) -> String {
    let upper = noun.to_ascii_uppercase();
    match rng.below(5) {
        0 => format!(
            r#"def export_{noun}s_{n}(path):
    command = "tar czf " + path + " /var/data/{noun}s"
    return subprocess.call(command, shell=True)


"#
        ),
        1 => format!(
            r#"def fingerprint_{noun}_{n}(data):
    return hashlib.md5(json.dumps(data).encode()).hexdigest()


"#
        ),
        2 => format!(
            r#"def fetch_{noun}_{n}(url):
    response = requests.get(url, timeout=10, verify=False)
    return response.json()


"#
        ),
        3 if !reads_env => format!(
            r#"DEFAULT_{upper}_PASSWORD = "hunter2"


"#
        ),
        3 => format!(
            r#"{upper}_WEBHOOK_TOKEN_{n} = os.getenv("{upper}_WEBHOOK_TOKEN", "changeme-{n}")
DEFAULT_{upper}_PASSWORD = "hunter2"


"#
        ),
        _ => format!(
            r#"def start_{noun}_worker_{n}():
    try:
        host = "0.0.0.0"
        logger.info("worker listening on %s", host)
    except Exception:
        pass


"#
        ),
    }
}

fn env_example(s: usize) -> String {
    format!(
        "# Copy to .env and fill in.\nDJANGO_SECRET_KEY=\nDEBUG=False\nALLOWED_HOSTS=svc{s}.example.com\nDB_HOST=db\nDB_PASSWORD=\nSTRIPE_API_KEY=\nLOG_LEVEL=INFO\n"
    )
}

fn env_production(s: usize) -> String {
    format!(
        "DJANGO_SECRET_KEY=${{DJANGO_SECRET_KEY}}\nDEBUG=False\nALLOWED_HOSTS=svc{s}.example.com\nCORS_ORIGINS=http://localhost:3000,https://app.example.com\nDB_HOST=127.0.0.1\nDATABASE_URL=postgres://app:S3cr3tPassw0rd@db.internal:5432/svc{s}\nLOG_LEVEL=INFO\n"
    )
}

fn env_plain(s: usize) -> String {
    format!(
        "DEBUG=True\nDATABASE_URL=postgres://app@db-old/svc{s}\nLOG_LEVEL=DEBUG\nDATABASE_URL=postgres://app@db/svc{s}\n"
    )
}
