//! `translations_taskgraph.transforms.marian_args`: Marian options from the
//! training config.
//!
//! A task names a mapping of the parameters (`marian-args.from-parameters:
//! training_config.marian-args.decoding-teacher`); its entries become
//! command-line options, ` --<name> <value>` each in the mapping's order,
//! offered to `task-context` as `marian_args` (under `from-object`) so the
//! kind's command can say `{marian_args}`.

use std::sync::LazyLock;

use taskgraph::params::Parameters;
use taskgraph::schema::{Extra, Schema, dict, req};
use taskgraph::transform::{
    TaskDesc, TransformConfig, TransformRef, map_entry, per_task, validate,
};
use taskgraph::{Error, Map, Registry, Result, Value};

const NAME: &str = "translations_taskgraph.transforms.marian_args:transforms";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    dict([req(
        "marian-args",
        dict([req("from-parameters", Schema::Str)]).into(),
    )])
    .allow_extra()
    .into()
});

pub fn register(registry: &mut Registry) {
    registry.add_transforms(NAME, transforms());
}

pub fn transforms() -> Vec<TransformRef> {
    vec![
        validate("marian_args:validate", &SCHEMA, Extra::Allow),
        per_task("marian_args:render_command", render_command),
    ]
}

fn render_command(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let parameter = task
        .fields
        .shift_remove("marian-args")
        .and_then(|args| args.get("from-parameters").cloned());
    let Some(Value::Str(parameter)) = parameter else {
        // The schema requires the field; this only guards direct callers.
        return Err(
            Error::transform("`marian-args.from-parameters` is required")
                .at_field("marian-args.from-parameters"),
        );
    };

    let options = parameter_mapping(config.params, &parameter)?;
    let marian_args = command_line_options(options);

    let context = task_context(&mut task.fields)?;
    match context
        .entry("from-object")
        .or_insert_with(|| Value::Map(Map::default()))
    {
        Value::Map(from_object) => {
            from_object.insert("marian_args", Value::Str(marian_args));
            Ok(())
        }
        other => Err(Error::transform(format!(
            "`task-context.from-object` is a {}, not a mapping (TypeError)",
            other.type_name()
        ))
        .at_field("task-context.from-object")),
    }
}

/// The mapping at the dotted `parameter` path (the pipeline's `deep_get` on
/// the parameters); the reference fails calling `.items()` on anything
/// else, including a path that leads nowhere.
fn parameter_mapping<'p>(params: &'p Parameters, parameter: &str) -> Result<&'p Map> {
    let found = params
        .deep_get(parameter)
        .map_err(|e| e.at_field("marian-args.from-parameters"))?;

    match found {
        Some(Value::Map(options)) => Ok(options),
        Some(other) => Err(Error::transform(format!(
            "marian-args: parameter `{parameter}` is a {}, not a mapping of options",
            other.type_name()
        ))
        .at_field("marian-args.from-parameters")),
        None => Err(
            Error::transform(format!("marian-args: parameter `{parameter}` is not set"))
                .at_field("marian-args.from-parameters"),
        ),
    }
}

/// ` --name value` for each entry, values formatted with Python's `str()`.
fn command_line_options(options: &Map) -> String {
    options
        .iter()
        .map(|(name, value)| format!(" --{name} {value}"))
        .collect()
}

fn task_context(task: &mut Map) -> Result<&mut Map> {
    match task.get("task-context") {
        Some(Value::Map(_)) => Ok(map_entry(task, "task-context")),
        Some(other) => Err(Error::transform(format!(
            "`task-context` is a {}, not a mapping",
            other.type_name()
        ))
        .at_field("task-context")),
        None => Err(Error::transform(
            "marian-args needs a `task-context` to offer `marian_args` to (KeyError: 'task-context')",
        )
        .at_field("task-context")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::continuation::testing::{TestKind, yaml_map};

    fn params() -> Map {
        yaml_map(
            r#"
            training_config:
              marian-args:
                decoding-teacher: {mini-batch-words: '5000', maxi-batch: 10000, precision: float16, beam: 1.5, flag: true, none: null}
                empty: {}
                listed: [a]
            "#,
        )
    }

    fn run(task: &str) -> Result<Vec<Map>> {
        TestKind::new("distillation-mono-src-translate", params())
            .run(&transforms(), vec![yaml_map(task)])
    }

    #[test]
    fn registered_under_the_names_kinds_use() {
        let mut registry = Registry::empty();
        register(&mut registry);
        for name in [
            "translations_taskgraph.transforms.marian_args",
            "translations_taskgraph.transforms.marian_args:transforms",
        ] {
            assert!(registry.transforms(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn options_join_in_order_with_python_str_values() {
        let tasks = run(r#"
            name: t
            marian-args: {from-parameters: training_config.marian-args.decoding-teacher}
            task-context: {from-parameters: {a: b}, substitution-fields: [run]}
        "#)
        .unwrap();

        let task = &tasks[0];
        assert!(!task.contains_key("marian-args"));
        let context = task.get("task-context").unwrap();
        let keys: Vec<&str> = context.as_map().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["from-parameters", "substitution-fields", "from-object"]
        );
        // The reference gives this exact string for the same mapping.
        assert_eq!(
            context.get_path("from-object.marian_args"),
            Some(&Value::from(
                " --mini-batch-words 5000 --maxi-batch 10000 --precision float16 --beam 1.5 --flag True --none None"
            ))
        );
    }

    #[test]
    fn an_existing_from_object_keeps_its_entries() {
        let tasks = run(r#"
            name: t
            marian-args: {from-parameters: training_config.marian-args.empty}
            task-context: {from-object: {marian_args: old, other: x}}
        "#)
        .unwrap();
        let from_object = tasks[0].get("task-context").unwrap().get("from-object");
        let expected: Map = [
            ("marian_args", Value::from("")),
            ("other", Value::from("x")),
        ]
        .into_iter()
        .collect();
        assert_eq!(from_object, Some(&Value::Map(expected)));
    }

    #[test]
    fn a_missing_or_non_mapping_parameter_is_an_error() {
        for (path, wanted) in [
            ("training_config.marian-args.nope", "is not set"),
            ("nowhere", "is not set"),
            ("training_config.marian-args.listed", "is a list"),
        ] {
            let task =
                format!("name: t\nmarian-args: {{from-parameters: {path}}}\ntask-context: {{}}");
            let message = run(&task).unwrap_err().to_string();
            assert!(
                message.contains("task `t`") && message.contains(path) && message.contains(wanted),
                "{message}"
            );
        }
    }

    #[test]
    fn a_task_without_task_context_is_an_error() {
        let message =
            run("name: t\nmarian-args: {from-parameters: training_config.marian-args.empty}")
                .unwrap_err()
                .to_string();
        assert!(message.contains("field `task-context`"), "{message}");
    }

    #[test]
    fn the_schema_requires_marian_args() {
        let message = run("name: t\ntask-context: {}").unwrap_err().to_string();
        assert!(message.contains("marian-args"), "{message}");
    }
}
