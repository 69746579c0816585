//! Expected workers were printed by the reference's `upload_artifacts` and
//! `resolve_upload_bucket` transforms, run on the same tasks with the
//! worker of the pipeline's `upload-artifacts` kind.

use taskgraph::{Map, Value};

use super::{NAME, substitute_discarding_result};
use crate::transforms::cached_tasks::test_support::{Harness, dumps, dumps_field, json_map, parse};
use crate::transforms::resolve_upload_bucket;

/// `tasks.upload-artifacts.worker` of the pipeline's upload-artifacts kind.
const WORKER: &str = r#"{"app-name": "translations",
 "bucket": {"by-tasks-for": {"github-pull-request": "development", "pr-action": "development", "default": "{training_config_bucket}"}},
 "upstream-artifacts": {"by-upstream-kind": {
   "(backtranslations-train-backwards.*|train-teacher.*|distillation-student-model-train.*|distillation-student-model-finetune.*)": ["public/build/final*", "public/build/config*", "public/build/vocab.*", "public/logs/*"],
   "(build-vocab.*|distillation-corpus-.*|corpus-align.*|distillation-student-model-quantize.*|export.*|evaluate.*)": ["public/build/*", "public/logs/*"],
   "default": ["public/logs/*"]}},
 "artifact-map": {"by-upstream-kind": {
   "(build-vocab.*|backtranslations-train-backwards.*|train-teacher.*|distillation-student.*|distillation-corpus-build-shortlist.*|evaluate.*|export)": {
     "*.log": [{"task-reference": "logs/{src_locale}-{trg_locale}/{experiment_name}_<decision>/{step_dir}/"}],
     "*": [{"task-reference": "models/{src_locale}-{trg_locale}/{experiment_name}_<decision>/{step_dir}/"}]},
   "(corpus-align.*|distillation-corpus-final-filtering.*)": {
     "*.log": [{"task-reference": "logs/{src_locale}-{trg_locale}/{experiment_name}_<decision>/{step_dir}/"}],
     "*": [{"task-reference": "corpus/{src_locale}-{trg_locale}/{experiment_name}_<decision>/{step_dir}/"}]},
   "default": {
     "*.log": [{"task-reference": "logs/{src_locale}-{trg_locale}/{experiment_name}_<decision>/{step_dir}/"}]}}}}"#;

fn upload_task(dependencies: &str, kind: &str) -> String {
    format!(
        r#"{{"label": "upload-artifacts-{kind}", "description": "up",
            "attributes": {{"kind": "{kind}"}}, "dependencies": {dependencies}, "worker": {WORKER}}}"#
    )
}

fn tasks() -> String {
    let one = |kind: &str, label: &str| upload_task(&format!(r#"{{"{kind}": "{label}"}}"#), kind);
    format!(
        "[{}, {}, {}, {}, {}]",
        one("train-teacher-model", "train-teacher-model-en-ru-1"),
        one("corpus-align-parallel", "corpus-align-parallel-en-ru"),
        one("evaluate", "evaluate-teacher-flores-devtest-en-ru-2"),
        one(
            "distillation-mono-src-translate",
            "distillation-mono-src-translate-3/10"
        ),
        one(
            "corpus-clean-parallel",
            "corpus-clean-parallel-opus-ada83-en-ru"
        ),
    )
}

fn harness(archive_corpora: bool) -> Harness {
    let mut harness = Harness::new("upload-artifacts");
    harness
        .params
        .insert("tasks_for", Value::from("github-pull-request"));
    let training_config = format!(r#"{{"experiment": {{"archive-corpora": {archive_corpora}}}}}"#);
    harness
        .params
        .insert("training_config", Value::Map(json_map(&training_config)));
    harness
}

const LOGS: &str = "logs/{src_locale}-{trg_locale}/{experiment_name}_<decision>";

#[test]
fn workers_match_the_reference() {
    let out = harness(false)
        .run_all(&[NAME, resolve_upload_bucket::NAME], &tasks())
        .unwrap();
    let workers: Vec<String> = out.iter().map(|t| dumps_field(t, "worker")).collect();
    let models = "models/{src_locale}-{trg_locale}/{experiment_name}_<decision>";
    // The bucket is the default even for a pull request: see
    // resolve_upload_bucket.
    let bucket = r#""app-name": "translations", "bucket": "{training_config_bucket}""#;
    assert_eq!(
        workers,
        [
            format!(
                r#"{{{bucket}, "upstream-artifacts": ["public/build/final*", "public/build/config*", "public/build/vocab.*", "public/logs/*"], "artifact-map": {{"*.log": [{{"task-reference": "{LOGS}/teacher1/"}}], "*": [{{"task-reference": "{models}/teacher1/"}}]}}}}"#
            ),
            format!(
                r#"{{{bucket}, "upstream-artifacts": ["public/build/*", "public/logs/*"], "artifact-map": {{"*.log": [{{"task-reference": "{LOGS}/evaluation/teacher2-flores-devtest-en-ru-2/"}}], "*": [{{"task-reference": "{models}/evaluation/teacher2-flores-devtest-en-ru-2/"}}]}}}}"#
            ),
            format!(
                r#"{{{bucket}, "upstream-artifacts": ["public/logs/*"], "artifact-map": {{"*.log": [{{"task-reference": "{LOGS}/distillation-mono-src-translate3/"}}]}}}}"#
            ),
            format!(
                r#"{{{bucket}, "upstream-artifacts": ["public/logs/*"], "artifact-map": {{"*.log": [{{"task-reference": "{LOGS}/corpus-clean-parallel-opus-ada83-en-ru/"}}]}}}}"#
            ),
        ],
        "the corpus-align upload is dropped without archive-corpora"
    );
}

#[test]
fn corpora_are_uploaded_when_the_experiment_archives_them() {
    let out = harness(true).run(NAME, &tasks()).unwrap();
    assert_eq!(out.len(), 5);
    let corpus = "corpus/{src_locale}-{trg_locale}/{experiment_name}_<decision>";
    assert_eq!(
        dumps(out[1].get("worker").unwrap().get("artifact-map").unwrap()),
        format!(
            r#"{{"*.log": [{{"task-reference": "{LOGS}/corpus-align-parallel/"}}], "*": [{{"task-reference": "{corpus}/corpus-align-parallel/"}}]}}"#
        )
    );
}

#[test]
fn the_decision_task_beside_the_upstream_is_ignored() {
    let task = upload_task(
        r#"{"decision": "decision-task", "export": "export"}"#,
        "export",
    );
    let out = harness(false).run(NAME, &format!("[{task}]")).unwrap();
    assert_eq!(
        dumps(out[0].get("worker").unwrap().get("artifact-map").unwrap()),
        format!(
            r#"{{"*.log": [{{"task-reference": "{LOGS}/exported/"}}], "*": [{{"task-reference": "models/{{src_locale}}-{{trg_locale}}/{{experiment_name}}_<decision>/exported/"}}]}}"#
        )
    );
}

#[test]
fn bad_upstreams_and_parameters_are_errors() {
    let harness = harness(false);
    let two = upload_task(
        r#"{"export": "export", "build-vocab": "build-vocab-en-ru"}"#,
        "export",
    );
    let err = harness.run(NAME, &format!("[{two}]")).unwrap_err();
    assert!(err.to_string().contains("dependencies"), "{err}");

    let unknown = upload_task(r#"{"toolchain": "toolchain-marian"}"#, "toolchain");
    let err = harness.run(NAME, &format!("[{unknown}]")).unwrap_err();
    assert!(
        err.to_string().contains("couldn't find `step_dir`"),
        "{err}"
    );

    let mut no_archive = Harness::new("upload-artifacts");
    no_archive.params.insert(
        "training_config",
        Value::Map(json_map(r#"{"experiment": {}}"#)),
    );
    let task = upload_task(r#"{"export": "export"}"#, "export");
    let err = no_archive.run(NAME, &format!("[{task}]")).unwrap_err();
    assert!(err.to_string().contains("archive-corpora"), "{err}");
}

/// The reference drops `substitute`'s result, so only list items change.
#[test]
fn only_what_lists_hold_is_substituted() {
    let mut value = parse(
        r#"{"{step_dir}": ["{step_dir}", {"{step_dir}": "{step_dir}"}], "b": "{step_dir}",
            "c": {"d": ["{step_dir}"], "e": "{step_dir}"}}"#,
    );
    let mut substitutions = Map::default();
    substitutions.insert("step_dir", Value::from("S"));
    substitute_discarding_result(&mut value, &substitutions).unwrap();
    assert_eq!(
        dumps(&value),
        r#"{"{step_dir}": ["S", {"S": "S"}], "b": "{step_dir}", "c": {"d": ["S"], "e": "{step_dir}"}}"#
    );

    let mut malformed = parse(r#"{"{": []}"#);
    assert!(
        substitute_discarding_result(&mut malformed, &substitutions).is_err(),
        "a discarded key is still formatted"
    );
}
