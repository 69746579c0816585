//! Command-line arguments, and the phase-printing subcommands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use indexmap::IndexMap;
use taskgraph::generator::{GenerateOptions, Generation, Phase, generate};
use taskgraph::optimize::ids::TaskIds;
use taskgraph::optimize::lookup::{IndexLookup, IndexSnapshot, NoIndex};
use taskgraph::optimize::previous::{GroupFiles, Reuse, TaskGroupSource, reuse_previous_groups};
use taskgraph::{Error, ErrorKind, Map, Registry, Value, python};

/// Generate Taskcluster task graphs from a taskgraph project directory.
#[derive(Debug, Parser)]
#[command(
    name = "graphgen",
    version,
    about,
    args_conflicts_with_subcommands = false
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The project's taskgraph directory (holding config.yml and kinds/).
    #[arg(long, short = 'r', global = true, default_value = "taskcluster")]
    pub root: String,

    /// Parameters file (.yml or .json); defaults come from the repository.
    #[arg(
        long = "parameters",
        short = 'p',
        visible_alias = "params",
        global = true
    )]
    pub params: Option<PathBuf>,

    /// Only these kinds and the kinds they depend on (repeatable).
    #[arg(long = "target-kind", short = 'k', global = true)]
    pub target_kinds: Vec<String>,

    /// Check parameters strictly: every key given, no unknown keys.
    #[arg(long, global = true)]
    pub strict: bool,

    /// Where the default run and `train` write their artifacts.
    #[arg(long, global = true, default_value = "artifacts")]
    pub output_dir: PathBuf,

    /// Debug logging on stderr.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,

    /// Where the optimizer looks up existing tasks: `none` (nothing is
    /// indexed), `taskcluster` (the index and queue at
    /// $TASKCLUSTER_ROOT_URL), or an index snapshot file (JSON: index path
    /// -> taskId, state, expires). The default is `none`, and
    /// `taskcluster` for `train`.
    #[arg(long, global = true, value_name = "SOURCE")]
    pub index: Option<String>,

    /// Derive task ids from this seed and each task's label, so that runs
    /// repeat them (by default ids are random, as Taskcluster wants).
    #[arg(long, global = true, value_name = "SEED")]
    pub task_id_seed: Option<String>,

    /// Reuse the completed tasks of these earlier task groups, and their
    /// ancestors, as existing tasks; later groups win over earlier ones
    /// (repeatable, or comma-separated).
    #[arg(
        long = "previous-group-ids",
        global = true,
        value_name = "TASK_GROUP_ID",
        value_delimiter = ','
    )]
    pub previous_group_ids: Vec<String>,

    /// With --previous-group-ids: the tasks whose label starts with this,
    /// and every task depending on them, run again.
    #[arg(long, global = true, value_name = "PREFIX")]
    pub start_task_prefix: Option<String>,

    /// Where --previous-group-ids are read from: `taskcluster` (the queue
    /// at $TASKCLUSTER_ROOT_URL, signed with $TASKCLUSTER_CLIENT_ID and
    /// $TASKCLUSTER_ACCESS_TOKEN when set) or a directory of saved
    /// listTaskGroup responses (`<task group id>.json`).
    #[arg(
        long,
        global = true,
        value_name = "SOURCE",
        default_value = "taskcluster"
    )]
    pub task_groups: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Show(ShowCommand),
    /// What a cached task's digest is made of; with --against, what changed
    /// since an earlier run and where the change started.
    Digest(crate::digest::DigestArgs),
    /// Why a task is in the target graph (or not), and what the optimizer
    /// did with it.
    Explain(crate::explain::ExplainArgs),
    /// Start a training run: check a training configuration, show the
    /// plan, and after confirmation submit the graph to Taskcluster.
    Train(crate::train::TrainArgs),
    /// Send a submission written by `train` (again): what the queue already
    /// holds is not created twice.
    Submit(crate::train::SubmitArgs),
}

/// The phases `taskgraph` can print.
#[derive(Debug, Subcommand)]
pub enum ShowCommand {
    /// The full task graph: every task of every kind, with dependencies.
    Full(ShowArgs),
    /// The full task set: every task, without dependencies.
    Tasks(ShowArgs),
    /// The target task set: the tasks chosen to run, without dependencies.
    Target(ShowArgs),
    /// The target task graph: target tasks and everything they need.
    TargetGraph(ShowArgs),
    /// The optimized graph: what runs, keyed by task id.
    Optimized(ShowArgs),
    /// The optimized graph with the morphs applied (what is submitted).
    Morphed(ShowArgs),
}

/// How to print a phase.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Print the graph as JSON, exactly as `taskgraph <phase> --json`.
    #[arg(long, short = 'J', conflicts_with = "labels")]
    pub json: bool,

    /// Print sorted labels (the default).
    #[arg(long, short = 'L')]
    pub labels: bool,
}

impl ShowCommand {
    fn phase(&self) -> Phase {
        match self {
            ShowCommand::Tasks(_) => Phase::FullTaskSet,
            ShowCommand::Full(_) => Phase::FullTaskGraph,
            ShowCommand::Target(_) => Phase::TargetTaskSet,
            ShowCommand::TargetGraph(_) => Phase::TargetTaskGraph,
            ShowCommand::Optimized(_) => Phase::Optimized,
            ShowCommand::Morphed(_) => Phase::Morphed,
        }
    }

    fn args(&self) -> &ShowArgs {
        match self {
            ShowCommand::Full(a)
            | ShowCommand::Tasks(a)
            | ShowCommand::Target(a)
            | ShowCommand::TargetGraph(a)
            | ShowCommand::Optimized(a)
            | ShowCommand::Morphed(a) => a,
        }
    }
}

/// The generation options the command line asks for, and what reusing
/// earlier task groups gave.
#[derive(Debug)]
pub struct Prepared {
    pub options: GenerateOptions,
    /// None without --previous-group-ids.
    pub reuse: Option<Reuse>,
}

/// The generation options the command line asks for. Like the reference's
/// CLI, parameters always get a `target-kinds` override.
pub fn options(cli: &Cli) -> Result<GenerateOptions, Error> {
    Ok(prepare(cli)?.options)
}

/// [`options`], with the earlier task groups read and their tasks set to
/// be reused.
pub fn prepare(cli: &Cli) -> Result<Prepared, Error> {
    let mut options = base_options(cli)?;
    let reuse = previous_groups(cli, &options)?;
    if let Some(reuse) = &reuse {
        options.reused_tasks = reuse.existing_tasks.clone();
        options.existing_expires = reuse.expires.clone();
        warn_about_rebuilt_tasks(reuse);
    }
    Ok(Prepared { options, reuse })
}

fn base_options(cli: &Cli) -> Result<GenerateOptions, Error> {
    let mut options = GenerateOptions::new(cli.root.clone(), cli.params.clone());
    options.strict = cli.strict;
    options.overrides = Map::from_iter([(
        "target-kinds",
        Value::str_list(cli.target_kinds.iter().cloned()),
    )]);
    options.index = index_source(cli.index.as_deref().unwrap_or("none"))?;
    if let Some(seed) = &cli.task_id_seed {
        options.task_ids = TaskIds::Seeded(seed.clone());
    }
    Ok(options)
}

/// Reads the earlier task groups, if any were named.
fn previous_groups(cli: &Cli, options: &GenerateOptions) -> Result<Option<Reuse>, Error> {
    if cli.previous_group_ids.is_empty() {
        if cli.start_task_prefix.is_some() {
            return Err(usage_error(
                "--start-task-prefix needs --previous-group-ids: it picks which of their tasks run again",
            ));
        }
        return Ok(None);
    }
    let now = options.now.unwrap_or_else(Utc::now);
    // Explicit `existing_tasks` parameters are applied during generation,
    // over these.
    let reuse = read_previous_groups(
        cli,
        &cli.previous_group_ids,
        cli.start_task_prefix.as_deref(),
        now,
    )?;
    Ok(Some(reuse))
}

/// The tasks of the earlier task groups `group_ids` to reuse, read from
/// the source `--task-groups` names.
pub(crate) fn read_previous_groups(
    cli: &Cli,
    group_ids: &[String],
    start_prefix: Option<&str>,
    now: chrono::DateTime<Utc>,
) -> Result<Reuse, Error> {
    if let Some(empty) = group_ids.iter().find(|id| id.trim().is_empty()) {
        return Err(usage_error(&format!(
            "--previous-group-ids has an empty task group id ({empty:?})"
        )));
    }
    let source: Box<dyn TaskGroupSource> = match cli.task_groups.as_str() {
        "taskcluster" => Box::new(crate::groups::TaskclusterGroups::from_environment()?),
        dir => Box::new(GroupFiles::load(Path::new(dir))?),
    };
    reuse_previous_groups(
        source.as_ref(),
        group_ids,
        start_prefix,
        &IndexMap::new(),
        now,
    )
}

/// Expired tasks cannot be reused: say so, since they will run again.
fn warn_about_rebuilt_tasks(reuse: &Reuse) {
    for (label, task_id) in &reuse.expired {
        tracing::warn!("`{label}` ({task_id}) has expired: it is not reused and runs again");
    }
    tracing::info!(
        "{} tasks reused from earlier task groups, {} run again after --start-task-prefix",
        reuse.existing_tasks.len(),
        reuse.rerun.len()
    );
}

fn usage_error(message: &str) -> Error {
    Error::new(ErrorKind::Usage(message.to_owned()))
}

/// The `--index` source.
pub(crate) fn index_source(source: &str) -> Result<Arc<dyn IndexLookup>, Error> {
    match source {
        "none" => Ok(Arc::new(NoIndex)),
        // In a task with the proxy, requests go through it and carry the
        // task's credentials; elsewhere they go to the root URL unsigned,
        // as the reference's do.
        "taskcluster" if std::env::var_os("TASKCLUSTER_PROXY_URL").is_some() => Ok(Arc::new(
            crate::lookup::TaskclusterIndex::from_environment_via_proxy()?,
        )),
        "taskcluster" => Ok(Arc::new(
            crate::lookup::TaskclusterIndex::from_environment()?
        )),
        path => Ok(Arc::new(IndexSnapshot::load(std::path::Path::new(path))?)),
    }
}

/// The registry graphgen links: the built-ins, and the translations
/// pipeline's parts for projects that register them.
pub fn registry() -> Result<Registry, Error> {
    let mut registry = Registry::with_builtins();
    let urls = crate::urls::HttpUrlChecker::new(crate::urls::timeout_from_environment()?);
    translations::add_project_hook(&mut registry, Arc::new(urls));
    Ok(registry)
}

/// `graphgen full|tasks|target|target-graph`.
pub fn show(cli: &Cli, show: &ShowCommand) -> Result<(), Error> {
    let phase = show.phase();
    let generation = generate(&registry()?, &options(cli)?, phase)?;
    if show.args().json {
        write_json_stdout(&generation.json_node(phase))?;
    } else {
        write_stdout(&labels(&generation, phase))?;
    }
    // The graph is freed by the process's exit; freeing it piece by piece
    // first would only cost time.
    std::mem::forget(generation);
    Ok(())
}

/// Streams a document to stdout the way the reference's `print(out +
/// "\n")` prints it, with the blank line after it.
fn write_json_stdout(node: &python::JsonNode<'_>) -> Result<(), Error> {
    let mut stdout = ClosedPipeIsFine(std::io::stdout().lock());
    python::write_json_node(&mut stdout, node, python::JsonStyle::PRETTY)?;
    stdout
        .write_all(b"\n\n")
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io(std::path::Path::new("<stdout>"), e))
}

/// Stdout that treats a closed pipe (`graphgen full --json | head`) as the
/// reader having seen enough: the rest of the output is dropped.
struct ClosedPipeIsFine<W>(W);

impl<W: Write> Write for ClosedPipeIsFine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

fn labels(generation: &Generation, phase: Phase) -> String {
    let labels = match phase {
        Phase::FullTaskSet => generation.full_task_set.labels(),
        Phase::FullTaskGraph => generation
            .full_task_graph
            .as_ref()
            .map(|g| g.labels())
            .unwrap_or_default(),
        Phase::TargetTaskSet => generation
            .target_task_set
            .as_ref()
            .map(|s| s.labels())
            .unwrap_or_default(),
        Phase::TargetTaskGraph => generation
            .target_task_graph
            .as_ref()
            .map(|g| g.labels())
            .unwrap_or_default(),
        Phase::Optimized => generation
            .optimized
            .as_ref()
            .map(|o| task_labels(&o.graph))
            .unwrap_or_default(),
        Phase::Morphed => generation
            .morphed
            .as_ref()
            .map(task_labels)
            .unwrap_or_default(),
    };
    labels.join("\n")
}

/// The sorted labels of a graph keyed by task id.
fn task_labels(graph: &taskgraph::generator::TaskGraph) -> Vec<&str> {
    let mut labels: Vec<&str> = graph.tasks.values().map(|t| t.label.as_str()).collect();
    labels.sort_unstable();
    labels
}

/// Prints data the way the reference's `print(out + "\n")` does. A closed
/// pipe (`graphgen full | head`) is not an error.
pub fn write_stdout(out: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    let result = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.write_all(b"\n\n"))
        .and_then(|()| stdout.flush());
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io(std::path::Path::new("<stdout>"), e))
        }
        _ => Ok(()),
    }
}
