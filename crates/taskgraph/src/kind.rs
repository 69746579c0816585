//! Kinds: discovery, loading, ordering, and turning one kind into tasks.
//!
//! A kind is a directory `<root>/kinds/<name>/` with a `kind.yml`. Its
//! loader reads the task descriptions (`tasks:` and `tasks-from:` files,
//! merged over `task-defaults`), then the kind's transforms turn them into
//! [`Task`]s. Kinds are processed after the kinds they depend on
//! (`kind-dependencies`) and see those kinds' tasks.

use foldhash::{HashMap, HashMapExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::config::GraphConfig;
use crate::error::{Error, ErrorKind, Result, closest_names};
use crate::graph::Graph;
use crate::params::Parameters;
use crate::registry::Registry;
use crate::task::Task;
use crate::template::{merge, merged};
use crate::transform::{
    Origin, Progress, TaskDesc, TransformConfig, TransformRef, location_of, run_sequence_from,
};
use crate::util::ordered;
use crate::value::{Map, Value};
use crate::yaml::{self, Document};

/// The loader used when kind.yml names none.
pub const DEFAULT_LOADER: &str = "taskgraph.loader.default:loader";

/// The transforms the default loader appends.
const DEFAULT_TRANSFORMS: [&str; 2] = [
    "taskgraph.transforms.run:transforms",
    "taskgraph.transforms.task:transforms",
];

/// A loaded `kind.yml`.
#[derive(Debug, Clone)]
pub struct Kind {
    pub name: String,
    /// `<root as given>/kinds/<name>`: the reference's spelling, which
    /// shows up in outputs.
    pub path: String,
    /// The kind's directory.
    pub dir: PathBuf,
    /// The kind.yml file.
    pub file: PathBuf,
    pub config: Map,
    document: Arc<Document>,
}

impl Kind {
    /// Loads `<root>/kinds/<name>/kind.yml`; None when the directory has no
    /// kind.yml (the reference skips such directories).
    pub fn load(root: &ProjectRoot, name: &str) -> Result<Option<Kind>> {
        let path = format!("{}/kinds/{name}", root.display);
        let dir = root.dir.join("kinds").join(name);
        let file = dir.join("kind.yml");
        if !file.is_file() {
            return Ok(None);
        }
        let mut document = yaml::load_document_file(&file).map_err(|e| e.in_kind(name))?;
        // The document keeps only the positions of keys, for messages.
        let config = match std::mem::take(&mut document.value) {
            Value::Map(map) => map,
            Value::Null => Map::default(),
            other => {
                return Err(Error::transform(format!(
                    "kind.yml must hold a mapping, not {}",
                    other.type_name()
                ))
                .in_kind(name)
                .with_file(&file));
            }
        };
        Ok(Some(Kind {
            name: name.to_owned(),
            path,
            dir,
            file,
            config,
            document: Arc::new(document),
        }))
    }

    /// Whether loading this kind may hash committed files of the
    /// repository: one of its transform sequences, or the `run.using` of
    /// its defaults or tasks, is noted for it in `registry`. A kind that
    /// takes tasks from other files counts as one that may.
    pub fn reads_repository_files(&self, registry: &Registry) -> bool {
        if self.config.contains_key("tasks-from") {
            return true;
        }
        let transforms = self.config.get("transforms").and_then(Value::as_list);
        if transforms
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|name| registry.transforms_read_repository_files(name))
        {
            return true;
        }
        let defaults = self.config.get("task-defaults");
        let tasks = self.config.get("tasks").and_then(Value::as_map);
        defaults
            .into_iter()
            .chain(tasks.into_iter().flat_map(|tasks| tasks.values()))
            .filter_map(|task| task.get_path("run.using").and_then(Value::as_str))
            .any(|using| registry.run_using_reads_repository_files(using))
    }

    /// The kinds this kind depends on directly.
    pub fn dependencies(&self) -> Result<Vec<String>> {
        match self.config.get("kind-dependencies") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(value) => value
                .as_str_list()
                .map(|l| l.into_iter().map(str::to_owned).collect())
                .ok_or_else(|| {
                    self.at_key(
                        Error::transform("`kind-dependencies` must be a list of kind names"),
                        "kind-dependencies",
                    )
                }),
        }
    }

    /// Points `error` at this kind's kind.yml, at the line of its top-level
    /// `key`.
    fn at_key(&self, error: Error, key: &str) -> Error {
        let error = error.in_kind(&self.name).at_field(key);
        self.in_file(error)
    }

    /// Points `error` at this kind's kind.yml: at the line of the top-level
    /// key its field starts with, when the error belongs to no task and no
    /// other file.
    fn in_file(&self, error: Error) -> Error {
        let location = error.location();
        let other_file = location.file.as_ref().is_some_and(|f| *f != self.file);
        if other_file || location.task.is_some() || location.line.is_some() {
            return error.in_kind(&self.name).with_file(&self.file);
        }
        let position = location
            .field
            .as_deref()
            .and_then(|field| field.split('.').next())
            .and_then(|key| self.document.position(&[key]));
        let error = error.in_kind(&self.name).with_file(&self.file);
        match position {
            Some((line, column)) => error.with_position(line, column),
            None => error,
        }
    }

    fn task_origin(
        &self,
        file: &Path,
        document: &Document,
        name: &str,
        section: Option<&str>,
    ) -> Arc<Origin> {
        let position = match section {
            Some(section) => document.position(&[section, name]),
            None => document.position(&[name]),
        };
        Arc::new(Origin {
            file: file.to_owned(),
            position,
            name: name.to_owned(),
        })
    }
}

/// Where the project's taskgraph directory is.
#[derive(Debug, Clone)]
pub struct ProjectRoot {
    /// The directory as the user named it (`--root`); it appears in
    /// outputs such as `metadata.source`.
    pub display: String,
    /// The directory on disk.
    pub dir: PathBuf,
}

impl ProjectRoot {
    /// A root named `display`, relative to `working_dir` unless absolute.
    pub fn new(display: &str, working_dir: &Path) -> ProjectRoot {
        ProjectRoot {
            display: display.to_owned(),
            dir: working_dir.join(display),
        }
    }
}

/// Lists the kinds of a project: every directory of `<root>/kinds` with a
/// kind.yml, loaded in parallel. With `target_kinds`, only those kinds,
/// the kinds they depend on, and `docker-image` when the project has it
/// (the reference fails when it does not).
pub fn discover(root: &ProjectRoot, target_kinds: &[String]) -> Result<IndexMap<String, Kind>> {
    if target_kinds.is_empty() {
        return load_many(root, &list_kind_dirs(root)?);
    }

    // Follow kind-dependencies from the targets, one wave at a time,
    // remembering which kind asked for each name (None: the command line).
    let mut kinds = IndexMap::new();
    let mut wanted: Vec<(String, Option<String>)> =
        target_kinds.iter().map(|k| (k.clone(), None)).collect();
    wanted.push(("docker-image".to_owned(), None));
    while !wanted.is_empty() {
        let names: Vec<String> = wanted.iter().map(|(name, _)| name.clone()).collect();
        let loaded = load_many(root, &names)?;
        for (name, wanted_by) in &wanted {
            if loaded.contains_key(name) || kinds.contains_key(name) {
                continue;
            }
            match wanted_by {
                None if name == "docker-image" => {}
                None => {
                    return Err(unknown_target_kind(name, existing_kinds(root)?));
                }
                Some(kind) => {
                    let available = existing_kinds(root)?;
                    let kind: &Kind =
                        loaded
                            .get(kind)
                            .or_else(|| kinds.get(kind))
                            .ok_or_else(|| {
                                Error::transform(format!("kind `{kind}` vanished while loading"))
                            })?;
                    return Err(kind.at_key(
                        missing_kind(&kind.name, name, available),
                        "kind-dependencies",
                    ));
                }
            }
        }
        let mut next: IndexMap<String, Option<String>> = IndexMap::new();
        for kind in loaded.values() {
            for dep in kind.dependencies()? {
                if !kinds.contains_key(&dep) && !loaded.contains_key(&dep) {
                    next.entry(dep).or_insert_with(|| Some(kind.name.clone()));
                }
            }
        }
        kinds.extend(loaded);
        next.sort_keys();
        wanted = next.into_iter().collect();
    }
    Ok(kinds)
}

/// A `--target-kind` naming no kind: suggests the closest kind names, or
/// lists them all when none is close.
fn unknown_target_kind(name: &str, available: Vec<String>) -> Error {
    let mut known = closest_names(name, available.iter().map(String::as_str));
    if known.is_empty() {
        known = available;
    }
    Error::new(ErrorKind::UnknownName {
        what: "target kind",
        name: name.to_owned(),
        known,
    })
}

/// The names of the directories under `<root>/kinds` that hold a kind.yml.
fn existing_kinds(root: &ProjectRoot) -> Result<Vec<String>> {
    let mut names = list_kind_dirs(root)?;
    names.retain(|name| root.dir.join("kinds").join(name).join("kind.yml").is_file());
    Ok(names)
}

fn list_kind_dirs(root: &ProjectRoot) -> Result<Vec<String>> {
    let dir = root.dir.join("kinds");
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn load_many(root: &ProjectRoot, names: &[String]) -> Result<IndexMap<String, Kind>> {
    use rayon::prelude::*;
    let loaded: Vec<Option<Kind>> = names
        .par_iter()
        .map(|name| Kind::load(root, name))
        .collect::<Result<_>>()?;
    Ok(loaded
        .into_iter()
        .flatten()
        .map(|kind| (kind.name.clone(), kind))
        .collect())
}

fn missing_kind(kind: &str, missing: &str, mut available: Vec<String>) -> Error {
    available.sort();
    Error::new(ErrorKind::MissingKind {
        kind: kind.to_owned(),
        missing: missing.to_owned(),
        available,
    })
}

/// Orders kinds so that each comes after its dependencies, and groups them
/// into waves: every kind of a wave depends only on earlier waves, so the
/// kinds of one wave can load in parallel. Waves and their members are in
/// sorted order, which makes the result independent of thread timing.
pub fn kind_waves(
    kinds: &IndexMap<String, Kind>,
    target_kinds: &[String],
) -> Result<Vec<Vec<String>>> {
    let mut edges = Vec::new();
    for kind in kinds.values() {
        for dep in kind.dependencies()? {
            if !kinds.contains_key(&dep) {
                let available = kinds.keys().cloned().collect();
                return Err(kind.at_key(
                    missing_kind(&kind.name, &dep, available),
                    "kind-dependencies",
                ));
            }
            edges.push((kind.name.clone(), dep, "kind-dependency".to_owned()));
        }
    }
    let mut graph = Graph::new(kinds.keys().cloned(), edges)?;
    if !target_kinds.is_empty() {
        let mut roots: Vec<&str> = target_kinds.iter().map(String::as_str).collect();
        if kinds.contains_key("docker-image") {
            roots.push("docker-image");
        }
        graph = graph.transitive_closure(roots, false)?;
    }

    let order = graph.visit_postorder().map_err(|e| match e.kind() {
        ErrorKind::Cycle { labels } => Error::new(ErrorKind::KindCycle {
            kinds: labels.clone(),
        }),
        _ => e,
    })?;

    let mut depth: HashMap<&str, usize> = HashMap::new();
    let mut waves: Vec<Vec<String>> = Vec::new();
    for name in order {
        let kind = &kinds[name];
        let level = kind
            .dependencies()?
            .iter()
            .map(|d| depth[d.as_str()] + 1)
            .max()
            .unwrap_or(0);
        depth.insert(name, level);
        if waves.len() <= level {
            waves.resize_with(level + 1, Vec::new);
        }
        waves[level].push(name.to_owned());
    }
    for wave in &mut waves {
        wave.sort();
    }
    Ok(waves)
}

/// What a loader hands to the transforms.
#[derive(Debug)]
pub struct Loaded {
    pub tasks: Vec<TaskDesc>,
    /// The transform names to run, in order.
    pub transforms: Vec<String>,
}

/// Reads a kind's task descriptions (the reference's loader functions).
pub trait Loader: Send + Sync {
    fn load(&self, kind: &Kind, params: &Parameters) -> Result<Loaded>;
}

/// `taskgraph.loader.transform:loader`: tasks from `tasks` and
/// `tasks-from`, merged over `task-defaults`, transforms as listed.
#[derive(Debug)]
pub struct TransformLoader;

/// `taskgraph.loader.default:loader`: the transform loader, with the `run`
/// and `task` transforms appended.
#[derive(Debug)]
pub struct DefaultLoader;

/// Registers the built-in loaders.
pub fn register_loaders(registry: &mut Registry) {
    registry.add_loader(
        "taskgraph.loader.transform:loader",
        Arc::new(TransformLoader),
    );
    registry.add_loader(DEFAULT_LOADER, Arc::new(DefaultLoader));
}

impl Loader for TransformLoader {
    fn load(&self, kind: &Kind, _params: &Parameters) -> Result<Loaded> {
        let transforms = transform_names(kind)?.ok_or_else(|| {
            Error::transform("the kind lists no `transforms`").at_field("transforms")
        })?;
        Ok(Loaded {
            tasks: load_descriptions(kind)?,
            transforms,
        })
    }
}

impl Loader for DefaultLoader {
    fn load(&self, kind: &Kind, _params: &Parameters) -> Result<Loaded> {
        let mut transforms = transform_names(kind)?.unwrap_or_default();
        for default in DEFAULT_TRANSFORMS {
            // The reference only catches the `module:transforms` spelling;
            // the bare module name would run the transforms twice and fail
            // later with a message that does not say why.
            let module = default.strip_suffix(":transforms");
            if let Some(listed) = transforms
                .iter()
                .find(|t| *t == default || Some(t.as_str()) == module)
            {
                return Err(Error::transform(format!(
                    "transform `{listed}` is added by the default loader; it must not be listed in \
                     the kind (or set `loader: taskgraph.loader.transform:loader` to list every \
                     transform yourself)"
                ))
                .at_field("transforms"));
            }
        }
        transforms.extend(DEFAULT_TRANSFORMS.iter().map(|t| (*t).to_owned()));
        Ok(Loaded {
            tasks: load_descriptions(kind)?,
            transforms,
        })
    }
}

fn transform_names(kind: &Kind) -> Result<Option<Vec<String>>> {
    match kind.config.get("transforms") {
        None => Ok(None),
        Some(value) => value
            .as_str_list()
            .map(|names| Some(names.into_iter().map(str::to_owned).collect()))
            .ok_or_else(|| {
                Error::transform("`transforms` must be a list of names").at_field("transforms")
            }),
    }
}

/// The loader semantics shared by both built-in loaders.
fn load_descriptions(kind: &Kind) -> Result<Vec<TaskDesc>> {
    let defaults = kind.config.get("task-defaults").filter(|d| d.is_truthy());
    let mut out = Vec::new();

    if let Some(tasks) = kind.config.get("tasks") {
        let tasks = tasks
            .as_map()
            .ok_or_else(|| Error::transform("`tasks` must be a mapping").at_field("tasks"))?;
        let entries: Vec<(&str, &Value)> = tasks.iter().collect();
        out = ordered::try_map(&entries, |&(name, task)| {
            let origin = kind.task_origin(&kind.file, &kind.document, name, Some("tasks"));
            let fields = with_defaults(defaults, task, &origin)?;
            Ok(finish_description(fields, "kind.yml", name, origin))
        })?;
    }

    for filename in tasks_from(kind)? {
        out.extend(load_tasks_from(kind, &filename, defaults)?);
    }
    Ok(out)
}

fn tasks_from(kind: &Kind) -> Result<Vec<String>> {
    match kind.config.get("tasks-from") {
        None => Ok(Vec::new()),
        Some(value) => value
            .as_str_list()
            .map(|l| l.into_iter().map(str::to_owned).collect())
            .ok_or_else(|| {
                Error::transform("`tasks-from` must be a list of file names").at_field("tasks-from")
            }),
    }
}

fn load_tasks_from(
    kind: &Kind,
    filename: &str,
    kind_defaults: Option<&Value>,
) -> Result<Vec<TaskDesc>> {
    let file = kind.dir.join(filename);
    let mut document = yaml::load_document_file(&file)?;
    let Value::Map(mut tasks) = std::mem::take(&mut document.value) else {
        return Err(
            Error::transform(format!("`{filename}` must hold a mapping of tasks")).with_file(&file),
        );
    };

    // The file's own defaults apply over the kind's, to its tasks only.
    let file_defaults = tasks.shift_remove("task-defaults");
    let defaults = match (kind_defaults, file_defaults) {
        (Some(kind_defaults), file_defaults) => {
            let file_defaults = file_defaults
                .filter(Value::is_truthy)
                .unwrap_or(Value::Map(Map::default()));
            Some(merge(&[kind_defaults, &file_defaults]))
        }
        (None, file_defaults) => file_defaults,
    };
    let defaults = defaults.filter(Value::is_truthy);

    let mut out = Vec::new();
    for (name, task) in tasks {
        let origin = kind.task_origin(&file, &document, &name, None);
        let fields = with_defaults(defaults.as_ref(), &task, &origin)?;
        out.push(finish_description(fields, filename, &name, origin));
    }
    Ok(out)
}

/// Room a task description gets for the keys the transforms add to it.
const DESCRIPTION_HEADROOM: usize = 12;

fn with_defaults(defaults: Option<&Value>, task: &Value, origin: &Arc<Origin>) -> Result<Map> {
    if !matches!(task, Value::Map(_)) {
        let error = Error::transform(format!(
            "the task must be a mapping, not {}",
            task.type_name()
        ))
        .with_file(&origin.file)
        .in_task(&origin.name);
        return Err(match origin.position {
            Some((line, column)) => error.with_position(line, column),
            None => error,
        });
    }
    // The transforms add a dozen keys or so to every description.
    let merged = match defaults {
        Some(defaults) => merged(defaults, task, DESCRIPTION_HEADROOM),
        None => merged(&Value::Map(Map::new()), task, DESCRIPTION_HEADROOM),
    };
    match merged {
        Value::Map(map) => Ok(map),
        _ => Err(Error::transform("task-defaults must be a mapping").with_file(&origin.file)),
    }
}

fn finish_description(
    mut fields: Map,
    task_from: &str,
    name: &str,
    origin: Arc<Origin>,
) -> TaskDesc {
    fields.insert("task-from", Value::from(task_from));
    fields.insert("name", Value::from(name));
    TaskDesc::new(fields, origin)
}

/// Loads one kind's tasks: its loader, then its transforms, then [`Task`]s.
pub fn load_tasks(
    kind: &Kind,
    params: &Parameters,
    graph_config: &GraphConfig,
    registry: &Registry,
    kind_dependencies_tasks: &IndexMap<String, Arc<Task>>,
) -> Result<Vec<Task>> {
    let started = start_tasks(kind, params, graph_config, registry)?;
    finish_tasks(
        kind,
        started,
        params,
        graph_config,
        registry,
        kind_dependencies_tasks,
    )
}

/// A kind that has run its loader and the transforms that can run before
/// the kinds it depends on are loaded.
pub struct StartedKind {
    sequence: Vec<TransformRef>,
    /// The kind config the transforms see.
    config: Map,
    progress: Progress,
}

impl StartedKind {
    /// Whether the rest of the transforms read the tasks of the kinds this
    /// one depends on: only then must its finish wait for them.
    pub fn needs_dependencies(&self) -> bool {
        matches!(self.progress, Progress::NeedsDependencies { .. })
    }
}

impl std::fmt::Debug for StartedKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.sequence.iter().map(|t| t.name()).collect();
        f.debug_struct("StartedKind")
            .field("sequence", &names)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

/// The first part of [`load_tasks`]: the loader, then the transforms up to
/// the first that reads the tasks of the kinds this one depends on, which
/// need not be loaded yet.
pub fn start_tasks(
    kind: &Kind,
    params: &Parameters,
    graph_config: &GraphConfig,
    registry: &Registry,
) -> Result<StartedKind> {
    let context = |e: Error| kind.in_file(e);

    let loader_name = match kind.config.get("loader") {
        None => DEFAULT_LOADER,
        Some(Value::Str(name)) => name.as_str(),
        Some(_) => {
            return Err(context(
                Error::transform("`loader` must be a name").at_field("loader"),
            ));
        }
    };
    let loader = registry
        .loader(loader_name)
        .map_err(|e| context(e.at_field("loader")))?;
    let loaded = loader.load(kind, params).map_err(context)?;

    let mut sequence = Vec::new();
    for name in &loaded.transforms {
        sequence.extend(
            registry
                .transforms(name)
                .map_err(|e| context(e.at_field("transforms")))?
                .iter()
                .cloned(),
        );
    }

    // Transforms see the kind config as the loader left it, without the
    // task definitions, which the loader has turned into the tasks they
    // transform (copying every definition again for each kind would cost
    // more than all of a kind's other settings).
    let mut config: Map = kind
        .config
        .iter()
        .filter(|(key, _)| *key != "tasks")
        .map(|(key, value)| (key, value.clone()))
        .collect();
    config.insert(
        "transforms",
        Value::str_list(loaded.transforms.iter().cloned()),
    );

    let no_tasks_yet = IndexMap::new();
    let transform_config = TransformConfig::new(
        &kind.name,
        &kind.path,
        &kind.dir,
        &config,
        params,
        &no_tasks_yet,
        graph_config,
        registry,
    )
    .before_dependencies();
    let progress =
        run_sequence_from(&transform_config, &sequence, 0, loaded.tasks).map_err(context)?;
    Ok(StartedKind {
        sequence,
        config,
        progress,
    })
}

/// The rest of [`load_tasks`], once the kinds this one depends on are
/// loaded: the remaining transforms, then [`Task`]s.
pub fn finish_tasks(
    kind: &Kind,
    started: StartedKind,
    params: &Parameters,
    graph_config: &GraphConfig,
    registry: &Registry,
    kind_dependencies_tasks: &IndexMap<String, Arc<Task>>,
) -> Result<Vec<Task>> {
    let context = |e: Error| kind.in_file(e);
    let StartedKind {
        sequence,
        config,
        progress,
    } = started;
    let tasks = match progress {
        Progress::Done(tasks) => tasks,
        Progress::NeedsDependencies { at, tasks } => {
            let transform_config = TransformConfig::new(
                &kind.name,
                &kind.path,
                &kind.dir,
                &config,
                params,
                kind_dependencies_tasks,
                graph_config,
                registry,
            );
            // With the dependencies' tasks given, the sequence runs to its end.
            crate::transform::run_sequence(&transform_config, &sequence[at..], tasks)
                .map_err(context)?
        }
    };

    ordered::try_map_owned(tasks, |desc| {
        // The full location is only worked out for an error.
        let name = desc.display_name();
        let TaskDesc {
            fields,
            origin,
            digest,
        } = desc;
        let mut task = Task::from_description(&kind.name, fields)
            .map_err(|e| e.at(&location_of(&origin, &name, &kind.name)))?;
        task.digest = digest;
        Ok(task)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn root(dir: &tempfile::TempDir) -> ProjectRoot {
        ProjectRoot {
            display: "taskcluster".to_owned(),
            dir: dir.path().to_owned(),
        }
    }

    #[test]
    fn tasks_merge_over_defaults_and_tasks_from_files_add_their_own() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "kinds/build/kind.yml",
            "transforms: []\ntask-defaults:\n  a: 1\n  l: [x]\ntasks:\n  one:\n    l: [y]\ntasks-from: [more.yml]\n",
        );
        write(
            dir.path(),
            "kinds/build/more.yml",
            "task-defaults:\n  b: 2\ntwo:\n  a: 3\n",
        );
        let kind = Kind::load(&root(&dir), "build").unwrap().unwrap();
        let tasks = load_descriptions(&kind).unwrap();

        assert_eq!(tasks.len(), 2);
        let one = &tasks[0].fields;
        assert_eq!(one["a"], Value::Int(1));
        assert_eq!(one["l"], Value::str_list(["x", "y"]));
        assert_eq!(one["task-from"], Value::from("kind.yml"));
        assert_eq!(one["name"], Value::from("one"));
        let two = &tasks[1].fields;
        assert_eq!(two["a"], Value::Int(3));
        assert_eq!(two["b"], Value::Int(2));
        assert_eq!(two["task-from"], Value::from("more.yml"));
        assert_eq!(tasks[0].origin.position.map(|p| p.0), Some(6));
    }

    #[test]
    fn directories_without_kind_yml_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "kinds/a/kind.yml", "transforms: []\n");
        write(dir.path(), "kinds/notes/README", "x");
        let kinds = discover(&root(&dir), &[]).unwrap();
        assert_eq!(kinds.keys().collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn waves_follow_dependencies_and_missing_kinds_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "kinds/a/kind.yml", "kind-dependencies: [b]\n");
        write(dir.path(), "kinds/b/kind.yml", "{}\n");
        write(dir.path(), "kinds/c/kind.yml", "kind-dependencies: [b]\n");
        let kinds = discover(&root(&dir), &[]).unwrap();
        let waves = kind_waves(&kinds, &[]).unwrap();
        assert_eq!(
            waves,
            vec![vec!["b".to_owned()], vec!["a".to_owned(), "c".to_owned()]]
        );

        write(
            dir.path(),
            "kinds/d/kind.yml",
            "# depends on a kind that is not there\nkind-dependencies: [zz]\n",
        );
        let kinds = discover(&root(&dir), &[]).unwrap();
        let err = kind_waves(&kinds, &[]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::MissingKind { missing, .. } if missing == "zz"),
            "{err}"
        );
        assert!(err.to_string().contains("a, b, c, d"), "{err}");
        assert_eq!(err.location().kind.as_deref(), Some("d"), "{err}");
        assert_eq!(err.location().line, Some(2), "{err}");
    }

    #[test]
    fn a_diamond_and_a_chain_load_dependencies_first() {
        let dir = tempfile::tempdir().unwrap();
        for (name, deps) in [
            ("yaml-scalars", ""),
            ("merge", "yaml-scalars"),
            ("from-files", "yaml-scalars"),
            ("keyed", "merge, from-files"),
            ("names", "keyed"),
            ("aaa-chain-end", "names"),
        ] {
            write(
                dir.path(),
                &format!("kinds/{name}/kind.yml"),
                &format!("kind-dependencies: [{deps}]\n"),
            );
        }
        let kinds = discover(&root(&dir), &[]).unwrap();
        let order: Vec<String> = kind_waves(&kinds, &[]).unwrap().concat();
        assert_eq!(
            order,
            [
                "yaml-scalars",
                "from-files",
                "merge",
                "keyed",
                "names",
                "aaa-chain-end"
            ]
        );
    }

    #[test]
    fn kind_cycles_are_reported_with_their_kinds() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "kinds/a/kind.yml", "kind-dependencies: [b]\n");
        write(dir.path(), "kinds/b/kind.yml", "kind-dependencies: [a]\n");
        let kinds = discover(&root(&dir), &[]).unwrap();
        let err = kind_waves(&kinds, &[]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::KindCycle { kinds } if kinds.len() >= 2),
            "{err}"
        );
    }

    #[test]
    fn target_kinds_load_their_dependencies_only() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "kinds/a/kind.yml", "kind-dependencies: [b]\n");
        write(dir.path(), "kinds/b/kind.yml", "{}\n");
        write(dir.path(), "kinds/c/kind.yml", "{}\n");
        let kinds = discover(&root(&dir), &["a".to_owned()]).unwrap();
        let mut names: Vec<&String> = kinds.keys().collect();
        names.sort();
        assert_eq!(names, ["a", "b"]);
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;
    use crate::map;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn root(dir: &tempfile::TempDir) -> ProjectRoot {
        ProjectRoot {
            display: "taskcluster".to_owned(),
            dir: dir.path().to_owned(),
        }
    }

    fn graph_config() -> GraphConfig {
        let config = map! {
            "trust-domain" => "demo",
            "task-priority" => "low",
            "workers" => map! {"aliases" => Map::default()},
            "taskgraph" => map! {"repositories" => map! {"demo" => map! {"name" => "Demo"}}},
        };
        GraphConfig::from_value(Value::Map(config), Path::new("/x/taskcluster"), "/x".into())
            .unwrap()
    }

    fn params() -> Parameters {
        Parameters::from_map(map! {
            "level" => "3", "project" => "demo", "owner" => "me@example.com",
            "head_repository" => "https://github.com/demo/demo", "head_rev" => "abc",
            "repository_type" => "git", "tasks_for" => "github-push",
        })
    }

    fn load(dir: &tempfile::TempDir, name: &str) -> Result<Vec<Task>> {
        let kind = Kind::load(&root(dir), name)?.expect("the kind exists");
        let registry = Registry::with_builtins();
        load_tasks(
            &kind,
            &params(),
            &graph_config(),
            &registry,
            &IndexMap::new(),
        )
    }

    #[test]
    fn an_unknown_target_kind_is_named_with_suggestions() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "kinds/build/kind.yml", "{}\n");
        write(dir.path(), "kinds/notes/README", "not a kind");
        let err = discover(&root(&dir), &["biuld".to_owned()]).unwrap_err();
        match err.kind() {
            ErrorKind::UnknownName { what, name, known } => {
                assert_eq!((*what, name.as_str()), ("target kind", "biuld"));
                assert_eq!(known, &["build".to_owned()]);
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn a_target_kinds_missing_dependency_names_the_kind_wanting_it() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "kinds/a/kind.yml", "kind-dependencies: [b]\n");
        write(
            dir.path(),
            "kinds/b/kind.yml",
            "tasks: {}\nkind-dependencies: [gone]\n",
        );
        let err = discover(&root(&dir), &["a".to_owned()]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::MissingKind { kind, missing, available }
                if kind == "b" && missing == "gone" && available == &["a", "b"]),
            "{err}"
        );
        assert_eq!(
            err.location().file.as_deref(),
            Some(dir.path().join("kinds/b/kind.yml").as_path())
        );
        assert_eq!(err.location().line, Some(2), "{err}");
    }

    #[test]
    fn a_missing_docker_image_kind_is_not_an_error_with_target_kinds() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "kinds/a/kind.yml", "{}\n");
        let kinds = discover(&root(&dir), &["a".to_owned()]).unwrap();
        assert_eq!(kinds.keys().collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn kind_level_errors_point_at_their_key() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "kinds/a/kind.yml",
            "loader: taskgraph.loader.transform:loader\ntasks: {}\ntransforms:\n  - taskgraph.transforms.task_contxt\n",
        );
        let err = load(&dir, "a").unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::UnknownTransform { suggestions, .. }
                if suggestions.first().is_some_and(|s| s.starts_with("taskgraph.transforms.task_context"))),
            "{err}"
        );
        assert_eq!(err.location().kind.as_deref(), Some("a"));
        assert_eq!(err.location().field.as_deref(), Some("transforms"));
        assert_eq!(err.location().line, Some(3), "{err}");
    }

    #[test]
    fn an_unknown_loader_points_at_its_key() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "kinds/a/kind.yml",
            "tasks: {}\nloader: taskgraph.loader.tranform:loader\n",
        );
        let err = load(&dir, "a").unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::UnknownName { what: "loader", .. }),
            "{err}"
        );
        assert_eq!(err.location().field.as_deref(), Some("loader"));
        assert_eq!(err.location().line, Some(2), "{err}");
    }

    #[test]
    fn the_default_loader_refuses_its_own_transforms_in_the_kind() {
        for listed in [
            "taskgraph.transforms.task:transforms",
            "taskgraph.transforms.run",
        ] {
            let dir = tempfile::tempdir().unwrap();
            write(
                dir.path(),
                "kinds/a/kind.yml",
                &format!("tasks: {{}}\ntransforms: [{listed}]\n"),
            );
            let err = load(&dir, "a").unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("`{listed}` is added by the default loader")),
                "{err}"
            );
            assert_eq!(err.location().line, Some(2), "{err}");
        }
    }

    #[test]
    fn a_task_that_is_not_a_mapping_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "kinds/a/kind.yml",
            "task-defaults: {description: d}\ntasks:\n  fine: {}\n  broken: [1]\n",
        );
        let err = load(&dir, "a").unwrap_err();
        assert_eq!(err.location().task.as_deref(), Some("broken"), "{err}");
        assert_eq!(err.location().line, Some(4), "{err}");
    }

    #[test]
    fn errors_in_tasks_from_files_name_that_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "kinds/a/kind.yml", "tasks-from: [more.yml]\n");
        write(dir.path(), "kinds/a/more.yml", "x:\n  a: [1, 2\n  b: 3\n");
        let err = load(&dir, "a").unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Yaml(_)), "{err}");
        assert_eq!(
            err.location().file.as_deref(),
            Some(dir.path().join("kinds/a/more.yml").as_path())
        );
        assert!(err.location().line.is_some(), "{err}");
        assert_eq!(err.location().kind.as_deref(), Some("a"));
    }

    #[test]
    fn kind_files_may_be_utf16() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = vec![0xfe, 0xff];
        for unit in "tasks:\n  caf\u{e9}: {}\n".encode_utf16() {
            bytes.extend(unit.to_be_bytes());
        }
        std::fs::create_dir_all(dir.path().join("kinds/a")).unwrap();
        std::fs::write(dir.path().join("kinds/a/kind.yml"), bytes).unwrap();
        let kind = Kind::load(&root(&dir), "a").unwrap().unwrap();
        let tasks = load_descriptions(&kind).unwrap();
        assert_eq!(tasks[0].fields["name"], Value::from("caf\u{e9}"));
    }

    #[test]
    fn the_mapping_key_overrides_an_explicit_name() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "kinds/a/kind.yml",
            "tasks:\n  key:\n    name: ignored\n    task-from: ignored\n    other: 1\n",
        );
        let kind = Kind::load(&root(&dir), "a").unwrap().unwrap();
        let fields = &load_descriptions(&kind).unwrap()[0].fields;
        assert_eq!(fields["name"], Value::from("key"));
        assert_eq!(fields["task-from"], Value::from("kind.yml"));
        // Keys already present keep their place.
        let keys: Vec<&str> = fields.keys().collect();
        assert_eq!(keys, ["name", "task-from", "other"]);
    }
}
