//! Generation, phase by phase.
//!
//! ```text
//! config.yml ──► GraphConfig        params file ──► Parameters
//! kinds/*/kind.yml ──► kinds, in waves ──► full task set (no edges)
//!   ──► full task graph (edges = dependencies)
//!   ──► target task set (filters, target-task method)
//!   ──► target task graph (closure of targets and always-target tasks)
//! ```
//!
//! Each phase is a value the caller can stop at ([`Phase`]). Kinds load in
//! waves (see [`kind::kind_waves`]): all kinds of a wave run in parallel and
//! their results are merged in a fixed order, so the output never depends
//! on thread timing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use indexmap::IndexMap;

use crate::config::{Environment, GraphConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::graph::Graph;
use crate::kind::{self, Kind, ProjectRoot};
use crate::optimize::ids::TaskIds;
use crate::optimize::lookup::{IndexLookup, NoIndex};
use crate::optimize::{self, OptimizeInputs, Optimized, morph};
use crate::params::{LoadOptions, Parameters};
use crate::python::JsonNode;
use crate::registry::{Registry, TargetContext, VerifyContext, VerifyPhase};
use crate::task::Task;
use crate::value::{Map, Value};
use crate::verify;

/// How far to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    FullTaskSet,
    FullTaskGraph,
    TargetTaskSet,
    TargetTaskGraph,
    /// The target graph optimized: keyed by task id.
    Optimized,
    /// The optimized graph with the morphs applied.
    Morphed,
}

/// Where the project is and which parameters to use.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The project root (`--root`), as given: it appears in outputs.
    /// Relative roots are relative to `working_dir`.
    pub root: String,
    /// The directory generation runs in: the reference's working directory,
    /// whose checkout is the repository.
    pub working_dir: PathBuf,
    /// The parameters file; None for defaults only.
    pub params_file: Option<PathBuf>,
    /// Parameter overrides (whole top-level keys).
    pub overrides: Map,
    /// Strict parameter checking: no defaults, no unknown keys.
    pub strict: bool,
    /// Run the graph-wide checks (on by default).
    pub verify: bool,
    /// The environment variables generation reads (default: this
    /// process's).
    pub environment: Option<Environment>,
    /// Where the `run-task` script is, overriding `GRAPHGEN_RUN_TASK_DIR`
    /// and `config.yml`.
    pub run_task_dir: Option<PathBuf>,
    /// What the optimizer asks about existing tasks (default: nothing is
    /// indexed).
    pub index: Arc<dyn IndexLookup>,
    /// How task ids are made.
    pub task_ids: TaskIds,
    /// The decision task's id, which `<decision>` references resolve to:
    /// `$TASK_ID` in a decision task, `DECISION-TASK` on the command line.
    pub decision_task_id: Option<String>,
    /// The time deadlines are counted from (default: now).
    pub now: Option<DateTime<Utc>>,
    /// When the tasks of `existing_tasks` expire, where known (see
    /// [`crate::optimize::previous`]).
    pub existing_expires: BTreeMap<String, String>,
    /// Tasks reused from earlier task groups (label → task id), merged
    /// under the parameters' own `existing_tasks`, which win.
    pub reused_tasks: IndexMap<String, String>,
    /// Record which filter dropped each task (for `explain`); off by
    /// default because it costs a map entry per dropped task.
    pub trace_targets: bool,
}

impl GenerateOptions {
    pub fn new(root: impl Into<String>, params_file: Option<PathBuf>) -> GenerateOptions {
        GenerateOptions {
            root: root.into(),
            working_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            params_file,
            overrides: Map::default(),
            strict: false,
            verify: true,
            environment: None,
            run_task_dir: None,
            index: Arc::new(NoIndex),
            task_ids: TaskIds::Random,
            decision_task_id: None,
            now: None,
            existing_expires: BTreeMap::new(),
            reused_tasks: IndexMap::new(),
            trace_targets: false,
        }
    }
}

/// Tasks without edges, keyed by label in load order.
#[derive(Debug, Clone, Default)]
pub struct TaskSet {
    pub tasks: IndexMap<String, Arc<Task>>,
}

/// Tasks with the dependency edges among them.
#[derive(Debug, Clone)]
pub struct TaskGraph {
    pub tasks: IndexMap<String, Arc<Task>>,
    pub graph: Graph,
}

impl TaskSet {
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The JSON form (`taskgraph tasks/target --json`): every task with
    /// empty dependencies, keyed by label.
    pub fn to_json(&self) -> Value {
        let empty = IndexMap::new();
        Value::Map(
            self.tasks
                .iter()
                .map(|(label, task)| (label.clone(), task.to_json(&empty)))
                .collect(),
        )
    }

    /// [`TaskSet::to_json`], borrowing the tasks instead of copying them.
    pub fn json_node(&self) -> JsonNode<'_> {
        JsonNode::Object(
            self.tasks
                .iter()
                .map(|(label, task)| (label.as_str(), task.json_node(&[])))
                .collect(),
        )
    }

    /// Sorted labels.
    pub fn labels(&self) -> Vec<&str> {
        let mut labels: Vec<&str> = self.tasks.keys().map(String::as_str).collect();
        labels.sort_unstable();
        labels
    }
}

impl TaskGraph {
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The JSON form (`taskgraph full/target-graph --json`): keyed by label,
    /// dependencies from the graph's edges.
    pub fn to_json(&self) -> Value {
        let mut out = Map::with_capacity(self.tasks.len());
        for (label, task) in &self.tasks {
            let dependencies = self.graph.named_links(label);
            out.insert(label.clone(), task.to_json(&dependencies));
        }
        Value::Map(out)
    }

    /// [`TaskGraph::to_json`], borrowing the tasks instead of copying them.
    pub fn json_node(&self) -> JsonNode<'_> {
        JsonNode::Object(
            self.tasks
                .iter()
                .map(|(label, task)| {
                    let dependencies: Vec<(&str, &str)> = self.graph.dependencies(label).collect();
                    (label.as_str(), task.json_node(&dependencies))
                })
                .collect(),
        )
    }

    /// Sorted labels.
    pub fn labels(&self) -> Vec<&str> {
        let mut labels: Vec<&str> = self.tasks.keys().map(String::as_str).collect();
        labels.sort_unstable();
        labels
    }
}

/// The results of a generation, up to the requested phase.
#[derive(Debug)]
pub struct Generation {
    pub graph_config: GraphConfig,
    pub parameters: Parameters,
    /// Kind names in load order.
    pub kinds: Vec<String>,
    pub full_task_set: TaskSet,
    pub full_task_graph: Option<TaskGraph>,
    pub target_task_set: Option<TaskSet>,
    pub target_task_graph: Option<TaskGraph>,
    /// The optimized graph (keyed by task id) and the decisions behind it.
    pub optimized: Option<Optimized>,
    /// The morphed graph, and every label's task id after the morphs.
    pub morphed: Option<TaskGraph>,
    pub label_to_taskid: Option<BTreeMap<String, String>>,
    /// Which filter dropped each task, when
    /// [`GenerateOptions::trace_targets`] asked for it.
    pub target_trace: Option<TargetTrace>,
    /// Wall time per phase, in order.
    pub timings: Vec<(&'static str, Duration)>,
}

impl Generation {
    /// The JSON `taskgraph <phase> --json` prints for a phase: an empty
    /// object when generation stopped before that phase.
    pub fn to_json(&self, phase: Phase) -> Value {
        let value = match phase {
            Phase::FullTaskSet => Some(self.full_task_set.to_json()),
            Phase::FullTaskGraph => self.full_task_graph.as_ref().map(TaskGraph::to_json),
            Phase::TargetTaskSet => self.target_task_set.as_ref().map(TaskSet::to_json),
            Phase::TargetTaskGraph => self.target_task_graph.as_ref().map(TaskGraph::to_json),
            Phase::Optimized => self.optimized.as_ref().map(|o| o.graph.to_json()),
            Phase::Morphed => self.morphed.as_ref().map(TaskGraph::to_json),
        };
        value.unwrap_or_else(|| Value::Map(Map::default()))
    }

    /// [`Generation::to_json`], borrowing the tasks instead of copying
    /// them: what to write when the output is large.
    pub fn json_node(&self, phase: Phase) -> JsonNode<'_> {
        let node = match phase {
            Phase::FullTaskSet => Some(self.full_task_set.json_node()),
            Phase::FullTaskGraph => self.full_task_graph.as_ref().map(TaskGraph::json_node),
            Phase::TargetTaskSet => self.target_task_set.as_ref().map(TaskSet::json_node),
            Phase::TargetTaskGraph => self.target_task_graph.as_ref().map(TaskGraph::json_node),
            Phase::Optimized => self.optimized.as_ref().map(|o| o.graph.json_node()),
            Phase::Morphed => self.morphed.as_ref().map(TaskGraph::json_node),
        };
        node.unwrap_or(JsonNode::Object(Vec::new()))
    }
}

/// Runs generation up to `until`.
pub fn generate(
    registry: &Registry,
    options: &GenerateOptions,
    until: Phase,
) -> Result<Generation> {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, Duration)>| {
        timings.push((name, clock.elapsed()));
        clock = Instant::now();
    };

    let root = ProjectRoot::new(&options.root, &options.working_dir);
    let mut graph_config = GraphConfig::load(&root.dir, &options.working_dir)?;
    if let Some(environment) = &options.environment {
        graph_config.set_environment(environment.clone());
    }
    if let Some(dir) = &options.run_task_dir {
        graph_config.set_run_task_dir(Some(dir.clone()));
    }
    // The project's own parts, when config.yml names a hook for them.
    let project_registry = registry.for_project(&graph_config)?;
    let registry: &Registry = &project_registry;
    // The kind files are read while the parameters load: their git calls
    // (`files_changed`) leave a core free. Which kinds are wanted is known
    // only from the parameters; nearly always it is all of them, and the
    // files read ahead are used. Otherwise they are read again, and what
    // reading them ahead found (errors included) is dropped.
    let (parameters, all_kinds) = rayon::join(
        || load_parameters(registry, options, &graph_config),
        || discover_kinds(registry, &root, &graph_config, &[]),
    );
    let mut parameters = parameters?;
    parameters.default_empty_filters();
    parameters.add_reused_tasks(&options.reused_tasks);
    if until >= Phase::Optimized {
        // The optimizer's strategies may read `files_changed`.
        parameters.read_deferred_in_background();
    }
    lap("config and parameters", &mut timings);

    let target_kinds = target_kinds(&parameters);
    let kinds = if target_kinds.is_empty() {
        all_kinds?
    } else {
        discover_kinds(registry, &root, &graph_config, &target_kinds)?
    };
    let (kinds, full_task_set) =
        load_all_kinds(registry, kinds, &target_kinds, &graph_config, &parameters)?;
    if options.verify {
        project_checks(
            registry,
            VerifyPhase::FullTaskSet,
            &full_task_set.tasks,
            &parameters,
            &graph_config,
        )?;
    }
    lap("kinds and transforms", &mut timings);

    let mut generation = Generation {
        graph_config,
        parameters,
        kinds,
        full_task_set,
        full_task_graph: None,
        target_task_set: None,
        target_task_graph: None,
        optimized: None,
        morphed: None,
        label_to_taskid: None,
        target_trace: None,
        timings: Vec::new(),
    };
    if until == Phase::FullTaskSet {
        generation.timings = timings;
        return Ok(generation);
    }

    let full = full_task_graph(&generation.full_task_set)?;
    if options.verify {
        verify::full_task_graph(&full, &generation.graph_config)?;
        project_checks(
            registry,
            VerifyPhase::FullTaskGraph,
            &full.tasks,
            &generation.parameters,
            &generation.graph_config,
        )?;
    }
    lap("full task graph", &mut timings);
    generation.full_task_graph = Some(full);

    if until >= Phase::TargetTaskSet {
        let full = generation.full_task_graph.as_ref().expect("computed above");
        let mut trace = options.trace_targets.then(TargetTrace::default);
        let target_set = target_task_set(
            registry,
            full,
            &generation.parameters,
            &generation.graph_config,
            trace.as_mut(),
        )?;
        generation.target_trace = trace;
        lap("target task set", &mut timings);
        if until >= Phase::TargetTaskGraph {
            let target_graph = target_task_graph(full, &target_set, &generation.parameters)?;
            if options.verify {
                project_checks(
                    registry,
                    VerifyPhase::TargetTaskGraph,
                    &target_graph.tasks,
                    &generation.parameters,
                    &generation.graph_config,
                )?;
            }
            lap("target task graph", &mut timings);
            generation.target_task_graph = Some(target_graph);
        }
        generation.target_task_set = Some(target_set);
    }

    if until >= Phase::Optimized {
        generation.parameters.read_deferred()?;
        let optimized = optimize_phase(registry, options, &generation)?;
        lap("optimization", &mut timings);
        if until >= Phase::Morphed {
            let mut label_to_taskid = optimized.label_to_taskid.clone();
            let morphed = morph::morph(
                optimized.graph.clone(),
                &mut label_to_taskid,
                &generation.parameters,
                &generation.graph_config,
                &options.task_ids,
            )?;
            lap("morphs", &mut timings);
            generation.morphed = Some(morphed);
            generation.label_to_taskid = Some(label_to_taskid);
        }
        generation.optimized = Some(optimized);
    }
    generation.timings = timings;
    Ok(generation)
}

/// The verifications a project registered for `phase`.
fn project_checks(
    registry: &Registry,
    phase: VerifyPhase,
    tasks: &IndexMap<String, Arc<Task>>,
    params: &Parameters,
    graph_config: &GraphConfig,
) -> Result<()> {
    registry.verify(
        phase,
        &VerifyContext {
            tasks,
            params,
            graph_config,
        },
    )
}

/// The optimize phase over the generated target graph.
fn optimize_phase(
    registry: &Registry,
    options: &GenerateOptions,
    generation: &Generation,
) -> Result<Optimized> {
    let target_set = generation.target_task_set.as_ref().expect("generated");
    let target = generation.target_task_graph.as_ref().expect("generated");
    let full = generation.full_task_graph.as_ref().expect("generated");
    let params = &generation.parameters;

    let mut requested: BTreeSet<String> = target_set.tasks.keys().cloned().collect();
    requested.extend(
        always_target_tasks(full, params)
            .into_iter()
            .map(str::to_owned),
    );
    let do_not_optimize =
        optimize::do_not_optimize(params, target_set.tasks.keys().map(String::as_str));
    let environment = generation.graph_config.environment();
    let strategies = registry.strategies_for(params, environment)?;
    let decision_task_id = options
        .decision_task_id
        .clone()
        .unwrap_or_else(|| "DECISION-TASK".to_owned());
    let root_url = environment.root_url().ok();
    let inputs = OptimizeInputs {
        requested: &requested,
        params,
        strategies: &strategies,
        lookup: options.index.as_ref(),
        decision_task_id: &decision_task_id,
        root_url: root_url.as_deref(),
        proxy_url: environment.proxy_url.as_deref(),
        now: options.now.unwrap_or_else(Utc::now),
        task_ids: &options.task_ids,
        existing_expires: &options.existing_expires,
    };
    let optimized = optimize::optimize(target, &do_not_optimize, &inputs)?;
    if options.verify {
        verify::optimized_task_graph(&optimized.graph)?;
    }
    Ok(optimized)
}

fn load_parameters(
    registry: &Registry,
    options: &GenerateOptions,
    graph_config: &GraphConfig,
) -> Result<Parameters> {
    let load_options = LoadOptions {
        strict: options.strict,
        overrides: options.overrides.clone(),
        repo_root: graph_config.vcs_root().to_owned(),
    };
    // A relative parameters path is relative to the working directory, like
    // the project root.
    let params_file = options
        .params_file
        .as_ref()
        .map(|path| options.working_dir.join(path));
    Parameters::load(params_file.as_deref(), &load_options, registry.parameters())
}

/// The `target-kinds` parameter, sorted.
fn target_kinds(parameters: &Parameters) -> Vec<String> {
    let mut kinds: Vec<String> = parameters
        .get("target-kinds")
        .and_then(Value::as_str_list)
        .map(|l| l.into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
    kinds.sort();
    kinds
}

/// Reads the kind files of `target_kinds` and the kinds they depend on
/// (all kinds when empty).
fn discover_kinds(
    registry: &Registry,
    root: &ProjectRoot,
    graph_config: &GraphConfig,
    target_kinds: &[String],
) -> Result<IndexMap<String, Kind>> {
    let kinds = kind::discover(root, target_kinds)?;
    // Listing the committed files (for resource hashes) takes a git call,
    // made in the background from here on, and only when a kind may hash
    // files: the process it starts slows everything around it.
    if kinds
        .values()
        .any(|kind| kind.reads_repository_files(registry))
    {
        graph_config.prefetch_tracked_files();
    }
    Ok(kinds)
}

fn load_all_kinds(
    registry: &Registry,
    kinds: IndexMap<String, Kind>,
    target_kinds: &[String],
    graph_config: &GraphConfig,
    parameters: &Parameters,
) -> Result<(Vec<String>, TaskSet)> {
    let waves = kind::kind_waves(&kinds, target_kinds)?;

    let load_order: Vec<String> = waves.into_iter().flatten().collect();
    let loaded = load_kinds_as_ready(
        &kinds,
        &load_order,
        |kind| kind::start_tasks(kind, parameters, graph_config, registry),
        |kind, started, deps_tasks| {
            kind::finish_tasks(
                kind,
                started,
                parameters,
                graph_config,
                registry,
                deps_tasks,
            )
        },
    )?;
    let tasks_by_kind: IndexMap<&String, Vec<Arc<Task>>> = load_order.iter().zip(loaded).collect();

    let mut tasks = IndexMap::new();
    for name in &load_order {
        for task in &tasks_by_kind[&name] {
            if tasks.insert(task.label.clone(), Arc::clone(task)).is_some() {
                return Err(Error::new(ErrorKind::DuplicateLabel {
                    label: task.label.clone(),
                })
                .in_kind(name)
                .in_task(&task.label)
                .with_file(&kinds[name].file));
            }
        }
    }
    // The kinds' documents are a large tree that nothing reads any more;
    // freeing it takes a while, which a pool thread can spend while this
    // one builds the graph.
    rayon::spawn(move || drop(kinds));
    Ok((load_order, TaskSet { tasks }))
}

/// What became of one kind.
enum KindOutcome {
    Loaded(Vec<Arc<Task>>),
    Failed(Error),
    /// Not loaded: a kind it depends on failed (and is reported instead).
    Skipped,
}

/// What a kind's start leaves for its finish.
trait Started: Send {
    /// Whether the finish reads the tasks of the kinds this one depends
    /// on, and so must wait for them.
    fn needs_dependencies(&self) -> bool;
}

impl Started for kind::StartedKind {
    fn needs_dependencies(&self) -> bool {
        kind::StartedKind::needs_dependencies(self)
    }
}

/// Loads every kind of `load_order` (which lists each kind after its
/// dependencies) in two stages. `start` runs for every kind at once: the
/// loader and whatever transforms do not need the tasks of the kinds it
/// depends on. `finish` runs for a kind once its own start and all the
/// kinds it depends on are done, and gets their tasks: a slow kind holds
/// up only its dependents, and only where they need its tasks. A kind
/// whose finish needs no such tasks finishes right after its start.
///
/// Each kind sees its dependencies' tasks in load order, so the result does
/// not depend on timing; nor does the error: the failure of the kind
/// first in load order, as loading the kinds one after another would
/// report it.
fn load_kinds_as_ready<S, A, B>(
    kinds: &IndexMap<String, Kind>,
    load_order: &[String],
    start: A,
    finish: B,
) -> Result<Vec<Vec<Arc<Task>>>>
where
    S: Started,
    A: Fn(&Kind) -> Result<S> + Sync,
    B: Fn(&Kind, S, &IndexMap<String, Arc<Task>>) -> Result<Vec<Task>> + Sync,
{
    let position: HashMap<&str, usize> = load_order
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    let mut dependencies: Vec<Vec<usize>> = Vec::with_capacity(load_order.len());
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); load_order.len()];
    for (i, name) in load_order.iter().enumerate() {
        let mut own: Vec<usize> = kinds[name]
            .dependencies()?
            .iter()
            .filter_map(|dep| position.get(dep.as_str()).copied())
            .collect();
        own.sort_unstable();
        own.dedup();
        for &dep in &own {
            dependents[dep].push(i);
        }
        dependencies.push(own);
    }

    let outcomes: Vec<OnceLock<KindOutcome>> =
        (0..load_order.len()).map(|_| OnceLock::new()).collect();
    let started: Vec<Mutex<Option<Result<S>>>> =
        (0..load_order.len()).map(|_| Mutex::new(None)).collect();
    // What each kind still waits for: its dependencies and its own start.
    let waiting: Vec<AtomicUsize> = dependencies
        .iter()
        .map(|deps| AtomicUsize::new(deps.len() + 1))
        .collect();
    let first_failure = AtomicUsize::new(usize::MAX);
    let run = Runner {
        kinds,
        load_order,
        dependencies: &dependencies,
        dependents: &dependents,
        outcomes: &outcomes,
        started: &started,
        waiting: &waiting,
        first_failure: &first_failure,
        start: &start,
        finish: &finish,
    };
    rayon::scope(|scope| {
        for i in 0..load_order.len() {
            scope.spawn(move |scope| run.start(scope, i));
        }
    });

    let mut loaded = Vec::with_capacity(load_order.len());
    for outcome in outcomes {
        match outcome.into_inner() {
            Some(KindOutcome::Loaded(tasks)) => loaded.push(tasks),
            Some(KindOutcome::Failed(error)) => return Err(error),
            Some(KindOutcome::Skipped) | None => {
                return Err(Error::transform(
                    "a kind was neither loaded nor failed (a kind-dependency cycle?)",
                ));
            }
        }
    }
    Ok(loaded)
}

/// The shared state of [`load_kinds_as_ready`]'s tasks.
struct Runner<'a, S, A, B> {
    kinds: &'a IndexMap<String, Kind>,
    load_order: &'a [String],
    dependencies: &'a [Vec<usize>],
    dependents: &'a [Vec<usize>],
    outcomes: &'a [OnceLock<KindOutcome>],
    /// What each kind's start left for its finish (None: not started).
    started: &'a [Mutex<Option<Result<S>>>],
    waiting: &'a [AtomicUsize],
    /// The load-order position of the first kind known to have failed:
    /// kinds after it need not be loaded, kinds before it still are (one
    /// of them may fail too, and would be the one to report).
    first_failure: &'a AtomicUsize,
    start: &'a A,
    finish: &'a B,
}

impl<S, A, B> Clone for Runner<'_, S, A, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, A, B> Copy for Runner<'_, S, A, B> {}

impl<'a, S, A, B> Runner<'a, S, A, B>
where
    S: Started,
    A: Fn(&Kind) -> Result<S> + Sync,
    B: Fn(&Kind, S, &IndexMap<String, Arc<Task>>) -> Result<Vec<Task>> + Sync,
{
    /// Starts kind `i`, then finishes it if nothing else is left to wait
    /// for.
    fn start<'s>(self, scope: &rayon::Scope<'s>, i: usize)
    where
        'a: 's,
    {
        let started = if self.first_failure.load(Ordering::Acquire) < i {
            None
        } else {
            let started = (self.start)(&self.kinds[&self.load_order[i]]);
            if started.is_err() {
                self.first_failure.fetch_min(i, Ordering::AcqRel);
            }
            Some(started)
        };
        let independent = matches!(&started, Some(Ok(s)) if !s.needs_dependencies());
        *lock(&self.started[i]) = started;
        if independent {
            // Its own start is never counted off, so the kinds it depends
            // on, finishing later, do not finish it a second time.
            self.finish(scope, i);
        } else if self.waiting[i].fetch_sub(1, Ordering::AcqRel) == 1 {
            self.finish(scope, i);
        }
    }

    /// Finishes kind `i`, whose start and dependencies are all done, then
    /// finishes the dependents this leaves with nothing to wait for.
    fn finish<'s>(self, scope: &rayon::Scope<'s>, i: usize)
    where
        'a: 's,
    {
        let outcome = match lock(&self.started[i]).take() {
            None => KindOutcome::Skipped,
            Some(Err(error)) => KindOutcome::Failed(error),
            Some(Ok(started)) => self.finish_started(i, started),
        };
        let _ = self.outcomes[i].set(outcome);

        for &dependent in &self.dependents[i] {
            if self.waiting[dependent].fetch_sub(1, Ordering::AcqRel) == 1 {
                scope.spawn(move |scope| self.finish(scope, dependent));
            }
        }
    }

    fn finish_started(&self, i: usize, started: S) -> KindOutcome {
        if self.first_failure.load(Ordering::Acquire) < i {
            return KindOutcome::Skipped;
        }
        let deps_tasks = if started.needs_dependencies() {
            match self.dependencies_tasks(i) {
                Some(tasks) => tasks,
                None => return KindOutcome::Skipped,
            }
        } else {
            IndexMap::new()
        };
        let kind = &self.kinds[&self.load_order[i]];
        match (self.finish)(kind, started, &deps_tasks) {
            Ok(tasks) => KindOutcome::Loaded(tasks.into_iter().map(Arc::new).collect()),
            Err(error) => {
                self.first_failure.fetch_min(i, Ordering::AcqRel);
                KindOutcome::Failed(error)
            }
        }
    }

    /// The tasks of kind `i`'s direct dependencies, in load order; None
    /// when one of them did not load.
    fn dependencies_tasks(&self, i: usize) -> Option<IndexMap<String, Arc<Task>>> {
        let mut out = IndexMap::new();
        for &dep in &self.dependencies[i] {
            let Some(KindOutcome::Loaded(tasks)) = self.outcomes[dep].get() else {
                return None;
            };
            for task in tasks {
                out.insert(task.label.clone(), Arc::clone(task));
            }
        }
        Some(out)
    }
}

/// A lock that a panic elsewhere does not make unusable: what it guards is
/// only ever replaced whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Adds the dependency edges to the full task set.
pub fn full_task_graph(set: &TaskSet) -> Result<TaskGraph> {
    let edges = set.tasks.values().flat_map(|task| {
        task.dependencies
            .iter()
            .map(|(name, dep)| (task.label.as_str(), dep.as_str(), name.as_str()))
    });
    let graph = Graph::new(set.tasks.keys().map(String::as_str), edges).map_err(|e| {
        // When a single task has unknown dependencies, say which kind made it.
        let ErrorKind::UnknownDependencies { missing } = e.kind() else {
            return e;
        };
        let only_task = match missing.as_slice() {
            [(label, _), rest @ ..] if rest.iter().all(|(other, _)| other == label) => {
                set.tasks.get(label).cloned()
            }
            _ => None,
        };
        let e = e.at_field("dependencies");
        match only_task {
            Some(task) => e.in_kind(&task.kind).in_task(&task.label),
            None => e,
        }
    })?;
    Ok(TaskGraph {
        tasks: set.tasks.clone(),
        graph,
    })
}

/// The filters a target task set was chosen with, and which one dropped
/// each task of the full graph that is not in it.
#[derive(Debug, Clone, Default)]
pub struct TargetTrace {
    /// Filter names, in the order they ran.
    pub filters: Vec<String>,
    /// Label → index into `filters`.
    pub dropped_by: HashMap<String, usize>,
}

impl TargetTrace {
    /// The filter that dropped `label`, if one did.
    pub fn dropped_by(&self, label: &str) -> Option<&str> {
        let index = *self.dropped_by.get(label)?;
        self.filters.get(index).map(String::as_str)
    }
}

/// Applies the parameters' filters, in order, to the full task graph,
/// recording in `trace` (when given) which filter dropped each task.
pub fn target_task_set(
    registry: &Registry,
    full: &TaskGraph,
    parameters: &Parameters,
    graph_config: &GraphConfig,
    mut trace: Option<&mut TargetTrace>,
) -> Result<TaskSet> {
    let mut filters: Vec<String> = parameters
        .get("filters")
        .and_then(Value::as_str_list)
        .map(|l| l.into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
    if filters.is_empty() {
        filters.push("target_tasks_method".to_owned());
    }

    let mut current = full.tasks.clone();
    for name in &filters {
        let filter = registry.filter(name)?;
        let ctx = TargetContext {
            tasks: &current,
            params: parameters,
            graph_config,
            registry,
        };
        let labels = filter(&ctx)?;
        let mut next = IndexMap::with_capacity(labels.len());
        for label in labels {
            let task = full.tasks.get(&label).ok_or_else(|| {
                Error::new(ErrorKind::Verification(format!(
                    "filter `{name}` chose `{label}`, which is not a task"
                )))
            })?;
            next.insert(label, Arc::clone(task));
        }
        if let Some(trace) = trace.as_deref_mut() {
            let index = trace.filters.len();
            trace.filters.push(name.clone());
            for label in current.keys().filter(|l| !next.contains_key(*l)) {
                trace.dropped_by.insert(label.clone(), index);
            }
        }
        current = next;
    }
    Ok(TaskSet { tasks: current })
}

/// The closure of the target tasks and the `always_target` tasks.
pub fn target_task_graph(
    full: &TaskGraph,
    target: &TaskSet,
    parameters: &Parameters,
) -> Result<TaskGraph> {
    let mut requested: Vec<&str> = target.tasks.keys().map(String::as_str).collect();
    requested.extend(always_target_tasks(full, parameters));
    let graph = full.graph.transitive_closure(requested, false)?;
    let tasks = graph
        .labels()
        .map(|label| ((*label).to_owned(), Arc::clone(&full.tasks[label])))
        .collect();
    Ok(TaskGraph { tasks, graph })
}

/// Labels of tasks with a truthy `always_target` attribute, when the
/// `enable_always_target` parameter allows them (true, or a list of kinds).
pub fn always_target_tasks<'a>(full: &'a TaskGraph, parameters: &Parameters) -> Vec<&'a str> {
    let enabled = parameters
        .get("enable_always_target")
        .cloned()
        .unwrap_or(Value::Bool(true));
    if !enabled.is_truthy() {
        return Vec::new();
    }
    full.tasks
        .values()
        .filter(|task| {
            task.attributes
                .get("always_target")
                .is_some_and(Value::is_truthy)
        })
        .filter(|task| match &enabled {
            Value::List(kinds) => kinds.contains(&Value::from(task.kind.as_str())),
            _ => true,
        })
        .map(|task| task.label.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    const CONFIG: &str = "trust-domain: demo\ntask-priority: low\nworkers: {aliases: {}}\n\
                          taskgraph: {repositories: {demo: {name: Demo}}}\n";
    const PARAMS: &str = "build_date: 1\npushdate: 1\nmoz_build_date: '20240101000000'\n\
                          project: demo\nhead_repository: https://github.com/demo/demo\n\
                          head_rev: abc\nhead_ref: main\n";

    /// A kind of succeed tasks, each `name: dependencies`.
    fn kind(deps: &str, tasks: &[(&str, &str)]) -> String {
        let mut text = format!(
            "loader: taskgraph.loader.transform:loader\ntransforms: [taskgraph.transforms.task]\n\
             kind-dependencies: [{deps}]\ntask-defaults: {{description: d, worker-type: succeed, run-on-projects: [all]}}\ntasks:\n"
        );
        for (name, dependencies) in tasks {
            text.push_str(&format!("  {name}: {{dependencies: {{{dependencies}}}}}\n"));
        }
        text
    }

    fn project(kinds: &[(&str, String)], params: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "taskcluster/config.yml", CONFIG);
        for (name, text) in kinds {
            write(
                dir.path(),
                &format!("taskcluster/kinds/{name}/kind.yml"),
                text,
            );
        }
        write(dir.path(), "params.yml", &format!("{PARAMS}{params}"));
        dir
    }

    fn run(dir: &tempfile::TempDir, until: Phase) -> Result<Generation> {
        let mut options = GenerateOptions::new("taskcluster", Some("params.yml".into()));
        options.working_dir = dir.path().to_owned();
        generate(&Registry::with_builtins(), &options, until)
    }

    /// Kinds `a` and `b` (independent), `c` after `a`, `d` after `b` and
    /// `c`, in their load order.
    fn diamond() -> (tempfile::TempDir, IndexMap<String, Kind>, Vec<String>) {
        let kinds = [
            ("a", kind("", &[("x", "")])),
            ("b", kind("", &[("x", "")])),
            ("c", kind("a", &[("x", "")])),
            ("d", kind("b, c", &[("x", "")])),
        ];
        let dir = project(&kinds, "");
        let root = ProjectRoot::new("taskcluster", dir.path());
        let kinds = kind::discover(&root, &[]).unwrap();
        let order: Vec<String> = kind::kind_waves(&kinds, &[])
            .unwrap()
            .into_iter()
            .flatten()
            .collect();
        (dir, kinds, order)
    }

    /// The tests' kinds always finish with their dependencies' tasks.
    impl Started for () {
        fn needs_dependencies(&self) -> bool {
            true
        }
    }

    #[test]
    fn kinds_see_their_dependencies_tasks_in_load_order() {
        let (_dir, kinds, order) = diamond();
        let seen = std::sync::Mutex::new(BTreeMap::new());
        let loaded = load_kinds_as_ready(
            &kinds,
            &order,
            |_| Ok(()),
            |kind, (), deps| {
                let labels: Vec<String> = deps.keys().cloned().collect();
                seen.lock().unwrap().insert(kind.name.clone(), labels);
                Ok(vec![Task::new(&kind.name, format!("{}-x", kind.name))])
            },
        )
        .unwrap();

        assert_eq!(loaded.len(), 4);
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen["a"], Vec::<String>::new());
        assert_eq!(seen["c"], ["a-x"]);
        let b_before_c = order.iter().position(|k| k == "b") < order.iter().position(|k| k == "c");
        let d_expected = if b_before_c {
            ["b-x", "c-x"]
        } else {
            ["c-x", "b-x"]
        };
        assert_eq!(seen["d"], d_expected);
    }

    #[test]
    fn the_failure_reported_is_the_first_in_load_order() {
        let (_dir, kinds, order) = diamond();
        let started = std::sync::Mutex::new(Vec::new());
        // `b` fails at once; `a`, earlier in load order, fails later, so a
        // scheduler reporting the first failure in time would name `b`.
        let err = load_kinds_as_ready(
            &kinds,
            &order,
            |_| Ok(()),
            |kind, (), _| {
                started.lock().unwrap().push(kind.name.clone());
                match kind.name.as_str() {
                    "a" => {
                        std::thread::sleep(Duration::from_millis(50));
                        Err(Error::transform("a failed"))
                    }
                    "b" => Err(Error::transform("b failed")),
                    _ => Ok(Vec::new()),
                }
            },
        )
        .unwrap_err();

        assert_eq!(order[..2], ["a", "b"]);
        assert!(err.to_string().contains("a failed"), "{err}");
        let started = started.into_inner().unwrap();
        assert!(
            !started.iter().any(|k| k == "c" || k == "d"),
            "dependents of failed kinds ran: {started:?}"
        );
    }

    #[test]
    fn kinds_start_before_their_dependencies_finish() {
        let (_dir, kinds, order) = diamond();
        // `a` finishes only once `c`, which depends on it, has started; on
        // two threads that can only happen if starts do not wait. (After
        // a few seconds `a` gives up, and the test fails instead of
        // hanging.)
        let c_started = (std::sync::Mutex::new(false), std::sync::Condvar::new());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let a_saw_c_start = std::sync::atomic::AtomicBool::new(false);
        let loaded = pool.install(|| {
            load_kinds_as_ready(
                &kinds,
                &order,
                |kind| {
                    if kind.name == "c" {
                        *c_started.0.lock().unwrap() = true;
                        c_started.1.notify_all();
                    }
                    Ok(())
                },
                |kind, (), _| {
                    if kind.name == "a" {
                        let guard = c_started.0.lock().unwrap();
                        let (guard, _) = c_started
                            .1
                            .wait_timeout_while(guard, Duration::from_secs(5), |started| !*started)
                            .unwrap();
                        a_saw_c_start.store(*guard, Ordering::SeqCst);
                    }
                    Ok(vec![Task::new(&kind.name, format!("{}-x", kind.name))])
                },
            )
        });
        assert_eq!(loaded.unwrap().len(), 4);
        assert!(
            a_saw_c_start.load(Ordering::SeqCst),
            "`c` started only after `a` finished"
        );
    }

    #[test]
    fn a_duplicate_label_names_the_second_kind_and_its_file() {
        let mut second = kind("", &[("y", "")]);
        second = second.replace("  y: {", "  y: {label: first-x, ");
        let dir = project(&[("first", kind("", &[("x", "")])), ("second", second)], "");
        let err = run(&dir, Phase::FullTaskSet).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::DuplicateLabel { label } if label == "first-x"),
            "{err}"
        );
        assert_eq!(err.location().kind.as_deref(), Some("second"));
        assert_eq!(err.location().task.as_deref(), Some("first-x"));
        assert!(
            err.location()
                .file
                .as_ref()
                .is_some_and(|f| f.ends_with("kinds/second/kind.yml")),
            "{err}"
        );
    }

    #[test]
    fn unknown_dependencies_of_one_task_name_its_kind() {
        let tasks = [("x", "a: gone-1, b: gone-2"), ("y", "x: lone-x")];
        let dir = project(&[("lone", kind("", &tasks))], "");
        let err = run(&dir, Phase::FullTaskGraph).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::UnknownDependencies { missing } if missing.len() == 2),
            "{err}"
        );
        assert_eq!(err.location().kind.as_deref(), Some("lone"));
        assert_eq!(err.location().task.as_deref(), Some("lone-x"));
        assert_eq!(err.location().field.as_deref(), Some("dependencies"));
    }

    #[test]
    fn a_task_cycle_lists_its_labels() {
        let tasks = [("a", "n: c-b"), ("b", "n: c-a"), ("c", "")];
        let dir = project(&[("c", kind("", &tasks))], "");
        let err = run(&dir, Phase::FullTaskGraph).unwrap_err();
        match err.kind() {
            ErrorKind::Cycle { labels } => assert_eq!(labels.len(), 3, "{err}"),
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("c-a") && err.to_string().contains("c-b"));
    }

    #[test]
    fn empty_filters_become_the_default_filter_before_kinds_load() {
        let dir = project(&[("k", kind("", &[("x", "")]))], "filters: []\n");
        let generation = run(&dir, Phase::TargetTaskSet).unwrap();
        assert_eq!(
            generation.parameters.get("filters"),
            Some(&Value::str_list(["target_tasks_method"]))
        );
        assert_eq!(
            generation.target_task_set.unwrap().labels(),
            ["k-x".to_owned()]
        );
    }

    #[test]
    fn always_target_follows_the_parameter() {
        // (run-on-projects lists add to the defaults' `[all]`, so `b` is
        // made untargeted with a project that never matches.)
        let text = kind("", &[("a", ""), ("b", "a: k-a")]).replace(
            "  b: {",
            "  b: {always-target: true, run-on-projects: {by-build-platform: {x: [], default: [nowhere]}}, ",
        );
        let dir = project(
            &[
                ("k", text.clone()),
                ("other", text.replace("k-a", "other-a")),
            ],
            "",
        );
        let target_graph = |dir: &tempfile::TempDir| {
            let generation = run(dir, Phase::TargetTaskGraph).unwrap();
            let mut labels: Vec<String> = generation
                .target_task_graph
                .unwrap()
                .labels()
                .into_iter()
                .map(str::to_owned)
                .collect();
            labels.sort();
            labels
        };
        assert_eq!(target_graph(&dir), ["k-a", "k-b", "other-a", "other-b"]);
        write(
            dir.path(),
            "params.yml",
            &format!("{PARAMS}enable_always_target: [other]\n"),
        );
        assert_eq!(target_graph(&dir), ["k-a", "other-a", "other-b"]);
        write(
            dir.path(),
            "params.yml",
            &format!("{PARAMS}enable_always_target: false\n"),
        );
        assert_eq!(target_graph(&dir), ["k-a", "other-a"]);
    }
}
