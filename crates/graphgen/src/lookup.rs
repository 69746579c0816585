//! The online [`IndexLookup`]: asks a Taskcluster deployment's index which
//! task each index path names, and its queue what state those tasks are in.
//!
//! Both questions go to batched endpoints, as Python taskgraph's
//! `find_task_id_batched` and `status_task_batched` do:
//!
//! - `POST <root>/api/index/v1/tasks/indexes` (`findTasksAtIndex`) with
//!   `{"indexes": [...]}`, answering `{"tasks": [{"namespace", "taskId",
//!   ...}], "continuationToken"?}`;
//! - `POST <root>/api/queue/v1/tasks/status` (`statuses`) with
//!   `{"taskIds": [...]}`, answering `{"statuses": [{"taskId", "status":
//!   {"state", "expires", ...}}], "continuationToken"?}`.
//!
//! A page holds up to 1000 answers (so the index documents; the queue
//! takes the same `limit` query); further pages are asked for with the
//! same body and `?continuationToken=`. Paging stops at a page without a
//! token, or at an empty page (the server may hand out a token that leads
//! nowhere). The request schemas set no limit on how many ids one request
//! carries, so by default every id goes in one request, as the reference
//! sends them; [`TaskclusterIndex::with_batch_size`] splits them when a
//! caller wants smaller requests.
//!
//! The requests carry no credentials, like the reference's. Each endpoint
//! asks for a scope per id (`index:find-task:<indexPath>`,
//! `queue:status:<taskId>`), so this relies, as the reference does, on the
//! deployment granting those to anonymous callers; where it does not, go
//! through taskcluster-proxy ([`TaskclusterIndex::from_environment_via_proxy`]),
//! which signs for the task. Signing here is avoided on purpose: the
//! `taskcluster` crate (114.0.0) signs only the request path, so every
//! continuation request, whose token is in the query string, would be
//! refused with 401 (and these POST methods have no signed-URL variant).
//!
//! The calls block on a runtime of their own: call them from plain threads,
//! not from inside another tokio runtime.
//!
//! Server errors (5xx) and connection failures are retried a few times with
//! exponential backoff by the client; what still fails becomes an error that
//! names the endpoint, its URL and the HTTP status. A failure is never read
//! as "nothing indexed".

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};
use taskcluster::{ClientBuilder, Index, Queue, Retry, StatusCode};
use taskgraph::optimize::lookup::{IndexLookup, TaskStatus};
use taskgraph::{Error, ErrorKind, Result};

/// How many times a request is sent before its failure is reported.
pub(crate) const ATTEMPTS: usize = 5;
/// The wait before the first retry; it doubles with each further one.
pub(crate) const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);
/// The longest wait between two attempts.
pub(crate) const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
/// How long one attempt may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The two batched endpoints, with what tells their requests and answers
/// apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    FindTasksAtIndex,
    Statuses,
}

impl Endpoint {
    /// The method's name in the Taskcluster API reference.
    fn name(self) -> &'static str {
        match self {
            Endpoint::FindTasksAtIndex => "index.findTasksAtIndex",
            Endpoint::Statuses => "queue.statuses",
        }
    }

    /// The path below the root URL.
    fn path(self) -> &'static str {
        match self {
            Endpoint::FindTasksAtIndex => "api/index/v1/tasks/indexes",
            Endpoint::Statuses => "api/queue/v1/tasks/status",
        }
    }

    /// The request body's list of ids.
    fn request_key(self) -> &'static str {
        match self {
            Endpoint::FindTasksAtIndex => "indexes",
            Endpoint::Statuses => "taskIds",
        }
    }

    /// The answer's list of entries.
    fn response_key(self) -> &'static str {
        match self {
            Endpoint::FindTasksAtIndex => "tasks",
            Endpoint::Statuses => "statuses",
        }
    }

    /// The scope the caller needs for each id.
    fn scope(self) -> &'static str {
        match self {
            Endpoint::FindTasksAtIndex => "index:find-task:<indexPath>",
            Endpoint::Statuses => "queue:status:<taskId>",
        }
    }
}

/// Index and task-status lookups against a Taskcluster deployment.
pub struct TaskclusterIndex {
    root_url: String,
    index: Index,
    queue: Queue,
    /// At most this many ids per request; `None` sends them all at once.
    batch_size: Option<usize>,
    attempts: usize,
    runtime: tokio::runtime::Runtime,
}

impl fmt::Debug for TaskclusterIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskclusterIndex")
            .field("root_url", &self.root_url)
            .field("batch_size", &self.batch_size)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl TaskclusterIndex {
    /// A lookup against the deployment the environment names, the way
    /// taskgraph's optimizer finds it: `TASKCLUSTER_ROOT_URL`, which must be
    /// set (see [`root_url_from`]).
    pub fn from_environment() -> Result<TaskclusterIndex> {
        TaskclusterIndex::new(&root_url_from(env_var, false)?)
    }

    /// A lookup through the task's taskcluster-proxy,
    /// `TASKCLUSTER_PROXY_URL`, which signs requests with the task's
    /// credentials.
    pub fn from_environment_via_proxy() -> Result<TaskclusterIndex> {
        TaskclusterIndex::new(&root_url_from(env_var, true)?)
    }

    /// A lookup against the deployment at `root_url`.
    pub fn new(root_url: &str) -> Result<TaskclusterIndex> {
        TaskclusterIndex::with_retry(root_url, ATTEMPTS, FIRST_RETRY_DELAY)
    }

    /// Sends at most `batch_size` ids in one request (at least one).
    #[cfg(test)]
    pub fn with_batch_size(mut self, batch_size: usize) -> TaskclusterIndex {
        self.batch_size = Some(batch_size.max(1));
        self
    }

    fn with_retry(root_url: &str, attempts: usize, first_delay: Duration) -> Result<Self> {
        let root_url = normalize_root_url(root_url);
        if root_url.is_empty() {
            return Err(lookup_error("the Taskcluster root URL is empty".into()));
        }
        let attempts = attempts.max(1);
        let retry = Retry {
            retries: attempts - 1,
            delay_factor: first_delay,
            max_delay: MAX_RETRY_DELAY.max(first_delay),
            ..Retry::default()
        };
        // The service clients append `api/<service>/v1/` to the root URL,
        // which keeps any path of the root only if it ends with a slash.
        let builder = ClientBuilder::new(format!("{root_url}/"))
            .retry(retry)
            .timeout(REQUEST_TIMEOUT);
        let client_error = |e: anyhow::Error| {
            lookup_error(format!(
                "cannot make a Taskcluster client for `{root_url}`: {e:#}"
            ))
        };
        let index = Index::new(builder.clone()).map_err(client_error)?;
        let queue = Queue::new(builder).map_err(client_error)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| lookup_error(format!("cannot start the HTTP runtime: {e}")))?;
        Ok(TaskclusterIndex {
            root_url,
            index,
            queue,
            batch_size: None,
            attempts,
            runtime,
        })
    }

    /// The root URL requests go to, without a trailing slash.
    #[cfg(test)]
    pub fn root_url(&self) -> &str {
        &self.root_url
    }

    fn url(&self, endpoint: Endpoint) -> String {
        format!("{}/{}", self.root_url, endpoint.path())
    }

    /// Every entry the endpoint answers for `ids`, batch by batch and page
    /// by page, with the number of requests it took.
    fn fetch_all(&self, endpoint: Endpoint, ids: &[String]) -> Result<(Vec<Value>, usize)> {
        let ids = unique(ids);
        let mut entries = Vec::new();
        let mut requests = 0;
        if ids.is_empty() {
            return Ok((entries, requests));
        }
        let batch_size = self.batch_size.unwrap_or(ids.len());
        for batch in ids.chunks(batch_size) {
            let body = json!({ endpoint.request_key(): batch });
            let mut found = 0;
            let mut token: Option<String> = None;
            loop {
                requests += 1;
                let page = self.request_page(endpoint, &body, token.as_deref())?;
                let (page_entries, next) = self.parse_page(endpoint, page)?;
                if page_entries.is_empty() {
                    break;
                }
                found += page_entries.len();
                if found > batch.len() {
                    return Err(self.failure(
                        endpoint,
                        &format!("answered {found} entries for {} ids asked for", batch.len()),
                    ));
                }
                entries.extend(page_entries);
                match next {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
        }
        Ok((entries, requests))
    }

    /// One request, retried by the client on server and connection errors.
    fn request_page(&self, endpoint: Endpoint, body: &Value, token: Option<&str>) -> Result<Value> {
        let answer = self.runtime.block_on(async {
            match endpoint {
                Endpoint::FindTasksAtIndex => self.index.findTasksAtIndex(body, token, None).await,
                Endpoint::Statuses => self.queue.statuses(body, token, None).await,
            }
        });
        answer.map_err(|error| self.request_failure(endpoint, &error))
    }

    /// The entries of one page, and its continuation token.
    fn parse_page(&self, endpoint: Endpoint, page: Value) -> Result<(Vec<Value>, Option<String>)> {
        let Value::Object(mut page) = page else {
            return Err(self.failure(endpoint, "answered something other than a JSON object"));
        };
        let token = match page.remove("continuationToken") {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => Some(token),
            Some(_) => {
                return Err(self.failure(
                    endpoint,
                    "answered a `continuationToken` that is not a string",
                ));
            }
        };
        let key = endpoint.response_key();
        match page.remove(key) {
            Some(Value::Array(entries)) => Ok((entries, token)),
            Some(_) => {
                Err(self.failure(endpoint, &format!("answered a `{key}` that is not a list")))
            }
            None => Err(self.failure(endpoint, &format!("answered without `{key}`"))),
        }
    }

    /// An answer that does not have the shape the API reference gives.
    fn failure(&self, endpoint: Endpoint, what: &str) -> Error {
        lookup_error(format!(
            "{} (POST {}) {what}",
            endpoint.name(),
            self.url(endpoint)
        ))
    }

    /// A request that did not get a successful answer.
    fn request_failure(&self, endpoint: Endpoint, error: &anyhow::Error) -> Error {
        let what = describe_failure(endpoint, error, self.attempts);
        lookup_error(format!(
            "{} (POST {}) failed: {what}",
            endpoint.name(),
            self.url(endpoint)
        ))
    }
}

impl IndexLookup for TaskclusterIndex {
    fn find_task_ids(&self, index_paths: &[String]) -> Result<BTreeMap<String, String>> {
        let endpoint = Endpoint::FindTasksAtIndex;
        let (entries, requests) = self.fetch_all(endpoint, index_paths)?;
        let mut found = BTreeMap::new();
        for (n, entry) in entries.iter().enumerate() {
            let field = |name: &str| {
                entry.get(name).and_then(Value::as_str).ok_or_else(|| {
                    self.failure(
                        endpoint,
                        &format!("answered a task (`tasks[{n}]`) without a string `{name}`"),
                    )
                })
            };
            found.insert(field("namespace")?.to_owned(), field("taskId")?.to_owned());
        }
        tracing::debug!(
            paths = index_paths.len(),
            found = found.len(),
            requests,
            "looked up index paths"
        );
        Ok(found)
    }

    fn task_statuses(&self, task_ids: &[String]) -> Result<BTreeMap<String, TaskStatus>> {
        let endpoint = Endpoint::Statuses;
        let (entries, requests) = self.fetch_all(endpoint, task_ids)?;
        let mut statuses = BTreeMap::new();
        for (n, entry) in entries.iter().enumerate() {
            let field = |value: Option<&Value>, name: &str| -> Result<String> {
                value
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        self.failure(
                            endpoint,
                            &format!(
                                "answered a status (`statuses[{n}]`) without a string `{name}`"
                            ),
                        )
                    })
            };
            let task_id = field(entry.get("taskId"), "taskId")?;
            let Some(status) = entry.get("status").filter(|s| s.is_object()) else {
                return Err(self.failure(
                    endpoint,
                    &format!(
                        "answered `statuses[{n}]` (task `{task_id}`) without a `status` object"
                    ),
                ));
            };
            let status = TaskStatus {
                state: field(status.get("state"), "status.state")?,
                expires: field(status.get("expires"), "status.expires")?,
            };
            statuses.insert(task_id, status);
        }
        tracing::debug!(
            tasks = task_ids.len(),
            found = statuses.len(),
            requests,
            "looked up task statuses"
        );
        Ok(statuses)
    }
}

/// The root URL taskgraph's `get_root_url` would use, read through `env`.
///
/// Without the proxy it is `TASKCLUSTER_ROOT_URL`; with it,
/// `TASKCLUSTER_PROXY_URL`. Trailing slashes are dropped. When the variable
/// is unset (or empty) the error says what to set, and whether the process
/// looks like a task (`TASK_ID` is set).
pub fn root_url_from(env: impl Fn(&str) -> Option<String>, use_proxy: bool) -> Result<String> {
    let get = |name: &str| env(name).filter(|value| !value.is_empty());
    let in_task = get("TASK_ID").is_some();
    if use_proxy {
        return match get("TASKCLUSTER_PROXY_URL") {
            Some(url) => Ok(normalize_root_url(&url)),
            None if in_task => Err(lookup_error(
                "taskcluster-proxy is not enabled for this task (TASKCLUSTER_PROXY_URL is not set)"
                    .into(),
            )),
            None => Err(lookup_error(
                "taskcluster-proxy is not available when not running in a task \
                 (TASKCLUSTER_PROXY_URL is not set)"
                    .into(),
            )),
        };
    }
    match get("TASKCLUSTER_ROOT_URL") {
        Some(url) => Ok(normalize_root_url(&url)),
        None if in_task => Err(lookup_error(
            "TASKCLUSTER_ROOT_URL must be set when running in a task".into(),
        )),
        None => Err(lookup_error(
            "cannot tell which Taskcluster deployment to ask: set TASKCLUSTER_ROOT_URL".into(),
        )),
    }
}

pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub(crate) fn normalize_root_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

/// `ids` without repeats, in first-seen order.
pub(crate) fn unique(ids: &[String]) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    ids.iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .collect()
}

/// What went wrong with a request, in words: the HTTP status and the
/// server's message where there was an answer, the transport error where
/// there was none.
fn describe_failure(endpoint: Endpoint, error: &anyhow::Error, attempts: usize) -> String {
    let status = taskcluster::err_status_code(error);
    let transport = error.downcast_ref::<reqwest::Error>();
    match status {
        Some(status) if status.is_server_error() => {
            format!("HTTP {status} after {attempts} attempts")
        }
        Some(status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)) => format!(
            "HTTP {status}: {error:#}; the request carries no credentials, so the deployment \
             must grant `{}` for each id to anonymous callers, or the lookup must go through \
             taskcluster-proxy",
            endpoint.scope()
        ),
        Some(status) => format!("HTTP {status}: {error:#}"),
        None if transport.is_some_and(|e| e.is_decode() || e.is_body()) => {
            format!("the answer could not be read as JSON: {error:#}")
        }
        None if transport.is_some_and(|e| e.is_timeout()) => {
            format!("no answer within {REQUEST_TIMEOUT:?}, {attempts} attempts: {error:#}")
        }
        None if transport.is_some_and(|e| e.is_connect() || e.is_request()) => {
            format!("no connection after {attempts} attempts: {error:#}")
        }
        None => format!("{error:#}"),
    }
}

pub(crate) fn lookup_error(message: String) -> Error {
    // taskgraph has no error kind for a remote service yet; `Verification`
    // prints the message as it is.
    Error::new(ErrorKind::Verification(message))
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use fake_taskcluster::loopback::{
        Failure, LoopbackServer, Request, Response, injected_failure,
    };

    use super::*;

    const INDEX_PATH: &str = "/api/index/v1/tasks/indexes";
    const STATUS_PATH: &str = "/api/queue/v1/tasks/status";

    /// How the test server spoils otherwise good answers.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    enum Spoil {
        #[default]
        Nothing,
        /// Statuses lack `expires`.
        DropExpires,
        /// The index answer lacks `tasks`.
        DropTasks,
        /// Every entry comes twice.
        Duplicate,
        /// The body is not JSON.
        NotJson,
    }

    /// One request as the server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        path: String,
        query: Option<String>,
        ids: Vec<String>,
        signed: bool,
    }

    #[derive(Debug, Default)]
    struct State {
        /// index path -> task id
        indexed: BTreeMap<String, String>,
        /// task id -> (state, expires)
        tasks: BTreeMap<String, (String, String)>,
        page_size: usize,
        failures: BTreeMap<&'static str, Failure>,
        spoil: Spoil,
        seen: Vec<Seen>,
    }

    /// A loopback server answering the two batched endpoints from a fixed
    /// table.
    struct Server {
        loopback: LoopbackServer<State>,
    }

    impl Server {
        fn start(indexed: &[(&str, &str)], tasks: &[(&str, &str, &str)]) -> Server {
            let state = State {
                indexed: indexed
                    .iter()
                    .map(|(path, id)| (path.to_string(), id.to_string()))
                    .collect(),
                tasks: tasks
                    .iter()
                    .map(|(id, state, expires)| {
                        (id.to_string(), (state.to_string(), expires.to_string()))
                    })
                    .collect(),
                page_size: 2,
                ..State::default()
            };
            Server {
                loopback: LoopbackServer::start(state, answer),
            }
        }

        fn url(&self) -> String {
            self.loopback.url()
        }

        fn fail(&self, path: &'static str, failure: Failure) {
            self.loopback.with_state(|s| {
                s.failures.insert(path, failure);
            });
        }

        fn spoil(&self, spoil: Spoil) {
            self.loopback.with_state(|s| s.spoil = spoil);
        }

        fn seen(&self) -> Vec<Seen> {
            self.loopback.with_state(|s| s.seen.clone())
        }
    }

    /// The answer to one request, and its record in `seen`.
    fn answer(request: &Request, state: &mut State) -> Response {
        let path = request.path();
        let (endpoint_path, key) = if path.ends_with(INDEX_PATH) {
            (INDEX_PATH, "indexes")
        } else if path.ends_with(STATUS_PATH) {
            (STATUS_PATH, "taskIds")
        } else {
            return Response::new(404, r#"{"code": "ResourceNotFound"}"#);
        };
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let ids: Vec<String> = body[key]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        state.seen.push(Seen {
            path: path.to_owned(),
            query: request.query().map(str::to_owned),
            ids: ids.clone(),
            signed: request.headers.contains_key("authorization"),
        });
        if let Some(status) = injected_failure(&mut state.failures, &endpoint_path) {
            return Response::new(status, r#"{"code": "Failing", "message": "told to fail"}"#);
        }
        if state.spoil == Spoil::NotJson {
            return Response::new(200, "<html>not json</html>");
        }
        let entries = found_entries(state, endpoint_path, &ids);
        Response::new(
            200,
            page(state, endpoint_path, entries, request.query()).to_string(),
        )
    }

    /// The entries the endpoint finds for `ids`, in their order.
    fn found_entries(state: &State, endpoint_path: &str, ids: &[String]) -> Vec<Value> {
        let entries: Vec<Value> = if endpoint_path == INDEX_PATH {
            ids.iter()
                .filter_map(|path| {
                    let task_id = state.indexed.get(path)?;
                    Some(json!({"namespace": path, "taskId": task_id, "rank": 0,
                                "data": {}, "expires": "2031-01-01T00:00:00.000Z"}))
                })
                .collect()
        } else {
            ids.iter()
                .filter_map(|id| {
                    let (task_state, expires) = state.tasks.get(id)?;
                    let mut status = json!({"taskId": id, "state": task_state,
                                            "expires": expires, "runs": []});
                    if state.spoil == Spoil::DropExpires {
                        status.as_object_mut()?.remove("expires");
                    }
                    Some(json!({"taskId": id, "status": status}))
                })
                .collect()
        };
        if state.spoil == Spoil::Duplicate {
            return entries
                .iter()
                .flat_map(|e| [e.clone(), e.clone()])
                .collect();
        }
        entries
    }

    /// The page of `entries` the query's continuation token asks for.
    fn page(state: &State, endpoint_path: &str, entries: Vec<Value>, query: Option<&str>) -> Value {
        // Tokens are `after-<offset>`; like Taskcluster's, a full page always
        // carries one, even when nothing follows.
        let offset: usize = query
            .and_then(|q| q.strip_prefix("continuationToken=after-"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let end = (offset + state.page_size).min(entries.len());
        let page = entries.get(offset..end).unwrap_or_default().to_vec();
        let list_key = if endpoint_path == INDEX_PATH {
            "tasks"
        } else {
            "statuses"
        };
        let mut answer = json!({ list_key: page });
        if page.len() == state.page_size {
            answer["continuationToken"] = json!(format!("after-{end}"));
        }
        if state.spoil == Spoil::DropTasks {
            answer = json!({});
        }
        answer
    }

    /// A client with three quick attempts.
    fn client(root_url: &str) -> TaskclusterIndex {
        TaskclusterIndex::with_retry(root_url, 3, Duration::from_millis(1)).unwrap()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn expires() -> &'static str {
        "2030-06-01T12:00:00.000Z"
    }

    #[test]
    fn index_paths_are_found_page_by_page_in_one_batch() {
        let server = Server::start(
            &[
                ("p.a", "TA"),
                ("p.b", "TB"),
                ("p.c", "TC"),
                ("p.e", "TE"),
                ("p.g", "TG"),
            ],
            &[],
        );
        let paths = strings(&["p.a", "p.b", "p.c", "p.d", "p.e", "p.f", "p.g"]);
        let found = client(&server.url()).find_task_ids(&paths).unwrap();
        let expected: BTreeMap<String, String> = [
            ("p.a", "TA"),
            ("p.b", "TB"),
            ("p.c", "TC"),
            ("p.e", "TE"),
            ("p.g", "TG"),
        ]
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
        assert_eq!(found, expected);

        // Five found, two a page: three requests, each with the whole list,
        // the later ones with the token the one before handed out.
        let seen = server.seen();
        let queries: Vec<Option<&str>> = seen.iter().map(|s| s.query.as_deref()).collect();
        assert_eq!(
            queries,
            [
                None,
                Some("continuationToken=after-2"),
                Some("continuationToken=after-4")
            ]
        );
        assert!(seen.iter().all(|s| s.path == INDEX_PATH && s.ids == paths));
        assert!(
            seen.iter().all(|s| !s.signed),
            "requests carry no credentials"
        );
    }

    #[test]
    fn ids_are_split_into_batches_of_the_batch_size() {
        let indexed: Vec<(String, String)> = (0..8)
            .map(|n| (format!("p.{n}"), format!("T{n}")))
            .collect();
        let indexed: Vec<(&str, &str)> = indexed
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let server = Server::start(&indexed, &[]);
        let paths: Vec<String> = indexed.iter().map(|(p, _)| p.to_string()).collect();
        let lookup = client(&server.url()).with_batch_size(4);
        let found = lookup.find_task_ids(&paths).unwrap();
        assert_eq!(found.len(), 8);
        assert_eq!(found["p.7"], "T7");

        // 8 paths in batches of 4: ceil(8 / 4) = 2 first pages. Each batch
        // finds 4 tasks, two a page; the second page is full, so it carries a
        // token, and the empty third page ends the batch.
        let seen = server.seen();
        let first_pages = seen.iter().filter(|s| s.query.is_none()).count();
        assert_eq!(first_pages, paths.len().div_ceil(4));
        assert_eq!(seen.len(), 2 * 3);
        assert!(seen.iter().all(|s| s.ids.len() == 4));
        assert_eq!(seen[0].ids, paths[..4]);
        assert_eq!(seen[3].ids, paths[4..]);
        // Continuation requests repeat their batch's body.
        assert_eq!(seen[1].ids, seen[0].ids);
        assert_eq!(seen[2].query.as_deref(), Some("continuationToken=after-4"));
    }

    #[test]
    fn statuses_are_read_page_by_page() {
        let server = Server::start(
            &[],
            &[
                ("T1", "completed", expires()),
                ("T2", "failed", expires()),
                ("T3", "running", expires()),
                ("T4", "completed", "2020-01-01T00:00:00.000Z"),
            ],
        );
        let ids = strings(&["T1", "T2", "T3", "T4", "T5"]);
        let statuses = client(&server.url()).task_statuses(&ids).unwrap();
        assert_eq!(statuses.len(), 4);
        assert_eq!(
            statuses["T1"],
            TaskStatus {
                state: "completed".into(),
                expires: expires().into()
            }
        );
        assert_eq!(statuses["T2"].state, "failed");
        assert_eq!(statuses["T4"].expires, "2020-01-01T00:00:00.000Z");
        assert!(!statuses.contains_key("T5"));
        let seen = server.seen();
        assert_eq!(seen.len(), 3, "pages of 2, 2 and an empty one: {seen:?}");
        assert!(seen.iter().all(|s| s.path == STATUS_PATH && s.ids == ids));
    }

    #[test]
    fn repeated_ids_are_asked_for_once_and_nothing_is_asked_for_nothing() {
        let server = Server::start(&[("p.a", "TA")], &[]);
        let lookup = client(&server.url());
        let found = lookup
            .find_task_ids(&strings(&["p.a", "p.b", "p.a"]))
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(server.seen()[0].ids, ["p.a", "p.b"]);
        assert!(lookup.find_task_ids(&[]).unwrap().is_empty());
        assert!(lookup.task_statuses(&[]).unwrap().is_empty());
        assert_eq!(server.seen().len(), 1);
    }

    #[test]
    fn a_server_error_is_retried() {
        let server = Server::start(&[], &[("T1", "completed", expires())]);
        server.fail(STATUS_PATH, Failure::Once(500));
        let statuses = client(&server.url())
            .task_statuses(&strings(&["T1"]))
            .unwrap();
        assert_eq!(statuses["T1"].state, "completed");
        let seen = server.seen();
        assert_eq!(seen.len(), 2, "one failure, one success: {seen:?}");
        assert_eq!(seen[0].ids, seen[1].ids);
        assert_eq!(seen[1].query, None);
    }

    #[test]
    fn a_server_that_keeps_failing_is_an_error_naming_the_endpoint_and_status() {
        let server = Server::start(&[("p.a", "TA")], &[]);
        server.fail(INDEX_PATH, Failure::Always(500));
        let err = client(&server.url())
            .find_task_ids(&strings(&["p.a"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("index.findTasksAtIndex"), "{err}");
        assert!(
            err.contains(&format!("POST {}{INDEX_PATH}", server.url())),
            "{err}"
        );
        assert!(err.contains("HTTP 500"), "{err}");
        assert!(err.contains("after 3 attempts"), "{err}");
        assert_eq!(server.seen().len(), 3, "three attempts, then the error");
    }

    #[test]
    fn a_refusal_is_not_retried_and_names_the_scope() {
        let server = Server::start(&[], &[("T1", "completed", expires())]);
        server.fail(STATUS_PATH, Failure::Always(403));
        let err = client(&server.url())
            .task_statuses(&strings(&["T1"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("queue.statuses"), "{err}");
        assert!(err.contains("HTTP 403"), "{err}");
        assert!(err.contains("told to fail"), "the server's message: {err}");
        assert!(err.contains("queue:status:<taskId>"), "{err}");
        assert_eq!(server.seen().len(), 1);
    }

    #[test]
    fn an_answer_missing_a_field_is_a_clear_error() {
        let server = Server::start(&[("p.a", "TA")], &[("T1", "completed", expires())]);
        let lookup = client(&server.url());

        server.spoil(Spoil::DropExpires);
        let err = lookup
            .task_statuses(&strings(&["T1"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("queue.statuses"), "{err}");
        assert!(err.contains("`status.expires`"), "{err}");
        assert!(err.contains("statuses[0]"), "{err}");

        server.spoil(Spoil::DropTasks);
        let err = lookup
            .find_task_ids(&strings(&["p.a"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("index.findTasksAtIndex"), "{err}");
        assert!(err.contains("without `tasks`"), "{err}");
    }

    #[test]
    fn an_answer_that_is_not_json_or_too_long_is_an_error() {
        let server = Server::start(&[("p.a", "TA")], &[]);
        let lookup = client(&server.url());
        server.spoil(Spoil::NotJson);
        let err = lookup
            .find_task_ids(&strings(&["p.a"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("could not be read as JSON"), "{err}");

        server.spoil(Spoil::Duplicate);
        let err = lookup
            .find_task_ids(&strings(&["p.a"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("answered 2 entries for 1 ids"), "{err}");
    }

    #[test]
    fn no_connection_is_an_error_after_the_attempts() {
        // A port that was just free: nothing listens there.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = client(&format!("http://{addr}"))
            .task_statuses(&strings(&["T1"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("queue.statuses"), "{err}");
        assert!(err.contains("no connection after 3 attempts"), "{err}");
    }

    #[test]
    fn a_root_url_with_a_path_keeps_it() {
        let server = Server::start(&[("p.a", "TA")], &[]);
        let lookup = client(&format!("{}/tc//", server.url()));
        assert_eq!(lookup.root_url(), format!("{}/tc", server.url()));
        assert_eq!(
            lookup.find_task_ids(&strings(&["p.a"])).unwrap()["p.a"],
            "TA"
        );
        assert_eq!(server.seen()[0].path, format!("/tc{INDEX_PATH}"));
    }

    #[test]
    fn the_root_url_follows_taskgraphs_rules() {
        fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
            let vars: BTreeMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |name| vars.get(name).cloned()
        }
        let root = "https://tc.example.com/";
        let proxy = "http://taskcluster";

        let url = root_url_from(env(&[("TASKCLUSTER_ROOT_URL", root)]), false).unwrap();
        assert_eq!(url, "https://tc.example.com");
        // Without the proxy asked for, the proxy URL is not used.
        let both = env(&[
            ("TASKCLUSTER_ROOT_URL", root),
            ("TASKCLUSTER_PROXY_URL", proxy),
        ]);
        assert_eq!(
            root_url_from(&both, false).unwrap(),
            "https://tc.example.com"
        );
        assert_eq!(root_url_from(&both, true).unwrap(), "http://taskcluster");

        let err = root_url_from(env(&[]), false).unwrap_err().to_string();
        assert!(err.contains("set TASKCLUSTER_ROOT_URL"), "{err}");
        let err = root_url_from(env(&[("TASKCLUSTER_ROOT_URL", "")]), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("set TASKCLUSTER_ROOT_URL"), "{err}");
        let err = root_url_from(env(&[("TASK_ID", "abc")]), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be set when running in a task"), "{err}");

        let err = root_url_from(env(&[("TASKCLUSTER_ROOT_URL", root)]), true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not available when not running in a task"),
            "{err}"
        );
        let err = root_url_from(env(&[("TASK_ID", "abc")]), true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not enabled for this task"), "{err}");

        let err = TaskclusterIndex::new(" / ").unwrap_err().to_string();
        assert!(err.contains("root URL is empty"), "{err}");
    }
}
