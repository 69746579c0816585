//! Merging task defaults into tasks, and `{placeholder}` substitution.
//!
//! [`merge`] is how `task-defaults` combine with each task. Its rules are the
//! reference's, surprising corners included:
//!
//! | default value | task value                         | result                      |
//! |---------------|------------------------------------|-----------------------------|
//! | anything      | a one-key dict whose key is `by-*`  | the task value, unmerged    |
//! | type A        | type B (bool vs int counts)        | the task value              |
//! | dict          | dict                               | merged key by key           |
//! | list          | list                               | defaults first, then task   |
//! | scalar        | scalar of the same type            | the task value              |
//!
//! Keys of the defaults keep their position and new keys are appended. A
//! `by-*` dict in the *defaults* merged with a plain dict in the task is not
//! special: the two are merged into one dict, as in the reference.

use crate::error::{Error, ErrorKind, Result};
use crate::python;
use crate::value::{Map, Value};

/// Merges `objects` left to right; later objects win. Returns a new value.
pub fn merge(objects: &[&Value]) -> Value {
    match objects {
        [] => Value::Null,
        [only] => (*only).clone(),
        [first, second, rest @ ..] => {
            let mut result = merged(first, second, 0);
            for object in rest {
                merge_into(&mut result, object);
            }
            result
        }
    }
}

/// `over` merged into a copy of `base`, as [`merge_into`] would leave it,
/// but built at its final size, with room for `headroom` more keys at the
/// top: growing a map entry by entry copies it each time its room runs
/// out, and task descriptions are made this way by the thousand.
pub fn merged(base: &Value, over: &Value, headroom: usize) -> Value {
    let (Value::Map(base), Value::Map(over)) = (base, over) else {
        return over.clone();
    };
    Value::Map(base.overlaid(over, headroom, |old, new| {
        if is_keyed_by(new) {
            return new.clone();
        }
        match (old, new) {
            (Value::Map(_), Value::Map(_)) => merged(old, new, 0),
            (Value::List(old), Value::List(new)) => {
                Value::List(old.iter().chain(new).cloned().collect())
            }
            _ => new.clone(),
        }
    }))
}

/// Merges `source` into `dest` in place (the reference's `merge_to`).
pub fn merge_into(dest: &mut Value, source: &Value) {
    let (Value::Map(dest_map), Value::Map(source_map)) = (&mut *dest, source) else {
        *dest = source.clone();
        return;
    };
    for (key, value) in source_map {
        merge_entry(dest_map, key, value);
    }
}

fn merge_entry(dest: &mut Map, key: &str, value: &Value) {
    if is_keyed_by(value) {
        dest.insert(key, value.clone());
        return;
    }
    let Some(existing) = dest.get_mut(key) else {
        dest.insert(key, value.clone());
        return;
    };
    match (existing, value) {
        (Value::Map(old), Value::Map(new)) => {
            for (k, v) in new {
                merge_entry(old, k, v);
            }
        }
        (Value::List(old), Value::List(new)) => old.extend(new.iter().cloned()),
        (existing, value) => *existing = value.clone(),
    }
}

/// Whether `value` is a one-key dict whose key starts with `by-`.
pub fn is_keyed_by(value: &Value) -> bool {
    match value {
        Value::Map(m) if m.len() == 1 => m.keys().next().is_some_and(|k| k.starts_with("by-")),
        _ => false,
    }
}

/// `deep_get(dict, "a.b.c")`: the value at a dotted path, None when a step
/// is missing.
///
/// The reference tests each step with `in` before indexing and reads the
/// last one with `.get`, so a value that is not a dict part-way along acts
/// the way Python's operators do: a string or list answers `in` (a substring
/// or an element test) and then refuses a string index, None and numbers
/// refuse `in`, and anything but a dict at the end has no `.get`. Those are
/// errors here too, rather than a silent None.
pub fn deep_get<'a>(root: &'a Map, dotted: &str) -> Result<Option<&'a Value>> {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    // `None` stands for the root dict itself.
    let mut container: Option<&'a Value> = None;
    for part in parts {
        let map = match container {
            None => root,
            Some(Value::Map(map)) => map,
            Some(Value::Str(s)) if !s.contains(part) => return Ok(None),
            Some(Value::Str(_)) => {
                return Err(deep_get_error(
                    dotted,
                    "TypeError: string indices must be integers, not 'str'",
                ));
            }
            Some(Value::List(items)) if !items.contains(&Value::from(part)) => return Ok(None),
            Some(Value::List(_)) => {
                return Err(deep_get_error(
                    dotted,
                    "TypeError: list indices must be integers or slices, not str",
                ));
            }
            Some(other) => {
                let message = format!(
                    "TypeError: argument of type '{}' is not iterable",
                    python::object_type_name(other)
                );
                return Err(deep_get_error(dotted, &message));
            }
        };
        match map.get(part) {
            Some(value) => container = Some(value),
            None => return Ok(None),
        }
    }
    match container {
        None => Ok(root.get(last)),
        Some(Value::Map(map)) => Ok(map.get(last)),
        Some(other) => {
            let message = format!(
                "AttributeError: '{}' object has no attribute 'get'",
                python::object_type_name(other)
            );
            Err(deep_get_error(dotted, &message))
        }
    }
}

fn deep_get_error(dotted: &str, message: &str) -> Error {
    Error::new(ErrorKind::Transform(format!(
        "cannot look up `{dotted}`: {message}"
    )))
}

/// Formats every string (and every dict key) in `item` with `subs`, the
/// reference's `substitute`: Python `str.format(**subs)` semantics.
pub fn substitute(item: &Value, subs: &Map) -> Result<Value> {
    substitute_tracking(item, subs, &mut Vec::new())
}

/// Substitutes into each dotted field of `task` (`substitute_task_fields`).
///
/// Every field must exist: a missing one is an error naming it.
pub fn substitute_fields(task: &mut Map, fields: &[String], subs: &Map) -> Result<()> {
    for field in fields {
        let slot = field_slot(task, field).ok_or_else(|| {
            Error::new(ErrorKind::Transform(format!(
                "substitution field `{field}` does not exist"
            )))
            .at_field(field)
        })?;
        *slot = substitute_in_field(slot, subs, field)?;
    }
    Ok(())
}

/// [`substitute`] on the value of the dotted `field`; an error names the
/// exact place inside it that failed (`extra.notes[2]`).
pub fn substitute_in_field(item: &Value, subs: &Map, field: &str) -> Result<Value> {
    let mut path = Vec::new();
    substitute_tracking(item, subs, &mut path).map_err(|e| {
        let mut place = field.to_owned();
        for step in &path {
            match step {
                Step::Key(key) => {
                    place.push('.');
                    place.push_str(key);
                }
                Step::Index(index) => place.push_str(&format!("[{index}]")),
            }
        }
        e.at_field(&place)
    })
}

/// One step into a value, for naming where formatting failed.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// [`substitute`], leaving in `path` the steps to the part that failed.
fn substitute_tracking<'a>(item: &'a Value, subs: &Map, path: &mut Vec<Step<'a>>) -> Result<Value> {
    Ok(match item {
        Value::Str(s) => Value::Str(python::format_with(s, subs)?),
        Value::List(list) => {
            let mut out = Vec::with_capacity(list.len());
            for (index, value) in list.iter().enumerate() {
                path.push(Step::Index(index));
                out.push(substitute_tracking(value, subs, path)?);
                path.pop();
            }
            Value::List(out)
        }
        Value::Map(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map {
                path.push(Step::Key(key));
                let key = python::format_with(key, subs)?;
                out.insert(key, substitute_tracking(value, subs, path)?);
                path.pop();
            }
            Value::Map(out)
        }
        other => other.clone(),
    })
}

/// The value at a dotted path of dict keys, for in-place update.
pub fn field_slot<'a>(task: &'a mut Map, dotted: &str) -> Option<&'a mut Value> {
    let (parents, last) = match dotted.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, dotted),
    };
    let mut container = task;
    if let Some(parents) = parents {
        for part in parents.split('.') {
            container = container.get_mut(part)?.as_map_mut()?;
        }
    }
    container.get_mut(last)
}

/// Running a kind's transforms over a few tasks in unit tests, without a
/// project on disk.
#[cfg(test)]
pub(crate) mod test_kind {
    use std::path::Path;
    use std::sync::Arc;

    use indexmap::IndexMap;

    use crate::config::GraphConfig;
    use crate::error::Result;
    use crate::map;
    use crate::params::Parameters;
    use crate::registry::Registry;
    use crate::task::Task;
    use crate::transform::{Origin, TaskDesc, TransformConfig, TransformRef};
    use crate::value::{Map, Value};

    /// What a test kind needs besides its tasks.
    pub(crate) struct Setup {
        pub kind: &'static str,
        pub config: Map,
        pub params: Map,
        pub dependencies: Vec<Task>,
        pub working_dir: std::path::PathBuf,
    }

    impl Default for Setup {
        fn default() -> Self {
            Setup {
                kind: "demo",
                config: Map::default(),
                params: map! {"level" => "3", "project" => "demo"},
                dependencies: Vec::new(),
                working_dir: std::env::temp_dir(),
            }
        }
    }

    /// A task of another kind, with these attributes.
    pub(crate) fn upstream(kind: &str, label: &str, attributes: Map) -> Task {
        let mut attributes = attributes;
        attributes.insert("kind", Value::from(kind));
        Task {
            attributes,
            ..Task::new(kind, label)
        }
    }

    /// Runs `transforms` over `tasks` (each named by its `name` field), as
    /// the kind loader would.
    pub(crate) fn run(
        setup: &Setup,
        transforms: Vec<TransformRef>,
        tasks: Vec<Map>,
    ) -> Result<Vec<TaskDesc>> {
        let graph_config = GraphConfig::from_value(
            Value::Map(map! {
                "trust-domain" => "demo",
                "task-priority" => "low",
                "workers" => map! {"aliases" => Map::default()},
                "taskgraph" => map! {"repositories" => map! {"demo" => map! {"name" => "Demo"}}},
            }),
            &setup.working_dir.join("taskcluster"),
            setup.working_dir.clone(),
        )?;
        let params = Parameters::from_map(setup.params.clone());
        let dependencies: IndexMap<String, Arc<Task>> = setup
            .dependencies
            .iter()
            .map(|t| (t.label.clone(), Arc::new(t.clone())))
            .collect();
        let registry = Registry::with_builtins();
        let path = format!("taskcluster/kinds/{}", setup.kind);
        let config = TransformConfig::new(
            setup.kind,
            &path,
            Path::new(&path),
            &setup.config,
            &params,
            &dependencies,
            &graph_config,
            &registry,
        );
        let mut descs: Vec<TaskDesc> = tasks
            .into_iter()
            .map(|fields| {
                let name = fields
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let origin = Origin {
                    file: format!("{path}/kind.yml").into(),
                    position: None,
                    name,
                };
                TaskDesc::new(fields, Arc::new(origin))
            })
            .collect();
        for transform in transforms {
            descs = transform.apply(&config, descs)?;
        }
        Ok(descs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;

    fn m(value: Map) -> Value {
        Value::Map(value)
    }

    #[test]
    fn task_values_override_defaults() {
        let merged = merge(&[&m(map! {"a" => 1, "b" => "x"}), &m(map! {"b" => "y"})]);
        assert_eq!(merged, m(map! {"a" => 1, "b" => "y"}));
    }

    #[test]
    fn dicts_merge_recursively_and_lists_concatenate() {
        let defaults = m(
            map! {"worker" => map! {"env" => map! {"A" => "1"}, "caches" => vec![Value::from("x")]}},
        );
        let task = m(
            map! {"worker" => map! {"env" => map! {"B" => "2"}, "caches" => vec![Value::from("y")]}},
        );
        let merged = merge(&[&defaults, &task]);
        assert_eq!(
            merged,
            m(
                map! {"worker" => map! {"env" => map! {"A" => "1", "B" => "2"}, "caches" => vec![Value::from("x"), Value::from("y")]}}
            )
        );
    }

    #[test]
    fn keyed_by_values_replace_instead_of_merging() {
        let defaults = m(map! {"x" => map! {"a" => 1}});
        let task = m(map! {"x" => map! {"by-level" => map! {"3" => 1}}});
        assert_eq!(merge(&[&defaults, &task]), task);
    }

    #[test]
    fn keyed_by_defaults_merge_with_plain_dicts() {
        // The reference merges a by-* default with a plain task dict.
        let defaults = m(map! {"x" => map! {"by-level" => map! {"3" => 1}}});
        let task = m(map! {"x" => map! {"a" => 2}});
        assert_eq!(
            merge(&[&defaults, &task]),
            m(map! {"x" => map! {"by-level" => map! {"3" => 1}, "a" => 2}})
        );
    }

    #[test]
    fn mismatched_types_take_the_new_value_even_bool_over_int() {
        let merged = merge(&[&m(map! {"a" => 1}), &m(map! {"a" => true})]);
        assert!(matches!(merged.get("a"), Some(Value::Bool(true))));
    }

    #[test]
    fn default_keys_keep_their_position() {
        let merged = merge(&[&m(map! {"a" => 1, "b" => 2}), &m(map! {"c" => 3, "a" => 4})]);
        let keys: Vec<&str> = merged.as_map().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn deep_get_walks_dotted_paths() {
        let v = map! {"a" => map! {"b" => 3}};
        assert_eq!(deep_get(&v, "a.b").unwrap(), Some(&Value::Int(3)));
        assert_eq!(deep_get(&v, "a.c").unwrap(), None);
        assert_eq!(deep_get(&v, "x.b").unwrap(), None);
        assert_eq!(deep_get(&v, "a").unwrap(), Some(&m(map! {"b" => 3})));
    }

    #[test]
    fn deep_get_through_non_dicts_acts_like_python() {
        // Python 3.11, taskgraph.util.templates.deep_get on this dict.
        let v = map! {
            "s" => "beta",
            "l" => vec![Value::from("x"), Value::from("y")],
            "n" => Value::Null,
            "i" => 3,
        };
        // `in` misses: None.
        assert_eq!(deep_get(&v, "s.q.r").unwrap(), None);
        assert_eq!(deep_get(&v, "l.z.r").unwrap(), None);
        // `in` hits, then indexing with a str fails.
        let err = |path: &str| deep_get(&v, path).unwrap_err().to_string();
        assert!(err("s.e.r").ends_with("TypeError: string indices must be integers, not 'str'"));
        assert!(
            err("l.x.r").ends_with("TypeError: list indices must be integers or slices, not str")
        );
        // No `in` at all.
        assert!(err("n.a.b").ends_with("TypeError: argument of type 'NoneType' is not iterable"));
        assert!(err("i.a.b").ends_with("TypeError: argument of type 'int' is not iterable"));
        // The last step needs `.get`.
        assert!(err("s.x").ends_with("AttributeError: 'str' object has no attribute 'get'"));
        assert!(err("n.x").ends_with("AttributeError: 'NoneType' object has no attribute 'get'"));
        assert!(err("l.x").ends_with("AttributeError: 'list' object has no attribute 'get'"));
    }
}
