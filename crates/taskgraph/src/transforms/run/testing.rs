//! A scratch project for unit tests of the run and task transforms: a
//! `config.yml` with one docker-worker alias (`linux`), a Windows and a
//! macOS generic-worker alias (`win`, `mac`), a parameters file, and the
//! kinds a test writes. Generation runs up to the full task set.

use std::path::Path;
use std::process::Command;

use crate::config::Environment;
use crate::error::Result;
use crate::generator::{GenerateOptions, Generation, Phase, generate};
use crate::registry::Registry;
use crate::task::Task;

const CONFIG: &str = "\
trust-domain: unit
task-priority: low
treeherder:
    group-names: {U: Unit}
index:
    products: [unit]
taskgraph:
    repositories:
        unit:
            name: Unit
workers:
    aliases:
        linux:
            provisioner: unit-{level}
            implementation: docker-worker
            os: linux
            worker-type: linux
        win:
            provisioner: unit-{level}
            implementation: generic-worker
            os: windows
            worker-type: win
        mac:
            provisioner: unit-{level}
            implementation: generic-worker
            os: macosx
            worker-type: mac
";

const PARAMS: &str = "\
base_repository: https://github.com/graphgen-fixtures/unit
base_ref: refs/heads/main
base_rev: '1111111111111111111111111111111111111111'
build_date: 1700000000
build_number: 1
do_not_optimize: []
enable_always_target: true
existing_tasks: {}
files_changed: []
filters: [target_tasks_method]
head_ref: refs/heads/main
head_repository: https://github.com/graphgen-fixtures/unit
head_rev: '2222222222222222222222222222222222222222'
head_tag: ''
level: '3'
moz_build_date: '20231114221320'
next_version: null
optimize_strategies: null
optimize_target_tasks: true
owner: unit@example.com
project: unit
pushdate: 1700000000
pushlog_id: '0'
repository_type: git
target_tasks_method: default
tasks_for: github-push
version: null
";

/// A project in a temporary directory.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub(crate) fn new() -> Project {
        let project = Project {
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        project.file("taskcluster/config.yml", CONFIG);
        project.file("params.yml", PARAMS);
        project
    }

    /// The repository root.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `path` (relative to the repository root).
    pub(crate) fn file(&self, path: &str, text: &str) -> &Project {
        let full = self.dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("a writable temporary directory");
        }
        std::fs::write(full, text).expect("a writable temporary directory");
        self
    }

    /// Writes `taskcluster/kinds/<name>/kind.yml`.
    pub(crate) fn kind(&self, name: &str, text: &str) -> &Project {
        self.file(&format!("taskcluster/kinds/{name}/kind.yml"), text)
    }

    /// Commits everything written so far, for tasks that hash files.
    pub(crate) fn commit(&self) -> &Project {
        for args in [
            &["init", "-q"][..],
            &["add", "-A"],
            &["commit", "-qm", "unit"],
        ] {
            let status = Command::new("git")
                .args(["-c", "user.name=unit", "-c", "user.email=unit@example.com"])
                .args(args)
                .current_dir(self.dir.path())
                .status()
                .expect("git must be installed");
            assert!(status.success(), "git {args:?} failed");
        }
        self
    }

    /// Generates the full task set.
    pub(crate) fn generate(&self) -> Result<Generation> {
        let mut options = GenerateOptions::new("taskcluster", Some("params.yml".into()));
        options.working_dir = self.dir.path().to_owned();
        options.run_task_dir =
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../taskcluster/scripts/run-task"));
        options.environment = Some(Environment {
            task_id: None,
            root_url: Some("https://tc.example.com".to_owned()),
            moz_automation: false,
            proxy_url: None,
        });
        generate(&Registry::with_builtins(), &options, Phase::FullTaskSet)
    }

    /// The one task labelled `label`.
    pub(crate) fn task(&self, label: &str) -> Task {
        let generation = self
            .generate()
            .unwrap_or_else(|e| panic!("generation failed: {e}"));
        let task = generation
            .full_task_set
            .tasks
            .get(label)
            .unwrap_or_else(|| panic!("no task {label}"));
        (**task).clone()
    }

    /// The error generation stops with, which must name `kind`, `task` and
    /// `field`; returns its text.
    pub(crate) fn error(&self, kind: &str, task: &str, field: &str) -> String {
        let text = match self.generate() {
            Ok(_) => panic!("generation succeeded; expected an error at {kind}/{task}/{field}"),
            Err(e) => e.to_string(),
        };
        for part in [
            format!("kind `{kind}`"),
            format!("task `{task}`"),
            format!("field `{field}`"),
        ] {
            assert!(text.contains(&part), "{part} missing from: {text}");
        }
        text
    }
}
