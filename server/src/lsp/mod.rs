//! The language server: `preflight server` over stdio.
//!
//! Ordering: tower-lsp-server runs handlers concurrently, so every document mutation happens
//! synchronously under one lock, before the handler's first `.await` (there is none in the
//! notification handlers): edits apply in arrival order. Analysis runs on the blocking pool on a
//! snapshot stamped with a generation; one analysis per document is in flight at a time, newer
//! edits mark it pending, and a result for an outdated generation is dropped. Diagnostics go out
//! through one publisher task, in order, with the document version they were computed for.

mod convert;
pub mod frames;
mod state;

use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::config::Options;
use crate::text::PositionEncoding;
use state::{AnalysisJob, State};

pub const FIX_ALL_KIND: &str = "source.fixAll.preflight";

pub fn run() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("preflight: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let clean_exit = runtime.block_on(serve_stdio());
    // Blocking analysis threads may still be finishing; do not wait for them.
    runtime.shutdown_background();
    // The specification: exit code 0 after `shutdown` then `exit`, 1 for `exit` alone.
    if clean_exit {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// How long the client may be silent before a frame that overstates its length is taken as far
/// as its JSON goes (the client is then waiting for an answer).
const IDLE: std::time::Duration = std::time::Duration::from_millis(150);

/// Serves the client on stdio through the frame decoder (see `frames`): tower-lsp-server reads
/// and writes in-memory pipes; what it writes is passed on frame by frame, between the error
/// answers and log messages the decoder sends. True when `shutdown` came before the end.
async fn serve_stdio() -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (service, socket) = LspService::new(Backend::new);
    let (mut to_server, server_input) = tokio::io::duplex(1 << 16);
    let (server_output, mut from_server) = tokio::io::duplex(1 << 16);
    let (frames_tx, mut frames_rx) = mpsc::unbounded_channel::<Vec<u8>>();

    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(frame) = frames_rx.recv().await {
            if stdout.write_all(&frame).await.is_err() || stdout.flush().await.is_err() {
                break; // the client is gone
            }
        }
    });
    let server_frames = frames_tx.clone();
    let relay_out = tokio::spawn(async move {
        let mut splitter = frames::FrameSplitter::default();
        let mut chunk = vec![0; 1 << 16];
        while let Ok(n) = from_server.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            for frame in splitter.push(&chunk[..n]) {
                let _ = server_frames.send(frame);
            }
        }
    });

    // Stdin is read in a task of its own so that waiting for it with a timeout loses nothing.
    let (chunks_tx, mut chunks_rx) = mpsc::channel::<Vec<u8>>(16);
    tokio::spawn(async move {
        let mut stdin = tokio::io::stdin();
        let mut chunk = vec![0; 1 << 16];
        while let Ok(n) = stdin.read(&mut chunk).await {
            if n == 0 || chunks_tx.send(chunk[..n].to_vec()).await.is_err() {
                break;
            }
        }
    });
    let relay_in = tokio::spawn(async move {
        let mut decoder = frames::Decoder::default();
        let mut shutdown = false;
        let mut ended = false;
        while !ended {
            let idle = match tokio::time::timeout(IDLE, chunks_rx.recv()).await {
                Ok(Some(chunk)) => {
                    decoder.push(&chunk);
                    false
                }
                Ok(None) => {
                    ended = true;
                    true
                }
                Err(_) if decoder.pending() == 0 => continue,
                Err(_) => true,
            };
            while let Some(decoded) = decoder.next(idle) {
                for note in &decoded.notes {
                    eprintln!("preflight: {note}");
                    let _ = frames_tx.send(frames::encode(&frames::log_message(2, note)));
                }
                if let Some(response) = decoded.response {
                    let _ = frames_tx.send(frames::encode(&response));
                }
                let Some(message) = decoded.message else {
                    continue;
                };
                let method = message.get("method").and_then(Value::as_str);
                let is_request = message.get("id").is_some();
                shutdown |= method == Some("shutdown") && is_request;
                let exit = method == Some("exit") && !is_request;
                if to_server
                    .write_all(&frames::encode(&message))
                    .await
                    .is_err()
                {
                    return shutdown; // the server has stopped
                }
                if exit {
                    return shutdown;
                }
            }
        }
        if decoder.pending() > 0 {
            eprintln!(
                "preflight: the input ended inside a message ({} bytes not decoded)",
                decoder.pending()
            );
        }
        shutdown
    });

    Server::new(server_input, server_output, socket)
        .serve(service)
        .await;
    // The server stops on `exit` (after which the input relay has returned) or at the end of
    // its input (the relay's doing too).
    let shutdown = matches!(
        tokio::time::timeout(std::time::Duration::from_secs(1), relay_in).await,
        Ok(Ok(true))
    );
    let _ = relay_out.await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer).await;
    shutdown
}

/// What the publisher task sends to the client, in order.
pub enum Outgoing {
    Diagnostics {
        uri: Uri,
        diagnostics: Vec<Diagnostic>,
        version: Option<i32>,
    },
    Message {
        typ: MessageType,
        text: String,
    },
}

pub struct Backend {
    client: Client,
    state: Arc<Mutex<State>>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock must not take the server down with it.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
        let publisher = client.clone();
        tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                match message {
                    Outgoing::Diagnostics {
                        uri,
                        diagnostics,
                        version,
                    } => {
                        publisher
                            .publish_diagnostics(uri, diagnostics, version)
                            .await
                    }
                    Outgoing::Message { typ, text } => publisher.show_message(typ, text).await,
                }
            }
        });
        Backend {
            client,
            state: Arc::new(Mutex::new(State::new(tx.clone()))),
            outgoing: tx,
        }
    }

    /// Runs the analysis jobs on the blocking pool; each completion may schedule the next one.
    fn spawn_jobs(&self, jobs: Vec<AnalysisJob>) {
        spawn_jobs(self.state.clone(), jobs);
    }

    /// Runs `f` on the state, containing any panic (logged and reported once) so a bug in one
    /// request cannot stop the server.
    fn with_state<R>(&self, what: &str, f: impl FnOnce(&mut State) -> R) -> Option<R> {
        let mut state = lock(&self.state);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut state))) {
            Ok(r) => Some(r),
            Err(_) => {
                self.report_internal_error(what);
                None
            }
        }
    }

    /// A handler panicked: said on stderr and to the user, and the server goes on.
    fn report_internal_error(&self, what: &str) {
        let text =
            format!("preflight: internal error while handling {what}; the server keeps running");
        eprintln!("{text}");
        let _ = self.outgoing.send(Outgoing::Message {
            typ: MessageType::ERROR,
            text,
        });
    }
}

/// Set when a request's future is dropped (`$/cancelRequest`, or the client went away), so the
/// blocking work computing its answer can stop.
struct CancelOnDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Backend {
    /// Answers a request about one document from a snapshot, on the blocking pool: the lock is
    /// held only to take the snapshot, so hovers and edits of other documents never wait for a
    /// slow code action. A document that is not analysed (too large, not open) is answered at
    /// once with nothing; an answer computed for a version the client has since changed is
    /// `ContentModified`, as the specification asks.
    async fn off_the_request_path<R: Send + 'static>(
        &self,
        what: &'static str,
        uri: &Uri,
        work: impl FnOnce(&mut state::Snapshot, &dyn Fn() -> bool) -> Option<R> + Send + 'static,
    ) -> Result<Option<R>> {
        let Some(mut snapshot) = self.with_state(what, |s| s.snapshot(uri)).flatten() else {
            return Ok(None);
        };
        let cancelled = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(cancelled.clone());
        let state = self.state.clone();
        let computed = tokio::task::spawn_blocking(move || {
            let is_cancelled = move || cancelled.load(std::sync::atomic::Ordering::Relaxed);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let answer = work(&mut snapshot, &is_cancelled);
                if let Some((latest, tree)) = snapshot.take_computed() {
                    lock(&state).computed(&snapshot.uri, &latest, tree);
                }
                answer
            }));
            (outcome, snapshot.version)
        })
        .await;
        match computed {
            Ok((Ok(answer), version)) => {
                let now = self.with_state(what, |s| s.version(uri)).flatten();
                if now.is_some_and(|now| now != version) {
                    return Err(tower_lsp_server::jsonrpc::Error {
                        code: tower_lsp_server::jsonrpc::ErrorCode::ContentModified,
                        message: "the document changed while the answer was computed".into(),
                        data: None,
                    });
                }
                Ok(answer)
            }
            _ => {
                self.report_internal_error(what);
                Ok(None)
            }
        }
    }
}

/// Globs of the files the configuration and the project model are read from.
const WATCHED: &[&str] = &[
    "**/preflight.toml",
    "**/pyproject.toml",
    "**/*.py",
    "**/.env*",
    "**/*.env",
    "**/*compose*.{yml,yaml}",
    "**/*{Dockerfile,dockerfile,Containerfile}*",
    "**/*.sh",
    "**/*requirements*.txt",
    "**/requirements/*.txt",
    "**/Procfile*",
    "**/.gitignore",
    "**/*.dockerignore",
    "**/*.lock",
];

/// Builds the workspace's project model in the background (one blocking thread, with
/// `$/progress` when the client shows it), then analyses the open documents against it. Edits
/// and their diagnostics never wait for it: until it is done they see the project as far as it
/// is known.
async fn scan_workspace(
    client: Client,
    state: Arc<Mutex<State>>,
    folders: Vec<std::path::PathBuf>,
    progress_support: bool,
) {
    let token = NumberOrString::String("preflight-project-scan".to_string());
    let progress = if progress_support {
        let created = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            client.send_request::<request::WorkDoneProgressCreate>(WorkDoneProgressCreateParams {
                token: token.clone(),
            }),
        )
        .await;
        match created {
            Ok(Ok(())) => Some(
                client
                    .progress(token, "Preflight: reading the project")
                    .with_percentage(0)
                    .begin()
                    .await,
            ),
            _ => None,
        }
    } else {
        None
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, usize)>();
    let scan = tokio::task::spawn_blocking(move || {
        crate::project::scan::scan_project(&folders, &|done, total| {
            let _ = tx.send((done, total));
        })
    });
    let reporter = async {
        while let Some((done, total)) = rx.recv().await {
            if let Some(p) = &progress {
                let percentage = (done * 100).checked_div(total).unwrap_or(100) as u32;
                p.report_with_message(format!("{done}/{total} files"), percentage)
                    .await;
            }
        }
    };
    let (project, ()) = tokio::join!(scan, reporter);
    let Ok(project) = project else {
        eprintln!("preflight: the project scan failed; rules see each file on its own");
        if let Some(p) = progress {
            p.finish_with_message("failed").await;
        }
        return;
    };
    let files = project.len();
    let jobs = lock(&state).scanned(project);
    spawn_jobs(state, jobs);
    if let Some(p) = progress {
        p.finish_with_message(format!("{files} files")).await;
    }
}

/// Reads changed (or closed) files back from disk off the request path and updates the project.
fn refresh_from_disk(state: Arc<Mutex<State>>, paths: Vec<std::path::PathBuf>) {
    tokio::task::spawn_blocking(move || {
        let changes = paths
            .into_iter()
            .map(|path| {
                let facts = crate::project::scan::read_facts(&path);
                (path, facts)
            })
            .collect();
        let jobs = lock(&state).disk_files_changed(changes);
        spawn_jobs(state, jobs);
    });
}

fn spawn_jobs(state: Arc<Mutex<State>>, jobs: Vec<AnalysisJob>) {
    for job in jobs {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            let (uri, generation) = job.id();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run()));
            let next = {
                let mut guard = lock(&state);
                match result {
                    Ok(done) => guard.finish(done),
                    Err(_) => {
                        eprintln!("preflight: analysis failed unexpectedly; diagnostics for this document may be stale");
                        // Without this the document would count as busy forever and never be
                        // analysed again.
                        guard.abandon(&uri, generation)
                    }
                }
            };
            spawn_jobs(state, next);
        });
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.clone())
            .unwrap_or_default();
        let encoding = if offered.contains(&PositionEncodingKind::UTF8) {
            PositionEncoding::Utf8
        } else {
            PositionEncoding::Utf16
        };
        let options = params
            .initialization_options
            .as_ref()
            .map(Options::from_json);
        #[allow(deprecated)] // `rootUri`: what clients without workspace folders send
        let folders: Vec<std::path::PathBuf> = match &params.workspace_folders {
            Some(folders) if !folders.is_empty() => folders
                .iter()
                .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
                .collect(),
            _ => params
                .root_uri
                .as_ref()
                .and_then(|u| u.to_file_path().map(|p| p.into_owned()))
                .into_iter()
                .collect(),
        };
        let root = folders.first().cloned();
        let progress_support = params
            .capabilities
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false);
        let watch_support = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        self.with_state("initialize", |state| {
            state.encoding = encoding;
            state.root = root;
            state.folders = folders;
            state.progress_support = progress_support;
            state.watch_registration = watch_support;
            match options {
                Some(Ok(options)) => state.editor_options = options,
                Some(Err(e)) => state.report_once(
                    MessageType::WARNING,
                    format!("preflight: editor settings ignored: {e}"),
                ),
                None => {}
            }
        });
        Ok(InitializeResult {
            offset_encoding: None,
            server_info: Some(ServerInfo {
                name: "preflight".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
            capabilities: ServerCapabilities {
                position_encoding: Some(match encoding {
                    PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
                    _ => PositionEncodingKind::UTF16,
                }),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                        ..Default::default()
                    },
                )),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![
                            CodeActionKind::QUICKFIX,
                            CodeActionKind::SOURCE_FIX_ALL,
                            CodeActionKind::new(FIX_ALL_KIND),
                        ]),
                        resolve_provider: Some(false),
                        work_done_progress_options: Default::default(),
                    },
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                ..Default::default()
            },
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        let (register, folders, progress) = self
            .with_state("initialized", |state| {
                (
                    state.watch_registration,
                    state.folders.clone(),
                    state.progress_support,
                )
            })
            .unwrap_or_default();
        if register {
            // Config reloads and the project model: watch the files they are made of. The
            // client's answer is awaited in a task of its own, with a timeout, so a silent client
            // cannot wedge us.
            let client = self.client.clone();
            tokio::spawn(async move {
                let watchers = WATCHED
                    .iter()
                    .map(|g| FileSystemWatcher {
                        glob_pattern: GlobPattern::String(g.to_string()),
                        kind: None,
                    })
                    .collect();
                let registration = Registration {
                    id: "preflight-watch".to_string(),
                    method: "workspace/didChangeWatchedFiles".to_string(),
                    register_options: serde_json::to_value(
                        DidChangeWatchedFilesRegistrationOptions { watchers },
                    )
                    .ok(),
                };
                let outcome = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    client.register_capability(vec![registration]),
                )
                .await;
                if !matches!(outcome, Ok(Ok(()))) {
                    eprintln!("preflight: the client did not accept file watching; configuration and project files reload on save only");
                }
            });
        }
        if !folders.is_empty() {
            tokio::spawn(scan_workspace(
                self.client.clone(),
                self.state.clone(),
                folders,
                progress,
            ));
        }
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        if let Some(jobs) = self.with_state("didOpen", |s| {
            s.open(doc.uri, &doc.language_id, doc.text, doc.version)
        }) {
            self.spawn_jobs(jobs);
        }
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        if let Some(jobs) = self.with_state("didChange", |s| s.change(params)) {
            self.spawn_jobs(jobs);
        }
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        if let Some(jobs) = self.with_state("didSave", |s| s.saved(&params.text_document.uri)) {
            self.spawn_jobs(jobs);
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let closed = self
            .with_state("didClose", |s| s.close(&params.text_document.uri))
            .flatten();
        // The project goes back to the file as it is on disk.
        if let Some(path) = closed {
            refresh_from_disk(self.state.clone(), vec![path]);
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        if let Some(jobs) = self.with_state("didChangeConfiguration", |s| {
            s.editor_settings_changed(&params.settings)
        }) {
            self.spawn_jobs(jobs);
        }
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let mut config_changed = false;
        let mut project_files = Vec::new();
        for change in &params.changes {
            let Some(path) = change.uri.to_file_path().map(|p| p.into_owned()) else {
                continue;
            };
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if matches!(name, "preflight.toml" | "pyproject.toml") {
                config_changed = true;
            }
            project_files.push(path);
        }
        if config_changed {
            if let Some(jobs) =
                self.with_state("didChangeWatchedFiles", |s| s.config_files_changed())
            {
                self.spawn_jobs(jobs);
            }
        }
        if !project_files.is_empty() {
            refresh_from_disk(self.state.clone(), project_files);
        }
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri.clone();
        self.off_the_request_path("codeAction", &uri, move |snapshot, cancelled| {
            snapshot.code_actions(&params, cancelled)
        })
        .await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let uri = params
            .text_document_position_params
            .text_document
            .uri
            .clone();
        self.off_the_request_path("hover", &uri, move |snapshot, _| snapshot.hover(&params))
            .await
    }

    async fn execute_command(&self, _: ExecuteCommandParams) -> Result<Option<Value>> {
        Ok(None)
    }
}
