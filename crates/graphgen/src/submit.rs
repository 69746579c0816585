//! Submitting a graph: one `createTask` call per task, each made once the
//! tasks it depends on within the graph exist.
//!
//! This follows the reference's `create_tasks`:
//!
//! - every task goes into one task group, with the scheduler id
//!   `<trust-domain>-level-<level>`;
//! - inside a decision task, a task with no dependency in the graph depends
//!   on the decision task, so nothing starts before the whole graph is
//!   submitted (and nothing starts at all if submission fails halfway);
//! - a task is created only after every task it depends on in the graph,
//!   since the queue refuses dependencies it does not know;
//! - relative datestamps (`{relative-datestamp: "1 day"}`) are resolved
//!   when submission starts, not when the graph was generated;
//! - `task_duplicates` makes extra copies of a task under fresh ids.
//!
//! And goes further:
//!
//! - Failed requests are retried with backoff on server errors, timeouts
//!   and dropped connections. That is safe because `createTask` is
//!   idempotent: the same id with the same definition answers 200 again and
//!   creates nothing.
//! - A failure does not stop the submission. Independent tasks are still
//!   created, the tasks that depend on a failed one are not attempted, and
//!   every failure is reported at the end with its label.
//! - What is sent is fixed before anything is sent ([`Submission`], written
//!   as `submission.json`), so a failed submission can be sent again as it
//!   was (`graphgen submit DIR`). Tasks that were created the first time are
//!   not created twice.
//!
//! Outside a decision task (from a laptop) there is no decision task to
//! depend on: the task group id is a fresh slug, and tasks with no
//! dependency in the graph can start as soon as they are created.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskcluster::{ClientBuilder, Credentials, Queue, Retry, StatusCode};
use taskgraph::generator::TaskGraph;
use taskgraph::python;
use taskgraph::util::parameterization::resolve_timestamps;
use taskgraph::util::time::json_time;
use taskgraph::{Error, Map, Result, Value};

use crate::groups::credentials_from;
use crate::lookup::{FIRST_RETRY_DELAY, MAX_RETRY_DELAY, env_var, lookup_error};

/// The file a submission is written to, in the output directory.
pub const SUBMISSION_ARTIFACT: &str = "submission.json";

/// How many `createTask` requests are in flight at once, as many as the
/// reference allows.
pub const DEFAULT_CONCURRENCY: usize = 50;

/// How many times a `createTask` request is sent before it counts as
/// failed.
const ATTEMPTS: usize = 5;

/// How long one `createTask` request may take (overridden by
/// `GRAPHGEN_TASKCLUSTER_TIMEOUT`, in seconds).
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything a submission sends, decided before the first request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    /// The deployment's root URL, for links; empty when a dry run was made
    /// without one.
    pub root_url: String,
    pub task_group_id: String,
    pub scheduler_id: String,
    /// The decision task the graph hangs from, when there is one.
    pub decision_task_id: Option<String>,
    /// When the relative datestamps were resolved.
    pub resolved_at: String,
    /// Every task to create, each after the tasks it depends on.
    pub tasks: Vec<TaskToCreate>,
}

/// One `createTask` call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskToCreate {
    pub task_id: String,
    pub label: String,
    /// The request body.
    pub task: serde_json::Value,
}

/// Where a graph goes: its group, its scheduler, and the decision task.
#[derive(Debug, Clone)]
pub struct Destination {
    pub root_url: String,
    pub task_group_id: String,
    pub scheduler_id: String,
    pub decision_task_id: Option<String>,
}

impl Submission {
    /// The requests that submit `graph` (the morphed graph, keyed by task
    /// id) to `destination`, with datestamps resolved from `now`.
    pub fn prepare(
        graph: &TaskGraph,
        destination: &Destination,
        now: DateTime<Utc>,
    ) -> Result<Submission> {
        let order = graph.graph.visit_postorder()?;
        let mut tasks = Vec::with_capacity(order.len());
        for task_id in order {
            let Some(task) = graph.tasks.get(task_id) else {
                continue;
            };
            let definition = definition(&task.task, graph, destination, now)
                .map_err(|e| e.in_task(&task.label))?;
            let copies = duplicates(&task.attributes);
            tasks.push(TaskToCreate {
                task_id: task_id.to_owned(),
                label: task.label.clone(),
                task: definition.clone(),
            });
            // The reference's `task_duplicates`: the same definition again
            // under fresh ids, all with the same label.
            for _ in 1..copies {
                tasks.push(TaskToCreate {
                    task_id: slugid::nice(),
                    label: task.label.clone(),
                    task: definition.clone(),
                });
            }
        }
        Ok(Submission {
            root_url: destination.root_url.clone(),
            task_group_id: destination.task_group_id.clone(),
            scheduler_id: destination.scheduler_id.clone(),
            decision_task_id: destination.decision_task_id.clone(),
            resolved_at: json_time(now),
            tasks,
        })
    }

    /// Reads a submission written by an earlier run.
    pub fn load(path: &Path) -> Result<Submission> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::new(taskgraph::ErrorKind::Json(format!(
                "{} is not a submission written by graphgen: {e}",
                path.display()
            )))
        })
    }

    /// The submission as the JSON written to `submission.json`.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::new(taskgraph::ErrorKind::Json(e.to_string())))
    }

    /// The labels of the tasks that refer to the decision task (its
    /// artifacts, such as docker contexts, or its id) when there is no
    /// decision task: outside one, `<decision>` stands for the task group
    /// id, which names no task, so those references lead nowhere.
    pub fn dangling_decision_references(&self) -> Vec<&str> {
        if self.decision_task_id.is_some() {
            return Vec::new();
        }
        let id = self.task_group_id.as_str();
        self.tasks
            .iter()
            .filter(|task| {
                // `taskGroupId` itself is one mention; any other is a
                // reference.
                let text = task.task.to_string();
                text.matches(id).count() > 1
            })
            .map(|task| task.label.as_str())
            .collect()
    }

    /// How far the furthest deadline lies after its task's creation.
    pub fn longest_deadline(&self) -> Option<chrono::TimeDelta> {
        let time = |task: &TaskToCreate, key: &str| {
            let text = task.task.get(key)?.as_str()?;
            DateTime::parse_from_rfc3339(text).ok()
        };
        self.tasks
            .iter()
            .filter_map(|task| Some(time(task, "deadline")? - time(task, "created")?))
            .max()
    }

    /// Where the task group is shown: `<root url>/tasks/groups/<id>`.
    pub fn task_group_url(&self) -> String {
        task_group_url(&self.root_url, &self.task_group_id)
    }
}

/// `<root url>/tasks/groups/<id>`.
pub fn task_group_url(root_url: &str, task_group_id: &str) -> String {
    format!(
        "{}/tasks/groups/{task_group_id}",
        root_url.trim_end_matches('/')
    )
}

/// The `createTask` body of one task of `graph`.
fn definition(
    task: &Map,
    graph: &TaskGraph,
    destination: &Destination,
    now: DateTime<Utc>,
) -> Result<serde_json::Value> {
    let mut task = task.clone();
    if let Some(decision) = &destination.decision_task_id {
        let in_graph = task
            .get("dependencies")
            .and_then(Value::as_list)
            .is_some_and(|deps| {
                deps.iter()
                    .filter_map(Value::as_str)
                    .any(|dep| graph.tasks.contains_key(dep))
            });
        if !in_graph {
            let mut deps = task
                .get("dependencies")
                .and_then(Value::as_list)
                .cloned()
                .unwrap_or_default();
            deps.push(Value::from(decision.as_str()));
            task.insert("dependencies", Value::List(deps));
        }
    }
    task.insert(
        "taskGroupId",
        Value::from(destination.task_group_id.as_str()),
    );
    task.insert(
        "schedulerId",
        Value::from(destination.scheduler_id.as_str()),
    );

    let resolved = resolve_timestamps(&Value::Map(task), now)?;
    python::to_serde_json(&resolved, true)
}

/// How many times a task is created (`task_duplicates`, at least once).
fn duplicates(attributes: &Map) -> usize {
    attributes
        .get("task_duplicates")
        .and_then(Value::as_int)
        .map_or(1, |n| usize::try_from(n).unwrap_or(1).max(1))
}

/// The queue a submission goes to, and how to reach it.
pub struct Deployment {
    /// The public root URL, for links.
    pub root_url: String,
    /// Where requests go: the root URL, or taskcluster-proxy in a task.
    api_url: String,
    credentials: Option<Credentials>,
    /// `TASK_ID`, when this runs inside a task.
    pub task_id: Option<String>,
    timeout: Duration,
}

impl fmt::Debug for Deployment {
    // Credentials stay out of every message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deployment")
            .field("root_url", &self.root_url)
            .field("api_url", &self.api_url)
            .field(
                "client_id",
                &self.credentials.as_ref().map(|c| c.client_id.as_str()),
            )
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}

impl Deployment {
    /// The deployment this process may create tasks on, read from the
    /// environment through `env`:
    ///
    /// - inside a task with taskcluster-proxy (`TASK_ID` and
    ///   `TASKCLUSTER_PROXY_URL`), requests go through the proxy, which
    ///   signs them for the task;
    /// - anywhere else, to `TASKCLUSTER_ROOT_URL`, signed with
    ///   `TASKCLUSTER_CLIENT_ID` and `TASKCLUSTER_ACCESS_TOKEN` (and
    ///   `TASKCLUSTER_CERTIFICATE` for temporary credentials), which must
    ///   be set: creating tasks always needs scopes.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Deployment> {
        let get = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let task_id = get("TASK_ID");
        let root_url = match get("TASKCLUSTER_ROOT_URL") {
            Some(url) => checked_root_url(&url, "TASKCLUSTER_ROOT_URL")?,
            None => {
                return Err(lookup_error(
                    "TASKCLUSTER_ROOT_URL is not set: it names the Taskcluster deployment to \
                     submit to (for example https://firefox-ci-tc.services.mozilla.com)"
                        .into(),
                ));
            }
        };
        let proxy = match (&task_id, get("TASKCLUSTER_PROXY_URL")) {
            (Some(_), Some(proxy)) => Some(checked_root_url(&proxy, "TASKCLUSTER_PROXY_URL")?),
            _ => None,
        };
        let credentials = credentials_from(&env)?;
        if proxy.is_none() && credentials.is_none() {
            return Err(lookup_error(
                "no Taskcluster credentials: set TASKCLUSTER_CLIENT_ID and \
                 TASKCLUSTER_ACCESS_TOKEN (and TASKCLUSTER_CERTIFICATE for temporary \
                 credentials), for example with `taskcluster signin`"
                    .into(),
            ));
        }
        let timeout = request_timeout(get("GRAPHGEN_TASKCLUSTER_TIMEOUT"))?;
        Ok(Deployment {
            api_url: proxy.clone().unwrap_or_else(|| root_url.clone()),
            // Through the proxy, the task's own credentials are used.
            credentials: if proxy.is_some() { None } else { credentials },
            root_url,
            task_id,
            timeout,
        })
    }

    /// [`Deployment::from_env`] with this process's environment.
    pub fn from_environment() -> Result<Deployment> {
        Deployment::from_env(env_var)
    }

    /// The client id requests are signed for; None through the proxy.
    pub fn client_id(&self) -> Option<&str> {
        self.credentials.as_ref().map(|c| c.client_id.as_str())
    }

    /// A queue client: retries server errors, timeouts and dropped
    /// connections with exponential backoff.
    fn queue(&self) -> Result<Queue> {
        let retry = Retry {
            retries: ATTEMPTS - 1,
            delay_factor: FIRST_RETRY_DELAY,
            max_delay: MAX_RETRY_DELAY,
            ..Retry::default()
        };
        // The trailing slash keeps any path of the root URL (see lookup.rs).
        let mut builder = ClientBuilder::new(format!("{}/", self.api_url))
            .retry(retry)
            .timeout(self.timeout);
        if let Some(credentials) = &self.credentials {
            builder = builder.credentials(credentials.clone());
        }
        Queue::new(builder).map_err(|e| {
            lookup_error(format!(
                "cannot make a Taskcluster client for `{}`: {e:#}",
                self.api_url
            ))
        })
    }
}

/// `url` as a root URL: http or https, with a host and nothing after the
/// path. `name` says where it came from.
pub fn checked_root_url(url: &str, name: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let refuse = |why: &str| {
        lookup_error(format!(
            "{name} `{url}` is not a Taskcluster root URL: {why}"
        ))
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| refuse(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(refuse("it must start with https:// (or http://)"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(refuse("it has no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(refuse("it must not have a query or a fragment"));
    }
    Ok(url.to_owned())
}

fn request_timeout(text: Option<String>) -> Result<Duration> {
    match text {
        None => Ok(DEFAULT_REQUEST_TIMEOUT),
        Some(text) => crate::urls::parse_seconds(&text, "GRAPHGEN_TASKCLUSTER_TIMEOUT"),
    }
}

/// What became of a submission.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Task ids created (or found already created, with the same
    /// definition), in the order the queue confirmed them.
    pub created: Vec<String>,
    pub failed: Vec<CreateFailure>,
    pub not_attempted: Vec<NotAttempted>,
}

impl Outcome {
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.not_attempted.is_empty()
    }
}

/// A task the queue did not create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateFailure {
    pub label: String,
    pub task_id: String,
    pub message: String,
}

/// A task left alone because a task it depends on failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAttempted {
    pub label: String,
    pub task_id: String,
    /// The label of the failed task it waited for (None when submission
    /// stopped before reaching it).
    pub because_of: Option<String>,
}

/// Where each task of a submission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Waiting,
    Sent,
    Created,
    Failed,
    Skipped,
}

/// Creates the tasks of `submission` on `deployment`, at most
/// `concurrency` at a time, calling `progress(created, total)` as the
/// queue confirms them.
pub fn submit(
    submission: &Submission,
    deployment: &Deployment,
    concurrency: usize,
    progress: impl FnMut(usize, usize),
) -> Result<Outcome> {
    let queue = Arc::new(deployment.queue()?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| lookup_error(format!("cannot start the HTTP runtime: {e}")))?;
    let attempts = ATTEMPTS;
    Ok(runtime.block_on(create_all(
        submission,
        queue,
        concurrency.max(1),
        attempts,
        progress,
    )))
}

/// The scheduling loop: a task is sent once every task it depends on in
/// the submission is created; a failure marks everything downstream of it
/// as not attempted.
async fn create_all(
    submission: &Submission,
    queue: Arc<Queue>,
    concurrency: usize,
    attempts: usize,
    mut progress: impl FnMut(usize, usize),
) -> Outcome {
    let tasks = &submission.tasks;
    let plan = Dependencies::of(tasks);
    let mut waiting_on = plan.counts.clone();
    let mut stage = vec![Stage::Waiting; tasks.len()];
    let mut ready: VecDeque<usize> = (0..tasks.len()).filter(|&i| waiting_on[i] == 0).collect();
    let mut outcome = Outcome::default();
    let mut in_flight = tokio::task::JoinSet::new();

    loop {
        while in_flight.len() < concurrency {
            let Some(next) = ready.pop_front() else { break };
            stage[next] = Stage::Sent;
            let queue = queue.clone();
            let task = tasks[next].clone();
            in_flight.spawn(async move {
                let result = queue.createTask(&task.task_id, &task.task).await;
                (next, result)
            });
        }
        let Some(joined) = in_flight.join_next().await else {
            break;
        };
        let (done, result) = match joined {
            Ok(pair) => pair,
            // A request's future does not panic on what the queue answers;
            // if one did, nothing tells which task it was, so stop here and
            // report the rest as not attempted.
            Err(error) => {
                tracing::error!("a createTask request failed unexpectedly: {error}");
                break;
            }
        };
        let task = &tasks[done];
        match result {
            Ok(_) => {
                stage[done] = Stage::Created;
                outcome.created.push(task.task_id.clone());
                tracing::info!(label = %task.label, task_id = %task.task_id, "created");
                progress(outcome.created.len(), tasks.len());
                for &dependent in &plan.dependents[done] {
                    waiting_on[dependent] -= 1;
                    if waiting_on[dependent] == 0 && stage[dependent] == Stage::Waiting {
                        ready.push_back(dependent);
                    }
                }
            }
            Err(error) => {
                stage[done] = Stage::Failed;
                outcome.failed.push(CreateFailure {
                    label: task.label.clone(),
                    task_id: task.task_id.clone(),
                    message: describe(&error, attempts),
                });
                skip_downstream(done, &plan, &mut stage, tasks, &mut outcome);
            }
        }
    }

    // Anything still waiting was held up by a failure above it.
    for (i, task) in tasks.iter().enumerate() {
        if matches!(stage[i], Stage::Waiting | Stage::Sent) {
            outcome.not_attempted.push(NotAttempted {
                label: task.label.clone(),
                task_id: task.task_id.clone(),
                because_of: None,
            });
        }
    }
    outcome
}

/// Marks every task downstream of `failed` as not attempted.
fn skip_downstream(
    failed: usize,
    plan: &Dependencies,
    stage: &mut [Stage],
    tasks: &[TaskToCreate],
    outcome: &mut Outcome,
) {
    let mut queue: VecDeque<usize> = plan.dependents[failed].iter().copied().collect();
    while let Some(next) = queue.pop_front() {
        if stage[next] != Stage::Waiting {
            continue;
        }
        stage[next] = Stage::Skipped;
        outcome.not_attempted.push(NotAttempted {
            label: tasks[next].label.clone(),
            task_id: tasks[next].task_id.clone(),
            because_of: Some(tasks[failed].label.clone()),
        });
        queue.extend(plan.dependents[next].iter().copied());
    }
}

/// Which tasks of a submission wait for which: only dependencies on tasks
/// of the same submission count, since the others exist already.
struct Dependencies {
    /// How many tasks of the submission each task waits for.
    counts: Vec<usize>,
    /// The tasks that wait for each task.
    dependents: Vec<Vec<usize>>,
}

impl Dependencies {
    fn of(tasks: &[TaskToCreate]) -> Dependencies {
        let index: HashMap<&str, usize> = tasks
            .iter()
            .enumerate()
            .map(|(i, task)| (task.task_id.as_str(), i))
            .collect();
        let mut counts = vec![0; tasks.len()];
        let mut dependents = vec![Vec::new(); tasks.len()];
        for (i, task) in tasks.iter().enumerate() {
            let mut seen = Vec::new();
            let deps = task
                .task
                .get("dependencies")
                .and_then(serde_json::Value::as_array);
            for dep in deps.into_iter().flatten().filter_map(|d| d.as_str()) {
                if let Some(&j) = index.get(dep)
                    && j != i
                    && !seen.contains(&j)
                {
                    seen.push(j);
                    counts[i] += 1;
                    dependents[j].push(i);
                }
            }
        }
        Dependencies { counts, dependents }
    }
}

/// A failed `createTask`, in words.
fn describe(error: &anyhow::Error, attempts: usize) -> String {
    let transport = error.downcast_ref::<reqwest::Error>();
    match taskcluster::err_status_code(error) {
        Some(StatusCode::CONFLICT) => {
            format!("the queue already holds a different task under this id (HTTP 409): {error:#}")
        }
        Some(StatusCode::BAD_REQUEST) => {
            format!("the queue refused the definition (HTTP 400): {error:#}")
        }
        Some(status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)) => format!(
            "HTTP {status}: {error:#}; the credentials need the scopes the task asks for, \
             and `queue:create-task:..`/`queue:scheduler-id:..` for its queue and scheduler"
        ),
        Some(status) if status.is_server_error() => {
            format!("HTTP {status} after {attempts} attempts")
        }
        Some(status) => format!("HTTP {status}: {error:#}"),
        None if transport.is_some_and(reqwest::Error::is_timeout) => {
            format!("no answer in time, {attempts} attempts: {error:#}")
        }
        None if transport.is_some_and(|e| e.is_connect() || e.is_request()) => {
            format!("no answer after {attempts} attempts: {error:#}")
        }
        None => format!("{error:#}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use taskgraph::graph::Graph;
    use taskgraph::task::Task;

    use super::*;

    /// A graph keyed by task id: `(task id, label, in-graph dependencies)`,
    /// every task also depending on `existing`, which is outside the graph.
    fn graph(tasks: &[(&str, &str, &[&str])]) -> TaskGraph {
        let mut map = indexmap::IndexMap::new();
        let mut edges = Vec::new();
        for (task_id, label, deps) in tasks {
            let mut task = Task::new("unit", *label);
            let mut dependencies: Vec<Value> = deps.iter().map(|d| Value::from(*d)).collect();
            if !deps.is_empty() {
                dependencies.push(Value::from("existing"));
            }
            task.task = Map::from_iter([
                ("dependencies", Value::List(dependencies)),
                (
                    "created",
                    Value::Map(Map::from_iter([(
                        "relative-datestamp",
                        Value::from("0 seconds"),
                    )])),
                ),
                (
                    "deadline",
                    Value::Map(Map::from_iter([(
                        "relative-datestamp",
                        Value::from("1 day"),
                    )])),
                ),
            ]);
            for dep in *deps {
                edges.push((task_id.to_string(), dep.to_string(), dep.to_string()));
            }
            map.insert(task_id.to_string(), Arc::new(task));
        }
        let graph = Graph::new(map.keys().cloned(), edges).unwrap();
        TaskGraph { tasks: map, graph }
    }

    fn destination(decision: Option<&str>) -> Destination {
        Destination {
            root_url: "https://tc.example.com".into(),
            task_group_id: "GROUP".into(),
            scheduler_id: "unit-level-1".into(),
            decision_task_id: decision.map(str::to_owned),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 8, 0, 0).unwrap()
    }

    fn ids(submission: &Submission) -> Vec<&str> {
        submission
            .tasks
            .iter()
            .map(|t| t.task_id.as_str())
            .collect()
    }

    #[test]
    fn dependencies_are_created_first_and_the_group_is_set() {
        let graph = graph(&[
            ("c", "train", &["b"]),
            ("b", "clean", &["a"]),
            ("a", "fetch", &[]),
        ]);
        let submission = Submission::prepare(&graph, &destination(None), now()).unwrap();

        assert_eq!(ids(&submission), ["a", "b", "c"]);
        for task in &submission.tasks {
            assert_eq!(task.task["taskGroupId"], "GROUP");
            assert_eq!(task.task["schedulerId"], "unit-level-1");
            assert_eq!(task.task["deadline"], "2026-12-05T08:00:00.000Z");
        }
        assert_eq!(submission.resolved_at, "2026-12-04T08:00:00.000Z");
        assert_eq!(
            submission.task_group_url(),
            "https://tc.example.com/tasks/groups/GROUP"
        );
    }

    #[test]
    fn in_a_decision_task_only_roots_depend_on_it() {
        let graph = graph(&[("b", "clean", &["a"]), ("a", "fetch", &[])]);
        let submission =
            Submission::prepare(&graph, &destination(Some("DECISION")), now()).unwrap();

        let deps = |id: &str| {
            let task = submission.tasks.iter().find(|t| t.task_id == id).unwrap();
            task.task["dependencies"].clone()
        };
        assert_eq!(deps("a"), serde_json::json!(["DECISION"]));
        assert_eq!(deps("b"), serde_json::json!(["a", "existing"]));
    }

    #[test]
    fn without_a_decision_task_roots_depend_on_nothing() {
        let graph = graph(&[("a", "fetch", &[])]);
        let submission = Submission::prepare(&graph, &destination(None), now()).unwrap();
        assert_eq!(
            submission.tasks[0].task["dependencies"],
            serde_json::json!([])
        );
    }

    #[test]
    fn task_duplicates_make_copies_under_fresh_ids() {
        let mut graph = graph(&[("a", "fetch", &[])]);
        let task = Arc::make_mut(graph.tasks.get_mut("a").unwrap());
        task.attributes.insert("task_duplicates", Value::Int(3));
        let submission = Submission::prepare(&graph, &destination(None), now()).unwrap();

        assert_eq!(submission.tasks.len(), 3);
        assert!(submission.tasks.iter().all(|t| t.label == "fetch"));
        let mut unique = ids(&submission);
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 3);
    }

    #[test]
    fn only_dependencies_within_the_submission_are_waited_for() {
        let graph = graph(&[("b", "clean", &["a"]), ("a", "fetch", &[])]);
        let submission = Submission::prepare(&graph, &destination(None), now()).unwrap();
        let plan = Dependencies::of(&submission.tasks);
        // `existing` is outside the graph: b waits for a alone.
        assert_eq!(plan.counts, [0, 1]);
        assert_eq!(plan.dependents, [vec![1], vec![]]);
    }

    #[test]
    fn a_submission_reads_back_as_written() {
        let graph = graph(&[("b", "clean", &["a"]), ("a", "fetch", &[])]);
        let submission = Submission::prepare(&graph, &destination(None), now()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SUBMISSION_ARTIFACT);
        std::fs::write(&path, submission.to_json().unwrap()).unwrap();

        let read = Submission::load(&path).unwrap();
        assert_eq!(ids(&read), ids(&submission));
        assert_eq!(read.tasks[1].task, submission.tasks[1].task);

        std::fs::write(&path, "{\"tasks\": 3}").unwrap();
        let error = Submission::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("is not a submission written by graphgen"),
            "{error}"
        );
    }

    #[test]
    fn the_longest_deadline_is_measured_from_creation() {
        let graph = graph(&[("b", "clean", &["a"]), ("a", "fetch", &[])]);
        let submission = Submission::prepare(&graph, &destination(None), now()).unwrap();
        assert_eq!(
            submission.longest_deadline(),
            Some(chrono::TimeDelta::days(1))
        );
    }

    #[test]
    fn references_to_a_missing_decision_task_are_found() {
        let mut graph = graph(&[("a", "fetch", &[]), ("b", "image", &[])]);
        let task = Arc::make_mut(graph.tasks.get_mut("b").unwrap());
        task.task.insert(
            "payload",
            Value::Map(Map::from_iter([("CONTEXT_TASK_ID", Value::from("GROUP"))])),
        );
        let submission = Submission::prepare(&graph, &destination(None), now()).unwrap();
        assert_eq!(submission.dangling_decision_references(), ["image"]);

        let submission = Submission::prepare(&graph, &destination(Some("GROUP")), now()).unwrap();
        assert!(submission.dangling_decision_references().is_empty());
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn a_laptop_needs_a_root_url_and_credentials() {
        let error = Deployment::from_env(env(&[])).unwrap_err().to_string();
        assert!(error.contains("TASKCLUSTER_ROOT_URL is not set"), "{error}");

        let error =
            Deployment::from_env(env(&[("TASKCLUSTER_ROOT_URL", "https://tc.example.com")]))
                .unwrap_err()
                .to_string();
        assert!(error.contains("no Taskcluster credentials"), "{error}");

        let deployment = Deployment::from_env(env(&[
            ("TASKCLUSTER_ROOT_URL", "https://tc.example.com/"),
            ("TASKCLUSTER_CLIENT_ID", "me"),
            ("TASKCLUSTER_ACCESS_TOKEN", "secret-token"),
        ]))
        .unwrap();
        assert_eq!(deployment.root_url, "https://tc.example.com");
        assert_eq!(deployment.client_id(), Some("me"));
        assert!(!format!("{deployment:?}").contains("secret-token"));
    }

    #[test]
    fn a_decision_task_goes_through_its_proxy() {
        let deployment = Deployment::from_env(env(&[
            ("TASKCLUSTER_ROOT_URL", "https://tc.example.com"),
            ("TASKCLUSTER_PROXY_URL", "http://taskcluster"),
            ("TASK_ID", "DECISION"),
        ]))
        .unwrap();
        assert_eq!(deployment.api_url, "http://taskcluster");
        assert_eq!(deployment.client_id(), None);
        assert_eq!(deployment.task_id.as_deref(), Some("DECISION"));
    }

    #[test]
    fn root_urls_are_checked() {
        for (url, why) in [
            ("tc.example.com", "relative URL without a base"),
            ("ftp://tc.example.com", "must start with https://"),
            ("https://tc.example.com/?x=1", "query or a fragment"),
        ] {
            let error = checked_root_url(url, "TASKCLUSTER_ROOT_URL")
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("is not a Taskcluster root URL") && error.contains(why),
                "{error}"
            );
        }
        assert_eq!(
            checked_root_url(" https://tc.example.com/ ", "X").unwrap(),
            "https://tc.example.com"
        );
    }

    #[test]
    fn the_timeout_is_a_positive_number_of_seconds() {
        assert_eq!(
            request_timeout(Some("0.5".into())).unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(request_timeout(None).unwrap(), DEFAULT_REQUEST_TIMEOUT);
        assert!(request_timeout(Some("-1".into())).is_err());
        assert!(request_timeout(Some("soon".into())).is_err());
    }
}
