//! Everything looked up by name: transforms, loaders, target-task methods,
//! filters, `run.using` implementations, worker payload builders, index
//! builders and the parameter schema.
//!
//! Names follow the reference's Python spellings so that an unmodified
//! kind.yml loads: a transform is registered as
//! `taskgraph.transforms.task_context:transforms`, and a kind may name it
//! with or without the `:transforms` suffix. Other crates (the translations
//! pipeline, or a tool of your own) register their parts next to the
//! built-in ones.

use foldhash::{HashMap, HashSet};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::config::GraphConfig;
use crate::error::{Error, ErrorKind, Result, closest_names};
use crate::kind::Loader;
use crate::optimize::strategies::Strategy;
use crate::params::{ParameterSchema, Parameters};
use crate::schema::Schema;
use crate::task::Task;
use crate::transform::{TransformConfig, TransformRef};
use crate::transforms::fetch::FetchBuilder;
use crate::value::Map;
use crate::value::Value;

/// What a target-task method or filter sees.
#[derive(Debug)]
pub struct TargetContext<'a> {
    /// The tasks still in the running: all tasks for the first filter.
    pub tasks: &'a IndexMap<String, Arc<Task>>,
    pub params: &'a Parameters,
    pub graph_config: &'a GraphConfig,
    pub registry: &'a Registry,
}

/// Chooses target tasks: returns their labels.
pub type TargetFn = Arc<dyn Fn(&TargetContext<'_>) -> Result<Vec<String>> + Send + Sync>;

/// The state a `run.using` implementation works on: the task's `run`
/// section and the task description being built (whose `worker` is the
/// task's worker, shared as in the reference).
#[derive(Debug)]
pub struct RunContext {
    pub run: Map,
    pub desc: Map,
}

/// Sets up a task description for one `run.using` on one worker.
pub type RunUsingFn = fn(&TransformConfig<'_>, &mut RunContext) -> Result<()>;

/// Strategies by name, as an override set holds them.
pub type StrategySet = Vec<(String, Arc<dyn Strategy>)>;

/// A registered `run.using` implementation.
#[derive(Clone, Debug)]
pub struct RunUsing {
    pub schema: Option<Arc<Schema>>,
    pub defaults: Map,
    pub build: RunUsingFn,
}

/// Builds `task_def.payload` (and adjusts scopes) for a worker
/// implementation, from the task description.
pub type PayloadFn = fn(&TransformConfig<'_>, &mut Map, &mut Map) -> Result<()>;

/// A registered worker payload builder.
#[derive(Clone, Debug)]
pub struct PayloadBuilder {
    pub schema: Arc<Schema>,
    pub build: PayloadFn,
}

/// Adds index routes for an `index.type`.
pub type IndexFn = fn(&TransformConfig<'_>, &mut Map) -> Result<()>;

/// Registers a project's own parts (transforms, target methods, parameters,
/// payload builders, verifications) when its `config.yml` names the hook in
/// `taskgraph.register`, as the reference imports that Python function.
pub type ProjectHook = Arc<dyn Fn(&mut Registry) + Send + Sync>;

/// The phase a project's verification runs after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyPhase {
    FullTaskSet,
    FullTaskGraph,
    TargetTaskGraph,
}

/// What a project's verification sees: the tasks of the phase, in their
/// order, and the configuration they were made with.
#[derive(Debug)]
pub struct VerifyContext<'a> {
    pub tasks: &'a IndexMap<String, Arc<Task>>,
    pub params: &'a Parameters,
    pub graph_config: &'a GraphConfig,
}

/// Refuses a graph: an error names what is wrong.
pub type VerifyFn = Arc<dyn Fn(&VerifyContext<'_>) -> Result<()> + Send + Sync>;

/// Name-keyed tables of everything generation can look up.
#[derive(Default, Clone)]
pub struct Registry {
    transforms: HashMap<String, Vec<TransformRef>>,
    loaders: HashMap<String, Arc<dyn Loader>>,
    target_methods: HashMap<String, TargetFn>,
    filters: HashMap<String, TargetFn>,
    /// By `run.using`, then by worker implementation.
    run_using: HashMap<String, HashMap<String, RunUsing>>,
    payload_builders: HashMap<String, PayloadBuilder>,
    index_builders: HashMap<String, IndexFn>,
    fetch_builders: HashMap<String, FetchBuilder>,
    strategies: BTreeMap<String, Arc<dyn Strategy>>,
    /// Named sets of strategies that replace registered ones, chosen by the
    /// `optimize_strategies` parameter or `$TASKGRAPH_OPTIMIZE_STRATEGIES`.
    strategy_overrides: HashMap<String, StrategySet>,
    parameters: ParameterSchema,
    project_hooks: BTreeMap<String, ProjectHook>,
    verifications: Vec<(VerifyPhase, String, VerifyFn)>,
    /// Transform sequences and `run.using` names that hash committed files
    /// of the repository (the resources of cached tasks).
    reading_repository_files: ReadsRepositoryFiles,
}

/// What reads the list of committed files: a kind naming one of these has
/// the list made in the background while other work goes on, and a kind
/// naming none does not pay for the `git` call.
#[derive(Debug, Clone, Default)]
struct ReadsRepositoryFiles {
    transforms: HashSet<String>,
    run_using: HashSet<String>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut transforms: Vec<&String> = self.transforms.keys().collect();
        transforms.sort();
        f.debug_struct("Registry")
            .field("transforms", &transforms)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry (no built-ins).
    pub fn empty() -> Registry {
        Registry::default()
    }

    /// A registry holding every built-in part.
    pub fn with_builtins() -> Registry {
        let mut registry = Registry::default();
        crate::transforms::register(&mut registry);
        crate::kind::register_loaders(&mut registry);
        crate::target::register(&mut registry);
        for (name, strategy) in crate::optimize::strategies::builtins() {
            registry.add_strategy(name, strategy);
        }
        registry
    }

    /// Notes that the transform sequence `name` hashes committed files of
    /// the repository.
    pub fn note_transforms_read_repository_files(&mut self, name: &str) {
        self.reading_repository_files
            .transforms
            .insert(normalize_transform_name(name));
    }

    /// Notes that `run.using: using` hashes committed files.
    pub fn note_run_using_reads_repository_files(&mut self, using: &str) {
        self.reading_repository_files
            .run_using
            .insert(using.to_owned());
    }

    /// Whether the transform sequence `name` hashes committed files.
    pub fn transforms_read_repository_files(&self, name: &str) -> bool {
        self.reading_repository_files
            .transforms
            .contains(&normalize_transform_name(name))
    }

    /// Whether `run.using: using` hashes committed files.
    pub fn run_using_reads_repository_files(&self, using: &str) -> bool {
        self.reading_repository_files.run_using.contains(using)
    }

    /// Registers a transform sequence under its Python name
    /// (`module:attribute`, or `module` for `module:transforms`).
    pub fn add_transforms(&mut self, name: &str, sequence: Vec<TransformRef>) {
        self.transforms
            .insert(normalize_transform_name(name), sequence);
    }

    /// The transform sequence a kind names.
    pub fn transforms(&self, name: &str) -> Result<&[TransformRef]> {
        let normalized = normalize_transform_name(name);
        self.transforms
            .get(&normalized)
            .map(Vec::as_slice)
            .ok_or_else(|| {
                let suggestions =
                    closest_names(&normalized, self.transforms.keys().map(String::as_str));
                Error::new(ErrorKind::UnknownTransform {
                    name: name.to_owned(),
                    suggestions,
                })
            })
    }

    pub fn add_loader(&mut self, name: &str, loader: Arc<dyn Loader>) {
        self.loaders.insert(name.to_owned(), loader);
    }

    pub fn loader(&self, name: &str) -> Result<&Arc<dyn Loader>> {
        self.loaders
            .get(name)
            .ok_or_else(|| unknown("loader", name, self.loaders.keys()))
    }

    pub fn add_target_method(&mut self, name: &str, method: TargetFn) {
        self.target_methods.insert(name.to_owned(), method);
    }

    pub fn target_method(&self, name: &str) -> Result<&TargetFn> {
        self.target_methods
            .get(name)
            .ok_or_else(|| unknown("target-tasks method", name, self.target_methods.keys()))
    }

    pub fn add_filter(&mut self, name: &str, filter: TargetFn) {
        self.filters.insert(name.to_owned(), filter);
    }

    pub fn filter(&self, name: &str) -> Result<&TargetFn> {
        self.filters
            .get(name)
            .ok_or_else(|| unknown("filter", name, self.filters.keys()))
    }

    /// Registers `build` for tasks with `run.using: using` on workers of
    /// `implementation`.
    pub fn add_run_using(&mut self, implementation: &str, using: &str, run_using: RunUsing) {
        self.run_using
            .entry(using.to_owned())
            .or_default()
            .insert(implementation.to_owned(), run_using);
    }

    pub fn run_using(&self, using: &str, implementation: &str) -> Result<&RunUsing> {
        let by_implementation = self.run_using.get(using);
        if let Some(found) = by_implementation.and_then(|m| m.get(implementation)) {
            return Ok(found);
        }
        let known_using = by_implementation.is_some();
        let message = if known_using {
            format!("no functions for run.using `{using}` on `{implementation}`")
        } else {
            format!("no functions for run.using `{using}`")
        };
        Err(Error::transform(message).at_field("run.using"))
    }

    pub fn add_payload_builder(&mut self, implementation: &str, builder: PayloadBuilder) {
        self.payload_builders
            .insert(implementation.to_owned(), builder);
    }

    pub fn payload_builder(&self, implementation: &str) -> Result<&PayloadBuilder> {
        self.payload_builders.get(implementation).ok_or_else(|| {
            unknown(
                "worker implementation",
                implementation,
                self.payload_builders.keys(),
            )
        })
    }

    pub fn add_index_builder(&mut self, index_type: &str, builder: IndexFn) {
        self.index_builders.insert(index_type.to_owned(), builder);
    }

    pub fn index_builder(&self, index_type: &str) -> Result<IndexFn> {
        self.index_builders
            .get(index_type)
            .copied()
            .ok_or_else(|| unknown("index type", index_type, self.index_builders.keys()))
    }

    /// Registers a fetch type (`fetch.type` in a fetch kind).
    pub fn add_fetch_builder(&mut self, fetch_type: &str, builder: FetchBuilder) {
        self.fetch_builders.insert(fetch_type.to_owned(), builder);
    }

    pub fn fetch_builder(&self, fetch_type: &str) -> Result<&FetchBuilder> {
        self.fetch_builders
            .get(fetch_type)
            .ok_or_else(|| unknown("fetch type", fetch_type, self.fetch_builders.keys()))
    }

    /// Registers an optimization strategy (the first key of a task's
    /// `optimization`).
    pub fn add_strategy(&mut self, name: &str, strategy: Arc<dyn Strategy>) {
        self.strategies.insert(name.to_owned(), strategy);
    }

    pub fn strategy(&self, name: &str) -> Result<&Arc<dyn Strategy>> {
        self.strategies
            .get(name)
            .ok_or_else(|| unknown("optimization strategy", name, self.strategies.keys()))
    }

    /// Registers a named set of strategies that replace the registered
    /// ones of the same names when `optimize_strategies` names the set.
    pub fn add_strategy_override(
        &mut self,
        name: &str,
        strategies: Vec<(String, Arc<dyn Strategy>)>,
    ) {
        self.strategy_overrides.insert(name.to_owned(), strategies);
    }

    /// The strategies for a generation: the registered ones, with the
    /// override set that `$TASKGRAPH_OPTIMIZE_STRATEGIES` (first) or the
    /// `optimize_strategies` parameter names.
    pub fn strategies_for(
        &self,
        params: &Parameters,
        _environment: &crate::config::Environment,
    ) -> Result<BTreeMap<String, Arc<dyn Strategy>>> {
        let mut strategies = self.strategies.clone();
        let chosen = std::env::var("TASKGRAPH_OPTIMIZE_STRATEGIES")
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| {
                params
                    .get("optimize_strategies")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        if let Some(name) = chosen {
            let set = self.strategy_overrides.get(&name).ok_or_else(|| {
                unknown(
                    "set of optimization strategies",
                    &name,
                    self.strategy_overrides.keys(),
                )
                .at_field("optimize_strategies")
            })?;
            for (strategy_name, strategy) in set {
                strategies.insert(strategy_name.clone(), Arc::clone(strategy));
            }
        }
        Ok(strategies)
    }

    /// Makes `hook` available to projects whose `config.yml` says
    /// `taskgraph: {register: NAME}` (`module:function`, the Python name).
    pub fn add_project_hook(&mut self, name: &str, hook: ProjectHook) {
        self.project_hooks.insert(name.to_owned(), hook);
    }

    /// This registry as a project sees it: with the hook its `config.yml`
    /// names applied to a copy, or as it is when it names none. A hook
    /// this registry lacks is an error naming the ones it has.
    pub fn for_project(&self, graph_config: &GraphConfig) -> Result<Cow<'_, Registry>> {
        let Some(name) = graph_config
            .taskgraph()
            .and_then(|t| t.get("register"))
            .and_then(Value::as_str)
        else {
            return Ok(Cow::Borrowed(self));
        };
        let Some(hook) = self.project_hooks.get(name) else {
            let known: Vec<&str> = self.project_hooks.keys().map(String::as_str).collect();
            let linked = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            return Err(Error::config(format!(
                "`taskgraph.register` names `{name}`, which this program does not link \
                 (it links: {linked})"
            ))
            .at_field("taskgraph.register"));
        };
        let mut registry = self.clone();
        hook(&mut registry);
        Ok(Cow::Owned(registry))
    }

    /// Adds a check run on the tasks of `phase` when verification is on.
    pub fn add_verification(&mut self, phase: VerifyPhase, name: &str, check: VerifyFn) {
        self.verifications.push((phase, name.to_owned(), check));
    }

    /// Runs the checks registered for `phase`, in registration order.
    pub fn verify(&self, phase: VerifyPhase, context: &VerifyContext<'_>) -> Result<()> {
        for (_, _, check) in self.verifications.iter().filter(|(p, _, _)| *p == phase) {
            check(context)?;
        }
        Ok(())
    }

    /// The parameter schema, for extension.
    pub fn parameters_mut(&mut self) -> &mut ParameterSchema {
        &mut self.parameters
    }

    pub fn parameters(&self) -> &ParameterSchema {
        &self.parameters
    }
}

/// `module` means `module:transforms`, as in the reference.
fn normalize_transform_name(name: &str) -> String {
    if name.contains(':') {
        name.to_owned()
    } else {
        format!("{name}:transforms")
    }
}

fn unknown<'a>(what: &'static str, name: &str, known: impl Iterator<Item = &'a String>) -> Error {
    let known: Vec<&str> = known.map(String::as_str).collect();
    let mut close = closest_names(name, known.iter().copied());
    if close.is_empty() {
        close = known.iter().map(|k| (*k).to_owned()).collect();
        close.sort();
    }
    Error::new(ErrorKind::UnknownName {
        what,
        name: name.to_owned(),
        known: close,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config_registering(hook: Option<&str>) -> GraphConfig {
        let register = hook
            .map(|h| format!("  register: {h}\n"))
            .unwrap_or_default();
        let text = format!(
            "trust-domain: demo\ntask-priority: low\nworkers: {{aliases: {{}}}}\n\
             taskgraph:\n  repositories: {{demo: {{name: Demo}}}}\n{register}"
        );
        let value = crate::yaml::load_str(&text, None).unwrap();
        GraphConfig::from_value(value, Path::new("/x/taskcluster"), "/x".into()).unwrap()
    }

    #[test]
    fn a_project_hook_applies_only_to_the_project_naming_it() {
        let mut registry = Registry::with_builtins();
        registry.add_project_hook(
            "demo_taskgraph:register",
            Arc::new(|r: &mut Registry| {
                r.add_target_method("demo-method", Arc::new(|_| Ok(Vec::new())));
            }),
        );

        let plain = registry.for_project(&config_registering(None)).unwrap();
        assert!(matches!(plain, Cow::Borrowed(_)));
        assert!(plain.target_method("demo-method").is_err());

        let demo = registry
            .for_project(&config_registering(Some("demo_taskgraph:register")))
            .unwrap();
        assert!(demo.target_method("demo-method").is_ok());

        let err = registry
            .for_project(&config_registering(Some("other_taskgraph:register")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`other_taskgraph:register`"), "{err}");
        assert!(err.contains("it links: demo_taskgraph:register"), "{err}");
    }

    #[test]
    fn transform_names_accept_the_python_spellings() {
        let registry = Registry::with_builtins();
        assert!(
            registry
                .transforms("taskgraph.transforms.task_context")
                .is_ok()
        );
        assert!(
            registry
                .transforms("taskgraph.transforms.task_context:transforms")
                .is_ok()
        );
        assert!(
            registry
                .transforms("taskgraph.transforms.run:transforms")
                .is_ok()
        );
    }

    #[test]
    fn unknown_transforms_suggest_close_names() {
        let registry = Registry::with_builtins();
        let Err(err) = registry.transforms("taskgraph.transforms.task_contxt") else {
            panic!("a misspelt transform name was accepted");
        };
        let text = err.to_string();
        assert!(
            text.contains("taskgraph.transforms.task_context:transforms"),
            "{text}"
        );
    }
}
