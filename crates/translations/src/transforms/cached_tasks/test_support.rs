//! A scratch repository and transform runner for the unit tests of the
//! cache and upload transforms.
//!
//! Tests give task descriptions as JSON (the same text the Python
//! reference was fed when their expected values were derived), run a
//! transform sequence under its registered Python name, and compare the
//! result as Python's `json.dumps` would print it, so that key order counts.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use indexmap::IndexMap;
use taskgraph::config::GraphConfig;
use taskgraph::params::Parameters;
use taskgraph::python::json_stdlib;
use taskgraph::task::Task;
use taskgraph::transform::{Origin, TaskDesc, TransformConfig, run_sequence};
use taskgraph::{Map, Registry, Result, Value, yaml};

/// A repository in a temporary directory, with `taskcluster/` as the
/// project root, and what a kind's transforms may read.
pub(crate) struct Harness {
    repo: tempfile::TempDir,
    pub(crate) kind: String,
    pub(crate) params: Map,
    pub(crate) config_yml: Map,
    pub(crate) dependencies: Vec<Task>,
}

impl Harness {
    pub(crate) fn new(kind: &str) -> Harness {
        let harness = Harness {
            repo: tempfile::tempdir().expect("a temporary directory"),
            kind: kind.to_owned(),
            params: json_map(
                r#"{"level": "3", "tasks_for": "github-push", "build_date": 1700000000,
                    "head_ref": "refs/heads/main"}"#,
            ),
            config_yml: json_map(
                r#"{"trust-domain": "translations", "task-priority": "low",
                    "workers": {"aliases": {}},
                    "taskgraph": {"repositories": {"translations": {"name": "translations"}}}}"#,
            ),
            dependencies: Vec::new(),
        };
        harness.file("taskcluster/config.yml", "trust-domain: translations\n");
        harness
    }

    /// The repository root.
    pub(crate) fn path(&self) -> &Path {
        self.repo.path()
    }

    /// Writes `text` to `path`, relative to the repository root.
    pub(crate) fn file(&self, path: &str, text: &str) -> &Harness {
        let full = self.repo.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("a writable temporary directory");
        }
        std::fs::write(full, text).expect("a writable temporary directory");
        self
    }

    /// Commits everything written so far (resource hashes cover committed
    /// files only).
    pub(crate) fn commit(&self) -> &Harness {
        for args in [
            &["init", "-q"][..],
            &["add", "-A"],
            &["commit", "-qm", "unit"],
        ] {
            let status = Command::new("git")
                .args(["-c", "user.name=unit", "-c", "user.email=unit@example.com"])
                .args(args)
                .current_dir(self.repo.path())
                .status()
                .expect("git must be installed");
            assert!(status.success(), "git {args:?} failed");
        }
        self
    }

    /// Runs the sequence registered as `name` over `tasks` (a JSON list).
    pub(crate) fn run(&self, name: &str, tasks: &str) -> Result<Vec<TaskDesc>> {
        self.run_all(&[name], tasks)
    }

    /// Runs the sequences registered as `names`, one after the other, as a
    /// kind listing them would.
    pub(crate) fn run_all(&self, names: &[&str], tasks: &str) -> Result<Vec<TaskDesc>> {
        let mut registry = Registry::empty();
        crate::transforms::cached_tasks::register(&mut registry);
        crate::transforms::skip_unless_changed::register(&mut registry);
        crate::transforms::upload_artifacts::register(&mut registry);
        crate::transforms::resolve_upload_bucket::register(&mut registry);
        crate::transforms::upload_experiment_config::register(&mut registry);

        let graph_config = GraphConfig::from_value(
            Value::Map(self.config_yml.clone()),
            &self.repo.path().join("taskcluster"),
            self.repo.path().to_owned(),
        )?;
        let params = Parameters::from_map(self.params.clone());
        let dependencies: IndexMap<String, Arc<Task>> = self
            .dependencies
            .iter()
            .map(|t| (t.label.clone(), Arc::new(t.clone())))
            .collect();
        let path = format!("taskcluster/kinds/{}", self.kind);
        let kind_config = Map::default();
        let config = TransformConfig::new(
            &self.kind,
            &path,
            Path::new(&path),
            &kind_config,
            &params,
            &dependencies,
            &graph_config,
            &registry,
        );

        let mut sequence = Vec::new();
        for name in names {
            sequence.extend(registry.transforms(name)?.iter().cloned());
        }
        run_sequence(&config, &sequence, task_descriptions(&path, tasks))
    }

    /// A task of an upstream kind with a `cached_task` attribute.
    pub(crate) fn cached_dependency(&mut self, label: &str, cached_task: &str) {
        let mut attributes = Map::default();
        attributes.insert("cached_task", Value::Map(json_map(cached_task)));
        self.dependencies.push(Task {
            attributes,
            ..Task::new("upstream", label)
        });
    }
}

fn task_descriptions(kind_path: &str, tasks: &str) -> Vec<TaskDesc> {
    let Value::List(tasks) = parse(tasks) else {
        panic!("tasks must be a JSON list");
    };
    tasks
        .into_iter()
        .enumerate()
        .map(|(number, task)| {
            let Value::Map(fields) = task else {
                panic!("each task must be a JSON object");
            };
            let origin = Origin {
                file: format!("{kind_path}/kind.yml").into(),
                position: None,
                name: format!("task-{number}"),
            };
            TaskDesc::new(fields, Arc::new(origin))
        })
        .collect()
}

/// A JSON (or YAML) document as a value.
pub(crate) fn parse(text: &str) -> Value {
    yaml::load_str(text, None).expect("valid test input")
}

/// A JSON object as a map.
pub(crate) fn json_map(text: &str) -> Map {
    match parse(text) {
        Value::Map(map) => map,
        other => panic!("expected a JSON object, got {other}"),
    }
}

/// `json.dumps(value)` of one field of a task, or of the whole task.
pub(crate) fn dumps(value: &Value) -> String {
    json_stdlib(value).expect("JSON-compatible value")
}

/// `json.dumps(task[key])`.
pub(crate) fn dumps_field(task: &TaskDesc, key: &str) -> String {
    dumps(task.get(key).unwrap_or(&Value::Null))
}
