//! Expected selections and failures were taken from the Python reference,
//! run on the same attributes and parameters.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use taskgraph::config::GraphConfig;
use taskgraph::params::Parameters;
use taskgraph::registry::TargetContext;
use taskgraph::task::Task;
use taskgraph::{Map, Registry, Result, Value, yaml};

use super::register;

fn graph_config() -> GraphConfig {
    let text = "trust-domain: unit\ntask-priority: low\nworkers: {aliases: {}}\n\
                taskgraph:\n  repositories: {unit: {name: Unit}}\n";
    let value = yaml::load_str(text, None).unwrap();
    GraphConfig::from_value(value, Path::new("/unit/taskcluster"), "/unit".into()).unwrap()
}

fn yaml_map(text: &str) -> Map {
    match yaml::load_str(text, None).unwrap() {
        Value::Map(map) => map,
        other => panic!("not a mapping: {other:?}"),
    }
}

/// Tasks labelled by the keys of `text`, with its values as attributes.
fn tasks(text: &str) -> IndexMap<String, Arc<Task>> {
    yaml_map(text)
        .into_iter()
        .map(|(label, attributes)| {
            let task = Task {
                attributes: attributes.as_map().cloned().unwrap_or_default(),
                ..Task::new("unit", label.to_string())
            };
            (label.to_string(), Arc::new(task))
        })
        .collect()
}

/// What `method` selects from `tasks` with these parameters.
fn select(method: &str, tasks_yaml: &str, params_yaml: &str) -> Result<Vec<String>> {
    let mut registry = Registry::empty();
    register(&mut registry);
    let tasks = tasks(tasks_yaml);
    let params = Parameters::from_map(yaml_map(params_yaml));
    let graph_config = graph_config();
    let ctx = TargetContext {
        tasks: &tasks,
        params: &params,
        graph_config: &graph_config,
        registry: &registry,
    };
    registry.target_method(method)?(&ctx)
}

const TRAINING: &str = "\
training_config:
  target-stage: train
  experiment: {src: ru, trg: en}
  datasets: {train: [opus_ada83/v1, mtdata_x]}
";

fn on_target(extra: &str) -> String {
    format!("x: {{stage: train, src_locale: ru, trg_locale: en{extra}}}")
}

#[test]
fn train_target_tasks_match_stage_and_language_pair() {
    let tasks = "\
a: {stage: train, src_locale: ru, trg_locale: en}
b: {stage: train, src_locale: ru, trg_locale: de}
c: {stage: other, src_locale: ru, trg_locale: en}
d: {stage: train, src_locale: ru, trg_locale: en, dataset: ada83/v1, dataset-category: train, provider: opus}
e: {stage: train, src_locale: ru, trg_locale: en, dataset: unlisted, dataset-category: train, provider: opus}
f: {stage: train, src_locale: ru, trg_locale: en, dataset: x, dataset-category: unknown-category}
g: {src_locale: ru, trg_locale: en}
";
    // `e` is kept although its dataset is not configured: the reference's
    // dataset walk selects nothing away.
    assert_eq!(
        select("train-target-tasks", tasks, TRAINING).unwrap(),
        ["a", "d", "e", "f"]
    );
}

#[test]
fn a_dataset_task_needs_its_category_and_provider() {
    let err = select("train-target-tasks", &on_target(", dataset: x"), TRAINING).unwrap_err();
    assert!(err.to_string().contains("dataset-category"), "{err}");

    let missing_provider = on_target(", dataset: x, dataset-category: train");
    let err = select("train-target-tasks", &missing_provider, TRAINING).unwrap_err();
    assert!(err.to_string().contains("`provider`"), "{err}");

    // A provider matching none of the configured ones is fine.
    let other_provider = on_target(", dataset: x, dataset-category: train, provider: mtdata");
    assert_eq!(
        select("train-target-tasks", &other_provider, TRAINING).unwrap(),
        ["x"]
    );
}

#[test]
fn a_configured_dataset_needs_a_provider_prefix() {
    let params = TRAINING.replace("[opus_ada83/v1, mtdata_x]", "[nounderscore]");
    let task = on_target(", dataset: x, dataset-category: train, provider: opus");
    let err = select("train-target-tasks", &task, &params).unwrap_err();
    assert!(err.to_string().contains("nounderscore"), "{err}");
    // Only tasks that reach the walk trip over it.
    assert_eq!(
        select("train-target-tasks", "y: {stage: train}", &params).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn a_list_valued_category_is_an_error() {
    let task = on_target(", dataset: x, dataset-category: [train], provider: opus");
    assert!(select("train-target-tasks", &task, TRAINING).is_err());
}

#[test]
fn train_target_tasks_need_datasets_even_without_dataset_tasks() {
    let params = TRAINING.replace("  datasets: {train: [opus_ada83/v1, mtdata_x]}\n", "");
    let err = select("train-target-tasks", "x: {stage: other}", &params).unwrap_err();
    assert_eq!(
        err.location().field.as_deref(),
        Some("training_config.datasets")
    );
}

#[test]
fn missing_training_parameters_are_errors() {
    let err = select(
        "train-target-tasks",
        "{}",
        "target_tasks_method: train-target-tasks",
    )
    .unwrap_err();
    assert!(err.to_string().contains("`training_config`"), "{err}");

    let params = TRAINING.replace("src: ru, ", "");
    let err = select("train-target-tasks", "{}", &params).unwrap_err();
    assert_eq!(
        err.location().field.as_deref(),
        Some("training_config.experiment.src")
    );
}

#[test]
fn final_eval_target_tasks_use_the_top_level_target_stage() {
    let tasks = "x: {stage: final-eval}\ny: {}\nz: {stage: train}\n";
    assert_eq!(
        select("final-eval-target-tasks", tasks, "target-stage: final-eval").unwrap(),
        ["x"]
    );
    // A null stage matches the tasks that have none, as `None != None` is
    // false in Python.
    assert_eq!(
        select("final-eval-target-tasks", tasks, "target-stage: null").unwrap(),
        ["y"]
    );
    // The training configuration's stage does not stand in for it.
    let err = select("final-eval-target-tasks", tasks, TRAINING).unwrap_err();
    assert_eq!(err.location().field.as_deref(), Some("target-stage"));
}

#[test]
fn update_db_target_tasks_keep_the_update_db_stage() {
    let tasks = "x: {stage: update-db}\ny: {}\nz: {stage: train}\n";
    assert_eq!(
        select("update-db-target-tasks", tasks, "{}").unwrap(),
        ["x"]
    );
}
