//! The fake against the client graphgen uses, the `taskcluster` crate:
//! it must take what that client sends and refuse what a real queue
//! refuses of it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use fake_taskcluster::{Auth, FakeTaskcluster, Fault, Route};
use serde_json::{Value, json};
use taskcluster::{ClientBuilder, Credentials, Queue, Retry};

const CLIENT_ID: &str = "project/graphgen/tests";
const ACCESS_TOKEN: &str = "not-a-real-access-token";
const CERTIFICATE: &str = r#"{"version":1,"scopes":["queue:create-task:*"],"start":1,"expiry":2,"seed":"a-seed","signature":"a-signature"}"#;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn queue(fake: &FakeTaskcluster, credentials: Credentials) -> Queue {
    // Quick retries, so that a dropped answer is retried within the test.
    let retry = Retry {
        retries: 2,
        max_delay: Duration::from_millis(50),
        delay_factor: Duration::from_millis(10),
        randomization_factor: 0.0,
    };
    let builder = ClientBuilder::new(fake.root_url())
        .credentials(credentials)
        .retry(retry);
    Queue::new(builder).unwrap()
}

fn task(group: &str) -> Value {
    let now = Utc::now();
    json!({
        "taskGroupId": group,
        "provisionerId": "proj-fake",
        "workerType": "linux",
        "schedulerId": "tests",
        "created": now.to_rfc3339(),
        "deadline": (now + TimeDelta::hours(2)).to_rfc3339(),
        "payload": {},
        "metadata": {"name": "build", "description": "", "owner": "nobody@example.com",
                     "source": "https://example.com/"},
    })
}

#[test]
fn create_task_from_the_client_is_signed_and_retried_after_a_lost_answer() {
    let fake = FakeTaskcluster::builder()
        .credentials(CLIENT_ID, ACCESS_TOKEN)
        .start();
    let credentials = Credentials::new_with_certificate(CLIENT_ID, ACCESS_TOKEN, CERTIFICATE);
    let queue = queue(&fake, credentials);
    let (group, task_id) = (slugid::nice(), slugid::nice());
    fake.fail(Route::CreateTask, Some(&task_id), Fault::DropAfter, 1);

    let answer = runtime()
        .block_on(queue.createTask(&task_id, &task(&group)))
        .unwrap();
    assert_eq!(answer["status"]["state"], "pending");
    assert_eq!(fake.create_calls(&task_id), 2);
    assert_eq!(fake.created().len(), 1);

    let requests = fake.requests();
    let certificate: Value = serde_json::from_str(CERTIFICATE).unwrap();
    for request in &requests {
        assert_eq!(
            request.auth,
            Auth::Header {
                client_id: CLIENT_ID.into(),
                certificate: Some(certificate.clone()),
            }
        );
    }
    assert_eq!(requests[0].status, None);
    assert_eq!(requests[1].status, Some(200));
}

#[test]
fn the_clients_signature_over_the_path_alone_fails_where_a_query_is_sent() {
    let fake = FakeTaskcluster::builder()
        .credentials(CLIENT_ID, ACCESS_TOKEN)
        .start();
    let group = slugid::nice();
    fake.insert_task(&slugid::nice(), task(&group), "completed");
    let queue = queue(&fake, Credentials::new(CLIENT_ID, ACCESS_TOKEN));
    let runtime = runtime();

    // Without a query the header holds...
    let listed = runtime.block_on(queue.listTaskGroup(&group, None, None));
    assert_eq!(listed.unwrap()["tasks"].as_array().unwrap().len(), 1);
    // ...with one it does not, as on the real queue.
    let refused = runtime.block_on(queue.listTaskGroup(&group, None, Some("10")));
    let refused = refused.unwrap_err();
    assert_eq!(
        taskcluster::err_status_code(&refused).map(|s| s.as_u16()),
        Some(401)
    );

    // The signed-URL form covers the query.
    let url = queue
        .listTaskGroup_signed_url(&group, None, Some("10"), Duration::from_secs(60))
        .unwrap();
    let (status, body) = get_url(&url);
    assert_eq!(status, 200, "{body}");
    assert!(matches!(fake.requests()[2].auth, Auth::Bewit { .. }));
}

/// Fetches `http://127.0.0.1:PORT/...` over a plain socket.
fn get_url(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, target) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(host).unwrap();
    write!(stream, "GET {target} HTTP/1.1\r\nhost: {host}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}
