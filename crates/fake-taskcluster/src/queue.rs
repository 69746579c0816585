//! [`FakeTaskcluster`]: a queue and an index on a loopback port, at the
//! paths the `taskcluster` crate calls (`<root>/api/queue/v1/...`,
//! `<root>/api/index/v1/...`).
//!
//! # What it covers
//!
//! | Endpoint | Route |
//! |---|---|
//! | `PUT  /api/queue/v1/task/<taskId>` (createTask) | [`Route::CreateTask`] |
//! | `GET  /api/queue/v1/task/<taskId>` (task) | [`Route::Task`] |
//! | `GET  /api/queue/v1/task/<taskId>/status` (status) | [`Route::TaskStatus`] |
//! | `GET  /api/queue/v1/task-group/<taskGroupId>/list` (listTaskGroup) | [`Route::ListTaskGroup`] |
//! | `GET  /api/queue/v1/task/<taskId>/dependents` (listDependentTasks) | [`Route::ListDependentTasks`] |
//! | `POST /api/queue/v1/tasks/status` (statuses) | [`Route::Statuses`] |
//! | `POST /api/index/v1/tasks/indexes` (findTasksAtIndex) | [`Route::FindTasksAtIndex`] |
//! | `GET  /api/index/v1/task/<indexPath>` (findTask) | [`Route::FindTask`] |
//!
//! Requests pass the stages of a Taskcluster service in its order: the
//! body is parsed (400 `MalformedPayload`), the signature checked (401
//! `AuthenticationFailed`, see [`Auth`]), path parameters and query
//! checked (400 `InvalidRequestArguments`: ids must be slugids, and only
//! `limit` and `continuationToken` are known, besides `bewit`), then the
//! input (createTask's against the queue's own schema, see the `create`
//! module) and last the endpoint's own logic. Listings page as the queue
//! pages: at most 1000 entries (or the configured page size, or `limit`)
//! and a `continuationToken` while more follow.
//!
//! Every request is recorded ([`FakeTaskcluster::requests`]), and faults
//! can be injected per endpoint and task ([`FakeTaskcluster::fail`]).
//!
//! # What it does not
//!
//! No scopes are checked: a valid signature may do anything. Tasks never
//! run, so states change only through [`FakeTaskcluster::set_state`] (and
//! the scheduling of dependents that follows from it). Task groups are
//! never sealed, nothing expires from the queue, and the index has no
//! ranks, data or namespace listings. Nothing but the endpoints above
//! exists; everything else is 404 `ResourceNotFound`.

mod auth;
mod create;
mod endpoints;
mod error;
mod store;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

pub use self::auth::Auth;
use self::auth::Credentials;
pub use self::store::TASK_STATES;
use self::store::{Store, StoredTask};
use crate::loopback::LoopbackServer;

/// An endpoint of the fake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// `PUT /api/queue/v1/task/<taskId>`
    CreateTask,
    /// `GET /api/queue/v1/task/<taskId>`
    Task,
    /// `GET /api/queue/v1/task/<taskId>/status`
    TaskStatus,
    /// `GET /api/queue/v1/task-group/<taskGroupId>/list`
    ListTaskGroup,
    /// `GET /api/queue/v1/task/<taskId>/dependents`
    ListDependentTasks,
    /// `POST /api/queue/v1/tasks/status`
    Statuses,
    /// `POST /api/index/v1/tasks/indexes`
    FindTasksAtIndex,
    /// `GET /api/index/v1/task/<indexPath>`
    FindTask,
}

/// How a request goes wrong, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers this status with a Taskcluster-style error body and does
    /// nothing else.
    Status(u16),
    /// Reads the request, waits this long, then closes the connection
    /// without answering or acting: a request that timed out.
    Stall(Duration),
    /// Closes the connection without answering or acting.
    DropBefore,
    /// Acts on the request (creates the task, say), then closes the
    /// connection without answering: the answer was lost on its way back.
    DropAfter,
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path, still encoded.
    pub path: String,
    /// The query without its `?`, still encoded.
    pub query: Option<String>,
    /// The body, when it was JSON.
    pub body: Option<Value>,
    /// The endpoint, when the path named one.
    pub route: Option<Route>,
    pub auth: Auth,
    /// Whether an `Authorization` header came, valid or not.
    pub has_authorization: bool,
    /// Whether a `bewit` query parameter came, valid or not.
    pub has_bewit: bool,
    /// The fault injected into this request, if any.
    pub fault: Option<Fault>,
    /// The status answered; `None` when the connection was closed instead.
    pub status: Option<u16>,
}

/// A task created through createTask.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedTask {
    pub task_id: String,
    /// The definition as stored: the body with the queue's defaults filled
    /// in and its timestamps normalized.
    pub definition: Value,
}

/// A fault waiting for the requests it matches.
#[derive(Debug, Clone)]
struct Injected {
    route: Route,
    task_id: Option<String>,
    fault: Fault,
    remaining: usize,
}

/// Called with each request once it has been handled.
type Observer = Arc<dyn Fn(&RecordedRequest) + Send + Sync>;

/// Everything behind the server's lock.
struct State {
    credentials: Option<Credentials>,
    page_size: usize,
    max_deadline: TimeDelta,
    anonymous: Vec<Route>,
    store: Store,
    faults: Vec<Injected>,
    requests: Vec<RecordedRequest>,
    created: Vec<CreatedTask>,
    create_calls: BTreeMap<String, usize>,
    observer: Option<Observer>,
}

/// A fake Taskcluster queue and index; see the [module docs](self).
///
/// Dropping it stops the server.
pub struct FakeTaskcluster {
    server: LoopbackServer<State>,
}

impl fmt::Debug for FakeTaskcluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeTaskcluster")
            .field("root_url", &self.root_url())
            .finish_non_exhaustive()
    }
}

/// Settings of a [`FakeTaskcluster`] before it starts.
pub struct FakeTaskclusterBuilder {
    credentials: Option<Credentials>,
    page_size: usize,
    max_deadline: TimeDelta,
    anonymous: Vec<Route>,
    port: u16,
    observer: Option<Observer>,
}

impl fmt::Debug for FakeTaskclusterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeTaskclusterBuilder")
            .field(
                "credentials",
                &self.credentials.as_ref().map(|c| &c.client_id),
            )
            .field("page_size", &self.page_size)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl FakeTaskclusterBuilder {
    /// Requires every request to be signed by this client.
    pub fn credentials(mut self, client_id: &str, access_token: &str) -> Self {
        self.credentials = Some(Credentials {
            client_id: client_id.to_owned(),
            access_token: access_token.to_owned(),
        });
        self
    }

    /// The most entries a page holds (1 to 1000; the queue's is 1000).
    pub fn page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.clamp(1, store::MAX_PAGE);
        self
    }

    /// How many days ahead a deadline may lie (the queue's
    /// `maxTaskDeadlineDays`, 5 unless a deployment sets it).
    pub fn max_deadline_days(mut self, days: u32) -> Self {
        self.max_deadline = TimeDelta::days(i64::from(days));
        self
    }

    /// Serves these routes to unsigned callers too, as a deployment whose
    /// anonymous role grants their scopes does (with credentials set,
    /// other unsigned requests get 403).
    pub fn anonymous(mut self, routes: &[Route]) -> Self {
        self.anonymous = routes.to_vec();
        self
    }

    /// Listens on this port of 127.0.0.1 rather than on a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Calls `observer` with each request once it has been answered (or
    /// dropped), under the fake's lock: keep it short.
    pub fn on_request(
        mut self,
        observer: impl Fn(&RecordedRequest) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Starts the fake.
    pub fn try_start(self) -> io::Result<FakeTaskcluster> {
        let state = State {
            credentials: self.credentials,
            page_size: self.page_size,
            max_deadline: self.max_deadline,
            anonymous: self.anonymous,
            store: Store::default(),
            faults: Vec::new(),
            requests: Vec::new(),
            created: Vec::new(),
            create_calls: BTreeMap::new(),
            observer: self.observer,
        };
        let server = LoopbackServer::bind(self.port, state, endpoints::handle)?;
        Ok(FakeTaskcluster { server })
    }

    /// Starts the fake.
    ///
    /// # Panics
    ///
    /// When the port cannot be had; tests have nothing to do then.
    pub fn start(self) -> FakeTaskcluster {
        self.try_start()
            .unwrap_or_else(|error| panic!("cannot start the fake Taskcluster: {error}"))
    }
}

impl FakeTaskcluster {
    /// A fake on a free port that takes unsigned requests, with the
    /// queue's page size.
    pub fn start() -> FakeTaskcluster {
        FakeTaskcluster::builder().start()
    }

    /// Settings to change before starting: credentials, page size, port,
    /// an observer of requests.
    pub fn builder() -> FakeTaskclusterBuilder {
        FakeTaskclusterBuilder {
            credentials: None,
            page_size: store::MAX_PAGE,
            max_deadline: create::DEFAULT_MAX_DEADLINE,
            anonymous: Vec::new(),
            port: 0,
            observer: None,
        }
    }

    /// The root URL to give a Taskcluster client: `http://127.0.0.1:PORT`.
    pub fn root_url(&self) -> String {
        self.server.url()
    }

    /// From now on, requires every request to be signed by this client.
    pub fn set_credentials(&self, client_id: &str, access_token: &str) {
        let credentials = Credentials {
            client_id: client_id.to_owned(),
            access_token: access_token.to_owned(),
        };
        self.with(|state| state.credentials = Some(credentials));
    }

    /// From now on, takes unsigned requests (and refuses signed ones, as
    /// no client is known).
    pub fn clear_credentials(&self) {
        self.with(|state| state.credentials = None);
    }

    /// From now on, pages hold at most `page_size` entries (1 to 1000).
    pub fn set_page_size(&self, page_size: usize) {
        self.with(|state| state.page_size = page_size.clamp(1, store::MAX_PAGE));
    }

    /// Stores a task as if an earlier decision task had created it, in
    /// `state` (one of [`TASK_STATES`]), skipping every check. The
    /// definition is completed as createTask would (the group defaults to
    /// the task itself, schema defaults apply); missing times default to
    /// now, a day later for `deadline` and a year after that for `expires`.
    ///
    /// # Panics
    ///
    /// When `task_id` is no slugid (the queue's paths refuse such ids), the
    /// definition is no object, or the state is unknown.
    pub fn insert_task(&self, task_id: &str, definition: Value, state: &str) {
        assert!(is_slugid(task_id), "`{task_id}` is no slugid");
        assert_state(state);
        let Value::Object(mut definition) = definition else {
            panic!("the definition of `{task_id}` is no JSON object");
        };
        store::complete(task_id, &mut definition, create::defaults());
        let now = Utc::now();
        for (name, default) in [
            ("created", now),
            ("deadline", now + TimeDelta::days(1)),
            ("expires", store::a_year_after(now + TimeDelta::days(1))),
        ] {
            let time = definition.get(name).and_then(Value::as_str);
            let normal =
                time.map_or_else(|| Some(store::format_time(default)), store::normalize_time);
            if let Some(normal) = normal {
                definition.insert(name.to_owned(), json!(normal));
            }
        }

        let task = StoredTask {
            definition: Value::Object(definition),
            state: state.to_owned(),
        };
        self.with(|s| {
            let scheduler_id = task.definition["schedulerId"].as_str().unwrap_or("-");
            s.store
                .ensure_group(task.group_id(), scheduler_id, task.expires());
            s.store.tasks.insert(task_id.to_owned(), task);
            s.store.schedule_dependents(task_id);
        });
    }

    /// Puts a task in `state` (one of [`TASK_STATES`]); its unscheduled
    /// dependents that nothing holds back any more become pending.
    ///
    /// # Panics
    ///
    /// When there is no such task or no such state.
    pub fn set_state(&self, task_id: &str, state: &str) {
        assert_state(state);
        self.with(|s| {
            let Some(task) = s.store.tasks.get_mut(task_id) else {
                panic!("no task `{task_id}` to put in state `{state}`");
            };
            state.clone_into(&mut task.state);
            s.store.schedule_dependents(task_id);
        });
    }

    /// Indexes `task_id` at `path` until `expires`.
    pub fn index(&self, path: &str, task_id: &str, expires: &str) {
        let entry = store::IndexEntry {
            task_id: task_id.to_owned(),
            expires: store::normalize_time(expires).unwrap_or_else(|| expires.to_owned()),
        };
        self.with(|s| s.store.index.insert(path.to_owned(), entry));
    }

    /// The tasks createTask created, in the order it created them.
    pub fn created(&self) -> Vec<CreatedTask> {
        self.with(|s| s.created.clone())
    }

    /// How many createTask requests for `task_id` arrived, whatever came
    /// of them.
    pub fn create_calls(&self, task_id: &str) -> usize {
        self.with(|s| s.create_calls.get(task_id).copied().unwrap_or(0))
    }

    /// Every request so far, in the order they were handled.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with(|s| s.requests.clone())
    }

    /// The stored definition of a task, seeded or created.
    pub fn task(&self, task_id: &str) -> Option<Value> {
        self.with(|s| s.store.tasks.get(task_id).map(|t| t.definition.clone()))
    }

    /// The state of a task, seeded or created.
    pub fn state(&self, task_id: &str) -> Option<String> {
        self.with(|s| s.store.tasks.get(task_id).map(|t| t.state.clone()))
    }

    /// Injects `fault` into the next `times` requests to `route` (for
    /// `task_id` only, when given). What a request is "for": the id in its
    /// path (the group id for listTaskGroup, the index path for findTask),
    /// or any of the ids (index paths) in a statuses (findTasksAtIndex)
    /// body. Faults are tried in the order they were injected.
    pub fn fail(&self, route: Route, task_id: Option<&str>, fault: Fault, times: usize) {
        let injected = Injected {
            route,
            task_id: task_id.map(str::to_owned),
            fault,
            remaining: times,
        };
        if times > 0 {
            self.with(|s| s.faults.push(injected));
        }
    }

    /// Takes back every fault not used up yet.
    pub fn clear_faults(&self) {
        self.with(|s| s.faults.clear());
    }

    fn with<T>(&self, access: impl FnOnce(&mut State) -> T) -> T {
        self.server.with_state(access)
    }
}

fn assert_state(state: &str) {
    assert!(
        TASK_STATES.contains(&state),
        "`{state}` is no task state (one of {TASK_STATES:?})"
    );
}

/// Whether `id` has the shape the queue requires of task ids: 22
/// URL-safe base64 characters of a v4 UUID.
pub fn is_slugid(id: &str) -> bool {
    let bytes = id.as_bytes();
    let url_safe = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    bytes.len() == 22
        && bytes.iter().all(url_safe)
        && (b'Q'..=b'T').contains(&bytes[8])
        && b"CGKOSWaeimquy26-".contains(&bytes[10])
        && b"AQgw".contains(&bytes[21])
}
