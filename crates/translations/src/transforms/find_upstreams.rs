//! `find_upstreams`: depend on, and fetch from, the kind-dependency tasks
//! of the training config's datasets.
//!
//! A task's `upstreams-config` names the attributes upstream tasks must
//! have (`upstream-task-attributes`) and the artifacts to fetch from each
//! (`upstream-artifacts`). Of the kind-dependency tasks, in label order,
//! those whose attributes match and whose `<provider>_<dataset>` is listed
//! under the task's `dataset-category` attribute become dependencies, with
//! one fetch (`extract: false`) per artifact, artifacts sorted.
//!
//! - `by_locales` first resolves a `by-cleaning-type` value of the
//!   `cleaning-type` attribute, from the cleaning kinds present among the
//!   kind dependencies, and formats artifacts with the upstream task's
//!   `src_locale` and `trg_locale` attributes and `dataset_sanitized`.
//! - `mono` formats artifacts (and the task's own `substitution-fields`,
//!   once per upstream found) with `provider`, `dataset`,
//!   `dataset_sanitized`, `locale` (the experiment's source or target
//!   language, by `mono-src` / `mono-trg` category), `src_locale` and
//!   `trg_locale`, and sets the last two as attributes.
//!
//! Without datasets in the training config both yield no tasks at all. The
//! Python generators then never pull a task, so nothing is validated
//! either: each sequence here is one step that checks the datasets before
//! it looks at the task.

use std::sync::{Arc, LazyLock};

use taskgraph::keyed_by::{KeyedByOptions, resolve_keyed_by};
use taskgraph::params::Parameters;
use taskgraph::python::{self, object_type_name, py_str};
use taskgraph::schema::{Extra, Schema, dict, opt, req, str_list, str_map};
use taskgraph::task::Task;
use taskgraph::transform::{TaskDesc, TransformConfig, TransformRef, fan_out_reading_dependencies};
use taskgraph::{Error, Map, Registry, Result, Value};

use super::from_datasets::task_fields::{
    dict_setdefault, list_setdefault, required_attribute, required_field, substitute_fields,
};
use super::from_datasets::training_config;
use crate::util::datasets::sanitize_dataset_name;

/// The kinds whose tasks carry a `cleaning-type` attribute, in order of
/// preference.
const CLEANING_KINDS: [&str; 2] = [
    "corpus-clean-parallel-bicleaner-ai",
    "corpus-clean-parallel",
];

/// What `cleaning-type` resolves to when no cleaning kind is a dependency
/// (training continues from a corpus).
const DEFAULT_CLEANING_TYPE: &str = "bicleaner-ai";

fn upstream_attributes_schema() -> Schema {
    str_map(Schema::KeyedBy(
        vec!["cleaning-type"],
        Box::new(Schema::Str),
    ))
}

static BY_LOCALES_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    dict([req(
        "upstreams-config",
        dict([
            req("upstream-task-attributes", upstream_attributes_schema()),
            req("upstream-artifacts", str_list()),
        ])
        .into(),
    )])
    .allow_extra()
    .into()
});

static MONO_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    dict([req(
        "upstreams-config",
        dict([
            req("upstream-task-attributes", upstream_attributes_schema()),
            req("upstream-artifacts", str_list()),
            opt("substitution-fields", str_list()),
        ])
        .into(),
    )])
    .allow_extra()
    .into()
});

pub fn register(registry: &mut Registry) {
    registry.add_transforms(
        "translations_taskgraph.transforms.find_upstreams:by_locales",
        by_locales(),
    );
    registry.add_transforms(
        "translations_taskgraph.transforms.find_upstreams:mono",
        mono(),
    );
}

/// The `by_locales` sequence (validation, `cleaning-type` resolution and
/// the upstream search, in one step).
pub fn by_locales() -> Vec<TransformRef> {
    vec![fan_out_reading_dependencies(
        "find_upstreams:upstreams_for_locales",
        upstreams_for_locales,
    )]
}

/// The `mono` sequence (validation and the upstream search, in one step).
pub fn mono() -> Vec<TransformRef> {
    vec![fan_out_reading_dependencies(
        "find_upstreams:upstreams_for_mono",
        upstreams_for_mono,
    )]
}

/// What the task's `upstreams-config` asks for.
#[derive(Debug)]
struct UpstreamsConfig {
    attributes: Map,
    artifacts: Vec<String>,
    substitution_fields: Vec<String>,
}

/// An upstream task that matched, with the attributes the artifacts are
/// formatted with.
#[derive(Debug)]
struct Upstream<'t> {
    task: &'t Task,
    provider: &'t Value,
    dataset: &'t Value,
}

fn upstreams_for_locales(
    config: &TransformConfig<'_>,
    mut task: TaskDesc,
) -> Result<Vec<TaskDesc>> {
    let Some(datasets) = present_datasets(config.params)? else {
        return Ok(Vec::new());
    };
    BY_LOCALES_SCHEMA.validate_map(&task.fields, Extra::Allow)?;
    resolve_cleaning_type(config, &mut task.fields)?;

    let fields = &mut task.fields;
    let target_datasets = target_datasets(fields, datasets)?;
    let upstreams_config = take_upstreams_config(fields)?;
    dict_setdefault(fields, "dependencies")?;
    dict_setdefault(fields, "fetches")?;

    for upstream in matching_upstreams(config, &upstreams_config, target_datasets)? {
        let mut subs = Map::default();
        subs.insert(
            "src_locale",
            upstream_attribute(upstream.task, "src_locale")?.clone(),
        );
        subs.insert(
            "trg_locale",
            upstream_attribute(upstream.task, "trg_locale")?.clone(),
        );
        subs.insert(
            "dataset_sanitized",
            sanitized(upstream.task, upstream.dataset)?,
        );

        add_dependency(fields, upstream.task)?;
        add_fetches(fields, upstream.task, &upstreams_config.artifacts, &subs)?;
    }
    Ok(vec![task])
}

fn upstreams_for_mono(config: &TransformConfig<'_>, mut task: TaskDesc) -> Result<Vec<TaskDesc>> {
    let src = training_config_locale(config.params, "src")?;
    let trg = training_config_locale(config.params, "trg")?;
    let Some(datasets) = present_datasets(config.params)? else {
        return Ok(Vec::new());
    };
    MONO_SCHEMA.validate_map(&task.fields, Extra::Allow)?;

    let fields = &mut task.fields;
    let category = required_attribute(fields, "dataset-category")?.clone();
    let target_datasets = target_datasets(fields, datasets)?;
    dict_setdefault(fields, "dependencies")?;
    dict_setdefault(fields, "fetches")?;
    let upstreams_config = take_upstreams_config(fields)?;

    for upstream in matching_upstreams(config, &upstreams_config, target_datasets)? {
        let locale = match category.as_str() {
            Some("mono-src") => src,
            Some("mono-trg") => trg,
            _ => {
                return Err(Error::transform(
                    "Don't use `find_upstreams:mono` without the `mono-src` or `mono-trg` category!",
                )
                .at_field("attributes.dataset-category"));
            }
        };
        add_dependency(fields, upstream.task)?;

        let mut subs = Map::default();
        subs.insert("provider", upstream.provider.clone());
        subs.insert("dataset", upstream.dataset.clone());
        subs.insert(
            "dataset_sanitized",
            sanitized(upstream.task, upstream.dataset)?,
        );
        subs.insert("locale", locale.clone());
        subs.insert("src_locale", src.clone());
        subs.insert("trg_locale", trg.clone());
        substitute_fields(fields, &upstreams_config.substitution_fields, &subs)?;
        add_fetches(fields, upstream.task, &upstreams_config.artifacts, &subs)?;

        let attributes = dict_setdefault(fields, "attributes")?;
        attributes.insert("src_locale", src.clone());
        attributes.insert("trg_locale", trg.clone());
    }
    Ok(vec![task])
}

/// `training_config.datasets` when it is there and not empty.
fn present_datasets(params: &Parameters) -> Result<Option<&Value>> {
    let datasets = training_config::training_config_entry(params, "datasets")?;
    Ok(datasets.filter(|d| d.is_truthy()))
}

/// `params.get("training_config", {})["experiment"][key]`.
fn training_config_locale<'p>(params: &'p Parameters, key: &str) -> Result<&'p Value> {
    let Some(experiment) = training_config::training_config_entry(params, "experiment")? else {
        return Err(Error::params(
            "the parameters have no `training_config.experiment` (KeyError: 'experiment')",
        ));
    };
    let Value::Map(experiment) = experiment else {
        return Err(Error::params(format!(
            "parameter `training_config.experiment` must be a mapping, not {}",
            object_type_name(experiment)
        )));
    };
    experiment.get(key).ok_or_else(|| {
        Error::params(format!(
            "the parameters have no `training_config.experiment.{key}` (KeyError: '{key}')"
        ))
    })
}

/// The datasets listed under the task's `dataset-category` attribute
/// (`datasets.get(category, [])`); None stands for the empty default.
fn target_datasets<'p>(task: &Map, datasets: &'p Value) -> Result<Option<&'p Value>> {
    let category = required_attribute(task, "dataset-category")?;
    let datasets = training_config::datasets_map(datasets)?;
    match category {
        Value::Str(name) => Ok(datasets.get(name)),
        Value::List(_) | Value::Map(_) => Err(Error::transform(format!(
            "`attributes.dataset-category` must be a category name, not {} (TypeError: unhashable type)",
            object_type_name(category)
        ))
        .at_field("attributes.dataset-category")),
        // A number or None is never a key of the parameters' string-keyed
        // mapping.
        _ => Ok(None),
    }
}

/// Removes `upstreams-config` from the task (it has passed the schema).
fn take_upstreams_config(task: &mut Map) -> Result<UpstreamsConfig> {
    let Some(Value::Map(upstreams_config)) = task.shift_remove("upstreams-config") else {
        return Err(
            Error::schema("`upstreams-config` must be a mapping").at_field("upstreams-config")
        );
    };
    let attributes = upstreams_config
        .get("upstream-task-attributes")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    let strings = |key: &str| -> Vec<String> {
        upstreams_config
            .get(key)
            .and_then(Value::as_str_list)
            .map(|list| list.into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let mut artifacts = strings("upstream-artifacts");
    artifacts.sort();
    Ok(UpstreamsConfig {
        attributes,
        artifacts,
        substitution_fields: strings("substitution-fields"),
    })
}

/// The kind-dependency tasks, by label, whose attributes equal the wanted
/// ones and whose `<provider>_<dataset>` is one of `target_datasets`.
fn matching_upstreams<'t>(
    config: &'t TransformConfig<'_>,
    upstreams_config: &UpstreamsConfig,
    target_datasets: Option<&Value>,
) -> Result<Vec<Upstream<'t>>> {
    let mut candidates: Vec<&Arc<Task>> = config.kind_dependencies_tasks()?.values().collect();
    candidates.sort_by(|a, b| a.label.cmp(&b.label));

    let mut found = Vec::new();
    for task in candidates {
        let wanted = upstreams_config
            .attributes
            .iter()
            .all(|(key, value)| task.attributes.get(key).unwrap_or(&Value::Null) == value);
        if !wanted {
            continue;
        }

        let provider = upstream_attribute(task, "provider")?;
        let dataset = upstream_attribute(task, "dataset")?;
        let task_dataset = format!("{}_{}", py_str(provider), py_str(dataset));
        if !python_contains(target_datasets, &task_dataset)? {
            continue;
        }
        found.push(Upstream {
            task,
            provider,
            dataset,
        });
    }
    Ok(found)
}

/// `name in container` for the value a dataset category maps to.
fn python_contains(container: Option<&Value>, name: &str) -> Result<bool> {
    match container {
        None => Ok(false),
        Some(Value::List(items)) => Ok(items.iter().any(|item| item.as_str() == Some(name))),
        Some(Value::Map(map)) => Ok(map.contains_key(name)),
        Some(Value::Str(text)) => Ok(text.contains(name)),
        Some(other) => Err(Error::params(format!(
            "a category of `training_config.datasets` must list dataset names, not {}",
            object_type_name(other)
        ))),
    }
}

fn upstream_attribute<'t>(task: &'t Task, name: &str) -> Result<&'t Value> {
    task.attributes.get(name).ok_or_else(|| {
        Error::transform(format!(
            "upstream task `{}` has no `{name}` attribute (KeyError: '{name}')",
            task.label
        ))
    })
}

fn sanitized(task: &Task, dataset: &Value) -> Result<Value> {
    let Value::Str(dataset) = dataset else {
        return Err(Error::transform(format!(
            "the `dataset` attribute of upstream task `{}` must be a string, not {}",
            task.label,
            object_type_name(dataset)
        )));
    };
    Ok(Value::from(sanitize_dataset_name(dataset)))
}

/// Resolves a `by-cleaning-type` in `upstreams-config`'s
/// `upstream-task-attributes.cleaning-type`, when that is set.
fn resolve_cleaning_type(config: &TransformConfig<'_>, task: &mut Map) -> Result<()> {
    let is_set = task
        .get("upstreams-config")
        .and_then(|u| u.get("upstream-task-attributes"))
        .and_then(|a| a.get("cleaning-type"))
        .is_some_and(Value::is_truthy);
    if !is_set {
        return Ok(());
    }

    let cleaning_type = cleaning_type(config)?;
    let item_name = py_str(required_field(task, "description")?);
    let Some(Value::Map(upstreams_config)) = task.get_mut("upstreams-config") else {
        return Ok(());
    };
    resolve_keyed_by(
        upstreams_config,
        "upstream-task-attributes.cleaning-type",
        &item_name,
        &[("cleaning-type", Value::from(cleaning_type))],
        KeyedByOptions::default(),
    )
    .map_err(|e| e.at_field("upstreams-config.upstream-task-attributes.cleaning-type"))
}

/// The preferred cleaning kind whose tasks' `cleaning-type` attributes
/// name it, else [`DEFAULT_CLEANING_TYPE`].
fn cleaning_type(config: &TransformConfig<'_>) -> Result<&'static str> {
    let mut candidates = Vec::new();
    for upstream in config.kind_dependencies_tasks()?.values() {
        if !CLEANING_KINDS.contains(&upstream.kind.as_str()) {
            continue;
        }
        candidates.push(upstream_attribute(upstream, "cleaning-type")?);
    }

    let preferred = CLEANING_KINDS
        .into_iter()
        .find(|kind| candidates.iter().any(|c| c.as_str() == Some(kind)));
    Ok(preferred.unwrap_or(DEFAULT_CLEANING_TYPE))
}

/// `task["dependencies"][label] = label`, and an (initially empty) fetch
/// list for the upstream.
fn add_dependency(task: &mut Map, upstream: &Task) -> Result<()> {
    let label = upstream.label.as_str();
    dict_setdefault(task, "dependencies")?.insert(label, Value::from(label));
    list_setdefault(dict_setdefault(task, "fetches")?, label, "fetches")?;
    Ok(())
}

/// Appends one fetch per artifact (already sorted), formatted with
/// `subs`, to the upstream's fetch list.
///
/// The list was made earlier; Python indexes it again here, after
/// `substitution-fields` may have rewritten `fetches`, so it must still be
/// there.
fn add_fetches(task: &mut Map, upstream: &Task, artifacts: &[String], subs: &Map) -> Result<()> {
    let label = upstream.label.as_str();
    let fetches = dict_setdefault(task, "fetches")?
        .get_mut(label)
        .ok_or_else(|| {
            Error::transform(format!(
                "`fetches` lost its `{label}` entry (KeyError: '{label}')"
            ))
            .at_field("fetches")
        })?;
    let type_name = object_type_name(fetches);
    let fetches = fetches.as_list_mut().ok_or_else(|| {
        Error::transform(format!(
            "`fetches.{label}` must be a list to append to, not {type_name}"
        ))
        .at_field("fetches")
    })?;
    for artifact in artifacts {
        let name = python::format_with(artifact, subs)
            .map_err(|e| e.at_field("upstreams-config.upstream-artifacts"))?;
        let mut fetch = Map::default();
        fetch.insert("artifact", Value::from(name));
        fetch.insert("extract", Value::Bool(false));
        fetches.push(Value::Map(fetch));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
