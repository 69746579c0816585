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

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use chrono::{Datelike, Timelike};
use sha2::{Digest, Sha256};

use crate::digest::{DigestInput, DigestRecord, FileEntry, InputSource};
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

/// Digests the tasks that have a `cache` section, parents before children,
/// and gives each its cache routes and index-search optimization.
///
/// An earlier transform may leave a record of where each `digest-data`
/// line came from in `task.digest` (the lines' text, with an empty digest);
/// it is used when the lines are still those, so `graphgen digest` can
/// name parameters and files rather than bare text.
pub fn cache_task(config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
    let mut digests: HashMap<String, String> = HashMap::new();
    for task in config.kind_dependencies_tasks.values() {
        if let Some(cached) = task.attributes.get("cached_task") {
            digests.insert(task.label.clone(), format_task_digest(cached));
        }
    }

    let mut out = Vec::new();
    for mut task in order_tasks(config.kind, tasks)? {
        let location = task.location(config.kind);
        let pending = task.digest.take();
        let Some(cache) = task.fields.shift_remove("cache") else {
            task.digest = pending;
            out.push(task);
            continue;
        };
        let label = task.get_str("label").unwrap_or_default().to_owned();
        let inputs = digest_inputs(config, &task, &cache, pending.as_deref(), &digests)
            .map_err(|e| e.at(&location))?;
        let cache_type = cache.get("type").map(py_str).unwrap_or_default();
        let cache_name = cache.get("name").map(py_str).unwrap_or_default();
        let record = add_optimization(
            config,
            &mut task.fields,
            CacheKey {
                label: &label,
                cache_type: &cache_type,
                cache_name: &cache_name,
            },
            inputs,
        )
        .map_err(|e| e.at(&location))?;
        digests.insert(
            label,
            format!("{cache_type}/{cache_name}/{}", record.digest),
        );
        task.digest = Some(Arc::new(record));
        out.push(task);
    }
    Ok(out)
}

/// The digest data, then the sorted parent digests, then the chain of
/// trust marker: each line with where it came from.
fn digest_inputs(
    config: &TransformConfig<'_>,
    task: &TaskDesc,
    cache: &Value,
    pending: Option<&DigestRecord>,
    digests: &HashMap<String, String>,
) -> Result<Vec<DigestInput>> {
    let mut inputs = data_inputs(config, cache, pending);

    let mut parents = Vec::new();
    for parent in task
        .get("dependencies")
        .and_then(Value::as_map)
        .into_iter()
        .flat_map(|d| d.values())
    {
        let parent = py_str(parent);
        match digests.get(&parent) {
            Some(digest) => parents.push(DigestInput {
                text: digest.clone(),
                source: InputSource::Parent { label: parent },
            }),
            None => {
                return Err(Error::transform(format!(
                    "cached task `{}` depends on `{parent}`, which is not cached: a cached \
                     task's parents must be cached too",
                    task.display_name()
                ))
                .at_field("dependencies"));
            }
        }
    }
    parents.sort_by(|a, b| a.text.cmp(&b.text));
    inputs.extend(parents);

    let chain_of_trust = task.get("worker").and_then(|w| w.get("chain-of-trust"));
    if let Some(cot) = chain_of_trust.filter(|c| c.is_truthy()) {
        inputs.push(DigestInput {
            text: py_str(cot),
            source: InputSource::ChainOfTrust,
        });
    }
    Ok(inputs)
}

/// The lines of `cache.digest-data`: as the pending record describes them
/// when it still matches, otherwise as data (or files, for a line that is a
/// resource hash this run computed).
fn data_inputs(
    config: &TransformConfig<'_>,
    cache: &Value,
    pending: Option<&DigestRecord>,
) -> Vec<DigestInput> {
    let lines: Vec<String> = cache
        .get("digest-data")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
        .map(py_str)
        .collect();

    if let Some(pending) = pending {
        let unchanged = pending.inputs.len() == lines.len()
            && pending.inputs.iter().zip(&lines).all(|(i, l)| i.text == *l);
        if unchanged {
            return pending.inputs.clone();
        }
    }

    let hash_cache = config.graph_config.hash_cache();
    lines
        .into_iter()
        .map(|text| {
            let source = match hash_cache.files_behind(&text) {
                Some(files) => InputSource::Files {
                    patterns: files.patterns.clone(),
                    files: files.files.iter().map(FileEntry::from).collect(),
                },
                None => InputSource::Data,
            };
            DigestInput { text, source }
        })
        .collect()
}

/// Which cache a task's result goes to.
#[derive(Debug, Clone, Copy)]
pub struct CacheKey<'a> {
    pub label: &'a str,
    pub cache_type: &'a str,
    pub cache_name: &'a str,
}

/// Adds the cache routes, the index-search optimization and the
/// `cached_task` attribute (`add_optimization`).
///
/// Returns the record of the digest's inputs.
pub fn add_optimization(
    config: &TransformConfig<'_>,
    desc: &mut Map,
    key: CacheKey<'_>,
    inputs: Vec<DigestInput>,
) -> Result<DigestRecord> {
    let CacheKey {
        label,
        cache_type,
        cache_name,
    } = key;
    let mut hasher = Sha256::new();
    for (number, input) in inputs.iter().enumerate() {
        if number > 0 {
            hasher.update(b"\n");
        }
        hasher.update(input.text.as_bytes());
    }
    let digest = format!("{:x}", hasher.finalize());
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
        "optimization",
        Value::Map(Map::from_iter([(
            "index-search",
            Value::List(index_paths.clone()),
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
        ("type", Value::from(cache_type)),
        ("name", Value::from(cache_name)),
        ("digest", Value::from(digest.as_str())),
    ]);
    map_entry(desc, "attributes").insert("cached_task", Value::Map(cached));

    let index_paths = index_paths.iter().map(py_str).collect();
    Ok(DigestRecord {
        label: label.to_owned(),
        cache_type: cache_type.to_owned(),
        cache_name: cache_name.to_owned(),
        digest,
        inputs,
        index_paths,
    })
}

/// `build_date` as `YYYY.MM.DD.YYYYmmddHHMMSS` in UTC: the reference's
/// `time.strftime("%Y.%m.%d.%Y%m%d%H%M%S", time.gmtime(build_date))`.
pub fn build_date_long(config: &TransformConfig<'_>) -> Result<String> {
    let build_date = config
        .params
        .get("build_date")
        .and_then(Value::as_int)
        .ok_or_else(|| Error::params("`build_date` must be an integer").at_field("build_date"))?;
    gmtime_long(build_date).ok_or_else(|| {
        Error::params(format!(
            "`build_date` {build_date} is out of range (years -262143 to 262142)"
        ))
        .at_field("build_date")
    })
}

/// `time.strftime("%Y.%m.%d.%Y%m%d%H%M%S", time.gmtime(seconds))` as
/// CPython prints it on glibc: the year is neither padded nor signed
/// (`5`, `10000`, `-1`), the other fields have two digits. chrono's own
/// `%Y` pads and signs years outside 0..=9999, so the fields are printed
/// here. Known shortcoming: years beyond chrono's range (about ±262,000),
/// which Python still prints, are refused.
fn gmtime_long(seconds: i64) -> Option<String> {
    let time = chrono::DateTime::from_timestamp(seconds, 0)?;
    let (year, month, day) = (time.year(), time.month(), time.day());
    let (hour, minute, second) = (time.hour(), time.minute(), time.second());
    Some(format!(
        "{year}.{month:02}.{day:02}.{year}{month:02}{day:02}{hour:02}{minute:02}{second:02}"
    ))
}

#[cfg(test)]
mod build_date_tests {
    use super::gmtime_long;

    #[test]
    fn build_dates_print_as_python_on_glibc() {
        // time.strftime("%Y.%m.%d.%Y%m%d%H%M%S", time.gmtime(t)), Python
        // 3.11 on glibc: the year is never padded nor signed with `+`.
        let cases = [
            (1_699_579_179, "2023.11.10.20231110011939"),
            (0, "1970.01.01.19700101000000"),
            (-86_400, "1969.12.31.19691231000000"),
            (951_825_600, "2000.02.29.20000229120000"),
            (253_402_300_799, "9999.12.31.99991231235959"),
            (253_402_300_800, "10000.01.01.100000101000000"),
            (-62_135_596_800, "1.01.01.10101000000"),
            (-62_135_596_801, "0.12.31.01231235959"),
            (-62_167_219_201, "-1.12.31.-11231235959"),
            (-99_999_999_999, "-1199.02.15.-11990215141321"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(gmtime_long(seconds).as_deref(), Some(expected), "{seconds}");
        }
    }

    #[test]
    fn years_beyond_chronos_range_are_refused() {
        for seconds in [99_999_999_999_999, i64::MAX, i64::MIN] {
            assert_eq!(gmtime_long(seconds), None, "{seconds}");
        }
    }
}
