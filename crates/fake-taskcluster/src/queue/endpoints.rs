//! Routing and answering: what each endpoint does with a request, once
//! the fake has decided no fault stands in its way.

use chrono::Utc;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::auth::{self, Auth};
use super::create::{self, Created};
use super::error::ApiError;
use super::store::{self, PageQuery, Store, StoredTask};
use super::{CreatedTask, Fault, Injected, RecordedRequest, Route, State, is_slugid};
use crate::loopback::{Request, Response};

/// The answer to one request, and its record.
pub(super) fn handle(request: &Request, state: &mut State) -> Response {
    let target = Target::parse(request);
    let auth = auth::check(state.credentials.as_ref(), request);
    let body = parse_body(request);
    let json = body.as_ref().and_then(|b| b.as_ref().ok()).cloned();
    let subjects = subjects(&target, json.as_ref());
    if target.route == Some(Route::CreateTask) {
        *state.create_calls.entry(target.param.clone()).or_default() += 1;
    }
    let fault = target
        .route
        .and_then(|route| take_fault(&mut state.faults, route, &subjects));

    let response = match fault {
        Some(Fault::Status(status)) => {
            ApiError::with_status(status, format!("the fake was told to answer {status}"))
                .response()
        }
        Some(Fault::Stall(delay)) => Response::hang_up().after(delay),
        Some(Fault::DropBefore) => Response::hang_up(),
        Some(Fault::DropAfter) => {
            let _ = answer(state, &target, &auth, body);
            Response::hang_up()
        }
        None => answer(state, &target, &auth, body).unwrap_or_else(|error| error.response()),
    };

    let record = RecordedRequest {
        method: request.method.clone(),
        path: request.path().to_owned(),
        query: request.query().map(str::to_owned),
        body: json,
        route: target.route,
        has_authorization: request.headers.contains_key("authorization"),
        has_bewit: auth::has_bewit(request),
        auth,
        fault,
        status: (!response.hang_up).then_some(response.status),
    };
    if let Some(observer) = &state.observer {
        observer(&record);
    }
    state.requests.push(record);
    response
}

/// The first waiting fault that matches, used up by one.
fn take_fault(faults: &mut Vec<Injected>, route: Route, subjects: &[String]) -> Option<Fault> {
    let index = faults.iter().position(|f| {
        f.route == route
            && f.remaining > 0
            && f.task_id.as_ref().is_none_or(|id| subjects.contains(id))
    })?;
    let injected = &mut faults[index];
    injected.remaining -= 1;
    let fault = injected.fault;
    if injected.remaining == 0 {
        faults.remove(index);
    }
    Some(fault)
}

/// A request's route and what its path and query say.
#[derive(Debug)]
struct Target {
    route: Option<Route>,
    /// The path parameter (task id, group id or index path), decoded.
    param: String,
    /// The query's parameters, decoded.
    query: Vec<(String, String)>,
}

impl Target {
    fn parse(request: &Request) -> Target {
        let query = request
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let (route, param) = match route_of(&request.method, request.path()) {
            Some((route, param)) => (Some(route), param),
            None => (None, String::new()),
        };
        Target {
            route,
            param,
            query,
        }
    }

    fn page_query(&self) -> PageQuery {
        let get = |name: &str| {
            self.query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        PageQuery {
            limit: get("limit"),
            continuation_token: get("continuationToken"),
        }
    }
}

/// The endpoint `method` and `path` name, and its path parameter.
fn route_of(method: &str, path: &str) -> Option<(Route, String)> {
    let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
    if let Some(rest) = path.strip_prefix("/api/queue/v1/") {
        let parts: Vec<&str> = rest.split('/').collect();
        let (route, param) = match (method, parts.as_slice()) {
            ("PUT", ["task", id]) => (Route::CreateTask, *id),
            ("GET", ["task", id]) => (Route::Task, *id),
            ("GET", ["task", id, "status"]) => (Route::TaskStatus, *id),
            ("GET", ["task", id, "dependents"]) => (Route::ListDependentTasks, *id),
            ("GET", ["task-group", id, "list"]) => (Route::ListTaskGroup, *id),
            ("POST", ["tasks", "status"]) => (Route::Statuses, ""),
            _ => return None,
        };
        return Some((route, decode(param)));
    }
    if let Some(rest) = path.strip_prefix("/api/index/v1/") {
        return match (method, rest) {
            ("POST", "tasks/indexes") => Some((Route::FindTasksAtIndex, String::new())),
            ("GET", _) => rest
                .strip_prefix("task/")
                .filter(|p| !p.is_empty())
                .map(|p| (Route::FindTask, decode(p))),
            _ => None,
        };
    }
    None
}

/// The body as JSON, for requests that have one; `None` for those that
/// do not.
fn parse_body(request: &Request) -> Option<Result<Value, ApiError>> {
    if request.method != "PUT" && request.method != "POST" {
        return None;
    }
    let content_type = request
        .headers
        .get("content-type")
        .map_or("", String::as_str);
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Some(Err(ApiError::new(
            "MalformedPayload",
            format!(
                "the payload must be JSON with content-type application/json, not `{content_type}`"
            ),
        )));
    }
    Some(serde_json::from_slice(&request.body).map_err(|error| {
        ApiError::new(
            "MalformedPayload",
            format!("the payload is not JSON: {error}"),
        )
    }))
}

/// The ids a request is for, which a fault's task id is matched against.
fn subjects(target: &Target, body: Option<&Value>) -> Vec<String> {
    let listed = |key: &str| -> Vec<String> {
        let items = body.and_then(|b| b.get(key)).and_then(Value::as_array);
        items
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    match target.route {
        Some(Route::Statuses) => listed("taskIds"),
        Some(Route::FindTasksAtIndex) => listed("indexes"),
        Some(_) => vec![target.param.clone()],
        None => Vec::new(),
    }
}

/// What the endpoint answers, when no fault stands in the way.
fn answer(
    state: &mut State,
    target: &Target,
    auth: &Auth,
    body: Option<Result<Value, ApiError>>,
) -> Result<Response, ApiError> {
    let Some(route) = target.route else {
        return Err(ApiError::new("ResourceNotFound", "no such endpoint"));
    };
    let body = body.transpose()?;
    match auth {
        Auth::Refused(why) => return Err(ApiError::new("AuthenticationFailed", why.clone())),
        // An unsigned caller has the deployment's anonymous scopes: enough
        // for the routes it was told to serve anonymously, too few for the
        // rest (the real services answer 403 then, not 401).
        Auth::None if state.credentials.is_some() && !state.anonymous.contains(&route) => {
            return Err(ApiError::new(
                "InsufficientScopes",
                "this fake wants this request signed (Hawk header or bewit): anonymous \
                 callers may not call it",
            ));
        }
        _ => {}
    }
    check_arguments(route, target)?;
    respond(state, route, target, &body.unwrap_or(Value::Null))
}

/// The endpoint's own answer, once the request passed every check.
fn respond(
    state: &mut State,
    route: Route,
    target: &Target,
    body: &Value,
) -> Result<Response, ApiError> {
    let id = target.param.as_str();
    let now = Utc::now();
    let store = &state.store;
    let page = |answer: Value, key: &str, entries: Vec<Value>| {
        paged(answer, key, entries, target, state.page_size)
    };
    let answer = match route {
        Route::CreateTask => return create(state, id, body),
        Route::Task => found(store, id)?.definition.clone(),
        Route::TaskStatus => json!({"status": store::status(id, found(store, id)?)}),
        Route::ListTaskGroup => list_task_group(state, target, id)?,
        Route::ListDependentTasks => {
            found(store, id)?;
            let dependents = store.dependents(id).into_iter();
            let entries = dependents.map(|(id, task)| store::listed(id, task));
            page(json!({"taskId": id}), "tasks", entries.collect())?
        }
        Route::Statuses => {
            let ids = strings_of(body, "taskIds")?;
            let entries = ids.iter().filter_map(|id| {
                let task = store.tasks.get(id)?;
                Some(json!({"taskId": id, "status": store::status(id, task)}))
            });
            page(json!({}), "statuses", entries.collect())?
        }
        Route::FindTasksAtIndex => {
            let paths = strings_of(body, "indexes")?;
            let entries = paths.iter().filter_map(|path| store.indexed(path, now));
            page(json!({}), "tasks", entries.collect())?
        }
        Route::FindTask => store.indexed(id, now).ok_or_else(|| {
            ApiError::new("ResourceNotFound", format!("no task is indexed at `{id}`"))
        })?,
    };
    Ok(Response::new(200, answer.to_string()))
}

fn create(state: &mut State, task_id: &str, body: &Value) -> Result<Response, ApiError> {
    let status = match create::create_task(
        &mut state.store,
        task_id,
        body,
        Utc::now(),
        state.max_deadline,
    )? {
        Created::New(status) => {
            if let Some(task) = state.store.tasks.get(task_id) {
                state.created.push(CreatedTask {
                    task_id: task_id.to_owned(),
                    definition: task.definition.clone(),
                });
            }
            status
        }
        Created::Again(status) => status,
    };
    Ok(Response::new(200, json!({ "status": status }).to_string()))
}

fn list_task_group(state: &State, target: &Target, group_id: &str) -> Result<Value, ApiError> {
    let Some(group) = state.store.groups.get(group_id) else {
        return Err(ApiError::new(
            "ResourceNotFound",
            format!("no task group `{group_id}` exists"),
        ));
    };
    let members = state.store.members(group_id);
    let entries = members
        .into_iter()
        .map(|(id, task)| store::listed(id, task))
        .collect();
    let answer = json!({
        "taskGroupId": group_id,
        "schedulerId": group.scheduler_id,
        "expires": group.expires,
    });
    paged(answer, "tasks", entries, target, state.page_size)
}

fn found<'a>(store: &'a Store, task_id: &str) -> Result<&'a StoredTask, ApiError> {
    store
        .tasks
        .get(task_id)
        .ok_or_else(|| ApiError::new("ResourceNotFound", format!("no task `{task_id}` exists")))
}

/// `answer` with the page of `entries` the query asks for under `key`,
/// and the token of the next page when more follow.
fn paged(
    mut answer: Value,
    key: &str,
    entries: Vec<Value>,
    target: &Target,
    page_size: usize,
) -> Result<Value, ApiError> {
    let (page, next) = store::page(entries, &target.page_query(), page_size)?;
    answer[key] = Value::Array(page);
    if let Some(token) = next {
        answer["continuationToken"] = json!(token);
    }
    Ok(answer)
}

/// Path parameters and query as Taskcluster's services check them.
fn check_arguments(route: Route, target: &Target) -> Result<(), ApiError> {
    let has_id = !matches!(
        route,
        Route::Statuses | Route::FindTasksAtIndex | Route::FindTask
    );
    if has_id && !is_slugid(&target.param) {
        return Err(ApiError::new(
            "InvalidRequestArguments",
            format!("`{}` in the path is no slugid", target.param),
        ));
    }
    let pages = matches!(
        route,
        Route::ListTaskGroup
            | Route::ListDependentTasks
            | Route::Statuses
            | Route::FindTasksAtIndex
    );
    let known =
        |key: &str| key == "bewit" || (pages && (key == "limit" || key == "continuationToken"));
    match target.query.iter().find(|(key, _)| !known(key)) {
        Some((key, _)) => Err(ApiError::new(
            "InvalidRequestArguments",
            format!("query-string parameter `{key}` is not supported"),
        )),
        None => Ok(()),
    }
}

/// The strings of a statuses or findTasksAtIndex body under `key`, which
/// is the only key such a body may have.
fn strings_of(body: &Value, key: &str) -> Result<Vec<String>, ApiError> {
    let invalid = || {
        ApiError::new(
            "InputValidationError",
            format!("the body must be an object whose only key, `{key}`, holds strings"),
        )
    };
    let object = body.as_object().ok_or_else(invalid)?;
    if object.keys().any(|k| k != key) {
        return Err(invalid());
    }
    let Some(items) = object.get(key) else {
        return Ok(Vec::new());
    };
    let items = items.as_array().ok_or_else(invalid)?;
    items
        .iter()
        .map(|item| item.as_str().map(str::to_owned).ok_or_else(invalid))
        .collect()
}
