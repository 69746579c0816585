//! Bad training configurations, end to end: a project that registers the
//! translations pipeline, run with a training configuration broken in one
//! way, ends in one message naming the key (or the model URL) at fault,
//! exit status 1, no panic and no artifacts.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use fake_taskcluster::loopback::{LoopbackServer, Request, Response};

mod common;

use common::{assert_mentions, repo_root};

const CONFIG: &str = "\
trust-domain: translations
task-priority: low
valid-stages: [train-teacher, all-pipeline]
taskgraph:
    register: translations_taskgraph:register
    repositories:
        translations:
            name: translations
workers:
    aliases:
        gpu:
            provisioner: translations-{level}
            implementation: docker-worker
            os: linux
            worker-type: gpu
";

/// A kind that goes through training continuation (which checks the
/// pretrained models' URLs before any task) and gives its task a stage.
/// Its name is no model's, so no model is mounted into it.
const KIND: &str = "\
transforms:
    - translations_taskgraph.transforms.training_continuation:transforms
tasks:
    teacher:
        description: Train the teacher
        worker-type: gpu
        attributes:
            stage: train-teacher
            src_locale: en
            trg_locale: lt
        worker:
            docker-image: debian:12
            max-run-time: 600
        run:
            using: run-task
            checkout: false
            command: train
";

const BASE_PARAMS: &str = "\
base_repository: https://github.com/graphgen-fixtures/translations
head_repository: https://github.com/graphgen-fixtures/translations
head_rev: '2222222222222222222222222222222222222222'
head_ref: main
build_date: 1700000000
pushdate: 1700000000
moz_build_date: '20231114221320'
level: '1'
project: translations
target_tasks_method: train-target-tasks
";

/// A complete, valid training configuration (indented under
/// `training_config:`).
const TRAINING_CONFIG: &str = "  target-stage: train-teacher
  experiment:
    name: e2e
    src: en
    trg: lt
    archive-corpora: false
    teacher-ensemble: 1
    teacher-mode: two-stage
    teacher-decoder: marian
    student-model: tiny
    mono-max-sentences-src: {total: 1000, per-dataset: 100}
    mono-max-sentences-trg: {total: 1000, per-dataset: 100}
    spm-sample-size: 1000
    spm-vocab-split: false
    best-model: chrf
    bicleaner: {default-threshold: 0.5}
    monocleaner:
      mono-src: {default-threshold: 0.5}
      mono-trg: {default-threshold: 0.5}
    hplt-min-doc-score: {mono-src: 7.0, mono-trg: 7.0}
  marian-args: {}
  datasets:
    train: [opus_ELRC/v1]
    devtest: [flores_dev]
  taskcluster:
    worker-classes: {default: gcp-spot}
";

/// A project in a fresh repository, with `training_config` in params.yml.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(training_config: &str) -> Project {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        let run_task_dir = repo_root().join("taskcluster/scripts/run-task");
        let config = format!(
            "{CONFIG}graphgen:\n    run-task-dir: {}\n",
            run_task_dir.display()
        );
        project.write("taskcluster/config.yml", &config);
        project.write("taskcluster/kinds/train/kind.yml", KIND);
        project.write(
            "params.yml",
            &format!("{BASE_PARAMS}training_config:\n{training_config}"),
        );
        common::commit_all(project.path());
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, contents: &str) {
        common::write_file(self.path(), relative, contents);
    }

    fn run(&self, extra: &[&str], url_timeout: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_graphgen"))
            .args(["--params", "params.yml", "--output-dir", "out"])
            .args(extra)
            .current_dir(self.path())
            .env("TASKCLUSTER_ROOT_URL", "https://tc.example.com")
            .env("GRAPHGEN_URL_TIMEOUT", url_timeout)
            .env_remove("GRAPHGEN_RUN_TASK_DIR")
            .env_remove("TASK_ID")
            .output()
            .unwrap()
    }

    /// Runs graphgen, expects a clean failure, and returns stderr.
    fn fail(&self, extra: &[&str]) -> String {
        common::clean_failure(&self.run(extra, "5"), &self.path().join("out"))
    }
}

/// `TRAINING_CONFIG` with one line replaced.
fn config_with(from: &str, to: &str) -> String {
    assert!(TRAINING_CONFIG.contains(from), "no `{from}`");
    TRAINING_CONFIG.replacen(from, to, 1)
}

/// `TRAINING_CONFIG` with a pretrained teacher at each of `urls`.
fn config_with_teachers(urls: &[String]) -> String {
    let list: Vec<String> = urls.iter().map(|u| format!("'{u}'")).collect();
    format!(
        "{TRAINING_CONFIG}  continuation:\n    models:\n      teacher:\n        \
         urls: [{}]\n        mode: use\n        type: default\n",
        list.join(", ")
    )
}

#[test]
fn the_valid_configuration_succeeds() {
    let project = Project::new(TRAINING_CONFIG);
    let output = project.run(&[], "5");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let target = fs::read_to_string(project.path().join("out/target-tasks.json")).unwrap();
    assert!(target.contains("train-teacher"), "{target}");
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let project = Project::new(&config_with("teacher-ensemble: 1", "teacher-ensemble: one"));
    let stderr = project.fail(&[]);
    assert_mentions(
        &stderr,
        &["training_config.experiment.teacher-ensemble", "params.yml"],
    );
}

#[test]
fn an_unknown_key_is_refused_when_loading_strictly() {
    let project = Project::new(&config_with(
        "    best-model: chrf\n",
        "    best-model: chrf\n    best-modle: bleu\n",
    ));
    let output = project.run(&[], "5");
    assert!(output.status.success(), "leniently, as the reference");

    let project = Project::new(&config_with(
        "    best-model: chrf\n",
        "    best-model: chrf\n    best-modle: bleu\n",
    ));
    let stderr = project.fail(&["--strict"]);
    assert_mentions(&stderr, &["training_config.experiment.best-modle"]);
}

#[test]
fn a_target_stage_the_project_does_not_have_is_refused() {
    let project = Project::new(&config_with(
        "target-stage: train-teacher",
        "target-stage: train-teachers",
    ));
    let stderr = project.fail(&[]);
    assert_mentions(
        &stderr,
        &[
            "training_config.target-stage",
            "'train-teachers'",
            "train-teacher, all-pipeline",
        ],
    );
}

/// A server whose models all have a shared vocabulary, except under
/// `/slow/`, which answers after three seconds.
fn model_server() -> (LoopbackServer<()>, String) {
    let server = LoopbackServer::start((), |request: &Request, (): &mut ()| {
        if request.path().starts_with("/slow/") {
            std::thread::sleep(Duration::from_secs(3));
        }
        if request.path().ends_with("/vocab.spm") {
            Response::new(200, "")
        } else {
            Response::new(404, "")
        }
    });
    let url = server.url();
    (server, url)
}

#[test]
fn teacher_urls_must_match_the_ensemble() {
    let (_server, url) = model_server();
    let urls = [format!("{url}/t1"), format!("{url}/t2")];
    let project = Project::new(&config_with_teachers(&urls));
    let stderr = project.fail(&[]);
    assert_mentions(
        &stderr,
        &[
            "training_config.continuation.models.teacher.urls",
            "has 2 model URL(s)",
            "`experiment.teacher-ensemble` is 1",
        ],
    );

    let project = Project::new(&config_with_teachers(&urls[..1]));
    let output = project.run(&[], "5");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "one URL per teacher: {stderr}");
}

#[test]
fn an_unreachable_model_url_is_named() {
    // Nothing listens on the discard port of the loopback interface.
    let project = Project::new(&config_with_teachers(&["http://127.0.0.1:9/t1".to_owned()]));
    let stderr = project.fail(&[]);
    assert_mentions(
        &stderr,
        &["http://127.0.0.1:9/t1", "cannot check the model URL"],
    );
}

#[test]
fn a_model_url_that_does_not_answer_fails_after_the_timeout() {
    let (_server, url) = model_server();
    let project = Project::new(&config_with_teachers(&[format!("{url}/slow/t1")]));

    // Had the run waited for the answer, the vocabulary would be found and
    // the run would succeed: the message shows it gave up at the timeout.
    let output = project.run(&[], "0.5");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_mentions(
        &stderr,
        &[&format!("{url}/slow/t1"), "no answer within 0.5 s"],
    );
}
