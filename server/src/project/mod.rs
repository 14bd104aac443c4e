//! The project model: the facts of every file of a project, and the answers that need more than
//! one file: which settings modules a production deployment loads (and whether a setting is
//! overridden later in that chain), which scripts a deployment runs, which compose services build
//! a Dockerfile, which `.dockerignore` applies, what git tracks and ignores. File roles are
//! decided here, once ([`Project::role`]), and every rule asks instead of guessing.
//!
//! A `Project` is an immutable snapshot, cheap to clone (one `Arc`). The command line builds one
//! for the paths it walks; the language server builds one for its workspace folders in the
//! background and replaces it with an updated copy when a file's facts change.

pub mod facts;
pub mod git;
pub mod roles;
pub mod scan;

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::syntax::FileKind;
pub use facts::FileFacts;
use facts::TopLevel;
pub use roles::{Deployment, EnvFileRole, FileRole};

#[derive(Clone, Debug)]
pub struct ProjectFile {
    pub kind: FileKind,
    pub facts: Arc<FileFacts>,
}

#[derive(Clone, Default)]
pub struct Project {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    root: Option<PathBuf>,
    /// Paths named on the command line: hidden folders among them are checked.
    named: Vec<PathBuf>,
    files: BTreeMap<PathBuf, ProjectFile>,
    /// Paths in the git index, when there is one that could be read.
    tracked: Option<HashSet<PathBuf>>,
    /// Ignore rules besides the project's `.gitignore` files (`.git/info/exclude`, a
    /// `.gitignore` above the walked folders): (pseudo path in the folder they apply to, lines).
    extra_ignores: Vec<(PathBuf, Vec<String>)>,
    ignore: git::IgnoreRules,
    derived: Derived,
}

/// What the whole project says, computed once per snapshot.
#[derive(Default)]
struct Derived {
    /// Settings modules a production deployment loads: those a deployment file names, and what
    /// they star-import.
    production_settings: HashSet<PathBuf>,
    /// The modules production loads first (named by deployments, or named for production).
    production_roots: Vec<PathBuf>,
    /// Settings modules only development or tests name.
    development_settings: HashSet<PathBuf>,
    /// File names of scripts that deployment files run or copy into images.
    deployed_script_names: HashSet<String>,
    /// The project deploys something (a Dockerfile, compose file, Procfile, `manage.py`,
    /// `wsgi.py`/`asgi.py`).
    application: bool,
}

/// Normalises a path for lookups: absolute, with `.` and `..` folded.
pub fn normalize(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Collects a project's files before its derived facts are computed.
#[derive(Default)]
pub struct ProjectBuilder {
    root: Option<PathBuf>,
    named: Vec<PathBuf>,
    files: BTreeMap<PathBuf, ProjectFile>,
    tracked: Option<HashSet<PathBuf>>,
    extra_ignores: Vec<(PathBuf, Vec<String>)>,
}

impl ProjectBuilder {
    pub fn new(root: Option<&Path>) -> ProjectBuilder {
        ProjectBuilder {
            root: root.map(normalize),
            ..ProjectBuilder::default()
        }
    }

    pub fn named(mut self, paths: &[PathBuf]) -> ProjectBuilder {
        self.named = paths.iter().map(|p| normalize(p)).collect();
        self
    }

    pub fn file(&mut self, path: &Path, kind: FileKind, facts: Arc<FileFacts>) {
        self.files
            .insert(normalize(path), ProjectFile { kind, facts });
    }

    pub fn tracked(&mut self, tracked: Option<HashSet<PathBuf>>) {
        self.tracked = tracked;
    }

    /// Ignore lines that apply to `folder` (from `.git/info/exclude`, or a `.gitignore` outside
    /// the walked paths).
    pub fn extra_ignore(&mut self, folder: &Path, lines: Vec<String>) {
        self.extra_ignores
            .push((normalize(folder).join(".gitignore"), lines));
    }

    /// Reads what git and the folders above the root know: the index, `.git/info/exclude`, and
    /// the `.gitignore` files between the root and the top of the work tree.
    pub fn read_repository(&mut self) {
        let Some(root) = self.root.clone() else {
            return;
        };
        let Some((work_tree, git_dir)) = git::find_repository(&root) else {
            return;
        };
        self.tracked = git::tracked_paths(&work_tree, &git_dir);
        if let Ok(text) = std::fs::read_to_string(git_dir.join("info").join("exclude")) {
            self.extra_ignore(&work_tree, text.lines().map(str::to_string).collect());
        }
        let mut dir = root.parent();
        while let Some(d) = dir {
            if !d.starts_with(&work_tree) {
                break;
            }
            if let Ok(text) = std::fs::read_to_string(d.join(".gitignore")) {
                self.extra_ignore(d, text.lines().map(str::to_string).collect());
            }
            dir = d.parent();
        }
    }

    pub fn build(self) -> Project {
        Project::from_parts(Inner {
            root: self.root,
            named: self.named,
            files: self.files,
            tracked: self.tracked,
            extra_ignores: self.extra_ignores,
            ..Inner::default()
        })
    }
}

impl Project {
    fn from_parts(mut inner: Inner) -> Project {
        let ignore_files: Vec<(&Path, &[String])> = inner
            .files
            .iter()
            .filter(|(_, f)| f.kind == FileKind::GitIgnore)
            .map(|(p, f)| (p.as_path(), f.facts.ignore_patterns.as_slice()))
            .chain(
                inner
                    .extra_ignores
                    .iter()
                    .map(|(p, lines)| (p.as_path(), lines.as_slice())),
            )
            .collect();
        inner.ignore = git::IgnoreRules::new(ignore_files);
        inner.derived = derive(&inner);
        Project {
            inner: Arc::new(inner),
        }
    }

    /// A project of these files only (rule examples, tests).
    pub fn of_files<'a>(
        root: Option<&Path>,
        files: impl IntoIterator<Item = (&'a Path, FileKind, &'a str)>,
    ) -> Project {
        let mut builder = ProjectBuilder::new(root);
        for (path, kind, text) in files {
            builder.file(path, kind, Arc::new(facts::extract(path, kind, text)));
        }
        builder.build()
    }

    /// A copy with `path`'s facts replaced (or added).
    pub fn with_file(&self, path: &Path, kind: FileKind, facts: Arc<FileFacts>) -> Project {
        self.with_files([(path.to_path_buf(), ProjectFile { kind, facts })])
    }

    /// A copy with these files' facts replaced (or added), derived once.
    pub fn with_files(
        &self,
        replaced: impl IntoIterator<Item = (PathBuf, ProjectFile)>,
    ) -> Project {
        let mut files = self.inner.files.clone();
        for (path, file) in replaced {
            files.insert(normalize(&path), file);
        }
        self.rebuilt(files)
    }

    /// A copy without `path`.
    pub fn without_file(&self, path: &Path) -> Project {
        let mut files = self.inner.files.clone();
        files.remove(&normalize(path));
        self.rebuilt(files)
    }

    fn rebuilt(&self, files: BTreeMap<PathBuf, ProjectFile>) -> Project {
        Project::from_parts(Inner {
            root: self.inner.root.clone(),
            named: self.inner.named.clone(),
            files,
            tracked: self.inner.tracked.clone(),
            extra_ignores: self.inner.extra_ignores.clone(),
            ..Inner::default()
        })
    }

    pub fn root(&self) -> Option<&Path> {
        self.inner.root.as_deref()
    }

    /// A fingerprint of everything in the snapshot that analyses can depend on (every file's
    /// facts, what git tracks and ignores): the `check` cache keys results with it.
    pub fn digest(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.inner.root.hash(&mut hasher);
        self.inner.named.hash(&mut hasher);
        for (path, file) in &self.inner.files {
            path.hash(&mut hasher);
            file.kind.hash(&mut hasher);
            file.facts.hash(&mut hasher);
        }
        match &self.inner.tracked {
            Some(tracked) => {
                let mut sorted: Vec<&PathBuf> = tracked.iter().collect();
                sorted.sort();
                sorted.hash(&mut hasher);
            }
            None => 0u8.hash(&mut hasher),
        }
        self.inner.extra_ignores.hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }

    pub fn len(&self) -> usize {
        self.inner.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.files.is_empty()
    }

    pub fn file(&self, path: &Path) -> Option<&ProjectFile> {
        self.inner.files.get(&normalize(path))
    }

    pub fn files(&self) -> impl Iterator<Item = (&PathBuf, &ProjectFile)> {
        self.inner.files.iter()
    }

    fn files_of(&self, kind: FileKind) -> impl Iterator<Item = (&PathBuf, &ProjectFile)> {
        self.inner.files.iter().filter(move |(_, f)| f.kind == kind)
    }

    /// The project deploys something: it has a Dockerfile, a compose file, a Procfile, a
    /// `manage.py`, or a `wsgi.py`/`asgi.py`.
    pub fn is_application(&self) -> bool {
        self.inner.derived.application
    }

    /// The module is loaded by a production or development settings chain (star-imported by a
    /// settings module, whatever its own name).
    pub fn in_settings_chain(&self, path: &Path) -> bool {
        let path = normalize(path);
        self.inner.derived.production_settings.contains(&path)
            || self.inner.derived.development_settings.contains(&path)
    }

    /// `Some(true)` when git tracks the file, `Some(false)` when it does not, `None` when there
    /// is no readable index.
    pub fn is_tracked(&self, path: &Path) -> Option<bool> {
        self.inner
            .tracked
            .as_ref()
            .map(|t| t.contains(&normalize(path)))
    }

    /// Does a `.gitignore` rule (or `.git/info/exclude`) ignore the file?
    pub fn is_ignored(&self, path: &Path) -> bool {
        self.inner.ignore.ignores(&normalize(path))
    }

    /// A lock file (`uv.lock`, `poetry.lock`, `pdm.lock`, `Pipfile.lock`) beside `path` or in a
    /// folder above it (a workspace's lock file sits at its root).
    pub fn has_lock_file_above(&self, path: &Path) -> bool {
        let path = normalize(path);
        self.files_of(FileKind::LockFile)
            .any(|(p, _)| p.parent().is_some_and(|dir| path.starts_with(dir)))
    }

    /// The role of a file; `own` are the facts of its current text when the caller has them
    /// (the project may hold an older version), `text` its current text.
    pub fn role(&self, path: &Path, kind: FileKind, text: &str, own: &FileFacts) -> FileRole {
        let normalized = normalize(path);
        let derived = &self.inner.derived;
        let mut role = match kind {
            FileKind::Python => {
                let defines = defines_django_settings(text);
                let mut role = roles::python_role(path, text, defines);
                if role.settings {
                    if derived.production_settings.contains(&normalized) {
                        role.deployment = Deployment::Production;
                        role.development = role.test;
                    } else if derived.development_settings.contains(&normalized) {
                        role.deployment = Deployment::Development;
                        role.development = true;
                    }
                }
                role
            }
            FileKind::DotEnv => {
                let env = roles::env_file_role(path);
                FileRole {
                    env,
                    deployment: match env {
                        EnvFileRole::Production => Deployment::Production,
                        EnvFileRole::Development => Deployment::Development,
                        _ => Deployment::Unknown,
                    },
                    development: env == EnvFileRole::Development,
                    example: env == EnvFileRole::Example,
                    ..FileRole::default()
                }
            }
            FileKind::Compose => {
                let mut deployment = self.deployment(&normalized, kind);
                if deployment == Deployment::Unknown {
                    deployment = self.compose_deployment_by_content(own);
                }
                deployment_role(path, deployment)
            }
            FileKind::Shell => {
                let mut role = deployment_role(path, self.deployment(&normalized, kind));
                let name = file_name(&normalized);
                role.entrypoint = roles::entrypoint_name(path)
                    || derived.deployed_script_names.contains(&name)
                    || starts_a_server(own);
                role
            }
            FileKind::Requirements => {
                let mut deployment = self.deployment(&normalized, kind);
                // A file of nothing but development tools (`requirements/ipython.txt`,
                // `requirements/lint.txt`) is a development file whatever its name.
                if deployment == Deployment::Unknown
                    && !own.requirements.is_empty()
                    && own.requirements.iter().all(|r| roles::development_only(r))
                {
                    deployment = Deployment::Development;
                }
                deployment_role(path, deployment)
            }
            _ => deployment_role(path, self.deployment(&normalized, kind)),
        };
        role.tooling =
            roles::in_tooling_folder(&normalized, self.inner.root.as_deref(), &self.inner.named);
        role
    }

    /// Where a deployment file belongs by its name, or, when the name says nothing, by its
    /// siblings: `docker-compose.yml` beside a `docker-compose.prod.yml`, `Dockerfile` beside
    /// `Dockerfile.prod`, `entrypoint.sh` beside `entrypoint.prod.sh` are the development
    /// variants.
    fn deployment(&self, path: &Path, kind: FileKind) -> Deployment {
        let by_name = roles::deployment_by_name(path);
        if by_name != Deployment::Unknown {
            return by_name;
        }
        let words = |p: &Path| -> Vec<String> {
            file_name(p)
                .to_ascii_lowercase()
                .split(['.', '-', '_'])
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect()
        };
        let own = words(path);
        let folder = path.parent();
        let production_sibling = self.files_of(kind).any(|(sibling, _)| {
            sibling.as_path() != path
                && sibling.parent() == folder
                && roles::deployment_by_name(sibling) == Deployment::Production
                && {
                    let mut rest = words(sibling);
                    rest.retain(|w| !roles::PRODUCTION_WORDS.contains(&w.as_str()));
                    rest == own
                }
        });
        if production_sibling {
            Deployment::Development
        } else {
            Deployment::Unknown
        }
    }

    /// A compose file whose services set `DJANGO_SETTINGS_MODULE` to a production settings
    /// module, or an `ENVIRONMENT`-style variable to `production`, is a production one.
    fn compose_deployment_by_content(&self, own: &FileFacts) -> Deployment {
        for set in &own.env_sets {
            let Some(value) = set.value.as_deref() else {
                continue;
            };
            let value = value.trim().to_ascii_lowercase();
            let names_environment = matches!(
                set.name.as_str(),
                "ENVIRONMENT"
                    | "ENV"
                    | "APP_ENV"
                    | "DJANGO_ENV"
                    | "FLASK_ENV"
                    | "ENVIRONMENT_NAME"
                    | "STAGE"
                    | "DEPLOY_ENV"
                    | "APP_ENVIRONMENT"
                    | "RAILS_ENV"
                    | "NODE_ENV"
            );
            if names_environment {
                match value.as_str() {
                    "production" | "prod" | "live" => return Deployment::Production,
                    "development" | "dev" | "local" | "test" | "testing" => {
                        return Deployment::Development
                    }
                    _ => {}
                }
            }
        }
        for reference in &own.settings_modules {
            for path in self.resolve_module(&reference.module, None) {
                if self.inner.derived.production_settings.contains(&path)
                    && roles::production_settings_name(&path)
                {
                    return Deployment::Production;
                }
            }
        }
        Deployment::Unknown
    }

    /// Is the module-level assignment of `name` starting at byte `start` of `path` replaced
    /// later in every production settings chain that loads it? (`DEBUG = True` in
    /// `settings/base.py` that `settings/production.py` sets to `False` after
    /// `from .base import *`.) `own` are the facts of the file's current text.
    pub fn overridden_in_production(
        &self,
        path: &Path,
        own: &FileFacts,
        name: &str,
        start: usize,
    ) -> bool {
        let path = normalize(path);
        let mut loaded = false;
        for root in &self.inner.derived.production_roots {
            let (order, _) = self.inner.linearize(root, &path, own);
            let Some(at) = order.iter().position(|(p, stmt)| {
                *p == path
                    && matches!(stmt, TopLevel::Assign { name: n, start: s, .. } if n == name && *s == start)
            }) else {
                if order.iter().any(|(p, _)| *p == path) {
                    return false; // loaded, but this statement is unknown: say nothing
                }
                continue;
            };
            loaded = true;
            let replaced = order[at + 1..].iter().any(|(_, stmt)| {
                matches!(stmt, TopLevel::Assign { name: n, conditional: false, .. } if n == name)
            });
            if !replaced {
                return false;
            }
        }
        loaded
    }

    /// The files a dotted module name can be, nearest to `near` first.
    pub fn resolve_module(&self, module: &str, near: Option<&Path>) -> Vec<PathBuf> {
        self.inner.resolve_module(module, near)
    }

    /// Compose services (of any compose file of the project) that build the Dockerfile at
    /// `dockerfile`: (compose file, service facts, build context folder).
    pub fn services_building(
        &self,
        dockerfile: &Path,
    ) -> Vec<(&Path, &facts::ServiceFacts, PathBuf)> {
        let target = normalize(dockerfile);
        let mut out = Vec::new();
        for (compose, file) in self.files_of(FileKind::Compose) {
            let Some(dir) = compose.parent() else {
                continue;
            };
            for service in &file.facts.services {
                let Some(context) = &service.build_context else {
                    continue;
                };
                if context.contains("://") || context.starts_with("git@") {
                    continue;
                }
                let context_dir = normalize(&dir.join(context));
                let built = normalize(
                    &context_dir.join(service.dockerfile.as_deref().unwrap_or("Dockerfile")),
                );
                if built == target {
                    out.push((compose.as_path(), service, context_dir));
                }
            }
        }
        out
    }

    /// The facts of the Dockerfile a compose service builds, with its path.
    pub fn dockerfile_built_by(
        &self,
        compose: &Path,
        service: &facts::ServiceFacts,
    ) -> Option<(PathBuf, &FileFacts)> {
        let context = service.build_context.as_ref()?;
        let dir = normalize(compose).parent()?.to_path_buf();
        let path = normalize(
            &dir.join(context)
                .join(service.dockerfile.as_deref().unwrap_or("Dockerfile")),
        );
        let file = self.inner.files.get(&path)?;
        Some((path, &file.facts))
    }

    /// The `.dockerignore` lines that apply to a build of `dockerfile` with context `context`:
    /// `<context>/<Dockerfile name>.dockerignore`, else `<context>/.dockerignore`. `None` when
    /// there is none.
    pub fn dockerignore(&self, dockerfile: &Path, context: &Path) -> Option<(PathBuf, &[String])> {
        let context = normalize(context);
        let name = file_name(&normalize(dockerfile));
        for candidate in [
            context.join(format!("{name}.dockerignore")),
            normalize(dockerfile).with_file_name(format!("{name}.dockerignore")),
            context.join(".dockerignore"),
        ] {
            if let Some(file) = self.inner.files.get(&candidate) {
                if file.kind == FileKind::DockerIgnore {
                    return Some((candidate, &file.facts.ignore_patterns));
                }
            }
        }
        None
    }

    /// The nearest `.dockerignore` in the Dockerfile's folder or above it, up to the root: the
    /// context a build without a compose file most likely uses.
    pub fn nearest_dockerignore(&self, dockerfile: &Path) -> Option<(PathBuf, &[String])> {
        let path = normalize(dockerfile);
        let mut dir = path.parent();
        while let Some(d) = dir {
            if let Some(found) = self.dockerignore(&path, d) {
                return Some(found);
            }
            if self.inner.root.as_deref() == Some(d) {
                break;
            }
            dir = d.parent();
        }
        None
    }

    /// Env files (`.env*`) in `folder` itself.
    pub fn env_files_in(&self, folder: &Path) -> Vec<&Path> {
        let folder = normalize(folder);
        self.files_of(FileKind::DotEnv)
            .filter(|(p, _)| p.parent() == Some(folder.as_path()))
            .map(|(p, _)| p.as_path())
            .collect()
    }

    /// A requirements file in `folder` that pins everything (a compiled lock).
    pub fn has_locked_requirements_in(&self, folder: &Path) -> bool {
        let folder = normalize(folder);
        self.files_of(FileKind::Requirements).any(|(p, f)| {
            f.facts.requirements_locked
                && (p.parent() == Some(folder.as_path())
                    || p.parent().and_then(Path::parent) == Some(folder.as_path()))
        })
    }

    /// Files of a kind, with their facts.
    pub fn files_of_kind(&self, kind: FileKind) -> impl Iterator<Item = (&Path, &FileFacts)> {
        self.files_of(kind)
            .map(|(p, f)| (p.as_path(), f.facts.as_ref()))
    }

    /// Shell scripts of the project whose file name is `name` (`entrypoint.sh`).
    pub fn scripts_named(&self, name: &str) -> Vec<(&Path, &FileFacts)> {
        self.files_of(FileKind::Shell)
            .filter(|(p, _)| file_name(p) == name)
            .map(|(p, f)| (p.as_path(), f.facts.as_ref()))
            .collect()
    }
}

impl Inner {
    /// The module-level statements production executes starting from `root`, star imports
    /// followed (each module once).
    /// Also returns every module loaded on the way.
    fn linearize(
        &self,
        root: &Path,
        current: &Path,
        own: &FileFacts,
    ) -> (Vec<(PathBuf, TopLevel)>, HashSet<PathBuf>) {
        let mut out = Vec::new();
        let mut visited = HashSet::new();
        let mut stack: Vec<(PathBuf, usize)> = vec![(root.to_path_buf(), 0)];
        visited.insert(root.to_path_buf());
        // An explicit stack of (module, next statement): a chain of a thousand star imports
        // must not recurse a thousand deep.
        while let Some((module, index)) = stack.pop() {
            let statements = if module == current {
                own.python.as_ref().map(|p| p.top_level.as_slice())
            } else {
                self.files
                    .get(&module)
                    .and_then(|f| f.facts.python.as_ref())
                    .map(|p| p.top_level.as_slice())
            };
            let Some(statements) = statements else {
                continue;
            };
            let Some(statement) = statements.get(index) else {
                continue;
            };
            stack.push((module.clone(), index + 1));
            match statement {
                TopLevel::StarImport {
                    module: imported,
                    conditional: false,
                } => {
                    if let Some(target) = self.resolve_import(&module, imported) {
                        if visited.insert(target.clone()) {
                            stack.push((target, 0));
                        }
                    }
                }
                TopLevel::StarImport { .. } => {}
                assign => out.push((module.clone(), assign.clone())),
            }
        }
        (out, visited)
    }

    /// The file a `from <module> import *` in `from_file` loads.
    fn resolve_import(&self, from_file: &Path, module: &str) -> Option<PathBuf> {
        let dots = module.chars().take_while(|c| *c == '.').count();
        if dots == 0 {
            return self
                .resolve_module(module, Some(from_file))
                .into_iter()
                .next();
        }
        let mut dir = from_file.parent()?.to_path_buf();
        for _ in 1..dots {
            dir = dir.parent()?.to_path_buf();
        }
        let rest = &module[dots..];
        for part in rest.split('.').filter(|p| !p.is_empty()) {
            dir.push(part);
        }
        let as_module = dir.with_extension("py");
        if self.files.contains_key(&as_module) {
            return Some(as_module);
        }
        let as_package = dir.join("__init__.py");
        self.files.contains_key(&as_package).then_some(as_package)
    }

    /// The files a dotted module name can be (`proj.settings.production` ->
    /// `.../proj/settings/production.py` or `.../production/__init__.py`), nearest to `near`
    /// first.
    fn resolve_module(&self, module: &str, near: Option<&Path>) -> Vec<PathBuf> {
        let parts: Vec<&str> = module.split('.').filter(|p| !p.is_empty()).collect();
        if parts.is_empty() || parts.iter().any(|p| p.contains(['/', '\\', ' '])) {
            return Vec::new();
        }
        let mut module_tail = PathBuf::new();
        for part in &parts {
            module_tail.push(part);
        }
        let file_tail = module_tail.with_extension("py");
        let package_tail = module_tail.join("__init__.py");
        let mut found: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|(_, f)| f.kind == FileKind::Python)
            .map(|(p, _)| p)
            .filter(|p| p.ends_with(&file_tail) || p.ends_with(&package_tail))
            .cloned()
            .collect();
        if let Some(near) = near {
            let near = normalize(near);
            found.sort_by_key(|p| {
                let shared = p
                    .components()
                    .zip(near.components())
                    .take_while(|(a, b)| a == b)
                    .count();
                (std::cmp::Reverse(shared), p.components().count())
            });
        } else {
            found.sort_by_key(|p| p.components().count());
        }
        found
    }
}

fn deployment_role(path: &Path, deployment: Deployment) -> FileRole {
    FileRole {
        deployment,
        development: deployment == Deployment::Development,
        example: roles::is_example_path(path),
        ..FileRole::default()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string()
}

/// Does analysing this file ask about other files? A Python module that is not a Django
/// settings module is judged by itself — its role comes from its path and contents — unless the
/// project finds it loaded by a settings chain ([`Project::in_settings_chain`]); settings modules
/// and every deployment and configuration file depend on the rest of the project.
pub fn depends_on_other_files(path: &Path, kind: FileKind, text: &str) -> bool {
    kind != FileKind::Python
        || roles::is_settings_path(path)
        || defines_django_settings(&kind.lines_as_read(text))
}

/// Program names of the servers and workers an application runs in production.
pub const SERVER_PROGRAMS: &[&str] = &[
    "gunicorn",
    "uvicorn",
    "daphne",
    "hypercorn",
    "granian",
    "uwsgi",
    "waitress-serve",
    "celery",
    "supervisord",
];

/// The script starts a long-running server (`exec gunicorn ...`).
fn starts_a_server(own: &FileFacts) -> bool {
    own.commands.iter().any(|c| {
        c.program_words().first().is_some_and(|w| {
            let program = w.rsplit('/').next().unwrap_or(w);
            SERVER_PROGRAMS.contains(&program)
        })
    })
}

/// Django settings are plain top-level assignments of well-known names (at column 0).
pub fn defines_django_settings(source: &str) -> bool {
    roles::line_starts(source).any(|line| {
        ["INSTALLED_APPS", "ROOT_URLCONF", "MIDDLEWARE"]
            .iter()
            .any(|name| {
                line.strip_prefix(name).is_some_and(|rest| {
                    let rest = rest.trim_start_matches([' ', '\t']);
                    (rest.starts_with('=') && !rest.starts_with("==")) || rest.starts_with(':')
                })
            })
    })
}

/// Where a `DJANGO_SETTINGS_MODULE` is set decides what it says about the module it names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Production,
    Development,
    /// Say nothing by itself: the module's own name decides.
    Unknown,
}

fn reference_context(path: &Path, kind: FileKind) -> Context {
    let stem = roles::lowercase_stem(path);
    match kind {
        // `os.environ.setdefault(...)` in `wsgi.py` or `celery.py` is only a default (deployments
        // usually set the variable), so the module's own name decides; `manage.py` and tests
        // are development.
        FileKind::Python => {
            let role = roles::python_role(path, "", false);
            if stem == "manage" || role.development {
                Context::Development
            } else {
                Context::Unknown
            }
        }
        FileKind::DotEnv => match roles::env_file_role(path) {
            EnvFileRole::Production => Context::Production,
            EnvFileRole::Development | EnvFileRole::Example => Context::Development,
            EnvFileRole::Plain => Context::Unknown,
        },
        FileKind::Procfile => Context::Production,
        FileKind::PyProject => Context::Development,
        FileKind::Dockerfile => match roles::deployment_by_name(path) {
            Deployment::Development => Context::Development,
            _ => Context::Production,
        },
        _ => match roles::deployment_by_name(path) {
            Deployment::Production => Context::Production,
            Deployment::Development => Context::Development,
            Deployment::Unknown => Context::Unknown,
        },
    }
}

fn derive(inner: &Inner) -> Derived {
    let mut derived = Derived::default();
    let mut production_roots: Vec<PathBuf> = Vec::new();
    let mut development: HashSet<PathBuf> = HashSet::new();
    for (path, file) in &inner.files {
        let context = reference_context(path, file.kind);
        for reference in &file.facts.settings_modules {
            let Some(target) = inner
                .resolve_module(&reference.module, Some(path))
                .into_iter()
                .next()
            else {
                continue;
            };
            let dev_named = roles::python_role(&target, "", false).development;
            let production = match context {
                Context::Production => true,
                Context::Development => false,
                Context::Unknown => !dev_named,
            };
            if production {
                if !production_roots.contains(&target) {
                    production_roots.push(target);
                }
            } else {
                development.insert(target);
            }
        }
        let name = file_name(path);
        let deployment_file = matches!(
            file.kind,
            FileKind::Dockerfile | FileKind::Compose | FileKind::Procfile
        ) || matches!(name.as_str(), "manage.py" | "wsgi.py" | "asgi.py");
        derived.application |= deployment_file;
        if matches!(
            file.kind,
            FileKind::Dockerfile | FileKind::Compose | FileKind::Procfile
        ) {
            let copied = file
                .facts
                .dockerfile
                .as_ref()
                .map(|d| d.copied.clone())
                .unwrap_or_default();
            for word in file
                .facts
                .commands
                .iter()
                .flat_map(|c| c.words.iter())
                .chain(copied.iter())
            {
                let last = word.rsplit('/').next().unwrap_or(word);
                if !last.is_empty() && !last.contains(['$', ' ', '*']) {
                    derived.deployed_script_names.insert(last.to_string());
                }
            }
        }
    }
    if production_roots.is_empty() {
        // No deployment names a settings module: the modules named for production are what it
        // would load.
        production_roots = inner
            .files
            .iter()
            .filter(|(p, f)| {
                f.kind == FileKind::Python
                    && f.facts.python.is_some()
                    && roles::is_settings_path(p)
                    && roles::production_settings_name(p)
            })
            .map(|(p, _)| p.clone())
            .collect();
    }
    for root in &production_roots {
        let (_, loaded) = inner.linearize(root, Path::new(""), &FileFacts::default());
        derived.production_settings.extend(loaded);
    }
    development.retain(|p| !derived.production_settings.contains(p));
    derived.development_settings = development;
    derived.production_roots = production_roots;
    derived
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> Project {
        let parsed: Vec<(PathBuf, FileKind, &str)> = files
            .iter()
            .map(|(p, t)| {
                let path = PathBuf::from("/proj").join(p);
                let kind = FileKind::from_path(&path).unwrap();
                (path, kind, *t)
            })
            .collect();
        Project::of_files(
            Some(Path::new("/proj")),
            parsed.iter().map(|(p, k, t)| (p.as_path(), *k, *t)),
        )
    }

    fn role(p: &Project, path: &str, text: &str) -> FileRole {
        let path = PathBuf::from("/proj").join(path);
        let kind = FileKind::from_path(&path).unwrap();
        let own = facts::extract(&path, kind, text);
        p.role(&path, kind, text, &own)
    }

    const BASE: &str = "INSTALLED_APPS = []\nDEBUG = True\nALLOWED_HOSTS = ['*']\n";
    const PRODUCTION: &str = "from .base import *\nDEBUG = False\n";

    #[test]
    fn a_setting_production_overrides_is_dead_in_base() {
        let p = project(&[
            ("app/settings/base.py", BASE),
            ("app/settings/production.py", PRODUCTION),
        ]);
        let base = Path::new("/proj/app/settings/base.py");
        let own = facts::extract(base, FileKind::Python, BASE);
        let debug_at = BASE.find("DEBUG").unwrap();
        let hosts_at = BASE.find("ALLOWED_HOSTS").unwrap();
        assert!(p.overridden_in_production(base, &own, "DEBUG", debug_at));
        assert!(!p.overridden_in_production(base, &own, "ALLOWED_HOSTS", hosts_at));
        assert_eq!(
            role(&p, "app/settings/base.py", BASE).deployment,
            Deployment::Production
        );
    }

    #[test]
    fn deployment_files_name_the_production_settings() {
        let files = [
            ("app/settings/base.py", BASE),
            ("app/settings/production.py", PRODUCTION),
            ("app/settings/staging.py", "from .base import *\n"),
            ("Dockerfile", "FROM python\nENV DJANGO_SETTINGS_MODULE=app.settings.staging\n"),
            ("manage.py", "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'app.settings.local')\n"),
            ("app/settings/local.py", "from .base import *\nDEBUG = True\n"),
        ];
        let p = project(&files);
        let base = Path::new("/proj/app/settings/base.py");
        let own = facts::extract(base, FileKind::Python, BASE);
        // Staging is what the image runs, and it keeps base's DEBUG.
        assert!(!p.overridden_in_production(base, &own, "DEBUG", BASE.find("DEBUG").unwrap()));
        let local = role(&p, "app/settings/local.py", files[5].1);
        assert!(local.development);
        let staging = role(&p, "app/settings/staging.py", files[2].1);
        assert_eq!(staging.deployment, Deployment::Production);
        assert!(!staging.development);
    }

    #[test]
    fn scripts_deployments_run_are_entrypoints() {
        let p = project(&[
            (
                "Dockerfile",
                "FROM python\nCOPY docker/prepare.sh /prepare.sh\nENTRYPOINT [\"/prepare.sh\"]\n",
            ),
            ("docker/prepare.sh", "echo\n"),
            ("scripts/setup.sh", "python manage.py migrate\n"),
        ]);
        assert!(role(&p, "docker/prepare.sh", "echo\n").entrypoint);
        assert!(!role(&p, "scripts/setup.sh", "python manage.py migrate\n").entrypoint);
        assert!(role(&p, "scripts/web.sh", "exec gunicorn app.wsgi\n").entrypoint);
    }
}
