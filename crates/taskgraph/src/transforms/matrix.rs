//! `matrix`: split one task into one task per combination of values.
//!
//! Each key of `matrix` (other than `exclude`, `set-name` and
//! `substitution-fields`) lists values; tasks are named
//! `<name>-<value>...` in key order, get `attributes.matrix`, and have
//! `{matrix[key]}` substituted into `substitution-fields` (by default,
//! every field the task had). `exclude` drops combinations that match all
//! of a rule's values.

use std::sync::LazyLock;

use crate::error::{Error, Result};
use crate::schema::{Extra, KeyRule, Schema, dict, opt, req, str_list, str_map};
use crate::template::substitute_fields;
use crate::transform::{TaskDesc, TransformConfig, TransformRef, fan_out, map_entry, validate};
use crate::value::{Map, Value};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    dict([
        req("name", Schema::Str),
        opt(
            "matrix",
            dict([
                opt("exclude", Schema::ListOf(vec![str_map(Schema::Str)])),
                opt("set-name", Schema::Str),
                opt("substitution-fields", str_list()),
            ])
            .key_rule(KeyRule::AnyStr, str_list())
            .into(),
        ),
    ])
    .allow_extra()
    .into()
});

pub fn transforms() -> Vec<TransformRef> {
    vec![
        validate("matrix:validate", &SCHEMA, Extra::Allow),
        fan_out("matrix:split_matrix", split_matrix),
    ]
}

fn split_matrix(_config: &TransformConfig<'_>, mut task: TaskDesc) -> Result<Vec<TaskDesc>> {
    let Some(Value::Map(mut matrix)) = task.fields.shift_remove("matrix") else {
        return Ok(vec![task]);
    };

    let set_name = matrix.shift_remove("set-name").filter(Value::is_truthy);
    let mut fields: Vec<String> = match matrix.shift_remove("substitution-fields") {
        Some(list) => list
            .as_str_list()
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        None => task.fields.keys().map(str::to_owned).collect(),
    };
    let exclude: Vec<Map> = match matrix.shift_remove("exclude") {
        Some(Value::List(rules)) => rules
            .into_iter()
            .filter_map(|r| r.as_map().cloned())
            .collect(),
        _ => Vec::new(),
    };

    let mut tasks = vec![task];
    for (key, values) in &matrix {
        let values = values.as_list().cloned().unwrap_or_default();
        tasks = expand(tasks, key, &values, &exclude);
    }

    if set_name.is_some() && !fields.iter().any(|f| f == "name") {
        fields.push("name".to_owned());
    }
    for task in &mut tasks {
        if let Some(name) = &set_name {
            task.fields.insert("name", name.clone());
        }
        // Without any axis the task is not copied, and the reference reads
        // `attributes.matrix` all the same: it must already be there.
        let matrix_values = task
            .fields
            .get("attributes")
            .and_then(|a| a.get("matrix"))
            .cloned()
            .ok_or_else(|| {
                Error::transform(
                    "`matrix` has no axes and the task has no `attributes.matrix` to substitute",
                )
                .at_field("matrix")
            })?;
        let subs = Map::from_iter([("matrix".to_owned(), matrix_values)]);
        substitute_fields(&mut task.fields, &fields, &subs)?;
    }
    Ok(tasks)
}

fn expand(tasks: Vec<TaskDesc>, key: &str, values: &[Value], exclude: &[Map]) -> Vec<TaskDesc> {
    let mut out = Vec::with_capacity(tasks.len() * values.len());
    for task in tasks {
        for value in values {
            let mut new_task = task.clone();
            let name = new_task
                .fields
                .get("name")
                .map(Value::to_string)
                .unwrap_or_default();
            new_task
                .fields
                .insert("name", Value::from(format!("{name}-{value}")));

            let matrix = map_entry(map_entry(&mut new_task.fields, "attributes"), "matrix");
            matrix.insert(key, value.clone());
            let excluded = exclude
                .iter()
                .any(|rule| rule.iter().all(|(k, v)| matrix.get(k) == Some(v)));
            if !excluded {
                out.push(new_task);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::template::test_kind::{Setup, run};

    #[test]
    fn a_matrix_without_axes_needs_a_preset_matrix_attribute() {
        let task = map! {"name" => "t", "description" => "d", "matrix" => Map::default()};
        let message = run(&Setup::default(), transforms(), vec![task])
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("in kind `demo`, task `t`, field `matrix`:"),
            "{message}"
        );

        // With one, the task is kept as it is and substituted.
        let task = map! {
            "name" => "t",
            "description" => "on {matrix[os]}",
            "attributes" => map! {"matrix" => map! {"os" => "linux"}},
            "matrix" => Map::default(),
        };
        let tasks = run(&Setup::default(), transforms(), vec![task]).unwrap();
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].fields["description"], Value::from("on linux"));
        assert_eq!(tasks[0].fields["name"], Value::from("t"));
    }
}
