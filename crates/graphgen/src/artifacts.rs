//! The default run: every phase, then the decision artifacts.
//!
//! Artifacts are written only after generation succeeded, each through a
//! temporary file renamed into place, so a failed run leaves nothing
//! half-written behind.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use taskgraph::generator::{Generation, Phase, generate};
use taskgraph::{Error, Value, digest, python, yaml};

use crate::cli::{self, Cli};

/// Generates everything and writes `parameters.yml`,
/// `full-task-graph.json`, `target-tasks.json` and `digest-inputs.json`.
pub fn decision(cli: &Cli) -> Result<(), Error> {
    let generation = generate(&cli::registry(), &cli::options(cli), Phase::TargetTaskGraph)?;
    let files = render(&generation)?;

    std::fs::create_dir_all(&cli.output_dir).map_err(|e| Error::io(&cli.output_dir, e))?;
    for (name, contents) in &files {
        write_atomically(&cli.output_dir.join(name), contents.as_bytes())?;
    }
    summarize(&generation, &cli.output_dir);
    Ok(())
}

/// Renders every artifact before anything is written.
fn render(generation: &Generation) -> Result<Vec<(&'static str, String)>, Error> {
    let parameters = Value::Map(generation.parameters.as_map().clone());
    let full = generation
        .full_task_graph
        .as_ref()
        .map(|g| g.to_json())
        .unwrap_or_default();
    // In the order of the target task set, as the reference lists them.
    let target: Vec<Value> = generation
        .target_task_set
        .as_ref()
        .map(|s| {
            s.tasks
                .keys()
                .map(|label| Value::from(label.as_str()))
                .collect()
        })
        .unwrap_or_default();

    // Not a reference artifact: what each cached task's digest is made
    // of, for `graphgen digest --against` in a later run.
    let records = digest::collect(generation.full_task_set.tasks.values());

    Ok(vec![
        ("parameters.yml", yaml::safe_dump(&parameters)?),
        (digest::ARTIFACT_NAME, digest::to_artifact(&records)?),
        ("full-task-graph.json", python::json_pretty(&full)?),
        (
            "target-tasks.json",
            python::json_pretty(&Value::List(target))?,
        ),
    ])
}

/// Writes `contents` to a temporary file beside `path`, then renames it.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    file.write_all(contents).map_err(|e| Error::io(path, e))?;
    // Temporary files are private; artifacts are ordinary files others
    // (uploaders, reviewers) read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let readable = std::fs::Permissions::from_mode(0o644);
        file.as_file()
            .set_permissions(readable)
            .map_err(|e| Error::io(path, e))?;
    }
    file.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    file.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// A short account of the run on stderr.
#[expect(clippy::print_stderr, reason = "the summary is for humans, on stderr")]
fn summarize(generation: &Generation, output_dir: &Path) {
    let full = generation.full_task_graph.as_ref();
    let tasks = full.map_or(0, |g| g.len());
    let edges = full.map_or(0, |g| g.graph.edge_count());
    let targets = generation.target_task_set.as_ref().map_or(0, |s| s.len());
    let target_graph = generation.target_task_graph.as_ref().map_or(0, |g| g.len());
    eprintln!(
        "{} kinds, {tasks} tasks, {edges} edges; {targets} target tasks, {target_graph} in the target graph",
        generation.kinds.len()
    );
    let timings: Vec<String> = generation
        .timings
        .iter()
        .map(|(name, d)| format!("{name} {}", millis(*d)))
        .collect();
    eprintln!("time: {}", timings.join(", "));
    eprintln!("artifacts written to {}", output_dir.display());
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
