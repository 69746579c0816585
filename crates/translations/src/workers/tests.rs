//! The expected payloads are what the Python builders produced for the
//! same `worker` sections.

use taskgraph::config::Environment;
use taskgraph::generator::{GenerateOptions, Phase, generate};
use taskgraph::task::Task;
use taskgraph::{Registry, Result, Value, python};

use super::{python_decodes_base64, register};

const CONFIG: &str = "\
trust-domain: unit
task-priority: low
taskgraph:
    repositories:
        unit:
            name: Unit
workers:
    aliases:
        upload-artifacts:
            provisioner: scriptworker-k8s
            implementation: scriptworker-beetmover-translations
            os: scriptworker
            worker-type: translations-1-beetmover
        upload-data:
            provisioner: scriptworker-k8s
            implementation: scriptworker-beetmover-data
            os: scriptworker
            worker-type: translations-1-beetmover
";

const PARAMS: &str = "\
base_repository: https://github.com/unit/unit
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
head_repository: https://github.com/unit/unit
head_rev: '2222222222222222222222222222222222222222'
head_tag: ''
level: '1'
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

/// The task `label` of a kind `upload` whose only task has these extra
/// lines (indented by four spaces) beside its description and worker type.
fn generate_upload(worker_type: &str, body: &str) -> Result<Task> {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    };
    write("taskcluster/config.yml", CONFIG);
    write("params.yml", PARAMS);
    write(
        "taskcluster/kinds/upload/kind.yml",
        &format!(
            "loader: taskgraph.loader.transform:loader\n\
             transforms: [taskgraph.transforms.task]\n\
             tasks:\n  \
               job:\n    \
                 description: an upload\n    \
                 worker-type: {worker_type}\n{body}"
        ),
    );
    let mut options = GenerateOptions::new("taskcluster", Some("params.yml".into()));
    options.working_dir = dir.path().to_owned();
    options.environment = Some(Environment {
        task_id: None,
        root_url: Some("https://tc.example.com".to_owned()),
        moz_automation: false,
        proxy_url: None,
    });
    let mut registry = Registry::with_builtins();
    register(&mut registry);
    let generation = generate(&registry, &options, Phase::FullTaskSet)?;
    let task = generation.full_task_set.tasks.get("upload-job").unwrap();
    Ok((**task).clone())
}

/// `task.<key>` as compact JSON, keys in their insertion order.
fn definition_json(task: &Task, key: &str) -> String {
    python::json_compact(task.task.get(key).unwrap(), false).unwrap()
}

const ARTIFACTS_WORKER: &str = "    dependencies: {train-teacher: train-teacher-model-ru-en-1}
    scopes: [queue:existing]
    worker:
        app-name: translations
        bucket: development
        upstream-artifacts: [public/build/*.log, public/build/model*]
        artifact-map:
            public/build/*.log: [{task-reference: models/ru-en/ci_<decision>/logs/teacher1}]
            public/build/model*: [plain/dest, {task-reference: x/<decision>}]
";

#[test]
fn translations_uploads_come_from_the_upstream_dependency_and_replace_scopes() {
    let task = generate_upload("upload-artifacts", ARTIFACTS_WORKER).unwrap();
    assert_eq!(
        definition_json(&task, "payload"),
        concat!(
            r#"{"allow_overwrites":false,"releaseProperties":{"appName":"translations"},"#,
            r#""upstreamArtifacts":[{"paths":["public/build/*.log","public/build/model*"],"#,
            r#""taskId":{"task-reference":"<train-teacher>"},"taskType":"build","optional":true}],"#,
            r#""artifactMap":[{"taskId":{"task-reference":"<train-teacher>"},"paths":{"#,
            r#""public/build/*.log":{"destinations":[{"task-reference":"models/ru-en/ci_<decision>/logs/teacher1"}]},"#,
            r#""public/build/model*":{"destinations":["plain/dest",{"task-reference":"x/<decision>"}]}}}]}"#,
        )
    );
    assert_eq!(
        definition_json(&task, "scopes"),
        concat!(
            r#"["project:translations:releng:beetmover:bucket:development","#,
            r#""project:translations:releng:beetmover:action:upload-translations-artifacts"]"#,
        )
    );
    assert_eq!(
        task.task
            .get("tags")
            .and_then(|tags| tags.get("worker-implementation")),
        Some(&Value::from("scriptworker"))
    );
}

#[test]
fn translations_uploads_without_dependencies_come_from_the_decision_task() {
    let body = "    worker:
        app-name: a
        bucket: b
        upstream-artifacts: []
        artifact-map: {}
        allow-overwrites: true
";
    let task = generate_upload("upload-artifacts", body).unwrap();
    assert_eq!(
        definition_json(&task, "payload"),
        concat!(
            r#"{"allow_overwrites":true,"releaseProperties":{"appName":"a"},"#,
            r#""upstreamArtifacts":[{"paths":[],"taskId":{"task-reference":"<decision>"},"#,
            r#""taskType":"build","optional":true}],"#,
            r#""artifactMap":[{"taskId":{"task-reference":"<decision>"},"paths":{}}]}"#,
        )
    );
}

#[test]
fn translations_uploads_with_two_upstreams_are_refused() {
    let body = ARTIFACTS_WORKER.replace(
        "{train-teacher: train-teacher-model-ru-en-1}",
        "{a: label-a, b: label-b}",
    );
    let err = generate_upload("upload-artifacts", &body).unwrap_err();
    assert!(err.to_string().contains("label-a"), "{err}");
}

#[test]
fn translations_upload_workers_are_checked_against_the_schema() {
    for (from, to, field) in [
        ("bucket: development", "bucket: 3", "worker.bucket"),
        ("        bucket: development\n", "", "worker.bucket"),
        (
            "[plain/dest,",
            "[{artifact: x},",
            "worker.artifact-map.public/build/model*[0]",
        ),
        (
            "bucket: development",
            "bucket: development\n        extra: 1",
            "worker.extra",
        ),
    ] {
        let body = ARTIFACTS_WORKER.replace(from, to);
        let err = generate_upload("upload-artifacts", &body).unwrap_err();
        let found = err.location().field.clone().unwrap_or_default();
        assert!(found.contains(field), "{field}: {err}");
    }
}

const DATA_WORKER: &str = "    scopes: [queue:existing]
    worker:
        app-name: translations
        bucket: development
        project: translations
        data-map:
            - data: eyJhIjogMX0=
              content-type: application/json
              destinations: [{task-reference: experiments/ru-en/ci_<decision>/config.yml}]
";

#[test]
fn data_uploads_add_their_scopes() {
    // Unlike the translations uploads, which replace the task's scopes.
    let task = generate_upload("upload-data", DATA_WORKER).unwrap();
    assert_eq!(
        definition_json(&task, "payload"),
        concat!(
            r#"{"releaseProperties":{"appName":"translations"},"dataMap":[{"data":"eyJhIjogMX0=","#,
            r#""contentType":"application/json","#,
            r#""destinations":[{"task-reference":"experiments/ru-en/ci_<decision>/config.yml"}]}]}"#,
        )
    );
    assert_eq!(
        definition_json(&task, "scopes"),
        concat!(
            r#"["queue:existing","project:translations:releng:beetmover:bucket:development","#,
            r#""project:translations:releng:beetmover:action:upload-data"]"#,
        )
    );
    assert_eq!(
        task.task
            .get("tags")
            .and_then(|tags| tags.get("worker-implementation")),
        Some(&Value::from("scriptworker"))
    );
}

#[test]
fn data_uploads_need_base64_data() {
    let body = DATA_WORKER.replace("eyJhIjogMX0=", "eyJhIjogMX0");
    let err = generate_upload("upload-data", &body).unwrap_err();
    assert!(err.to_string().contains("base64"), "{err}");
}

#[test]
fn base64_checks_follow_python() {
    // Outcomes of `base64.b64decode` in Python 3.11.
    let accepted = [
        "",
        "YQ==",
        "YWJj",
        "====",
        "YQ==YWJj",
        "YQ=a=",
        "Y=Q==",
        "!!YQ==",
        "YW Jj",
        "YWJjZA==junk",
        "YQ=\n=",
        "abc=d",
        "ab==",
        "abc=",
    ];
    let refused = [
        "YQ", "YQ=", "YWJjZA", "Y", "YWJjZ", "YWJjZA=", "ab=c", "a===", "é", "YWJjé",
    ];
    for text in accepted {
        assert!(python_decodes_base64(text), "{text:?} was refused");
    }
    for text in refused {
        assert!(!python_decodes_base64(text), "{text:?} was accepted");
    }
}
