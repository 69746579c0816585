//! Command-line arguments, and the phase-printing subcommands.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use taskgraph::generator::{GenerateOptions, Generation, Phase, generate};
use taskgraph::optimize::ids::TaskIds;
use taskgraph::optimize::lookup::{IndexLookup, IndexSnapshot, NoIndex};
use taskgraph::{Error, Map, Registry, Value, python};

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

    /// Where the default run writes its artifacts.
    #[arg(long, default_value = "artifacts")]
    pub output_dir: PathBuf,

    /// Debug logging on stderr.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,

    /// Where the optimizer looks up existing tasks: `none` (nothing is
    /// indexed), `taskcluster` (the index and queue at
    /// $TASKCLUSTER_ROOT_URL), or an index snapshot file (JSON: index path
    /// -> taskId, state, expires).
    #[arg(long, global = true, value_name = "SOURCE", default_value = "none")]
    pub index: String,

    /// Derive task ids from this seed and each task's label, so that runs
    /// repeat them (by default ids are random, as Taskcluster wants).
    #[arg(long, global = true, value_name = "SEED")]
    pub task_id_seed: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Show(ShowCommand),
    /// What a cached task's digest is made of; with --against, what changed
    /// since an earlier run and where the change started.
    Digest(crate::digest::DigestArgs),
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

/// The generation options the command line asks for. Like the reference's
/// CLI, parameters always get a `target-kinds` override.
pub fn options(cli: &Cli) -> Result<GenerateOptions, Error> {
    let mut options = GenerateOptions::new(cli.root.clone(), cli.params.clone());
    options.strict = cli.strict;
    options.overrides = Map::from_iter([(
        "target-kinds",
        Value::str_list(cli.target_kinds.iter().cloned()),
    )]);
    options.index = index_source(&cli.index)?;
    if let Some(seed) = &cli.task_id_seed {
        options.task_ids = TaskIds::Seeded(seed.clone());
    }
    Ok(options)
}

/// The `--index` source.
fn index_source(source: &str) -> Result<Arc<dyn IndexLookup>, Error> {
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

/// The registry graphgen links: the built-ins.
pub fn registry() -> Registry {
    Registry::with_builtins()
}

/// `graphgen full|tasks|target|target-graph`.
pub fn show(cli: &Cli, show: &ShowCommand) -> Result<(), Error> {
    let phase = show.phase();
    let generation = generate(&registry(), &options(cli)?, phase)?;
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
