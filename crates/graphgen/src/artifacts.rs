//! The default run: every phase, then the decision artifacts.
//!
//! Artifacts are written only after generation succeeded. Each is written
//! to a temporary file beside its final name, and only when all of them
//! are complete are they renamed into place, so a failed run leaves
//! nothing half-written behind, and earlier artifacts stay as they were.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use taskgraph::generator::{Generation, Phase, generate};
use taskgraph::optimize::previous::Reuse;
use taskgraph::optimize::{KeepReason, Optimized, Verdict};
use taskgraph::python::{self, JsonNode, JsonStyle};
use taskgraph::{Error, Value, digest, yaml};

use crate::cli::{self, Cli};

/// Generates everything and writes the reference's decision artifacts
/// (`parameters.yml`, `full-task-graph.json`, `target-tasks.json`,
/// `task-graph.json`, `label-to-taskid.json`) and graphgen's own
/// (`digest-inputs.json`, `optimization.json`).
pub fn decision(cli: &Cli) -> Result<(), Error> {
    let prepared = cli::prepare(cli)?;
    let mut options = prepared.options;
    // In a decision task, `<decision>` is the decision task itself.
    options.decision_task_id = std::env::var("TASK_ID").ok().filter(|id| !id.is_empty());
    let generation = generate(&cli::registry()?, &options, Phase::Morphed)?;

    std::fs::create_dir_all(&cli.output_dir).map_err(|e| Error::io(&cli.output_dir, e))?;
    let mut staged = Staged::new(&cli.output_dir);
    write_artifacts(&generation, &mut staged)?;
    if let Some(reuse) = &prepared.reuse {
        write_reuse(reuse, &mut staged)?;
    }
    staged.commit()?;

    summarize(&generation, prepared.reuse.as_ref(), &cli.output_dir);
    // The graph is freed by the process's exit; freeing it piece by piece
    // first would only cost time.
    std::mem::forget(generation);
    Ok(())
}

/// Writes every artifact into `staged`.
pub(crate) fn write_artifacts(generation: &Generation, staged: &mut Staged) -> Result<(), Error> {
    generation.parameters.read_deferred()?;
    let parameters = Value::Map(generation.parameters.as_map().clone());
    staged.write("parameters.yml", |out| {
        let text = yaml::safe_dump(&parameters)?;
        out.write_all(text.as_bytes())
            .map_err(|e| write_error("parameters.yml", e))
    })?;

    staged.write("full-task-graph.json", |out| {
        let full = generation.json_node(Phase::FullTaskGraph);
        python::write_json_node(out, &full, JsonStyle::PRETTY)
    })?;

    // In the order of the target task set, as the reference lists them.
    let targets: Vec<String> = generation
        .target_task_set
        .as_ref()
        .map(|s| s.tasks.keys().cloned().collect())
        .unwrap_or_default();
    staged.write("target-tasks.json", |out| {
        python::write_json_node(out, &JsonNode::StrList(&targets), JsonStyle::PRETTY)
    })?;

    staged.write("task-graph.json", |out| {
        let morphed = generation.json_node(Phase::Morphed);
        python::write_json_node(out, &morphed, JsonStyle::PRETTY)
    })?;
    let label_to_taskid: Value = generation
        .label_to_taskid
        .as_ref()
        .map(|ids| {
            Value::Map(
                ids.iter()
                    .map(|(label, id)| (label.as_str(), Value::from(id.as_str())))
                    .collect(),
            )
        })
        .unwrap_or_default();
    staged.write("label-to-taskid.json", |out| {
        python::write_json(out, &label_to_taskid, JsonStyle::PRETTY)
    })?;

    // Not reference artifacts: what each cached task's digest is made of,
    // for `graphgen digest --against` in a later run; and what became of
    // every target task, for `graphgen explain`.
    let records = digest::collect(generation.full_task_set.tasks.values());
    staged.write(digest::ARTIFACT_NAME, |out| {
        let text = digest::to_artifact(&records)?;
        out.write_all(text.as_bytes())
            .map_err(|e| write_error(digest::ARTIFACT_NAME, e))
    })?;
    let decisions = generation.optimized.as_ref().map(|o| &o.decisions);
    staged.write(OPTIMIZATION_ARTIFACT, |out| {
        let text = serde_json::to_string_pretty(&decisions)
            .map_err(|e| Error::new(taskgraph::ErrorKind::Json(e.to_string())))?;
        out.write_all(text.as_bytes())
            .map_err(|e| write_error(OPTIMIZATION_ARTIFACT, e))
    })
}

/// What became of each target task, by label.
pub const OPTIMIZATION_ARTIFACT: &str = "optimization.json";

/// What reusing earlier task groups gave: written only with
/// `--previous-group-ids`.
pub const PREVIOUS_GROUPS_ARTIFACT: &str = "previous-groups.json";

/// `previous-groups.json`: the tasks reused (label → task id, with when
/// they expire), and those that run again because they expired or because
/// of `--start-task-prefix`.
pub(crate) fn write_reuse(reuse: &Reuse, staged: &mut Staged) -> Result<(), Error> {
    // In the order the tasks were reused (serde_json keeps insertion order).
    let reused: serde_json::Map<String, serde_json::Value> = reuse
        .existing_tasks
        .iter()
        .map(|(label, id)| (label.clone(), serde_json::Value::from(id.as_str())))
        .collect();
    let document = serde_json::json!({
        "reused": reused,
        "expires": reuse.expires,
        "expired": reuse.expired,
        "start-task-prefix": reuse.rerun,
    });
    staged.write(PREVIOUS_GROUPS_ARTIFACT, |out| {
        let text = serde_json::to_string_pretty(&document)
            .map_err(|e| Error::new(taskgraph::ErrorKind::Json(e.to_string())))?;
        out.write_all(text.as_bytes())
            .map_err(|e| write_error(PREVIOUS_GROUPS_ARTIFACT, e))
    })
}

fn write_error(name: &str, e: std::io::Error) -> Error {
    Error::io(Path::new(name), e)
}

/// Artifacts written to temporary files in the output directory, renamed
/// to their names together by [`Staged::commit`]. Dropped uncommitted, the
/// temporary files are removed.
pub(crate) struct Staged {
    dir: PathBuf,
    files: Vec<(tempfile::NamedTempFile, PathBuf)>,
}

impl Staged {
    pub(crate) fn new(dir: &Path) -> Staged {
        Staged {
            dir: dir.to_owned(),
            files: Vec::new(),
        }
    }

    /// Writes one artifact of text.
    pub(crate) fn write_text(&mut self, name: &str, text: &str) -> Result<(), Error> {
        self.write(name, |out| {
            out.write_all(text.as_bytes())
                .map_err(|e| write_error(name, e))
        })
    }

    /// Writes one artifact through `fill` into a temporary file.
    fn write(
        &mut self,
        name: &str,
        fill: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let path = self.dir.join(name);
        let file =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        {
            let mut out = std::io::BufWriter::new(file.as_file());
            fill(&mut out).map_err(|e| e.with_file(&path))?;
            out.flush().map_err(|e| Error::io(&path, e))?;
        }
        // Temporary files are private; artifacts are ordinary files others
        // (uploaders, reviewers) read.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let readable = std::fs::Permissions::from_mode(0o644);
            file.as_file()
                .set_permissions(readable)
                .map_err(|e| Error::io(&path, e))?;
        }
        file.as_file().sync_all().map_err(|e| Error::io(&path, e))?;
        self.files.push((file, path));
        Ok(())
    }

    /// Renames every artifact into place.
    pub(crate) fn commit(self) -> Result<(), Error> {
        for (file, path) in self.files {
            file.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        }
        Ok(())
    }
}

/// A short account of the run on stderr.
#[expect(clippy::print_stderr, reason = "the summary is for humans, on stderr")]
fn summarize(generation: &Generation, reuse: Option<&Reuse>, output_dir: &Path) {
    let full = generation.full_task_graph.as_ref();
    let tasks = full.map_or(0, |g| g.len());
    let edges = full.map_or(0, |g| g.graph.edge_count());
    let targets = generation.target_task_set.as_ref().map_or(0, |s| s.len());
    let target_graph = generation.target_task_graph.as_ref().map_or(0, |g| g.len());
    eprintln!(
        "{} kinds, {tasks} tasks, {edges} edges; {targets} target tasks, {target_graph} in the target graph",
        generation.kinds.len()
    );
    if let Some(reuse) = reuse {
        eprintln!(
            "previous groups: {} tasks to reuse; {} expired and {} matched by --start-task-prefix run again",
            reuse.existing_tasks.len(),
            reuse.expired.len(),
            reuse.rerun.len()
        );
    }
    if let Some(optimized) = &generation.optimized {
        if let Some(reuse) = reuse {
            let changed = crate::plan::changed_inputs(generation, reuse);
            if !changed.is_empty() {
                let labels: Vec<&str> = changed.keys().map(String::as_str).collect();
                eprintln!(
                    "warning: {} reused tasks were built from other inputs than this run's \
                     (their cache digest differs): {}",
                    labels.len(),
                    abbreviated(&labels, 10)
                );
            }
        }
        let counts = optimized.counts();
        let refused = refused_existing_tasks(optimized);
        if !refused.is_empty() {
            eprintln!(
                "{} existing tasks expire before their dependents' deadlines and run again: {}",
                refused.len(),
                abbreviated(&refused, 10)
            );
        }
        let morphed = generation.morphed.as_ref().map_or(0, |g| g.len());
        eprintln!(
            "optimization: {} removed, {} replaced from existing tasks, {} replaced from the index, {} kept; {morphed} tasks to submit",
            counts.removed, counts.from_existing, counts.from_index, counts.kept
        );
    }
    let timings: Vec<String> = generation
        .timings
        .iter()
        .map(|(name, d)| format!("{name} {}", millis(*d)))
        .collect();
    eprintln!("time: {}", timings.join(", "));
    eprintln!("artifacts written to {}", output_dir.display());
}

/// Labels kept because the existing task meant to replace them expires too
/// soon.
fn refused_existing_tasks(optimized: &Optimized) -> Vec<&str> {
    optimized
        .decisions
        .iter()
        .filter(|(_, decision)| {
            matches!(
                decision.verdict,
                Verdict::Kept {
                    reason: KeepReason::ExistingTaskExpires { .. }
                }
            )
        })
        .map(|(label, _)| label.as_str())
        .collect()
}

/// The first `limit` items, comma-separated, and how many more there are.
fn abbreviated(items: &[&str], limit: usize) -> String {
    let mut text = items[..items.len().min(limit)].join(", ");
    if items.len() > limit {
        text.push_str(&format!(" and {} more", items.len() - limit));
    }
    text
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
