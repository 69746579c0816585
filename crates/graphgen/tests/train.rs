//! `graphgen train` and `graphgen submit`, end to end: our own pipeline
//! (taskcluster/ in this repository), committed to a scratch checkout, is
//! generated, planned and submitted to a fake Taskcluster queue on a
//! loopback port, which checks every signature and every createTask body
//! and can be told to misbehave.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fake_taskcluster::{Auth, FakeTaskcluster, Fault, Route};
use serde_json::Value;

mod common;

use common::{assert_mentions, commit_all, copy_fixture, repo_root};

const CLIENT_ID: &str = "project/graphgen/trainer";
const ACCESS_TOKEN: &str = "a-secret-access-token-of-the-tests";
/// The tasks of `params/default.yml`'s whole pipeline.
const TASKS: usize = 46;

/// A scratch checkout holding a copy of our pipeline, and where a run
/// writes its artifacts.
struct Checkout {
    dir: tempfile::TempDir,
}

impl Checkout {
    fn new() -> Checkout {
        let dir = tempfile::tempdir().unwrap();
        copy_fixture(
            &repo_root().join("taskcluster"),
            &dir.path().join("taskcluster"),
        );
        commit_all(dir.path());
        Checkout { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn artifacts(&self) -> PathBuf {
        self.path().join("artifacts")
    }

    fn submission(&self) -> Value {
        read_json(&self.artifacts().join("submission.json"))
    }

    fn plan(&self) -> Value {
        read_json(&self.artifacts().join("plan.json"))
    }

    /// `graphgen <args>` in the checkout, with only the environment given
    /// (none of the caller's Taskcluster variables leak in) and no
    /// terminal on stdin.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_graphgen"));
        command
            .current_dir(self.path())
            .args(args)
            .stdin(Stdio::null())
            .env("GRAPHGEN_TASKCLUSTER_TIMEOUT", "2");
        for name in [
            "TASKCLUSTER_ROOT_URL",
            "TASKCLUSTER_CLIENT_ID",
            "TASKCLUSTER_ACCESS_TOKEN",
            "TASKCLUSTER_CERTIFICATE",
            "TASKCLUSTER_PROXY_URL",
            "TASK_ID",
            "GRAPHGEN_RUN_TASK_DIR",
        ] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        command.output().unwrap()
    }

    /// A dry run with task ids derived from `seed`, so that a later run
    /// with the same seed has the same ids (and faults can be aimed at
    /// them beforehand).
    fn dry_run_with_ids_from(&self, seed: &str) {
        let output = self.train(
            &["--task-id-seed", seed, "--index", "none", "--dry-run"],
            &[],
        );
        assert_success(&output);
    }

    /// `graphgen train` with the pipeline's CI-sized config and params.
    fn train(&self, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let mut args = vec![
            "train",
            "--config",
            "taskcluster/configs/train-en-lt.yml",
            "--params",
            "taskcluster/params/default.yml",
        ];
        args.extend_from_slice(extra);
        self.run(&args, env)
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "graphgen failed:\n{}",
        stderr(output)
    );
}

/// A queue that wants every request signed by the tests' client, but the
/// index and status lookups, which graphgen makes unsigned as the reference
/// does (deployments grant them to anonymous callers); and that allows the
/// pipeline's 14-day deadlines.
fn queue() -> FakeTaskcluster {
    FakeTaskcluster::builder()
        .credentials(CLIENT_ID, ACCESS_TOKEN)
        .anonymous(&[Route::FindTasksAtIndex, Route::Statuses])
        .max_deadline_days(30)
        .start()
}

fn credentials(queue: &FakeTaskcluster) -> Vec<(&'static str, String)> {
    vec![
        ("TASKCLUSTER_ROOT_URL", queue.root_url()),
        ("TASKCLUSTER_CLIENT_ID", CLIENT_ID.to_owned()),
        ("TASKCLUSTER_ACCESS_TOKEN", ACCESS_TOKEN.to_owned()),
    ]
}

fn env_of<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// task id → label, of a submission.
fn labels(submission: &Value) -> BTreeMap<String, String> {
    submission["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["taskId"].as_str().unwrap().to_owned(),
                t["label"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn task_id_of(submission: &Value, label: &str) -> String {
    labels(submission)
        .into_iter()
        .find(|(_, l)| l == label)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no task `{label}` in the submission"))
}

/// Every created task came after the tasks it depends on that were
/// created too.
fn assert_dependencies_first(queue: &FakeTaskcluster) {
    let created = queue.created();
    let mut seen = BTreeSet::new();
    let ids: BTreeSet<&str> = created.iter().map(|t| t.task_id.as_str()).collect();
    for task in &created {
        for dep in task.definition["dependencies"].as_array().unwrap() {
            let dep = dep.as_str().unwrap();
            if ids.contains(dep) {
                assert!(
                    seen.contains(dep),
                    "{} was created before {dep}",
                    task.task_id
                );
            }
        }
        seen.insert(task.task_id.as_str());
    }
}

#[test]
fn a_dry_run_writes_the_plan_and_every_request_and_sends_nothing() {
    let checkout = Checkout::new();
    let output = checkout.train(&["--index", "none", "--dry-run"], &[]);
    assert_success(&output);

    let err = stderr(&output);
    assert_mentions(
        &err,
        &["training configuration (taskcluster/configs/train-en-lt.yml)"],
    );
    assert_mentions(
        &err,
        &[
            "name: ci-en-lt",
            "46 tasks will run",
            "dry run: nothing was sent",
        ],
    );
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));

    let submission = checkout.submission();
    let tasks = submission["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), TASKS);
    let group = submission["taskGroupId"].as_str().unwrap();
    for task in tasks {
        let body = &task["task"];
        assert_eq!(body["taskGroupId"], group);
        assert_eq!(body["schedulerId"], "mt-train-level-1");
        let text = body.to_string();
        assert!(!text.contains("relative-datestamp"), "{text}");
        assert!(!text.contains("task-reference"), "{text}");
    }
    assert_eq!(checkout.plan()["run"].as_object().unwrap().len(), TASKS);
    for artifact in ["task-graph.json", "parameters.yml", "label-to-taskid.json"] {
        assert!(checkout.artifacts().join(artifact).exists(), "{artifact}");
    }
    let parameters = fs::read_to_string(checkout.artifacts().join("parameters.yml")).unwrap();
    assert_mentions(
        &parameters,
        &[
            "tasks_for: action",
            "target_tasks_method: train-target-tasks",
            // `10_000` in the config: a YAML 1.1 number.
            "corpus-max-sentences: 10000",
        ],
    );
}

#[test]
fn a_run_creates_every_task_once_signed_and_in_dependency_order() {
    let checkout = Checkout::new();
    let queue = queue();
    let vars = credentials(&queue);
    // With debug logs, to show that not even they carry the token.
    let output = checkout.train(&["--yes", "-v"], &env_of(&vars));
    assert_success(&output);

    let submission = checkout.submission();
    let group = submission["taskGroupId"].as_str().unwrap();
    assert_eq!(
        stdout(&output).trim(),
        format!("{}/tasks/groups/{group}", queue.root_url())
    );
    let created = queue.created();
    assert_eq!(created.len(), TASKS);
    assert_eq!(
        created
            .iter()
            .map(|t| t.task_id.clone())
            .collect::<BTreeSet<_>>(),
        labels(&submission).into_keys().collect::<BTreeSet<_>>()
    );
    assert_dependencies_first(&queue);

    // Every createTask was signed for the tests' client and its signature
    // held; the index was asked about the cached tasks.
    let requests = queue.requests();
    let creates: Vec<_> = requests
        .iter()
        .filter(|r| r.route == Some(Route::CreateTask))
        .collect();
    assert_eq!(creates.len(), TASKS);
    let unsigned: Vec<_> = creates
        .iter()
        .filter(|r| !matches!(&r.auth, Auth::Header { client_id, .. } if client_id == CLIENT_ID))
        .map(|r| (&r.path, &r.auth))
        .collect();
    assert!(unsigned.is_empty(), "{unsigned:?}");
    assert!(
        requests
            .iter()
            .any(|r| r.route == Some(Route::FindTasksAtIndex))
    );

    // The access token is nowhere in what graphgen printed or wrote.
    assert!(!stderr(&output).contains(ACCESS_TOKEN));
    for entry in fs::read_dir(checkout.artifacts()).unwrap() {
        let text = fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(!text.contains(ACCESS_TOKEN));
    }
}

#[test]
fn lost_answers_and_server_errors_are_retried_without_duplicates() {
    let checkout = Checkout::new();
    // Task ids from a seed, so that faults can be aimed before the run.
    let seed = ["--task-id-seed", "faults"];
    checkout.dry_run_with_ids_from(seed[1]);
    let submission = checkout.submission();
    let vocab = task_id_of(&submission, "vocab-en-lt");
    let image = task_id_of(&submission, "docker-image-base");
    let teacher = task_id_of(&submission, "train-teacher-en-lt-1");
    let student = task_id_of(&submission, "train-student-en-lt");

    let queue = queue();
    queue.fail(Route::CreateTask, Some(&vocab), Fault::Status(500), 2);
    queue.fail(Route::CreateTask, Some(&image), Fault::DropAfter, 1);
    queue.fail(Route::CreateTask, Some(&teacher), Fault::DropBefore, 1);
    queue.fail(
        Route::CreateTask,
        Some(&student),
        Fault::Stall(Duration::from_secs(4)),
        1,
    );
    queue.fail(Route::FindTasksAtIndex, None, Fault::Status(503), 1);

    let vars = credentials(&queue);
    let output = checkout.train(&[&seed[..], &["--yes"]].concat(), &env_of(&vars));
    assert_success(&output);

    let created = queue.created();
    assert_eq!(created.len(), TASKS);
    let unique: BTreeSet<&str> = created.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(unique.len(), TASKS, "a task was created twice");
    assert_eq!(queue.create_calls(&vocab), 3);
    // The lost answer was asked again, and the queue found the same task.
    assert_eq!(queue.create_calls(&image), 2);
    assert_eq!(queue.create_calls(&teacher), 2);
    assert_eq!(queue.create_calls(&student), 2);
    assert_dependencies_first(&queue);
}

#[test]
fn a_failed_task_is_reported_its_dependents_wait_and_a_resubmission_finishes() {
    let checkout = Checkout::new();
    let seed = ["--task-id-seed", "failure"];
    checkout.dry_run_with_ids_from(seed[1]);
    let vocab = task_id_of(&checkout.submission(), "vocab-en-lt");

    let queue = queue();
    queue.fail(Route::CreateTask, Some(&vocab), Fault::Status(500), 100);
    let vars = credentials(&queue);
    let output = checkout.train(
        &[&seed[..], &["--index", "none", "--yes"]].concat(),
        &env_of(&vars),
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert_mentions(
        &err,
        &[
            "1 of 46 tasks were not created",
            &format!("vocab-en-lt ({vocab}): HTTP 500"),
            "after 5 attempts",
            "not attempted: train-backwards-en-lt",
            "waits for vocab-en-lt",
            "graphgen submit artifacts",
        ],
    );
    assert!(stdout(&output).is_empty());

    let first = queue.created();
    assert!(!first.is_empty() && first.len() < TASKS);
    // Nothing downstream of the vocab was sent.
    let after_vocab: Vec<_> = first
        .iter()
        .filter(|t| t.definition["dependencies"].to_string().contains(&vocab))
        .collect();
    assert!(after_vocab.is_empty());

    // The queue recovers; the same submission is sent again.
    queue.clear_faults();
    let again = checkout.run(&["submit", "artifacts", "--yes"], &env_of(&vars));
    assert_success(&again);
    let created = queue.created();
    assert_eq!(created.len(), TASKS);
    let unique: BTreeSet<&str> = created.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(unique.len(), TASKS, "a task was created twice");
    assert_dependencies_first(&queue);
}

#[test]
fn a_task_id_taken_by_another_definition_is_a_conflict() {
    let checkout = Checkout::new();
    let seed = ["--task-id-seed", "conflict"];
    checkout.dry_run_with_ids_from(seed[1]);
    let submission = checkout.submission();
    let image = task_id_of(&submission, "docker-image-base");

    let queue = queue();
    queue.fail(Route::CreateTask, Some(&image), Fault::Status(409), 1);
    let vars = credentials(&queue);
    let output = checkout.run(&["submit", "artifacts", "--yes"], &env_of(&vars));
    assert!(!output.status.success());
    let err = stderr(&output);
    assert_mentions(
        &err,
        &[
            &format!("docker-image-base ({image}): the queue already holds a different task"),
            "not attempted:",
        ],
    );
    // Only one attempt: a conflict is not retried.
    assert_eq!(queue.create_calls(&image), 1);
}

#[test]
fn a_restart_reuses_earlier_tasks_and_reruns_from_the_prefix() {
    let checkout = Checkout::new();
    // Small pages, so that the signed listTaskGroup calls carry
    // continuation tokens in their query.
    let queue = FakeTaskcluster::builder()
        .credentials(CLIENT_ID, ACCESS_TOKEN)
        .anonymous(&[Route::FindTasksAtIndex, Route::Statuses])
        .max_deadline_days(30)
        .page_size(10)
        .start();
    let vars = credentials(&queue);
    assert_success(&checkout.train(&["--index", "none", "--yes"], &env_of(&vars)));
    let first = checkout.submission();
    let group = first["taskGroupId"].as_str().unwrap().to_owned();
    for task_id in labels(&first).keys() {
        queue.set_state(task_id, "completed");
    }

    // Two datasets of the earlier group have expired since. The cache holds
    // a newer copy of one of them.
    let expire = |label: &str| {
        let task_id = task_id_of(&first, label);
        let mut definition = queue.task(&task_id).unwrap();
        definition["expires"] = Value::from("2026-01-01T00:00:00.000Z");
        queue.insert_task(&task_id, definition, "completed");
    };
    expire("dataset-flores-dev-en-lt");
    expire("dataset-flores-devtest-en-lt");
    let cached_id = "Ygb2cjH0SOmdiIkjPmbCcw";
    let devtest = task_id_of(&first, "dataset-flores-devtest-en-lt");
    let mut copy = queue.task(&devtest).unwrap();
    copy["taskGroupId"] = Value::from(cached_id);
    copy["expires"] = Value::from("2030-01-01T00:00:00.000Z");
    queue.insert_task(cached_id, copy.clone(), "completed");
    let index_path = copy["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|route| route.contains(".hash."))
        .unwrap()
        .trim_start_matches("index.");
    queue.index(index_path, cached_id, "2030-01-01T00:00:00.000Z");

    // One reused task was built from other inputs: its cache route carries
    // another digest than this run computes.
    let merge = task_id_of(&first, "merge-corpus-en-lt");
    let mut definition = queue.task(&merge).unwrap();
    for route in definition["routes"].as_array_mut().unwrap() {
        let text = route.as_str().unwrap().to_owned();
        if let Some((path, _)) = text.rsplit_once(".hash.") {
            *route = Value::from(format!("{path}.hash.0123456789abcdef"));
        }
    }
    queue.insert_task(&merge, definition, "completed");

    let output = checkout.train(
        &[
            "--dry-run",
            "--previous-group-ids",
            &group,
            "--start-task-prefix",
            "train-teacher",
        ],
        &env_of(&vars),
    );
    assert_success(&output);
    let plan = checkout.plan();
    let part = |name: &str| -> BTreeSet<String> {
        match &plan[name] {
            Value::Object(map) => map.keys().cloned().collect(),
            Value::Array(list) => list
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            other => panic!("{name}: {other}"),
        }
    };
    assert!(part("reused").contains("vocab-en-lt"), "{plan}");
    assert!(!part("reused").contains("train-teacher-en-lt-1"), "{plan}");
    assert!(
        part("restarted").contains("train-teacher-en-lt-1"),
        "{plan}"
    );
    // What depends on the teachers runs again too; what they depend on
    // does not.
    assert!(part("run").contains("train-student-en-lt"), "{plan}");
    assert!(!part("run").contains("vocab-en-lt"), "{plan}");
    // The expired dataset is rebuilt, and so is what depends on it; the
    // other comes from the cache.
    assert_eq!(
        part("expired"),
        BTreeSet::from(["dataset-flores-dev-en-lt".to_owned()])
    );
    assert!(part("run").contains("merge-devset-en-lt"), "{plan}");
    assert_eq!(plan["cached"]["dataset-flores-devtest-en-lt"], cached_id);

    assert!(part("reused").contains("merge-corpus-en-lt"), "{plan}");
    assert_eq!(
        plan["changed"]["merge-corpus-en-lt"]["built-with"],
        "0123456789abcdef"
    );
    assert_eq!(plan["changed"].as_object().unwrap().len(), 1, "{plan}");

    let err = stderr(&output);
    assert_mentions(
        &err,
        &[
            "1 reused tasks were built from other inputs than this run's",
            "merge-corpus-en-lt",
            "reused from earlier task groups",
            "1 expected from the cache",
            "1 rebuilt because the earlier task expired",
            "run again after --start-task-prefix",
        ],
    );
    // The group was read page by page, every page signed by URL.
    let lists: Vec<_> = queue
        .requests()
        .into_iter()
        .filter(|r| r.route == Some(Route::ListTaskGroup))
        .collect();
    assert!(lists.len() >= 5, "{lists:?}");
    assert!(lists.iter().any(|r| {
        r.query
            .as_deref()
            .is_some_and(|q| q.contains("continuationToken"))
    }));
    assert!(
        lists.iter().all(|r| matches!(r.auth, Auth::Bewit { .. })),
        "{lists:?}"
    );
    // Nothing was sent by the dry run.
    assert_eq!(queue.created().len(), TASKS);
}

#[test]
fn inside_a_decision_task_the_graph_hangs_from_it_through_the_proxy() {
    let checkout = Checkout::new();
    // The proxy signs for the task: the fake behind it takes unsigned calls.
    let proxy = FakeTaskcluster::builder().max_deadline_days(30).start();
    let decision = "DeCiSioNTY2yjd2AZnrVAQ";
    proxy.insert_task(
        decision,
        serde_json::json!({
            "taskGroupId": decision,
            "taskQueueId": "mt-train-1/decision",
            "schedulerId": "mt-train-level-1",
            "payload": {},
            "metadata": {"name": "Decision Task", "description": "", "owner": "trainer@example.com", "source": "https://example.com"},
        }),
        "running",
    );
    let proxy_url = proxy.root_url();
    let env = [
        ("TASK_ID", decision),
        ("TASKCLUSTER_PROXY_URL", proxy_url.as_str()),
        ("TASKCLUSTER_ROOT_URL", "https://tc.example.com"),
    ];
    let output = checkout.train(&["--index", "none", "--yes", "-v"], &env);
    assert_success(&output);
    assert_eq!(
        stdout(&output).trim(),
        format!("https://tc.example.com/tasks/groups/{decision}")
    );
    assert!(!stderr(&output).contains("use the decision task's artifacts"));

    let created = proxy.created();
    assert_eq!(created.len(), TASKS);
    let submission = checkout.submission();
    assert_eq!(submission["taskGroupId"], decision);
    for task in &created {
        assert_eq!(task.definition["taskGroupId"], decision);
        let deps = task.definition["dependencies"].as_array().unwrap();
        // Exactly the tasks with no dependency in the graph wait for the
        // decision task.
        let in_graph = deps
            .iter()
            .any(|d| labels(&submission).contains_key(d.as_str().unwrap()));
        assert_eq!(
            deps.iter().any(|d| d == decision),
            !in_graph,
            "{}",
            task.definition
        );
    }
    // Nothing waits on a decision task that is still running.
    assert!(
        created
            .iter()
            .all(|t| proxy.state(&t.task_id).as_deref() == Some("unscheduled"))
    );
    assert!(
        proxy
            .requests()
            .iter()
            .all(|r| !r.has_authorization && !r.has_bewit)
    );
}

/// Extra arguments, the environment, and what the error must mention.
type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a [&'a str]);

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let checkout = Checkout::new();
    let queue = queue();
    let vars = credentials(&queue);
    let good = env_of(&vars);
    let root = ("TASKCLUSTER_ROOT_URL", queue.root_url());

    let cases: Vec<Case<'_>> = vec![
        (
            vec!["--yes"],
            vec![(root.0, root.1.as_str())],
            &["no Taskcluster credentials"],
        ),
        (
            vec!["--yes"],
            vec![
                ("TASKCLUSTER_ROOT_URL", "tc.example.com"),
                ("TASKCLUSTER_CLIENT_ID", CLIENT_ID),
                ("TASKCLUSTER_ACCESS_TOKEN", ACCESS_TOKEN),
            ],
            &["TASKCLUSTER_ROOT_URL `tc.example.com` is not a Taskcluster root URL"],
        ),
        (vec![], good.clone(), &["no terminal to confirm", "--yes"]),
        (
            vec!["--yes", "--target-stage", "train-teachers"],
            good.clone(),
            &[
                "train-en-lt.yml",
                "`target-stage`: \"train-teachers\" is not one of",
            ],
        ),
        (
            vec!["--yes", "--previous-group-ids", "Tq8ccO1mRVOVrGaIjd0Cdw"],
            good.clone(),
            &["task group Tq8ccO1mRVOVrGaIjd0Cdw does not exist"],
        ),
    ];
    for (args, env, expected) in cases {
        let output = checkout.train(&args, &env);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_mentions(&stderr(&output), expected);
        assert!(!stderr(&output).contains("panicked"));
    }

    // A config that does not exist, and one that is not YAML.
    fs::write(
        checkout.path().join("broken.yml"),
        "experiment: [unclosed\n",
    )
    .unwrap();
    for (config, expected) in [("missing.yml", "missing.yml"), ("broken.yml", "broken.yml")] {
        let output = checkout.run(&["train", "--config", config, "--yes"], &good);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert_mentions(&stderr(&output), &[expected]);
    }

    assert!(queue.created().is_empty());
    assert!(
        queue
            .requests()
            .iter()
            .all(|r| r.route != Some(Route::CreateTask))
    );
    assert!(
        !checkout.artifacts().exists(),
        "a refused run wrote artifacts"
    );
}

#[test]
fn temporary_credentials_sign_with_their_certificate() {
    let checkout = Checkout::new();
    let dry = checkout.train(
        &["--index", "none", "--dry-run", "--target-stage", "dataset"],
        &[],
    );
    assert_success(&dry);

    let queue = queue();
    let certificate = r#"{"version":1,"scopes":["queue:create-task:*"],"start":1,"expiry":2,"seed":"a-seed","signature":"a-signature"}"#;
    let mut vars = credentials(&queue);
    vars.push(("TASKCLUSTER_CERTIFICATE", certificate.to_owned()));
    let output = checkout.run(&["submit", "artifacts", "--yes"], &env_of(&vars));
    assert_success(&output);

    let creates: Vec<_> = queue
        .requests()
        .into_iter()
        .filter(|r| r.route == Some(Route::CreateTask))
        .collect();
    assert!(!creates.is_empty());
    for request in &creates {
        let Auth::Header {
            certificate: Some(sent),
            ..
        } = &request.auth
        else {
            panic!("not signed with the certificate: {:?}", request.auth);
        };
        assert_eq!(sent["seed"], "a-seed");
    }
    assert!(!stderr(&output).contains("a-signature"));
}
