//! The online [`TaskGroupSource`]: reads earlier task groups from a
//! Taskcluster deployment's queue.
//!
//! - `GET <root>/api/queue/v1/task-group/<taskGroupId>/list`
//!   (`listTaskGroup`, scope `queue:list-task-group:<taskGroupId>`) answers
//!   `{taskGroupId, schedulerId, expires, tasks: [{status, task}],
//!   continuationToken?}`, at most 1000 tasks a page (fewer with `?limit=`).
//!   The queue may answer fewer tasks than it holds and may hand out a token
//!   that leads nowhere, so pages are read until one comes without a token.
//!   Each page is read by [`parse_list_task_group`], as saved responses are.
//! - `POST <root>/api/queue/v1/tasks/status` (`statuses`, scope
//!   `queue:status:<taskId>` for each id) with `{"taskIds": [...]}` answers
//!   `{statuses: [{taskId, status}], continuationToken?}`; the group is
//!   `status.taskGroupId`. Every id goes in one request, further pages repeat
//!   it with `?continuationToken=`; paging stops at a page without a token or
//!   an empty one. Ids the queue does not know are simply not answered.
//!
//! Without credentials the requests carry none, like [`crate::lookup`]'s.
//! With credentials (`TASKCLUSTER_CLIENT_ID`, `TASKCLUSTER_ACCESS_TOKEN`,
//! optionally `TASKCLUSTER_CERTIFICATE`) every request is signed over its
//! path *and* query. The `taskcluster` crate (114.0.0) signs its Hawk header
//! over the path alone, which a real queue refuses (401 "Bad mac") as soon
//! as a `continuationToken` or `limit` is in the query, so its signing
//! client is not used to send anything:
//!
//! - `listTaskGroup` is a GET: the crate's `listTaskGroup_signed_url` makes
//!   a URL with a `bewit` parameter whose MAC covers the path and the whole
//!   query, and that URL is fetched without an `Authorization` header.
//! - `statuses` is a POST, which bewits cannot authorize: its Hawk header is
//!   made here (with the `hawk` crate the client uses) over the method, path
//!   and query, host and port, the payload hash and the same `ext` (the
//!   certificate of temporary credentials) the client would send.
//!
//! Those signed requests are sent with reqwest directly, signed afresh for
//! each attempt and retried like the client's own: server errors (5xx) and
//! connection failures a few times with exponential backoff. What still fails
//! becomes an error naming the endpoint, its URL (never a signed one) and the
//! HTTP status; nothing is read as "no tasks".
//!
//! The calls block on a runtime of their own: call them from plain threads,
//! not from inside another tokio runtime.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use taskcluster::retry::Backoff;
use taskcluster::{ClientBuilder, Credentials, Queue, Retry, StatusCode};
use taskgraph::optimize::previous::{GroupTask, TaskGroupSource, parse_list_task_group};
use taskgraph::python::json_parse;
use taskgraph::{Error, Result};

use crate::lookup::{
    ATTEMPTS, FIRST_RETRY_DELAY, MAX_RETRY_DELAY, REQUEST_TIMEOUT, env_var, lookup_error,
    normalize_root_url, root_url_from, unique,
};

/// How long a signed `listTaskGroup` URL stays valid. A new one is made for
/// every attempt, so this only has to outlast one request (and some clock
/// difference with the deployment).
const SIGNED_URL_TTL: Duration = Duration::from_secs(15 * 60);

/// The two queue methods, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    ListTaskGroup,
    Statuses,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::ListTaskGroup => "queue.listTaskGroup",
            Endpoint::Statuses => "queue.statuses",
        }
    }

    fn method(self) -> &'static str {
        match self {
            Endpoint::ListTaskGroup => "GET",
            Endpoint::Statuses => "POST",
        }
    }

    fn scope(self) -> &'static str {
        match self {
            Endpoint::ListTaskGroup => "queue:list-task-group:<taskGroupId>",
            Endpoint::Statuses => "queue:status:<taskId>",
        }
    }
}

/// What signing needs, kept apart from the credentials' text.
struct Signing {
    client_id: String,
    /// The crate's queue client with the credentials; it only makes signed
    /// URLs, it sends nothing.
    queue: Queue,
    /// The same credentials, for Hawk headers made here.
    hawk: hawk::Credentials,
    /// The `ext` of every signature: base64 of `{"certificate": ...}` for
    /// temporary credentials, none for permanent ones.
    ext: Option<String>,
}

impl Signing {
    fn new(builder: ClientBuilder, credentials: Credentials) -> Result<Signing> {
        if credentials.client_id.is_empty() || credentials.access_token.is_empty() {
            return Err(lookup_error(
                "the Taskcluster credentials need both a client id and an access token".into(),
            ));
        }
        let ext = match credentials.certificate.as_deref() {
            None | Some("") => None,
            Some(text) => {
                let certificate: Value = serde_json::from_str(text).map_err(|e| {
                    lookup_error(format!(
                        "the certificate of client `{}` (TASKCLUSTER_CERTIFICATE) is not JSON: {e}",
                        credentials.client_id
                    ))
                })?;
                let ext = json!({ "certificate": certificate }).to_string();
                Some(base64::engine::general_purpose::STANDARD.encode(ext))
            }
        };
        let client_id = credentials.client_id.clone();
        let key = hawk::Key::new(&credentials.access_token, hawk::SHA256).map_err(|e| {
            lookup_error(format!(
                "cannot use the access token of client `{client_id}`: {e}"
            ))
        })?;
        let hawk = hawk::Credentials {
            id: client_id.clone(),
            key,
        };
        let queue = Queue::new(builder.credentials(credentials)).map_err(|e| {
            lookup_error(format!(
                "cannot make a signing Taskcluster client for `{client_id}`: {e:#}"
            ))
        })?;
        Ok(Signing {
            client_id,
            queue,
            hawk,
            ext,
        })
    }

    /// A `statuses` request for `url`, with a Hawk header covering its path
    /// and query and the hash of `payload`.
    fn signed_post(&self, url: &reqwest::Url, payload: &[u8]) -> anyhow::Result<reqwest::Request> {
        let host = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("the URL {url} has no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| anyhow::anyhow!("the URL {url} has no port"))?;
        let resource = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let hash = hawk::PayloadHasher::hash("application/json", hawk::SHA256, payload)?;
        let header = hawk::RequestBuilder::new("POST", host, port, &resource)
            .hash(&hash[..])
            .ext(self.ext.as_deref())
            .request()
            .make_header(&self.hawk)?;
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
        let headers = request.headers_mut();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Hawk {header}"))?,
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        *request.body_mut() = Some(payload.to_vec().into());
        Ok(request)
    }
}

/// Earlier task groups, read from a Taskcluster deployment's queue.
pub struct TaskclusterGroups {
    root_url: String,
    /// The crate's client without credentials: unsigned requests, and the
    /// URLs of signed ones.
    queue: Queue,
    signing: Option<Signing>,
    /// Sends the signed requests.
    http: reqwest::Client,
    retry: Retry,
    attempts: usize,
    /// The `limit` of each `listTaskGroup` page; `None` leaves it to the queue.
    page_limit: Option<String>,
    runtime: tokio::runtime::Runtime,
}

impl fmt::Debug for TaskclusterGroups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskclusterGroups")
            .field("root_url", &self.root_url)
            .field("client_id", &self.signing.as_ref().map(|s| &s.client_id))
            .field("attempts", &self.attempts)
            .field("page_limit", &self.page_limit)
            .finish_non_exhaustive()
    }
}

impl TaskclusterGroups {
    /// A source for the deployment the environment names: the root URL as
    /// [`root_url_from`] finds it, and the credentials, if any, as
    /// [`credentials_from`] reads them.
    pub fn from_environment() -> Result<TaskclusterGroups> {
        let root_url = root_url_from(env_var, false)?;
        TaskclusterGroups::new(&root_url, credentials_from(env_var)?)
    }

    /// A source for the deployment at `root_url`, signing its requests with
    /// `credentials` when there are some.
    pub fn new(root_url: &str, credentials: Option<Credentials>) -> Result<TaskclusterGroups> {
        TaskclusterGroups::with_retry(root_url, credentials, ATTEMPTS, FIRST_RETRY_DELAY)
    }

    /// Asks for at most `limit` tasks a `listTaskGroup` page (at least one;
    /// the queue answers at most 1000 however many are asked for). Only the
    /// tests need pages smaller than the queue's own.
    #[cfg(test)]
    pub fn with_page_limit(mut self, limit: usize) -> TaskclusterGroups {
        self.page_limit = Some(limit.max(1).to_string());
        self
    }

    fn with_retry(
        root_url: &str,
        credentials: Option<Credentials>,
        attempts: usize,
        first_delay: Duration,
    ) -> Result<Self> {
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
        // The trailing slash keeps any path of the root URL (see lookup.rs).
        let builder = ClientBuilder::new(format!("{root_url}/"))
            .retry(retry.clone())
            .timeout(REQUEST_TIMEOUT);
        let queue = Queue::new(builder.clone()).map_err(|e| {
            lookup_error(format!(
                "cannot make a Taskcluster client for `{root_url}`: {e:#}"
            ))
        })?;
        let signing = credentials
            .map(|credentials| Signing::new(builder, credentials))
            .transpose()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| lookup_error(format!("cannot make an HTTP client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| lookup_error(format!("cannot start the HTTP runtime: {e}")))?;
        Ok(TaskclusterGroups {
            root_url,
            queue,
            signing,
            http,
            retry,
            attempts,
            page_limit: None,
            runtime,
        })
    }

    /// The endpoint's URL without query or signature, for messages.
    fn url(&self, endpoint: Endpoint, group_id: &str) -> String {
        let made = match endpoint {
            Endpoint::ListTaskGroup => self.queue.listTaskGroup_url(group_id, None, None),
            Endpoint::Statuses => self.queue.client.make_url("tasks/status", None),
        };
        made.unwrap_or_else(|_| match endpoint {
            Endpoint::ListTaskGroup => {
                format!("{}/api/queue/v1/task-group/{group_id}/list", self.root_url)
            }
            Endpoint::Statuses => format!("{}/api/queue/v1/tasks/status", self.root_url),
        })
    }

    /// One `listTaskGroup` page.
    fn list_page(&self, group_id: &str, token: Option<&str>) -> Result<Value> {
        let endpoint = Endpoint::ListTaskGroup;
        let limit = self.page_limit.as_deref();
        let answer = match &self.signing {
            None => self
                .runtime
                .block_on(self.queue.listTaskGroup(group_id, token, limit)),
            Some(signing) => self.runtime.block_on(self.send_signed(|| {
                let url = signing.queue.listTaskGroup_signed_url(
                    group_id,
                    token,
                    limit,
                    SIGNED_URL_TTL,
                )?;
                Ok(reqwest::Request::new(
                    reqwest::Method::GET,
                    reqwest::Url::parse(&url)?,
                ))
            })),
        };
        answer.map_err(|error| {
            if taskcluster::err_status_code(&error) == Some(StatusCode::NOT_FOUND) {
                lookup_error(format!(
                    "task group {group_id} does not exist (or has expired): {} (GET {}) \
                     answered HTTP 404: {error:#}",
                    endpoint.name(),
                    self.url(endpoint, group_id)
                ))
            } else {
                self.request_failure(endpoint, group_id, &error)
            }
        })
    }

    /// One `statuses` page.
    fn statuses_page(&self, body: &Value, token: Option<&str>) -> Result<Value> {
        let endpoint = Endpoint::Statuses;
        let answer = match &self.signing {
            None => self
                .runtime
                .block_on(self.queue.statuses(body, token, None)),
            Some(signing) => self.runtime.block_on(async {
                let query = token.map(|token| vec![("continuationToken", token)]);
                let url = self.queue.client.make_url("tasks/status", query)?;
                let url = reqwest::Url::parse(&url)?;
                let payload = serde_json::to_vec(body)?;
                self.send_signed(|| signing.signed_post(&url, &payload))
                    .await
            }),
        };
        answer.map_err(|error| self.request_failure(endpoint, "", &error))
    }

    /// Sends a signed request, made afresh by `make` for each attempt, the
    /// way the crate's client sends its own: server errors and failed
    /// connections are retried with backoff, client errors are not (and
    /// carry the server's message), anything else is read as JSON.
    ///
    /// The errors drop their URL: a signed one is a credential.
    async fn send_signed(
        &self,
        make: impl Fn() -> anyhow::Result<reqwest::Request>,
    ) -> anyhow::Result<Value> {
        let mut backoff = Backoff::new(&self.retry);
        let mut retries = self.retry.retries;
        loop {
            let request = make()?;
            let failure = match self.http.execute(request).await {
                Err(error) => error,
                Ok(response) => match response.error_for_status_ref().err() {
                    None => {
                        let text = response.text().await.map_err(|e| e.without_url())?;
                        return Ok(serde_json::from_str(&text)?);
                    }
                    Some(error) if response.status().is_server_error() => error,
                    Some(error) => {
                        let error = anyhow::Error::from(error.without_url());
                        let message = response
                            .text()
                            .await
                            .ok()
                            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                            .and_then(|v| v.get("message")?.as_str().map(str::to_owned));
                        return Err(match message {
                            Some(message) => error.context(message),
                            None => error,
                        });
                    }
                },
            };
            let failure = failure.without_url();
            if retries == 0 {
                return Err(failure.into());
            }
            retries -= 1;
            match backoff.next_backoff() {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(failure.into()),
            }
        }
    }

    /// An answer that does not have the shape the API reference gives.
    fn failure(&self, endpoint: Endpoint, group_id: &str, what: &str) -> Error {
        lookup_error(format!(
            "{} ({} {}) {what}",
            endpoint.name(),
            endpoint.method(),
            self.url(endpoint, group_id)
        ))
    }

    /// A request that did not get a successful answer.
    fn request_failure(&self, endpoint: Endpoint, group_id: &str, error: &anyhow::Error) -> Error {
        let attempts = self.attempts;
        let transport = error.downcast_ref::<reqwest::Error>();
        let what = match taskcluster::err_status_code(error) {
            Some(status) if status.is_server_error() => {
                format!("HTTP {status} after {attempts} attempts")
            }
            Some(status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)) => {
                let advice = match (&self.signing, status) {
                    (Some(signing), StatusCode::UNAUTHORIZED) => format!(
                        "the deployment did not accept the signature of client `{}`: check \
                         TASKCLUSTER_ACCESS_TOKEN and TASKCLUSTER_CERTIFICATE, and the clock",
                        signing.client_id
                    ),
                    (Some(signing), _) => format!(
                        "the request is signed for client `{}`, which needs the scope `{}`",
                        signing.client_id,
                        endpoint.scope()
                    ),
                    (None, _) => format!(
                        "the request carries no credentials, so the deployment must grant `{}` \
                         to anonymous callers; set TASKCLUSTER_CLIENT_ID and \
                         TASKCLUSTER_ACCESS_TOKEN to sign it",
                        endpoint.scope()
                    ),
                };
                format!("HTTP {status}: {error:#}; {advice}")
            }
            Some(status) => format!("HTTP {status}: {error:#}"),
            None if error.is::<serde_json::Error>()
                || transport.is_some_and(|e| e.is_decode() || e.is_body()) =>
            {
                format!("the answer could not be read as JSON: {error:#}")
            }
            None if transport.is_some_and(|e| e.is_timeout()) => {
                format!("no answer within {REQUEST_TIMEOUT:?}, {attempts} attempts: {error:#}")
            }
            None if transport.is_some_and(|e| e.is_connect() || e.is_request()) => {
                format!("no connection after {attempts} attempts: {error:#}")
            }
            None => format!("{error:#}"),
        };
        lookup_error(format!(
            "{} ({} {}) failed: {what}",
            endpoint.name(),
            endpoint.method(),
            self.url(endpoint, group_id)
        ))
    }
}

/// A page's `continuationToken`, if it has one.
fn continuation_token(page: &Value) -> std::result::Result<Option<String>, &'static str> {
    match page.get("continuationToken") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(token)) => Ok(Some(token.clone())),
        Some(_) => Err("answered a `continuationToken` that is not a string"),
    }
}

impl TaskGroupSource for TaskclusterGroups {
    fn list_task_group(&self, group_id: &str) -> Result<Vec<GroupTask>> {
        let endpoint = Endpoint::ListTaskGroup;
        let failure = |what: &str| self.failure(endpoint, group_id, what);
        let mut tasks = Vec::new();
        let mut token: Option<String> = None;
        let mut tokens = BTreeSet::new();
        let mut requests = 0;
        loop {
            requests += 1;
            let page = self.list_page(group_id, token.as_deref())?;
            if !page.is_object() {
                return Err(failure("answered something other than a JSON object"));
            }
            let next = continuation_token(&page).map_err(failure)?;
            let page = json_parse(&page.to_string())
                .map_err(|e| failure(&format!("answered JSON that cannot be read: {e}")))?;
            let (answered, page_tasks) =
                parse_list_task_group(&page).map_err(|e| failure(&format!("answered {e}")))?;
            if answered != group_id {
                return Err(failure(&format!(
                    "answered the tasks of another task group, `{answered}`"
                )));
            }
            tasks.extend(page_tasks);
            match next {
                None => break,
                Some(next) => {
                    if !tokens.insert(next.clone()) {
                        return Err(failure(&format!(
                            "handed out the continuation token `{next}` a second time"
                        )));
                    }
                    token = Some(next);
                }
            }
        }
        tracing::debug!(
            group = group_id,
            tasks = tasks.len(),
            requests,
            signed = self.signing.is_some(),
            "listed task group"
        );
        Ok(tasks)
    }

    fn groups_of(&self, task_ids: &[String]) -> Result<BTreeMap<String, String>> {
        let endpoint = Endpoint::Statuses;
        let failure = |what: &str| self.failure(endpoint, "", what);
        let ids = unique(task_ids);
        let mut groups = BTreeMap::new();
        if ids.is_empty() {
            return Ok(groups);
        }
        let body = json!({ "taskIds": ids });
        let mut found = 0;
        let mut token: Option<String> = None;
        let mut requests = 0;
        loop {
            requests += 1;
            let page = self.statuses_page(&body, token.as_deref())?;
            let next = continuation_token(&page).map_err(failure)?;
            let entries = match page.get("statuses") {
                Some(Value::Array(entries)) => entries,
                Some(_) => return Err(failure("answered a `statuses` that is not a list")),
                None => return Err(failure("answered without `statuses`")),
            };
            if entries.is_empty() {
                break;
            }
            found += entries.len();
            if found > ids.len() {
                return Err(failure(&format!(
                    "answered {found} entries for {} ids asked for",
                    ids.len()
                )));
            }
            for (n, entry) in entries.iter().enumerate() {
                let text = |value: Option<&Value>, name: &str| -> Result<String> {
                    value
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            failure(&format!(
                                "answered a status (`statuses[{n}]`) without a string `{name}`"
                            ))
                        })
                };
                let task_id = text(entry.get("taskId"), "taskId")?;
                let group = text(entry.pointer("/status/taskGroupId"), "status.taskGroupId")?;
                groups.insert(task_id, group);
            }
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        tracing::debug!(
            tasks = ids.len(),
            found = groups.len(),
            requests,
            signed = self.signing.is_some(),
            "looked up the groups of tasks"
        );
        Ok(groups)
    }
}

/// The credentials the environment gives, read through `env`:
/// `TASKCLUSTER_CLIENT_ID` and `TASKCLUSTER_ACCESS_TOKEN`, with
/// `TASKCLUSTER_CERTIFICATE` for temporary credentials, the variables
/// `Credentials::from_env` reads. None when neither of the first two is set
/// (empty counts as unset); an error when only one of them is, or when a
/// certificate comes without them.
pub fn credentials_from(env: impl Fn(&str) -> Option<String>) -> Result<Option<Credentials>> {
    let get = |name: &str| env(name).filter(|value| !value.is_empty());
    let client_id = get("TASKCLUSTER_CLIENT_ID");
    let access_token = get("TASKCLUSTER_ACCESS_TOKEN");
    let certificate = get("TASKCLUSTER_CERTIFICATE");
    match (client_id, access_token) {
        (Some(client_id), Some(access_token)) => Ok(Some(Credentials {
            client_id,
            access_token,
            certificate,
        })),
        (None, None) if certificate.is_none() => Ok(None),
        (None, None) => Err(lookup_error(
            "TASKCLUSTER_CERTIFICATE is set, but TASKCLUSTER_CLIENT_ID and \
             TASKCLUSTER_ACCESS_TOKEN are not"
                .into(),
        )),
        (Some(_), None) => Err(lookup_error(
            "TASKCLUSTER_CLIENT_ID is set but TASKCLUSTER_ACCESS_TOKEN is not: set both to sign \
             the requests, or neither to make them without credentials"
                .into(),
        )),
        (None, Some(_)) => Err(lookup_error(
            "TASKCLUSTER_ACCESS_TOKEN is set but TASKCLUSTER_CLIENT_ID is not: set both to sign \
             the requests, or neither to make them without credentials"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::{SystemTime, UNIX_EPOCH};

    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use fake_taskcluster::loopback::{
        Failure, LoopbackServer, Request, Response, injected_failure,
    };
    use sha2::{Digest, Sha256};

    use super::*;

    const LIST_PREFIX: &str = "/api/queue/v1/task-group/";
    const STATUS_PATH: &str = "/api/queue/v1/tasks/status";
    const CLIENT_ID: &str = "project/graphgen/tests";
    const ACCESS_TOKEN: &str = "not-a-real-access-token";
    const CERTIFICATE: &str = r#"{"version":1,"scopes":["queue:list-task-group:*"],"start":1,"expiry":2,"seed":"a-seed","signature":"a-signature"}"#;
    const EXPIRES: &str = "2030-06-01T12:00:00.000Z";

    /// Which endpoint of the test server misbehaves.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Route {
        List,
        Status,
    }

    /// How a request was authenticated, as the test server's own Hawk check
    /// found it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Auth {
        None,
        /// A Hawk header whose MAC held, with its `ext`.
        Header(Option<String>),
        /// A bewit whose MAC held, with its `ext`.
        Bewit(Option<String>),
        /// A signature that did not hold, and why.
        Refused(String),
    }

    /// One request as the server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        path: String,
        /// The query as it came, still encoded.
        query: Option<String>,
        /// `continuationToken`, decoded.
        token: Option<String>,
        limit: Option<String>,
        /// `taskIds` of a statuses body.
        ids: Vec<String>,
        auth: Auth,
    }

    #[derive(Debug, Default)]
    struct State {
        /// group id -> its tasks, as listTaskGroup lists them
        groups: BTreeMap<String, Vec<Value>>,
        /// The most entries a page holds.
        page_size: usize,
        /// When set, every request must be signed with (client id, token).
        credentials: Option<(String, String)>,
        failures: BTreeMap<Route, Failure>,
        /// Every listTaskGroup page hands out the same token.
        repeat_token: bool,
        /// Statuses come without `taskGroupId`.
        drop_group_ids: bool,
        seen: Vec<Seen>,
    }

    /// A loopback queue answering listTaskGroup and statuses from a fixed
    /// table, checking signatures the way the Taskcluster auth service
    /// does: over the path and the query.
    struct Server {
        loopback: LoopbackServer<State>,
    }

    /// (group, task id, label, dependencies)
    type TaskSpec<'a> = (&'a str, &'a str, &'a str, &'a [&'a str]);

    impl Server {
        fn start(tasks: &[TaskSpec<'_>]) -> Server {
            let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for (group, task_id, label, dependencies) in tasks {
                groups.entry(group.to_string()).or_default().push(json!({
                    "status": {
                        "taskId": task_id, "taskGroupId": group, "schedulerId": "tests",
                        "state": "completed", "expires": EXPIRES, "runs": [],
                    },
                    "task": {
                        "taskGroupId": group, "dependencies": dependencies,
                        "metadata": {"name": label, "description": "", "owner": "a@b.c",
                                     "source": "https://example.com"},
                    },
                }));
            }
            let state = State {
                groups,
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

        fn with(&self, change: impl FnOnce(&mut State)) {
            self.loopback.with_state(change);
        }

        fn require_signatures(&self) {
            self.with(|s| s.credentials = Some((CLIENT_ID.into(), ACCESS_TOKEN.into())));
        }

        fn fail(&self, route: Route, failure: Failure) {
            self.with(|s| {
                s.failures.insert(route, failure);
            });
        }

        fn seen(&self) -> Vec<Seen> {
            self.loopback.with_state(|s| s.seen.clone())
        }
    }

    fn error_body(code: &str, message: &str) -> String {
        json!({"code": code, "message": message}).to_string()
    }

    /// Tokens hold characters a query must encode.
    fn token_for(offset: usize) -> String {
        format!("page/{offset}+ =")
    }

    fn offset_of(token: Option<&str>) -> usize {
        token
            .and_then(|t| t.strip_prefix("page/")?.strip_suffix("+ =")?.parse().ok())
            .unwrap_or(0)
    }

    /// The answer to one request, and its record in `seen`.
    fn answer(request: &Request, state: &mut State) -> Response {
        let pairs = query_pairs(request);
        let ids = task_ids_of(&request.body);
        let auth = check(state.credentials.as_ref(), request);
        state.seen.push(Seen {
            method: request.method.clone(),
            path: request.path().to_owned(),
            query: request.query().map(str::to_owned),
            token: pairs.get("continuationToken").cloned(),
            limit: pairs.get("limit").cloned(),
            ids: ids.clone(),
            auth: auth.clone(),
        });
        if let Auth::Refused(why) = &auth {
            return Response::new(401, error_body("AuthenticationFailed", why));
        }
        if state.credentials.is_some() && auth == Auth::None {
            return Response::new(
                403,
                error_body("InsufficientScopes", "this queue wants signed requests"),
            );
        }
        let Some(route) = route_of(request) else {
            return Response::new(404, error_body("ResourceNotFound", "no such endpoint"));
        };
        if let Some(status) = injected_failure(&mut state.failures, &route) {
            return Response::new(status, error_body("Failing", "told to"));
        }
        let (entries, answer) = match route {
            Route::List => match list_entries(state, request.path()) {
                Ok(found) => found,
                Err(missing) => return missing,
            },
            Route::Status => (status_entries(state, &ids), json!({})),
        };
        Response::new(200, page(state, route, &pairs, entries, answer).to_string())
    }

    /// The query's parameters, decoded.
    fn query_pairs(request: &Request) -> BTreeMap<String, String> {
        reqwest::Url::parse(&format!("http://x{}", request.target))
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// `taskIds` of a statuses body; none for any other.
    fn task_ids_of(body: &[u8]) -> Vec<String> {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|b| b.get("taskIds").cloned())
            .and_then(|ids| serde_json::from_value(ids).ok())
            .unwrap_or_default()
    }

    fn route_of(request: &Request) -> Option<Route> {
        let path = request.path();
        if request.method == "POST" && path == STATUS_PATH {
            Some(Route::Status)
        } else if request.method == "GET"
            && path.starts_with(LIST_PREFIX)
            && path.ends_with("/list")
        {
            Some(Route::List)
        } else {
            None
        }
    }

    /// The tasks of the group a listTaskGroup path names, and the answer
    /// they go into; a 404 for a group the table lacks.
    fn list_entries(state: &State, path: &str) -> Result<(Vec<Value>, Value), Response> {
        let group = &path[LIST_PREFIX.len()..path.len() - "/list".len()];
        let Some(tasks) = state.groups.get(group) else {
            return Err(Response::new(
                404,
                error_body(
                    "ResourceNotFound",
                    &format!("No task-group with taskGroupId: `{group}`"),
                ),
            ));
        };
        let answer = json!({"taskGroupId": group, "schedulerId": "tests", "expires": EXPIRES});
        Ok((tasks.clone(), answer))
    }

    /// The statuses of the known tasks among `ids`.
    fn status_entries(state: &State, ids: &[String]) -> Vec<Value> {
        ids.iter()
            .filter_map(|id| {
                let task =
                    state.groups.values().flatten().find(|t| {
                        t.pointer("/status/taskId").and_then(Value::as_str) == Some(id)
                    })?;
                let mut status = task["status"].clone();
                if state.drop_group_ids {
                    status.as_object_mut()?.remove("taskGroupId");
                }
                Some(json!({"taskId": id, "status": status}))
            })
            .collect()
    }

    /// `answer` with the page of `entries` that `limit` and
    /// `continuationToken` ask for, and the token for the next.
    fn page(
        state: &State,
        route: Route,
        pairs: &BTreeMap<String, String>,
        entries: Vec<Value>,
        mut answer: Value,
    ) -> Value {
        let size = pairs
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(usize::MAX)
            .min(state.page_size);
        let offset = offset_of(pairs.get("continuationToken").map(String::as_str));
        let end = (offset + size).min(entries.len());
        let page = entries.get(offset..end).unwrap_or_default().to_vec();
        // Like the queue's, a full page carries a token even when nothing
        // follows.
        if state.repeat_token && route == Route::List {
            answer["continuationToken"] = json!(token_for(0));
        } else if page.len() == size {
            answer["continuationToken"] = json!(token_for(end));
        }
        let key = match route {
            Route::List => "tasks",
            Route::Status => "statuses",
        };
        answer[key] = Value::Array(page);
        answer
    }

    /// The test server's Hawk check, written from the Hawk specification as
    /// Taskcluster applies it: a header's MAC covers the method, the path
    /// with its query (the target as sent), host, port, the payload hash
    /// and `ext`; a bewit's covers the same with the bewit parameter taken
    /// out of the query.
    fn check(credentials: Option<&(String, String)>, request: &Request) -> Auth {
        let (path, query) = (request.path(), request.query());
        let header = request.headers.get("authorization");
        let bewit = query.and_then(|q| q.split('&').find_map(|p| p.strip_prefix("bewit=")));
        if header.is_none() && bewit.is_none() {
            return Auth::None;
        }
        let Some((client_id, key)) = credentials else {
            return Auth::Refused("this queue expects no signatures".into());
        };
        let (host, port) = request
            .headers
            .get("host")
            .and_then(|h| h.rsplit_once(':'))
            .unwrap_or_default();
        let signed = Signed {
            method: &request.method,
            host,
            port,
            key,
            client_id,
        };
        match (header, bewit) {
            (Some(_), Some(_)) => Auth::Refused("both a header and a bewit".into()),
            (Some(header), None) => {
                let content_type = request
                    .headers
                    .get("content-type")
                    .map_or("", String::as_str);
                signed.check_header(header, &request.target, content_type, &request.body)
            }
            (None, Some(bewit)) => {
                let rest: Vec<&str> = query
                    .unwrap_or_default()
                    .split('&')
                    .filter(|p| !p.starts_with("bewit="))
                    .collect();
                let resource = if rest.is_empty() {
                    path.to_owned()
                } else {
                    format!("{path}?{}", rest.join("&"))
                };
                signed.check_bewit(bewit, &resource)
            }
            (None, None) => Auth::None,
        }
    }

    /// What a signature is checked against.
    struct Signed<'a> {
        method: &'a str,
        host: &'a str,
        port: &'a str,
        client_id: &'a str,
        key: &'a str,
    }

    impl Signed<'_> {
        /// The MAC of the normalized request string.
        fn mac(
            &self,
            kind: &str,
            ts: &str,
            nonce: &str,
            resource: &str,
            hash: &str,
            ext: &str,
        ) -> String {
            let text = format!(
                "hawk.1.{kind}\n{ts}\n{nonce}\n{}\n{resource}\n{}\n{}\n{hash}\n{ext}\n",
                self.method, self.host, self.port
            );
            STANDARD.encode(hmac_sha256(self.key.as_bytes(), text.as_bytes()))
        }

        fn check_header(
            &self,
            header: &str,
            resource: &str,
            content_type: &str,
            body: &[u8],
        ) -> Auth {
            let Some(attributes) = header.strip_prefix("Hawk ").and_then(attributes) else {
                return Auth::Refused(format!("not a Hawk header: {header}"));
            };
            let get = |name: &str| attributes.get(name).map_or("", String::as_str);
            if get("id") != self.client_id {
                return Auth::Refused(format!("unknown client `{}`", get("id")));
            }
            let ts: u64 = get("ts").parse().unwrap_or(0);
            if now().abs_diff(ts) > 60 {
                return Auth::Refused("stale timestamp".into());
            }
            if !body.is_empty() {
                let content_type = content_type.split(';').next().unwrap_or("").trim();
                let mut payload = format!("hawk.1.payload\n{content_type}\n").into_bytes();
                payload.extend_from_slice(body);
                payload.push(b'\n');
                if get("hash") != STANDARD.encode(Sha256::digest(&payload)) {
                    return Auth::Refused("the payload hash does not match the body".into());
                }
            }
            let expected = self.mac(
                "header",
                get("ts"),
                get("nonce"),
                resource,
                get("hash"),
                get("ext"),
            );
            if get("mac") != expected {
                return Auth::Refused("Bad mac".into());
            }
            Auth::Header(attributes.get("ext").cloned())
        }

        fn check_bewit(&self, bewit: &str, resource: &str) -> Auth {
            let Some(decoded) = URL_SAFE_NO_PAD
                .decode(bewit)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            else {
                return Auth::Refused("a bewit that is not base64".into());
            };
            let parts: Vec<&str> = decoded.splitn(4, '\\').collect();
            let [id, exp, mac, ext] = parts[..] else {
                return Auth::Refused("a bewit without four parts".into());
            };
            if self.method != "GET" {
                return Auth::Refused("a bewit for a method other than GET".into());
            }
            if id != self.client_id {
                return Auth::Refused(format!("unknown client `{id}`"));
            }
            if exp.parse::<u64>().unwrap_or(0) <= now() {
                return Auth::Refused("an expired bewit".into());
            }
            if mac != self.mac("bewit", exp, "", resource, "", ext) {
                return Auth::Refused("Bad mac".into());
            }
            Auth::Bewit(Some(ext.to_owned()).filter(|e| !e.is_empty()))
        }
    }

    /// `key="value", ...` of a Hawk header.
    fn attributes(text: &str) -> Option<BTreeMap<String, String>> {
        let mut found = BTreeMap::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (name, after) = rest.split_once("=\"")?;
            let (value, after) = after.split_once('"')?;
            found.insert(name.trim().to_owned(), value.to_owned());
            rest = after.trim_start_matches([',', ' ']);
        }
        Some(found)
    }

    /// HMAC (RFC 2104) over SHA-256.
    fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut block = [0u8; 64];
        if key.len() > block.len() {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let inner = Sha256::new()
            .chain_update(block.map(|b| b ^ 0x36))
            .chain_update(message)
            .finalize();
        Sha256::new()
            .chain_update(block.map(|b| b ^ 0x5c))
            .chain_update(inner)
            .finalize()
            .into()
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// A source with three quick attempts.
    fn client(root_url: &str, credentials: Option<Credentials>) -> TaskclusterGroups {
        TaskclusterGroups::with_retry(root_url, credentials, 3, Duration::from_millis(1)).unwrap()
    }

    fn temporary_credentials() -> Credentials {
        Credentials::new_with_certificate(CLIENT_ID, ACCESS_TOKEN, CERTIFICATE)
    }

    /// The `ext` the signatures of [`temporary_credentials`] carry.
    fn certificate_ext() -> Option<String> {
        let certificate: Value = serde_json::from_str(CERTIFICATE).unwrap();
        Some(STANDARD.encode(json!({ "certificate": certificate }).to_string()))
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// Five tasks in G1, two in G2.
    fn two_groups() -> Server {
        Server::start(&[
            ("G1", "T1", "build-a", &[]),
            ("G1", "T2", "build-b", &["T1"]),
            ("G1", "T3", "test-a", &["T1", "T2"]),
            ("G1", "T4", "test-b", &["T2"]),
            ("G1", "T5", "Decision", &[]),
            ("G2", "T6", "build-a", &[]),
            ("G2", "T7", "test-a", &["T6", "T3"]),
        ])
    }

    fn labels(tasks: &[GroupTask]) -> Vec<&str> {
        tasks.iter().map(|t| t.label.as_str()).collect()
    }

    #[test]
    fn a_task_group_is_read_across_three_pages() {
        let server = two_groups();
        let tasks = client(&server.url(), None).list_task_group("G1").unwrap();
        assert_eq!(
            labels(&tasks),
            ["build-a", "build-b", "test-a", "test-b", "Decision"]
        );
        assert_eq!(
            tasks[2],
            GroupTask {
                task_id: "T3".into(),
                label: "test-a".into(),
                state: "completed".into(),
                expires: EXPIRES.into(),
                dependencies: strings(&["T1", "T2"]),
                group_id: "G1".into(),
                cache_digest: None,
            }
        );

        // Two a page: 2, 2 and a last page of 1 without a token.
        let seen = server.seen();
        let tokens: Vec<Option<&str>> = seen.iter().map(|s| s.token.as_deref()).collect();
        assert_eq!(tokens, [None, Some("page/2+ ="), Some("page/4+ =")]);
        assert_eq!(
            seen[1].query.as_deref(),
            Some("continuationToken=page%2F2%2B+%3D")
        );
        assert!(seen.iter().all(|s| s.method == "GET"
            && s.path == "/api/queue/v1/task-group/G1/list"
            && s.limit.is_none()
            && s.auth == Auth::None));
    }

    #[test]
    fn a_missing_task_group_is_a_clear_error() {
        let server = two_groups();
        let err = client(&server.url(), None)
            .list_task_group("NOPE")
            .unwrap_err()
            .to_string();
        assert!(err.contains("task group NOPE does not exist"), "{err}");
        assert!(err.contains("queue.listTaskGroup"), "{err}");
        assert!(
            err.contains(&format!("GET {}{LIST_PREFIX}NOPE/list", server.url())),
            "{err}"
        );
        assert!(err.contains("HTTP 404"), "{err}");
        assert!(err.contains("No task-group with taskGroupId"), "{err}");
        assert_eq!(server.seen().len(), 1, "a 404 is not retried");

        // Signed, the same; and the signed URL stays out of the message.
        server.require_signatures();
        let err = client(&server.url(), Some(temporary_credentials()))
            .list_task_group("NOPE")
            .unwrap_err()
            .to_string();
        assert!(err.contains("task group NOPE does not exist"), "{err}");
        assert!(err.contains("HTTP 404"), "{err}");
        assert!(!err.contains("bewit"), "{err}");
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].auth, Auth::Bewit(certificate_ext()));
    }

    #[test]
    fn signed_requests_cover_their_query() {
        let server = two_groups();
        server.require_signatures();
        server.with(|s| s.page_size = 3);
        let groups = client(&server.url(), Some(temporary_credentials())).with_page_limit(2);

        // listTaskGroup: pages of the 2 asked for, each through a bewit
        // whose MAC covers `limit` and `continuationToken`.
        let tasks = groups.list_task_group("G1").unwrap();
        assert_eq!(tasks.len(), 5);
        let seen = server.seen();
        let tokens: Vec<Option<&str>> = seen.iter().map(|s| s.token.as_deref()).collect();
        assert_eq!(tokens, [None, Some("page/2+ ="), Some("page/4+ =")]);
        assert!(seen.iter().all(|s| s.limit.as_deref() == Some("2")));
        assert!(
            seen.iter()
                .all(|s| s.auth == Auth::Bewit(certificate_ext())),
            "{seen:?}"
        );

        // statuses: pages of the server's 3, each with a Hawk header over
        // the continuation token and the body.
        let ids = strings(&["T1", "T2", "T3", "T6", "T7", "GONE"]);
        let found = groups.groups_of(&ids).unwrap();
        assert_eq!(found.len(), 5);
        assert_eq!(found["T3"], "G1");
        assert_eq!(found["T7"], "G2");
        let seen = &server.seen()[3..];
        let tokens: Vec<Option<&str>> = seen.iter().map(|s| s.token.as_deref()).collect();
        assert_eq!(tokens, [None, Some("page/3+ =")]);
        assert!(
            seen.iter().all(|s| s.method == "POST"
                && s.ids == ids
                && s.auth == Auth::Header(certificate_ext())),
            "{seen:?}"
        );

        // Permanent credentials sign with no `ext`.
        let permanent = client(
            &server.url(),
            Some(Credentials::new(CLIENT_ID, ACCESS_TOKEN)),
        )
        .with_page_limit(1);
        assert_eq!(permanent.list_task_group("G2").unwrap().len(), 2);
        assert_eq!(permanent.groups_of(&ids).unwrap().len(), 5);
        let seen = &server.seen()[5..];
        assert_eq!(seen.len(), 3 + 2, "{seen:?}");
        assert!(
            seen.iter()
                .all(|s| matches!(s.auth, Auth::Bewit(None) | Auth::Header(None)))
        );
        assert!(seen.iter().any(|s| s.token.is_some() && s.method == "GET"));
        assert!(seen.iter().any(|s| s.token.is_some() && s.method == "POST"));
    }

    #[test]
    fn a_signature_over_the_path_alone_is_refused() {
        // What the taskcluster crate sends when it signs: the server must
        // catch it, or the tests above would prove nothing.
        let server = two_groups();
        server.require_signatures();
        let queue = Queue::new(
            ClientBuilder::new(format!("{}/", server.url()))
                .credentials(Credentials::new(CLIENT_ID, ACCESS_TOKEN))
                .retry(Retry {
                    retries: 0,
                    ..Retry::default()
                }),
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();

        // Without a query, its header holds...
        let page = runtime
            .block_on(queue.listTaskGroup("G1", None, None))
            .unwrap();
        assert_eq!(page["tasks"].as_array().unwrap().len(), 2);
        assert_eq!(server.seen()[0].auth, Auth::Header(None));

        // ... with one, it does not.
        let err = runtime
            .block_on(queue.listTaskGroup("G1", None, Some("2")))
            .unwrap_err();
        assert_eq!(
            taskcluster::err_status_code(&err),
            Some(StatusCode::UNAUTHORIZED)
        );
        let err = runtime
            .block_on(queue.statuses(&json!({"taskIds": ["T1"]}), Some("page/2+ ="), None))
            .unwrap_err();
        assert_eq!(
            taskcluster::err_status_code(&err),
            Some(StatusCode::UNAUTHORIZED)
        );

        // Nor does a bewit made for the path alone once a query is added.
        let url = queue
            .listTaskGroup_signed_url("G1", None, None, Duration::from_secs(60))
            .unwrap();
        let status = runtime
            .block_on(async {
                reqwest::Client::new()
                    .get(url.replace("?bewit=", "?limit=1&bewit="))
                    .send()
                    .await
            })
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let refused: Vec<Auth> = server.seen()[1..].iter().map(|s| s.auth.clone()).collect();
        assert_eq!(refused, vec![Auth::Refused("Bad mac".into()); 3]);
    }

    #[test]
    fn refusals_say_what_to_fix() {
        let server = two_groups();
        server.require_signatures();

        let err = client(&server.url(), None)
            .list_task_group("G1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("HTTP 403"), "{err}");
        assert!(err.contains("carries no credentials"), "{err}");
        assert!(err.contains("queue:list-task-group:<taskGroupId>"), "{err}");

        let wrong = Credentials::new(CLIENT_ID, "another-token");
        let err = client(&server.url(), Some(wrong))
            .groups_of(&strings(&["T1"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("queue.statuses"), "{err}");
        assert!(err.contains("HTTP 401"), "{err}");
        assert!(err.contains("Bad mac"), "the server's message: {err}");
        assert!(
            err.contains(&format!(
                "did not accept the signature of client `{CLIENT_ID}`"
            )),
            "{err}"
        );
        // Client errors are not retried.
        assert_eq!(server.seen().len(), 2);
    }

    #[test]
    fn groups_of_asks_once_for_many_ids() {
        let server = two_groups();
        server.with(|s| s.page_size = 1000);
        let groups = client(&server.url(), None);
        let ids = strings(&["T1", "T2", "GONE-1", "T5", "T6", "T1", "T7", "GONE-2"]);
        let found = groups.groups_of(&ids).unwrap();
        let expected: BTreeMap<String, String> = [
            ("T1", "G1"),
            ("T2", "G1"),
            ("T5", "G1"),
            ("T6", "G2"),
            ("T7", "G2"),
        ]
        .iter()
        .map(|(t, g)| (t.to_string(), g.to_string()))
        .collect();
        assert_eq!(found, expected, "unknown ids are left out");
        let seen = server.seen();
        assert_eq!(seen.len(), 1, "one request: {seen:?}");
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].path, STATUS_PATH);
        assert_eq!(
            seen[0].ids,
            strings(&["T1", "T2", "GONE-1", "T5", "T6", "T7", "GONE-2"])
        );
        assert_eq!(seen[0].auth, Auth::None);

        assert!(groups.groups_of(&[]).unwrap().is_empty());
        assert_eq!(server.seen().len(), 1, "nothing is asked for nothing");
    }

    #[test]
    fn a_server_error_is_retried() {
        let server = two_groups();
        server.fail(Route::List, Failure::Once(500));
        let tasks = client(&server.url(), None).list_task_group("G2").unwrap();
        assert_eq!(labels(&tasks), ["build-a", "test-a"]);
        let seen = server.seen();
        // 500, then pages of 2 and 0 (the full page carries a token).
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(seen[0].token, None);
        assert_eq!(seen[1].token, None);

        // The signed requests are sent here, not by the crate: the same.
        server.require_signatures();
        server.fail(Route::Status, Failure::Once(500));
        server.fail(Route::List, Failure::Once(503));
        let groups = client(&server.url(), Some(temporary_credentials()));
        let found = groups.groups_of(&strings(&["T6"])).unwrap();
        assert_eq!(found["T6"], "G2");
        let tasks = groups.list_task_group("G2").unwrap();
        assert_eq!(tasks.len(), 2);
        let seen = &server.seen()[3..];
        let methods: Vec<&str> = seen.iter().map(|s| s.method.as_str()).collect();
        assert_eq!(methods, ["POST", "POST", "GET", "GET", "GET"]);
        assert!(
            seen.iter()
                .all(|s| matches!(s.auth, Auth::Header(_) | Auth::Bewit(_))),
            "every attempt is signed: {seen:?}"
        );
    }

    #[test]
    fn a_server_that_keeps_failing_is_an_error_naming_the_endpoint_and_status() {
        let server = two_groups();
        server.fail(Route::Status, Failure::Always(500));
        let err = client(&server.url(), None)
            .groups_of(&strings(&["T1"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("queue.statuses"), "{err}");
        assert!(
            err.contains(&format!("POST {}{STATUS_PATH}", server.url())),
            "{err}"
        );
        assert!(err.contains("HTTP 500"), "{err}");
        assert!(err.contains("after 3 attempts"), "{err}");
        assert_eq!(server.seen().len(), 3);

        server.require_signatures();
        server.fail(Route::List, Failure::Always(503));
        let err = client(&server.url(), Some(temporary_credentials()))
            .list_task_group("G1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("queue.listTaskGroup"), "{err}");
        assert!(
            err.contains(&format!("GET {}{LIST_PREFIX}G1/list", server.url())),
            "{err}"
        );
        assert!(err.contains("HTTP 503"), "{err}");
        assert!(err.contains("after 3 attempts"), "{err}");
        assert!(!err.contains("bewit"), "{err}");
        assert_eq!(server.seen().len(), 6);
    }

    #[test]
    fn no_connection_is_an_error_after_the_attempts() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let groups = client(&format!("http://{addr}"), Some(temporary_credentials()));
        let err = groups.list_task_group("G1").unwrap_err().to_string();
        assert!(err.contains("queue.listTaskGroup"), "{err}");
        assert!(err.contains("no connection after 3 attempts"), "{err}");
        assert!(!err.contains("bewit"), "{err}");
        let err = groups.groups_of(&strings(&["T1"])).unwrap_err().to_string();
        assert!(err.contains("queue.statuses"), "{err}");
        assert!(err.contains("no connection after 3 attempts"), "{err}");
    }

    #[test]
    fn answers_out_of_shape_are_errors() {
        let server = two_groups();
        let groups = client(&server.url(), None);

        server.with(|s| s.repeat_token = true);
        let err = groups.list_task_group("G1").unwrap_err().to_string();
        assert!(
            err.contains("handed out the continuation token `page/0+ =` a second time"),
            "{err}"
        );
        assert_eq!(server.seen().len(), 2);

        server.with(|s| s.drop_group_ids = true);
        let err = groups.groups_of(&strings(&["T1"])).unwrap_err().to_string();
        assert!(err.contains("queue.statuses"), "{err}");
        assert!(err.contains("`status.taskGroupId`"), "{err}");
    }

    #[test]
    fn credentials_come_from_the_environment() {
        fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
            let vars: BTreeMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |name| vars.get(name).cloned()
        }
        assert_eq!(credentials_from(env(&[])).unwrap(), None);
        assert_eq!(
            credentials_from(env(&[
                ("TASKCLUSTER_CLIENT_ID", ""),
                ("TASKCLUSTER_ACCESS_TOKEN", "")
            ]))
            .unwrap(),
            None
        );
        assert_eq!(
            credentials_from(env(&[
                ("TASKCLUSTER_CLIENT_ID", CLIENT_ID),
                ("TASKCLUSTER_ACCESS_TOKEN", ACCESS_TOKEN)
            ]))
            .unwrap(),
            Some(Credentials::new(CLIENT_ID, ACCESS_TOKEN))
        );
        assert_eq!(
            credentials_from(env(&[
                ("TASKCLUSTER_CLIENT_ID", CLIENT_ID),
                ("TASKCLUSTER_ACCESS_TOKEN", ACCESS_TOKEN),
                ("TASKCLUSTER_CERTIFICATE", CERTIFICATE),
            ]))
            .unwrap(),
            Some(temporary_credentials())
        );
        let err = credentials_from(env(&[("TASKCLUSTER_CLIENT_ID", CLIENT_ID)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("TASKCLUSTER_ACCESS_TOKEN is not"), "{err}");
        let err = credentials_from(env(&[("TASKCLUSTER_ACCESS_TOKEN", ACCESS_TOKEN)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("TASKCLUSTER_CLIENT_ID is not"), "{err}");

        let bad = Credentials::new_with_certificate(CLIENT_ID, ACCESS_TOKEN, "{not json");
        let err = TaskclusterGroups::new("https://tc.example.com", Some(bad))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TASKCLUSTER_CERTIFICATE) is not JSON"),
            "{err}"
        );
        let err = TaskclusterGroups::new(" / ", None).unwrap_err().to_string();
        assert!(err.contains("root URL is empty"), "{err}");
    }
}
