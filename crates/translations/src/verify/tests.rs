//! Which task sets the reference refuses, for the same payloads.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use taskgraph::config::GraphConfig;
use taskgraph::params::Parameters;
use taskgraph::registry::{VerifyContext, VerifyPhase};
use taskgraph::task::Task;
use taskgraph::{Map, Registry, Result, yaml};

use super::register;

fn task(kind: &str, label: &str, payload: &str) -> (String, Arc<Task>) {
    let payload = yaml::load_str(payload, None).unwrap();
    let task = Task {
        attributes: Map::default(),
        task: Map::from_iter([("payload", payload)]),
        ..Task::new(kind, label)
    };
    (label.to_owned(), Arc::new(task))
}

/// An artifact upload to these destinations.
fn artifacts(label: &str, destinations: &[&str]) -> (String, Arc<Task>) {
    let references: Vec<String> = destinations
        .iter()
        .map(|d| format!("{{task-reference: '{d}'}}"))
        .collect();
    let payload = format!(
        "artifactMap: [{{taskId: {{task-reference: <up>}}, paths: {{'public/*': {{destinations: [{}]}}}}}}]",
        references.join(", ")
    );
    task("upload-artifacts", label, &payload)
}

fn check(tasks: Vec<(String, Arc<Task>)>) -> Result<()> {
    let mut registry = Registry::empty();
    register(&mut registry);
    let tasks: IndexMap<String, Arc<Task>> = tasks.into_iter().collect();
    let params = Parameters::from_map(Map::default());
    let text = "trust-domain: unit\ntask-priority: low\nworkers: {aliases: {}}\n\
                taskgraph:\n  repositories: {unit: {name: Unit}}\n";
    let graph_config = GraphConfig::from_value(
        yaml::load_str(text, None).unwrap(),
        Path::new("/unit/taskcluster"),
        "/unit".into(),
    )
    .unwrap();
    let ctx = VerifyContext {
        tasks: &tasks,
        params: &params,
        graph_config: &graph_config,
    };
    registry.verify(VerifyPhase::FullTaskSet, &ctx)?;
    // The check belongs to the full task set only.
    registry.verify(VerifyPhase::FullTaskGraph, &ctx).unwrap();
    Ok(())
}

#[test]
fn distinct_destinations_pass() {
    check(vec![
        artifacts("upload-a", &["models/<decision>/a"]),
        artifacts("upload-b", &["models/<decision>/b"]),
    ])
    .unwrap();
}

#[test]
fn a_shared_destination_names_both_tasks_in_label_order() {
    let err = check(vec![
        artifacts("upload-z", &["models/<decision>/same"]),
        artifacts("upload-a", &["models/<decision>/same"]),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("models/<decision>/same"), "{text}");
    let earlier = text.find("`upload-a`").expect("names upload-a");
    let later = text.rfind("`upload-z`").expect("names upload-z");
    assert!(earlier < later, "{text}");
    assert_eq!(err.location().task.as_deref(), Some("upload-z"));
}

#[test]
fn one_task_naming_a_destination_twice_conflicts_with_itself() {
    let err = check(vec![artifacts(
        "upload-a",
        &["x/<decision>", "x/<decision>"],
    )])
    .unwrap_err();
    assert!(err.to_string().contains("x/<decision>"), "{err}");
}

#[test]
fn final_evaluations_may_share_destinations() {
    check(vec![
        artifacts("upload-a", &["final-evals/<decision>/x"]),
        artifacts("upload-b", &["final-evals/<decision>/x"]),
    ])
    .unwrap();
}

#[test]
fn only_upload_kinds_are_checked() {
    let (_, other) = artifacts("train-a", &["x/<decision>"]);
    let mut other = (*other).clone();
    other.kind = "train".to_owned();
    check(vec![
        ("train-a".to_owned(), Arc::new(other)),
        artifacts("upload-a", &["x/<decision>"]),
    ])
    .unwrap();
}

#[test]
fn the_experiment_config_upload_is_read_from_its_data_map() {
    let config = task(
        "upload-experiment-config",
        "upload-experiment-config",
        "dataMap: [{data: e30=, destinations: [{task-reference: 'models/<decision>/a'}]}]",
    );
    let err = check(vec![
        config.clone(),
        artifacts("upload-a", &["models/<decision>/a"]),
    ])
    .unwrap_err();
    assert!(
        err.to_string().contains("upload-experiment-config"),
        "{err}"
    );

    // Its `artifactMap`, if it had one, would not be read.
    let artifact_style = task(
        "upload-experiment-config",
        "upload-experiment-config",
        "artifactMap: []",
    );
    assert!(check(vec![artifact_style]).is_err());
}

#[test]
fn destinations_must_be_task_references() {
    let plain = task(
        "upload-artifacts",
        "upload-a",
        "artifactMap: [{paths: {'*': {destinations: [plain/path]}}}]",
    );
    let err = check(vec![plain]).unwrap_err();
    assert!(err.to_string().contains("plain/path"), "{err}");
}
