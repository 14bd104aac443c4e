//! The server's single owner of document state. Every method runs synchronously under the
//! server's lock; analysis itself runs elsewhere, on snapshots (`AnalysisJob`).

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ropey::Rope;
use tokio::sync::mpsc::UnboundedSender;
use tower_lsp_server::ls_types::*;
use tree_sitter::Tree;

use super::convert::{minimal_edit, to_byte, to_lsp_diagnostic, to_range};
use super::{Outgoing, FIX_ALL_KIND};
use crate::analysis::fix::{fix_all, fix_is_valid};
use crate::analysis::registry;
use crate::analysis::{self, Applicability, Diagnostic as Finding, Input};
use crate::config::{Config, ConfigCache, Options};
use crate::project::scan::MAX_FILE_BYTES;
use crate::project::{FileFacts, Project};
use crate::syntax::FileKind;
use crate::text::document::{Change, Document};
use crate::text::PositionEncoding;

struct Doc {
    document: Document,
    path: PathBuf,
    on_disk: bool,
    /// Unique across the server's lifetime (not per document): a job started for a document that
    /// was since closed, or replaced by a new didOpen, can never pass for a job of the current
    /// one.
    generation: u64,
    /// The generation of the analysis in flight for this document, if any.
    running: Option<u64>,
    pending: bool,
    latest: Option<Arc<Latest>>,
    /// Edited since it was opened. Only documents being edited keep their syntax tree (for
    /// incremental reparsing): a tree costs many times its text, and with a whole project open
    /// the trees of documents only looked at would be most of the server's memory.
    edited: bool,
    /// Whether the analysis reads other files' facts (settings and deployment files; see
    /// `project::depends_on_other_files`), as of its last analysis; true until then.
    depends_on_others: bool,
}

/// How many of the most recently edited documents keep their trees.
const TREES_KEPT: usize = 16;

/// The analysis of one generation of a document.
pub struct Latest {
    generation: u64,
    text: Arc<String>,
    rope: Rope,
    findings: Vec<Finding>,
}

pub struct State {
    pub encoding: PositionEncoding,
    pub root: Option<PathBuf>,
    pub watch_registration: bool,
    pub editor_options: Options,
    configs: ConfigCache,
    docs: HashMap<Uri, Doc>,
    /// The documents that keep their trees, least recently edited first (see `Doc::edited`).
    recently_edited: std::collections::VecDeque<Uri>,
    /// The last generation handed out (see `Doc::generation`).
    generations: u64,
    outgoing: UnboundedSender<Outgoing>,
    reported: HashSet<String>,
    /// The workspace's project model: scanned from disk in the background at start-up, kept
    /// current from open documents' analyses and from file-watcher events. Analyses take a
    /// snapshot; nothing waits for it.
    pub project: Project,
    /// The workspace folders the project is scanned from.
    pub folders: Vec<PathBuf>,
    /// The client shows `$/progress` for server-created tokens.
    pub progress_support: bool,
}

/// A snapshot to analyse off the request path.
pub struct AnalysisJob {
    uri: Uri,
    generation: u64,
    version: i32,
    path: PathBuf,
    kind: FileKind,
    rope: Rope,
    tree: Option<Tree>,
    document: Document,
    config: Config,
    encoding: PositionEncoding,
    project: Project,
}

pub struct Done {
    uri: Uri,
    generation: u64,
    version: i32,
    tree: Option<Tree>,
    text: Arc<String>,
    rope: Rope,
    findings: Vec<Finding>,
    published: Vec<tower_lsp_server::ls_types::Diagnostic>,
    notes: Vec<String>,
    parse_notes: Vec<String>,
    path: PathBuf,
    kind: FileKind,
    facts: Option<FileFacts>,
}

impl AnalysisJob {
    /// The document and generation this job analyses.
    pub fn id(&self) -> (Uri, u64) {
        (self.uri.clone(), self.generation)
    }

    pub fn run(self) -> Done {
        let text = self.rope.to_string();
        let tree = self.document.parse(&text).or(self.tree);
        let filter = self.config.filter_for(&self.path);
        let analysis = analysis::analyse(
            &Input {
                path: &self.path,
                text: &text,
                kind: self.kind,
                tree: tree.as_ref(),
                project: &self.project,
                facts: None,
            },
            &filter,
        );
        let published = analysis
            .diagnostics
            .iter()
            .map(|d| to_lsp_diagnostic(d, &self.rope, self.encoding))
            .collect();
        Done {
            uri: self.uri,
            generation: self.generation,
            version: self.version,
            tree,
            text: Arc::new(text),
            rope: self.rope,
            findings: analysis.diagnostics,
            published,
            notes: analysis.notes,
            parse_notes: analysis.parse_notes,
            path: self.path,
            kind: self.kind,
            facts: analysis.facts,
        }
    }
}

fn file_path(uri: &Uri) -> (PathBuf, bool) {
    if uri.scheme().as_str() == "file" {
        if let Some(path) = uri.to_file_path() {
            return (path.into_owned(), true);
        }
    }
    // untitled:Untitled-1 and other schemes: the last path segment still tells the file's role.
    (
        PathBuf::from(uri.path().as_str().rsplit('/').next().unwrap_or("untitled")),
        false,
    )
}

/// Does an action of kind `kind` answer a request for `requested` (`source.fixAll` covers
/// `source.fixAll.preflight`)?
fn kind_matches(kind: &str, requested: &str) -> bool {
    kind == requested
        || kind
            .strip_prefix(requested)
            .is_some_and(|rest| rest.starts_with('.'))
}

impl State {
    pub fn new(outgoing: UnboundedSender<Outgoing>) -> State {
        State {
            encoding: PositionEncoding::Utf16,
            root: None,
            watch_registration: false,
            editor_options: Options::default(),
            configs: ConfigCache::default(),
            docs: HashMap::new(),
            recently_edited: Default::default(),
            generations: 0,
            outgoing,
            reported: HashSet::new(),
            project: Project::default(),
            folders: Vec::new(),
            progress_support: false,
        }
    }

    fn next_generation(&mut self) -> u64 {
        self.generations += 1;
        self.generations
    }

    /// Tells the user once per distinct problem (a broken config is not repeated per keystroke).
    pub fn report_once(&mut self, typ: MessageType, text: String) {
        eprintln!("{text}");
        if self.reported.insert(text.clone()) {
            let _ = self.outgoing.send(Outgoing::Message { typ, text });
        }
    }

    fn config_for(&mut self, path: &Path, on_disk: bool) -> Config {
        let anchor = if on_disk {
            Some(path.to_path_buf())
        } else {
            self.root.as_ref().map(|r| r.join("untitled"))
        };
        let found = match anchor {
            Some(anchor) => self.configs.for_file(&anchor),
            None => Ok(None),
        };
        let base = match found {
            Ok(Some(config)) => (*config).clone(),
            Ok(None) => Config::new(
                self.root.clone().unwrap_or_default(),
                None,
                Options::default(),
            ),
            Err(e) => {
                self.report_once(
                    MessageType::WARNING,
                    format!("preflight: {e}; using the default configuration"),
                );
                Config::new(
                    self.root.clone().unwrap_or_default(),
                    None,
                    Options::default(),
                )
            }
        };
        base.with_overrides(&self.editor_options)
    }

    fn job_for(&mut self, uri: &Uri) -> Option<AnalysisJob> {
        let (path, on_disk) = {
            let doc = self.docs.get(uri)?;
            (doc.path.clone(), doc.on_disk)
        };
        let config = self.config_for(&path, on_disk);
        let encoding = self.encoding;
        let doc = self.docs.get(uri)?;
        Some(AnalysisJob {
            uri: uri.clone(),
            generation: doc.generation,
            version: doc.document.version,
            path,
            kind: doc.document.kind,
            rope: doc.document.rope.clone(),
            tree: doc.document.tree.clone(),
            document: doc.document.clone(),
            config,
            encoding,
            project: self.project.clone(),
        })
    }

    /// Starts an analysis of the document's current generation, or marks one pending when an
    /// analysis is already running for it.
    fn schedule(&mut self, uri: &Uri) -> Vec<AnalysisJob> {
        let too_large = {
            let Some(doc) = self.docs.get_mut(uri) else {
                return Vec::new();
            };
            if doc.running.is_some() {
                doc.pending = true;
                return Vec::new();
            }
            doc.document.rope.len_bytes() as u64 > MAX_FILE_BYTES
        };
        if too_large {
            let name = uri.as_str().to_string();
            self.report_once(
                MessageType::WARNING,
                format!("preflight: {name} is larger than {MAX_FILE_BYTES} bytes; not analysed"),
            );
            let _ = self.outgoing.send(Outgoing::Diagnostics {
                uri: uri.clone(),
                diagnostics: Vec::new(),
                version: None,
            });
            return Vec::new();
        }
        match self.job_for(uri) {
            Some(job) => {
                if let Some(doc) = self.docs.get_mut(uri) {
                    doc.running = Some(job.generation);
                }
                vec![job]
            }
            None => Vec::new(),
        }
    }

    pub fn open(
        &mut self,
        uri: Uri,
        language_id: &str,
        text: String,
        version: i32,
    ) -> Vec<AnalysisJob> {
        let (path, on_disk) = file_path(&uri);
        let Some(kind) = FileKind::from_path_or_language(Some(&path), language_id) else {
            return Vec::new();
        };
        // A fresh generation: results of an earlier life of this uri (closed, or reopened without
        // a close) must not be taken for this text's.
        let generation = self.next_generation();
        self.docs.insert(
            uri.clone(),
            Doc {
                document: Document::new_unparsed(&text, kind, version),
                path,
                on_disk,
                generation,
                running: None,
                pending: false,
                latest: None,
                edited: false,
                depends_on_others: true,
            },
        );
        self.schedule(&uri)
    }

    pub fn change(&mut self, params: DidChangeTextDocumentParams) -> Vec<AnalysisJob> {
        let encoding = self.encoding;
        let uri = params.text_document.uri;
        let Some(doc) = self.docs.get_mut(&uri) else {
            eprintln!(
                "preflight: change for a document that is not open: {}",
                uri.as_str()
            );
            return Vec::new();
        };
        if params.text_document.version <= doc.document.version {
            eprintln!(
                "preflight: version {} of {} does not follow {}; applying it anyway",
                params.text_document.version,
                uri.as_str(),
                doc.document.version
            );
        }
        for change in &params.content_changes {
            let range = change.range.map(|r| {
                (
                    super::convert::to_line_position(r.start),
                    super::convert::to_line_position(r.end),
                )
            });
            doc.document.apply(
                &Change {
                    range,
                    text: &change.text,
                },
                encoding,
            );
        }
        doc.document.version = params.text_document.version;
        doc.edited = true;
        self.generations += 1;
        doc.generation = self.generations;
        self.recently_edited.retain(|u| u != &uri);
        self.recently_edited.push_back(uri.clone());
        if self.recently_edited.len() > TREES_KEPT {
            if let Some(oldest) = self.recently_edited.pop_front() {
                if let Some(doc) = self.docs.get_mut(&oldest) {
                    // Reparsed from scratch at its next edit, as on open.
                    doc.edited = false;
                    doc.document.tree = None;
                }
            }
        }
        self.schedule(&uri)
    }

    pub fn finish(&mut self, done: Done) -> Vec<AnalysisJob> {
        for note in &done.notes {
            self.report_once(MessageType::ERROR, format!("preflight: {note}"));
        }
        for note in &done.parse_notes {
            // A file that does not parse is normal while typing: a log line, not a pop-up.
            eprintln!("preflight: note: {}: {note}", done.path.display());
        }
        let Some(doc) = self.docs.get_mut(&done.uri) else {
            return Vec::new();
        };
        if doc.running != Some(done.generation) {
            // Started for an earlier life of this uri (closed and reopened since): its results
            // describe another text, and this document's own analysis is still running.
            return Vec::new();
        }
        doc.running = None;
        let mut jobs = Vec::new();
        if done.generation == doc.generation {
            if done.tree.is_some() && doc.edited {
                doc.document.tree = done.tree;
            }
            let on_disk = doc.on_disk;
            doc.depends_on_others =
                crate::project::depends_on_other_files(&done.path, done.kind, &done.text);
            let _ = self.outgoing.send(Outgoing::Diagnostics {
                uri: done.uri.clone(),
                diagnostics: done.published,
                version: Some(done.version),
            });
            doc.latest = Some(Arc::new(Latest {
                generation: done.generation,
                text: done.text,
                rope: done.rope,
                findings: done.findings,
            }));
            if let (true, Some(facts)) = (on_disk, done.facts) {
                if self.update_facts(&done.path, done.kind, facts) {
                    jobs.extend(self.reanalyse_others(&done.uri));
                }
            }
        }
        let pending = self.docs.get_mut(&done.uri).is_some_and(|doc| {
            let pending = doc.pending;
            doc.pending = false;
            pending
        });
        if pending {
            jobs.extend(self.schedule(&done.uri));
        }
        jobs
    }

    /// Records a file's facts in the project. True when what other files' analyses depend on
    /// changed (not just where things are in the file).
    fn update_facts(&mut self, path: &Path, kind: FileKind, facts: FileFacts) -> bool {
        let changed = match self.project.file(path) {
            Some(known) => known.kind != kind || !known.facts.same_shape(&facts),
            // A file new to the project matters only when it says something.
            None => facts != FileFacts::default() || !kind.is_checked(),
        };
        if changed {
            self.project = self.project.with_file(path, kind, Arc::new(facts));
        }
        changed
    }

    /// Analyses every open document again except `uri` (the project changed under them).
    /// Only the documents whose analysis reads the project: an ordinary module is judged on its
    /// own (as `preflight check` judges it), unless a settings chain takes it in. Analysing
    /// every open document again on every change would cost the square of the open documents.
    fn reanalyse_others(&mut self, uri: &Uri) -> Vec<AnalysisJob> {
        let uris: Vec<Uri> = self
            .docs
            .iter()
            .filter(|(u, d)| {
                *u != uri && (d.depends_on_others || self.project.in_settings_chain(&d.path))
            })
            .map(|(u, _)| u.clone())
            .collect();
        self.reanalyse(uris)
    }

    /// A fresh generation for each of `uris`, and their analyses.
    fn reanalyse(&mut self, uris: Vec<Uri>) -> Vec<AnalysisJob> {
        let mut jobs = Vec::new();
        for uri in uris {
            let generation = self.next_generation();
            if let Some(doc) = self.docs.get_mut(&uri) {
                doc.generation = generation;
            }
            jobs.extend(self.schedule(&uri));
        }
        jobs
    }

    /// The start-up scan finished: its project replaces the (empty or partial) one, and open
    /// documents are analysed against it.
    pub fn scanned(&mut self, project: Project) -> Vec<AnalysisJob> {
        // Open documents are newer than the disk: their facts stay.
        let open: Vec<_> = self
            .docs
            .values()
            .filter(|d| d.on_disk)
            .filter_map(|d| {
                self.project
                    .file(&d.path)
                    .map(|f| (d.path.clone(), f.clone()))
            })
            .collect();
        self.project = project.with_files(open);
        self.reanalyse_all()
    }

    /// Files changed on disk (file watcher): their new facts, or `None` for a deleted file.
    /// Open documents are the editor's business: their facts come from their own analyses.
    pub fn disk_files_changed(
        &mut self,
        changes: Vec<(PathBuf, Option<(FileKind, FileFacts)>)>,
    ) -> Vec<AnalysisJob> {
        let open: HashSet<PathBuf> = self
            .docs
            .values()
            .filter(|d| d.on_disk)
            .map(|d| crate::project::normalize(&d.path))
            .collect();
        let mut changed = false;
        for (path, update) in changes {
            if open.contains(&crate::project::normalize(&path)) {
                continue;
            }
            match update {
                Some((kind, facts)) => changed |= self.update_facts(&path, kind, facts),
                None => {
                    if self.project.file(&path).is_some() {
                        self.project = self.project.without_file(&path);
                        changed = true;
                    }
                }
            }
        }
        if changed {
            self.reanalyse_all()
        } else {
            Vec::new()
        }
    }

    /// An analysis that panicked: the document is free for the next one. Its text is not
    /// analysed again (it would fail again) unless edits arrived meanwhile.
    pub fn abandon(&mut self, uri: &Uri, generation: u64) -> Vec<AnalysisJob> {
        let Some(doc) = self.docs.get_mut(uri) else {
            return Vec::new();
        };
        if doc.running != Some(generation) {
            return Vec::new();
        }
        doc.running = None;
        if doc.pending {
            doc.pending = false;
            return self.schedule(uri);
        }
        Vec::new()
    }

    /// Forgets a closed document. Returns its path when it is a file on disk, whose facts are
    /// then read back from the disk (the editor may have closed it unsaved).
    pub fn close(&mut self, uri: &Uri) -> Option<PathBuf> {
        let doc = self.docs.remove(uri)?;
        self.recently_edited.retain(|u| u != uri);
        let _ = self.outgoing.send(Outgoing::Diagnostics {
            uri: uri.clone(),
            diagnostics: Vec::new(),
            version: None,
        });
        doc.on_disk.then_some(doc.path)
    }

    pub fn saved(&mut self, uri: &Uri) -> Vec<AnalysisJob> {
        let (path, _) = file_path(uri);
        match path.file_name().and_then(|n| n.to_str()) {
            Some("preflight.toml" | "pyproject.toml") => self.config_files_changed(),
            _ => Vec::new(),
        }
    }

    fn reanalyse_all(&mut self) -> Vec<AnalysisJob> {
        let uris: Vec<Uri> = self.docs.keys().cloned().collect();
        self.reanalyse(uris)
    }

    pub fn config_files_changed(&mut self) -> Vec<AnalysisJob> {
        self.configs.clear();
        // A fixed config should be able to report a new problem later.
        self.reported.retain(|m| !m.contains("configuration"));
        self.reanalyse_all()
    }

    pub fn editor_settings_changed(&mut self, settings: &serde_json::Value) -> Vec<AnalysisJob> {
        match Options::from_json(settings) {
            Ok(options) => {
                self.editor_options = options;
                self.reanalyse_all()
            }
            Err(e) => {
                self.report_once(
                    MessageType::WARNING,
                    format!("preflight: editor settings ignored: {e}"),
                );
                Vec::new()
            }
        }
    }

    /// What a request about `uri` needs, taken under the lock and cheap to take: the analysis
    /// of the document's current text when it is published, else the job that computes it. The
    /// work itself runs off the lock and off the async workers (`Snapshot::analysis`), so a slow
    /// request never holds up the others. `None` for a document that is not open or not analysed
    /// (too large): the request is answered at once.
    pub fn snapshot(&mut self, uri: &Uri) -> Option<Snapshot> {
        let doc = self.docs.get(uri)?;
        if doc.document.rope.len_bytes() as u64 > MAX_FILE_BYTES {
            return None;
        }
        let version = doc.document.version;
        let latest = doc
            .latest
            .clone()
            .filter(|l| l.generation == doc.generation);
        let (path, on_disk, kind) = (doc.path.clone(), doc.on_disk, doc.document.kind);
        let (pending, config) = match latest {
            Some(latest) => (Pending::Ready(latest), self.config_for(&path, on_disk)),
            None => {
                let job = self.job_for(uri)?;
                let config = job.config.clone();
                (Pending::Job(Box::new(job)), config)
            }
        };
        Some(Snapshot {
            uri: uri.clone(),
            version,
            pending,
            config,
            path,
            kind,
            project: self.project.clone(),
            encoding: self.encoding,
        })
    }

    /// Keeps an analysis a request computed, when the document has not changed since.
    pub fn computed(&mut self, uri: &Uri, latest: &Arc<Latest>, tree: Option<Tree>) {
        let Some(doc) = self.docs.get_mut(uri) else {
            return;
        };
        if doc.generation == latest.generation {
            if tree.is_some() && doc.edited {
                doc.document.tree = tree;
            }
            doc.latest = Some(latest.clone());
        }
    }

    /// The version of the document now, to tell whether an answer computed for an earlier one
    /// is still good.
    pub fn version(&self, uri: &Uri) -> Option<i32> {
        self.docs.get(uri).map(|d| d.document.version)
    }
}

/// A snapshot's analysis: published, or to be computed.
enum Pending {
    /// Published.
    Ready(Arc<Latest>),
    /// Computed for this request, with the tree its parse made.
    Computed(Arc<Latest>, Option<Tree>),
    Job(Box<AnalysisJob>),
    /// Only while `Snapshot::analysis` runs.
    Taken,
}

/// A request's view of one document (see `State::snapshot`).
pub struct Snapshot {
    pub uri: Uri,
    pub version: i32,
    pending: Pending,
    config: Config,
    path: PathBuf,
    kind: FileKind,
    project: Project,
    encoding: PositionEncoding,
}

impl Snapshot {
    /// The analysis of the snapshot's text, computed now if it was not published yet.
    fn analysis(&mut self) -> Arc<Latest> {
        match std::mem::replace(&mut self.pending, Pending::Taken) {
            Pending::Ready(latest) => {
                self.pending = Pending::Ready(latest.clone());
                latest
            }
            Pending::Computed(latest, tree) => {
                self.pending = Pending::Computed(latest.clone(), tree);
                latest
            }
            Pending::Job(job) => {
                let done = job.run();
                let latest = Arc::new(Latest {
                    generation: done.generation,
                    text: done.text,
                    rope: done.rope,
                    findings: done.findings,
                });
                self.pending = Pending::Computed(latest.clone(), done.tree);
                latest
            }
            Pending::Taken => unreachable!("`analysis` puts the analysis back before returning"),
        }
    }

    /// The analysis this snapshot computed (it was not published), with its tree, for the
    /// document to keep.
    pub fn take_computed(&mut self) -> Option<(Arc<Latest>, Option<Tree>)> {
        match std::mem::replace(&mut self.pending, Pending::Taken) {
            Pending::Computed(latest, tree) => Some((latest, tree)),
            other => {
                self.pending = other;
                None
            }
        }
    }

    /// The code actions for `params`; stops early (answering nothing) once `cancelled` says the
    /// client no longer wants them.
    pub fn code_actions(
        &mut self,
        params: &CodeActionParams,
        cancelled: &dyn Fn() -> bool,
    ) -> Option<CodeActionResponse> {
        let latest = self.analysis();
        self.actions_for(&latest, params, cancelled)
    }

    fn actions_for(
        &self,
        latest: &Latest,
        params: &CodeActionParams,
        cancelled: &dyn Fn() -> bool,
    ) -> Option<CodeActionResponse> {
        let encoding = self.encoding;
        let uri = params.text_document.uri.clone();
        let (project, config, path, kind) = (&self.project, &self.config, &self.path, self.kind);
        let only = params.context.only.as_ref();
        let wants = |kind: &str| {
            only.is_none_or(|requested| requested.iter().any(|r| kind_matches(kind, r.as_str())))
        };
        let start = to_byte(&latest.rope, params.range.start, encoding);
        let end = to_byte(&latest.rope, params.range.end, encoding).max(start);
        let text = latest.text.as_str();
        let filter = config.filter_for(path);
        let edit_for = |edits: Vec<(Range<usize>, String)>| -> WorkspaceEdit {
            let text_edits = edits
                .into_iter()
                .map(|(r, new_text)| TextEdit {
                    range: to_range(&latest.rope, &r, encoding),
                    new_text,
                })
                .collect();
            WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), text_edits)])),
                ..Default::default()
            }
        };
        let mut actions = Vec::new();
        if wants(CodeActionKind::QUICKFIX.as_str()) {
            for finding in latest
                .findings
                .iter()
                .filter(|d| d.range.start <= end && start <= d.range.end)
            {
                if cancelled() {
                    return None;
                }
                let lsp_diagnostic = to_lsp_diagnostic(finding, &latest.rope, encoding);
                if let Some(fix) = &finding.fix {
                    if fix_is_valid(path, kind, text, project, finding, &filter) {
                        let preferred = fix.applicability == Applicability::Safe
                            || registry::meta(finding.rule).is_some_and(|m| m.fix_on_save);
                        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                            title: format!("Preflight ({}): {}", finding.rule, fix.title),
                            kind: Some(CodeActionKind::QUICKFIX),
                            diagnostics: Some(vec![lsp_diagnostic.clone()]),
                            edit: Some(edit_for(
                                fix.edits
                                    .iter()
                                    .map(|e| (e.range.clone(), e.content.clone()))
                                    .collect(),
                            )),
                            is_preferred: Some(preferred),
                            ..Default::default()
                        }));
                    }
                }
                let suppress = analysis::suppression_edit_of(
                    &Input {
                        path,
                        text,
                        kind,
                        tree: None,
                        project,
                        facts: None,
                    },
                    finding.range.start,
                    finding.rule,
                );
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Preflight ({}): ignore on this line", finding.rule),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![lsp_diagnostic]),
                    edit: Some(edit_for(vec![(suppress.range, suppress.content)])),
                    is_preferred: Some(false),
                    ..Default::default()
                }));
            }
        }
        // `fixOnSave = false` turns off what the editor asks for on its own (on save); fix-all
        // asked for by the user (a command, the Source Action menu) still answers.
        let invoked = params.context.trigger_kind == Some(CodeActionTriggerKind::INVOKED);
        if cancelled() {
            return None;
        }
        if wants(FIX_ALL_KIND)
            && (config.fix_on_save() || invoked)
            && latest.findings.iter().any(|d| config.fix_all_applies(d))
        {
            let (fixed, count) = fix_all(path, kind, text, project, &filter, &|d| {
                config.fix_all_applies(d)
            });
            if count > 0 {
                let (range, new_text) = minimal_edit(text, &fixed);
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!(
                        "Preflight: fix all ({count} fixable problem{})",
                        if count == 1 { "" } else { "s" }
                    ),
                    kind: Some(CodeActionKind::new(FIX_ALL_KIND)),
                    edit: Some(edit_for(vec![(range, new_text)])),
                    ..Default::default()
                }));
            }
        }
        Some(actions)
    }

    pub fn hover(&mut self, params: &HoverParams) -> Option<Hover> {
        let latest = self.analysis();
        self.hover_for(&latest, params)
    }

    fn hover_for(&self, latest: &Latest, params: &HoverParams) -> Option<Hover> {
        let encoding = self.encoding;
        let config = &self.config;
        let at = to_byte(
            &latest.rope,
            params.text_document_position_params.position,
            encoding,
        );
        let under: Vec<&Finding> = latest
            .findings
            .iter()
            .filter(|d| d.range.start <= at && at <= d.range.end)
            .collect();
        let first = under.first()?;
        let mut seen = HashSet::new();
        let sections: Vec<String> = under
            .iter()
            .filter(|finding| seen.insert((finding.rule, &finding.message)))
            .map(|finding| hover_section(finding, config))
            .collect();
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: sections.join("\n\n---\n\n"),
            }),
            range: Some(to_range(&latest.rope, &first.range, encoding)),
        })
    }
}

/// One finding in a hover: the rule id (linked to its documentation) and name, the message, and
/// what fixes it. The whole rule page is one click away, not pasted into the tooltip.
fn hover_section(finding: &Finding, config: &Config) -> String {
    let meta = registry::meta(finding.rule);
    let id = match crate::rule_docs::url(finding.rule) {
        Some(href) => format!("[{}]({href})", finding.rule),
        None => finding.rule.to_string(),
    };
    let name = meta.map(|m| format!(" `{}`", m.name)).unwrap_or_default();
    let fix = match &finding.fix {
        Some(fix) if config.fix_all_applies(finding) && config.fix_on_save() => {
            format!(
                "Fix: {} (quick fix; also applied by fix-all on save)",
                fix.title
            )
        }
        Some(fix) if fix.applicability == Applicability::Safe => {
            format!("Fix: {} (quick fix)", fix.title)
        }
        Some(fix) => format!(
            "Fix: {} (quick fix; changes behaviour, so fix-all leaves it to you)",
            fix.title
        ),
        None => meta
            .and_then(|m| m.docs.fix.trim().split("\n\n").next())
            .map(|first| format!("How to fix: {}", first.trim()))
            .unwrap_or_default(),
    };
    let mut section = format!(
        "**{id}**{name} · {}\n\n{}",
        finding.severity.as_str(),
        finding.message
    );
    if !fix.is_empty() {
        section.push_str("\n\n");
        section.push_str(&fix);
    }
    section
}
