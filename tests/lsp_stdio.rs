//! End-to-end tests of `preflight server --stdio`: the built binary, driven over stdin/stdout by a
//! small JSON-RPC client written here.
//!
//! The client keeps its own model of every open document and applies the server's
//! `WorkspaceEdit`s to it (in the negotiated position encoding) before sending them back as
//! `didChange`, so the assertions check the text a user would end up with. Every wait has a
//! generous deadline so that a broken server fails a test instead of hanging it; nothing here
//! asserts how fast anything happened.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long any single wait may take before the test fails.
const TIMEOUT: Duration = Duration::from_secs(20);

const SETTINGS: &str = "import os\nJWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\n";
const SEC001_CALL: &str = "os.getenv(\"JWT_SECRET\", \"dev\")";
const FIXED_LINE: &str = "JWT_SECRET = os.environ[\"JWT_SECRET\"]";

// ---------------------------------------------------------------------------------------------
// Positions, as the client computes them (independently of the server's code).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Enc {
    Utf8,
    Utf16,
}

impl Enc {
    fn width(self, c: char) -> usize {
        match self {
            Enc::Utf8 => c.len_utf8(),
            Enc::Utf16 => c.len_utf16(),
        }
    }

    fn units(self, s: &str) -> usize {
        s.chars().map(|c| self.width(c)).sum()
    }
}

/// Byte ranges of the lines of `text`, without their line breaks (`\n`, `\r\n`, `\r`).
fn line_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                spans.push((start, i));
                i += 1;
                start = i;
            }
            b'\r' => {
                spans.push((start, i));
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    spans.push((start, bytes.len()));
    spans
}

fn pos(line: usize, character: usize) -> Value {
    json!({ "line": line, "character": character })
}

fn range(start: Value, end: Value) -> Value {
    json!({ "start": start, "end": end })
}

fn read_pos(p: &Value) -> (usize, usize) {
    let n = |k: &str| p[k].as_u64().unwrap_or_else(|| panic!("bad position {p}")) as usize;
    (n("line"), n("character"))
}

/// The position of `byte` in `text`.
fn byte_to_pos(text: &str, byte: usize, enc: Enc) -> Value {
    let spans = line_spans(text);
    let line = spans
        .iter()
        .rposition(|(start, _)| *start <= byte)
        .expect("line");
    pos(line, enc.units(&text[spans[line].0..byte]))
}

/// The byte `p` names in `text`, with the semantics the server documents: a line past the end is
/// the end of the text, a character past the end of its line is the line's end, and an offset
/// inside a multi-unit character rounds down to the character's start.
fn pos_to_byte(text: &str, p: &Value, enc: Enc) -> usize {
    let (line, character) = read_pos(p);
    let spans = line_spans(text);
    let Some(&(start, end)) = spans.get(line) else {
        return text.len();
    };
    let mut count = 0;
    for (i, c) in text[start..end].char_indices() {
        let w = enc.width(c);
        if count + w > character {
            return start + i;
        }
        count += w;
    }
    end
}

/// Applies one `TextDocumentContentChangeEvent` to `text` (a start after its end collapses to the
/// end, as the server documents).
fn apply_change(text: &mut String, change: &Value, enc: Enc) {
    let new_text = change["text"].as_str().expect("change text");
    match change.get("range") {
        None | Some(Value::Null) => *text = new_text.to_string(),
        Some(r) => {
            let end = pos_to_byte(text, &r["end"], enc);
            let start = pos_to_byte(text, &r["start"], enc).min(end);
            text.replace_range(start..end, new_text);
        }
    }
}

fn change(r: Value, text: &str) -> Value {
    json!({ "range": r, "text": text })
}

/// The TextEdits of a WorkspaceEdit for `doc` (all against its current text) as content changes
/// for one didChange: last-first, so that each stays valid under the sequential semantics of
/// content changes (inserts at one position keep their array order).
fn edit_as_changes(doc: &Doc, edit: &Value) -> Vec<Value> {
    let mut edits: Vec<Value> = Vec::new();
    if let Some(changes) = edit.get("changes").and_then(Value::as_object) {
        for (uri, list) in changes {
            assert_eq!(uri, &doc.uri, "edit for another document: {edit}");
            edits.extend(list.as_array().expect("edits").iter().cloned());
        }
    }
    if let Some(document_changes) = edit.get("documentChanges").and_then(Value::as_array) {
        for dc in document_changes {
            assert_eq!(dc["textDocument"]["uri"], doc.uri.as_str(), "{edit}");
            edits.extend(dc["edits"].as_array().expect("edits").iter().cloned());
        }
    }
    assert!(!edits.is_empty(), "empty WorkspaceEdit: {edit}");
    let mut keyed: Vec<(usize, usize, usize, Value)> = edits
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let start = pos_to_byte(&doc.text, &e["range"]["start"], doc.enc);
            let end = pos_to_byte(&doc.text, &e["range"]["end"], doc.enc);
            assert!(start <= end, "inverted TextEdit range {e}");
            (start, end, i, e)
        })
        .collect();
    keyed.sort_by_key(|(start, _, i, _)| std::cmp::Reverse((*start, *i)));
    let mut changes: Vec<Value> = Vec::new();
    let mut later_start = usize::MAX;
    for (start, end, _, e) in keyed {
        // Overlapping edits would make the result depend on the order: LSP forbids them.
        assert!(
            end <= later_start || start == end,
            "overlapping TextEdits in {edit}"
        );
        later_start = start;
        changes.push(change(
            e["range"].clone(),
            e["newText"].as_str().expect("newText"),
        ));
    }
    changes
}

/// The client's copy of an open document.
#[derive(Clone)]
struct Doc {
    uri: String,
    text: String,
    version: i32,
    enc: Enc,
}

impl Doc {
    /// The range of the first occurrence of `needle`.
    fn range_of(&self, needle: &str) -> Value {
        let at = self
            .text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {:?}", self.text));
        range(
            byte_to_pos(&self.text, at, self.enc),
            byte_to_pos(&self.text, at + needle.len(), self.enc),
        )
    }

    fn line(&self, n: usize) -> &str {
        let (start, end) = line_spans(&self.text)[n];
        &self.text[start..end]
    }
}

// ---------------------------------------------------------------------------------------------
// Diagnostics and actions.

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("?"))
        .collect()
}

fn diagnostic<'a>(diagnostics: &'a [Value], code: &str) -> &'a Value {
    let found: Vec<&Value> = diagnostics.iter().filter(|d| d["code"] == code).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {code} diagnostic in {diagnostics:#?}"
    );
    found[0]
}

fn titles(actions: &[Value]) -> Vec<&str> {
    actions
        .iter()
        .map(|a| a["title"].as_str().unwrap_or("?"))
        .collect()
}

fn action<'a>(actions: &'a [Value], title_prefix: &str) -> &'a Value {
    let found: Vec<&Value> = actions
        .iter()
        .filter(|a| {
            a["title"]
                .as_str()
                .is_some_and(|t| t.starts_with(title_prefix))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one action titled {title_prefix:?}..., got {:?}",
        titles(actions)
    );
    found[0]
}

// ---------------------------------------------------------------------------------------------
// Temporary project directories.

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "preflight-lsp-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("proj")).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

// ---------------------------------------------------------------------------------------------
// The JSON-RPC client.

fn write_message(stdin: &Mutex<ChildStdin>, message: &Value) -> std::io::Result<()> {
    let body = serde_json::to_vec(message).expect("serialise");
    let mut stdin = stdin.lock().unwrap_or_else(|p| p.into_inner());
    write!(stdin, "Content-Length: {}\r\n\r\n", body.len())?;
    stdin.write_all(&body)?;
    stdin.flush()
}

/// One framed message; `Ok(None)` at the end of the stream.
fn read_message(reader: &mut impl BufRead) -> Result<Option<Value>, String> {
    let mut length = None;
    loop {
        let mut line = String::new();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| format!("reading a header: {e}"))?;
        if n == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed header {line:?}"))?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|e| format!("bad Content-Length {value:?}: {e}"))?,
            );
        }
    }
    let length = length.ok_or("message without Content-Length")?;
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .map_err(|e| format!("reading a body of {length} bytes: {e}"))?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| format!("invalid JSON from the server: {e}"))
}

/// What a wait does with a message.
enum Verdict {
    Take,
    Drop,
    Keep,
}

#[derive(Default)]
struct Init {
    /// `capabilities.general.positionEncodings`; `None` leaves `general` out.
    encodings: Option<Vec<&'static str>>,
    options: Option<Value>,
    watch: bool,
    /// Files written into the workspace folder before the server starts (relative path, text).
    files: Vec<(&'static str, &'static str)>,
}

struct Server {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    rx: Receiver<Result<Value, String>>,
    /// Messages received but not consumed yet, in arrival order.
    backlog: VecDeque<Value>,
    /// Messages a wait discarded (old diagnostics), for failure reports.
    dropped: Vec<Value>,
    next_id: i64,
    stderr: Arc<Mutex<String>>,
    enc: Enc,
    init_result: Value,
    dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if thread::panicking() {
            eprintln!(
                "--- preflight server stderr ---\n{}\n--- end of stderr ---",
                self.stderr.lock().unwrap_or_else(|p| p.into_inner())
            );
        }
    }
}

impl Server {
    /// Spawns `preflight server --stdio` and performs initialize / initialized.
    fn start(name: &str, init: Init) -> Server {
        let dir = TempDir::new(name);
        for (relative, text) in &init.files {
            let path = dir.0.join("proj").join(relative);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("create folder");
            std::fs::write(path, text).expect("write a workspace file");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(["server", "--stdio"])
            .current_dir(&dir.0)
            // The rule documentation the server links to is written under the cache directory.
            .env("XDG_CACHE_HOME", dir.0.join("cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn preflight server --stdio");
        let stdin = Arc::new(Mutex::new(child.stdin.take().expect("stdin")));
        let stdout = child.stdout.take().expect("stdout");
        let stderr_pipe = child.stderr.take().expect("stderr");

        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let stderr = stderr.clone();
            thread::spawn(move || {
                for line in BufReader::new(stderr_pipe).lines().map_while(|l| l.ok()) {
                    let mut s = stderr.lock().unwrap_or_else(|p| p.into_inner());
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }

        let (tx, rx) = mpsc::channel();
        {
            let stdin = stdin.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                loop {
                    match read_message(&mut reader) {
                        Ok(Some(message)) => {
                            // Server -> client requests (client/registerCapability,
                            // window/workDoneProgress/create, ...) get a null result at once.
                            if message.get("method").is_some() {
                                if let Some(id) = message.get("id") {
                                    let _ = write_message(
                                        &stdin,
                                        &json!({"jsonrpc": "2.0", "id": id, "result": null}),
                                    );
                                }
                            }
                            if tx.send(Ok(message)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            });
        }

        let mut server = Server {
            child,
            stdin,
            rx,
            backlog: VecDeque::new(),
            dropped: Vec::new(),
            next_id: 1,
            stderr,
            enc: Enc::Utf16,
            init_result: Value::Null,
            dir,
        };
        let root = server.dir.0.join("proj");
        let mut capabilities = json!({
            "workspace": {
                "didChangeWatchedFiles": { "dynamicRegistration": init.watch },
                "didChangeConfiguration": { "dynamicRegistration": false },
            },
            "textDocument": {
                "synchronization": { "didSave": true },
                "publishDiagnostics": { "versionSupport": true },
                "codeAction": {
                    "codeActionLiteralSupport": {
                        "codeActionKind": {
                            "valueSet": ["quickfix", "source", "source.fixAll"]
                        }
                    },
                    "isPreferredSupport": true,
                },
                "hover": { "contentFormat": ["markdown", "plaintext"] },
            },
            "window": { "workDoneProgress": true },
        });
        if let Some(encodings) = &init.encodings {
            capabilities["general"] = json!({ "positionEncodings": encodings });
        }
        let mut params = json!({
            "processId": std::process::id(),
            "clientInfo": { "name": "lsp_stdio test client" },
            "rootUri": file_uri(&root),
            "workspaceFolders": [{ "uri": file_uri(&root), "name": "proj" }],
            "capabilities": capabilities,
        });
        if let Some(options) = init.options {
            params["initializationOptions"] = options;
        }
        let result = server.request("initialize", params);
        server.enc = match result["capabilities"]["positionEncoding"].as_str() {
            Some("utf-8") => Enc::Utf8,
            Some("utf-16") | None => Enc::Utf16,
            Some(other) => panic!("unexpected position encoding {other}"),
        };
        server.init_result = result;
        server.notify("initialized", json!({}));
        server
    }

    fn proj(&self) -> PathBuf {
        self.dir.0.join("proj")
    }

    fn uri(&self, relative: &str) -> String {
        file_uri(&self.proj().join(relative))
    }

    fn send(&self, message: &Value) {
        if let Err(e) = write_message(&self.stdin, message) {
            panic!("cannot write to the server ({e}); message: {message}");
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        let mut message = json!({ "jsonrpc": "2.0", "method": method });
        if !params.is_null() {
            message["params"] = params;
        }
        self.send(&message);
    }

    /// Sends a request and returns the whole response (result or error).
    fn request_raw(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if !params.is_null() {
            message["params"] = params;
        }
        self.send(&message);
        self.wait_for(&format!("the response to {method} (id {id})"), |m| {
            if m.get("method").is_none() && m["id"] == id {
                Verdict::Take
            } else {
                Verdict::Keep
            }
        })
    }

    /// Sends a request and returns its result; an error response fails the test.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.request_raw(method, params);
        assert!(
            response.get("error").is_none(),
            "{method} failed: {response}"
        );
        response.get("result").cloned().unwrap_or(Value::Null)
    }

    /// The next message the server sent, waiting up to `deadline`.
    fn receive(&mut self, what: &str, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(Ok(message)) => message,
            Ok(Err(e)) => panic!("protocol error while waiting for {what}: {e}"),
            Err(RecvTimeoutError::Timeout) => panic!(
                "no {what} within {TIMEOUT:?}\nunconsumed messages: {:#?}\ndiscarded messages: {:#?}",
                self.backlog, self.dropped
            ),
            Err(RecvTimeoutError::Disconnected) => panic!(
                "the server closed its output while we waited for {what} (exit status: {:?})\nunconsumed messages: {:#?}",
                self.child.try_wait(),
                self.backlog
            ),
        }
    }

    /// Takes the first message (backlog first, then new ones) `judge` takes; messages it drops
    /// are discarded, the others stay in the backlog in order.
    fn wait_for(&mut self, what: &str, mut judge: impl FnMut(&Value) -> Verdict) -> Value {
        let mut i = 0;
        while i < self.backlog.len() {
            match judge(&self.backlog[i]) {
                Verdict::Take => return self.backlog.remove(i).expect("in range"),
                Verdict::Drop => {
                    let m = self.backlog.remove(i).expect("in range");
                    self.dropped.push(m);
                }
                Verdict::Keep => i += 1,
            }
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.receive(what, deadline);
            match judge(&message) {
                Verdict::Take => return message,
                Verdict::Drop => self.dropped.push(message),
                Verdict::Keep => self.backlog.push_back(message),
            }
        }
    }

    /// The next `textDocument/publishDiagnostics` for `uri` (for `version`, when given; earlier
    /// publications for the uri are discarded). Returns the diagnostics.
    fn diagnostics(&mut self, uri: &str, version: Option<i32>) -> Vec<Value> {
        let message = self.publication(uri, version);
        message["params"]["diagnostics"]
            .as_array()
            .cloned()
            .expect("diagnostics array")
    }

    fn publication(&mut self, uri: &str, version: Option<i32>) -> Value {
        self.wait_for(
            &format!("publishDiagnostics for {uri} (version {version:?})"),
            |m| {
                if m["method"] != "textDocument/publishDiagnostics" || m["params"]["uri"] != uri {
                    Verdict::Keep
                } else if version.is_none_or(|v| m["params"]["version"] == v) {
                    Verdict::Take
                } else {
                    Verdict::Drop
                }
            },
        )
    }

    fn show_message(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_for(what, |m| {
            if m["method"] == "window/showMessage" && pred(&m["params"]) {
                Verdict::Take
            } else {
                Verdict::Keep
            }
        })["params"]
            .clone()
    }

    fn open(&mut self, relative: &str, language_id: &str, text: &str) -> Doc {
        let uri = self.uri(relative);
        self.open_uri(&uri, language_id, text)
    }

    fn open_uri(&mut self, uri: &str, language_id: &str, text: &str) -> Doc {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
                "uri": uri, "languageId": language_id, "version": 1, "text": text,
            }}),
        );
        Doc {
            uri: uri.to_string(),
            text: text.to_string(),
            version: 1,
            enc: self.enc,
        }
    }

    /// Sends `changes` as one didChange (sequential semantics), applying them to the client copy.
    fn change(&mut self, doc: &mut Doc, changes: Vec<Value>) {
        for c in &changes {
            apply_change(&mut doc.text, c, doc.enc);
        }
        doc.version += 1;
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": doc.uri, "version": doc.version },
                "contentChanges": changes,
            }),
        );
    }

    /// Applies a WorkspaceEdit to the client copy of `doc` and sends it to the server as one
    /// didChange.
    fn apply_edit(&mut self, doc: &mut Doc, edit: &Value) {
        let changes = edit_as_changes(doc, edit);
        self.change(doc, changes);
    }

    fn code_actions(
        &mut self,
        doc: &Doc,
        r: Value,
        diagnostics: &[Value],
        only: Option<&[&str]>,
    ) -> Vec<Value> {
        let mut context = json!({ "diagnostics": diagnostics, "triggerKind": 1 });
        if let Some(only) = only {
            context["only"] = json!(only);
        }
        let result = self.request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": doc.uri }, "range": r, "context": context }),
        );
        result
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("codeAction for an open document returned {result}"))
    }

    fn fix_all_actions(&mut self, doc: &Doc) -> Vec<Value> {
        self.code_actions(
            doc,
            range(pos(0, 0), pos(0, 0)),
            &[],
            Some(&["source.fixAll"]),
        )
    }

    fn hover(&mut self, uri: &str, at: Value) -> Value {
        self.request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": at }),
        )
    }

    /// shutdown -> null, exit -> the process ends with status 0 (while its stdin is still open).
    fn shutdown_and_exit(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    assert_eq!(status.code(), Some(0), "exit status {status}");
                    return;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Ok(None) => {
                    let _ = self.child.kill();
                    panic!("the server did not exit within {TIMEOUT:?} of the exit notification");
                }
                Err(e) => panic!("waiting for the server: {e}"),
            }
        }
    }
}

fn start(name: &str) -> Server {
    Server::start(name, Init::default())
}

fn start_with(name: &str, encodings: &[&'static str]) -> Server {
    Server::start(
        name,
        Init {
            encodings: Some(encodings.to_vec()),
            ..Init::default()
        },
    )
}

// ---------------------------------------------------------------------------------------------
// 1. initialize

#[test]
fn initialize_negotiates_the_position_encoding() {
    for (offered, expected) in [
        (Some(vec!["utf-16"]), "utf-16"),
        (Some(vec!["utf-8", "utf-16"]), "utf-8"),
        (Some(vec!["utf-16", "utf-8"]), "utf-8"),
        (Some(vec!["utf-32"]), "utf-16"),
        (None, "utf-16"),
    ] {
        let server = Server::start(
            "init",
            Init {
                encodings: offered.clone(),
                ..Init::default()
            },
        );
        let result = server.init_result.clone();
        let caps = &result["capabilities"];
        assert_eq!(
            caps["positionEncoding"], expected,
            "offered {offered:?}: {result:#}"
        );
        assert_eq!(result["serverInfo"]["name"], "preflight");
        assert!(result["serverInfo"]["version"].is_string());
        // Incremental sync, open/close, save.
        let sync = &caps["textDocumentSync"];
        assert_eq!(sync["change"], 2, "{sync}");
        assert_eq!(sync["openClose"], true);
        assert!(
            sync["save"] == true || sync["save"].is_object(),
            "save: {sync}"
        );
        let kinds: Vec<&str> = caps["codeActionProvider"]["codeActionKinds"]
            .as_array()
            .expect("codeActionKinds")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for kind in ["quickfix", "source.fixAll", "source.fixAll.preflight"] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
        assert_eq!(caps["hoverProvider"], true);
        server.shutdown_and_exit();
    }
}

// ---------------------------------------------------------------------------------------------
// 2. didOpen

#[test]
fn did_open_publishes_sec001_with_version_and_range() {
    let mut server = start_with("open", &["utf-16"]);
    let doc = server.open("settings.py", "python", SETTINGS);
    let publication = server.publication(&doc.uri, Some(1));
    assert_eq!(publication["params"]["version"], 1);
    let diagnostics = publication["params"]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .clone();
    assert_eq!(codes(&diagnostics), ["SEC001"]);
    let d = diagnostic(&diagnostics, "SEC001");
    assert_eq!(d["source"], "preflight");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["range"], range(pos(1, 13), pos(1, 43)));
    assert_eq!(d["range"], doc.range_of(SEC001_CALL));
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.contains("JWT_SECRET")),
        "{d}"
    );
    server.shutdown_and_exit();
}

// ---------------------------------------------------------------------------------------------
// 3 + 4. Incremental changes with non-BMP characters, then the quick fix on that line.

fn incremental_unicode(enc: Enc) {
    let mut server = start_with(
        "unicode",
        match enc {
            Enc::Utf8 => &["utf-8", "utf-16"],
            Enc::Utf16 => &["utf-16"],
        },
    );
    assert_eq!(server.enc, enc);
    let mut doc = server.open("settings.py", "python", SETTINGS);
    let first = server.diagnostics(&doc.uri, Some(1));
    assert_eq!(
        diagnostic(&first, "SEC001")["range"],
        range(pos(1, 13), pos(1, 43))
    );

    // Two changes in one notification: the second one's position (line 2) only exists after the
    // first has been applied.
    server.change(
        &mut doc,
        vec![
            change(range(pos(0, 0), pos(0, 0)), "# 😀😀 emoji ünïcode\n"),
            change(range(pos(2, 0), pos(2, 0)), "X = \"😀\"; "),
        ],
    );
    assert_eq!(
        doc.text,
        "# 😀😀 emoji ünïcode\nimport os\nX = \"😀\"; JWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\n"
    );
    let second = server.diagnostics(&doc.uri, Some(2));
    assert_eq!(codes(&second), ["SEC001"]);
    let start = match enc {
        Enc::Utf16 => 23, // the emoji is 2 UTF-16 units
        Enc::Utf8 => 25,  // ... and 4 bytes
    };
    assert_eq!(
        diagnostic(&second, "SEC001")["range"],
        range(pos(2, start), pos(2, start + 30))
    );
    assert_eq!(
        diagnostic(&second, "SEC001")["range"],
        doc.range_of(SEC001_CALL)
    );

    // Edits after the emoji on the comment line and inside the finding, in one notification.
    let word = doc.range_of("ünïcode");
    assert_eq!(
        word,
        match enc {
            Enc::Utf16 => range(pos(0, 13), pos(0, 20)),
            Enc::Utf8 => range(pos(0, 17), pos(0, 26)),
        }
    );
    let dev = doc.range_of("\"dev\"");
    server.change(
        &mut doc,
        vec![change(word, "unicode"), change(dev, "\"dév😀\"")],
    );
    assert_eq!(
        doc.line(2),
        "X = \"😀\"; JWT_SECRET = os.getenv(\"JWT_SECRET\", \"dév😀\")"
    );
    let third = server.diagnostics(&doc.uri, Some(3));
    let d = diagnostic(&third, "SEC001");
    let call = "os.getenv(\"JWT_SECRET\", \"dév😀\")";
    assert_eq!(d["range"], doc.range_of(call));
    assert_eq!(
        d["range"]["end"],
        pos(2, start + enc.units(call)),
        "end counted in {enc:?}"
    );

    // 4. The quick fix, computed by the server in the negotiated encoding, applied by us.
    let actions = server.code_actions(&doc, d["range"].clone(), std::slice::from_ref(d), None);
    let fix = action(&actions, "Preflight (SEC001): Fail fast");
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["isPreferred"], true);
    server.apply_edit(&mut doc, &fix["edit"]);
    assert_eq!(
        doc.text,
        format!("# 😀😀 emoji unicode\nimport os\nX = \"😀\"; {FIXED_LINE}\n")
    );
    assert_eq!(server.diagnostics(&doc.uri, Some(4)), Vec::<Value>::new());

    // A whole-text replacement resets everything.
    server.change(&mut doc, vec![json!({ "text": format!("😀\n{SETTINGS}") })]);
    let fifth = server.diagnostics(&doc.uri, Some(5));
    assert_eq!(
        diagnostic(&fifth, "SEC001")["range"],
        range(pos(2, 13), pos(2, 43))
    );
    server.shutdown_and_exit();
}

#[test]
fn incremental_changes_count_utf16_units() {
    incremental_unicode(Enc::Utf16);
}

#[test]
fn incremental_changes_count_utf8_bytes() {
    incremental_unicode(Enc::Utf8);
}

// ---------------------------------------------------------------------------------------------
// 4. Quick fix

#[test]
fn quick_fix_rewrites_to_fail_fast() {
    let mut server = start("quickfix");
    let mut doc = server.open("settings.py", "python", SETTINGS);
    let diagnostics = server.diagnostics(&doc.uri, Some(1));
    let d = diagnostic(&diagnostics, "SEC001").clone();

    // Asking with a cursor inside the finding is enough.
    let actions = server.code_actions(
        &doc,
        range(pos(1, 20), pos(1, 20)),
        std::slice::from_ref(&d),
        Some(&["quickfix"]),
    );
    let fix = action(&actions, "Preflight (SEC001): Fail fast");
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["isPreferred"], true);
    assert_eq!(fix["diagnostics"][0]["code"], "SEC001");
    assert_eq!(fix["diagnostics"][0]["range"], d["range"]);
    let ignore = action(&actions, "Preflight (SEC001): ignore on this line");
    assert_eq!(ignore["isPreferred"], false);
    assert!(
        actions.iter().all(|a| a["kind"] == "quickfix"),
        "only quick fixes were asked for: {:?}",
        titles(&actions)
    );

    server.apply_edit(&mut doc, &fix["edit"]);
    assert_eq!(doc.text, format!("import os\n{FIXED_LINE}\n"));
    assert_eq!(server.diagnostics(&doc.uri, Some(2)), Vec::<Value>::new());

    // Nothing left to fix at that place.
    let actions = server.code_actions(&doc, doc.range_of(FIXED_LINE), &[], None);
    assert_eq!(titles(&actions), Vec::<&str>::new());
    server.shutdown_and_exit();
}

// ---------------------------------------------------------------------------------------------
// 5. Suppression

#[test]
fn ignore_on_this_line_adds_a_comment_and_silences_the_finding() {
    let mut server = start_with("suppress", &["utf-16"]);
    let text =
        "import os\nX = \"😀\"; JWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\nDEBUG = False\n";
    let mut doc = server.open("settings.py", "python", text);
    let diagnostics = server.diagnostics(&doc.uri, Some(1));
    let d = diagnostic(&diagnostics, "SEC001").clone();
    let actions = server.code_actions(&doc, d["range"].clone(), std::slice::from_ref(&d), None);
    let ignore = action(&actions, "Preflight (SEC001): ignore on this line");
    assert_eq!(ignore["kind"], "quickfix");
    server.apply_edit(&mut doc, &ignore["edit"]);
    assert_eq!(
        doc.text,
        "import os\nX = \"😀\"; JWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")  # preflight: ignore[SEC001]\nDEBUG = False\n"
    );
    assert_eq!(server.diagnostics(&doc.uri, Some(2)), Vec::<Value>::new());

    // Removing the comment brings the finding back.
    let comment = doc.range_of("  # preflight: ignore[SEC001]");
    server.change(&mut doc, vec![change(comment, "")]);
    assert_eq!(doc.text, text);
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(3))), ["SEC001"]);
    server.shutdown_and_exit();
}

// ---------------------------------------------------------------------------------------------
// 6. Fix-all

const MANY: &str = "import os\n\
JWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\n\
DEBUG = os.getenv(\"DEBUG\", \"True\") == \"True\"\n\
ALLOWED_HOSTS = os.getenv(\"ALLOWED_HOSTS\", \"*\").split(\",\")\n\
LOG_LEVEL = os.getenv(\"LOG_LEVEL\", \"INFO\")\n";

const MANY_FIXED: &str = "import os\n\
JWT_SECRET = os.environ[\"JWT_SECRET\"]\n\
DEBUG = os.getenv(\"DEBUG\", \"False\") == \"True\"\n\
ALLOWED_HOSTS = os.environ[\"ALLOWED_HOSTS\"].split(\",\")\n\
LOG_LEVEL = os.getenv(\"LOG_LEVEL\", \"INFO\")\n";

#[test]
fn fix_all_fixes_every_fixable_finding_but_not_info_rewrites() {
    let mut server = start("fixall");
    let mut doc = server.open("settings.py", "python", MANY);
    let diagnostics = server.diagnostics(&doc.uri, Some(1));
    let mut found = codes(&diagnostics);
    found.sort();
    assert_eq!(found, ["CFG001", "CFG002", "CFG015", "SEC001"]);
    assert_eq!(diagnostic(&diagnostics, "CFG015")["severity"], 3);

    // CFG015's fail-fast rewrite is a quick fix...
    let cfg015 = diagnostic(&diagnostics, "CFG015").clone();
    let actions = server.code_actions(
        &doc,
        cfg015["range"].clone(),
        std::slice::from_ref(&cfg015),
        Some(&["quickfix"]),
    );
    action(&actions, "Preflight (CFG015): Fail fast");

    // ... but not part of fix-all.
    let actions = server.fix_all_actions(&doc);
    assert_eq!(actions.len(), 1, "{:?}", titles(&actions));
    let fix_all = &actions[0];
    assert_eq!(fix_all["kind"], "source.fixAll.preflight");
    assert!(
        fix_all["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Preflight: fix all") && t.contains('3')),
        "{fix_all}"
    );
    // The specific kind is also answered, and quick fixes are not mixed in.
    let specific = server.code_actions(
        &doc,
        range(pos(0, 0), pos(0, 0)),
        &[],
        Some(&["source.fixAll.preflight"]),
    );
    assert_eq!(specific.len(), 1, "{:?}", titles(&specific));
    assert_eq!(specific[0]["edit"], fix_all["edit"]);
    let quick_only = server.code_actions(&doc, doc.range_of(MANY), &[], Some(&["quickfix"]));
    assert!(
        quick_only.iter().all(|a| a["kind"] == "quickfix"),
        "{:?}",
        titles(&quick_only)
    );

    let edit = fix_all["edit"].clone();
    server.apply_edit(&mut doc, &edit);
    assert_eq!(doc.text, MANY_FIXED);
    let after = server.diagnostics(&doc.uri, Some(2));
    assert_eq!(codes(&after), ["CFG015"]);
    assert_eq!(
        diagnostic(&after, "CFG015")["range"],
        doc.range_of("os.getenv(\"LOG_LEVEL\", \"INFO\")")
    );
    // Nothing left for fix-all.
    assert_eq!(titles(&server.fix_all_actions(&doc)), Vec::<&str>::new());
    server.shutdown_and_exit();
}

const DUPLICATE_ENV: &str = "DEBUG=true\nDEBUG=false\nCORS_ORIGINS=http://localhost:3000\n";

#[test]
fn fix_all_leaves_behaviour_changing_fixes_alone_when_unsafe_fixes_are_off() {
    let mut server = Server::start(
        "unsafe",
        Init {
            options: Some(json!({ "unsafeFixes": false })),
            ..Init::default()
        },
    );
    let py = server.open("settings.py", "python", MANY);
    let first = server.diagnostics(&py.uri, Some(1));
    assert_eq!(first.len(), 4);
    assert_eq!(
        titles(&server.fix_all_actions(&py)),
        Vec::<&str>::new(),
        "every fix in this file changes behaviour"
    );
    // Quick fixes are still offered one by one.
    let d = diagnostic(&first, "SEC001").clone();
    let actions = server.code_actions(&py, d["range"].clone(), &[d], Some(&["quickfix"]));
    action(&actions, "Preflight (SEC001): Fail fast");

    // Safe fixes (ENV001) stay in fix-all.
    let mut env = server.open(".env.production", "dotenv", DUPLICATE_ENV);
    let mut found = codes(&server.diagnostics(&env.uri, Some(1)))
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    found.sort();
    assert_eq!(found, ["CFG006", "ENV001"]);
    let actions = server.fix_all_actions(&env);
    assert_eq!(actions.len(), 1, "{:?}", titles(&actions));
    assert_eq!(actions[0]["kind"], "source.fixAll.preflight");
    server.apply_edit(&mut env, &actions[0]["edit"].clone());
    assert_eq!(
        env.text,
        "DEBUG=false\nCORS_ORIGINS=http://localhost:3000\n"
    );
    assert_eq!(codes(&server.diagnostics(&env.uri, Some(2))), ["CFG006"]);

    // didChangeConfiguration turns them back on (wrapped in "settings", camelCase)...
    server.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "unsafeFixes": true } }),
    );
    assert_eq!(server.diagnostics(&py.uri, Some(1)).len(), 4);
    let actions = server.fix_all_actions(&py);
    assert_eq!(actions.len(), 1, "{:?}", titles(&actions));
    let mut fixed = py.clone();
    apply_workspace_edit_locally(&mut fixed, &actions[0]["edit"]);
    assert_eq!(fixed.text, MANY_FIXED);

    // ... and off again (kebab-case this time).
    server.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "unsafe-fixes": false } }),
    );
    assert_eq!(server.diagnostics(&py.uri, Some(1)).len(), 4);
    assert_eq!(titles(&server.fix_all_actions(&py)), Vec::<&str>::new());
    server.shutdown_and_exit();
}

#[test]
fn fix_on_save_off_answers_only_a_fix_all_the_user_asks_for() {
    let mut server = Server::start(
        "fix-on-save-off",
        Init {
            options: Some(json!({ "fixOnSave": false })),
            ..Init::default()
        },
    );
    let py = server.open("settings.py", "python", MANY);
    assert_eq!(server.diagnostics(&py.uri, Some(1)).len(), 4);
    let fix_all = |server: &mut Server, trigger_kind: u8| {
        let result = server.request(
            "textDocument/codeAction",
            json!({
                "textDocument": { "uri": py.uri },
                "range": range(pos(0, 0), pos(0, 0)),
                "context": { "diagnostics": [], "only": ["source.fixAll"], "triggerKind": trigger_kind },
            }),
        );
        result.as_array().cloned().unwrap_or_default()
    };
    // What an editor asks for on its own when saving (triggerKind Automatic): nothing.
    assert_eq!(titles(&fix_all(&mut server, 2)), Vec::<&str>::new());
    // A "Fix all" command or the Source Action menu (Invoked): the fix-all.
    let invoked = fix_all(&mut server, 1);
    assert_eq!(
        titles(&invoked),
        ["Preflight: fix all (3 fixable problems)"]
    );
    server.shutdown_and_exit();
}

/// Applies a WorkspaceEdit to a copy without telling the server (to inspect an offered edit).
fn apply_workspace_edit_locally(doc: &mut Doc, edit: &Value) {
    for c in edit_as_changes(doc, edit) {
        apply_change(&mut doc.text, &c, doc.enc);
    }
}

impl Server {
    /// The diagnostics of `doc` as a code action would see them: the quick fixes offered for the
    /// whole text tell which findings exist. Used where no new publication is expected.
    fn diagnostics_now(&mut self, doc: &Doc) -> Vec<Value> {
        let whole = range(pos(0, 0), byte_to_pos(&doc.text, doc.text.len(), doc.enc));
        let actions = self.code_actions(doc, whole, &[], Some(&["quickfix"]));
        let mut out: Vec<Value> = Vec::new();
        for a in actions {
            for d in a["diagnostics"].as_array().cloned().unwrap_or_default() {
                if !out.contains(&d) {
                    out.push(d);
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Configuration reload

#[test]
fn configuration_files_are_reloaded() {
    let mut server = Server::start(
        "config",
        Init {
            watch: true,
            ..Init::default()
        },
    );
    // The server asks to watch its configuration files (our reader answered with null).
    let registration = server.wait_for("client/registerCapability", |m| {
        if m["method"] == "client/registerCapability" {
            Verdict::Take
        } else {
            Verdict::Keep
        }
    });
    let registrations = &registration["params"]["registrations"];
    assert_eq!(
        registrations[0]["method"], "workspace/didChangeWatchedFiles",
        "{registration}"
    );
    let globs: Vec<&str> = registrations[0]["registerOptions"]["watchers"]
        .as_array()
        .expect("watchers")
        .iter()
        .filter_map(|w| w["globPattern"].as_str())
        .collect();
    assert!(
        globs.iter().any(|g| g.ends_with("preflight.toml")),
        "{globs:?}"
    );
    assert!(
        globs.iter().any(|g| g.ends_with("pyproject.toml")),
        "{globs:?}"
    );

    let doc = server.open("settings.py", "python", SETTINGS);
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(1))), ["SEC001"]);

    let config = server.proj().join("preflight.toml");
    let config_uri = file_uri(&config);
    let watched = |typ: u8| json!({ "changes": [{ "uri": config_uri, "type": typ }] });

    // Created: SEC001 ignored.
    std::fs::write(&config, "ignore = [\"SEC001\"]\n").expect("write config");
    server.notify("workspace/didChangeWatchedFiles", watched(1));
    assert_eq!(server.diagnostics(&doc.uri, Some(1)), Vec::<Value>::new());

    // Deleted: back to the defaults.
    std::fs::remove_file(&config).expect("remove config");
    server.notify("workspace/didChangeWatchedFiles", watched(3));
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(1))), ["SEC001"]);

    // Restored.
    std::fs::write(&config, "ignore = [\"SEC001\"]\n").expect("write config");
    server.notify("workspace/didChangeWatchedFiles", watched(1));
    assert_eq!(server.diagnostics(&doc.uri, Some(1)), Vec::<Value>::new());

    // Broken: a warning naming the file, and diagnostics with the defaults.
    std::fs::write(&config, "select = [\n").expect("write config");
    server.notify("workspace/didChangeWatchedFiles", watched(2));
    let warning = server.show_message("a showMessage about the broken preflight.toml", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("preflight.toml"))
    });
    assert_eq!(warning["type"], 2, "{warning}");
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(1))), ["SEC001"]);

    // Fixed and saved in the editor: didSave of the config file reloads it too.
    std::fs::write(&config, "ignore = [\"SEC001\"]\n").expect("write config");
    server.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": config_uri } }),
    );
    assert_eq!(server.diagnostics(&doc.uri, Some(1)), Vec::<Value>::new());

    // Broken again: reported again (the earlier report does not silence a new breakage).
    std::fs::write(&config, "select = [\"NOT_A_RULE\"]\n").expect("write config");
    server.notify("workspace/didChangeWatchedFiles", watched(2));
    let warning = server.show_message("a second showMessage about preflight.toml", |p| {
        p["message"]
            .as_str()
            .is_some_and(|m| m.contains("preflight.toml") && m.contains("NOT_A_RULE"))
    });
    assert_eq!(warning["type"], 2, "{warning}");
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(1))), ["SEC001"]);

    // [tool.preflight] in pyproject.toml.
    std::fs::remove_file(&config).expect("remove config");
    let pyproject = server.proj().join("pyproject.toml");
    std::fs::write(
        &pyproject,
        "[project]\nname = \"x\"\n\n[tool.preflight]\nignore = [\"secret-env-default\"]\n",
    )
    .expect("write pyproject");
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [
            { "uri": config_uri, "type": 3 },
            { "uri": file_uri(&pyproject), "type": 1 },
        ]}),
    );
    assert_eq!(server.diagnostics(&doc.uri, Some(1)), Vec::<Value>::new());
    server.shutdown_and_exit();
}

#[test]
fn invalid_editor_settings_warn_and_keep_the_defaults() {
    let mut server = Server::start(
        "badsettings",
        Init {
            options: Some(json!({ "settings": { "selekt": ["SEC"] } })),
            ..Init::default()
        },
    );
    let warning = server.show_message("a showMessage about the unknown setting", |p| {
        p["message"].as_str().is_some_and(|m| m.contains("selekt"))
    });
    assert_eq!(warning["type"], 2, "{warning}");
    let doc = server.open("settings.py", "python", SETTINGS);
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(1))), ["SEC001"]);

    // Valid settings apply ...
    server.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "ignore": ["SEC001"] } }),
    );
    assert_eq!(server.diagnostics(&doc.uri, Some(1)), Vec::<Value>::new());
    // ... and select = [] of an unknown rule is refused without dropping them.
    server.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "select": ["NOPE999"] } }),
    );
    server.show_message("a showMessage about the unknown rule", |p| {
        p["message"].as_str().is_some_and(|m| m.contains("NOPE999"))
    });
    let mut doc = doc;
    server.change(&mut doc, vec![change(range(pos(2, 0), pos(2, 0)), "\n")]);
    assert_eq!(server.diagnostics(&doc.uri, Some(2)), Vec::<Value>::new());
    server.shutdown_and_exit();
}

// ---------------------------------------------------------------------------------------------
// 8. Robustness

#[test]
fn bad_positions_and_unknown_documents_do_not_break_the_server() {
    let mut server = start_with("robust", &["utf-16"]);
    let text = "import os\nX = \"😀\"; JWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\n";
    let mut doc = server.open("settings.py", "python", text);
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(1))), ["SEC001"]);

    // A position far past the end clamps to the end of the text.
    let token = "API_TOKEN = os.getenv(\"API_TOKEN\", \"abc123\")\n";
    server.change(
        &mut doc,
        vec![change(
            range(pos(10_000, 10_000), pos(10_000, 10_000)),
            token,
        )],
    );
    assert_eq!(doc.text, format!("{text}{token}"));
    let d = server.diagnostics(&doc.uri, Some(2));
    assert_eq!(codes(&d), ["SEC001", "SEC001"]);
    let appended = doc.range_of("os.getenv(\"API_TOKEN\", \"abc123\")");
    assert_eq!(appended, range(pos(2, 12), pos(2, 44)));
    assert!(d.iter().any(|x| x["range"] == appended), "{d:#?}");

    // A character past the end of its line clamps to the line's end (before the break).
    server.change(
        &mut doc,
        vec![change(range(pos(1, 10_000), pos(1, 10_000)), "  # tail")],
    );
    assert!(doc.line(1).ends_with("\"dev\")  # tail"), "{}", doc.text);
    assert_eq!(server.diagnostics(&doc.uri, Some(3)).len(), 2);

    // A start after its end collapses to the end: "# " lands at the start of line 2.
    server.change(&mut doc, vec![change(range(pos(2, 30), pos(2, 0)), "# ")]);
    assert_eq!(doc.line(2), format!("# {}", token.trim_end()));
    let d = server.diagnostics(&doc.uri, Some(4));
    assert_eq!(codes(&d), ["SEC001"]);
    assert_eq!(d[0]["range"]["start"]["line"], 1);

    // UTF-16 offsets inside the emoji's surrogate pair round down to the emoji's start.
    // Line 1 is `X = "😀"; ...`: the emoji occupies units 5 and 6.
    server.change(&mut doc, vec![change(range(pos(1, 6), pos(1, 6)), "a")]);
    assert!(
        doc.line(1).starts_with("X = \"a😀\"; JWT_SECRET"),
        "{}",
        doc.text
    );
    server.change(
        &mut doc,
        vec![
            // The start splits the pair (-> 6), the end is after it: the emoji goes.
            change(range(pos(1, 7), pos(1, 8)), ""),
            // `X = "a"; `: a new emoji after the "a".
            change(range(pos(1, 6), pos(1, 6)), "😀"),
            // The end splits the pair (-> 6): only the "a" goes.
            change(range(pos(1, 5), pos(1, 7)), ""),
        ],
    );
    assert!(
        doc.line(1).starts_with("X = \"😀\"; JWT_SECRET"),
        "{}",
        doc.text
    );
    let d = server.diagnostics(&doc.uri, Some(6));
    assert_eq!(codes(&d), ["SEC001"]);
    assert_eq!(d[0]["range"], doc.range_of(SEC001_CALL));

    // A change for a document that was never opened is ignored.
    let stranger = server.uri("never_opened.py");
    server.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": stranger, "version": 7 },
            "contentChanges": [
                { "range": range(pos(0, 0), pos(0, 0)), "text": "JWT_SECRET = os.getenv(\"JWT_SECRET\", \"x\")\n" },
                { "text": "whole" },
            ],
        }),
    );
    // Requests about unknown documents answer (null), not fail.
    let r = server.request_raw(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": stranger },
            "range": range(pos(0, 0), pos(0, 5)),
            "context": { "diagnostics": [] },
        }),
    );
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(r["result"], Value::Null, "{r}");
    assert_eq!(server.hover(&stranger, pos(0, 0)), Value::Null);
    // Out-of-range requests on a known document answer too.
    let far = server.code_actions(&doc, range(pos(10_000, 10_000), pos(20_000, 0)), &[], None);
    assert!(
        far.iter()
            .all(|a| a["kind"] == "quickfix" || a["kind"] == "source.fixAll.preflight"),
        "{far:?}"
    );
    assert_eq!(server.hover(&doc.uri, pos(10_000, 10_000)), Value::Null);
    // An unknown method is an error response, and the server carries on.
    let r = server.request_raw("preflight/noSuchMethod", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");

    // Still in service: the quick fix lands where the client expects it.
    let d = server.diagnostics_now(&doc);
    let sec = diagnostic(&d, "SEC001").clone();
    let actions = server.code_actions(&doc, sec["range"].clone(), &[sec], None);
    let fix = action(&actions, "Preflight (SEC001): Fail fast");
    server.apply_edit(&mut doc, &fix["edit"].clone());
    assert_eq!(
        doc.text,
        format!("import os\nX = \"😀\"; {FIXED_LINE}  # tail\n# {token}")
    );
    assert_eq!(server.diagnostics(&doc.uri, Some(7)), Vec::<Value>::new());
    // No diagnostics were ever published for the unknown document.
    assert!(
        !server
            .backlog
            .iter()
            .chain(&server.dropped)
            .any(|m| m["params"]["uri"] == stranger.as_str()),
        "published for a document that was never opened"
    );
    server.shutdown_and_exit();
}

// ---------------------------------------------------------------------------------------------
// 9. .env files

#[test]
fn production_env_file_findings() {
    let mut server = start("dotenv");
    let mut env = server.open(".env.production", "dotenv", DUPLICATE_ENV);
    let d = server.diagnostics(&env.uri, Some(1));
    let dup = diagnostic(&d, "ENV001");
    assert_eq!(dup["range"], range(pos(0, 0), pos(0, 5)));
    assert_eq!(dup["severity"], 2);
    assert_eq!(dup["source"], "preflight");
    let local = diagnostic(&d, "CFG006");
    assert_eq!(local["range"], env.range_of("http://localhost:3000"));
    assert_eq!(local["range"], range(pos(2, 13), pos(2, 34)));
    assert_eq!(d.len(), 2, "{d:#?}");

    // Quick fix: the unused line goes.
    let dup = dup.clone();
    let actions = server.code_actions(&env, dup["range"].clone(), &[dup], Some(&["quickfix"]));
    let fix = action(
        &actions,
        "Preflight (ENV001): Remove the unused `DEBUG` line",
    );
    server.apply_edit(&mut env, &fix["edit"].clone());
    assert_eq!(
        env.text,
        "DEBUG=false\nCORS_ORIGINS=http://localhost:3000\n"
    );
    let d = server.diagnostics(&env.uri, Some(2));
    assert_eq!(codes(&d), ["CFG006"]);

    // Suppression in an env file: a comment line above.
    let local = d[0].clone();
    let actions = server.code_actions(&env, local["range"].clone(), &[local], None);
    let ignore = action(&actions, "Preflight (CFG006): ignore on this line");
    server.apply_edit(&mut env, &ignore["edit"].clone());
    assert_eq!(
        env.text,
        "DEBUG=false\n# preflight: ignore[CFG006]\nCORS_ORIGINS=http://localhost:3000\n"
    );
    assert_eq!(server.diagnostics(&env.uri, Some(3)), Vec::<Value>::new());

    // A development env file does not get CFG006.
    let dev = server.open(
        ".env.local",
        "dotenv",
        "CORS_ORIGINS=http://localhost:3000\n",
    );
    assert_eq!(server.diagnostics(&dev.uri, Some(1)), Vec::<Value>::new());
    server.shutdown_and_exit();
}

// ---------------------------------------------------------------------------------------------
// 10. Hover

#[test]
fn hover_explains_the_rule() {
    let mut server = start("hover");
    let doc = server.open("settings.py", "python", SETTINGS);
    let d = server.diagnostics(&doc.uri, Some(1));
    let finding = diagnostic(&d, "SEC001");
    // The rule id links to the rule's documentation: the page `preflight explain` prints.
    let href = finding["codeDescription"]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no codeDescription.href: {finding}"));
    let page = href.strip_prefix("file://").expect("a file: URL");
    assert!(page.ends_with("/SEC001.md"), "{href}");
    let page = std::fs::read_to_string(page).expect("the linked page exists");
    assert!(page.starts_with("# SEC001 `secret-env-default`"), "{page}");
    assert!(page.contains("## What it does"), "{page}");

    let hover = server.hover(&doc.uri, pos(1, 20));
    assert_eq!(hover["contents"]["kind"], "markdown", "{hover}");
    let value = hover["contents"]["value"].as_str().expect("markdown text");
    // One concise section: the linked id and name, the message, the fix; not the whole page.
    assert!(
        value.starts_with(&format!(
            "**[SEC001]({href})** `secret-env-default` · error"
        )),
        "{value}"
    );
    assert!(
        value.contains(finding["message"].as_str().unwrap()),
        "{value}"
    );
    assert!(value.contains("\n\nFix: "), "{value}");
    assert!(!value.contains("What it does"), "{value}");
    assert!(!value.lines().any(|l| l.starts_with("# ")), "{value}");
    assert_eq!(hover["range"], finding["range"]);
    // Nothing to say outside a finding.
    assert_eq!(server.hover(&doc.uri, pos(0, 3)), Value::Null);
    server.shutdown_and_exit();
}

// ---------------------------------------------------------------------------------------------
// 11. didClose, shutdown, exit

#[test]
fn did_close_clears_diagnostics_and_exit_ends_the_process() {
    let mut server = start("close");
    let doc = server.open("settings.py", "python", SETTINGS);
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(1))), ["SEC001"]);
    server.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": doc.uri } }),
    );
    let cleared = server.publication(&doc.uri, None);
    assert_eq!(cleared["params"]["diagnostics"], json!([]), "{cleared}");
    // Requests about the closed document answer null.
    assert_eq!(server.hover(&doc.uri, pos(1, 20)), Value::Null);
    server.shutdown_and_exit();
}

#[test]
fn reopening_a_document_never_publishes_results_of_its_previous_life() {
    let mut server = start("reopen");
    // A large first version keeps its analysis busy while the document is closed and reopened
    // with an even larger text (so the first analysis tends to finish first).
    let values = |from: usize, to: usize| -> String {
        (from..to)
            .map(|i| format!("VALUE_{i} = os.getenv(\"VALUE_{i}\")\n"))
            .collect()
    };
    let first = format!(
        "import os\nJWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\n{}",
        values(0, 20_000)
    );
    let second = format!("import os\n{FIXED_LINE}\n{}", values(0, 40_000));
    let uri = server.uri("settings.py");
    server.open_uri(&uri, "python", &first);
    server.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    let doc = server.open_uri(&uri, "python", &second);
    // Whatever was published before the close, the close clears ...
    server.wait_for("the publication clearing the closed document", |m| {
        if m["method"] != "textDocument/publishDiagnostics" || m["params"]["uri"] != uri.as_str() {
            Verdict::Keep
        } else if m["params"]["version"].is_null() {
            Verdict::Take
        } else {
            Verdict::Drop
        }
    });
    // ... and the next publication is about the reopened text.
    let next = server.publication(&uri, None);
    assert_eq!(next["params"]["version"], 1);
    assert_eq!(
        next["params"]["diagnostics"],
        json!([]),
        "stale results: {next:#}"
    );
    // Code actions see the reopened text too.
    let actions = server.code_actions(&doc, range(pos(1, 0), pos(1, 5)), &[], None);
    assert_eq!(titles(&actions), Vec::<&str>::new());
    server.shutdown_and_exit();
}

// ---------------------------------------------------------------------------------------------
// Requests right behind edits, CRLF text, untitled documents.

#[test]
fn requests_see_edits_that_are_not_analysed_yet() {
    let mut server = start_with("typing", &["utf-16"]);
    let mut doc = server.open("settings.py", "python", "import os\n😀 = 1\n");
    assert_eq!(server.diagnostics(&doc.uri, Some(1)), Vec::<Value>::new());
    // Type a line one character per didChange, then ask for code actions at once.
    let line = "API_KEY = os.getenv(\"API_KEY\", \"k\")";
    for (i, c) in line.chars().enumerate() {
        server.change(
            &mut doc,
            vec![change(range(pos(2, i), pos(2, i)), &c.to_string())],
        );
    }
    assert_eq!(doc.line(2), line);
    let actions = server.code_actions(&doc, range(pos(2, 12), pos(2, 12)), &[], None);
    let fix = action(&actions, "Preflight (SEC001): Fail fast");
    assert_eq!(
        fix["diagnostics"][0]["range"],
        doc.range_of("os.getenv(\"API_KEY\", \"k\")")
    );
    let hover = server.hover(&doc.uri, pos(2, 12));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("SEC001")),
        "{hover}"
    );
    server.apply_edit(&mut doc, &fix["edit"].clone());
    assert_eq!(
        doc.text,
        "import os\n😀 = 1\nAPI_KEY = os.environ[\"API_KEY\"]"
    );
    // The last version is published (earlier ones may be skipped), and it is clean.
    let last = doc.version;
    assert_eq!(
        server.diagnostics(&doc.uri, Some(last)),
        Vec::<Value>::new()
    );
    server.shutdown_and_exit();
}

#[test]
fn crlf_and_untitled_documents() {
    let mut server = start("crlf");
    let mut py = server.open(
        "settings.py",
        "python",
        "import os\r\nJWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\r\nX = 1\r\n",
    );
    let d = server.diagnostics(&py.uri, Some(1));
    assert_eq!(
        diagnostic(&d, "SEC001")["range"],
        range(pos(1, 13), pos(1, 43))
    );
    // A character past the line's end stops before the \r\n.
    server.change(&mut py, vec![change(range(pos(0, 99), pos(0, 99)), " ")]);
    assert_eq!(py.line(0), "import os ");
    let d = server.diagnostics(&py.uri, Some(2));
    let d = diagnostic(&d, "SEC001").clone();
    let actions = server.code_actions(&py, d["range"].clone(), &[d], None);
    let fix = action(&actions, "Preflight (SEC001): Fail fast");
    server.apply_edit(&mut py, &fix["edit"].clone());
    assert_eq!(py.text, format!("import os \r\n{FIXED_LINE}\r\nX = 1\r\n"));
    assert_eq!(server.diagnostics(&py.uri, Some(3)), Vec::<Value>::new());

    let mut env = server.open(
        ".env.production",
        "dotenv",
        "A=1\r\nCORS_ORIGINS=http://localhost:3000\r\n",
    );
    let d = server.diagnostics(&env.uri, Some(1));
    let d = diagnostic(&d, "CFG006").clone();
    assert_eq!(d["range"], range(pos(1, 13), pos(1, 34)));
    let actions = server.code_actions(&env, d["range"].clone(), &[d], None);
    let ignore = action(&actions, "Preflight (CFG006): ignore on this line");
    server.apply_edit(&mut env, &ignore["edit"].clone());
    assert_eq!(
        env.text,
        "A=1\r\n# preflight: ignore[CFG006]\r\nCORS_ORIGINS=http://localhost:3000\r\n"
    );
    assert_eq!(server.diagnostics(&env.uri, Some(2)), Vec::<Value>::new());

    // An unsaved buffer: the language id decides.
    let untitled = server.open_uri("untitled:Untitled-1", "python", SETTINGS);
    assert_eq!(
        codes(&server.diagnostics(&untitled.uri, Some(1))),
        ["SEC001"]
    );
    server.shutdown_and_exit();
}

/// Lines ended by a lone `\r` (classic Mac OS): LSP counts them as lines, and so must the
/// analysis (a comment must not run to the end of the file), as the text is edited too.
#[test]
fn lone_cr_documents() {
    let mut server = start("cr");
    let mut py = server.open(
        "settings.py",
        "python",
        "import os\r# Secrets\rJWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\rX = 1\r",
    );
    let d = server.diagnostics(&py.uri, Some(1));
    assert_eq!(
        diagnostic(&d, "SEC001")["range"],
        range(pos(2, 13), pos(2, 43))
    );
    // Typing at the end of the comment, then making its line break a `\r\n` and a lone `\r`
    // again: the finding stays where it is.
    server.change(&mut py, vec![change(range(pos(1, 9), pos(1, 9)), " here")]);
    server.change(&mut py, vec![change(range(pos(2, 0), pos(2, 0)), "\n")]);
    assert_eq!(py.line(1), "# Secrets here");
    let d = server.diagnostics(&py.uri, Some(3));
    assert_eq!(
        diagnostic(&d, "SEC001")["range"],
        range(pos(2, 13), pos(2, 43))
    );
    server.change(&mut py, vec![change(range(pos(1, 14), pos(2, 0)), "\r")]);
    let d = server.diagnostics(&py.uri, Some(4));
    let d = diagnostic(&d, "SEC001").clone();
    assert_eq!(d["range"], range(pos(2, 13), pos(2, 43)));
    let actions = server.code_actions(&py, d["range"].clone(), &[d], None);
    let fix = action(&actions, "Preflight (SEC001): Fail fast");
    server.apply_edit(&mut py, &fix["edit"].clone());
    assert_eq!(
        py.text,
        format!("import os\r# Secrets here\r{FIXED_LINE}\rX = 1\r")
    );
    assert_eq!(server.diagnostics(&py.uri, Some(5)), Vec::<Value>::new());

    // A comment line put above ends with `\r` like the file's other lines.
    let mut env = server.open(
        ".env.production",
        "dotenv",
        "A=1\rCORS_ORIGINS=http://localhost:3000\r",
    );
    let d = server.diagnostics(&env.uri, Some(1));
    let d = diagnostic(&d, "CFG006").clone();
    assert_eq!(d["range"], range(pos(1, 13), pos(1, 34)));
    let actions = server.code_actions(&env, d["range"].clone(), &[d], None);
    let ignore = action(&actions, "Preflight (CFG006): ignore on this line");
    server.apply_edit(&mut env, &ignore["edit"].clone());
    assert_eq!(
        env.text,
        "A=1\r# preflight: ignore[CFG006]\rCORS_ORIGINS=http://localhost:3000\r"
    );
    assert_eq!(server.diagnostics(&env.uri, Some(2)), Vec::<Value>::new());
    server.shutdown_and_exit();
}

// ---------------------------------------------------------------------------------------------
// 10. Settings files and the project model

impl Server {
    /// Waits for publications for `uri` until one satisfies `done` (earlier ones are consumed).
    fn diagnostics_until(&mut self, uri: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            assert!(
                Instant::now() < deadline,
                "no publication for {uri} satisfied the test"
            );
            let d = self.diagnostics(uri, None);
            if done(&d) {
                return d;
            }
        }
    }
}

const COMPOSE: &str = "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_USER: app\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-postgres}\n";

#[test]
fn compose_file_findings_fixes_and_edits() {
    let mut server = start("compose");
    let mut doc = server.open("compose.yaml", "dockercompose", COMPOSE);
    let d = server.diagnostics(&doc.uri, Some(1));
    let secret = diagnostic(&d, "SEC010").clone();
    assert_eq!(
        secret["range"],
        doc.range_of("${POSTGRES_PASSWORD:-postgres}")
    );
    assert_eq!(
        secret["severity"], 2,
        "a plain compose file reports warnings"
    );
    assert_eq!(secret["source"], "preflight");

    // Fix-all (what editors run on save) requires the variable instead.
    let actions = server.fix_all_actions(&doc);
    assert_eq!(actions.len(), 1, "{:?}", titles(&actions));
    server.apply_edit(&mut doc, &actions[0]["edit"].clone());
    assert_eq!(
        doc.line(5),
        "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
    );
    assert_eq!(server.diagnostics(&doc.uri, Some(2)), Vec::<Value>::new());

    // Typing a literal password into a list-form environment: reported as the text changes.
    let end = doc.text.len();
    let at = byte_to_pos(&doc.text, end, doc.enc);
    server.change(
        &mut doc,
        vec![change(
            range(at.clone(), at),
            "  web:\n    build: .\n    environment:\n      - SECRET_KEY=k9fT2qLz8wX4mN7pR1vB5cY3e\n",
        )],
    );
    let d = server.diagnostics(&doc.uri, Some(3));
    let literal = diagnostic(&d, "SEC010");
    assert_eq!(literal["range"], doc.range_of("k9fT2qLz8wX4mN7pR1vB5cY3e"));
    // Broken YAML mid-edit: no crash, and what still parses is still checked.
    let end = doc.text.len();
    let at = byte_to_pos(&doc.text, end, doc.enc);
    server.change(
        &mut doc,
        vec![change(range(at.clone(), at), "  bad: [unclosed\n")],
    );
    let d = server.diagnostics(&doc.uri, Some(4));
    assert!(d.iter().all(|d| d["source"] == "preflight"), "{d:#?}");
    server.shutdown_and_exit();
}

#[test]
fn dockerfile_findings_and_quick_fix() {
    let mut server = start("dockerfile");
    let mut doc = server.open(
        "Dockerfile",
        "dockerfile",
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"gunicorn\", \"proj.wsgi\"]\n",
    );
    let d = server.diagnostics(&doc.uri, Some(1));
    assert_eq!(codes(&d), ["DOCK001", "DOCK002"]);
    let root = diagnostic(&d, "DOCK001").clone();
    assert_eq!(root["range"], doc.range_of("FROM python:3.12-slim"));
    let actions = server.code_actions(&doc, root["range"].clone(), &[root], Some(&["quickfix"]));
    let fix = action(
        &actions,
        "Preflight (DOCK001): Run as an unprivileged `app` user",
    );
    server.apply_edit(&mut doc, &fix["edit"].clone());
    assert_eq!(
        doc.text,
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN useradd --create-home --uid 10001 app\nUSER app\nCMD [\"gunicorn\", \"proj.wsgi\"]\n"
    );
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(2))), ["DOCK002"]);
    // Quick fix only: fix-all on save does not change who the container runs as.
    assert!(server.fix_all_actions(&doc).is_empty());
    server.shutdown_and_exit();
}

#[test]
fn only_yaml_named_like_a_compose_file_is_analysed() {
    let mut server = start("yaml");
    let other = server.open("config/app.yml", "yaml", COMPOSE);
    let compose = server.open("docker-compose.prod.yml", "yaml", COMPOSE);
    let d = server.diagnostics(&compose.uri, Some(1));
    assert_eq!(codes(&d), ["SEC010"]);
    assert_eq!(
        diagnostic(&d, "SEC010")["severity"],
        1,
        "production compose: an error"
    );
    let hover = server.hover(&other.uri, pos(5, 30));
    assert_eq!(hover, Value::Null);
    assert!(
        !server
            .backlog
            .iter()
            .chain(&server.dropped)
            .any(|m| m["params"]["uri"] == other.uri.as_str()),
        "diagnostics were published for a YAML file that is not a compose file"
    );
    server.shutdown_and_exit();
}

const BASE_SETTINGS: &str = "INSTALLED_APPS = [\"django.contrib.admin\"]\nDEBUG = True\n";
const PRODUCTION_SETTINGS: &str = "from .base import *\n\nDEBUG = False\n";

#[test]
fn the_workspace_scan_knows_what_production_overrides() {
    let mut server = Server::start(
        "scan",
        Init {
            watch: true,
            files: vec![
                ("proj/settings/base.py", BASE_SETTINGS),
                ("proj/settings/production.py", PRODUCTION_SETTINGS),
                ("compose.yaml", "services:\n  web:\n    build: .\n"),
            ],
            ..Init::default()
        },
    );
    // The scan runs in the background, with progress the client can show.
    server.wait_for("the end of the project scan's progress", |m| {
        if m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end" {
            Verdict::Take
        } else {
            Verdict::Keep
        }
    });
    let base = server.open("proj/settings/base.py", "python", BASE_SETTINGS);
    // production.py (closed, read from disk) sets DEBUG again after `from .base import *`.
    server.diagnostics_until(&base.uri, |d| !codes(d).contains(&"CFG001"));

    // production.py stops overriding DEBUG on disk: the watcher event reaches the open base.py.
    let production = server.proj().join("proj/settings/production.py");
    std::fs::write(&production, "from .base import *\n").unwrap();
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": file_uri(&production), "type": 2 }] }),
    );
    let d = server.diagnostics_until(&base.uri, |d| codes(d).contains(&"CFG001"));
    assert_eq!(
        diagnostic(&d, "CFG001")["range"],
        base.range_of("DEBUG = True")
    );
    server.shutdown_and_exit();
}

#[test]
fn an_edit_in_one_open_file_changes_another_files_diagnostics() {
    let mut server = start("live");
    let base = server.open("proj/settings/base.py", "python", BASE_SETTINGS);
    assert!(codes(&server.diagnostics(&base.uri, Some(1))).contains(&"CFG001"));
    let mut production = server.open("proj/settings/production.py", "python", PRODUCTION_SETTINGS);
    // Once production.py is known, base.py is analysed again: its DEBUG is dead there.
    server.diagnostics_until(&base.uri, |d| !codes(d).contains(&"CFG001"));
    // Deleting the override in the editor (unsaved) brings the finding back.
    let r = production.range_of("DEBUG = False\n");
    server.change(&mut production, vec![change(r, "")]);
    server.diagnostics_until(&base.uri, |d| codes(d).contains(&"CFG001"));
    server.shutdown_and_exit();
}

// ---------------------------------------------------------------------------------------------
// Hostile input: frames no client should send, text no rule should choke on.

impl Server {
    /// Writes `bytes` to the server as they are.
    fn send_raw(&self, bytes: &[u8]) {
        let mut stdin = self.stdin.lock().unwrap_or_else(|p| p.into_inner());
        stdin.write_all(bytes).expect("write to the server");
        stdin.flush().expect("flush");
    }

    /// The next error response with `id` (a JSON value: null for frames without a usable id).
    fn error_response(&mut self, id: Value) -> Value {
        self.wait_for(&format!("an error response with id {id}"), |m| {
            if m.get("method").is_none() && m["id"] == id && m.get("error").is_some() {
                Verdict::Take
            } else {
                Verdict::Keep
            }
        })["error"]
            .clone()
    }

    /// The next `window/logMessage` whose text contains `needle`.
    fn log_message(&mut self, needle: &str) -> String {
        self.wait_for(&format!("a log message about {needle:?}"), |m| {
            if m["method"] == "window/logMessage"
                && m["params"]["message"]
                    .as_str()
                    .is_some_and(|t| t.contains(needle))
            {
                Verdict::Take
            } else {
                Verdict::Keep
            }
        })["params"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the server's stderr holds `needle` (it is read by a thread of its own, so
    /// it may lag behind stdout).
    fn stderr_contains(&self, needle: &str) -> bool {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let stderr = self
                .stderr
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if stderr.contains(needle) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

fn framed(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

#[test]
fn frames_no_client_should_send_are_answered_and_the_server_keeps_serving() {
    let mut server = start_with("frames", &["utf-16"]);
    let doc = server.open("settings.py", "python", SETTINGS);
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(1))), ["SEC001"]);

    for (body, code, log) in [
        ("{}", -32600, "\"jsonrpc\" must be \"2.0\""),
        ("null", -32600, "must be a JSON object"),
        (
            "[{\"jsonrpc\":\"2.0\",\"id\":90,\"method\":\"shutdown\"}]",
            -32600,
            "batches",
        ),
        (
            "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":7}",
            -32600,
            "\"method\" must be a string",
        ),
        ("{not json", -32700, "is not JSON"),
    ] {
        server.send_raw(&framed(body));
        let id = if body.contains("\"s\"") {
            json!("s")
        } else {
            Value::Null
        };
        let error = server.error_response(id);
        assert_eq!(error["code"], code, "{body}: {error}");
        server.log_message(log);
        assert!(
            server.stderr_contains(log),
            "{body}: stderr names the reason"
        );
    }
    // A float id is answered with that id, so the client can match the error.
    server.send_raw(&framed(
        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"textDocument/hover\",\"params\":{}}",
    ));
    assert_eq!(server.error_response(json!(1.5))["code"], -32600);

    let hover = |id: i64| {
        json!({ "jsonrpc": "2.0", "id": id, "method": "textDocument/hover", "params": {
            "textDocument": { "uri": doc.uri }, "position": pos(1, 20) } })
        .to_string()
    };
    let answered = |server: &mut Server, id: i64| {
        let response = server.wait_for("a hover response", |m| {
            if m["id"] == id && m.get("method").is_none() {
                Verdict::Take
            } else {
                Verdict::Keep
            }
        });
        assert!(
            response["result"]["contents"]["value"]
                .as_str()
                .is_some_and(|v| v.contains("SEC001")),
            "{response}"
        );
    };
    // A lower-case header name is still a header.
    let body = hover(101);
    server.send_raw(format!("content-length: {}\r\n\r\n{body}", body.len()).as_bytes());
    answered(&mut server, 101);
    // A length too short, then one too long with the next frame right behind it.
    let (short, long, next) = (hover(102), hover(103), hover(104));
    let mut bytes = format!("Content-Length: {}\r\n\r\n{short}", short.len() - 9).into_bytes();
    bytes.extend(format!("Content-Length: {}\r\n\r\n{long}", long.len() + 30).into_bytes());
    bytes.extend(framed(&next));
    server.send_raw(&bytes);
    for id in [102, 103, 104] {
        answered(&mut server, id);
    }
    // A length too long with nothing after it: answered once the client waits.
    let last = hover(105);
    server.send_raw(format!("Content-Length: {}\r\n\r\n{last}", last.len() + 50).as_bytes());
    answered(&mut server, 105);
    server.log_message("Content-Length said");
    // Garbage between frames is skipped.
    server.send_raw(b"\x00\x01 garbage\r\n\r\n");
    server.log_message("skipped");
    server.send_raw(&framed(&hover(106)));
    answered(&mut server, 106);
    server.shutdown_and_exit();
}

#[test]
fn a_lone_surrogate_in_document_text_is_a_replacement_character_and_offsets_stay_right() {
    let mut server = start_with("surrogate", &["utf-16"]);
    let doc = server.open("settings.py", "python", "import os\n");
    server.diagnostics(&doc.uri, Some(1));
    // What `JSON.stringify` writes for the first half of an emoji: one UTF-16 unit.
    let change = format!(
        "{{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{{\"textDocument\":{{\"uri\":\"{}\",\"version\":2}},\"contentChanges\":[{{\"range\":{{\"start\":{{\"line\":1,\"character\":0}},\"end\":{{\"line\":1,\"character\":0}}}},\"text\":\"X = \\\"\\ud83d\\\"; JWT_SECRET = os.getenv(\\\"JWT_SECRET\\\", \\\"dev\\\")\\n\"}}]}}}}",
        doc.uri
    );
    server.send_raw(&framed(&change));
    let d = server.diagnostics(&doc.uri, Some(2));
    assert_eq!(codes(&d), ["SEC001"]);
    // `X = "` + the replacement + `"; JWT_SECRET = `: the call starts at unit 22.
    assert_eq!(d[0]["range"], range(pos(1, 22), pos(1, 52)));
    server.log_message("surrogate");
    server.shutdown_and_exit();
}

#[test]
fn exit_without_shutdown_ends_the_process_with_status_1() {
    let mut server = start("exit1");
    server.notify("exit", Value::Null);
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match server.child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            other => panic!("the server did not exit: {other:?}"),
        }
    };
    assert_eq!(status.code(), Some(1));
}

#[test]
fn a_concatenation_of_ten_thousand_terms_is_analysed_and_the_server_stays_up() {
    let mut server = start("deep");
    let terms = vec!["x"; 10_000].join(" + ");
    let text = format!("def f(cursor, x):\n    cursor.execute(\"select \" + {terms})\n");
    let doc = server.open("app/queries.py", "python", &text);
    assert_eq!(codes(&server.diagnostics(&doc.uri, Some(1))), ["INJ001"]);
    let other = server.open("settings.py", "python", SETTINGS);
    assert_eq!(codes(&server.diagnostics(&other.uri, Some(1))), ["SEC001"]);
    server.shutdown_and_exit();
}

#[test]
fn a_slow_request_does_not_hold_up_requests_about_other_documents() {
    let mut server = start("slow");
    let mut text = String::from("import os\n");
    for i in 0..1_500 {
        text.push_str(&format!("K{i} = os.getenv(\"K{i}_SECRET\", \"dev\")\n"));
    }
    let big = server.open("big_settings.py", "python", &text);
    assert_eq!(server.diagnostics(&big.uri, Some(1)).len(), 1_500);
    let small = server.open("settings.py", "python", SETTINGS);
    assert_eq!(codes(&server.diagnostics(&small.uri, Some(1))), ["SEC001"]);

    // Fix-all over 1,500 findings, then a hover on the other document: the hover is answered
    // first (the fix-all is computed off the request path, not under the server's lock).
    let fix_all_id = server.next_id;
    server.next_id += 1;
    server.send(
        &json!({ "jsonrpc": "2.0", "id": fix_all_id, "method": "textDocument/codeAction",
        "params": { "textDocument": { "uri": big.uri }, "range": range(pos(0, 0), pos(0, 0)),
            "context": { "diagnostics": [], "only": ["source.fixAll"], "triggerKind": 1 } } }),
    );
    let hover_id = server.next_id;
    server.next_id += 1;
    server.send(
        &json!({ "jsonrpc": "2.0", "id": hover_id, "method": "textDocument/hover",
        "params": { "textDocument": { "uri": small.uri }, "position": pos(1, 20) } }),
    );
    let first = server.wait_for("a response", |m| {
        if m.get("method").is_none() && (m["id"] == fix_all_id || m["id"] == hover_id) {
            Verdict::Take
        } else {
            Verdict::Keep
        }
    });
    assert_eq!(first["id"], hover_id, "{first}");
    let fix_all = server.wait_for("the fix-all", |m| {
        if m.get("method").is_none() && m["id"] == fix_all_id {
            Verdict::Take
        } else {
            Verdict::Keep
        }
    });
    let title = fix_all["result"][0]["title"].as_str().unwrap_or_default();
    assert!(title.contains("1500 fixable"), "{fix_all}");
    server.shutdown_and_exit();
}

#[test]
fn requests_about_a_document_too_large_to_analyse_are_answered_at_once() {
    let mut server = start("huge");
    let line = "K = os.getenv(\"K_SECRET\", \"dev\")\n";
    let text = line.repeat(6 * 1024 * 1024 / line.len() + 1);
    let huge = server.open("huge.py", "python", &text);
    assert_eq!(server.diagnostics(&huge.uri, None), Vec::<Value>::new());
    let actions = server.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": huge.uri }, "range": range(pos(0, 0), pos(0, 5)),
            "context": { "diagnostics": [], "triggerKind": 1 } }),
    );
    assert_eq!(actions, Value::Null);
    assert_eq!(server.hover(&huge.uri, pos(0, 20)), Value::Null);
    let small = server.open("settings.py", "python", SETTINGS);
    assert_eq!(codes(&server.diagnostics(&small.uri, Some(1))), ["SEC001"]);
    server.shutdown_and_exit();
}
