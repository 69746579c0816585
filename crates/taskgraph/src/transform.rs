//! The transform framework: task descriptions, transforms and their
//! configuration.
//!
//! A kind's loader produces [`TaskDesc`]s, free-form trees that remember
//! where in the project they were defined ([`Origin`]). Each transform of
//! the kind's sequence takes the whole list and returns a new one; most are
//! written per task with [`per_task`] or [`fan_out`], which also attach the
//! task's location to any error. The reference chains Python generators
//! lazily; running each transform over the whole list is equivalent for
//! transforms that do not share state between tasks, which holds for every
//! built-in one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;
use rayon::prelude::*;

use crate::config::GraphConfig;
use crate::digest::DigestRecord;
use crate::error::{Error, Location, Result};
use crate::params::Parameters;
use crate::registry::Registry;
use crate::schema::{Extra, Schema};
use crate::task::Task;
use crate::value::{Map, Value};

/// Where a task description was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The kind.yml or tasks-from file.
    pub file: PathBuf,
    /// 1-based line and column of the task's key, when known.
    pub position: Option<(usize, usize)>,
    /// The task's key in that file.
    pub name: String,
}

/// A task description on its way through the transforms.
#[derive(Debug, Clone)]
pub struct TaskDesc {
    pub fields: Map,
    pub origin: Arc<Origin>,
    /// What the task's cache digest was made of, once a transform gave it
    /// one. Kept beside the fields: it is not part of the task's JSON.
    pub digest: Option<Arc<DigestRecord>>,
}

impl TaskDesc {
    pub fn new(fields: Map, origin: Arc<Origin>) -> TaskDesc {
        TaskDesc {
            fields,
            origin,
            digest: None,
        }
    }

    /// The label if set, else the name, else the key it was defined under.
    pub fn display_name(&self) -> String {
        for key in ["label", "name"] {
            if let Some(value) = self.fields.get(key) {
                if let Value::Str(s) = value {
                    return s.clone();
                }
                return value.to_string();
            }
        }
        self.origin.name.clone()
    }

    /// This description's place, for error messages.
    pub fn location(&self, kind: &str) -> Location {
        location_of(&self.origin, &self.display_name(), kind)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// A string field.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// `task.setdefault(key, {})` as a map; replaces a non-map value.
    pub fn map_entry(&mut self, key: &str) -> &mut Map {
        map_entry(&mut self.fields, key)
    }
}

/// The place of the task named `task`, defined at `origin`, in `kind`.
pub fn location_of(origin: &Origin, task: &str, kind: &str) -> Location {
    Location {
        file: Some(origin.file.clone()),
        line: origin.position.map(|p| p.0),
        column: origin.position.map(|p| p.1),
        kind: Some(kind.to_owned()),
        task: Some(task.to_owned()),
        field: None,
    }
}

/// `map.setdefault(key, {})`, for nested dicts transforms write into.
pub fn map_entry<'a>(map: &'a mut Map, key: &str) -> &'a mut Map {
    let slot = map.entry(key).or_insert_with(|| Value::Map(Map::default()));
    if !matches!(slot, Value::Map(_)) {
        *slot = Value::Map(Map::default());
    }
    match slot {
        Value::Map(m) => m,
        _ => unreachable!("the slot was just made a map"),
    }
}

/// `map.setdefault(key, [])` as a list; replaces a non-list value.
pub fn list_entry<'a>(map: &'a mut Map, key: &str) -> &'a mut Vec<Value> {
    let slot = map.entry(key).or_insert_with(|| Value::List(Vec::new()));
    if !matches!(slot, Value::List(_)) {
        *slot = Value::List(Vec::new());
    }
    match slot {
        Value::List(l) => l,
        _ => unreachable!("the slot was just made a list"),
    }
}

/// One repository a run-task task may check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoConfig {
    pub prefix: String,
    pub name: String,
    pub base_repository: Option<String>,
    pub head_repository: Option<String>,
    pub head_ref: Option<String>,
    pub kind: Option<String>,
    pub path: String,
    pub head_rev: Option<String>,
    pub ssh_secret_name: Option<String>,
}

/// What a transform may read besides the tasks themselves.
pub struct TransformConfig<'a> {
    /// The kind's name.
    pub kind: &'a str,
    /// The kind's directory as the reference spells it: the root as given
    /// on the command line, then `kinds/<kind>`. It appears in outputs
    /// (`metadata.source`, skip-unless-changed patterns).
    pub path: &'a str,
    /// The kind's directory on disk.
    pub dir: &'a Path,
    /// The contents of kind.yml, except `tasks` (the task definitions are
    /// what the transforms receive), with `transforms` as the loader set
    /// it.
    pub config: &'a Map,
    pub params: &'a Parameters,
    /// Tasks of the kinds this kind depends on directly, in load order;
    /// None while those kinds are still loading (see
    /// [`Transform::reads_kind_dependencies`]).
    kind_dependencies_tasks: Option<&'a IndexMap<String, Arc<Task>>>,
    pub graph_config: &'a GraphConfig,
    pub registry: &'a Registry,
    pub write_artifacts: bool,
    repo_configs: OnceLock<Result<IndexMap<String, RepoConfig>, String>>,
}

impl fmt::Debug for TransformConfig<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransformConfig")
            .field("kind", &self.kind)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<'a> TransformConfig<'a> {
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the reference's TransformConfig fields"
    )]
    pub fn new(
        kind: &'a str,
        path: &'a str,
        dir: &'a Path,
        config: &'a Map,
        params: &'a Parameters,
        kind_dependencies_tasks: &'a IndexMap<String, Arc<Task>>,
        graph_config: &'a GraphConfig,
        registry: &'a Registry,
    ) -> TransformConfig<'a> {
        TransformConfig {
            kind,
            path,
            dir,
            config,
            params,
            kind_dependencies_tasks: Some(kind_dependencies_tasks),
            graph_config,
            registry,
            write_artifacts: false,
            repo_configs: OnceLock::new(),
        }
    }

    /// The same configuration before the kind's dependencies are loaded:
    /// the transforms that do not read their tasks can already run.
    pub fn before_dependencies(mut self) -> TransformConfig<'a> {
        self.kind_dependencies_tasks = None;
        self
    }

    /// Tasks of the kinds this kind depends on directly, in load order
    /// (`config.kind_dependencies_tasks`).
    ///
    /// An error while they are still loading: only a transform that says
    /// it reads them ([`Transform::reads_kind_dependencies`]) is run after
    /// they are, so this names a transform that does not say so.
    pub fn kind_dependencies_tasks(&self) -> Result<&'a IndexMap<String, Arc<Task>>> {
        self.kind_dependencies_tasks.ok_or_else(|| {
            Error::transform(format!(
                "internal error: a transform of kind `{}` read the tasks of the kinds it \
                 depends on without declaring that it reads them, before they were loaded",
                self.kind
            ))
        })
    }

    /// The repositories a checkout covers, the current one first
    /// (`TransformConfig.repo_configs`).
    pub fn repo_configs(&self) -> Result<&IndexMap<String, RepoConfig>> {
        self.repo_configs
            .get_or_init(|| compute_repo_configs(self.graph_config, self.params))
            .as_ref()
            .map_err(|e| Error::transform(e.clone()))
    }
}

fn compute_repo_configs(
    graph_config: &GraphConfig,
    params: &Parameters,
) -> Result<IndexMap<String, RepoConfig>, String> {
    let repositories = graph_config
        .taskgraph()
        .and_then(|t| t.get("repositories"))
        .and_then(Value::as_map)
        .ok_or("config.yml has no `taskgraph.repositories`")?;

    let current = if repositories.len() == 1 {
        repositories
            .keys()
            .next()
            .map(str::to_owned)
            .unwrap_or_default()
    } else {
        current_repository(repositories, params)?
    };

    let entry = &repositories[&current];
    let param = |key: &str| params.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut configs = IndexMap::new();
    configs.insert(
        current.clone(),
        RepoConfig {
            prefix: current.clone(),
            name: entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            base_repository: param("base_repository"),
            head_repository: param("head_repository"),
            head_ref: param("head_ref"),
            kind: param("repository_type"),
            path: String::new(),
            head_rev: param("head_rev"),
            ssh_secret_name: entry
                .get("ssh-secret-name")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
    );

    for (prefix, repo) in repositories {
        if *prefix == current {
            continue;
        }
        let field = |key: &str| repo.get(key).and_then(Value::as_str).map(str::to_owned);
        configs.insert(
            prefix.to_owned(),
            RepoConfig {
                prefix: prefix.to_owned(),
                name: field("name").unwrap_or_default(),
                base_repository: field("default-repository"),
                head_repository: field("default-repository"),
                head_ref: field("default-ref"),
                kind: field("type"),
                path: String::new(),
                head_rev: None,
                ssh_secret_name: field("ssh-secret-name"),
            },
        );
    }
    Ok(configs)
}

fn current_repository(repositories: &Map, params: &Parameters) -> Result<String, String> {
    let project = params.str_or_empty("project");
    let mut matching = Vec::new();
    for (prefix, repo) in repositories {
        let regex = repo
            .get("project-regex")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let matched =
            crate::keyed_by::python_re_match(regex, project).map_err(|e| e.to_string())?;
        if matched {
            matching.push(prefix.to_owned());
        }
    }
    match matching.as_slice() {
        [one] => Ok((*one).to_owned()),
        _ => Err(format!(
            "Couldn't find repository matching project `{project}`"
        )),
    }
}

/// One step of a kind's transform sequence.
pub trait Transform: Send + Sync {
    /// A name for logs and errors (`module:function`).
    fn name(&self) -> &str;

    /// Transforms all task descriptions of the kind.
    fn apply(&self, config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>>;

    /// What the transform does to one task, when it looks at one task at a
    /// time; None when it needs to see them all. [`run_sequence`] passes
    /// each task through a run of such steps in one go.
    fn task_step(&self) -> Option<TaskStep<'_>> {
        None
    }

    /// Whether the transform reads the tasks of the kinds this kind
    /// depends on, given the tasks it would get. A kind runs its
    /// transforms up to the first that does while those kinds still load.
    fn reads_kind_dependencies(&self, _tasks: &[TaskDesc]) -> bool {
        false
    }
}

/// When a transform reads the tasks of the kind's dependencies.
#[derive(Clone, Copy, Debug)]
enum Reads {
    Never,
    Always,
    /// When the predicate holds for the tasks the transform gets.
    When(fn(&[TaskDesc]) -> bool),
}

impl Reads {
    fn holds(self, tasks: &[TaskDesc]) -> bool {
        match self {
            Reads::Never => false,
            Reads::Always => true,
            Reads::When(predicate) => predicate(tasks),
        }
    }
}

/// A transform of one task at a time.
#[derive(Clone, Copy, Debug)]
pub enum TaskStep<'a> {
    /// Edits the task in place.
    Edit(PerTaskFn),
    /// Turns the task into any number of tasks.
    Expand(FanOutFn),
    /// Checks the task against a schema.
    Check(&'a Schema, Extra),
}

/// Runs a kind's transform sequence over its tasks.
///
/// The reference chains its transforms as lazy generators, so each task
/// travels through every transform (and each task a fan-out makes, through
/// the rest) before the next task starts, as long as no transform needs the
/// whole list. This does the same: runs of per-task transforms are applied
/// task by task, to chunks of tasks on all cores, and the chunks are joined
/// in order. A failure is the first task's failure in task order, as in the
/// reference, whatever the scheduling.
pub fn run_sequence(
    config: &TransformConfig<'_>,
    sequence: &[TransformRef],
    tasks: Vec<TaskDesc>,
) -> Result<Vec<TaskDesc>> {
    match run_sequence_from(config, sequence, 0, tasks)? {
        Progress::Done(tasks) => Ok(tasks),
        Progress::NeedsDependencies { at, .. } => Err(Error::transform(format!(
            "internal error: transform `{}` of kind `{}` waits for the kinds it depends on, \
             which were not given",
            sequence[at].name(),
            config.kind
        ))),
    }
}

/// How far a transform sequence got.
#[derive(Debug)]
pub enum Progress {
    Done(Vec<TaskDesc>),
    /// Stopped before transform `at`, which reads the tasks of the kinds
    /// this kind depends on, because they are not loaded yet.
    NeedsDependencies {
        at: usize,
        tasks: Vec<TaskDesc>,
    },
}

/// [`run_sequence`] from transform `start` on. When `config` has no
/// dependency tasks yet, it stops before the first transform that reads
/// them.
pub fn run_sequence_from(
    config: &TransformConfig<'_>,
    sequence: &[TransformRef],
    start: usize,
    mut tasks: Vec<TaskDesc>,
) -> Result<Progress> {
    let waiting = config.kind_dependencies_tasks.is_none();
    let mut position = start;
    while position < sequence.len() {
        let rest = &sequence[position..];
        let blocked = |t: &TransformRef| waiting && t.reads_kind_dependencies(&tasks);
        if blocked(&rest[0]) {
            return Ok(Progress::NeedsDependencies {
                at: position,
                tasks,
            });
        }
        let steps: Vec<TaskStep<'_>> = rest
            .iter()
            .take_while(|t| !blocked(t))
            .map_while(|t| t.task_step())
            .collect();
        if steps.is_empty() {
            tasks = rest[0].apply(config, tasks)?;
            position += 1;
        } else {
            position += steps.len();
            tasks = run_steps(config, &steps, tasks)?;
        }
    }
    Ok(Progress::Done(tasks))
}

/// Tasks handed to one thread at a time: small enough to spread a kind
/// over the cores, large enough that scheduling costs nothing.
const PARALLEL_BATCH: usize = 4;

fn run_steps(
    config: &TransformConfig<'_>,
    steps: &[TaskStep<'_>],
    tasks: Vec<TaskDesc>,
) -> Result<Vec<TaskDesc>> {
    if tasks.len() <= PARALLEL_BATCH {
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            through(config, steps, task, &mut out)?;
        }
        return Ok(out);
    }

    let mut chunks: Vec<Vec<TaskDesc>> = Vec::new();
    let mut tasks = tasks.into_iter();
    loop {
        let chunk: Vec<TaskDesc> = tasks.by_ref().take(PARALLEL_BATCH).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    let results: Vec<Result<Vec<TaskDesc>>> = chunks
        .into_par_iter()
        .map(|chunk| {
            let mut out = Vec::with_capacity(chunk.len());
            for task in chunk {
                through(config, steps, task, &mut out)?;
            }
            Ok(out)
        })
        .collect();

    let mut out = Vec::new();
    for result in results {
        out.extend(result?);
    }
    Ok(out)
}

/// Passes one task through `steps`, pushing what comes out to `out`.
fn through(
    config: &TransformConfig<'_>,
    steps: &[TaskStep<'_>],
    mut task: TaskDesc,
    out: &mut Vec<TaskDesc>,
) -> Result<()> {
    for (position, step) in steps.iter().enumerate() {
        match *step {
            TaskStep::Edit(edit) => {
                // The location is only built when there is an error. (An
                // edit that fails leaves the task's label or name in
                // place, so the location still says which task it was.)
                edit(config, &mut task).map_err(|e| e.at(&task.location(config.kind)))?;
            }
            TaskStep::Check(schema, extra) => {
                schema
                    .validate_map(&task.fields, extra)
                    .map_err(|e| e.at(&task.location(config.kind)))?;
            }
            TaskStep::Expand(expand) => {
                let origin = Arc::clone(&task.origin);
                let name = task.display_name();
                let made = expand(config, task)
                    .map_err(|e| e.at(&location_of(&origin, &name, config.kind)))?;
                let rest = &steps[position + 1..];
                if made.len() > PARALLEL_BATCH && !rest.is_empty() {
                    // A kind of one task that fans out into hundreds (a
                    // `from-deps` kind) would otherwise run the rest of the
                    // steps on one core.
                    out.extend(run_steps(config, rest, made)?);
                } else {
                    for made_task in made {
                        through(config, rest, made_task, out)?;
                    }
                }
                return Ok(());
            }
        }
    }
    out.push(task);
    Ok(())
}

/// A shared transform.
pub type TransformRef = Arc<dyn Transform>;

type PerTaskFn = fn(&TransformConfig<'_>, &mut TaskDesc) -> Result<()>;
type FanOutFn = fn(&TransformConfig<'_>, TaskDesc) -> Result<Vec<TaskDesc>>;
type BatchFn = fn(&TransformConfig<'_>, Vec<TaskDesc>) -> Result<Vec<TaskDesc>>;

struct PerTask(&'static str, PerTaskFn);
struct FanOut(&'static str, FanOutFn, Reads);
struct Batch(&'static str, BatchFn, Reads);

/// A transform that edits each task in place.
pub fn per_task(name: &'static str, f: PerTaskFn) -> TransformRef {
    Arc::new(PerTask(name, f))
}

/// A transform that turns each task into any number of tasks.
pub fn fan_out(name: &'static str, f: FanOutFn) -> TransformRef {
    Arc::new(FanOut(name, f, Reads::Never))
}

/// [`fan_out`] for a transform that reads the tasks of the kind's
/// dependencies.
pub fn fan_out_reading_dependencies(name: &'static str, f: FanOutFn) -> TransformRef {
    Arc::new(FanOut(name, f, Reads::Always))
}

/// A transform that needs to see all tasks at once.
pub fn batch(name: &'static str, f: BatchFn) -> TransformRef {
    Arc::new(Batch(name, f, Reads::Never))
}

/// [`batch`] for a transform that reads the tasks of the kind's
/// dependencies.
pub fn batch_reading_dependencies(name: &'static str, f: BatchFn) -> TransformRef {
    Arc::new(Batch(name, f, Reads::Always))
}

/// [`batch`] for a transform that reads the tasks of the kind's
/// dependencies only when `reads` holds for the tasks it gets.
pub fn batch_reading_dependencies_when(
    name: &'static str,
    f: BatchFn,
    reads: fn(&[TaskDesc]) -> bool,
) -> TransformRef {
    Arc::new(Batch(name, f, Reads::When(reads)))
}

impl Transform for PerTask {
    fn name(&self) -> &str {
        self.0
    }

    fn apply(&self, config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
        run_steps(config, &[TaskStep::Edit(self.1)], tasks)
    }

    fn task_step(&self) -> Option<TaskStep<'_>> {
        Some(TaskStep::Edit(self.1))
    }
}

impl Transform for FanOut {
    fn name(&self) -> &str {
        self.0
    }

    fn apply(&self, config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
        run_steps(config, &[TaskStep::Expand(self.1)], tasks)
    }

    fn task_step(&self) -> Option<TaskStep<'_>> {
        Some(TaskStep::Expand(self.1))
    }

    fn reads_kind_dependencies(&self, tasks: &[TaskDesc]) -> bool {
        self.2.holds(tasks)
    }
}

impl Transform for Batch {
    fn name(&self) -> &str {
        self.0
    }

    fn apply(&self, config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
        (self.1)(config, tasks).map_err(|e| e.in_kind(config.kind))
    }

    fn reads_kind_dependencies(&self, tasks: &[TaskDesc]) -> bool {
        self.2.holds(tasks)
    }
}

/// A transform that checks every task against a schema and changes nothing
/// (`transforms.add_validate(schema)`).
#[derive(Debug)]
pub struct ValidateSchema {
    name: &'static str,
    schema: &'static Schema,
    extra: Extra,
}

/// Validates each task against `schema`.
pub fn validate(name: &'static str, schema: &'static Schema, extra: Extra) -> TransformRef {
    Arc::new(ValidateSchema {
        name,
        schema,
        extra,
    })
}

impl Transform for ValidateSchema {
    fn name(&self) -> &str {
        self.name
    }

    fn apply(&self, config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
        run_steps(config, &[TaskStep::Check(self.schema, self.extra)], tasks)
    }

    fn task_step(&self) -> Option<TaskStep<'_>> {
        Some(TaskStep::Check(self.schema, self.extra))
    }
}

/// Validates a value against a schema; the error starts with `what` and its
/// field is prefixed with `field_prefix` (the value's place in the task).
/// (`what` is only formatted for an error: `format_args!` is enough.)
pub fn validate_value(
    schema: &Schema,
    value: &Value,
    extra: Extra,
    what: impl fmt::Display,
    field_prefix: &str,
) -> Result<()> {
    schema
        .validate(value, extra)
        .map_err(|e| prefixed_schema_error(e, what, field_prefix))
}

/// [`validate_value`] for a mapping not wrapped in a [`Value`].
pub fn validate_map(
    schema: &Schema,
    map: &Map,
    extra: Extra,
    what: impl fmt::Display,
    field_prefix: &str,
) -> Result<()> {
    schema
        .validate_map(map, extra)
        .map_err(|e| prefixed_schema_error(e, what, field_prefix))
}

fn prefixed_schema_error(e: Error, what: impl fmt::Display, field_prefix: &str) -> Error {
    let inner = e.location().field.clone();
    let err = Error::schema(format!("{what}: {}", e.kind()));
    match (inner, field_prefix) {
        (Some(field), "") => err.at_field(&field),
        (Some(field), prefix) => err.at_field(&format!("{prefix}.{field}")),
        (None, "") => err,
        (None, prefix) => err.at_field(prefix),
    }
}

/// Running transforms over tasks in unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A graph config with only what the schema requires: trust domain
    /// `demo`, one repository, no worker aliases.
    pub(crate) fn demo_graph_config() -> Result<GraphConfig> {
        let dir = std::env::temp_dir();
        let repositories = Map::from_iter([(
            "demo",
            Value::Map(Map::from_iter([("name", Value::from("Demo"))])),
        )]);
        GraphConfig::from_value(
            Value::Map(Map::from_iter([
                ("trust-domain", Value::from("demo")),
                ("task-priority", Value::from("low")),
                (
                    "workers",
                    Value::Map(Map::from_iter([("aliases", Value::Map(Map::default()))])),
                ),
                (
                    "taskgraph",
                    Value::Map(Map::from_iter([("repositories", Value::Map(repositories))])),
                ),
            ])),
            &dir.join("taskcluster"),
            dir.clone(),
        )
    }

    /// Runs `sequence` over tasks with these fields, as kind `demo` would,
    /// with an empty parameter set and no kind dependencies.
    pub(crate) fn run_demo_kind(
        sequence: &[TransformRef],
        tasks: Vec<Map>,
    ) -> Result<Vec<TaskDesc>> {
        let graph_config = demo_graph_config()?;
        let params = Parameters::from_map(Map::from_iter([
            ("level", Value::from("3")),
            ("build_date", Value::Int(1_700_000_000)),
            ("tasks_for", Value::from("hg-push")),
        ]));
        let (kind_config, dependencies) = (Map::default(), IndexMap::new());
        let registry = Registry::with_builtins();
        let config = TransformConfig::new(
            "demo",
            "kinds/demo",
            Path::new("kinds/demo"),
            &kind_config,
            &params,
            &dependencies,
            &graph_config,
            &registry,
        );
        let origin = Arc::new(Origin {
            file: "kinds/demo/kind.yml".into(),
            position: None,
            name: "source".to_owned(),
        });
        let descs = tasks
            .into_iter()
            .map(|fields| TaskDesc::new(fields, Arc::clone(&origin)))
            .collect();
        run_sequence(&config, sequence, descs)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::run_demo_kind;
    use super::*;

    fn one_task_per_number(_: &TransformConfig<'_>, task: TaskDesc) -> Result<Vec<TaskDesc>> {
        let count = task
            .fields
            .get("count")
            .and_then(Value::as_int)
            .unwrap_or(0);
        Ok((0..count)
            .map(|n| {
                let fields = Map::from_iter([("label", Value::from(format!("made-{n}")))]);
                TaskDesc::new(fields, Arc::clone(&task.origin))
            })
            .collect())
    }

    /// Fails on labels ending in 7 (made-7, made-17, ...).
    fn refuse_sevens(_: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
        let label = task.get_str("label").unwrap_or_default().to_owned();
        if label.ends_with('7') {
            return Err(Error::transform(format!("{label} refused")));
        }
        task.fields.insert("seen", Value::Bool(true));
        Ok(())
    }

    fn run(sequence: &[TransformRef], count: i64) -> Result<Vec<TaskDesc>> {
        run_demo_kind(
            sequence,
            vec![Map::from_iter([("count", Value::Int(count))])],
        )
    }

    fn labels(tasks: &[TaskDesc]) -> Vec<&str> {
        tasks
            .iter()
            .map(|t| t.get_str("label").unwrap_or_default())
            .collect()
    }

    #[test]
    fn a_large_fan_out_keeps_its_order_and_reports_the_first_failure() {
        let fan_out_then_mark = [
            fan_out("demo:fan-out", one_task_per_number),
            per_task("demo:mark", |_, task| {
                task.fields.insert("seen", Value::Bool(true));
                Ok(())
            }),
        ];
        // Past PARALLEL_BATCH the made tasks are spread over the cores.
        for count in [3, PARALLEL_BATCH as i64 + 1, 200] {
            let tasks = run(&fan_out_then_mark, count).unwrap();
            let expected: Vec<String> = (0..count).map(|n| format!("made-{n}")).collect();
            assert_eq!(labels(&tasks), expected);
            assert!(
                tasks
                    .iter()
                    .all(|t| t.fields.get("seen") == Some(&Value::Bool(true)))
            );
        }

        let fan_out_then_refuse = [
            fan_out("demo:fan-out", one_task_per_number),
            per_task("demo:refuse", refuse_sevens),
        ];
        let err = run(&fan_out_then_refuse, 200).unwrap_err();
        assert!(err.to_string().contains("made-7 refused"), "{err}");
    }
}
