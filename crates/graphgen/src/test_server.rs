//! A loopback HTTP server for the unit tests of the online sources
//! (src/lookup.rs, src/groups.rs, src/urls.rs).
//!
//! The tests drive the real taskcluster client, so they need a real socket
//! to talk to; what each endpoint answers is the test's business, and this
//! module only carries the bytes. It speaks just enough HTTP/1.1 for that:
//! one request a connection, a body only by `Content-Length`, and every
//! answer closes the connection, so no keep-alive or chunking is needed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One request as it came over the wire.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// The path with its query, still encoded: signatures are made over it
    /// as sent.
    pub(crate) target: String,
    /// Header names lowercased, since HTTP compares them without case.
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The target without its query.
    pub(crate) fn path(&self) -> &str {
        self.target_parts().0
    }

    /// The query without its `?`, still encoded.
    pub(crate) fn query(&self) -> Option<&str> {
        self.target_parts().1
    }

    fn target_parts(&self) -> (&str, Option<&str>) {
        match self.target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (&self.target, None),
        }
    }
}

/// What the server answers: always labelled JSON, even when the body is
/// not, so that tests can check how the client takes a spoiled answer.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: String,
    /// Headers besides the type, length and connection ones.
    pub(crate) headers: Vec<(String, String)>,
}

impl Response {
    pub(crate) fn new(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header (a redirect's `location`, say).
    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// How an endpoint of a test server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Answers with this status once, then normally.
    Once(u16),
    /// Always answers with this status.
    Always(u16),
}

/// The status the endpoint under `key` fails with this time, if it was
/// told to fail; a one-off failure is used up here.
pub(crate) fn injected_failure<K: Ord>(
    failures: &mut BTreeMap<K, Failure>,
    key: &K,
) -> Option<u16> {
    match failures.get(key).copied()? {
        Failure::Always(status) => Some(status),
        Failure::Once(status) => {
            failures.remove(key);
            Some(status)
        }
    }
}

/// A server on 127.0.0.1 at a port of the system's choosing, answering
/// each request with a handler over the test's state `S`. The state sits
/// behind a lock shared with the test, which changes it between requests
/// (to make an endpoint fail, say) and reads what the handler recorded.
///
/// Dropping the server stops it and waits for its thread, so no test
/// leaves a listener behind.
#[derive(Debug)]
pub(crate) struct LoopbackServer<S> {
    addr: SocketAddr,
    state: Arc<Mutex<S>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<S: Send + 'static> LoopbackServer<S> {
    pub(crate) fn start(
        state: S,
        handler: impl Fn(&Request, &mut S) -> Response + Send + 'static,
    ) -> LoopbackServer<S> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(state));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || accept_until_stopped(&listener, &stop, &state, handler))
        };
        LoopbackServer {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// The root URL to hand to a client: `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Reads or changes the state between requests.
    pub(crate) fn with_state<T>(&self, access: impl FnOnce(&mut S) -> T) -> T {
        access(&mut self.state.lock().unwrap())
    }
}

impl<S> Drop for LoopbackServer<S> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The accept loop only looks at the flag when a connection comes:
        // make one so that it sees it.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves one connection after another, in turn, until told to stop.
fn accept_until_stopped<S>(
    listener: &TcpListener,
    stop: &AtomicBool,
    state: &Mutex<S>,
    handler: impl Fn(&Request, &mut S) -> Response,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        // A connection that closes before a whole request is left
        // unanswered, as a real server would.
        if let Some(request) = read_request(&stream) {
            let response = handler(&request, &mut state.lock().unwrap());
            // An answer to HEAD has the headers of the answer to GET, and
            // no body.
            write_response(&stream, &response, request.method != "HEAD");
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let headers = read_headers(&mut reader);
    let length = headers
        .get("content-length")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

/// The header lines up to the empty one that ends them.
fn read_headers(reader: &mut impl BufRead) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            return headers;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
}

fn write_response(mut stream: &TcpStream, response: &Response, with_body: bool) {
    let Response {
        status,
        body,
        headers,
    } = response;
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n{extra}connection: close\r\n\r\n{}",
        reason_phrase(*status),
        body.len(),
        if with_body { body.as_str() } else { "" }
    );
    let _ = stream.flush();
}

/// Clients go by the status code; the phrase is for whoever reads a trace.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}
