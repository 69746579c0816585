//! Editing a task description the way the Python transforms do with
//! `setdefault`, item assignment and dotted `substitution-fields`.
//!
//! Python fails on these when a value has the wrong type (`None` has no
//! item assignment, a string has no `append`); the helpers return errors
//! naming the field instead of silently replacing the value, which is what
//! taskgraph's own `map_entry` does.

use taskgraph::python::object_type_name;
use taskgraph::{Error, Map, Result, Value};

use crate::util::substitution::substitute;

/// `map.setdefault(key, {})`, for a mapping the caller then writes into.
pub(crate) fn dict_setdefault<'m>(map: &'m mut Map, key: &str) -> Result<&'m mut Map> {
    let slot = map.entry(key).or_insert_with(|| Value::Map(Map::default()));
    let type_name = object_type_name(slot);
    slot.as_map_mut().ok_or_else(|| {
        Error::transform(format!(
            "`{key}` must be a mapping to add entries to, not {type_name}"
        ))
        .at_field(key)
    })
}

/// `map.setdefault(key, [])`, for a list the caller then appends to;
/// `field` names the map for errors.
pub(crate) fn list_setdefault<'m>(
    map: &'m mut Map,
    key: &str,
    field: &str,
) -> Result<&'m mut Vec<Value>> {
    let slot = map.entry(key).or_insert_with(|| Value::List(Vec::new()));
    let type_name = object_type_name(slot);
    slot.as_list_mut().ok_or_else(|| {
        Error::transform(format!(
            "`{field}.{key}` must be a list to append to, not {type_name}"
        ))
        .at_field(field)
    })
}

/// `task[key]` for a key the Python code indexes without a default.
pub(crate) fn required_field<'t>(task: &'t Map, key: &str) -> Result<&'t Value> {
    task.get(key).ok_or_else(|| {
        Error::transform(format!("the task has no `{key}` (KeyError: '{key}')")).at_field(key)
    })
}

/// `task["attributes"][name]`, for an attribute the transform needs.
pub(crate) fn required_attribute<'t>(task: &'t Map, name: &str) -> Result<&'t Value> {
    let attributes = required_field(task, "attributes")?;
    let field = format!("attributes.{name}");
    let Value::Map(attributes) = attributes else {
        return Err(Error::transform(format!(
            "`attributes` must be a mapping, not {}",
            object_type_name(attributes)
        ))
        .at_field("attributes"));
    };
    attributes.get(name).ok_or_else(|| {
        Error::transform(format!("the task has no `{field}` (KeyError: '{name}')")).at_field(&field)
    })
}

/// Substitutes `subs` into the value of each dotted field (not into the
/// field's own key), leaving unknown placeholders for a later pass.
///
/// Each step of a field must exist and lead to a mapping, as Python's
/// `container[f]` requires.
pub(crate) fn substitute_fields(task: &mut Map, fields: &[String], subs: &Map) -> Result<()> {
    for field in fields {
        let slot = field_value(task, field)?;
        *slot = substitute(slot, subs).map_err(|e| e.at_field(field))?;
    }
    Ok(())
}

fn field_value<'t>(task: &'t mut Map, field: &str) -> Result<&'t mut Value> {
    let mut steps: Vec<&str> = field.split('.').collect();
    let last = steps.pop().unwrap_or_default();
    let mut container = task;
    let mut walked = String::new();

    for step in steps {
        walked = if walked.is_empty() {
            step.to_owned()
        } else {
            format!("{walked}.{step}")
        };
        let next = container
            .get_mut(step)
            .ok_or_else(|| missing_field(field))?;
        let type_name = object_type_name(next);
        container = next.as_map_mut().ok_or_else(|| {
            Error::transform(format!(
                "substitution field `{field}`: `{walked}` is {type_name}, not a mapping"
            ))
            .at_field(field)
        })?;
    }
    container.get_mut(last).ok_or_else(|| missing_field(field))
}

fn missing_field(field: &str) -> Error {
    Error::transform(format!("substitution field `{field}` does not exist")).at_field(field)
}

#[cfg(test)]
mod tests {
    use taskgraph::map;

    use super::*;

    #[test]
    fn setdefault_keeps_existing_values_and_refuses_wrong_types() {
        let mut task = map! {"attributes" => map! {"a" => 1}, "fetches" => Value::Null};
        dict_setdefault(&mut task, "attributes")
            .unwrap()
            .insert("b", Value::Int(2));
        assert_eq!(task["attributes"], Value::Map(map! {"a" => 1, "b" => 2}));

        dict_setdefault(&mut task, "dependencies").unwrap();
        assert_eq!(task.keys().last(), Some("dependencies"));

        let message = dict_setdefault(&mut task, "fetches")
            .unwrap_err()
            .to_string();
        assert!(message.contains("not NoneType"), "{message}");
    }

    #[test]
    fn list_setdefault_appends_to_existing_lists_only() {
        let mut fetches = map! {"toolchain" => Value::str_list(["x"]), "odd" => "text"};
        list_setdefault(&mut fetches, "toolchain", "fetches")
            .unwrap()
            .push(Value::from("y"));
        assert_eq!(fetches["toolchain"], Value::str_list(["x", "y"]));
        assert!(
            list_setdefault(&mut fetches, "new", "fetches")
                .unwrap()
                .is_empty()
        );

        let message = list_setdefault(&mut fetches, "odd", "fetches")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("`fetches.odd` must be a list"),
            "{message}"
        );
    }

    #[test]
    fn fields_are_substituted_in_place_without_touching_keys() {
        let mut task = map! {
            "{provider}" => "{provider}",
            "worker" => map! {"env" => map! {"{provider}" => "{provider}-{other}"}},
        };
        let subs = map! {"provider" => "opus"};
        let fields = vec!["{provider}".to_owned(), "worker.env".to_owned()];
        substitute_fields(&mut task, &fields, &subs).unwrap();

        assert_eq!(task["{provider}"], Value::from("opus"));
        assert_eq!(
            task["worker"],
            Value::Map(map! {"env" => map! {"opus" => "opus-{other}"}})
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let mut task = map! {"worker" => Value::str_list(["a"])};
        let subs = Map::default();

        let missing = substitute_fields(&mut task, &["nope.deeper".to_owned()], &subs)
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("substitution field `nope.deeper` does not exist"),
            "{missing}"
        );

        let through_list = substitute_fields(&mut task, &["worker.env".to_owned()], &subs)
            .unwrap_err()
            .to_string();
        assert!(
            through_list.contains("`worker` is list, not a mapping"),
            "{through_list}"
        );
    }

    #[test]
    fn required_attributes_name_the_path() {
        let task = map! {"attributes" => map! {"stage" => "x"}};
        assert_eq!(
            required_attribute(&task, "stage").unwrap(),
            &Value::from("x")
        );
        let message = required_attribute(&task, "dataset-category")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("field `attributes.dataset-category`")
                && message.contains("KeyError: 'dataset-category'"),
            "{message}"
        );
        assert!(required_attribute(&Map::default(), "stage").is_err());
    }
}
