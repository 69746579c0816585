//! The fake as a client meets it: over a socket, through the paths the
//! `taskcluster` crate builds.

use std::io;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::*;
use crate::test_client::{Answer, send};

const CLIENT_ID: &str = "project/graphgen/tests";
const ACCESS_TOKEN: &str = "not-a-real-access-token";

/// A createTask body the queue takes: created at `now`, due a day later.
pub(super) fn task_body(now: DateTime<Utc>, group: &str, dependencies: &[&str]) -> Value {
    json!({
        "taskGroupId": group,
        "taskQueueId": "proj-fake/linux",
        "schedulerId": "tests",
        "dependencies": dependencies,
        "created": store::format_time(now),
        "deadline": store::format_time(now + TimeDelta::days(1)),
        "payload": {"command": ["true"]},
        "metadata": {
            "name": "build",
            "description": "builds",
            "owner": "nobody@example.com",
            "source": "https://example.com/taskcluster",
        },
    })
}

fn slug() -> String {
    slugid::nice()
}

fn addr(fake: &FakeTaskcluster) -> std::net::SocketAddr {
    fake.server.addr()
}

fn get(fake: &FakeTaskcluster, target: &str) -> io::Result<Answer> {
    send(addr(fake), "GET", target, &[], b"")
}

fn put_task(fake: &FakeTaskcluster, task_id: &str, body: &Value) -> io::Result<Answer> {
    let body = body.to_string();
    let target = format!("/api/queue/v1/task/{task_id}");
    let headers = [("content-type", "application/json")];
    send(addr(fake), "PUT", &target, &headers, body.as_bytes())
}

fn post(fake: &FakeTaskcluster, target: &str, body: &Value) -> io::Result<Answer> {
    let body = body.to_string();
    let headers = [("content-type", "application/json")];
    send(addr(fake), "POST", target, &headers, body.as_bytes())
}

fn hawk_credentials(token: &str) -> hawk::Credentials {
    hawk::Credentials {
        id: CLIENT_ID.into(),
        key: hawk::Key::new(token, hawk::SHA256).unwrap(),
    }
}

/// A GET with a Hawk header made over `signed` (the target, or not).
fn signed_get(fake: &FakeTaskcluster, target: &str, signed: &str, token: &str) -> Answer {
    let port = addr(fake).port();
    let header = hawk::RequestBuilder::new("GET", "127.0.0.1", port, signed)
        .request()
        .make_header(&hawk_credentials(token))
        .unwrap();
    let authorization = format!("Hawk {header}");
    send(
        addr(fake),
        "GET",
        target,
        &[("authorization", &authorization)],
        b"",
    )
    .unwrap()
}

fn signed_fake() -> FakeTaskcluster {
    FakeTaskcluster::builder()
        .credentials(CLIENT_ID, ACCESS_TOKEN)
        .start()
}

/// A fake holding one group of `n` completed tasks, their ids in order.
fn group_of(fake: &FakeTaskcluster, n: usize) -> (String, Vec<String>) {
    let group = slug();
    let mut ids: Vec<String> = (0..n).map(|_| slug()).collect();
    for id in &ids {
        fake.insert_task(id, task_body(Utc::now(), &group, &[]), "completed");
    }
    ids.sort();
    (group, ids)
}

#[test]
fn a_created_task_can_be_read_back() {
    let fake = FakeTaskcluster::start();
    let (group, task_id) = (slug(), slug());
    let answer = put_task(&fake, &task_id, &task_body(Utc::now(), &group, &[])).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"]["state"], "pending");
    assert_eq!(answer.json()["status"]["taskGroupId"], json!(group));

    let definition = get(&fake, &format!("/api/queue/v1/task/{task_id}")).unwrap();
    assert_eq!(definition.json()["metadata"]["name"], "build");
    let status = get(&fake, &format!("/api/queue/v1/task/{task_id}/status")).unwrap();
    assert_eq!(status.json()["status"]["taskId"], json!(task_id));

    let created = fake.created();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].task_id, task_id);
    assert_eq!(created[0].definition, definition.json());
}

#[test]
fn a_bad_body_is_refused_over_the_wire() {
    let fake = FakeTaskcluster::start();
    let mut body = task_body(Utc::now(), &slug(), &[]);
    body["metadata"].as_object_mut().unwrap().remove("owner");
    let answer = put_task(&fake, &slug(), &body).unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["code"], "InputValidationError");
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("/metadata") && message.contains("owner"),
        "{message}"
    );
    assert!(fake.created().is_empty());
}

#[test]
fn re_creating_the_same_task_answers_200_and_creates_nothing() {
    let fake = FakeTaskcluster::start();
    let (group, task_id) = (slug(), slug());
    let body = task_body(Utc::now(), &group, &[]);
    let first = put_task(&fake, &task_id, &body).unwrap();
    let again = put_task(&fake, &task_id, &body).unwrap();
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json(), first.json());
    assert_eq!(fake.created().len(), 1);
    assert_eq!(fake.create_calls(&task_id), 2);

    let mut other = body.clone();
    other["metadata"]["name"] = json!("another");
    let conflict = put_task(&fake, &task_id, &other).unwrap();
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.json()["code"], "RequestConflict");
}

#[test]
fn dependents_wait_until_their_dependency_completes() {
    let fake = FakeTaskcluster::start();
    let (group, first, second) = (slug(), slug(), slug());
    put_task(&fake, &first, &task_body(Utc::now(), &group, &[])).unwrap();
    let answer = put_task(&fake, &second, &task_body(Utc::now(), &group, &[&first])).unwrap();
    assert_eq!(answer.json()["status"]["state"], "unscheduled");

    let dependents = get(&fake, &format!("/api/queue/v1/task/{first}/dependents")).unwrap();
    assert_eq!(
        dependents.json()["tasks"][0]["status"]["taskId"],
        json!(second)
    );

    fake.set_state(&first, "completed");
    assert_eq!(fake.state(&second).as_deref(), Some("pending"));
}

#[test]
fn a_missing_dependency_is_refused_over_the_wire() {
    let fake = FakeTaskcluster::start();
    let missing = slug();
    let body = task_body(Utc::now(), &slug(), &[&missing]);
    let answer = put_task(&fake, &slug(), &body).unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["code"], "InputError");
    assert!(answer.body.contains(&missing), "{}", answer.body);
}

#[test]
fn a_seeded_group_keeps_its_scheduler_id() {
    let fake = FakeTaskcluster::start();
    let group = slug();
    let mut seeded = task_body(Utc::now(), &group, &[]);
    seeded["schedulerId"] = json!("gecko-level-3");
    fake.insert_task(&slug(), seeded, "completed");

    let answer = put_task(&fake, &slug(), &task_body(Utc::now(), &group, &[])).unwrap();
    assert_eq!(answer.status, 409);
    assert_eq!(answer.json()["code"], "RequestConflict");
}

#[test]
fn list_task_group_pages_by_continuation_token() {
    let fake = FakeTaskcluster::builder().page_size(2).start();
    let (group, ids) = group_of(&fake, 5);

    let mut seen = Vec::new();
    let mut target = format!("/api/queue/v1/task-group/{group}/list");
    loop {
        let page = get(&fake, &target).unwrap().json();
        assert_eq!(page["taskGroupId"], json!(group));
        assert_eq!(page["schedulerId"], "tests");
        let tasks = page["tasks"].as_array().unwrap();
        assert!(tasks.len() <= 2);
        seen.extend(
            tasks
                .iter()
                .map(|t| t["status"]["taskId"].as_str().unwrap().to_owned()),
        );
        let Some(token) = page["continuationToken"].as_str() else {
            break;
        };
        let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        target = format!("/api/queue/v1/task-group/{group}/list?continuationToken={token}");
    }
    assert_eq!(seen, ids);

    let limited = get(
        &fake,
        &format!("/api/queue/v1/task-group/{group}/list?limit=1"),
    )
    .unwrap();
    assert_eq!(limited.json()["tasks"].as_array().unwrap().len(), 1);

    let unknown = get(&fake, &format!("/api/queue/v1/task-group/{}/list", slug())).unwrap();
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["code"], "ResourceNotFound");
}

#[test]
fn statuses_and_index_lookups_leave_out_the_unknown() {
    let fake = FakeTaskcluster::builder().page_size(1).start();
    let (_, ids) = group_of(&fake, 2);
    fake.index("project.cache.a", &ids[0], "2999-01-01T00:00:00Z");
    fake.index("project.cache.gone", &ids[1], "2001-01-01T00:00:00Z");

    let body = json!({"taskIds": [ids[0], slug(), ids[1]]});
    let first = post(&fake, "/api/queue/v1/tasks/status", &body)
        .unwrap()
        .json();
    assert_eq!(fake.requests()[0].body, Some(body));
    assert_eq!(first["statuses"][0]["taskId"], json!(ids[0]));
    assert!(first["continuationToken"].is_string());

    let indexes = json!({"indexes": ["project.cache.a", "project.cache.gone", "project.none"]});
    let found = post(&fake, "/api/index/v1/tasks/indexes", &indexes)
        .unwrap()
        .json();
    assert_eq!(found["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(found["tasks"][0]["namespace"], "project.cache.a");
    assert_eq!(found["tasks"][0]["rank"], 0);
    assert!(found.get("continuationToken").is_none());

    let task = get(&fake, "/api/index/v1/task/project.cache.a").unwrap();
    assert_eq!(task.json()["taskId"], json!(ids[0]));
    assert_eq!(
        get(&fake, "/api/index/v1/task/project.cache.gone")
            .unwrap()
            .status,
        404
    );
}

#[test]
fn bad_requests_are_answered_not_panicked_over() {
    let fake = FakeTaskcluster::start();
    let headers = [("content-type", "application/json")];
    let id = slug();
    let cases: [(&str, String, &[u8], u16); 6] = [
        ("PUT", format!("/api/queue/v1/task/{id}"), b"{not json", 400),
        (
            "PUT",
            "/api/queue/v1/task/not-a-slug".to_owned(),
            b"{}",
            400,
        ),
        (
            "GET",
            format!("/api/queue/v1/task/{id}?colour=blue"),
            b"",
            400,
        ),
        ("GET", format!("/api/queue/v1/task/{id}"), b"", 404),
        (
            "POST",
            "/api/queue/v1/tasks/status".to_owned(),
            b"[1, 2]",
            400,
        ),
        ("GET", "/no/such/%ff/path".to_owned(), b"", 404),
    ];
    for (method, target, body, status) in cases {
        let answer = send(addr(&fake), method, &target, &headers, body).unwrap();
        assert_eq!(answer.status, status, "{method} {target}: {}", answer.body);
        assert!(answer.json()["code"].is_string(), "{}", answer.body);
    }
    let garbage = send(addr(&fake), "\u{1}\u{2}", "", &[], b"").unwrap();
    assert_eq!(garbage.status, 404);
}

#[test]
fn signed_requests_are_checked_over_path_and_query() {
    let fake = signed_fake();
    let (group, _) = group_of(&fake, 3);
    let path = format!("/api/queue/v1/task-group/{group}/list");
    let target = format!("{path}?limit=2");

    let good = signed_get(&fake, &target, &target, ACCESS_TOKEN);
    assert_eq!(good.status, 200, "{}", good.body);
    let wrong_key = signed_get(&fake, &target, &target, "another-token");
    assert_eq!(wrong_key.status, 401);
    assert_eq!(wrong_key.json()["code"], "AuthenticationFailed");
    let path_only = signed_get(&fake, &target, &path, ACCESS_TOKEN);
    assert_eq!(path_only.status, 401, "{}", path_only.body);
    // Without a signature the caller has only the anonymous scopes, and
    // this fake grants anonymous callers nothing unless told to.
    let unsigned = get(&fake, &target).unwrap();
    assert_eq!(unsigned.status, 403);
    assert_eq!(unsigned.json()["code"], "InsufficientScopes");

    let requests = fake.requests();
    assert!(
        matches!(requests[0].auth, Auth::Header { .. }),
        "{:?}",
        requests[0]
    );
    assert!(
        matches!(requests[1].auth, Auth::Refused(_)),
        "{:?}",
        requests[1]
    );
    assert!(requests[2].has_authorization && matches!(requests[2].auth, Auth::Refused(_)));
    assert_eq!(requests[3].auth, Auth::None);
    assert!(!requests[3].has_authorization && !requests[3].has_bewit);
    assert_eq!(requests[0].query.as_deref(), Some("limit=2"));
    assert_eq!(requests[0].route, Some(Route::ListTaskGroup));
}

#[test]
fn a_bewit_signs_a_get_by_url() {
    let fake = signed_fake();
    let (group, _) = group_of(&fake, 1);
    let target = format!("/api/queue/v1/task-group/{group}/list?limit=5");
    let port = addr(&fake).port();
    let bewit = hawk::RequestBuilder::new("GET", "127.0.0.1", port, &target)
        .request()
        .make_bewit_with_ttl(&hawk_credentials(ACCESS_TOKEN), Duration::from_secs(60))
        .unwrap()
        .to_str();
    let answer = get(&fake, &format!("{target}&bewit={bewit}")).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let request = &fake.requests()[0];
    assert!(request.has_bewit && !request.has_authorization);
    assert!(matches!(&request.auth, Auth::Bewit { client_id, .. } if client_id == CLIENT_ID));
}

#[test]
fn a_status_fault_answers_and_does_nothing() {
    let fake = FakeTaskcluster::start();
    let (group, task_id) = (slug(), slug());
    fake.fail(Route::CreateTask, None, Fault::Status(503), 1);
    let body = task_body(Utc::now(), &group, &[]);
    let answer = put_task(&fake, &task_id, &body).unwrap();
    assert_eq!(answer.status, 503);
    assert!(answer.json()["code"].is_string());
    assert!(fake.created().is_empty());

    // Used up: the next request goes through.
    assert_eq!(put_task(&fake, &task_id, &body).unwrap().status, 200);
    assert_eq!(fake.create_calls(&task_id), 2);
    let faults: Vec<_> = fake.requests().iter().map(|r| r.fault).collect();
    assert_eq!(faults, [Some(Fault::Status(503)), None]);
}

#[test]
fn a_stall_holds_the_connection_then_drops_it() {
    let fake = FakeTaskcluster::start();
    let task_id = slug();
    fake.fail(
        Route::CreateTask,
        None,
        Fault::Stall(Duration::from_millis(300)),
        1,
    );
    let started = Instant::now();
    let error = put_task(&fake, &task_id, &task_body(Utc::now(), &slug(), &[])).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(fake.created().is_empty());
    assert_eq!(fake.requests()[0].status, None);
}

#[test]
fn drop_before_acts_not_and_drop_after_acts() {
    let fake = FakeTaskcluster::start();
    let (group, task_id) = (slug(), slug());
    let body = task_body(Utc::now(), &group, &[]);

    fake.fail(Route::CreateTask, Some(&task_id), Fault::DropBefore, 1);
    let error = put_task(&fake, &task_id, &body).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert!(fake.created().is_empty());

    fake.fail(Route::CreateTask, Some(&task_id), Fault::DropAfter, 1);
    let error = put_task(&fake, &task_id, &body).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(fake.created().len(), 1);

    // The retry a client makes finds the task there already.
    let retry = put_task(&fake, &task_id, &body).unwrap();
    assert_eq!(retry.status, 200);
    assert_eq!(fake.created().len(), 1);
    assert_eq!(fake.create_calls(&task_id), 3);
}

#[test]
fn faults_apply_only_to_their_task_and_count_down() {
    let fake = FakeTaskcluster::start();
    let (_, ids) = group_of(&fake, 2);
    fake.fail(Route::TaskStatus, Some(&ids[1]), Fault::Status(500), 2);

    let status = |id: &str| {
        get(&fake, &format!("/api/queue/v1/task/{id}/status"))
            .unwrap()
            .status
    };
    assert_eq!(status(&ids[0]), 200);
    assert_eq!(status(&ids[1]), 500);
    assert_eq!(status(&ids[1]), 500);
    assert_eq!(status(&ids[1]), 200);

    // A statuses request is for every id in its body.
    fake.fail(Route::Statuses, Some(&ids[1]), Fault::Status(502), 1);
    let only_first = json!({"taskIds": [ids[0]]});
    assert_eq!(
        post(&fake, "/api/queue/v1/tasks/status", &only_first)
            .unwrap()
            .status,
        200
    );
    let both = json!({"taskIds": [ids[0], ids[1]]});
    assert_eq!(
        post(&fake, "/api/queue/v1/tasks/status", &both)
            .unwrap()
            .status,
        502
    );
}

#[test]
fn anonymous_routes_serve_unsigned_callers_and_only_those() {
    let fake = FakeTaskcluster::builder()
        .credentials(CLIENT_ID, ACCESS_TOKEN)
        .anonymous(&[Route::Statuses])
        .start();
    let statuses = post(&fake, "/api/queue/v1/tasks/status", &json!({"taskIds": []})).unwrap();
    assert_eq!(statuses.status, 200, "{}", statuses.body);

    let create = put_task(&fake, &slug(), &task_body(Utc::now(), &slug(), &[])).unwrap();
    assert_eq!(create.status, 403, "{}", create.body);
    assert_eq!(create.json()["code"], "InsufficientScopes");
    assert!(fake.created().is_empty());
}

#[test]
fn the_deadline_limit_is_the_deployments_to_set() {
    let now = Utc::now();
    let mut body = task_body(now, &slug(), &[]);
    body["deadline"] = json!(store::format_time(now + TimeDelta::days(14)));

    let strict = FakeTaskcluster::start();
    let refused = put_task(&strict, &slug(), &body).unwrap();
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("more than 5 days"),
        "{}",
        refused.body
    );

    let lenient = FakeTaskcluster::builder().max_deadline_days(20).start();
    let taken = put_task(&lenient, &slug(), &body).unwrap();
    assert_eq!(taken.status, 200, "{}", taken.body);
}
