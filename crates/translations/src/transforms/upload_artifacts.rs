//! `translations_taskgraph.transforms.upload_artifacts`: shape the
//! upload-artifacts tasks that `from_deps` made, one per upstream task.
//!
//! `worker.upstream-artifacts` and `worker.artifact-map` are resolved by
//! `upstream-kind` (the name of the task's one real dependency); uploads of
//! `corpus-align*` and `distillation-corpus-final-filtering*` tasks are
//! dropped unless the experiment archives corpora; and `{step_dir}` in the
//! artifact map becomes a directory derived from the upstream task's label
//! (see [`task_to_step_dir`]).

mod step_dir;

use indexmap::IndexMap;
use taskgraph::python::py_str;
use taskgraph::transform::{TaskDesc, TransformConfig, TransformRef, fan_out, per_task};
use taskgraph::{Error, Map, Registry, Result, Value};

use super::resolve_upload_bucket::resolve_keyed_field;
use crate::util::substitution::substitute;
use crate::util::upload::upload_upstream;

pub use step_dir::task_to_step_dir;

pub const NAME: &str = "translations_taskgraph.transforms.upload_artifacts";

pub fn register(registry: &mut Registry) {
    registry.add_transforms(NAME, transforms());
}

pub fn transforms() -> Vec<TransformRef> {
    vec![
        per_task(
            "translations.upload_artifacts:evaluate_keyed_by",
            evaluate_keyed_by,
        ),
        fan_out(
            "translations.upload_artifacts:maybe_skip_corpora",
            maybe_skip_corpora,
        ),
        per_task(
            "translations.upload_artifacts:substitute_step_dir",
            substitute_step_dir,
        ),
    ]
}

/// Kinds whose outputs are uploaded only when the experiment sets
/// `archive-corpora`.
const CORPUS_KIND_PREFIXES: [&str; 2] = ["corpus-align", "distillation-corpus-final-filtering"];

fn evaluate_keyed_by(_config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let (upstream_kind, _) = upstream(task)?;
    let item_name = description(task)?;
    let extra = [("upstream-kind", Value::from(upstream_kind))];
    let worker = worker_mut(task)?;
    for field in ["upstream-artifacts", "artifact-map"] {
        let path = format!("worker.{field}");
        resolve_keyed_field(worker, field, &item_name, &extra, &path)?;
    }
    Ok(())
}

fn maybe_skip_corpora(config: &TransformConfig<'_>, task: TaskDesc) -> Result<Vec<TaskDesc>> {
    let archive_corpora = archive_corpora(config)?;
    let kind = match task.get("attributes").and_then(|a| a.get("kind")) {
        Some(Value::Str(kind)) => kind,
        Some(other) => {
            return Err(Error::transform(format!(
                "`attributes.kind` must be a string, not {}",
                other.type_name()
            ))
            .at_field("attributes.kind"));
        }
        None => {
            return Err(
                Error::transform("the task has no `attributes.kind`").at_field("attributes.kind")
            );
        }
    };

    let is_corpus = CORPUS_KIND_PREFIXES
        .iter()
        .any(|prefix| kind.starts_with(prefix));
    if is_corpus && !archive_corpora {
        return Ok(Vec::new());
    }
    Ok(vec![task])
}

/// `training_config.experiment.archive-corpora`, which the parameters
/// schema requires.
fn archive_corpora(config: &TransformConfig<'_>) -> Result<bool> {
    let value = config
        .params
        .get("training_config")
        .and_then(|c| c.get("experiment"))
        .and_then(|e| e.get("archive-corpora"))
        .ok_or_else(|| {
            Error::params("the parameters have no `training_config.experiment.archive-corpora`")
                .at_field("training_config.experiment.archive-corpora")
        })?;
    Ok(value.is_truthy())
}

fn substitute_step_dir(_config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let (_, upstream_label) = upstream(task)?;
    let step_dir = task_to_step_dir(&upstream_label)?;
    let mut substitutions = Map::default();
    substitutions.insert("step_dir", Value::from(step_dir));

    let artifact_map = worker_mut(task)?.get_mut("artifact-map").ok_or_else(|| {
        Error::transform("the task has no `worker.artifact-map`").at_field("worker.artifact-map")
    })?;
    substitute_discarding_result(artifact_map, &substitutions)
        .map_err(|e| e.at_field("worker.artifact-map"))
}

/// What the reference's `substitute(value, ...)` leaves in `value` when,
/// as here, its result is thrown away: a mapping is rebuilt into a new
/// (discarded) dict, but lists are filled in place. So within the artifact
/// map only what sits inside a list is substituted; keys and strings
/// directly under mappings keep their placeholders. The discarded parts are
/// still formatted, so a malformed template fails as in the reference.
fn substitute_discarding_result(value: &mut Value, substitutions: &Map) -> Result<()> {
    match value {
        Value::List(items) => {
            for item in items.iter_mut() {
                *item = substitute(item, substitutions)?;
            }
        }
        Value::Map(map) => {
            for (key, item) in map.iter_mut() {
                substitute(&Value::from(key), substitutions)?;
                substitute_discarding_result(item, substitutions)?;
            }
        }
        Value::Str(_) => {
            substitute(value, substitutions)?;
        }
        _ => {}
    }
    Ok(())
}

/// The name and label of the task's upstream (its one dependency besides
/// the decision task).
fn upstream(task: &TaskDesc) -> Result<(String, String)> {
    let dependencies = match task.get("dependencies") {
        Some(Value::Map(dependencies)) => dependencies,
        Some(other) => {
            return Err(Error::transform(format!(
                "`dependencies` must be a mapping, not {}",
                other.type_name()
            ))
            .at_field("dependencies"));
        }
        None => {
            return Err(Error::transform("the task has no `dependencies`").at_field("dependencies"));
        }
    };
    let dependencies: IndexMap<String, String> = dependencies
        .iter()
        .map(|(name, label)| (name.to_owned(), py_str(label)))
        .collect();
    let (name, label) = upload_upstream(&dependencies).map_err(|e| e.at_field("dependencies"))?;
    Ok((name.to_owned(), label.to_owned()))
}

fn description(task: &TaskDesc) -> Result<String> {
    task.get("description")
        .map(py_str)
        .ok_or_else(|| Error::transform("the task has no `description`").at_field("description"))
}

fn worker_mut(task: &mut TaskDesc) -> Result<&mut Map> {
    match task.fields.get_mut("worker") {
        Some(Value::Map(worker)) => Ok(worker),
        Some(_) => Err(Error::transform("`worker` must be a mapping").at_field("worker")),
        None => Err(Error::transform("the task has no `worker`").at_field("worker")),
    }
}

#[cfg(test)]
mod tests;
