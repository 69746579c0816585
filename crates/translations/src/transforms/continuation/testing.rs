//! A small kind runner for the unit tests of this crate's transforms: it
//! builds the [`TransformConfig`] a kind loader would and runs a transform
//! sequence over plain task maps.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use taskgraph::config::GraphConfig;
use taskgraph::params::Parameters;
use taskgraph::task::Task;
use taskgraph::transform::{Origin, TaskDesc, TransformConfig, TransformRef, run_sequence};
use taskgraph::{Map, Registry, Result, Value, map};

/// What a test kind runs with.
pub(crate) struct TestKind {
    pub kind: &'static str,
    pub params: Map,
    /// Keys added to a minimal valid `config.yml`.
    pub graph_config: Map,
}

impl TestKind {
    pub fn new(kind: &'static str, params: Map) -> TestKind {
        TestKind {
            kind,
            params,
            graph_config: Map::default(),
        }
    }

    /// Runs `sequence` over `tasks`, each named by its `name` field, and
    /// returns the tasks' fields.
    pub fn run(&self, sequence: &[TransformRef], tasks: Vec<Map>) -> Result<Vec<Map>> {
        let mut config_yml = map! {
            "trust-domain" => "translations",
            "task-priority" => "low",
            "workers" => map! {"aliases" => Map::default()},
            "taskgraph" => map! {"repositories" => map! {"ftt" => map! {"name" => "ftt"}}},
        };
        config_yml.extend(self.graph_config.clone());
        let root = std::env::temp_dir();
        let graph_config =
            GraphConfig::from_value(Value::Map(config_yml), &root.join("taskcluster"), root)?;

        let params = Parameters::from_map(self.params.clone());
        let dependencies: IndexMap<String, Arc<Task>> = IndexMap::new();
        let registry = Registry::empty();
        let kind_config = Map::default();
        let path = format!("taskcluster/kinds/{}", self.kind);
        let config = TransformConfig::new(
            self.kind,
            &path,
            Path::new(&path),
            &kind_config,
            &params,
            &dependencies,
            &graph_config,
            &registry,
        );

        let descs = tasks
            .into_iter()
            .map(|fields| {
                let name = fields
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("unnamed")
                    .to_owned();
                let origin = Origin {
                    file: format!("{path}/kind.yml").into(),
                    position: None,
                    name,
                };
                TaskDesc::new(fields, Arc::new(origin))
            })
            .collect();
        let out = run_sequence(&config, sequence, descs)?;
        Ok(out.into_iter().map(|task| task.fields).collect())
    }
}

/// Parses a YAML document into a map, for readable test inputs.
pub(crate) fn yaml_map(text: &str) -> Map {
    match taskgraph::yaml::load_str(text, None) {
        Ok(Value::Map(map)) => map,
        other => panic!("test YAML must be a mapping: {other:?}"),
    }
}
