//! Edit -> diagnostics latency of `preflight server --stdio` on a large Python module.
//!
//! Run with `cargo bench --bench lsp_latency`. This is a benchmark, not a test: it reports numbers
//! and asserts nothing about them. Without `--bench` (as `cargo test --benches` runs it) it does a
//! short smoke run of the same code path.
//!
//! What it does:
//! 1. Generates a realistic 3,600-line Django-style `settings.py` (settings, models, serializers,
//!    views, dicts, comments) with environment reads that produce findings spread through it.
//! 2. Spawns the bench-profile binary as `preflight server --stdio`, initializes (UTF-16), opens
//!    the module, then sends single-character incremental `didChange` edits one at a time (typing
//!    into a comment, a string and a finding's default in the middle of the file, with occasional
//!    deletions). After each edit it waits for the `publishDiagnostics` that carries that edit's
//!    version and records edit-sent -> diagnostics-received latency.
//! 3. Replays the same edits in-process through the library (rope edit + `Tree::edit`,
//!    incremental reparse, config lookup, `analyse`, LSP conversion + JSON) and times each phase,
//!    plus a full parse and a full analysis, to show where the time goes.
//!
//! 4. Start-up in a large workspace: a generated 5,000-file project (Python modules, settings,
//!    compose files, Dockerfiles, requirements) as the workspace folder, the module opened right
//!    after `initialized`: open -> first diagnostics beside the same in an empty workspace, and
//!    how long the server's background scan of the workspace takes (until its `$/progress` ends).
//!
//! Environment: `PREFLIGHT_BENCH_EDITS` (default 1000) overrides the number of measured edits,
//! `PREFLIGHT_BENCH_LINES` (default 3600, at least 200) the size of the module.

#[path = "common/mod.rs"]
mod common;
use common::{proc_cpu_ticks, proc_status_kib, target_dir};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use preflight::analysis::{analyse, Diagnostic as Finding, Input};
use preflight::config::{Config, ConfigCache, Options};
use preflight::syntax::{python, FileKind};
use preflight::text::document::{Change, Document};
use preflight::text::{byte_to_position, LinePosition, PositionEncoding};
use serde_json::{json, Value};
use tower_lsp_server::ls_types as lsp;

const DEFAULT_LINES: usize = 3600;
const WARMUP_EDITS: usize = 50;
const DEFAULT_EDITS: usize = 1000;
const SMOKE_EDITS: usize = 20;
/// No single answer should take this long; if one does, the server is stuck.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let edits_measured = if bench_mode {
        std::env::var("PREFLIGHT_BENCH_EDITS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_EDITS)
    } else {
        SMOKE_EDITS
    };
    let warmup = if bench_mode { WARMUP_EDITS } else { 2 };

    let lines = std::env::var("PREFLIGHT_BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_LINES)
        .max(200);
    let module = generate_module(lines);
    let dir = target_dir().join("bench-lsp").join("proj");
    std::fs::create_dir_all(&dir).expect("create the benchmark directory");
    let path = dir.join("settings.py");
    std::fs::write(&path, &module.text).expect("write the benchmark module");
    let path = path.canonicalize().expect("canonical path");
    let uri = format!("file://{}", path.display());
    let edits = edit_script(&module, warmup + edits_measured);

    let initial = analyse_text(&path, &module.text);
    let mut by_rule = std::collections::BTreeMap::<&str, usize>::new();
    for d in &initial {
        *by_rule.entry(d.rule).or_default() += 1;
    }

    println!();
    println!(
        "preflight LSP latency benchmark{}",
        if bench_mode { "" } else { " (smoke run)" }
    );
    println!(
        "  module: {} lines, {} bytes, {} findings ({})",
        module.text.lines().count(),
        module.text.len(),
        initial.len(),
        by_rule
            .iter()
            .map(|(r, n)| format!("{r} x{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  edits: {warmup} warm-up + {edits_measured} measured single-character edits \
         (inserts into a comment, a dict string and a finding's default; every 8th is a deletion)"
    );
    println!("  binary: {}", env!("CARGO_BIN_EXE_preflight"));

    let server = run_server(&uri, &module.text, &edits, warmup);
    let inproc = run_in_process(&path, &module.text, &edits, warmup);

    println!();
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "", "p50", "p90", "p99", "max", "mean"
    );
    print_row(
        "edit -> publishDiagnostics (server, stdio)",
        &server.latencies,
    );
    println!("in-process, same edits and text:");
    for (name, samples) in &inproc.phases {
        print_row(&format!("  {name}"), samples);
    }
    print_row("  total of the phases above", &inproc.total);
    println!("in-process, whole file from scratch (final text):");
    print_row("  full parse (no old tree)", &inproc.full_parse);
    print_row("  analyse with its own full parse", &inproc.full_analyse);
    println!();
    println!(
        "open -> first diagnostics (cold: full parse + analysis): {}",
        fmt_ms(server.open_latency)
    );
    println!(
        "diagnostics per publish: {} (last edit)",
        server.last_diagnostic_count
    );
    match server.peak_rss_kib {
        Some(kib) => println!(
            "server peak RSS (VmHWM): {:.1} MiB; RSS at the end (VmRSS): {}",
            kib as f64 / 1024.0,
            server
                .rss_kib
                .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "n/a".into())
        ),
        None => println!("server peak RSS: unavailable (no /proc/<pid>/status)"),
    }
    if let Some(ticks) = server.cpu_ticks_during_edits {
        // Linux reports utime/stime in USER_HZ, which is 100 on every mainstream configuration.
        let ms = ticks as f64 * 10.0;
        println!(
            "server CPU time during the measured edits: {:.0} ms (user+sys), {:.3} ms per edit",
            ms,
            ms / edits_measured.max(1) as f64
        );
    }
    if !server.stderr.is_empty() {
        println!("server stderr ({} lines, first 10):", server.stderr.len());
        for line in server.stderr.iter().take(10) {
            println!("  {line}");
        }
    }

    let files = if bench_mode { WORKSPACE_FILES } else { 200 };
    let workspace = ensure_workspace(
        &target_dir().join("bench-lsp-workspace"),
        files,
        &module.text,
    );
    let opened = workspace.join("svc00").join("config").join("settings.py");
    let uri = format!("file://{}", opened.display());
    let empty = run_startup(&dir, &format!("file://{}", path.display()), &module.text);
    let large = run_startup(&workspace, &uri, &module.text);
    println!();
    println!("start-up (module opened right after `initialized`):");
    println!(
        "  open -> first diagnostics: {} in a {files}-file workspace, {} in an empty one",
        fmt_ms(large.open_latency),
        fmt_ms(empty.open_latency)
    );
    match large.scan {
        Some(scan) => println!(
            "  the background scan of the {files}-file workspace ended {} after `initialized` ({})",
            fmt_ms(scan),
            large.scan_message
        ),
        None => println!("  the background scan did not report its end"),
    }
    println!();
}

const WORKSPACE_FILES: usize = 5000;

struct Startup {
    open_latency: Duration,
    scan: Option<Duration>,
    scan_message: String,
}

/// A project of `files` files under `dir` (generated once per size): 50 services with Python
/// modules, a settings module (the benchmark module itself in the first), compose files,
/// Dockerfiles and requirements.
fn ensure_workspace(dir: &Path, files: usize, module: &str) -> PathBuf {
    let marker = dir.with_extension("version");
    let wanted = format!("files={files} module={}\n", module.len());
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return dir.canonicalize().expect("canonical workspace");
    }
    let _ = std::fs::remove_dir_all(dir);
    let services = 50;
    let per_service = files / services;
    for s in 0..services {
        let service = dir.join(format!("svc{s:02}"));
        let write = |relative: &str, text: &str| {
            let path = service.join(relative);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("create a folder");
            std::fs::write(path, text).expect("write a workspace file");
        };
        write(
            "config/settings.py",
            if s == 0 { module } else { SMALL_SETTINGS },
        );
        write(
            "Dockerfile",
            "FROM python:3.12-slim\nCOPY . /app\nCMD [\"gunicorn\", \"config.wsgi\"]\n",
        );
        write(
            "docker-compose.yml",
            "services:\n  web:\n    build: .\n    ports: [\"8000:8000\"]\n    environment:\n      DB_PASSWORD: ${DB_PASSWORD:-postgres}\n",
        );
        write("requirements.txt", "Django==5.2.1\ncelery\n");
        for i in 0..per_service.saturating_sub(4) {
            let mut text = format!("\"\"\"Module {i} of service {s}.\"\"\"\n\nimport logging\n\nlogger = logging.getLogger(__name__)\n\n");
            for f in 0..30 {
                text.push_str(&format!(
                    "\ndef handle_{f}(request, item_id):\n    logger.info(\"handling %s\", item_id)\n    return {{\"id\": item_id, \"n\": {f}}}\n"
                ));
            }
            write(&format!("apps/app{}/module{i}.py", i % 8), &text);
        }
    }
    std::fs::write(&marker, wanted).expect("write the workspace marker");
    dir.canonicalize().expect("canonical workspace")
}

const SMALL_SETTINGS: &str = "import os\n\nINSTALLED_APPS = [\"django.contrib.admin\"]\nSECRET_KEY = os.getenv(\"DJANGO_SECRET_KEY\", \"dev\")\nDEBUG = os.getenv(\"DEBUG\", \"False\") == \"True\"\n";

/// Starts a server with `root` as its workspace folder, opens `uri` right after `initialized`,
/// and times the first diagnostics and the end of the workspace scan.
fn run_startup(root: &Path, uri: &str, text: &str) -> Startup {
    let mut client = Client::spawn();
    let root_uri = format!("file://{}", root.display());
    client.initialize(&root_uri, true);
    let initialized =
        client.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let opened = client.send(&json!({
        "jsonrpc": "2.0", "method": "textDocument/didOpen",
        "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}
    }));
    let (at, _) = client.wait_diagnostics(1);
    let open_latency = at - opened;
    let (scan, scan_message) = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        client.wait_for("the end of the workspace scan", |v| {
            v["method"] == "$/progress" && v["params"]["value"]["kind"] == "end"
        })
    })) {
        Ok((end, value)) => (
            Some(end - initialized),
            value["params"]["value"]["message"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ),
        Err(_) => (None, String::new()),
    };
    client.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": null}));
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        client.wait_for("the shutdown response", |v| v["id"] == 2)
    }));
    client.send(&json!({"jsonrpc": "2.0", "method": "exit", "params": null}));
    let _ = client.child.wait();
    Startup {
        open_latency,
        scan,
        scan_message,
    }
}

// ---------------------------------------------------------------------------------------------
// Paths

// ---------------------------------------------------------------------------------------------
// The module and the edit script

struct Module {
    text: String,
    /// Places to type at: (line, column) in UTF-16 units (the text is ASCII).
    sites: Vec<(u32, u32)>,
}

#[derive(Clone, Debug)]
struct Edit {
    line: u32,
    start: u32,
    end: u32,
    text: String,
}

const HEADER: &str = r#""""Django settings and API views for the storefront project.

A large module on purpose: settings, models, serializers and views in one file.
"""

import json
import logging
import os
from datetime import timedelta
from pathlib import Path

from django.db import models
from django.http import JsonResponse
from django.views.decorators.http import require_http_methods
from rest_framework import serializers

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "django-insecure-change-me-0123456789")
DEBUG = os.getenv("DEBUG", "True") == "True"
ALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "*").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "corsheaders",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.getenv("DB_NAME", "app"),
        "USER": os.getenv("DB_USER", "app"),
        "PASSWORD": os.getenv("DB_PASSWORD", "postgres"),
        "HOST": os.getenv("DB_HOST", "localhost"),
        "PORT": int(os.getenv("DB_PORT", "5432")),
    }
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
}
"#;

const SERVICES: &[&str] = &[
    "billing",
    "catalog",
    "checkout",
    "delivery",
    "inventory",
    "loyalty",
    "payments",
    "pricing",
    "reviews",
    "search",
    "shipping",
    "support",
    "tax",
    "wishlist",
    "accounts",
    "analytics",
];

const TIERS: &[&str] = &["gold", "silver", "bronze", "internal"];

fn camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// One section of the module: env reads (some with findings), a dict, a model, a serializer and
/// a view. Returns the lines and the indexes of the comment line, the dict string line and the
/// secret read line inside the block.
fn block(i: usize) -> (Vec<String>, usize, usize, Option<usize>) {
    let name = format!("{}{}", SERVICES[i % SERVICES.len()], i / SERVICES.len());
    let upper = name.to_ascii_uppercase();
    let class = camel(&name);
    let tier = TIERS[i % TIERS.len()];
    let mut lines: Vec<String> = Vec::new();
    let mut push = |s: String| lines.push(s);
    push("# ---------------------------------------------------------------------------".into());
    push(format!("# Section {i}: the {name} service"));
    push("# ---------------------------------------------------------------------------".into());
    push(String::new());
    let secret_line = if i % 4 == 0 {
        push(format!(
            "{upper}_API_TOKEN = os.getenv(\"{upper}_API_TOKEN\", \"tok-{i}-dev\")"
        ));
        Some(4)
    } else {
        push(format!(
            "{upper}_API_TOKEN = os.environ[\"{upper}_API_TOKEN\"]"
        ));
        None
    };
    push(format!(
        "{upper}_TIMEOUT = int(os.getenv(\"{upper}_TIMEOUT\", \"30\"))"
    ));
    push(format!("{upper}_URL = os.environ[\"{upper}_URL\"]"));
    if i % 10 == 5 {
        push(format!(
            "{upper}_DEBUG = os.getenv(\"{upper}_DEBUG\", \"1\") == \"1\""
        ));
    } else {
        push(format!(
            "{upper}_ENABLED = os.getenv(\"{upper}_ENABLED\", \"true\").lower() == \"true\""
        ));
    }
    push(String::new());
    push(format!("{upper}_OPTIONS = {{"));
    push("    \"retries\": 3,".into());
    push("    \"backoff\": 0.5,".into());
    push(format!(
        "    \"endpoints\": [\"/v1/{name}\", \"/v1/{name}/items\"],"
    ));
    let dict_line = lines.len();
    lines.push(format!(
        "    \"labels\": {{\"team\": \"platform\", \"tier\": \"{tier}\"}},"
    ));
    let mut push = |s: String| lines.push(s);
    push("}".into());
    push(String::new());
    push(String::new());
    push(format!("class {class}Record(models.Model):"));
    push(format!("    \"\"\"A stored {name} record.\"\"\""));
    push(String::new());
    push("    name = models.CharField(max_length=200)".into());
    push("    created_at = models.DateTimeField(auto_now_add=True)".into());
    push("    payload = models.JSONField(default=dict)".into());
    push(String::new());
    push("    class Meta:".into());
    push("        ordering = [\"-created_at\"]".into());
    push("        indexes = [models.Index(fields=[\"name\"])]".into());
    push(String::new());
    push("    def __str__(self):".into());
    push("        return f\"{self.name} ({self.pk})\"".into());
    push(String::new());
    push("    def summary(self, limit=80):".into());
    push("        text = json.dumps(self.payload, sort_keys=True)".into());
    push("        if len(text) > limit:".into());
    push("            return text[: limit - 3] + \"...\"".into());
    push("        return text".into());
    push(String::new());
    push(String::new());
    push(format!(
        "class {class}Serializer(serializers.ModelSerializer):"
    ));
    push("    class Meta:".into());
    push(format!("        model = {class}Record"));
    push("        fields = [\"id\", \"name\", \"created_at\", \"payload\"]".into());
    push(String::new());
    push(String::new());
    push("@require_http_methods([\"GET\", \"POST\"])".into());
    push(format!("def {name}_view(request, pk=None):"));
    let comment_line = lines.len();
    lines.push("    # Fetch and validate the record before answering".into());
    let mut push = |s: String| lines.push(s);
    push("    if request.method == \"POST\":".into());
    push("        data = json.loads(request.body or b\"{}\")".into());
    push(format!(
        "        record = {class}Record.objects.create(name=data.get(\"name\", \"\"), payload=data)"
    ));
    push("        return JsonResponse({\"id\": record.pk}, status=201)".into());
    push(format!("    records = {class}Record.objects.all()[:50]"));
    push("    results = []".into());
    push("    for record in records:".into());
    push("        results.append({\"id\": record.pk, \"summary\": record.summary()})".into());
    push(format!(
        "    logger.info(\"listed %d {name} records\", len(results))"
    ));
    push("    return JsonResponse({\"results\": results})".into());
    push(String::new());
    push(String::new());
    (lines, comment_line, dict_line, secret_line)
}

fn generate_module(target_lines: usize) -> Module {
    let mut lines: Vec<String> = HEADER.lines().map(str::to_string).collect();
    let mut comments = Vec::new();
    let mut dicts = Vec::new();
    let mut secrets = Vec::new();
    let mut i = 0;
    loop {
        let (block_lines, c, d, s) = block(i);
        if lines.len() + block_lines.len() > target_lines {
            break;
        }
        let base = lines.len();
        comments.push(base + c);
        dicts.push(base + d);
        if let Some(s) = s {
            secrets.push(base + s);
        }
        lines.extend(block_lines);
        i += 1;
    }
    let mut n = 0;
    while lines.len() < target_lines {
        lines.push(format!("# End of module padding line {n}."));
        n += 1;
    }
    // Type in the middle of the file: a comment near the middle, a dict string a third of the
    // way down and a secret's default two thirds down.
    let comment = comments[comments.len() / 2];
    let dict = dicts[dicts.len() / 3];
    let secret = secrets[secrets.len() * 2 / 3];
    let comment_col = lines[comment].len();
    let dict_col = lines[dict].rfind('"').expect("dict line has a string");
    let secret_col = lines[secret].rfind('"').expect("secret line has a string");
    let mut text = lines.join("\n");
    text.push('\n');
    Module {
        text,
        sites: vec![
            (comment as u32, comment_col as u32),
            (dict as u32, dict_col as u32),
            (secret as u32, secret_col as u32),
        ],
    }
}

/// Single-character edits: 25 at one site, then the next; every 8th deletes the character typed
/// last at that site.
fn edit_script(module: &Module, count: usize) -> Vec<Edit> {
    let mut cursors: Vec<(u32, u32, u32)> = module
        .sites
        .iter()
        .map(|&(line, col)| (line, col, 0))
        .collect();
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    (0..count)
        .map(|k| {
            let site = (k / 25) % cursors.len();
            let (line, col, typed) = &mut cursors[site];
            if k % 8 == 7 && *typed > 0 {
                *col -= 1;
                *typed -= 1;
                Edit {
                    line: *line,
                    start: *col,
                    end: *col + 1,
                    text: String::new(),
                }
            } else {
                let edit = Edit {
                    line: *line,
                    start: *col,
                    end: *col,
                    text: (letters[k % letters.len()] as char).to_string(),
                };
                *col += 1;
                *typed += 1;
                edit
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The server over stdio

struct ServerResult {
    latencies: Vec<Duration>,
    open_latency: Duration,
    last_diagnostic_count: usize,
    peak_rss_kib: Option<u64>,
    rss_kib: Option<u64>,
    cpu_ticks_during_edits: Option<u64>,
    stderr: Vec<String>,
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<(Instant, Value)>,
    /// Messages read while waiting for something else.
    backlog: VecDeque<(Instant, Value)>,
    stderr: thread::JoinHandle<Vec<String>>,
}

impl Client {
    fn spawn() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(["server", "--stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn `preflight server --stdio`");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(v) = header.strip_prefix("Content-Length:") {
                        length = v.trim().parse::<usize>().ok();
                    }
                }
                let Some(length) = length else { return };
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let received = Instant::now();
                let Ok(value) = serde_json::from_slice::<Value>(&body) else {
                    continue;
                };
                if tx.send((received, value)).is_err() {
                    return;
                }
            }
        });
        let stderr = thread::spawn(move || {
            BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        Client {
            child,
            stdin,
            incoming: rx,
            backlog: VecDeque::new(),
            stderr,
        }
    }

    /// `initialize` with `root` as the workspace folder (UTF-16, versioned diagnostics, and
    /// `$/progress` when `progress`); returns the response.
    fn initialize(&mut self, root: &str, progress: bool) -> Value {
        self.send(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "processId": null,
                "rootUri": root,
                "workspaceFolders": [{"uri": root, "name": "bench"}],
                "capabilities": {
                    "general": {"positionEncodings": ["utf-16"]},
                    "textDocument": {"publishDiagnostics": {"versionSupport": true}},
                    "window": {"workDoneProgress": progress},
                },
            }
        }));
        self.wait_for("the initialize response", |v| v["id"] == 1).1
    }

    /// Writes one message; returns the instant just before the write.
    fn send(&mut self, message: &Value) -> Instant {
        let body = serde_json::to_vec(message).expect("serialize");
        let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        framed.extend_from_slice(&body);
        let sent = Instant::now();
        self.stdin.write_all(&framed).expect("write to the server");
        self.stdin.flush().expect("flush to the server");
        sent
    }

    /// Waits for the first message `wanted` accepts, answering server requests on the way.
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> (Instant, Value) {
        if let Some(i) = self.backlog.iter().position(|(_, v)| wanted(v)) {
            return self.backlog.remove(i).expect("present");
        }
        let deadline = Instant::now() + RESPONSE_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok((at, value)) => {
                    if value.get("method").is_some() && value.get("id").is_some() {
                        // A request from the server (e.g. client/registerCapability): accept.
                        let reply = json!({"jsonrpc": "2.0", "id": value["id"], "result": null});
                        self.send(&reply);
                        continue;
                    }
                    if wanted(&value) {
                        return (at, value);
                    }
                    self.backlog.push_back((at, value));
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {what} from the server within {RESPONSE_TIMEOUT:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the server closed its output while waiting for {what}")
                }
            }
        }
    }

    fn wait_diagnostics(&mut self, version: i32) -> (Instant, usize) {
        let (at, value) = self.wait_for(&format!("diagnostics for version {version}"), |v| {
            v["method"] == "textDocument/publishDiagnostics"
                && v["params"]["version"].as_i64() == Some(version as i64)
        });
        // Older publishes may be queued ahead of it; they are no longer interesting.
        self.backlog.retain(|(_, v)| {
            !(v["method"] == "textDocument/publishDiagnostics"
                && v["params"]["version"]
                    .as_i64()
                    .is_some_and(|old| old < version as i64))
        });
        let count = value["params"]["diagnostics"]
            .as_array()
            .map_or(0, Vec::len);
        (at, count)
    }
}

fn run_server(uri: &str, text: &str, edits: &[Edit], warmup: usize) -> ServerResult {
    let mut client = Client::spawn();
    let pid = client.child.id();
    let root = uri
        .rsplit_once('/')
        .map(|(dir, _)| dir.to_string())
        .unwrap_or_default();
    let init = client.initialize(&root, false);
    assert_eq!(
        init["result"]["capabilities"]["positionEncoding"], "utf-16",
        "the server should agree to UTF-16"
    );
    client.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));

    let opened = client.send(&json!({
        "jsonrpc": "2.0", "method": "textDocument/didOpen",
        "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}
    }));
    let (at, _) = client.wait_diagnostics(1);
    let open_latency = at - opened;

    let mut latencies = Vec::with_capacity(edits.len().saturating_sub(warmup));
    let mut last_diagnostic_count = 0;
    let mut cpu_before = None;
    for (k, edit) in edits.iter().enumerate() {
        if k == warmup {
            cpu_before = proc_cpu_ticks(pid);
        }
        let version = k as i32 + 2;
        let sent = client.send(&json!({
            "jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{
                    "range": {
                        "start": {"line": edit.line, "character": edit.start},
                        "end": {"line": edit.line, "character": edit.end},
                    },
                    "text": edit.text,
                }],
            }
        }));
        let (at, count) = client.wait_diagnostics(version);
        if k >= warmup {
            latencies.push(at - sent);
        }
        last_diagnostic_count = count;
    }
    let cpu_ticks_during_edits = match (cpu_before, proc_cpu_ticks(pid)) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    let peak_rss_kib = proc_status_kib(pid, "VmHWM");
    let rss_kib = proc_status_kib(pid, "VmRSS");

    client.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": null}));
    client.wait_for("the shutdown response", |v| v["id"] == 2);
    client.send(&json!({"jsonrpc": "2.0", "method": "exit", "params": null}));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                eprintln!("the server did not exit after `exit`; killing it");
                let _ = client.child.kill();
                let _ = client.child.wait();
                break;
            }
        }
    }
    drop(client.stdin);
    let stderr = client.stderr.join().unwrap_or_default();
    ServerResult {
        latencies,
        open_latency,
        last_diagnostic_count,
        peak_rss_kib,
        rss_kib,
        cpu_ticks_during_edits,
        stderr,
    }
}

// ---------------------------------------------------------------------------------------------
// In-process replay

struct InProcess {
    phases: Vec<(&'static str, Vec<Duration>)>,
    total: Vec<Duration>,
    full_parse: Vec<Duration>,
    full_analyse: Vec<Duration>,
}

fn analyse_text(path: &Path, text: &str) -> Vec<Finding> {
    let config = Config::new(PathBuf::new(), None, Options::default());
    analyse(
        &Input {
            path,
            text,
            kind: FileKind::Python,
            tree: None,
            project: &preflight::project::Project::default(),
            facts: None,
        },
        &config.filter_for(path),
    )
    .diagnostics
}

/// What the server does per edit, phase by phase: `State::change` (rope edit + `Tree::edit`),
/// `State::job_for` (config lookup), `AnalysisJob::run` (rope -> String, incremental reparse,
/// `analyse`, conversion to LSP diagnostics) and the publish (JSON serialization).
fn run_in_process(path: &Path, text: &str, edits: &[Edit], warmup: usize) -> InProcess {
    let encoding = PositionEncoding::Utf16;
    let configs = ConfigCache::default();
    let editor_options = Options::default();
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let uri: lsp::Uri = format!("file://{}", path.display())
        .parse()
        .expect("a valid URI");

    let mut document = Document::new_unparsed(text, FileKind::Python, 1);
    document.reparse();

    let names = [
        "apply edit (rope + Tree::edit)",
        "config lookup (job_for)",
        "rope -> String",
        "incremental reparse",
        "analyse (pre-parsed tree)",
        "to LSP diagnostics + JSON",
    ];
    let mut phases: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let mut total = Vec::new();
    for (k, edit) in edits.iter().enumerate() {
        let mut t = [Duration::ZERO; 6];
        let start = Instant::now();
        document.apply(
            &Change {
                range: Some((
                    LinePosition {
                        line: edit.line,
                        character: edit.start,
                    },
                    LinePosition {
                        line: edit.line,
                        character: edit.end,
                    },
                )),
                text: &edit.text,
            },
            encoding,
        );
        document.version = k as i32 + 2;
        let t0 = Instant::now();
        t[0] = t0 - start;

        let config = match configs.for_file(path) {
            Ok(Some(c)) => (*c).clone(),
            _ => Config::new(root.clone(), None, Options::default()),
        }
        .with_overrides(&editor_options);
        let snapshot = document.clone();
        let t1 = Instant::now();
        t[1] = t1 - t0;

        let current = snapshot.rope.to_string();
        let t2 = Instant::now();
        t[2] = t2 - t1;

        let tree = snapshot.parse(&current);
        let t3 = Instant::now();
        t[3] = t3 - t2;

        let filter = config.filter_for(path);
        let analysis = analyse(
            &Input {
                path,
                text: &current,
                kind: FileKind::Python,
                tree: tree.as_ref(),
                project: &preflight::project::Project::default(),
                facts: None,
            },
            &filter,
        );
        let t4 = Instant::now();
        t[4] = t4 - t3;

        let diagnostics: Vec<lsp::Diagnostic> = analysis
            .diagnostics
            .iter()
            .map(|d| to_lsp(d, &snapshot, encoding))
            .collect();
        let params = lsp::PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics,
            version: Some(snapshot.version),
        };
        let json = serde_json::to_string(&json!({
            "jsonrpc": "2.0",
            "method": "textDocument/publishDiagnostics",
            "params": params,
        }))
        .expect("serialize");
        std::hint::black_box(json);
        let t5 = Instant::now();
        t[5] = t5 - t4;

        document.tree = tree;
        if k >= warmup {
            for (phase, d) in phases.iter_mut().zip(t) {
                phase.push(d);
            }
            total.push(t5 - start);
        }
    }

    let final_text = document.text();
    let rounds = (edits.len() / 5).clamp(5, 200);
    let mut full_parse = Vec::new();
    let mut full_analyse = Vec::new();
    let filter = Config::new(root, None, Options::default()).filter_for(path);
    for _ in 0..rounds {
        let start = Instant::now();
        std::hint::black_box(python::parse(&final_text, None));
        full_parse.push(start.elapsed());
        let start = Instant::now();
        std::hint::black_box(analyse(
            &Input {
                path,
                text: &final_text,
                kind: FileKind::Python,
                tree: None,
                project: &preflight::project::Project::default(),
                facts: None,
            },
            &filter,
        ));
        full_analyse.push(start.elapsed());
    }
    InProcess {
        phases: names.into_iter().zip(phases).collect(),
        total,
        full_parse,
        full_analyse,
    }
}

fn to_lsp(d: &Finding, document: &Document, encoding: PositionEncoding) -> lsp::Diagnostic {
    let position = |byte| {
        let p = byte_to_position(&document.rope, byte, encoding);
        lsp::Position {
            line: p.line,
            character: p.character,
        }
    };
    lsp::Diagnostic {
        range: lsp::Range {
            start: position(d.range.start),
            end: position(d.range.end),
        },
        severity: Some(lsp::DiagnosticSeverity::WARNING),
        code: Some(lsp::NumberOrString::String(d.rule.to_string())),
        source: Some("preflight".to_string()),
        message: d.message.clone(),
        data: d.fix.as_ref().map(|f| json!({"fix": f.title})),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn print_row(name: &str, samples: &[Duration]) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let mean = if sorted.is_empty() {
        Duration::ZERO
    } else {
        sorted.iter().sum::<Duration>() / sorted.len() as u32
    };
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>10} {:>10}",
        name,
        fmt_ms(percentile(&sorted, 50.0)),
        fmt_ms(percentile(&sorted, 90.0)),
        fmt_ms(percentile(&sorted, 99.0)),
        fmt_ms(sorted.last().copied().unwrap_or_default()),
        fmt_ms(mean),
    );
}
