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
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::digest::{DigestInput, DigestRecord, FileEntry, InputSource};
use crate::error::{Error, Result};
use crate::python::py_str;
use crate::transform::{
    TaskDesc, TransformConfig, TransformRef, batch_reading_dependencies, list_entry, map_entry,
};
use crate::transforms::run::order_tasks;
use crate::util::ordered::LeftBefore;
use crate::value::{Map, Value};

pub fn transforms() -> Vec<TransformRef> {
    vec![batch_reading_dependencies(
        "cached_tasks:cache_task",
        cache_task,
    )]
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
///
/// The reference digests the tasks one by one in [`order_tasks`] order, each
/// seeing the digests of the kind's dependencies and of the tasks before
/// it. Here the tasks are digested in waves: a task's wave is one past the
/// deepest wave among its parents earlier in that order, and the tasks of
/// one wave run in parallel. A task sees exactly what it would have seen
/// one by one, and a failure is the one the first failing task in that
/// order would have raised.
pub fn cache_task(config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
    let mut upstream: HashMap<String, String> = HashMap::new();
    for task in config.kind_dependencies_tasks()?.values() {
        if let Some(cached) = task.attributes.get("cached_task") {
            upstream.insert(task.label.clone(), format_task_digest(cached));
        }
    }

    let ordered = order_tasks(config.kind, tasks)?;
    let labels: Vec<String> = ordered
        .iter()
        .map(|t| t.get_str("label").unwrap_or_default().to_owned())
        .collect();
    let waves = digest_waves(&ordered, &labels);

    let mut slots: Vec<Option<TaskDesc>> = ordered.into_iter().map(Some).collect();
    let mut own = LeftBefore::default();
    let mut first_failure: Option<(usize, Error)> = None;
    for wave in waves {
        // Only tasks before the first failure so far can change which
        // failure is first; their parents come before them, so succeeded.
        let limit = first_failure.as_ref().map_or(usize::MAX, |(i, _)| *i);
        let mut batch: Vec<(usize, TaskDesc)> = wave
            .into_iter()
            .filter(|&i| i < limit)
            .filter_map(|i| slots[i].take().map(|task| (i, task)))
            .collect();
        let outcomes: Vec<Result<Option<String>>> = batch
            .par_iter_mut()
            .map(|(i, task)| {
                let lookup = |parent: &str| own.before(*i, parent).or_else(|| upstream.get(parent));
                digest_one(config, task, &labels[*i], &lookup)
            })
            .collect();
        for ((i, task), outcome) in batch.into_iter().zip(outcomes) {
            match outcome {
                Ok(Some(digest)) => own.add(&labels[i], i, digest),
                Ok(None) => {}
                Err(e) => {
                    if first_failure.as_ref().is_none_or(|(first, _)| i < *first) {
                        first_failure = Some((i, e));
                    }
                }
            }
            slots[i] = Some(task);
        }
    }
    if let Some((_, e)) = first_failure {
        return Err(e);
    }
    Ok(slots.into_iter().flatten().collect())
}

/// The positions of `tasks` grouped by wave: wave 0 holds the tasks without
/// a parent earlier in the list, wave n+1 those whose deepest such parent
/// is in wave n.
fn digest_waves(tasks: &[TaskDesc], labels: &[String]) -> Vec<Vec<usize>> {
    let mut position: HashMap<&str, usize> = HashMap::with_capacity(labels.len());
    let mut depth: Vec<usize> = Vec::with_capacity(tasks.len());
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let wave = parent_labels(task)
            .filter_map(|parent| position.get(parent))
            .map(|&p| depth[p] + 1)
            .max()
            .unwrap_or(0);
        depth.push(wave);
        if waves.len() <= wave {
            waves.resize_with(wave + 1, Vec::new);
        }
        waves[wave].push(i);
        position.insert(&labels[i], i);
    }
    waves
}

fn parent_labels(task: &TaskDesc) -> impl Iterator<Item = &str> {
    task.get("dependencies")
        .and_then(Value::as_map)
        .into_iter()
        .flat_map(|d| d.values())
        .filter_map(Value::as_str)
}

/// Digests one task if it has a `cache` section, returning the
/// `<type>/<name>/<digest>` its children see.
fn digest_one<'d>(
    config: &TransformConfig<'_>,
    task: &mut TaskDesc,
    label: &str,
    digests: &dyn Fn(&str) -> Option<&'d String>,
) -> Result<Option<String>> {
    let pending = task.digest.take();
    let Some(cache) = task.fields.shift_remove("cache") else {
        task.digest = pending;
        return Ok(None);
    };
    let location = task.location(config.kind);
    let inputs = digest_inputs(config, task, &cache, pending.as_deref(), digests)
        .map_err(|e| e.at(&location))?;
    let cache_type = cache.get("type").map(py_str).unwrap_or_default();
    let cache_name = cache.get("name").map(py_str).unwrap_or_default();
    let record = add_optimization(
        config,
        &mut task.fields,
        CacheKey {
            label,
            cache_type: &cache_type,
            cache_name: &cache_name,
        },
        inputs,
    )
    .map_err(|e| e.at(&location))?;
    let digest = format!("{cache_type}/{cache_name}/{}", record.digest);
    task.digest = Some(Arc::new(record));
    Ok(Some(digest))
}

/// The digest data, then the sorted parent digests, then the chain of
/// trust marker: each line with where it came from.
fn digest_inputs<'d>(
    config: &TransformConfig<'_>,
    task: &TaskDesc,
    cache: &Value,
    pending: Option<&DigestRecord>,
    digests: &dyn Fn(&str) -> Option<&'d String>,
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
        match digests(&parent) {
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

#[cfg(test)]
mod wave_tests {
    use super::*;
    use crate::transform::testing::run_demo_kind;

    fn cached(label: &str, data: &str, parents: &[&str]) -> Map {
        let dependencies: Map = parents.iter().map(|p| (*p, Value::from(*p))).collect();
        Map::from_iter([
            ("label", Value::from(label)),
            ("dependencies", Value::Map(dependencies)),
            (
                "cache",
                Value::Map(Map::from_iter([
                    ("type", Value::from("demo")),
                    ("name", Value::from(label)),
                    ("digest-data", Value::str_list([data])),
                ])),
            ),
        ])
    }

    fn digest_of(task: &TaskDesc) -> String {
        let cached = task.fields["attributes"].get("cached_task").unwrap();
        cached
            .get("digest")
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    }

    /// The digest the reference computes: SHA-256 of the lines.
    fn sha_of_lines(lines: &[String]) -> String {
        format!("{:x}", Sha256::digest(lines.join("\n").as_bytes()))
    }

    #[test]
    fn chains_in_a_kind_digest_their_parents_and_keep_their_order() {
        // Many independent tasks (one wave) around a chain of three.
        let mut tasks = vec![cached("demo-c", "c", &["demo-b"])];
        tasks.extend((0..40).map(|n| cached(&format!("demo-free-{n}"), "free", &[])));
        tasks.push(cached("demo-b", "b", &["demo-a"]));
        tasks.push(cached("demo-a", "a", &[]));
        let out = run_demo_kind(&transforms(), tasks).unwrap();

        let labels: Vec<&str> = out.iter().map(|t| t.get_str("label").unwrap()).collect();
        let position = |label: &str| labels.iter().position(|l| *l == label).unwrap();
        assert!(position("demo-a") < position("demo-b"));
        assert!(position("demo-b") < position("demo-c"));
        assert_eq!(labels.len(), 43);

        let by_label = |label: &str| &out[position(label)];
        let a = sha_of_lines(&["a".to_owned()]);
        assert_eq!(digest_of(by_label("demo-a")), a);
        let b = sha_of_lines(&["b".to_owned(), format!("demo/demo-a/{a}")]);
        assert_eq!(digest_of(by_label("demo-b")), b);
        let c = sha_of_lines(&["c".to_owned(), format!("demo/demo-b/{b}")]);
        assert_eq!(digest_of(by_label("demo-c")), c);
    }

    #[test]
    fn a_parent_later_in_the_order_is_not_seen_and_the_first_failure_wins() {
        // Labels outside the kind's prefix are not reordered, so `x-child`
        // comes before its parent and fails, as it does one by one; so does
        // `x-late`, but after it.
        let tasks = vec![
            cached("x-child", "child", &["x-parent"]),
            cached("x-parent", "parent", &[]),
            cached("x-late", "late", &["x-missing"]),
        ];
        let err = run_demo_kind(&transforms(), tasks).unwrap_err().to_string();
        assert!(err.contains("`x-child` depends on `x-parent`"), "{err}");

        let tasks = vec![
            cached("x-parent", "parent", &[]),
            cached("x-child", "child", &["x-parent"]),
            cached("x-late", "late", &["x-missing"]),
        ];
        let err = run_demo_kind(&transforms(), tasks).unwrap_err().to_string();
        assert!(err.contains("`x-late` depends on `x-missing`"), "{err}");
    }
}
