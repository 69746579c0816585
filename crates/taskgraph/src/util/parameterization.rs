//! The placeholders a task definition keeps until its task has an id:
//! `{task-reference: "...<dep>..."}`, `{artifact-reference:
//! "...<dep/path>..."}` and `{relative-datestamp: "1 day"}`.
//!
//! A placeholder is a mapping with that one key. Its value is usually a
//! string; when it is a mapping, its keys are resolved instead (the
//! reference uses that for cache names in payloads).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::{Captures, Regex};

use crate::error::{Error, Result};
use crate::util::time::json_time_from_now;
use crate::value::{Map, Value};

static TASK_REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<([^>]+)>").expect("a valid pattern"));
static ARTIFACT_REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<([^/]+)/([^>]+)>").expect("a valid pattern"));

/// Rewrites every one-key mapping whose key is one of `keys` with
/// `resolve(key, text)`; a mapping value has its keys rewritten and its
/// values walked.
fn walk(
    value: &Value,
    keys: &[&str],
    resolve: &mut dyn FnMut(&str, &str) -> Result<String>,
) -> Result<Value> {
    match value {
        Value::List(items) => items
            .iter()
            .map(|item| walk(item, keys, resolve))
            .collect::<Result<_>>()
            .map(Value::List),
        Value::Map(map) => {
            if let Some((key, inner)) = placeholder(map, keys) {
                return match inner {
                    Value::Map(inner) => {
                        let mut out = Map::with_capacity(inner.len());
                        for (k, v) in inner {
                            out.insert(resolve(key, k)?, walk(v, keys, resolve)?);
                        }
                        Ok(Value::Map(out))
                    }
                    other => resolve(key, &crate::python::py_str(other)).map(Value::from),
                };
            }
            walk_entries(map, keys, resolve).map(Value::Map)
        }
        other => Ok(other.clone()),
    }
}

/// `map` as a placeholder: its one key, when that is one of `keys`, and
/// the key's value.
fn placeholder<'m>(map: &'m Map, keys: &[&str]) -> Option<(&'m str, &'m Value)> {
    let (key, inner) = map.first()?;
    (map.len() == 1 && keys.contains(&key)).then_some((key, inner))
}

/// `map` with its values walked: same keys, same order.
fn walk_entries(
    map: &Map,
    keys: &[&str],
    resolve: &mut dyn FnMut(&str, &str) -> Result<String>,
) -> Result<Map> {
    map.try_map_values(|_, v| walk(v, keys, resolve))
}

/// Every `{relative-datestamp: ...}` in `value` as an absolute time from
/// `now`.
pub fn resolve_timestamps(value: &Value, now: DateTime<Utc>) -> Result<Value> {
    walk(value, &["relative-datestamp"], &mut |_, text| {
        json_time_from_now(text, now)
    })
}

/// What task references resolve against.
#[derive(Debug, Clone, Copy)]
pub struct References<'a> {
    pub label: &'a str,
    pub task_id: &'a str,
    pub decision_task_id: &'a str,
    /// Dependency name → task id.
    pub dependencies: &'a Map,
    /// Where artifacts are fetched from: the root URL, and the proxy URL
    /// for artifacts that are not public.
    pub root_url: Option<&'a str>,
    pub proxy_url: Option<&'a str>,
}

const REFERENCE_KEYS: [&str; 2] = ["task-reference", "artifact-reference"];

fn reference(key: &str, text: &str, refs: &References<'_>) -> Result<String> {
    if key == "task-reference" {
        task_reference(text, refs)
    } else {
        artifact_reference(text, refs)
    }
}

/// Resolves the task and artifact references in `value`.
pub fn resolve_task_references(value: &Value, refs: &References<'_>) -> Result<Value> {
    walk(value, &REFERENCE_KEYS, &mut |key, text| {
        reference(key, text, refs)
    })
}

/// Resolves the task and artifact references of a task definition, a
/// mapping that stays one: a definition that is itself a placeholder is
/// refused.
pub fn resolve_definition_references(definition: &Map, refs: &References<'_>) -> Result<Map> {
    if let Some((key, _)) = placeholder(definition, &REFERENCE_KEYS) {
        return Err(Error::transform(format!(
            "a task definition must be a mapping of fields, not a `{key}` placeholder"
        )));
    }
    walk_entries(definition, &REFERENCE_KEYS, &mut |key, text| {
        reference(key, text, refs)
    })
}

fn dependency_id<'a>(refs: &References<'a>, name: &str) -> Result<&'a str> {
    refs.dependencies
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::transform(format!(
                "task '{}' has no dependency named '{name}'",
                refs.label
            ))
        })
}

fn task_reference(text: &str, refs: &References<'_>) -> Result<String> {
    replace_all(&TASK_REFERENCE, text, |captures| {
        let key = &captures[1];
        match key {
            "self" => Ok(refs.task_id.to_owned()),
            "decision" => Ok(refs.decision_task_id.to_owned()),
            // `<<>` is how a literal `<` is written.
            "<" if refs.dependencies.get("<").is_none() => Ok("<".to_owned()),
            name => dependency_id(refs, name).map(str::to_owned),
        }
    })
}

fn artifact_reference(text: &str, refs: &References<'_>) -> Result<String> {
    replace_all(&ARTIFACT_REFERENCE, text, |captures| {
        let (dependency, artifact) = (&captures[1], &captures[2]);
        let task_id = match dependency {
            "self" => {
                return Err(Error::transform(format!(
                    "task '{}' can't reference artifacts of self",
                    refs.label
                )));
            }
            "decision" => refs.decision_task_id,
            name => dependency_id(refs, name)?,
        };
        let base = if artifact.starts_with("public/") {
            refs.root_url.ok_or_else(|| {
                Error::config("Could not detect Taskcluster instance, set $TASKCLUSTER_ROOT_URL")
            })?
        } else {
            refs.proxy_url.ok_or_else(|| {
                Error::config(format!(
                    "task '{}' refers to the private artifact `{artifact}`, which needs the \
                     taskcluster-proxy, and TASKCLUSTER_PROXY_URL is not set",
                    refs.label
                ))
            })?
        };
        Ok(format!(
            "{}/api/queue/v1/task/{task_id}/artifacts/{artifact}",
            base.trim_end_matches('/')
        ))
    })
}

/// `regex.replace_all` with a replacement that can fail.
fn replace_all(
    regex: &Regex,
    text: &str,
    mut replacement: impl FnMut(&Captures<'_>) -> Result<String>,
) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for captures in regex.captures_iter(text) {
        let whole = captures.get(0).expect("a match has a whole");
        out.push_str(&text[last..whole.start()]);
        out.push_str(&replacement(&captures)?);
        last = whole.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::time::parse_json_time;
    use crate::yaml;

    fn value(text: &str) -> Value {
        yaml::load_str(text, None).unwrap()
    }

    fn refs<'a>(dependencies: &'a Map) -> References<'a> {
        References {
            label: "build-linux",
            task_id: "SELF",
            decision_task_id: "DECISION",
            dependencies,
            root_url: Some("https://tc.example.com"),
            proxy_url: None,
        }
    }

    #[test]
    fn a_definition_resolves_like_a_value_and_refuses_to_be_a_placeholder() {
        let deps = Map::from_iter([("image", Value::from("IMG"))]);
        let def = value("{image: {task-reference: '<image>'}, plain: 1}");
        let Value::Map(map) = &def else {
            unreachable!()
        };
        let resolved = resolve_definition_references(map, &refs(&deps)).unwrap();
        assert_eq!(
            Value::Map(resolved),
            resolve_task_references(&def, &refs(&deps)).unwrap()
        );

        let Value::Map(placeholder) = value("{task-reference: '<image>'}") else {
            unreachable!()
        };
        let error = resolve_definition_references(&placeholder, &refs(&deps)).unwrap_err();
        assert!(
            error.to_string().contains("`task-reference` placeholder"),
            "{error}"
        );
    }

    #[test]
    fn task_references_resolve_names_self_and_decision() {
        let deps = Map::from_iter([("image", Value::from("IMG"))]);
        let def = value(
            "{a: {task-reference: '<image> <self> <decision> <<>'}, \
             cache: {task-reference: {'c-<image>': /mnt}}, list: [{task-reference: x<image>}], \
             plain: '<image>', two: {task-reference: x, other: y}}",
        );
        let out = resolve_task_references(&def, &refs(&deps)).unwrap();
        assert_eq!(out.get_path("a"), Some(&Value::from("IMG SELF DECISION <")));
        assert_eq!(out.get_path("cache.c-IMG"), Some(&Value::from("/mnt")));
        assert_eq!(
            out.get("list").unwrap().as_list().unwrap()[0],
            Value::from("xIMG")
        );
        assert_eq!(out.get("plain"), Some(&Value::from("<image>")));
        assert!(
            out.get_path("two.task-reference").is_some(),
            "two keys: not a reference"
        );
    }

    #[test]
    fn artifact_references_become_queue_urls() {
        let deps = Map::from_iter([("build", Value::from("B1"))]);
        let def = value("{url: {artifact-reference: '<build/public/build/a.zip>'}}");
        let out = resolve_task_references(&def, &refs(&deps)).unwrap();
        assert_eq!(
            out.get("url"),
            Some(&Value::from(
                "https://tc.example.com/api/queue/v1/task/B1/artifacts/public/build/a.zip"
            ))
        );

        let private = value("{url: {artifact-reference: '<build/project/secret.zip>'}}");
        let err = resolve_task_references(&private, &refs(&deps)).unwrap_err();
        assert!(err.to_string().contains("TASKCLUSTER_PROXY_URL"), "{err}");
        let with_proxy = References {
            proxy_url: Some("http://taskcluster"),
            ..refs(&deps)
        };
        let out = resolve_task_references(&private, &with_proxy).unwrap();
        assert_eq!(
            out.get("url"),
            Some(&Value::from(
                "http://taskcluster/api/queue/v1/task/B1/artifacts/project/secret.zip"
            ))
        );
    }

    #[test]
    fn unknown_dependencies_and_self_artifacts_are_errors() {
        let deps = Map::new();
        let err = resolve_task_references(&value("{a: {task-reference: '<nope>'}}"), &refs(&deps))
            .unwrap_err();
        assert!(
            err.to_string().contains("no dependency named 'nope'"),
            "{err}"
        );
        let err = resolve_task_references(
            &value("{a: {artifact-reference: '<self/public/x>'}}"),
            &refs(&deps),
        )
        .unwrap_err();
        assert!(err.to_string().contains("artifacts of self"), "{err}");
    }

    #[test]
    fn timestamps_resolve_from_now() {
        let now = parse_json_time("2026-01-01T00:00:00.000Z").unwrap();
        let def =
            value("{deadline: {relative-datestamp: 1 day}, keep: {relative-datestamp: x, y: z}}");
        let out = resolve_timestamps(&def, now).unwrap();
        assert_eq!(
            out.get("deadline"),
            Some(&Value::from("2026-01-02T00:00:00.000Z"))
        );
        assert!(out.get_path("keep.y").is_some());
    }
}
