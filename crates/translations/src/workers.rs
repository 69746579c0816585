//! Payload builders for the pipeline's scriptworker uploads.
//!
//! The `upload-artifacts` worker alias names
//! `scriptworker-beetmover-translations`, the pipeline's own builder, and
//! the `upload-data` alias names `scriptworker-beetmover-data`, which the
//! reference gets from mozilla-taskgraph (registered by the project's hook).
//! mozilla-taskgraph's other builders (bitrise, shipit, signing, lando) and
//! its graph-config keys (`shipit`, `version-parser`) are not used by any
//! translations kind, so they are not provided.

use std::sync::Arc;

use indexmap::IndexMap;
use taskgraph::registry::{PayloadBuilder, Registry};
use taskgraph::schema::{Field, Schema, dict, opt, req, str_list, str_map, taskref_or_string};
use taskgraph::transform::{TransformConfig, list_entry, map_entry};
use taskgraph::{Error, Map, Result, Value};

use crate::util::upload::upload_upstream;

const BEETMOVER_TRANSLATIONS: &str = "scriptworker-beetmover-translations";
const BEETMOVER_DATA: &str = "scriptworker-beetmover-data";

pub fn register(registry: &mut Registry) {
    registry.add_payload_builder(
        BEETMOVER_TRANSLATIONS,
        PayloadBuilder {
            schema: payload_schema(BEETMOVER_TRANSLATIONS, beetmover_translations_fields()),
            build: build_beetmover_translations,
        },
    );
    registry.add_payload_builder(
        BEETMOVER_DATA,
        PayloadBuilder {
            schema: payload_schema(BEETMOVER_DATA, beetmover_data_fields()),
            build: build_beetmover_data,
        },
    );
}

/// A `worker` schema as a payload builder declares it: its own
/// `implementation`, an optional `os`, the builder's fields and nothing
/// else.
fn payload_schema(implementation: &'static str, fields: Vec<Field>) -> Arc<Schema> {
    let schema = dict([
        req("implementation", Schema::literal(implementation)),
        opt("os", Schema::Str),
    ])
    .extend(fields)
    .deny_extra();
    Arc::new(schema.into())
}

fn beetmover_translations_fields() -> Vec<Field> {
    vec![
        req("app-name", Schema::Str),
        req("bucket", Schema::Str),
        // Paths or globs of the upstream task's artifacts.
        req("upstream-artifacts", str_list()),
        // Path or glob -> where to upload the matching artifacts.
        req(
            "artifact-map",
            str_map(Schema::ListOf(vec![taskref_or_string()])),
        ),
        opt("allow-overwrites", Schema::Bool),
    ]
}

fn beetmover_data_fields() -> Vec<Field> {
    let upload = dict([
        req("data", Schema::Str),
        req("content-type", Schema::Str),
        req("destinations", Schema::ListOf(vec![taskref_or_string()])),
    ]);
    vec![
        req("app-name", Schema::Str),
        req("bucket", Schema::Str),
        req("project", Schema::Str),
        req("data-map", Schema::ListOf(vec![upload.into()])),
        opt("dry-run", Schema::Bool),
    ]
}

/// Uploads artifacts of the upload task's upstream task (or of the
/// decision task, for upload tasks without dependencies such as the task
/// graph upload) to a translations bucket.
fn build_beetmover_translations(
    _: &TransformConfig<'_>,
    task: &mut Map,
    task_def: &mut Map,
) -> Result<()> {
    let upstream = upstream_reference(task)?;
    let worker = worker(task)?;
    let bucket = worker_str(worker, "bucket")?;

    let mut paths = Map::default();
    for (pattern, destinations) in worker_map(worker, "artifact-map")? {
        let destinations = Map::from_iter([("destinations", destinations.clone())]);
        paths.insert(pattern, Value::Map(destinations));
    }
    let upstream_artifacts = Map::from_iter([
        ("paths", worker_field(worker, "upstream-artifacts")?.clone()),
        ("taskId", upstream.clone()),
        ("taskType", Value::from("build")),
        ("optional", Value::Bool(true)),
    ]);
    let artifact_map = Map::from_iter([("taskId", upstream), ("paths", Value::Map(paths))]);
    let payload = Map::from_iter([
        (
            "allow_overwrites",
            worker
                .get("allow-overwrites")
                .cloned()
                .unwrap_or(Value::Bool(false)),
        ),
        ("releaseProperties", app_name_property(worker)?),
        (
            "upstreamArtifacts",
            Value::List(vec![Value::Map(upstream_artifacts)]),
        ),
        ("artifactMap", Value::List(vec![Value::Map(artifact_map)])),
    ]);
    let scopes = Value::str_list([
        format!("project:translations:releng:beetmover:bucket:{bucket}"),
        "project:translations:releng:beetmover:action:upload-translations-artifacts".to_owned(),
    ]);

    mark_scriptworker(task_def);
    task_def.insert("payload", Value::Map(payload));
    // These scopes replace any the task had.
    task_def.insert("scopes", scopes);
    Ok(())
}

/// `{task-reference: <name>}` for the dependency whose artifacts are
/// uploaded: the name, not the label, as references resolve names.
fn upstream_reference(task: &Map) -> Result<Value> {
    let dependencies = dependency_names(task)?;
    let name = if dependencies.is_empty() {
        "decision"
    } else {
        upload_upstream(&dependencies)?.0
    };
    Ok(Value::Map(Map::from_iter([(
        "task-reference",
        Value::from(format!("<{name}>")),
    )])))
}

/// The task's dependencies (name -> label).
fn dependency_names(task: &Map) -> Result<IndexMap<String, String>> {
    let Some(dependencies) = task.get("dependencies") else {
        return Ok(IndexMap::new());
    };
    let Some(dependencies) = dependencies.as_map() else {
        return Err(
            Error::schema("`dependencies` must map names to labels").at_field("dependencies")
        );
    };
    dependencies
        .iter()
        .map(|(name, label)| match label.as_str() {
            Some(label) => Ok((name.to_owned(), label.to_owned())),
            None => Err(Error::schema(format!(
                "the label of dependency `{name}` must be a string"
            ))
            .at_field(&format!("dependencies.{name}"))),
        })
        .collect()
}

/// Uploads literal data (base64 encoded in the task) to a bucket.
fn build_beetmover_data(_: &TransformConfig<'_>, task: &mut Map, task_def: &mut Map) -> Result<()> {
    let worker = worker(task)?;
    let project = worker_str(worker, "project")?;
    let bucket = worker_str(worker, "bucket")?;
    let uploads = worker_field(worker, "data-map")?
        .as_list()
        .ok_or_else(|| Error::schema("`data-map` must be a list").at_field("worker.data-map"))?;
    let data_map = uploads
        .iter()
        .enumerate()
        .map(|(index, upload)| data_upload(upload, index))
        .collect::<Result<Vec<Value>>>()?;
    let payload = Map::from_iter([
        ("releaseProperties", app_name_property(worker)?),
        ("dataMap", Value::List(data_map)),
    ]);
    let scopes = [
        format!("project:{project}:releng:beetmover:bucket:{bucket}"),
        format!("project:{project}:releng:beetmover:action:upload-data"),
    ];

    mark_scriptworker(task_def);
    task_def.insert("payload", Value::Map(payload));
    // These scopes add to those the task had.
    list_entry(task_def, "scopes").extend(scopes.map(Value::from));
    Ok(())
}

/// One `dataMap` entry, from the `data-map` entry at `index`.
fn data_upload(upload: &Value, index: usize) -> Result<Value> {
    let field = |key: &str| {
        upload.get(key).ok_or_else(|| {
            Error::schema(format!("`{key}` must be given"))
                .at_field(&format!("worker.data-map[{index}].{key}"))
        })
    };
    let data = field("data")?;
    if !data.as_str().is_some_and(python_decodes_base64) {
        return Err(Error::transform(format!(
            "the data to upload must be base64 encoded; it is {}",
            taskgraph::python::py_str(data)
        ))
        .at_field(&format!("worker.data-map[{index}].data")));
    }
    Ok(Value::Map(Map::from_iter([
        ("data", data.clone()),
        ("contentType", field("content-type")?.clone()),
        ("destinations", field("destinations")?.clone()),
    ])))
}

/// Whether Python's `base64.b64decode` (not validating) accepts `text`.
///
/// It takes ASCII text only, skips characters outside the base64
/// alphabet, stops at padding that completes a group of four, and fails
/// when the characters read leave a group incomplete.
pub fn python_decodes_base64(text: &str) -> bool {
    if !text.is_ascii() {
        return false;
    }
    let mut position_in_group = 0u8;
    let mut pads = 0u8;
    for byte in text.bytes() {
        if byte == b'=' {
            if position_in_group >= 2 {
                pads += 1;
                if position_in_group + pads >= 4 {
                    return true;
                }
            }
        } else if byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/' {
            pads = 0;
            position_in_group = (position_in_group + 1) % 4;
        }
    }
    position_in_group == 0
}

/// Tags the definition as one run by scriptworker.
fn mark_scriptworker(task_def: &mut Map) {
    map_entry(task_def, "tags").insert("worker-implementation", Value::from("scriptworker"));
}

/// `{appName: <app-name>}`.
fn app_name_property(worker: &Map) -> Result<Value> {
    let app_name = worker_field(worker, "app-name")?.clone();
    Ok(Value::Map(Map::from_iter([("appName", app_name)])))
}

fn worker(task: &Map) -> Result<&Map> {
    task.get("worker")
        .and_then(Value::as_map)
        .ok_or_else(|| Error::schema("the task has no `worker` mapping").at_field("worker"))
}

fn worker_field<'w>(worker: &'w Map, key: &str) -> Result<&'w Value> {
    worker.get(key).ok_or_else(|| {
        Error::schema(format!("`{key}` must be given")).at_field(&format!("worker.{key}"))
    })
}

fn worker_str<'w>(worker: &'w Map, key: &str) -> Result<&'w str> {
    worker_field(worker, key)?.as_str().ok_or_else(|| {
        Error::schema(format!("`{key}` must be a string")).at_field(&format!("worker.{key}"))
    })
}

fn worker_map<'w>(worker: &'w Map, key: &str) -> Result<&'w Map> {
    worker_field(worker, key)?.as_map().ok_or_else(|| {
        Error::schema(format!("`{key}` must be a mapping")).at_field(&format!("worker.{key}"))
    })
}

#[cfg(test)]
mod tests;
