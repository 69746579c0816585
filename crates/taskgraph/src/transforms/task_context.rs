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
use crate::schema::{Extra, Schema, dict, opt, req, str_list, str_map};
use crate::template::{deep_get, substitute_fields};
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
        Some(Value::Str(path)) if !path.is_empty() => from_file(config, &path)?,
        _ => Map::new(),
    };
    let fields: Vec<String> = context
        .shift_remove("substitution-fields")
        .and_then(|f| {
            f.as_str_list()
                .map(|l| l.into_iter().map(str::to_owned).collect())
        })
        .unwrap_or_default();

    let mut subs = file_context;
    if let Some(Value::Map(object)) = context.shift_remove("from-object") {
        subs.extend(object);
    }
    subs.extend(params_context);
    if let Some(name) = task.fields.get("name") {
        subs.entry("name".to_owned())
            .or_insert_with(|| name.clone());
    }
    substitute_fields(&mut task.fields, &fields, &subs)
}

fn from_parameters(config: &TransformConfig<'_>, spec: Option<Value>) -> Result<Map> {
    let mut out = Map::new();
    let Some(Value::Map(spec)) = spec else {
        return Ok(out);
    };
    let params = config.params.as_map();
    for (var, path) in spec {
        match path {
            Value::Str(path) => {
                out.insert(var, deep_get(params, &path).cloned().unwrap_or(Value::Null));
            }
            Value::List(choices) => {
                let first = choices
                    .iter()
                    .filter_map(Value::as_str)
                    .find_map(|choice| deep_get(params, choice).filter(|v| !v.is_null()).cloned());
                if let Some(value) = first {
                    out.insert(var, value);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn from_file(config: &TransformConfig<'_>, path: &str) -> Result<Map> {
    let full = config.graph_config.working_dir().join(path);
    match yaml::load_file(&full)? {
        Value::Map(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(Error::transform(format!(
            "`from-file` `{path}` must hold a mapping, not {}",
            other.type_name()
        ))
        .at_field("task-context.from-file")),
    }
}
