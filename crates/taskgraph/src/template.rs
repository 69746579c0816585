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
    let Some((first, rest)) = objects.split_first() else {
        return Value::Null;
    };
    let mut result = (*first).clone();
    for object in rest {
        merge_into(&mut result, object);
    }
    result
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
        dest.insert(key.to_owned(), value.clone());
        return;
    }
    let Some(existing) = dest.get_mut(key) else {
        dest.insert(key.to_owned(), value.clone());
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

/// `deep_get(dict, "a.b.c")`: None when a step is missing.
///
/// Like the reference, only the last step uses `.get`; an intermediate
/// value that is not a dict ends the walk with None.
pub fn deep_get<'a>(root: &'a Map, dotted: &str) -> Option<&'a Value> {
    let mut container = root;
    let mut parts = dotted.split('.').peekable();
    while let Some(part) = parts.next() {
        let next = container.get(part);
        if parts.peek().is_none() {
            return next;
        }
        container = next?.as_map()?;
    }
    None
}

/// Formats every string (and every dict key) in `item` with `subs`, the
/// reference's `substitute`: Python `str.format(**subs)` semantics.
pub fn substitute(item: &Value, subs: &Map) -> Result<Value> {
    Ok(match item {
        Value::Str(s) => Value::Str(python::format_with(s, subs)?),
        Value::List(list) => Value::List(
            list.iter()
                .map(|v| substitute(v, subs))
                .collect::<Result<_>>()?,
        ),
        Value::Map(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map {
                out.insert(python::format_with(key, subs)?, substitute(value, subs)?);
            }
            Value::Map(out)
        }
        other => other.clone(),
    })
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
        *slot = substitute(slot, subs).map_err(|e| e.at_field(field))?;
    }
    Ok(())
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
        let keys: Vec<&str> = merged
            .as_map()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn deep_get_walks_dotted_paths() {
        let v = map! {"a" => map! {"b" => 3}};
        assert_eq!(deep_get(&v, "a.b"), Some(&Value::Int(3)));
        assert_eq!(deep_get(&v, "a.c"), None);
        assert_eq!(deep_get(&v, "x.b"), None);
    }
}
