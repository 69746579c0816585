//! The `testdata/*.json` files hold what the reference transform returned
//! for the same inputs (`tasks`) and the URLs it checked, in order
//! (`checked`), with `location_exists` answered from the same set of
//! existing URLs.

use std::sync::Mutex;

use taskgraph::python::{json_compact, json_parse};

use super::*;
use crate::transforms::continuation::testing::{TestKind, yaml_map};

/// Answers from a fixed set of URLs and records what was asked; one URL
/// cannot be reached at all.
#[derive(Debug, Default)]
struct FakeUrls {
    existing: Vec<&'static str>,
    checked: Mutex<Vec<String>>,
}

const UNREACHABLE: &str = "https://broken.example/m/vocab.spm";

impl UrlChecker for FakeUrls {
    fn exists(&self, url: &str) -> Result<bool> {
        self.checked
            .lock()
            .map_err(|_| Error::transform("poisoned"))?
            .push(url.to_owned());
        if url == UNREACHABLE {
            return Err(Error::transform("connection refused"));
        }
        Ok(self.existing.contains(&url))
    }
}

impl FakeUrls {
    fn with(existing: &[&'static str]) -> Arc<FakeUrls> {
        Arc::new(FakeUrls {
            existing: existing.to_vec(),
            checked: Mutex::default(),
        })
    }

    fn checked(&self) -> Vec<String> {
        self.checked.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

#[test]
fn registered_under_the_names_kinds_use() {
    let mut registry = Registry::empty();
    register(&mut registry, FakeUrls::with(&[]));
    for name in [
        "translations_taskgraph.transforms.training_continuation",
        "translations_taskgraph.transforms.training_continuation:transforms",
        "translations_taskgraph.transforms.training_continuation:evaluate_stage",
    ] {
        assert!(registry.transforms(name).is_ok(), "{name}");
    }
}

const TASK: &str = r#"
    name: ru-en
    attributes:
      stage: train-teacher
      cache:
        type: train-teacher
        resources: [a.py]
        from-parameters: {marian_args: x, pretrained_teacher: y, other: z, pretrained: w}
    worker:
      env: {}
      mounts: [{file: pre}]
    dependencies: {corpus: corpus-ru-en, build-vocab: build-vocab-ru-en, devset: devset-ru-en}
    fetches: {toolchain: [marian], build-vocab: [{artifact: vocab.spm}]}
"#;

fn tasks(count: usize) -> Vec<Map> {
    (1..=count)
        .map(|i| {
            let mut task = yaml_map(TASK);
            task.insert("name", Value::from(format!("ru-en-{i}")));
            task
        })
        .collect()
}

fn params(models: &str) -> Map {
    yaml_map(&format!(
        "training_config:\n  experiment: {{src: ru, trg: en}}\n  continuation:\n    models: {models}\n"
    ))
}

fn run_mounts(
    kind: &'static str,
    models: &str,
    urls: &Arc<FakeUrls>,
    count: usize,
) -> Result<Vec<Map>> {
    let checker: Arc<dyn UrlChecker> = Arc::clone(urls) as Arc<dyn UrlChecker>;
    TestKind::new(kind, params(models)).run(&transforms(checker), tasks(count))
}

/// Compares with the reference's output, key order included.
fn assert_matches_reference(fixture: &str, tasks: &[Map], checked: &[String]) {
    let expected = json_parse(fixture).unwrap();
    let expected_tasks = expected.get("tasks").unwrap();
    let actual_tasks = Value::List(tasks.iter().cloned().map(Value::Map).collect());
    assert_eq!(
        json_compact(&actual_tasks, false).unwrap(),
        json_compact(expected_tasks, false).unwrap()
    );
    let expected_checked = expected
        .get("checked")
        .and_then(Value::as_str_list)
        .unwrap();
    assert_eq!(checked, expected_checked.as_slice());
}

const TEACHER_CONTINUE: &str = r#"{teacher: {urls: ["https://example.com/t1", "https://example.com/t2/"], mode: continue, type: default}}"#;

#[test]
fn each_task_mounts_the_next_url_of_the_kinds_model() {
    let urls = FakeUrls::with(&["https://example.com/t1/vocab.spm"]);
    let tasks = run_mounts("teacher", TEACHER_CONTINUE, &urls, 2).unwrap();
    assert_matches_reference(
        include_str!("testdata/continue_two_urls.json"),
        &tasks,
        &urls.checked(),
    );
}

#[test]
fn use_mode_republishes_with_split_vocabs_and_pretrained_digest_only() {
    let urls = FakeUrls::with(&["https://example.com/b/vocab.ru.spm"]);
    let models = r#"{backwards: {url: "https://example.com/b", mode: use, type: default}}"#;
    let tasks = run_mounts("backwards", models, &urls, 1).unwrap();
    assert_matches_reference(
        include_str!("testdata/use_split_vocab.json"),
        &tasks,
        &urls.checked(),
    );
}

#[test]
fn init_mode_mounts_the_initial_weights_without_checking_urls() {
    let urls = FakeUrls::with(&[]);
    let models = r#"{backwards: {url: "https://example.com/b", mode: init, type: default}}"#;
    let tasks = run_mounts("backwards", models, &urls, 1).unwrap();
    assert_matches_reference(include_str!("testdata/init.json"), &tasks, &urls.checked());
}

#[test]
fn other_kinds_are_unchanged_but_every_model_is_still_checked() {
    // The pipeline's model names (`teacher`, `backwards`) are not kind
    // names, so the reference checks the vocabularies and mounts nothing.
    let urls = FakeUrls::with(&["https://example.com/t1/vocab.spm"]);
    let models = r#"{teacher: {urls: ["https://example.com/t1"], mode: use, type: default}, backwards: {url: "https://example.com/b", mode: init, type: default}}"#;
    let tasks = run_mounts("train-teacher-model", models, &urls, 1).unwrap();

    let mut expected = yaml_map(TASK);
    expected.insert("name", Value::from("ru-en-1"));
    assert_eq!(
        json_compact(&Value::Map(tasks[0].clone()), false).unwrap(),
        json_compact(&Value::Map(expected), false).unwrap()
    );
    assert_eq!(urls.checked(), ["https://example.com/t1/vocab.spm"]);
}

#[test]
fn a_model_without_any_vocab_is_an_error_naming_both_urls() {
    let urls = FakeUrls::with(&[]);
    let models = r#"{teacher: {urls: ["https://example.com/t1"], mode: use, type: default}}"#;
    let message = run_mounts("train-teacher-model", models, &urls, 1)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("Could not find either a shared or split vocab")
            && message.contains("https://example.com/t1/vocab.spm")
            && message.contains("https://example.com/t1/vocab.ru.spm")
            && message.contains("kind `train-teacher-model`"),
        "{message}"
    );
    // The reference checks the joint vocab, then the source one.
    assert_eq!(
        urls.checked(),
        [
            "https://example.com/t1/vocab.spm",
            "https://example.com/t1/vocab.ru.spm"
        ]
    );
}

#[test]
fn an_unreachable_url_is_an_error_naming_it() {
    let urls = FakeUrls::with(&[]);
    let models = r#"{backwards: {url: "https://broken.example/m", mode: continue, type: default}}"#;
    let message = run_mounts("backwards", models, &urls, 1)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains(UNREACHABLE) && message.contains("connection refused"),
        "{message}"
    );
    assert_eq!(urls.checked(), [UNREACHABLE]);
}

#[test]
fn more_tasks_than_urls_is_an_error() {
    let urls = FakeUrls::with(&["https://example.com/t1/vocab.spm"]);
    let message = run_mounts("teacher", TEACHER_CONTINUE, &urls, 3)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("task `ru-en-3`") && message.contains("StopIteration"),
        "{message}"
    );
}

#[test]
fn no_models_means_no_checks_and_no_changes() {
    let urls = FakeUrls::with(&[]);
    let checker: Arc<dyn UrlChecker> = Arc::clone(&urls) as Arc<dyn UrlChecker>;
    let params = yaml_map("training_config: {experiment: {src: ru, trg: en}}");
    let tasks = TestKind::new("train-teacher-model", params)
        .run(&transforms(checker), tasks(1))
        .unwrap();
    assert_eq!(
        tasks[0].get("worker").and_then(|w| w.get("mounts")),
        Some(&Value::List(vec![Value::Map(yaml_map("{file: pre}"))]))
    );
    assert!(urls.checked().is_empty());
}

fn evaluate(models: Option<&str>, stages: &[&str]) -> Result<Vec<String>> {
    let params = match models {
        Some(models) => params(models),
        None => yaml_map("training_config: {}"),
    };
    let tasks = stages
        .iter()
        .map(|stage| yaml_map(&format!("name: {stage}\nattributes: {{stage: {stage}}}")))
        .collect();
    let out = TestKind::new("evaluate", params).run(&evaluate_stage(), tasks)?;
    Ok(out
        .iter()
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect())
}

#[test]
fn evaluations_of_pretrained_models_are_dropped() {
    let stages = [
        "evaluate-teacher",
        "evaluate-teacher-ensemble",
        "evaluate-backwards",
        "evaluate-student",
        "evaluate-finetuned-student",
    ];
    // Python keeps ['evaluate-student', 'evaluate-finetuned-student'].
    let kept = evaluate(Some("{teacher: {urls: [u], mode: use, type: default}, backwards: {url: u, mode: use, type: default}}"), &stages).unwrap();
    assert_eq!(kept, ["evaluate-student", "evaluate-finetuned-student"]);

    // Only `backwards` (as `backward`): the teacher evaluations stay.
    let kept = evaluate(
        Some("{backwards: {url: u, mode: init, type: default}}"),
        &stages,
    )
    .unwrap();
    assert_eq!(
        kept,
        [
            "evaluate-teacher",
            "evaluate-teacher-ensemble",
            "evaluate-student",
            "evaluate-finetuned-student"
        ]
    );

    let kept = evaluate(None, &stages).unwrap();
    assert_eq!(kept.len(), stages.len());
}

#[test]
fn stages_are_only_read_when_models_are_pretrained() {
    let task = yaml_map("name: t");
    let kept = TestKind::new("evaluate", yaml_map("training_config: {}"))
        .run(&evaluate_stage(), vec![task.clone()])
        .unwrap();
    assert_eq!(kept.len(), 1);

    let message = TestKind::new(
        "evaluate",
        params("{teacher: {urls: [u], mode: use, type: default}}"),
    )
    .run(&evaluate_stage(), vec![task])
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("task `t`") && message.contains("attributes.stage"),
        "{message}"
    );
}
