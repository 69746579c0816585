//! `taskgraph.transforms.cached_tasks`: tasks whose outputs are reused
//! when their inputs have not changed.
//!
//! A task with a `cache: {type, name, digest-data}` section gets a digest:
//! the SHA-256 of its digest data, followed by the sorted
//! `<type>/<name>/<digest>` of every dependency (each of which must itself
//! be cached), and `True` when the worker has chain of trust. The digest
//! names index routes at which the task's result is stored, and an
//! `index-search` optimization that finds it again at the current level
//! or a higher one.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::python::py_str;
use crate::transform::{TaskDesc, TransformConfig, TransformRef, batch, list_entry, map_entry};
use crate::transforms::run::order_tasks;
use crate::value::{Map, Value};

pub fn transforms() -> Vec<TransformRef> {
    vec![batch("cached_tasks:cache_task", cache_task)]
}

/// `<type>/<name>/<digest>` of a `cached_task` attribute.
pub fn format_task_digest(cached_task: &Value) -> String {
    ["type", "name", "digest"]
        .map(|k| cached_task.get(k).map(py_str).unwrap_or_default())
        .join("/")
}

fn cache_task(config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
    let mut digests: HashMap<String, String> = HashMap::new();
    for task in config.kind_dependencies_tasks.values() {
        if let Some(cached) = task.attributes.get("cached_task") {
            digests.insert(task.label.clone(), format_task_digest(cached));
        }
    }

    let mut out = Vec::new();
    for mut task in order_tasks(config.kind, tasks)? {
        let location = task.location(config.kind);
        let Some(cache) = task.fields.shift_remove("cache") else {
            out.push(task);
            continue;
        };
        let label = task.get_str("label").unwrap_or_default().to_owned();
        let digest_data = digest_data(&task, &cache, &digests).map_err(|e| e.at(&location))?;
        let cache_type = cache.get("type").map(py_str).unwrap_or_default();
        let cache_name = cache.get("name").map(py_str).unwrap_or_default();
        add_optimization(
            config,
            &mut task.fields,
            &cache_type,
            &cache_name,
            &digest_data,
        )
        .map_err(|e| e.at(&location))?;
        let cached = task
            .fields
            .get("attributes")
            .and_then(|a| a.get("cached_task"))
            .cloned()
            .unwrap_or_default();
        digests.insert(label, format_task_digest(&cached));
        out.push(task);
    }
    Ok(out)
}

fn digest_data(
    task: &TaskDesc,
    cache: &Value,
    digests: &HashMap<String, String>,
) -> Result<Vec<String>> {
    let mut data: Vec<String> = cache
        .get("digest-data")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
        .map(py_str)
        .collect();

    let mut parents = Vec::new();
    for parent in task
        .get("dependencies")
        .and_then(Value::as_map)
        .into_iter()
        .flat_map(|d| d.values())
    {
        let parent = py_str(parent);
        match digests.get(&parent) {
            Some(digest) => parents.push(digest.clone()),
            None => {
                return Err(Error::transform(format!(
                    "Cached task {} has uncached parent task: {parent}",
                    task.display_name()
                )));
            }
        }
    }
    parents.sort();
    data.extend(parents);

    let chain_of_trust = task.get("worker").and_then(|w| w.get("chain-of-trust"));
    if let Some(cot) = chain_of_trust.filter(|c| c.is_truthy()) {
        data.push(py_str(cot));
    }
    Ok(data)
}

/// Adds the cache routes, the index-search optimization and the
/// `cached_task` attribute (`add_optimization`).
pub fn add_optimization(
    config: &TransformConfig<'_>,
    desc: &mut Map,
    cache_type: &str,
    cache_name: &str,
    digest_data: &[String],
) -> Result<()> {
    let digest = format!("{:x}", Sha256::digest(digest_data.join("\n").as_bytes()));
    let taskgraph = config.graph_config.taskgraph();
    let prefix = taskgraph
        .and_then(|t| t.get("cached-task-prefix"))
        .map_or_else(|| config.graph_config.trust_domain().to_owned(), py_str);
    let cache_pull_requests = taskgraph
        .and_then(|t| t.get("cache-pull-requests"))
        .is_none_or(Value::is_truthy);
    let level_text = config.params.level();
    let min_level: i64 = level_text.parse().map_err(|_| {
        Error::params(format!("`level` must be a number, not `{level_text}`")).at_field("level")
    })?;
    let is_pull_request = config.params.is_pull_request();

    let level_route = |level: &str| {
        format!("{prefix}.cache.level-{level}.{cache_type}.{cache_name}.hash.{digest}")
    };
    let pr_route = format!("{prefix}.cache.pr.{cache_type}.{cache_name}.hash.{digest}");

    let mut index_paths: Vec<Value> = (min_level..4)
        .rev()
        .map(|l| Value::from(level_route(&l.to_string())))
        .collect();
    if is_pull_request && cache_pull_requests {
        index_paths.push(Value::from(pr_route.as_str()));
    }
    desc.insert(
        "optimization".to_owned(),
        Value::Map(Map::from_iter([(
            "index-search".to_owned(),
            Value::List(index_paths),
        )])),
    );

    let routes = list_entry(desc, "routes");
    if is_pull_request {
        if cache_pull_requests {
            routes.push(Value::from(format!("index.{pr_route}")));
        }
    } else {
        routes.push(Value::from(format!("index.{}", level_route(level_text))));
        let base = format!("{prefix}.cache.level-{level_text}.{cache_type}.{cache_name}");
        let pushdate = build_date_long(config)?;
        routes.push(Value::from(format!("index.{base}.latest")));
        routes.push(Value::from(format!("index.{base}.pushdate.{pushdate}")));
    }

    let cached = Map::from_iter([
        ("type".to_owned(), Value::from(cache_type)),
        ("name".to_owned(), Value::from(cache_name)),
        ("digest".to_owned(), Value::from(digest)),
    ]);
    map_entry(desc, "attributes").insert("cached_task".to_owned(), Value::Map(cached));
    Ok(())
}

/// `build_date` as `YYYY.MM.DD.YYYYmmddHHMMSS` in UTC.
pub fn build_date_long(config: &TransformConfig<'_>) -> Result<String> {
    let build_date = config
        .params
        .get("build_date")
        .and_then(Value::as_int)
        .ok_or_else(|| Error::params("`build_date` must be an integer").at_field("build_date"))?;
    let time = chrono::DateTime::from_timestamp(build_date, 0).ok_or_else(|| {
        Error::params(format!("`build_date` {build_date} is out of range")).at_field("build_date")
    })?;
    Ok(time.format("%Y.%m.%d.%Y%m%d%H%M%S").to_string())
}
