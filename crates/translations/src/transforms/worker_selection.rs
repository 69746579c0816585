//! `translations_taskgraph.transforms.worker_selection`: picks each task's
//! worker and gives GPU tasks the environment their worker needs.
//!
//! Kinds name a local alias (`b-largegpu`, possibly keyed by `tasks-for`);
//! `config.yml`'s `local-worker-aliases` turns it into one of taskgraph's
//! worker aliases, keyed by the worker class the training config chooses
//! for the kind (`taskcluster.worker-classes`). Then the worker's entry in
//! `worker-configuration` supplies `GPUS` and `WORKSPACE`, so the task does
//! not have to discover them when it runs.

use taskgraph::keyed_by::{KeyedByOptions, evaluate_keyed_by};
use taskgraph::python::{py_repr, py_str};
use taskgraph::transform::{TaskDesc, TransformConfig, TransformRef, batch, per_task};
use taskgraph::{Error, Map, Registry, Result, Value};

const NAME: &str = "translations_taskgraph.transforms.worker_selection";

pub fn register(registry: &mut Registry) {
    registry.add_transforms(NAME, transforms());
}

pub fn transforms() -> Vec<TransformRef> {
    vec![
        // A batch: the worker class is read before the first task, so a
        // training config without one fails even for a kind left empty.
        batch("worker_selection:set_worker_type", set_worker_type),
        per_task("worker_selection:inject_worker_env", inject_worker_env),
    ]
}

fn set_worker_type(
    config: &TransformConfig<'_>,
    mut tasks: Vec<TaskDesc>,
) -> Result<Vec<TaskDesc>> {
    let worker_class = worker_class(config)?;

    for task in &mut tasks {
        resolve_worker_type(config, &worker_class, &mut task.fields)
            .map_err(|e| e.at(&task.location(config.kind)))?;
    }
    Ok(tasks)
}

/// `training_config.taskcluster.worker-classes`, the entry for this kind or
/// else `default` (which must exist either way, as the reference looks it
/// up first).
fn worker_class(config: &TransformConfig<'_>) -> Result<Value> {
    let worker_classes = config
        .params
        .get("training_config")
        .and_then(|training| training.get("taskcluster"))
        .and_then(|taskcluster| taskcluster.get("worker-classes"))
        .and_then(Value::as_map)
        .ok_or_else(|| Error::params("`training_config.taskcluster.worker-classes` is not set"))?;
    let default = worker_classes.get("default").ok_or_else(|| {
        Error::params("`training_config.taskcluster.worker-classes` has no `default`")
    })?;
    Ok(worker_classes.get(config.kind).unwrap_or(default).clone())
}

fn resolve_worker_type(
    config: &TransformConfig<'_>,
    worker_class: &Value,
    task: &mut Map,
) -> Result<()> {
    let description = required(task, "description")?;
    let item_name = py_str(description);
    let requested = required(task, "worker-type")?;
    let tasks_for = config
        .params
        .get("tasks_for")
        .cloned()
        .ok_or_else(|| Error::params("taskgraph parameter `tasks_for` not found"))?;

    let local_alias = evaluate_keyed_by(
        requested,
        &item_name,
        &[("tasks-for", tasks_for)],
        KeyedByOptions::default(),
    )
    .map_err(|e| e.at_field("worker-type"))?;

    let Value::Str(local_alias) = local_alias else {
        return Err(unknown_alias(&local_alias));
    };
    let alias_block = local_alias_block(config, &local_alias)?;
    let worker_type = evaluate_keyed_by(
        alias_block,
        &local_alias,
        &[("worker-class", worker_class.clone())],
        KeyedByOptions::default(),
    )
    .map_err(|e| e.at_field("worker-type"))?;

    task.insert("worker-type", worker_type);
    Ok(())
}

/// `local-worker-aliases[alias]`, which must be a mapping or a list (the
/// reference calls `.copy()` on it).
fn local_alias_block<'c>(config: &'c TransformConfig<'_>, alias: &str) -> Result<&'c Value> {
    let aliases = config
        .graph_config
        .get("local-worker-aliases")
        .ok_or_else(|| Error::config("config.yml has no `local-worker-aliases`"))?;
    match aliases.get(alias) {
        Some(block @ (Value::Map(_) | Value::List(_))) => Ok(block),
        Some(other) => Err(Error::config(format!(
            "`local-worker-aliases.{alias}` is a {}; it must be a mapping",
            other.type_name()
        ))),
        None => Err(unknown_alias(&Value::from(alias))),
    }
}

fn unknown_alias(alias: &Value) -> Error {
    Error::transform(format!(
        "worker-type {} is not one of config.yml's `local-worker-aliases` (KeyError)",
        py_repr(alias)
    ))
    .at_field("worker-type")
}

fn inject_worker_env(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let worker_type = required(&task.fields, "worker-type")?;
    // An absent entry or env is Python's `{}`: it lacks GPUS and WORKSPACE,
    // so a GPU worker type without one is the same misconfiguration.
    let empty = Map::default();
    let worker_env = worker_env(config, worker_type)?.unwrap_or(&empty);

    if !(worker_env.contains_key("GPUS") && worker_env.contains_key("WORKSPACE")) {
        // A GPU task without these would fail on its worker; say so now.
        if worker_type_mentions_gpu(worker_type)? {
            return Err(Error::config(format!(
                "GPUS and/or WORKSPACE values missing from worker env of `{}`, this is probably misconfiguration.",
                py_str(worker_type)
            )));
        }
        return Ok(());
    }

    let worker_env = worker_env.clone();
    let env = task
        .fields
        .get_mut("worker")
        .and_then(|worker| worker.get_mut("env"))
        .and_then(Value::as_map_mut)
        .ok_or_else(|| {
            Error::transform("the task has no `worker.env` mapping to add GPUS and WORKSPACE to")
                .at_field("worker.env")
        })?;
    env.extend(worker_env);
    Ok(())
}

/// The `env` of the worker's `worker-configuration` entry; an absent entry
/// or env counts as empty. None stands for "empty".
fn worker_env<'c>(config: &'c TransformConfig<'_>, worker_type: &Value) -> Result<Option<&'c Map>> {
    let configurations = config
        .graph_config
        .get("worker-configuration")
        .and_then(Value::as_map)
        .ok_or_else(|| Error::config("config.yml has no `worker-configuration` mapping"))?;
    if matches!(worker_type, Value::List(_) | Value::Map(_)) {
        return Err(Error::transform(format!(
            "worker-type is an unhashable {} (TypeError)",
            worker_type.type_name()
        ))
        .at_field("worker-type"));
    }

    let Some(configuration) = worker_type
        .as_str()
        .and_then(|name| configurations.get(name))
    else {
        return Ok(None);
    };
    let name = py_str(worker_type);
    let Value::Map(configuration) = configuration else {
        return Err(Error::config(format!(
            "`worker-configuration.{name}` is a {}, not a mapping",
            configuration.type_name()
        )));
    };
    match configuration.get("env") {
        None => Ok(None),
        Some(Value::Map(env)) => Ok(Some(env)),
        Some(other) => Err(Error::config(format!(
            "`worker-configuration.{name}.env` is a {}, not a mapping",
            other.type_name()
        ))),
    }
}

/// `"gpu" in worker_type`, for the string a resolved worker type is.
fn worker_type_mentions_gpu(worker_type: &Value) -> Result<bool> {
    match worker_type {
        Value::Str(name) => Ok(name.contains("gpu")),
        other => Err(Error::transform(format!(
            "worker-type is a {}, not a string (TypeError)",
            other.type_name()
        ))
        .at_field("worker-type")),
    }
}

fn required<'t>(task: &'t Map, key: &str) -> Result<&'t Value> {
    task.get(key).ok_or_else(|| {
        Error::transform(format!("the task has no `{key}` (KeyError)")).at_field(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::continuation::testing::{TestKind, yaml_map};

    const GRAPH_CONFIG: &str = r#"
        local-worker-aliases:
          b-cpu:
            by-worker-class:
              gcp-standard: b-linux-large-gcp
              default: b-linux-large-gcp
          b-largegpu:
            by-worker-class:
              gcp-standard: b-linux-v100-gpu-4-standard
              default: b-linux-v100-gpu-4
          b-plain-gpu: [b-broken-gpu]
        worker-configuration:
          b-linux-v100-gpu-4:
            env: {GPUS: "0 1 2 3", WORKSPACE: "12000", EXTRA: "x"}
          b-linux-v100-gpu-4-standard:
            env: {GPUS: "0"}
          b-linux-large-gcp:
            env: {WORKSPACE: "1"}
    "#;

    fn kind(kind: &'static str, tasks_for: &str) -> TestKind {
        let params = yaml_map(&format!(
            r#"
            tasks_for: {tasks_for}
            training_config:
              taskcluster:
                worker-classes: {{default: gcp-spot, train-teacher-model: gcp-standard}}
            "#
        ));
        let mut test_kind = TestKind::new(kind, params);
        test_kind.graph_config = yaml_map(GRAPH_CONFIG);
        test_kind
    }

    const TRAINING_TASK: &str = r#"
        name: t
        description: train
        worker-type:
          by-tasks-for:
            github-pull-request: b-cpu
            default: b-largegpu
        worker:
          env: {WORKSPACE: "old", A: "a"}
    "#;

    #[test]
    fn registered_under_the_name_kinds_use() {
        let mut registry = Registry::empty();
        register(&mut registry);
        assert!(
            registry
                .transforms("translations_taskgraph.transforms.worker_selection")
                .is_ok()
        );
    }

    #[test]
    fn the_alias_resolves_by_tasks_for_then_worker_class_and_gets_gpu_env() {
        let tasks = kind("corpus-clean-mono", "github-push")
            .run(&transforms(), vec![yaml_map(TRAINING_TASK)])
            .unwrap();

        // Python: worker-type 'b-linux-v100-gpu-4', env
        // {'WORKSPACE': '12000', 'A': 'a', 'GPUS': '0 1 2 3', 'EXTRA': 'x'}
        let task = &tasks[0];
        assert_eq!(
            task.get("worker-type"),
            Some(&Value::from("b-linux-v100-gpu-4"))
        );
        let env = task
            .get("worker")
            .and_then(|w| w.get("env"))
            .and_then(Value::as_map)
            .unwrap();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k, v.as_str().unwrap())).collect();
        assert_eq!(
            pairs,
            [
                ("WORKSPACE", "12000"),
                ("A", "a"),
                ("GPUS", "0 1 2 3"),
                ("EXTRA", "x")
            ]
        );
        let keys: Vec<&str> = task.keys().collect();
        assert_eq!(keys, ["name", "description", "worker-type", "worker"]);
    }

    #[test]
    fn cpu_workers_without_gpu_env_are_left_alone() {
        let tasks = kind("corpus-clean-mono", "github-pull-request")
            .run(&transforms(), vec![yaml_map(TRAINING_TASK)])
            .unwrap();
        let task = &tasks[0];
        assert_eq!(
            task.get("worker-type"),
            Some(&Value::from("b-linux-large-gcp"))
        );
        assert_eq!(
            task.get("worker").and_then(|w| w.get("env")),
            Some(&Value::Map(yaml_map("{WORKSPACE: old, A: a}")))
        );
    }

    #[test]
    fn a_gpu_worker_missing_gpus_or_workspace_is_an_error() {
        // train-teacher-model uses the gcp-standard class, whose GPU worker
        // lacks WORKSPACE.
        let message = kind("train-teacher-model", "github-push")
            .run(&transforms(), vec![yaml_map(TRAINING_TASK)])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("task `t`") && message.contains("GPUS and/or WORKSPACE"),
            "{message}"
        );
    }

    #[test]
    fn a_gpu_worker_without_a_configuration_entry_is_an_error() {
        // Python: worker_config = {}.get(worker_type, {}) lacks GPUS, and
        // "gpu" in "b-linux-unconfigured-gpu" raises; a non-string worker
        // type fails `"gpu" in 5` with a TypeError.
        let params = kind("x", "github-push").params;
        let run = |worker_type: Value| {
            let mut test_kind = TestKind::new("x", params.clone());
            test_kind.graph_config = yaml_map(GRAPH_CONFIG);
            let mut task = yaml_map("name: t\ndescription: d\nworker: {env: {}}");
            task.insert("worker-type", worker_type);
            test_kind.run(&[per_task("inject", inject_worker_env)], vec![task])
        };
        let message = run(Value::from("b-linux-unconfigured-gpu"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("GPUS and/or WORKSPACE"), "{message}");
        assert!(run(Value::Int(5)).is_err());
        assert!(run(Value::from("b-linux-unconfigured-cpu")).is_ok());
    }

    #[test]
    fn a_list_alias_block_passes_through_as_the_worker_type() {
        let task = "name: t\ndescription: d\nworker-type: b-plain-gpu\nworker: {env: {}}";
        let tasks = kind("x", "github-push").run(&transforms(), vec![yaml_map(task)]);
        // Python copies the list and returns it unevaluated; then the
        // unhashable list cannot be looked up in worker-configuration.
        let message = tasks.unwrap_err().to_string();
        assert!(message.contains("unhashable list"), "{message}");
    }

    #[test]
    fn unknown_aliases_and_missing_worker_classes_are_errors() {
        let task = "name: t\ndescription: d\nworker-type: b-nope\nworker: {env: {}}";
        let message = kind("x", "github-push")
            .run(&transforms(), vec![yaml_map(task)])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("task `t`") && message.contains("'b-nope'"),
            "{message}"
        );

        let mut no_classes = kind("x", "github-push");
        no_classes.params = yaml_map(
            "tasks_for: github-push\ntraining_config: {taskcluster: {worker-classes: {x: a}}}",
        );
        let message = no_classes
            .run(&transforms(), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(message.contains("no `default`"), "{message}");
    }
}
