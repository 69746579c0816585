//! `task-context`: substitute values known only at generation time into
//! chosen fields of a task.
//!
//! The context is built from, lowest priority first: a YAML file
//! (`from-file`, relative to the working directory as in the reference),
//! literal values (`from-object`), and parameters (`from-parameters`, each
//! variable naming a dotted parameter path or a list of paths of which the
//! first non-None wins). `name` defaults to the task's name. Every field in
//! `substitution-fields` is then formatted with Python `str.format`.

use std::sync::LazyLock;

use crate::error::{Error, Result};
use crate::python::object_type_name;
use crate::schema::{Extra, Schema, dict, opt, req, str_list, str_map};
use crate::template::substitute_fields;
use crate::transform::{TaskDesc, TransformConfig, TransformRef, per_task, validate};
use crate::value::{Map, Value};
use crate::yaml;

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    dict([
        opt("name", Schema::Str),
        opt(
            "task-context",
            dict([
                opt(
                    "from-parameters",
                    str_map(Schema::OneOf(vec![str_list(), Schema::Str])),
                ),
                opt("from-file", Schema::Str),
                opt("from-object", Schema::Anything),
                req("substitution-fields", str_list()),
            ])
            .into(),
        ),
    ])
    .allow_extra()
    .into()
});

pub fn transforms() -> Vec<TransformRef> {
    vec![
        validate("task_context:validate", &SCHEMA, Extra::Allow),
        per_task("task_context:render_task", render_task),
    ]
}

fn render_task(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let Some(context) = task.fields.shift_remove("task-context") else {
        return Ok(());
    };
    let Value::Map(mut context) = context else {
        return Err(Error::schema("`task-context` must be a mapping").at_field("task-context"));
    };

    let params_context = from_parameters(config, context.shift_remove("from-parameters"))?;
    let file_context = match context.shift_remove("from-file") {
        Some(Value::Str(path)) if !path.is_empty() => Some(from_file(config, &path)?),
        _ => None,
    };
    let fields: Vec<String> = context
        .shift_remove("substitution-fields")
        .and_then(|f| {
            f.as_str_list()
                .map(|l| l.into_iter().map(str::to_owned).collect())
        })
        .unwrap_or_default();

    // `subs.update(...)` with each source in turn, as the reference does.
    let mut subs = Map::default();
    if let Some(file_context) = file_context {
        dict_update(&mut subs, file_context)
            .map_err(|e| Error::transform(e).at_field("task-context.from-file"))?;
    }
    if let Some(object) = context.shift_remove("from-object") {
        dict_update(&mut subs, object)
            .map_err(|e| Error::transform(e).at_field("task-context.from-object"))?;
    }
    subs.extend(params_context);
    if let Some(name) = task.fields.get("name") {
        subs.entry("name").or_insert_with(|| name.clone());
    }
    substitute_fields(&mut task.fields, &fields, &subs)
}

fn from_parameters(config: &TransformConfig<'_>, spec: Option<Value>) -> Result<Map> {
    let mut out = Map::default();
    let Some(Value::Map(spec)) = spec else {
        return Ok(out);
    };
    let params = config.params;
    for (var, path) in spec {
        let field = || format!("task-context.from-parameters.{var}");
        match path {
            Value::Str(path) => {
                let value = params.deep_get(&path).map_err(|e| e.at_field(&field()))?;
                out.insert(var, value.cloned().unwrap_or(Value::Null));
            }
            Value::List(choices) => {
                for choice in choices.iter().filter_map(Value::as_str) {
                    let value = params.deep_get(choice).map_err(|e| e.at_field(&field()))?;
                    if let Some(value) = value.filter(|v| !v.is_null()) {
                        out.insert(var, value.clone());
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The parsed `from-file`, whatever it holds; an empty file is None.
fn from_file(config: &TransformConfig<'_>, path: &str) -> Result<Value> {
    let full = config.graph_config.working_dir().join(path);
    yaml::load_file(&full).map_err(|e| e.at_field("task-context.from-file"))
}

/// Python's `dict.update(other)` into `subs`: a mapping is copied over,
/// anything else must be a sequence of key/value pairs. The keys end up
/// as keyword arguments of `str.format`, so they must be strings. Returns
/// the message of the exception Python raises otherwise.
fn dict_update(subs: &mut Map, other: Value) -> Result<(), String> {
    let items: Vec<Value> = match other {
        Value::Map(map) => {
            subs.extend(map);
            return Ok(());
        }
        Value::List(items) => items,
        Value::Str(s) => s.chars().map(|c| Value::Str(c.to_string())).collect(),
        other => {
            return Err(format!(
                "TypeError: '{}' object is not iterable",
                object_type_name(&other)
            ));
        }
    };
    for (index, item) in items.into_iter().enumerate() {
        let pair: Vec<Value> = match item {
            Value::List(pair) => pair,
            Value::Str(s) => s.chars().map(|c| Value::Str(c.to_string())).collect(),
            Value::Map(map) => map
                .into_keys()
                .map(|key| Value::Str(key.into_string()))
                .collect(),
            _ => {
                return Err(format!(
                    "TypeError: cannot convert dictionary update sequence element #{index} to a sequence"
                ));
            }
        };
        let [key, value]: [Value; 2] = pair.try_into().map_err(|pair: Vec<Value>| {
            format!(
                "ValueError: dictionary update sequence element #{index} has length {}; 2 is required",
                pair.len()
            )
        })?;
        match key {
            Value::Str(key) => {
                subs.insert(key, value);
            }
            Value::List(_) | Value::Map(_) => {
                return Err(format!("TypeError: unhashable type: '{}'", key.type_name()));
            }
            _ => return Err("TypeError: keywords must be strings".to_owned()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::template::test_kind::{Setup, run};

    fn render(setup: &Setup, task: Map) -> Result<Map> {
        let mut tasks = run(setup, transforms(), vec![task])?;
        Ok(tasks.remove(0).fields)
    }

    fn context_task(context: Map, extra: Map) -> Map {
        map! {
            "name" => "greet",
            "description" => "hello",
            "extra" => extra,
            "task-context" => context,
        }
    }

    #[test]
    fn a_missing_placeholder_names_the_kind_task_and_place() {
        let task = context_task(
            map! {"from-object" => map! {"a" => 1}, "substitution-fields" => Value::str_list(["extra"])},
            map! {"notes" => Value::str_list(["{a}", "hi {who}"])},
        );
        let message = render(&Setup::default(), task).unwrap_err().to_string();
        assert!(
            message.starts_with("in kind `demo`, task `greet`, field `extra.notes[1]`:"),
            "{message}"
        );
        assert!(message.contains("KeyError: 'who'"), "{message}");
    }

    #[test]
    fn parameter_paths_through_non_dicts_behave_like_python() {
        let setup = Setup {
            params: map! {"release" => map! {"channel" => "beta"}},
            ..Setup::default()
        };
        // "q" is not a substring of "beta": the walk stops with None.
        let task = context_task(
            map! {
                "from-parameters" => map! {"v" => "release.channel.q.r"},
                "substitution-fields" => Value::str_list(["extra"]),
            },
            map! {"v" => "{v}"},
        );
        let fields = render(&setup, task).unwrap();
        assert_eq!(fields["extra"], Value::Map(map! {"v" => "None"}));

        // A str has no `.get`.
        let task = context_task(
            map! {
                "from-parameters" => map! {"v" => "release.channel.x"},
                "substitution-fields" => Value::str_list(["extra"]),
            },
            map! {"v" => "{v}"},
        );
        let message = render(&setup, task).unwrap_err().to_string();
        assert!(
            message.contains("field `task-context.from-parameters.v`")
                && message.contains("AttributeError: 'str' object has no attribute 'get'"),
            "{message}"
        );
    }

    #[test]
    fn an_empty_from_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty.yml"), "# nothing here\n").unwrap();
        let setup = Setup {
            working_dir: dir.path().to_owned(),
            ..Setup::default()
        };
        let task = context_task(
            map! {"from-file" => "empty.yml", "substitution-fields" => Value::str_list(["extra"])},
            Map::default(),
        );
        let message = render(&setup, task).unwrap_err().to_string();
        assert!(
            message.contains("field `task-context.from-file`")
                && message.contains("TypeError: 'NoneType' object is not iterable"),
            "{message}"
        );
    }

    #[test]
    fn from_object_updates_the_context_like_dict_update() {
        // Python: {}.update([["a", 1], "bc"]) == {"a": 1, "b": "c"}.
        let pairs = Value::List(vec![
            Value::List(vec![Value::from("a"), Value::Int(1)]),
            Value::from("bc"),
        ]);
        let task = context_task(
            map! {"from-object" => pairs, "substitution-fields" => Value::str_list(["extra"])},
            map! {"v" => "{a}{b}"},
        );
        let fields = render(&Setup::default(), task).unwrap();
        assert_eq!(fields["extra"], Value::Map(map! {"v" => "1c"}));

        for (object, error) in [
            (Value::Null, "TypeError: 'NoneType' object is not iterable"),
            (
                Value::from("abc"),
                "ValueError: dictionary update sequence element #0 has length 1; 2 is required",
            ),
            (
                Value::List(vec![Value::Int(3)]),
                "TypeError: cannot convert dictionary update sequence element #0 to a sequence",
            ),
        ] {
            let task = context_task(
                map! {"from-object" => object, "substitution-fields" => Value::str_list(["extra"])},
                Map::default(),
            );
            let message = render(&Setup::default(), task).unwrap_err().to_string();
            assert!(message.contains(error), "{message}");
        }
    }
}
