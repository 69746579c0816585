//! Running a transform sequence over a few tasks in unit tests, with the
//! parameters and kind-dependency tasks a test chooses.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use taskgraph::config::GraphConfig;
use taskgraph::params::Parameters;
use taskgraph::task::Task;
use taskgraph::transform::{Origin, TaskDesc, TransformConfig, TransformRef, run_sequence};
use taskgraph::{Map, Registry, Result, Value, map};

/// What a test kind sees besides its tasks.
#[derive(Debug, Default)]
pub(crate) struct Setup {
    pub params: Map,
    pub dependencies: Vec<Task>,
}

/// A task of another kind with these attributes (plus `kind`, as the
/// reference's `Task` adds it).
pub(crate) fn upstream(kind: &str, label: &str, mut attributes: Map) -> Task {
    attributes.insert("kind", Value::from(kind));
    Task {
        attributes,
        ..Task::new(kind, label)
    }
}

/// Runs `sequence` over `tasks` as a kind named `demo` would, returning the
/// resulting task fields.
pub(crate) fn run(setup: &Setup, sequence: &[TransformRef], tasks: Vec<Map>) -> Result<Vec<Map>> {
    let working_dir = std::env::temp_dir();
    let graph_config = GraphConfig::from_value(
        Value::Map(map! {
            "trust-domain" => "demo",
            "task-priority" => "low",
            "workers" => map! {"aliases" => Map::default()},
            "taskgraph" => map! {"repositories" => map! {"demo" => map! {"name" => "Demo"}}},
        }),
        &working_dir.join("taskcluster"),
        working_dir.clone(),
    )?;
    let params = Parameters::from_map(setup.params.clone());
    let dependencies: IndexMap<String, Arc<Task>> = setup
        .dependencies
        .iter()
        .map(|t| (t.label.clone(), Arc::new(t.clone())))
        .collect();
    let registry = Registry::with_builtins();
    let kind_config = Map::default();
    let path = "taskcluster/kinds/demo";
    let config = TransformConfig::new(
        "demo",
        path,
        Path::new(path),
        &kind_config,
        &params,
        &dependencies,
        &graph_config,
        &registry,
    );

    let descs = tasks
        .into_iter()
        .map(|fields| {
            let origin = Origin {
                file: format!("{path}/kind.yml").into(),
                position: None,
                name: "demo-task".to_owned(),
            };
            TaskDesc::new(fields, Arc::new(origin))
        })
        .collect();
    let out = run_sequence(&config, sequence, descs)?;
    Ok(out.into_iter().map(|desc| desc.fields).collect())
}

/// A JSON document (as the Python harness prints it) as a [`Value`].
pub(crate) fn json(text: &str) -> Value {
    taskgraph::python::json_parse(text).expect("test JSON parses")
}

/// [`json`] for a mapping.
pub(crate) fn json_map(text: &str) -> Map {
    match json(text) {
        Value::Map(map) => map,
        other => panic!("expected a JSON object, got {other:?}"),
    }
}
