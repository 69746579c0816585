//! Expected outcomes were taken from the Python reference (voluptuous
//! validating the same documents).

use std::path::{Path, PathBuf};

use taskgraph::params::{LoadOptions, Parameters};
use taskgraph::{Registry, Value};

use super::{CI_CONFIG_PATH, register};

/// A small but complete training configuration.
const VALID_CONFIG: &str = "\
target-stage: all-pipeline
experiment:
  name: unit
  src: de
  trg: fr
  archive-corpora: false
  teacher-ensemble: 2
  teacher-mode: one-stage
  teacher-decoder: ctranslate2
  student-model: base
  mono-max-sentences-src: {total: 10, per-dataset: 5}
  mono-max-sentences-trg: {total: 20, per-dataset: 5}
  spm-sample-size: 100
  spm-vocab-split: true
  best-model: bleu
  bicleaner:
    default-threshold: 0.25
    dataset-thresholds: {opus_x_v1: 0.0}
  monocleaner:
    mono-src: {default-threshold: 0.5}
    mono-trg: {default-threshold: 0.75}
  hplt-min-doc-score: {mono-src: 5.0, mono-trg: 6.5}
marian-args:
  training-teacher: {after: 10u}
datasets:
  train: [opus_x/v1, mtdata_y]
  devtest: []
taskcluster:
  worker-classes: {default: gcp-spot}
";

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    /// A repository whose CI configuration is `config` (none when None).
    fn with_ci_config(config: Option<&str>) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = config {
            let path = dir.path().join(CI_CONFIG_PATH);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Repo { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn params_file(&self, text: &str) -> PathBuf {
        let path = self.root().join("params.yml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load(&self, params_file: Option<&Path>, strict: bool) -> taskgraph::Result<Parameters> {
        let mut registry = Registry::empty();
        register(&mut registry);
        let options = LoadOptions {
            strict,
            repo_root: self.root().to_owned(),
            ..LoadOptions::default()
        };
        Parameters::load(params_file, &options, registry.parameters())
    }
}

/// The valid configuration with `line` replaced by `replacement`.
fn config_with(line: &str, replacement: &str) -> String {
    assert!(VALID_CONFIG.contains(line), "{line}");
    VALID_CONFIG.replacen(line, replacement, 1)
}

/// The field a default configuration with `line` replaced is refused at.
fn refused_field(line: &str, replacement: &str) -> String {
    let repo = Repo::with_ci_config(Some(&config_with(line, replacement)));
    let err = repo.load(None, false).unwrap_err();
    err.location().field.clone().unwrap_or_default()
}

#[test]
fn the_ci_configuration_is_the_default() {
    let repo = Repo::with_ci_config(Some(VALID_CONFIG));
    let params = repo.load(None, false).unwrap();
    let expected = taskgraph::yaml::load_str(VALID_CONFIG, None).unwrap();
    assert_eq!(params.get("training_config"), Some(&expected));
}

#[test]
fn a_given_training_config_needs_no_ci_configuration() {
    let repo = Repo::with_ci_config(None);
    let indented = VALID_CONFIG.replace('\n', "\n  ");
    let file = repo.params_file(&format!("training_config:\n  {indented}"));
    let params = repo.load(Some(&file), false).unwrap();
    let src = params
        .get("training_config")
        .unwrap()
        .get_path("experiment.src");
    assert_eq!(src, Some(&Value::from("de")));
}

#[test]
fn a_missing_ci_configuration_names_the_file() {
    let repo = Repo::with_ci_config(None);
    let text = repo.load(None, false).unwrap_err().to_string();
    assert!(text.contains("config.ci.yml"), "{text}");
    assert!(text.contains("training_config"), "{text}");
}

#[test]
fn a_malformed_ci_configuration_names_the_file() {
    let repo = Repo::with_ci_config(Some("experiment: [unclosed\n"));
    let text = repo.load(None, false).unwrap_err().to_string();
    assert!(text.contains("config.ci.yml"), "{text}");
}

#[test]
fn an_invalid_ci_configuration_points_at_its_line() {
    let repo = Repo::with_ci_config(Some(&config_with(
        "teacher-ensemble: 2",
        "teacher-ensemble: two",
    )));
    let err = repo.load(None, false).unwrap_err();
    let location = err.location();
    assert_eq!(
        location.field.as_deref(),
        Some("training_config.experiment.teacher-ensemble")
    );
    assert!(location.file.as_ref().unwrap().ends_with(CI_CONFIG_PATH));
    assert_eq!(location.line, Some(7));
}

#[test]
fn thresholds_must_be_floats() {
    // voluptuous refuses ints (and bools) where `float` is asked for.
    assert_eq!(
        refused_field("default-threshold: 0.25", "default-threshold: 0"),
        "training_config.experiment.bicleaner.default-threshold"
    );
    assert_eq!(
        refused_field("default-threshold: 0.25", "default-threshold: true"),
        "training_config.experiment.bicleaner.default-threshold"
    );
    assert_eq!(
        refused_field("{opus_x_v1: 0.0}", "{opus_x_v1: 1}"),
        "training_config.experiment.bicleaner.dataset-thresholds.opus_x_v1"
    );
    assert_eq!(
        refused_field("mono-trg: 6.5", "mono-trg: 6"),
        "training_config.experiment.hplt-min-doc-score.mono-trg"
    );
}

#[test]
fn ints_accept_bools_but_not_floats_or_strings() {
    let repo = Repo::with_ci_config(Some(&config_with(
        "teacher-ensemble: 2",
        "teacher-ensemble: true",
    )));
    repo.load(None, false).unwrap();
    for refused in ["teacher-ensemble: 2.0", "teacher-ensemble: '2'"] {
        assert_eq!(
            refused_field("teacher-ensemble: 2", refused),
            "training_config.experiment.teacher-ensemble"
        );
    }
}

#[test]
fn bools_do_not_accept_ints() {
    assert_eq!(
        refused_field("archive-corpora: false", "archive-corpora: 0"),
        "training_config.experiment.archive-corpora"
    );
}

#[test]
fn required_keys_are_named_with_their_path() {
    assert_eq!(
        refused_field("  teacher-ensemble: 2\n", ""),
        "training_config.experiment.teacher-ensemble"
    );
    assert_eq!(
        refused_field("target-stage: all-pipeline\n", ""),
        "training_config.target-stage"
    );
    assert_eq!(
        refused_field("{default: gcp-spot}", "{gcp-standard: x}"),
        "training_config.taskcluster.worker-classes.default"
    );
}

#[test]
fn worker_classes_take_any_other_string_valued_key() {
    let repo = Repo::with_ci_config(Some(&config_with(
        "{default: gcp-spot}",
        "{default: gcp-spot, train-teacher: gcp-standard}",
    )));
    repo.load(None, false).unwrap();
    assert_eq!(
        refused_field(
            "{default: gcp-spot}",
            "{default: gcp-spot, train-teacher: 3}"
        ),
        "training_config.taskcluster.worker-classes.train-teacher"
    );
}

#[test]
fn dataset_lists_hold_strings() {
    assert_eq!(
        refused_field("[opus_x/v1, mtdata_y]", "[opus_x/v1, 3]"),
        "training_config.datasets.train[1]"
    );
    assert_eq!(
        refused_field("devtest: []", "devtest: null"),
        "training_config.datasets.devtest"
    );
}

#[test]
fn marian_args_are_string_to_string() {
    assert_eq!(
        refused_field("{after: 10u}", "{after: 10}"),
        "training_config.marian-args.training-teacher.after"
    );
}

#[test]
fn continuation_models_are_checked() {
    let continuation = "continuation:\n  models:\n    teacher: {urls: [a, b], mode: use, type: default}\n    backwards: {url: c, mode: use, type: default}\n  corpora:\n    distillation: {src: s, trg: t}\n  vocab: {src: s, trg: t}\n";
    let repo = Repo::with_ci_config(Some(&format!("{VALID_CONFIG}{continuation}")));
    repo.load(None, false).unwrap();

    let single_url = continuation.replace("urls: [a, b]", "urls: a");
    let repo = Repo::with_ci_config(Some(&format!("{VALID_CONFIG}{single_url}")));
    let err = repo.load(None, false).unwrap_err();
    assert_eq!(
        err.location().field.as_deref(),
        Some("training_config.continuation.models.teacher.urls")
    );
}

/// Every base parameter, for strict loading (which fills no defaults).
const BASE_PARAMS: &str = "\
base_repository: https://github.com/unit/unit
base_ref: main
base_rev: abc
build_date: 0
build_number: 1
do_not_optimize: []
enable_always_target: true
existing_tasks: {}
files_changed: []
filters: [target_tasks_method]
head_ref: main
head_repository: https://github.com/unit/unit
head_rev: abc
head_tag: ''
level: '1'
moz_build_date: '20240101000000'
next_version: null
optimize_strategies: null
optimize_target_tasks: true
owner: unit@example.com
project: unit
pushdate: 0
pushlog_id: '0'
repository_type: git
target_tasks_method: train-target-tasks
tasks_for: github-push
version: null
";

/// A complete parameters file holding `config` as its training config.
fn full_params(config: &str) -> String {
    let indented = config.trim_end().replace('\n', "\n  ");
    format!("{BASE_PARAMS}training_config:\n  {indented}\n")
}

#[test]
fn unknown_nested_keys_pass_unless_loading_strictly() {
    let extended = config_with("  src: de\n", "  src: de\n  surprise: 1\n");
    let repo = Repo::with_ci_config(Some(&extended));
    repo.load(None, false).unwrap();

    let valid = repo.params_file(&full_params(VALID_CONFIG));
    repo.load(Some(&valid), true).unwrap();

    let file = repo.params_file(&full_params(&extended));
    repo.load(Some(&file), false).unwrap();
    let err = repo.load(Some(&file), true).unwrap_err();
    assert_eq!(
        err.location().field.as_deref(),
        Some("training_config.experiment.surprise"),
        "{err}"
    );
}

#[test]
fn a_given_invalid_training_config_is_refused_at_its_key() {
    let repo = Repo::with_ci_config(Some(VALID_CONFIG));
    let file = repo.params_file("training_config:\n  target-stage: 3\n");
    let err = repo.load(Some(&file), false).unwrap_err();
    assert_eq!(
        err.location().field.as_deref(),
        Some("training_config.target-stage"),
        "{err}"
    );
    assert!(err.to_string().contains("params.yml"), "{err}");
}
