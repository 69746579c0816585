//! `chunk`: split one task into `total-chunks` tasks.
//!
//! Each copy gets the attributes `this_chunk` (1-based) and `total_chunks`,
//! and every field named in `substitution-fields` (its key included) is
//! formatted with those two values. A string like `{{this_chunk}}` that
//! survived an earlier `task-context` pass is filled here.

use std::sync::LazyLock;

use crate::error::{Error, Result};
use crate::schema::{Extra, Schema, dict, opt, req, str_list};
use crate::template::substitute_in_field;
use crate::transform::{TaskDesc, TransformConfig, TransformRef, fan_out, map_entry, validate};
use crate::value::{Map, Value};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    dict([opt(
        "chunk",
        dict([
            req("total-chunks", Schema::Int),
            opt("substitution-fields", str_list()),
        ])
        .into(),
    )])
    .allow_extra()
    .into()
});

pub fn transforms() -> Vec<TransformRef> {
    vec![
        validate("chunking:validate", &SCHEMA, Extra::Allow),
        fan_out("chunking:chunk_tasks", chunk_tasks),
    ]
}

fn chunk_tasks(_config: &TransformConfig<'_>, mut task: TaskDesc) -> Result<Vec<TaskDesc>> {
    let chunk = task.fields.shift_remove("chunk");
    let Some(Value::Map(chunk)) = chunk.filter(Value::is_truthy) else {
        return Ok(vec![task]);
    };

    let total_value = chunk.get("total-chunks").cloned().unwrap_or(Value::Int(0));
    let total = total_value.as_int().unwrap_or(0);
    // The reference reads `substitution-fields` once per chunk, so a task
    // split into no chunks at all may go without it.
    let fields: Option<Vec<String>> = chunk
        .get("substitution-fields")
        .and_then(Value::as_str_list)
        .map(|l| l.into_iter().map(str::to_owned).collect());

    let mut out = Vec::new();
    for this_chunk in 1..=total {
        let fields = fields.as_ref().ok_or_else(|| {
            Error::transform("`chunk` needs `substitution-fields`")
                .at_field("chunk.substitution-fields")
        })?;
        let mut subtask = task.clone();
        let subs = Map::from_iter([
            ("this_chunk", Value::Int(this_chunk)),
            ("total_chunks", total_value.clone()),
        ]);
        map_entry(&mut subtask.fields, "attributes").extend(subs.clone());
        for field in fields {
            substitute_field(&mut subtask.fields, field, &subs)?;
        }
        out.push(subtask);
    }
    Ok(out)
}

/// Formats the value at a dotted field, and the field's own key, with
/// `subs`; the formatted value lands under the formatted key.
fn substitute_field(task: &mut Map, field: &str, subs: &Map) -> Result<()> {
    let (parents, key) = field
        .rsplit_once('.')
        .map_or((None, field), |(p, k)| (Some(p), k));
    let mut container = task;
    for part in parents.into_iter().flat_map(|p| p.split('.')) {
        container = container
            .get_mut(part)
            .and_then(Value::as_map_mut)
            .ok_or_else(|| missing_field(field))?;
    }
    let value = container.get(key).ok_or_else(|| missing_field(field))?;
    // The key is formatted before the value, as in the reference.
    let new_key = crate::python::format_with(key, subs).map_err(|e| e.at_field(field))?;
    let new_value = substitute_in_field(value, subs, field)?;
    container.insert(new_key, new_value);
    Ok(())
}

fn missing_field(field: &str) -> Error {
    Error::transform(format!("substitution field `{field}` does not exist")).at_field(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::template::test_kind::{Setup, run};

    #[test]
    fn no_chunks_need_no_substitution_fields() {
        let task = map! {"name" => "t", "chunk" => map! {"total-chunks" => 0}};
        let tasks = run(&Setup::default(), transforms(), vec![task]).unwrap();
        assert!(tasks.is_empty());

        let task = map! {"name" => "t", "chunk" => map! {"total-chunks" => 2}};
        let message = run(&Setup::default(), transforms(), vec![task])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("field `chunk.substitution-fields`"),
            "{message}"
        );
    }

    #[test]
    fn format_errors_name_the_place_inside_the_field() {
        let task = map! {
            "name" => "t",
            "extra" => map! {"a" => Value::str_list(["{this_chunk}", "{nope}"])},
            "chunk" => map! {"total-chunks" => 1, "substitution-fields" => Value::str_list(["extra"])},
        };
        let message = run(&Setup::default(), transforms(), vec![task])
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("in kind `demo`, task `t`, field `extra.a[1]`:")
                && message.contains("KeyError: 'nope'"),
            "{message}"
        );
    }
}
