use std::path::{Path, PathBuf};

use taskgraph::config::GraphConfig;
use taskgraph::yaml;

use super::*;

fn graph_config(extra: &str) -> GraphConfig {
    let text = format!(
        "trust-domain: translations\ntask-priority: low\n\
         valid-stages: [clean-corpus, train-teacher, all-pipeline]\n\
         workers: {{aliases: {{}}}}\n\
         taskgraph: {{repositories: {{unit: {{name: Unit}}}}}}\n{extra}"
    );
    let value = yaml::load_str(&text, None).unwrap();
    GraphConfig::from_value(value, Path::new("taskcluster"), PathBuf::from(".")).unwrap()
}

/// A complete configuration: every required key, with YAML 1.1 numbers.
const VALID: &str = "\
target-stage: train-teacher
wandb-publication: false
experiment:
  name: unit
  src: en
  trg: lt
  archive-corpora: false
  teacher-ensemble: 2
  teacher-mode: two-stage
  teacher-decoder: marian
  corpus-max-sentences: 100_000_000
  student-model: tiny
  mono-max-sentences-src: {total: 1_000, per-dataset: 500}
  mono-max-sentences-trg: {total: 1000, per-dataset: 500}
  spm-sample-size: 10000
  spm-vocab-size: 32000
  spm-vocab-split: false
  spm-norm-rule: nmt_nfkc
  best-model: chrf
  opuscleaner-mode: defaults
  bicleaner: {default-threshold: 0.5, dataset-thresholds: {}}
  hplt-min-doc-score: {mono-src: 7.0, mono-trg: 9.0}
  monocleaner:
    mono-src: {default-threshold: 0.5, dataset-thresholds: {}}
    mono-trg: {default-threshold: 0.5, dataset-thresholds: {}}
marian-args:
  training-backward: {}
  training-teacher: {}
  training-student: {}
  training-student-finetuned: {}
  decoding-backward: {}
  decoding-teacher: {}
datasets:
  train: [opus_Books/v1]
  devtest: [flores_dev]
  test: [flores_devtest]
taskcluster:
  split-chunks: 2
  upload-bucket: development
  worker-classes: {default: gcp-spot}
";

fn check(text: &str, extra_config: &str) -> Result<()> {
    let config = yaml::load_str(text, None).unwrap();
    check_train_input(&config, &graph_config(extra_config), Path::new("train.yml"))
}

fn problems(text: &str) -> String {
    check(text, "").unwrap_err().to_string()
}

#[test]
fn a_complete_configuration_passes() {
    check(VALID, "").unwrap();
}

#[test]
fn restart_keys_and_pinned_tasks_are_accepted() {
    let text = format!(
        "{VALID}previous-group-ids: [abc, def]\nstart-task-prefix: ''\n\
         existing_tasks: {{build-vocab-en-lt: taskid}}\n"
    );
    check(&text, "").unwrap();
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let text = VALID
        .replace(
            "target-stage: train-teacher",
            "target-stage: train-teachers",
        )
        .replace("teacher-ensemble: 2", "teacher-ensemble: two")
        .replace("  spm-norm-rule: nmt_nfkc\n", "")
        .replace(
            "  split-chunks: 2\n",
            "  split-chunks: 2\n  chunk-size: 5\n",
        );
    let message = problems(&text);
    assert!(message.contains("train.yml"), "{message}");
    assert!(message.contains("4 problems"), "{message}");
    assert!(
        message.contains("`target-stage`: \"train-teachers\" is not one of"),
        "{message}"
    );
    assert!(
        message.contains("`experiment.teacher-ensemble`: \"two\" is not of type \"number\""),
        "{message}"
    );
    assert!(
        message.contains("`experiment`: \"spm-norm-rule\" is a required property"),
        "{message}"
    );
    assert!(
        message.contains("`taskcluster`: Additional properties are not allowed ('chunk-size'"),
        "{message}"
    );
}

#[test]
fn a_quoted_number_stays_a_string_as_in_yaml_1_1() {
    let text = VALID.replace("100_000_000", "'100_000_000'");
    let message = problems(&text);
    assert!(
        message.contains(
            "`experiment.corpus-max-sentences`: \"100_000_000\" is not of type \"number\""
        ),
        "{message}"
    );
}

#[test]
fn list_items_are_named_by_index() {
    let text = VALID.replace("test: [flores_devtest]", "test: [flores_devtest, 7]");
    let message = problems(&text);
    assert!(
        message.contains("`datasets.test[1]`: 7 is not of type \"string\""),
        "{message}"
    );
}

#[test]
fn model_urls_must_be_uris() {
    let text = format!(
        "{VALID}continuation:\n  models:\n    teacher:\n      urls: ['not a url']\n      mode: use\n      type: default\n"
    );
    let message = problems(&text);
    assert!(
        message.contains("`continuation.models.teacher.urls[0]`"),
        "{message}"
    );
    assert!(message.contains("is not a \"uri\""), "{message}");
}

#[test]
fn objects_without_a_type_stay_open_as_in_the_action() {
    let text = VALID.replace(
        "bicleaner: {default-threshold: 0.5, dataset-thresholds: {}}",
        "bicleaner: {default-threshold: 0.5, something-else: 1}",
    );
    check(&text, "").unwrap();
}

#[test]
fn the_restart_stage_must_be_a_stage_or_empty() {
    let text = format!("{VALID}start-task-prefix: train-teachr\n");
    let message = problems(&text);
    assert!(
        message.contains("`start-task-prefix`: \"train-teachr\" is not one of"),
        "{message}"
    );
}

#[test]
fn a_project_may_name_its_own_worker_classes() {
    let text = VALID.replace("default: gcp-spot", "default: spot");
    assert!(problems(&text).contains("`taskcluster.worker-classes.default`"));
    check(&text, "graphgen: {worker-classes: [standard, spot]}\n").unwrap();
}
