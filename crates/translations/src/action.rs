//! The input of the pipeline's `train` action: a training configuration,
//! checked the way the action's form checks it before anything runs.
//!
//! The action declares its input as a JSON Schema in which every key is
//! required unless marked optional, and no object takes keys it does not
//! declare (the "strict" rewrite of the schema, applied to each object that
//! says `type: object`). Compared to the `training_config` parameter it
//! also names the stages a run may stop at or restart from, and carries
//! the two restart keys, `previous-group-ids` and `start-task-prefix`,
//! which the action takes out before the rest becomes the parameter.
//!
//! Every error is reported, each with the path of the key at fault, since
//! a config is usually fixed in one go.
//!
//! Two additions: a project may list its own worker classes in config.yml
//! (`graphgen.worker-classes`; the translations pipeline's are
//! `gcp-standard` and `gcp-spot`), and `existing_tasks` (label → task id), which the action's
//! code reads from its input although its schema leaves it out, is
//! accepted here, so that a config can pin tasks by hand.

use std::path::Path;

use jsonschema::paths::LocationSegment;
use serde_json::{Value as Json, json};
use taskgraph::config::GraphConfig;
use taskgraph::python::to_serde_json;
use taskgraph::{Error, Result, Value};

/// The keys the action removes from its input before the rest becomes the
/// `training_config` parameter.
pub const RESTART_KEYS: [&str; 3] = ["previous-group-ids", "start-task-prefix", "existing_tasks"];

/// Checks a training configuration read from `file` against the `train`
/// action's input schema for this project. The error lists every problem
/// found, each with its path in the configuration.
pub fn check_train_input(config: &Value, graph_config: &GraphConfig, file: &Path) -> Result<()> {
    let schema = train_input_schema(graph_config);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| Error::params(format!("the train action's schema does not build: {e}")))?;
    let instance = to_json(config)?;

    let mut problems: Vec<String> = validator
        .iter_errors(&instance)
        .map(|error| {
            let path = dotted_path(error.instance_path().segments());
            let place = if path.is_empty() {
                "the configuration".to_owned()
            } else {
                format!("`{path}`")
            };
            format!("{place}: {error}")
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }

    problems.sort();
    problems.dedup();
    let count = problems.len();
    let noun = if count == 1 { "problem" } else { "problems" };
    Err(Error::params(format!(
        "the training configuration has {count} {noun}:\n  - {}",
        problems.join("\n  - ")
    ))
    .with_file(file))
}

/// A JSON Schema instance path as the config's keys: `experiment.src`,
/// `datasets.train[0]`.
fn dotted_path<'a>(segments: impl Iterator<Item = LocationSegment<'a>>) -> String {
    let mut path = String::new();
    for segment in segments {
        match segment {
            LocationSegment::Property(name) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&name);
            }
            LocationSegment::Index(index) => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

fn to_json(value: &Value) -> Result<Json> {
    to_serde_json(value, false)
        .map_err(|e| Error::params(format!("the training configuration is not JSON data: {e}")))
}

/// The action's input schema, made strict, with this project's stages.
pub fn train_input_schema(graph_config: &GraphConfig) -> Json {
    let stages: Vec<Json> = graph_config
        .get("valid-stages")
        .and_then(Value::as_list)
        .map(|stages| {
            stages
                .iter()
                .filter_map(Value::as_str)
                .map(Json::from)
                .collect()
        })
        .unwrap_or_default();
    let mut restart_stages = stages.clone();
    restart_stages.push(Json::from(""));

    let mut schema = object(json!({
        "previous-group-ids": optional(json!({"type": "array", "items": string()})),
        "start-task-prefix": optional(json!({"type": "string", "enum": restart_stages})),
        "existing_tasks": optional(json!({
            "type": "object",
            "additionalProperties": string(),
        })),
        "target-stage": {"type": "string", "enum": stages},
        "wandb-publication": boolean(),
        "experiment": experiment(),
        "marian-args": marian_args(),
        "datasets": datasets(),
        "continuation": optional(continuation()),
        "taskcluster": taskcluster(&worker_classes(graph_config)),
    }));
    make_strict(&mut schema);
    schema
}

fn string() -> Json {
    json!({"type": "string"})
}

fn number() -> Json {
    json!({"type": "number"})
}

fn boolean() -> Json {
    json!({"type": "boolean"})
}

fn uri() -> Json {
    json!({"type": "string", "format": "uri"})
}

fn one_of(choices: &[&str]) -> Json {
    json!({"type": "string", "enum": choices})
}

fn object(properties: Json) -> Json {
    json!({"type": "object", "properties": properties})
}

fn map_of(values: Json) -> Json {
    json!({"type": "object", "additionalProperties": values})
}

/// Marks a property as one that may be left out.
fn optional(mut schema: Json) -> Json {
    schema["optional"] = Json::Bool(true);
    schema
}

fn experiment() -> Json {
    let thresholds = || {
        object(json!({
            "default-threshold": number(),
            "dataset-thresholds": map_of(number()),
        }))
    };
    let mono_limits = || object(json!({"total": number(), "per-dataset": number()}));
    object(json!({
        "name": string(),
        "src": string(),
        "trg": string(),
        "archive-corpora": boolean(),
        "teacher-ensemble": number(),
        "teacher-mode": one_of(&["one-stage", "two-stage"]),
        "teacher-decoder": one_of(&["marian", "ctranslate2"]),
        "corpus-max-sentences": optional(number()),
        "dev-max-sentences": optional(number()),
        "student-model": one_of(&["tiny", "base", "base-memory"]),
        "mono-max-sentences-src": mono_limits(),
        "mono-max-sentences-trg": mono_limits(),
        "spm-sample-size": number(),
        "spm-vocab-size": number(),
        "spm-vocab-split": boolean(),
        "spm-norm-rule": string(),
        "best-model": string(),
        "opuscleaner-mode": one_of(&["custom", "defaults"]),
        // These two declare properties without `type: object`, so the
        // strict rewrite leaves them (and what is inside them) open.
        "bicleaner": {"properties": {
            "default-threshold": number(),
            "dataset-thresholds": map_of(number()),
        }},
        "hplt-min-doc-score": object(json!({"mono-src": number(), "mono-trg": number()})),
        "monocleaner": {"properties": {
            "mono-src": thresholds(),
            "mono-trg": thresholds(),
        }},
    }))
}

fn marian_args() -> Json {
    let args = || map_of(string());
    object(json!({
        "training-backward": args(),
        "training-teacher": args(),
        "training-student": args(),
        "training-student-finetuned": args(),
        "decoding-backward": args(),
        "decoding-teacher": args(),
    }))
}

fn datasets() -> Json {
    let names = || json!({"type": "array", "items": string()});
    object(json!({
        // Continuation from pretrained corpora may leave these out.
        "train": optional(names()),
        "devtest": names(),
        "test": names(),
        "mono-src": optional(names()),
        "mono-trg": optional(names()),
    }))
}

fn continuation() -> Json {
    let corpus = || {
        optional(object(json!({
            "src": uri(),
            "trg": uri(),
            "tok-src": optional(uri()),
            "tok-trg": optional(uri()),
            "alignments": optional(uri()),
        })))
    };
    let mode = || one_of(&["continue", "init", "use"]);
    let kind = || one_of(&["default", "opusmt"]);
    object(json!({
        "vocab": optional(object(json!({"src": uri(), "trg": uri()}))),
        "corpora": optional(object(json!({
            "distillation": corpus(),
            "backtranslations": corpus(),
            "parallel": corpus(),
        }))),
        "models": optional(object(json!({
            "teacher": optional(object(json!({
                "urls": {"type": "array", "items": uri(), "minItems": 1},
                "mode": mode(),
                "type": kind(),
            }))),
            "backwards": optional(object(json!({
                "url": string(),
                "mode": mode(),
                "type": kind(),
            }))),
        }))),
    }))
}

fn taskcluster(worker_classes: &[&str]) -> Json {
    object(json!({
        "split-chunks": number(),
        "upload-bucket": one_of(&["development", "production"]),
        "worker-classes": map_of(one_of(worker_classes)),
    }))
}

/// The worker classes a kind may be given: the translations pipeline's
/// two, unless config.yml lists its own under `graphgen.worker-classes`.
fn worker_classes(graph_config: &GraphConfig) -> Vec<&str> {
    let listed = graph_config
        .get("graphgen")
        .and_then(|g| g.get("worker-classes"))
        .and_then(Value::as_list);
    match listed {
        Some(classes) => classes.iter().filter_map(Value::as_str).collect(),
        None => vec!["gcp-standard", "gcp-spot"],
    }
}

/// The strict rewrite: in every `type: object` schema with properties,
/// each property not marked optional is required and undeclared keys are
/// refused (unless the schema says otherwise); array items likewise. The
/// `optional` markers are taken out, as JSON Schema does not know them.
fn make_strict(schema: &mut Json) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    let kind = map.get("type").and_then(Json::as_str).map(str::to_owned);
    match kind.as_deref() {
        Some("object") if map.contains_key("properties") => {
            map.entry("additionalProperties")
                .or_insert(Json::Bool(false));
            let mut required = Vec::new();
            let properties = map.get_mut("properties").and_then(Json::as_object_mut);
            for (name, property) in properties.into_iter().flatten() {
                let optional = property
                    .as_object_mut()
                    .and_then(|p| p.remove("optional"))
                    .is_some_and(|flag| flag == Json::Bool(true));
                if !optional {
                    required.push(Json::from(name.as_str()));
                }
                make_strict(property);
            }
            map.insert("required".to_owned(), Json::Array(required));
        }
        Some("array") => {
            if let Some(items) = map.get_mut("items") {
                make_strict(items);
            }
        }
        _ => strip_markers(schema),
    }
}

/// Takes `optional` markers out of a schema the strict rewrite does not
/// enter (so its properties stay optional, as in the action).
fn strip_markers(schema: &mut Json) {
    if let Some(map) = schema.as_object_mut() {
        if map.get("optional").is_some_and(Json::is_boolean) {
            map.remove("optional");
        }
        for value in map.values_mut() {
            strip_markers(value);
        }
    }
}

#[cfg(test)]
mod tests;
