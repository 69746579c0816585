//! The pipeline's target-task methods.
//!
//! - `train-target-tasks` keeps the tasks of the training configuration's
//!   `target-stage` for its language pair;
//! - `final-eval-target-tasks` keeps the tasks whose stage is the top-level
//!   `target-stage` parameter (which only the `evaluate` action sets);
//! - `update-db-target-tasks` keeps the `update-db` stage.
//!
//! A stage is the task's `stage` attribute; tasks without one never match
//! a named stage.

use std::sync::Arc;

use taskgraph::registry::TargetContext;
use taskgraph::task::Task;
use taskgraph::{Error, Registry, Result, Value};

use crate::params::TRAINING_CONFIG;

mod checks;

pub fn register(registry: &mut Registry) {
    registry.add_target_method("train-target-tasks", Arc::new(train_target_tasks));
    registry.add_target_method("final-eval-target-tasks", Arc::new(final_eval_target_tasks));
    registry.add_target_method("update-db-target-tasks", Arc::new(update_db_target_tasks));
}

/// What `train-target-tasks` matches tasks against.
struct TrainingTarget<'p> {
    stage: &'p Value,
    src: &'p Value,
    trg: &'p Value,
    datasets: &'p Value,
}

impl<'p> TrainingTarget<'p> {
    /// Reads the target from the parameters, in the reference's order, so
    /// that the first missing key is the one reported. `datasets` is
    /// needed even when no task is dataset-specific.
    fn from_params(ctx: &TargetContext<'p>) -> Result<TrainingTarget<'p>> {
        let config = parameter(ctx, TRAINING_CONFIG)?;
        Ok(TrainingTarget {
            stage: config_value(config, &["target-stage"])?,
            src: config_value(config, &["experiment", "src"])?,
            trg: config_value(config, &["experiment", "trg"])?,
            datasets: config_value(config, &["datasets"])?,
        })
    }

    fn selects(&self, task: &Task) -> Result<bool> {
        let selected = attribute_equals(task, "stage", self.stage)
            && attribute_equals(task, "src_locale", self.src)
            && attribute_equals(task, "trg_locale", self.trg);
        if selected {
            check_dataset_attributes(task, self.datasets)?;
        }
        Ok(selected)
    }
}

fn train_target_tasks(ctx: &TargetContext<'_>) -> Result<Vec<String>> {
    let target = TrainingTarget::from_params(ctx)?;
    checks::check_training_config(parameter(ctx, TRAINING_CONFIG)?, ctx.graph_config)?;
    let mut labels = Vec::new();
    for (label, task) in ctx.tasks {
        if target.selects(task)? {
            labels.push(label.clone());
        }
    }
    Ok(labels)
}

fn final_eval_target_tasks(ctx: &TargetContext<'_>) -> Result<Vec<String>> {
    let stage = parameter(ctx, "target-stage")?;
    Ok(labels_in_stage(ctx, stage))
}

fn update_db_target_tasks(ctx: &TargetContext<'_>) -> Result<Vec<String>> {
    Ok(labels_in_stage(ctx, &Value::from("update-db")))
}

fn labels_in_stage(ctx: &TargetContext<'_>, stage: &Value) -> Vec<String> {
    ctx.tasks
        .iter()
        .filter(|(_, task)| attribute_equals(task, "stage", stage))
        .map(|(label, _)| label.clone())
        .collect()
}

/// Whether the attribute equals `expected` (with Python equality), a
/// missing attribute counting as `None`.
fn attribute_equals(task: &Task, name: &str, expected: &Value) -> bool {
    task.attributes.get(name).unwrap_or(&Value::Null) == expected
}

/// Looks at a dataset-specific task's dataset attributes the way the
/// reference does.
///
/// The reference walks the configured datasets of the task's category to
/// find the task's own, but selects the task whether or not it is found:
/// the walk filters nothing. It can still fail (a task without
/// `dataset-category` or `provider`, a configured dataset without a
/// provider prefix), and those failures stop generation there too, so the
/// walk is kept for them.
fn check_dataset_attributes(task: &Task, datasets: &Value) -> Result<()> {
    let Some(dataset) = task.attributes.get("dataset") else {
        return Ok(());
    };
    let category = task_attribute(task, "dataset-category")?;
    for entry in datasets_in_category(datasets, category, task)? {
        let (provider, name) = split_dataset(entry, task)?;
        let task_provider = task_attribute(task, "provider")?;
        if *task_provider == Value::from(provider) && *dataset == Value::from(name) {
            break;
        }
    }
    Ok(())
}

/// The configured datasets of `category` (none for a category the
/// configuration does not list).
fn datasets_in_category<'d>(
    datasets: &'d Value,
    category: &Value,
    task: &Task,
) -> Result<&'d [Value]> {
    let Some(datasets) = datasets.as_map() else {
        return Err(malformed_config(&["datasets"], "is not a mapping"));
    };
    let listed = match category {
        Value::Str(category) => datasets.get(category),
        Value::List(_) | Value::Map(_) => {
            return Err(Error::transform(format!(
                "the `dataset-category` attribute of `{}` is a {}, which cannot name a \
                 dataset category",
                task.label,
                category.type_name()
            )));
        }
        // Other values are hashable but never equal to a string key.
        _ => None,
    };
    match listed {
        None => Ok(&[]),
        Some(Value::List(entries)) => Ok(entries),
        Some(_) => Err(malformed_config(
            &["datasets"],
            "does not map categories to lists",
        )),
    }
}

/// `provider_name` split at its first underscore.
fn split_dataset<'e>(entry: &'e Value, task: &Task) -> Result<(&'e str, &'e str)> {
    let Some(text) = entry.as_str() else {
        return Err(malformed_config(
            &["datasets"],
            "lists a dataset that is not a string",
        ));
    };
    text.split_once('_').ok_or_else(|| {
        Error::params(format!(
            "dataset `{text}` (considered for task `{}`) has no `<provider>_` prefix",
            task.label
        ))
        .at_field("training_config.datasets")
    })
}

fn task_attribute<'t>(task: &'t Task, name: &str) -> Result<&'t Value> {
    task.attributes.get(name).ok_or_else(|| {
        Error::transform(format!(
            "task `{}` has a `dataset` attribute but no `{name}` attribute",
            task.label
        ))
        .in_task(&task.label)
    })
}

fn parameter<'p>(ctx: &TargetContext<'p>, name: &str) -> Result<&'p Value> {
    ctx.params.get(name).ok_or_else(|| {
        let method = ctx.params.str_or_empty("target_tasks_method");
        Error::params(format!(
            "taskgraph parameter `{name}` not found (the `{method}` target-tasks method needs it)"
        ))
        .at_field(name)
    })
}

/// The value at `path` inside the training configuration.
fn config_value<'v>(config: &'v Value, path: &[&str]) -> Result<&'v Value> {
    let mut current = config;
    for (depth, key) in path.iter().enumerate() {
        let Some(map) = current.as_map() else {
            return Err(malformed_config(&path[..depth], "is not a mapping"));
        };
        current = map
            .get(key)
            .ok_or_else(|| malformed_config(&path[..=depth], "is missing"))?;
    }
    Ok(current)
}

/// An error about the training configuration's key at `path`.
fn malformed_config(path: &[&str], problem: &str) -> Error {
    let field = std::iter::once(TRAINING_CONFIG)
        .chain(path.iter().copied())
        .collect::<Vec<_>>()
        .join(".");
    Error::params(format!("`{field}` {problem}")).at_field(&field)
}

#[cfg(test)]
mod tests;
