//! `translations_taskgraph.transforms.cached_tasks`: taskgraph's cached
//! tasks, with digests that also cover chosen parameters.
//!
//! Each task declares `attributes.cache`: a `type`, optional `resources`
//! (file patterns, possibly keyed by the task's `provider` attribute), an
//! optional `version` and optional `from-parameters` (`name: dotted.path`,
//! or `name: [path, ...]` where the first non-None value wins). Its digest
//! data is, in order: every item of every element of `worker.command`
//! (the reference chains the command's elements, so a string element
//! contributes one line per character), the hash of the resource files,
//! `name:value` for each parameter, and the version. Then, as in taskgraph,
//! the sorted digests of its parents and the chain-of-trust marker; the
//! cache name is the label with `/` replaced by `_`.
//!
//! Every line is kept with where it came from, so that `graphgen digest`
//! can explain a translations digest as it explains taskgraph's own.

use std::sync::{Arc, LazyLock};

use taskgraph::digest::{DigestInput, DigestRecord, FileEntry, InputSource};
use taskgraph::python::{object_type_name, py_str};
use taskgraph::schema::{Extra, Schema, dict, opt, req, str_list, str_map};
use taskgraph::transform::{
    TaskDesc, TransformConfig, TransformRef, batch_reading_dependencies, per_task, validate,
};
use taskgraph::{Error, Map, Registry, Result, Value};

use super::resolve_upload_bucket::resolve_keyed_field;

#[cfg(test)]
pub(crate) mod test_support;

/// The module name kinds list (`:transforms` is implied).
pub const NAME: &str = "translations_taskgraph.transforms.cached_tasks";

pub fn register(registry: &mut Registry) {
    registry.add_transforms(NAME, transforms());
    // Digests hash the files `attributes.cache.resources` names.
    registry.note_transforms_read_repository_files(NAME);
}

/// The reference's sequence: validate, resolve `resources`, build the
/// digest data, then digest in dependency order.
pub fn transforms() -> Vec<TransformRef> {
    vec![
        validate("translations.cached_tasks:validate", &SCHEMA, Extra::Allow),
        per_task(
            "translations.cached_tasks:resolved_keyed_by_fields",
            resolve_resources,
        ),
        per_task("translations.cached_tasks:add_cache", add_cache),
        batch_reading_dependencies(
            "translations.cached_tasks:cache_task",
            taskgraph::transforms::cached_tasks::cache_task,
        ),
    ]
}

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let cache = dict([
        req("type", Schema::Str),
        opt(
            "resources",
            Schema::KeyedBy(vec!["provider"], Box::new(str_list())),
        ),
        opt("version", Schema::Int),
        opt(
            "from-parameters",
            str_map(Schema::OneOf(vec![str_list(), Schema::Str])),
        ),
    ]);
    dict([req("attributes", dict([req("cache", cache.into())]).into())])
        .allow_extra()
        .into()
});

/// `attributes.cache.resources` may be keyed by the task's `provider`
/// attribute (a missing one counts as None).
fn resolve_resources(_config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let provider = task
        .get("attributes")
        .and_then(|a| a.get("provider"))
        .cloned()
        .unwrap_or(Value::Null);
    let item_name = description(task)?;
    let cache = cache_section_mut(task)?;
    resolve_keyed_field(
        cache,
        "resources",
        &item_name,
        &[("provider", provider)],
        "attributes.cache.resources",
    )
}

/// The `description` the reference names the task by in keyed-by errors.
fn description(task: &TaskDesc) -> Result<String> {
    task.get("description")
        .map(py_str)
        .ok_or_else(|| Error::transform("the task has no `description`").at_field("description"))
}

fn cache_section(task: &TaskDesc) -> Result<&Map> {
    task.get("attributes")
        .and_then(|a| a.get("cache"))
        .and_then(Value::as_map)
        .ok_or_else(|| {
            Error::schema("`attributes.cache` must be a mapping").at_field("attributes.cache")
        })
}

fn cache_section_mut(task: &mut TaskDesc) -> Result<&mut Map> {
    task.fields
        .get_mut("attributes")
        .and_then(|a| a.get_mut("cache"))
        .and_then(Value::as_map_mut)
        .ok_or_else(|| {
            Error::schema("`attributes.cache` must be a mapping").at_field("attributes.cache")
        })
}

/// Sets `cache: {type, name, digest-data}` as the reference does, and keeps
/// the same lines with their sources beside the task until `cache_task`
/// digests them.
fn add_cache(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let cache = cache_section(task)?;
    let cache_type = cache.get("type").cloned().unwrap_or_default();

    let mut inputs = command_inputs(task)?;

    if let Some(resources) = cache.get("resources").filter(|r| r.is_truthy()) {
        inputs.push(resource_input(config, resources)?);
    }

    if let Some(parameters) = cache.get("from-parameters").filter(|p| p.is_truthy()) {
        inputs.extend(parameter_inputs(config, parameters)?);
    }

    if let Some(version) = cache.get("version").filter(|v| v.is_truthy()) {
        inputs.push(data_input(py_str(version)));
    }

    let label = match task.get("label") {
        Some(Value::Str(label)) => label.clone(),
        _ => return Err(Error::transform("the task has no string `label`").at_field("label")),
    };
    // Taskgraph separates the parts of a cache digest with `/`.
    let cache_name = label.replace('/', "_");

    let digest_data: Vec<Value> = inputs
        .iter()
        .map(|i| Value::from(i.text.as_str()))
        .collect();
    let mut section = Map::default();
    section.insert("type", cache_type.clone());
    section.insert("name", Value::from(cache_name.as_str()));
    section.insert("digest-data", Value::List(digest_data));
    task.fields.insert("cache", Value::Map(section));

    task.digest = Some(Arc::new(DigestRecord {
        label,
        cache_type: py_str(&cache_type),
        cache_name,
        digest: String::new(),
        inputs,
        index_paths: Vec::new(),
    }));
    Ok(())
}

fn data_input(text: String) -> DigestInput {
    DigestInput {
        text,
        source: InputSource::Data,
    }
}

/// `itertools.chain.from_iterable(worker.command)`: the items of each
/// element, where iterating a string yields its characters and a mapping
/// its keys. Every item must be a string, as the reference later joins
/// them with newlines.
///
/// A string element gives one input holding its characters joined by
/// newlines rather than one input per character: the joined digest text
/// is the same, and a task's command is thousands of characters long.
fn command_inputs(task: &TaskDesc) -> Result<Vec<DigestInput>> {
    let command = task
        .get("worker")
        .and_then(|w| w.get("command"))
        .ok_or_else(|| {
            Error::transform("the task has no `worker.command`").at_field("worker.command")
        })?;
    let not_iterable = |value: &Value| {
        Error::transform(format!(
            "cannot hash the command: '{}' object is not iterable",
            object_type_name(value)
        ))
        .at_field("worker.command")
    };
    let not_a_string = |line: usize, value: &Value| {
        Error::transform(format!(
            "cannot hash the command: sequence item {line}: expected str instance, {} found",
            object_type_name(value)
        ))
        .at_field("worker.command")
    };

    // A string command iterates to its characters, each of which spells
    // itself: the same lines as one string element.
    let elements: Vec<Value> = match command {
        Value::List(items) => items.clone(),
        Value::Str(_) => vec![command.clone()],
        Value::Map(map) => map.keys().map(Value::from).collect(),
        other => return Err(not_iterable(other)),
    };
    let mut inputs = Vec::new();
    let mut lines = 0;
    for element in &elements {
        match element {
            Value::Str(text) if text.is_empty() => {}
            Value::Str(text) => {
                inputs.push(DigestInput {
                    text: one_character_per_line(text),
                    source: InputSource::Characters,
                });
                lines += text.chars().count();
            }
            Value::List(items) => {
                for item in items {
                    let Value::Str(text) = item else {
                        return Err(not_a_string(lines, item));
                    };
                    inputs.push(data_input(text.clone()));
                    lines += 1;
                }
            }
            Value::Map(map) => {
                inputs.extend(map.keys().map(|key| data_input(key.to_owned())));
                lines += map.len();
            }
            other => return Err(not_iterable(other)),
        }
    }
    Ok(inputs)
}

/// The lines Python's `"\n".join(text)` makes of a string.
fn one_character_per_line(text: &str) -> String {
    let mut lines = String::with_capacity(text.len() * 2);
    for (number, character) in text.chars().enumerate() {
        if number > 0 {
            lines.push('\n');
        }
        lines.push(character);
    }
    lines
}

/// The hash of the committed files matching the (resolved) resource
/// patterns, relative to the repository root.
fn resource_input(config: &TransformConfig<'_>, resources: &Value) -> Result<DigestInput> {
    let patterns: Vec<String> = resources
        .as_str_list()
        .map(|list| list.into_iter().map(str::to_owned).collect())
        .ok_or_else(|| {
            Error::schema(format!(
                "`attributes.cache.resources` must resolve to a list of strings, not {}",
                py_str(resources)
            ))
            .at_field("attributes.cache.resources")
        })?;

    let graph_config = config.graph_config;
    let hashed = graph_config
        .hash_cache()
        .hash_paths_detailed(graph_config.vcs_root(), &patterns)
        .map_err(|e| e.at_field("attributes.cache.resources"))?;
    Ok(DigestInput {
        text: hashed.hash.clone(),
        source: InputSource::Files {
            patterns,
            files: hashed.files.iter().map(FileEntry::from).collect(),
        },
    })
}

/// `name:value` for each entry of `from-parameters`, in order. A single
/// path always contributes (`name:None` when it is missing); a list of
/// paths contributes its first non-None value, or nothing.
fn parameter_inputs(config: &TransformConfig<'_>, parameters: &Value) -> Result<Vec<DigestInput>> {
    let parameters = parameters.as_map().ok_or_else(|| {
        Error::schema("`attributes.cache.from-parameters` must be a mapping")
            .at_field("attributes.cache.from-parameters")
    })?;

    let mut inputs = Vec::new();
    for (name, path) in parameters {
        let value = match path {
            Value::Str(path) => Some(parameter(config, path)?.cloned().unwrap_or_default()),
            Value::List(choices) => first_set_parameter(config, choices)?,
            _ => None,
        };
        if let Some(value) = value {
            inputs.push(DigestInput {
                text: format!("{name}:{}", py_str(&value)),
                source: InputSource::Parameter {
                    name: name.to_owned(),
                },
            });
        }
    }
    Ok(inputs)
}

/// The first of `choices` whose parameter is set and not None.
fn first_set_parameter(config: &TransformConfig<'_>, choices: &[Value]) -> Result<Option<Value>> {
    for choice in choices {
        if let Some(value) = parameter(config, &py_str(choice))?
            && !value.is_null()
        {
            return Ok(Some(value.clone()));
        }
    }
    Ok(None)
}

/// The parameter at a dotted path (`training_config.experiment.src`), looked
/// up the way the pipeline's `deep_get` does.
fn parameter<'p>(config: &'p TransformConfig<'_>, dotted: &str) -> Result<Option<&'p Value>> {
    config
        .params
        .deep_get(dotted)
        .map_err(|e| e.at_field("attributes.cache.from-parameters"))
}

#[cfg(test)]
mod tests;
