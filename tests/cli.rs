//! `preflight check`, `rules` and `explain`, run as a user runs them: the built binary on a
//! project on disk.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

struct Project {
    root: PathBuf,
}

impl Project {
    fn new(files: &[(&str, &[u8])]) -> Project {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "preflight-cli-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&root);
        for (path, content) in files {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        Project { root }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(args)
            .current_dir(&self.root)
            .output()
            .unwrap()
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).unwrap()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

const SETTINGS: &str = "import os\n\nJWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\nDEBUG = os.getenv(\"DEBUG\", \"True\") == \"True\"\nALLOWED_HOSTS = os.getenv(\"ALLOWED_HOSTS\", \"*\").split(\",\")\nLOG_LEVEL = os.getenv(\"LOG_LEVEL\", \"INFO\")\n";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_findings(o: &Output) -> Vec<Value> {
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Each finding as (path, start line, rule).
fn where_and_what(findings: &[Value]) -> Vec<(String, u64, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["start"]["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn text_output_shows_findings_with_excerpts_and_exits_1() {
    let p = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    let out = p.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("proj/settings.py:3:14: error SEC001 [secret-env-default]"),
        "{text}"
    );
    assert!(
        text.contains("3 | JWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")"),
        "{text}"
    );
    assert!(
        text.contains("  |              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"),
        "{text}"
    );
    assert!(text.contains("= fix (unsafe): Fail fast"), "{text}");
    // Info-level findings are not reported unless asked for.
    assert!(!text.contains("CFG015"), "{text}");
    assert!(
        text.contains("Found 3 problem(s) in 1 file(s): 2 error(s), 1 warning(s)"),
        "{text}"
    );
}

#[test]
fn json_output_has_the_documented_fields() {
    let p = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    let out = p.run(&["check", "--format", "json", "--severity", "info"]);
    assert_eq!(out.status.code(), Some(1));
    let findings = json_findings(&out);
    let rules: Vec<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["SEC001", "CFG001", "CFG002", "CFG015"]);
    let first = &findings[0];
    assert_eq!(first["name"], "secret-env-default");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["path"], "proj/settings.py");
    assert_eq!(first["start"], serde_json::json!({"line": 3, "column": 14}));
    assert_eq!(first["end"], serde_json::json!({"line": 3, "column": 44}));
    assert_eq!(first["fix"]["applicability"], "unsafe");
    assert_eq!(
        first["fix"]["edits"][0]["content"],
        "os.environ[\"JWT_SECRET\"]"
    );
    assert_eq!(findings[3]["severity"], "info");
    assert!(findings
        .iter()
        .all(|f| f["message"].as_str().is_some_and(|m| !m.is_empty())));
}

#[test]
fn columns_count_characters_not_bytes() {
    let p = Project::new(&[(
        "settings.py",
        "import os\nX = \"😀é\"; TOKEN = os.getenv(\"TOKEN\", \"t0k\")\n".as_bytes(),
    )]);
    let out = p.run(&["check", "--format", "json"]);
    let findings = json_findings(&out);
    assert_eq!(
        findings[0]["start"],
        serde_json::json!({"line": 2, "column": 19})
    );
}

#[test]
fn sarif_output_is_sarif_2_1_0() {
    let p = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    let out = p.run(&["check", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "preflight");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "SEC001");
    assert_eq!(result["level"], "error");
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "SEC001"
    );
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(3), Some(14))
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "proj/settings.py"
    );
    assert_eq!(
        result["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"],
        "os.environ[\"JWT_SECRET\"]"
    );
}

#[test]
fn github_output_is_workflow_commands() {
    let p = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    let out = p.run(&["check", "--format", "github"]);
    let text = stdout(&out);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("::error file=proj/settings.py,line=3,col=14,endLine=3,endColumn=44,title=preflight SEC001 (secret-env-default)::`JWT_SECRET` falls back"),
        "{first}"
    );
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn fix_rewrites_files_and_the_result_is_clean() {
    let p = Project::new(&[
        ("proj/settings.py", SETTINGS.as_bytes()),
        (".env", b"A=1\nA=2\n"),
    ]);
    let out = p.run(&["check", "--fix"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("Fixed 4 problem(s)"),
        "{}",
        stdout(&out)
    );
    let fixed = p.read("proj/settings.py");
    assert_eq!(
        fixed,
        "import os\n\nJWT_SECRET = os.environ[\"JWT_SECRET\"]\nDEBUG = os.getenv(\"DEBUG\", \"False\") == \"True\"\nALLOWED_HOSTS = os.environ[\"ALLOWED_HOSTS\"].split(\",\")\nLOG_LEVEL = os.getenv(\"LOG_LEVEL\", \"INFO\")\n"
    );
    assert_eq!(p.read(".env"), "A=2\n");
    // Running again finds nothing to do.
    assert_eq!(p.run(&["check"]).status.code(), Some(0));
}

#[test]
fn fix_without_unsafe_fixes_keeps_behaviour() {
    let p = Project::new(&[
        ("proj/settings.py", SETTINGS.as_bytes()),
        (".env", b"A=1\nA=2\n"),
    ]);
    let out = p.run(&["check", "--fix", "--no-unsafe-fixes"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(p.read("proj/settings.py"), SETTINGS);
    assert_eq!(p.read(".env"), "A=2\n");
}

#[test]
fn fix_adds_import_os_when_getenv_was_imported_by_name() {
    let p = Project::new(&[(
        "app/config.py",
        b"\"\"\"Config.\"\"\"\nfrom os import getenv\n\nAPI_KEY = getenv(\"API_KEY\", \"k-123\")\n",
    )]);
    let out = p.run(&["check", "--fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(p.read("app/config.py"), "\"\"\"Config.\"\"\"\nimport os\nfrom os import getenv\n\nAPI_KEY = os.environ[\"API_KEY\"]\n");
}

#[test]
fn clean_project_exits_0() {
    let p = Project::new(&[(
        "app/views.py",
        b"import os\nLOG_LEVEL = os.getenv(\"LOG_LEVEL\", \"INFO\")\n",
    )]);
    let out = p.run(&["check"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("No problems found."));
}

#[test]
fn select_ignore_and_configuration() {
    let p = Project::new(&[
        ("proj/settings.py", SETTINGS.as_bytes()),
        ("pyproject.toml", b"[project]\nname = \"x\"\n\n[tool.preflight]\nignore = [\"CFG001\"]\n[tool.preflight.severity]\nCFG002 = \"error\"\n"),
    ]);
    let findings = json_findings(&p.run(&["check", "--format", "json"]));
    let rules: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(rules, [("SEC001", "error"), ("CFG002", "error")]);
    let findings = json_findings(&p.run(&["check", "--format", "json", "--select", "CFG"]));
    assert_eq!(findings.len(), 1);
    let findings = json_findings(&p.run(&[
        "check",
        "--format",
        "json",
        "--ignore",
        "secret-env-default",
    ]));
    assert_eq!(findings.iter().filter(|f| f["rule"] == "SEC001").count(), 0);
}

#[test]
fn per_file_ignores_and_suppression_comments() {
    let p = Project::new(&[
        ("tests/settings.py", SETTINGS.as_bytes()),
        ("app/settings.py", b"import os\nTOKEN = os.getenv(\"TOKEN\", \"abc\")  # preflight: ignore[SEC001]\n# preflight: ignore\nPASSWORD = os.getenv(\"PASSWORD\", \"pw\")\n"),
        ("preflight.toml", b"[per-file-ignores]\n\"tests/**\" = [\"ALL\"]\n"),
    ]);
    let out = p.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn broken_configuration_is_an_error_with_a_clear_message() {
    let p = Project::new(&[
        ("proj/settings.py", SETTINGS.as_bytes()),
        ("preflight.toml", b"select = [\n"),
    ]);
    let out = p.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("preflight.toml"), "{}", stderr(&out));
    let p = Project::new(&[
        ("a.py", b"x = 1\n"),
        ("preflight.toml", b"ignore = [\"NOPE123\"]\n"),
    ]);
    let out = p.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("NOPE123"), "{}", stderr(&out));
    assert_eq!(
        p.run(&["check", "--select", "BOGUS"]).status.code(),
        Some(2)
    );
}

#[test]
fn missing_path_is_an_error() {
    let p = Project::new(&[("a.py", b"x = 1\n")]);
    let out = p.run(&["check", "does-not-exist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does-not-exist"));
}

#[test]
fn bad_files_are_skipped_with_a_note_and_nothing_is_lost() {
    let mut huge = b"x = 1\n".repeat(1_000_000);
    huge.extend_from_slice(b"TOKEN = __import__('os').getenv('TOKEN', 'x')\n");
    let p = Project::new(&[
        (
            "latin1.py",
            b"# caf\xe9\nimport os\nTOKEN = os.getenv('TOKEN', 'x')\n",
        ),
        ("blob.py", b"\x00\x01\x02binary"),
        ("huge.py", &huge),
        (
            "broken.py",
            b"import os\nTOKEN = os.getenv('TOKEN', 'x'\ndef (:\n",
        ),
        ("ok.py", b"x = 1\n"),
    ]);
    let out = p.run(&["check", "--format", "json"]);
    let err = stderr(&out);
    assert!(err.contains("latin1.py: skipped, not valid UTF-8"), "{err}");
    assert!(err.contains("blob.py: skipped, binary file"), "{err}");
    assert!(err.contains("huge.py: skipped"), "{err}");
    // A file with syntax errors is still analysed where it can be.
    let findings = json_findings(&out);
    assert!(
        findings.iter().all(|f| f["path"] == "broken.py"),
        "{findings:?}"
    );
    assert_eq!(
        std::fs::read(p.root.join("latin1.py")).unwrap(),
        b"# caf\xe9\nimport os\nTOKEN = os.getenv('TOKEN', 'x')\n"
    );
}

#[test]
fn gitignored_and_virtualenv_files_are_not_walked_but_explicit_paths_are() {
    let p = Project::new(&[
        (".gitignore", b"generated/\n"),
        ("generated/settings.py", SETTINGS.as_bytes()),
        (".venv/lib/site.py", SETTINGS.as_bytes()),
        ("app/ok.py", b"x = 1\n"),
    ]);
    std::fs::create_dir_all(p.root.join(".git")).unwrap();
    assert_eq!(p.run(&["check"]).status.code(), Some(0));
    assert_eq!(
        p.run(&["check", "generated/settings.py"]).status.code(),
        Some(1)
    );
}

#[test]
fn env_files_are_checked_and_examples_may_hold_placeholders() {
    let p = Project::new(&[
        (".env.production", b"CORS_ORIGINS=http://localhost:3000\nOPENAI_API_KEY=sk-proj-Zx81kf9QmB2pL0aTq7WvYc4RnE6uHs3D\n"),
        (".env.example", b"SECRET_KEY=change-me\nOPENAI_API_KEY=\nDATABASE_URL=postgres://user:<password>@db/app\n"),
    ]);
    let findings = json_findings(&p.run(&["check", "--format", "json"]));
    let found: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["rule"].as_str().unwrap()))
        .collect();
    // No `.gitignore` covers the production file and it holds a key: SEC002 says so.
    assert_eq!(
        found,
        [
            (".env.production", "CFG006"),
            (".env.production", "SEC002"),
            (".env.production", "SEC008")
        ]
    );
}

#[test]
fn rules_and_explain() {
    let p = Project::new(&[]);
    std::fs::create_dir_all(&p.root).unwrap();
    let out = p.run(&["rules"]);
    assert!(stdout(&out).contains("SEC001   error    secret-env-default"));
    let out = p.run(&["explain", "SEC001"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("# SEC001 `secret-env-default`") && text.contains("## Why is this bad?"),
        "{text}"
    );
    assert_eq!(stdout(&p.run(&["explain", "secret-env-default"])), text);
    assert_eq!(p.run(&["explain", "NOPE"]).status.code(), Some(2));
    let rules: Value =
        serde_json::from_slice(&p.run(&["rules", "--format", "json"]).stdout).unwrap();
    assert!(rules
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == "CFG015" && r["severity"] == "info"));
}

/// Reconstructions of what the audit reports found (FastAPI backend with a production env file,
/// Django settings with DEBUG defaulting to on): every finding in scope is reported.
#[test]
fn audit_findings_are_reported() {
    let api = r#"import os
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware


class NexusBackendAPI:
    def __init__(self):
        self.jwt_secret = os.getenv("NEXUS_JWT_SECRET", "nexus-production-secret-change-in-production")
        self.database_url = os.getenv("DATABASE_URL", "postgresql://nexus_user:nexus_password@postgres:5432/nexus_db")
        self.app = FastAPI()
        self.app.add_middleware(
            CORSMiddleware,
            allow_origins=os.getenv("CORS_ORIGINS", "http://localhost:3000,http://localhost:8080").split(","),
            allow_credentials=True,
        )
"#;
    let env = "# The current localhost origins are for LOCAL DOCKER TESTING ONLY\nOPENAI_API_KEY=sk-proj-4fQ9xLm2Vt7Rk1Zp8Wc3Hs6Bn0Jd5Ge\nCORS_ORIGINS=[\"http://localhost:3000\",\"http://localhost:3010\",\"http://localhost:8002\"]\n";
    let settings = "import os\n\nDEBUG = os.environ.get(\"DEBUG\", \"True\") == \"True\"\nSECRET_KEY = os.environ.get(\"SECRET_KEY\", \"django-insecure-$x9!\")\nALLOWED_HOSTS = os.environ.get(\"ALLOWED_HOSTS\", \"*\").split(\",\")\n";
    let p = Project::new(&[
        ("src/nexus_backend_api.py", api.as_bytes()),
        (".env.production", env.as_bytes()),
        ("nexus_backend/settings.py", settings.as_bytes()),
    ]);
    let found = where_and_what(&json_findings(&p.run(&["check", "--format", "json"])));
    let expected: Vec<(String, u64, String)> = [
        (".env.production", 2, "SEC002"),
        (".env.production", 2, "SEC008"),
        (".env.production", 3, "CFG006"),
        ("nexus_backend/settings.py", 3, "CFG001"),
        ("nexus_backend/settings.py", 4, "SEC001"),
        ("nexus_backend/settings.py", 5, "CFG002"),
        ("src/nexus_backend_api.py", 8, "SEC001"),
        ("src/nexus_backend_api.py", 9, "SEC001"),
        ("src/nexus_backend_api.py", 13, "CFG004"),
    ]
    .iter()
    .map(|(p, l, r)| (p.to_string(), *l, r.to_string()))
    .collect();
    assert_eq!(found, expected);
}

/// Reconstructions of the audits' code findings beyond configuration: an unsigned payment
/// callback and a Stripe webhook that skips verification on one branch, a check-then-create race,
/// a password in a log line, exception text returned to the client, a task that retries forever
/// with unbounded backoff, a bare except, a reloader in the server entrypoint, a setting assigned
/// twice, a weakened deploy setting and a committed Sentry DSN.
#[test]
fn audit_code_findings_are_reported() {
    let p = Project::new(&[
        (
            "api/views.py",
            r#"import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from main.models import Order


@csrf_exempt
def flexpay_callback_mobile(request):
    data = json.loads(request.body)
    order = Order.objects.get(reference=data["orderNumber"])
    order.status = "paid"
    order.save()
    return JsonResponse({"status": "ok"})
"#
            .as_bytes(),
        ),
        (
            "applications/api.py",
            r#"import logging

from ninja import Router
from ninja.errors import HttpError

from .models import Application
from .tasks import deploy_application

logger = logging.getLogger(__name__)
router = Router()


@router.post("/")
def create_application(request, payload: ApplicationIn):
    if Application.objects.filter(hostname=payload.hostname).exists():
        raise HttpError(409, "Hostname already in use")
    app = Application.objects.create(hostname=payload.hostname, owner=request.user)
    logger.info(f"Deploying {app.hostname} with root password {payload.root_password}")
    try:
        deploy_application.delay(app.id)
    except Exception as e:
        return 500, {"error": str(e)}
    return 201, {"id": app.id}
"#
            .as_bytes(),
        ),
        (
            "applications/tasks.py",
            r#"import logging

from celery import shared_task

from .models import Application

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=None)
def deploy_application(self, app_id):
    app = Application.objects.get(pk=app_id)
    try:
        app.provision()
    except ConnectionError as exc:
        raise self.retry(exc=exc, countdown=2 ** self.request.retries)


def capture_config(app):
    try:
        app.capture_config()
    except:
        logger.warning("config capture failed for %s", app.pk)
"#
            .as_bytes(),
        ),
        (
            "main.py",
            r#"import uvicorn
from fastapi import FastAPI

app = FastAPI()

if __name__ == "__main__":
    uvicorn.run("main:app", host="0.0.0.0", port=8000, reload=True)
"#
            .as_bytes(),
        ),
        (
            "nexus_backend/settings.py",
            r#"import os

import sentry_sdk

DEBUG = os.environ.get("DEBUG", "False") == "True"
STATIC_ROOT = os.path.join("/srv", "static")
SECURE_SSL_REDIRECT = False
STATIC_ROOT = "/var/www/static"

sentry_sdk.init(
    dsn="https://3f2a9c4e8b7d4f0e9a1b2c3d4e5f6a7b@o450123.ingest.sentry.io/5501234",
    traces_sample_rate=0.1,
)
"#
            .as_bytes(),
        ),
        (
            "payment_gateway/webhooks.py",
            r#"import json

import stripe
from django.conf import settings
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Transaction


@method_decorator(csrf_exempt, name="dispatch")
class StripeWebhookView(APIView):
    def post(self, request):
        if settings.USE_LOCALSTRIPE:
            event = json.loads(request.body)
        else:
            event = stripe.Webhook.construct_event(
                request.body, request.headers["Stripe-Signature"], settings.STRIPE_WEBHOOK_SECRET
            )
        Transaction.objects.create(reference=event["id"], status="succeeded")
        return Response(status=200)
"#
            .as_bytes(),
        ),
    ]);
    let found = where_and_what(&json_findings(&p.run(&["check", "--format", "json"])));
    let expected: Vec<(String, u64, String)> = [
        ("api/views.py", 10, "AUTH002"),
        ("applications/api.py", 17, "DB002"),
        ("applications/api.py", 18, "OPS001"),
        ("applications/api.py", 22, "ERR003"),
        ("applications/tasks.py", 10, "CEL001"),
        ("applications/tasks.py", 16, "CEL001"),
        ("applications/tasks.py", 22, "ERR001"),
        ("main.py", 7, "CFG017"),
        ("nexus_backend/settings.py", 6, "CFG011"),
        ("nexus_backend/settings.py", 7, "CFG016"),
        ("nexus_backend/settings.py", 11, "SEC005"),
        ("payment_gateway/webhooks.py", 16, "AUTH002"),
    ]
    .iter()
    .map(|(p, l, r)| (p.to_string(), *l, r.to_string()))
    .collect();
    assert_eq!(found, expected);
}

/// The number of files the cache in `dir` holds results for.
fn cached_files(dir: &std::path::Path) -> usize {
    std::fs::read(dir.join("results.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|v| v["entries"].as_object().map(|m| m.len()))
        .unwrap_or(0)
}

#[test]
fn a_warm_run_reports_exactly_what_the_cold_run_did_in_every_format() {
    let p = Project::new(&[
        ("proj/settings.py", SETTINGS.as_bytes()),
        (".env", b"A=1\nA=2\n"),
        ("app/views.py", b"import os\nX = 1\n"),
        ("bad.py", b"x = '\xff'\n"),
    ]);
    for format in ["text", "json", "sarif", "github"] {
        let args = ["check", "--severity", "hint", "--format", format];
        let uncached = p.run(&[&args[..], &["--no-cache"]].concat());
        let cold = p.run(&args);
        let warm = p.run(&args);
        for run in [&cold, &warm] {
            assert_eq!(run.status.code(), uncached.status.code(), "{format}");
            assert_eq!(stdout(run), stdout(&uncached), "{format}");
            // Notes on skipped files are the same with the cache.
            assert_eq!(stderr(run), stderr(&uncached), "{format}");
        }
    }
    let cache = p.root.join(".preflight_cache");
    assert_eq!(
        std::fs::read_to_string(cache.join(".gitignore")).unwrap(),
        "*\n"
    );
    assert!(std::fs::read_to_string(cache.join("CACHEDIR.TAG"))
        .unwrap()
        .starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
    assert_eq!(cached_files(&cache), 3);
}

#[test]
fn an_edited_file_is_analysed_again() {
    let p = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    let before = p.run(&["check", "--format", "json"]);
    assert_eq!(json_findings(&before).len(), 3);
    std::fs::write(
        p.root.join("proj/settings.py"),
        "import os\nJWT_SECRET = os.environ[\"JWT_SECRET\"]\n",
    )
    .unwrap();
    let after = p.run(&["check", "--format", "json"]);
    assert_eq!(after.status.code(), Some(0), "{}", stdout(&after));
    assert!(json_findings(&after).is_empty());
    // And back: the old finding returns at its old place.
    std::fs::write(p.root.join("proj/settings.py"), SETTINGS).unwrap();
    let again = p.run(&["check", "--format", "json"]);
    assert_eq!(stdout(&again), stdout(&before));
}

#[test]
fn a_changed_configuration_changes_cached_results() {
    let p = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    let rules = |o: &Output| -> Vec<String> {
        where_and_what(&json_findings(o))
            .into_iter()
            .map(|(_, _, rule)| rule)
            .collect()
    };
    let all = p.run(&["check", "--format", "json"]);
    assert_eq!(rules(&all), ["SEC001", "CFG001", "CFG002"]);
    std::fs::write(p.root.join("preflight.toml"), "ignore = [\"SEC001\"]\n").unwrap();
    let ignored = p.run(&["check", "--format", "json"]);
    assert_eq!(rules(&ignored), ["CFG001", "CFG002"]);
    std::fs::write(
        p.root.join("preflight.toml"),
        "[severity]\nCFG001 = \"hint\"\n",
    )
    .unwrap();
    let lowered = p.run(&["check", "--format", "json"]);
    assert_eq!(rules(&lowered), ["SEC001", "CFG002"]);
    let selected = p.run(&["check", "--format", "json", "--select", "CFG002"]);
    assert_eq!(rules(&selected), ["CFG002"]);
    std::fs::remove_file(p.root.join("preflight.toml")).unwrap();
    assert_eq!(stdout(&p.run(&["check", "--format", "json"])), stdout(&all));
}

#[test]
fn a_corrupt_cache_is_ignored() {
    let p = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    let cold = p.run(&["check", "--format", "json"]);
    let results = p.root.join(".preflight_cache/results.json");
    assert_eq!(cached_files(&p.root.join(".preflight_cache")), 1);
    let entry = std::fs::read(&results).unwrap();
    let damaged: Vec<Vec<u8>> = vec![
        entry[..entry.len() / 2].to_vec(),
        b"\xff\x00garbage".to_vec(),
        Vec::new(),
        b"{\"path\": 1}".to_vec(),
        // Well-formed, matching, but pointing past the end of the file.
        String::from_utf8(entry.clone())
            .unwrap()
            .replace("\"start\":", "\"start\":99999")
            .into_bytes(),
    ];
    for bytes in damaged {
        std::fs::write(&results, &bytes).unwrap();
        let out = p.run(&["check", "--format", "json"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(stdout(&out), stdout(&cold));
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
}

#[test]
fn no_cache_writes_no_cache_and_cache_dir_moves_it() {
    let p = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    let out = p.run(&["check", "--no-cache"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!p.root.join(".preflight_cache").exists());
    let out = p.run(&["check", "--cache-dir", "elsewhere/cache"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!p.root.join(".preflight_cache").exists());
    assert_eq!(cached_files(&p.root.join("elsewhere/cache")), 1);
}

#[test]
fn an_unwritable_cache_is_one_note_and_the_run_goes_on() {
    let p = Project::new(&[
        ("proj/settings.py", SETTINGS.as_bytes()),
        ("proj/other.py", SETTINGS.as_bytes()),
        ("not-a-dir", b"a file"),
    ]);
    let uncached = p.run(&["check", "--no-cache"]);
    let out = p.run(&["check", "--cache-dir", "not-a-dir/cache"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), stdout(&uncached));
    let notes = stderr(&out);
    assert_eq!(notes.lines().count(), 1, "{notes}");
    assert!(notes.contains("continuing without it"), "{notes}");
}

#[test]
fn fix_does_not_use_the_cache() {
    let p = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    // A cached result for the unfixed file exists...
    assert_eq!(p.run(&["check"]).status.code(), Some(1));
    let results = p.root.join(".preflight_cache/results.json");
    let before = std::fs::read(&results).unwrap();
    // ...and --fix still analyses and fixes the file, leaving the cache as it was.
    let out = p.run(&["check", "--fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("Fixed 3 problem(s)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read(&results).unwrap(), before);
    // Without a cache, --fix creates none.
    let q = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    assert_eq!(q.run(&["check", "--fix"]).status.code(), Some(0));
    assert!(!q.root.join(".preflight_cache").exists());
    // The next plain run sees the fixed file, not the cached findings.
    let out = p.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn checking_part_of_a_project_keeps_the_rest_of_the_cache_and_deleted_files_leave_it() {
    let p = Project::new(&[
        ("proj/settings.py", SETTINGS.as_bytes()),
        ("app/config.py", SETTINGS.as_bytes()),
    ]);
    let cache = p.root.join(".preflight_cache");
    p.run(&["check"]);
    assert_eq!(cached_files(&cache), 2);
    std::fs::write(p.root.join("proj/settings.py"), "X = 1\n").unwrap();
    assert_eq!(p.run(&["check", "proj"]).status.code(), Some(0));
    assert_eq!(cached_files(&cache), 2);
    std::fs::remove_file(p.root.join("app/config.py")).unwrap();
    std::fs::write(p.root.join("proj/settings.py"), SETTINGS).unwrap();
    assert_eq!(p.run(&["check"]).status.code(), Some(1));
    assert_eq!(cached_files(&cache), 1);
}

#[test]
fn the_same_file_named_differently_reports_as_without_the_cache() {
    let p = Project::new(&[("proj/settings.py", SETTINGS.as_bytes())]);
    for path in [
        "proj",
        "./proj/settings.py",
        "proj/settings.py",
        "proj/../proj",
    ] {
        let args = ["check", "--format", "json", path];
        let uncached = p.run(&[&args[..], &["--no-cache"]].concat());
        let cached = p.run(&args);
        assert_eq!(stdout(&cached), stdout(&uncached), "{path}");
    }
}

/// The settings files of the audit reports' projects (djangocms/Stripe backend: compose with
/// literal secrets and no healthcheck, an entrypoint that migrates, unpinned requirements, a
/// Dockerfile without USER or .dockerignore, a committed env file): each finding in every
/// output format.
#[test]
fn settings_file_findings_in_every_format() {
    let p = Project::new(&[
        (
            "compose.yaml",
            b"services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: postgres\n  backend:\n    build: .\n    ports:\n      - \"8000:8000\"\n    environment:\n      - DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-k9fT2qLz8wX4mN7pR1vB5cY3e}\n",
        ),
        (
            "Dockerfile",
            b"FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nENTRYPOINT [\"/app/entrypoint.sh\"]\n",
        ),
        (
            "entrypoint.sh",
            b"#!/bin/sh\nset -e\npython manage.py migrate --noinput\nexec gunicorn djangocms.wsgi:application --bind 0.0.0.0:8000\n",
        ),
        ("requirements.txt", b"Django==5.2.1\nstripe\ncelery\n"),
        (".env.local", b"STRIPE_API_KEY=sk_test_51HxYzAbCdEfGhIjKlMnOpQrStUv\n"),
        (".gitignore", b"__pycache__/\n"),
        ("manage.py", b"import os\n"),
    ]);
    let out = p.run(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let found = where_and_what(&json_findings(&out));
    let expected: Vec<(String, u64, String)> = [
        (".env.local", 1, "SEC002"),
        (".env.local", 1, "SEC008"),
        ("Dockerfile", 1, "DOCK001"),
        ("Dockerfile", 3, "DOCK002"),
        ("compose.yaml", 5, "SEC010"),
        ("compose.yaml", 6, "DOCK004"),
        ("compose.yaml", 11, "SEC010"),
        ("entrypoint.sh", 3, "DOCK005"),
        ("requirements.txt", 2, "DEP001"),
        ("requirements.txt", 3, "DEP001"),
    ]
    .iter()
    .map(|(p, l, r)| (p.to_string(), *l, r.to_string()))
    .collect();
    assert_eq!(found, expected);

    let text = stdout(&p.run(&["check"]));
    assert!(
        text.contains("compose.yaml:11:27: warning SEC010"),
        "{text}"
    );
    let sarif: Value =
        serde_json::from_slice(&p.run(&["check", "--format", "sarif"]).stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), expected.len());
    assert!(results.iter().any(|r| r["ruleId"] == "DOCK005"
        && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "entrypoint.sh"));
    let github = stdout(&p.run(&["check", "--format", "github"]));
    assert!(
        github.contains("::error file=.env.local,line=1")
            || github.contains("::warning file=.env.local,line=1"),
        "{github}"
    );
    assert!(github.contains("file=Dockerfile,line=1"), "{github}");

    // The fail-fast rewrite of the compose fallback is applied by --fix; the literal is too.
    let fixed = p.run(&["check", "--fix"]);
    assert_eq!(fixed.status.code(), Some(1));
    let compose = p.read("compose.yaml");
    assert!(
        compose.contains("- DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:?DJANGO_SECRET_KEY is required}"),
        "{compose}"
    );
    assert!(
        compose
            .contains("POSTGRES_PASSWORD: \"${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}\""),
        "{compose}"
    );
}

#[test]
fn a_file_named_alone_is_judged_inside_its_project() {
    let p = Project::new(&[
        (
            "Dockerfile",
            b"FROM python:3.12-slim\nUSER 1000\nCOPY . /app\n",
        ),
        (".dockerignore", b".git\n.env*\n"),
        (
            "proj/settings/base.py",
            b"INSTALLED_APPS = []\nDEBUG = True\n",
        ),
        (
            "proj/settings/production.py",
            b"from .base import *\nDEBUG = False\n",
        ),
    ]);
    std::fs::create_dir_all(p.root.join(".git")).unwrap();
    // Alone, each would be reported; with its project, neither is.
    for file in ["Dockerfile", "proj/settings/base.py"] {
        let out = p.run(&["check", "--no-cache", file]);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", stdout(&out));
    }
    // Without the override, base.py's DEBUG reaches production.
    std::fs::write(
        p.root.join("proj/settings/production.py"),
        "from .base import *\n",
    )
    .unwrap();
    let out = p.run(&["check", "proj/settings/base.py"]);
    assert_eq!(
        where_and_what(&json_findings(&p.run(&[
            "check",
            "--format",
            "json",
            "proj/settings/base.py"
        ]))),
        [("proj/settings/base.py".to_string(), 2, "CFG001".to_string())],
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_cached_result_follows_a_change_in_another_file() {
    let p = Project::new(&[
        (
            "proj/settings/base.py",
            b"INSTALLED_APPS = []\nDEBUG = True\n",
        ),
        (
            "proj/settings/production.py",
            b"from .base import *\nDEBUG = False\n",
        ),
    ]);
    assert_eq!(p.run(&["check"]).status.code(), Some(0));
    // base.py is unchanged, but what production does with it is not.
    std::fs::write(
        p.root.join("proj/settings/production.py"),
        "from .base import *\n",
    )
    .unwrap();
    let found = where_and_what(&json_findings(&p.run(&["check", "--format", "json"])));
    assert_eq!(
        found,
        [("proj/settings/base.py".to_string(), 2, "CFG001".to_string())]
    );
}

#[test]
fn broken_settings_files_are_notes_and_the_rest_is_checked() {
    // A 5 MB compose file (thousands of services, 200,000 lines): read as far as the YAML
    // reader goes (32,767 lines), with a note saying where it stopped.
    let mut big = String::from("services:\n");
    let mut service = 0;
    while big.len() < 4_900_000 {
        big.push_str(&format!(
            "  svc{service}:\n    image: app:1\n    environment:\n"
        ));
        for var in 0..40 {
            big.push_str(&format!("      LOG_LEVEL_{var}: info\n"));
        }
        service += 1;
    }
    let mut binary_script = b"#!/bin/sh\n".to_vec();
    binary_script.extend_from_slice(&[0, 159, 146, 150, 0, 1]);
    let p = Project::new(&[
        ("docker-compose.yml", b"services:\n  web:\n    environment:\n      SECRET_KEY: k9fT2qLz8wX4mN7pR1vB5cY3e\n  db: [unclosed\n"),
        ("deploy/compose.yaml", big.as_bytes()),
        ("anchors/compose.yaml", b"x-env: &env\n  SECRET_KEY: k9fT2qLz8wX4mN7pR1vB5cY3e\nservices:\n  a:\n    environment:\n      <<: *env\n  b:\n    environment: *env\n"),
        ("start.sh", &binary_script),
        ("Dockerfile", b"FROM python:3.12-slim\nNOT AN INSTRUCTION\nUSER app\nENV API_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345\n"),
    ]);
    let out = p.run(&["check", "--format", "json", "--no-cache"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("docker-compose.yml: not valid YAML from line 5"),
        "{err}"
    );
    assert!(err.contains("start.sh: skipped, binary file"), "{err}");
    assert!(
        err.contains("Dockerfile: line 2 is not a Dockerfile instruction"),
        "{err}"
    );
    let found = where_and_what(&json_findings(&out));
    assert!(
        found.contains(&("docker-compose.yml".to_string(), 4, "SEC010".to_string())),
        "{found:?}"
    );
    assert!(
        found.contains(&("Dockerfile".to_string(), 4, "SEC011".to_string())),
        "{found:?}"
    );
    // The anchored secret is written once, so it is reported once.
    assert_eq!(
        found
            .iter()
            .filter(|(p, _, r)| p == "anchors/compose.yaml" && r == "SEC010")
            .count(),
        1,
        "{found:?}"
    );
    assert!(
        err.contains("deploy/compose.yaml: the YAML reader stops at line 32767: lines 32768 and after were not checked"),
        "{err}"
    );
}

#[test]
fn a_module_a_settings_chain_loads_is_judged_inside_it() {
    // Not a settings module by its name, but production star-imports it and sets DEBUG again.
    let p = Project::new(&[
        (
            "proj/base_config.py",
            b"import os\n\nDEBUG = os.getenv(\"DEBUG\", \"True\") == \"True\"\n",
        ),
        (
            "proj/settings/production.py",
            b"from proj.base_config import *\n\nINSTALLED_APPS = []\nDEBUG = False\n",
        ),
    ]);
    let out = p.run(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // Alone, it is reported.
    let q = Project::new(&[(
        "proj/base_config.py",
        b"import os\n\nDEBUG = os.getenv(\"DEBUG\", \"True\") == \"True\"\n",
    )]);
    assert_eq!(
        where_and_what(&json_findings(&q.run(&["check", "--format", "json"]))),
        [("proj/base_config.py".to_string(), 3, "CFG001".to_string())]
    );
}

#[test]
fn deeply_nested_and_very_long_expressions_are_checked_in_every_format() {
    // 10,000 terms once overflowed the stack and aborted the run with no output at all.
    let terms = vec!["x"; 10_000].join(" + ");
    let concat = format!("def f(cursor, x):\n    cursor.execute(\"select \" + {terms})\n");
    let holes = "{x}".repeat(5_000);
    let fstring = format!("def f(cursor, x):\n    cursor.execute(f\"select {holes}\")\n");
    let mut rebuilt = String::from("def f(cursor, x):\n    q = \"select 1\"\n");
    rebuilt.push_str(&"    q = q + x\n".repeat(20_000));
    rebuilt.push_str("    cursor.execute(q)\n");
    let parens = format!("X = {}1{}\n", "(".repeat(5_000), ")".repeat(5_000));
    let project = Project::new(&[
        ("app/concat.py", concat.as_bytes()),
        ("app/fstring.py", fstring.as_bytes()),
        ("app/rebuilt.py", rebuilt.as_bytes()),
        ("app/parens.py", parens.as_bytes()),
        ("app/settings.py", SETTINGS.as_bytes()),
    ]);
    let out = project.run(&["check", "--no-cache", "--format", "json", "."]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let found = where_and_what(&json_findings(&out));
    let count = |path: &str| {
        found
            .iter()
            .filter(|(p, _, r)| p == path && r == "INJ001")
            .count()
    };
    assert_eq!(count("app/concat.py"), 1, "{found:?}");
    assert_eq!(count("app/fstring.py"), 1, "{found:?}");
    assert_eq!(count("app/rebuilt.py"), 32, "{found:?}");
    assert!(found
        .iter()
        .any(|(p, _, r)| p == "app/settings.py" && r == "SEC001"));
    let sarif = project.run(&["check", "--no-cache", "--format", "sarif", "."]);
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        found.len()
    );
}

#[test]
fn fixing_a_finding_on_every_line_is_one_run() {
    // Each fix was once validated by an analysis of its own (minutes for a few thousand lines),
    // and a round cap left most of them unfixed.
    let env = "SECRET_KEY=k9fT2qLz8wX4mN7pR1vB5cY3e\n".repeat(2_000);
    let project = Project::new(&[(".env.production", env.as_bytes())]);
    let out = project.run(&["check", "--no-cache", "--fix", "--select", "ENV001", "."]);
    assert!(
        stdout(&out).contains("Fixed 1999 problem(s)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(project.read(".env.production").lines().count(), 1);
}

/// `text` with each `\n` line ending made a lone `\r` (classic Mac OS line endings).
fn cr_lines(text: &[u8]) -> Vec<u8> {
    text.iter()
        .map(|b| if *b == b'\n' { b'\r' } else { *b })
        .collect()
}

#[test]
fn lone_cr_line_endings_read_like_lf_in_every_format() {
    // The comment would run to the end of a file whose lines end with a lone `\r`.
    let code = b"import os\n# Secrets\nJWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\n";
    let p = Project::new(&[("lf.py", code), ("cr.py", &cr_lines(code))]);
    let out = p.run(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let findings = json_findings(&out);
    let at = |path: &str| {
        findings
            .iter()
            .filter(|f| f["path"] == path)
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["start"].clone(),
                    f["end"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        at("cr.py"),
        [(
            "SEC001".to_string(),
            serde_json::json!({"line": 3, "column": 14}),
            serde_json::json!({"line": 3, "column": 44})
        )]
    );
    assert_eq!(at("cr.py"), at("lf.py"));
    let text = stdout(&p.run(&["check", "cr.py"]));
    assert!(text.contains("cr.py:3:14: error SEC001"), "{text}");
    // The excerpt is the one line, without its `\r`.
    assert!(
        text.contains("3 | JWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\n"),
        "{text:?}"
    );
}

#[test]
fn fixes_keep_lone_cr_line_endings() {
    let code = b"\"\"\"Config.\"\"\"\nfrom os import getenv\n# keys\nAPI_KEY = getenv(\"API_KEY\", \"k-123\")\n";
    let p = Project::new(&[("app/config.py", &cr_lines(code)), (".env", b"A=1\rA=2\r")]);
    let out = p.run(&["check", "--fix"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // `import os` is inserted as a line of its own, ended by `\r` like the others.
    assert_eq!(
        p.read("app/config.py"),
        "\"\"\"Config.\"\"\"\rimport os\rfrom os import getenv\r# keys\rAPI_KEY = os.environ[\"API_KEY\"]\r"
    );
    assert_eq!(p.read(".env"), "A=2\r");
}

#[test]
fn settings_files_with_lone_cr_line_endings_give_the_same_findings() {
    let files: [(&str, &[u8]); 6] = [
        (
            "compose.yaml",
            b"services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: postgres\n  backend:\n    build: .\n    ports:\n      - \"8000:8000\"\n    environment:\n      - DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-k9fT2qLz8wX4mN7pR1vB5cY3e}\n",
        ),
        (
            "Dockerfile",
            b"FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nENTRYPOINT [\"/app/entrypoint.sh\"]\n",
        ),
        (
            "entrypoint.sh",
            b"#!/bin/sh\nset -e\n# start\npython manage.py migrate --noinput\nexec gunicorn djangocms.wsgi:application --bind 0.0.0.0:8000\n",
        ),
        ("requirements.txt", b"# pinned\nDjango==5.2.1\nstripe\ncelery\n"),
        (
            ".env.local",
            b"# local\nSTRIPE_API_KEY=sk_test_51HxYzAbCdEfGhIjKlMnOpQrStUv\nA=1\nA=2\n",
        ),
        ("manage.py", b"import os\n"),
    ];
    let lf = Project::new(&files);
    let cr_files: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, c)| (*p, cr_lines(c))).collect();
    let cr = Project::new(
        &cr_files
            .iter()
            .map(|(p, c)| (*p, c.as_slice()))
            .collect::<Vec<_>>(),
    );
    let lf_found = where_and_what(&json_findings(&lf.run(&["check", "--format", "json"])));
    let cr_out = cr.run(&["check", "--format", "json"]);
    assert!(stderr(&cr_out).is_empty(), "{}", stderr(&cr_out));
    let cr_found = where_and_what(&json_findings(&cr_out));
    // Every kind has a finding past its first line, so lines are counted in each.
    for file in [
        "compose.yaml",
        "Dockerfile",
        "entrypoint.sh",
        "requirements.txt",
        ".env.local",
    ] {
        assert!(
            lf_found.iter().any(|(p, line, _)| p == file && *line > 1),
            "{file}: {lf_found:?}"
        );
    }
    assert_eq!(cr_found, lf_found);
}

/// Runs `preflight` in `dir`, failing (not hanging) if it does not end: reading a FIFO would
/// wait for a writer forever.
fn run_with_deadline(dir: &std::path::Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("preflight {args:?} did not finish");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn make_fifo(path: &std::path::Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

const SEC001_ONLY: &[u8] = b"import os\nJWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\n";

#[cfg(unix)]
#[test]
fn symlinks_in_a_walked_folder_are_followed_once_and_loops_and_broken_links_are_notes() {
    use std::os::unix::fs::symlink;
    let outside = Project::new(&[("ext.py", SEC001_ONLY), ("lib/shared.py", SEC001_ONLY)]);
    let p = Project::new(&[("app/real.py", SEC001_ONLY)]);
    let app = p.root.join("app");
    // A second name for a file of the tree: checked once, at the file's own place.
    symlink("real.py", app.join("alias.py")).unwrap();
    // A file and a folder outside the tree: checked under the links' paths.
    symlink(outside.root.join("ext.py"), app.join("ext.py")).unwrap();
    symlink(outside.root.join("lib"), p.root.join("lib")).unwrap();
    // A folder of the tree linked again: its files are not checked twice, nor its problems
    // noted twice.
    symlink("app", p.root.join("app_again")).unwrap();
    symlink(".", app.join("here")).unwrap();
    symlink("nowhere.py", app.join("broken.py")).unwrap();
    make_fifo(&app.join("pipe.py"));

    let out = run_with_deadline(&p.root, &["check", "--format", "json"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let mut paths: Vec<String> = json_findings(&out)
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        ["app/ext.py", "app/real.py", "lib/shared.py"],
        "{err}"
    );
    let notes: Vec<&str> = err.lines().collect();
    assert_eq!(notes.len(), 3, "{err}");
    assert!(
        notes.iter().any(
            |n| n.starts_with("preflight: note: ./app/here: symlink loop")
                && n.ends_with("; skipped")
        ),
        "{err}"
    );
    assert!(
        notes.contains(&"preflight: note: ./app/broken.py: broken symlink; skipped"),
        "{err}"
    );
    assert!(
        notes.contains(&"preflight: note: ./app/pipe.py: not a regular file; skipped"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn devices_fifos_sockets_and_symlink_loops_named_on_the_command_line_are_notes() {
    let p = Project::new(&[("app.py", SEC001_ONLY)]);
    make_fifo(&p.root.join("pipe.py"));
    let _socket = std::os::unix::net::UnixListener::bind(p.root.join("sock.py")).unwrap();
    std::os::unix::fs::symlink("loop.py", p.root.join("loop.py")).unwrap();
    let out = run_with_deadline(
        &p.root,
        &[
            "check",
            "/dev/null",
            "pipe.py",
            "sock.py",
            "loop.py",
            "app.py",
        ],
    );
    let err = stderr(&out);
    // The named file that is one is checked; the others are not errors.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        stdout(&out).contains("app.py:2:14: error SEC001"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            "preflight: note: /dev/null: not a regular file; skipped",
            "preflight: note: pipe.py: not a regular file; skipped",
            "preflight: note: sock.py: not a regular file; skipped",
            "preflight: note: loop.py: symlink loop; skipped",
        ]
    );
    // A path that is not there is still an error, and so is a link to nothing.
    let out = p.run(&["check", "gone.py"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "preflight: gone.py: no such file or directory\n"
    );
    std::os::unix::fs::symlink("gone.py", p.root.join("dangling.py")).unwrap();
    let out = p.run(&["check", "dangling.py"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("dangling.py: broken symlink"),
        "{}",
        stderr(&out)
    );
}
