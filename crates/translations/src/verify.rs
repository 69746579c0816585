//! The pipeline's graph check: no two upload tasks write to the same
//! place.
//!
//! Upload tasks are those of kinds named `upload-*`. Their destinations
//! are still `{task-reference: ...}` templates at this point (holding
//! `<decision>`), which is precise enough to compare. Final evaluations
//! are the exception: the pipeline and its backfill both upload them, so
//! destinations containing `final-evals` may repeat.

use std::collections::BTreeMap;
use std::sync::Arc;

use taskgraph::registry::{Registry, VerifyContext, VerifyPhase};
use taskgraph::task::Task;
use taskgraph::{Error, ErrorKind, Result, Value};

const SHARED_DESTINATION_MARK: &str = "final-evals";

pub fn register(registry: &mut Registry) {
    registry.add_verification(
        VerifyPhase::FullTaskSet,
        "ensure_no_upload_conflicts",
        Arc::new(ensure_no_upload_conflicts),
    );
}

/// Refuses the task set if two upload tasks (or one task twice) name the
/// same destination.
///
/// Tasks are visited in label order, as the reference walks the full
/// task set (a graph without edges) in sorted order; that order decides
/// which label an error names first.
fn ensure_no_upload_conflicts(ctx: &VerifyContext<'_>) -> Result<()> {
    let mut uploads: Vec<(&String, &Arc<Task>)> = ctx
        .tasks
        .iter()
        .filter(|(_, task)| task.kind.starts_with("upload-"))
        .collect();
    uploads.sort_by_key(|(label, _)| *label);
    let mut uploader_of: BTreeMap<&str, &str> = BTreeMap::new();
    for (_, task) in uploads {
        for destination in upload_destinations(task)? {
            if let Some(earlier) = uploader_of.get(destination)
                && !destination.contains(SHARED_DESTINATION_MARK)
            {
                return Err(conflict(destination, earlier, &task.label));
            }
            uploader_of.insert(destination, &task.label);
        }
    }
    Ok(())
}

fn conflict(destination: &str, earlier: &str, later: &str) -> Error {
    Error::new(ErrorKind::Verification(format!(
        "upload destination `{destination}` is written by two tasks: `{earlier}` and `{later}`"
    )))
    .in_task(later)
}

/// Where an upload task writes, in payload order: the `dataMap`
/// destinations of the experiment config upload, the `artifactMap` ones
/// of every other upload.
fn upload_destinations(task: &Task) -> Result<Vec<&str>> {
    let payload = task
        .task
        .get("payload")
        .ok_or_else(|| malformed(task, "has no payload"))?;
    let mut destinations = Vec::new();
    if task.kind == "upload-experiment-config" {
        for upload in list_at(task, payload, "dataMap")? {
            destinations.extend(destination_templates(task, upload)?);
        }
    } else {
        for artifacts in list_at(task, payload, "artifactMap")? {
            let paths = artifacts
                .get("paths")
                .and_then(Value::as_map)
                .ok_or_else(|| malformed(task, "has an `artifactMap` entry without `paths`"))?;
            for path in paths.values() {
                destinations.extend(destination_templates(task, path)?);
            }
        }
    }
    Ok(destinations)
}

/// The `task-reference` templates of `entry.destinations`; any other
/// form of destination is an error, as the reference can only read these.
fn destination_templates<'t>(task: &Task, entry: &'t Value) -> Result<Vec<&'t str>> {
    let Some(Value::List(destinations)) = entry.get("destinations") else {
        return Err(malformed(
            task,
            "has an upload without a `destinations` list",
        ));
    };
    destinations
        .iter()
        .map(|destination| {
            destination
                .get("task-reference")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    malformed(
                        task,
                        &format!(
                            "has destination {}, which is not a `task-reference`",
                            taskgraph::python::py_repr(destination)
                        ),
                    )
                })
        })
        .collect()
}

fn list_at<'t>(task: &Task, payload: &'t Value, key: &str) -> Result<&'t [Value]> {
    payload
        .get(key)
        .and_then(Value::as_list)
        .map(Vec::as_slice)
        .ok_or_else(|| malformed(task, &format!("has no `payload.{key}` list")))
}

fn malformed(task: &Task, problem: &str) -> Error {
    Error::new(ErrorKind::Verification(format!(
        "upload task `{}` {problem}",
        task.label
    )))
    .in_task(&task.label)
}

#[cfg(test)]
mod tests;
