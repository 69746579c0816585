//! A loopback HTTP server for tests that need a real socket to talk to.
//!
//! Tests drive real clients (the taskcluster crate, reqwest), so they need
//! a listening port; what each endpoint answers is the test's business,
//! and this module only carries the bytes. It speaks just enough HTTP/1.1
//! for that: one request a connection, a body only by `Content-Length`,
//! and every answer closes the connection, so no keep-alive or chunking is
//! needed.
//!
//! Each connection is served on a thread of its own, so a client that is
//! slow to send, or an answer held back with [`Response::after`], keeps no
//! other request waiting. The handler itself runs under the lock of the
//! test's state, one request at a time: a handler that sleeps still holds
//! the others up, which is why delays belong in the [`Response`].

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The largest body read; a bigger one is refused with 413 rather than
/// allocated.
const MAX_BODY: usize = 32 << 20;

/// How long a connection may take to send its request. Without a limit a
/// client that connects and says nothing would pin a thread for good.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// One request as it came over the wire.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path with its query, still encoded: signatures are made over it
    /// as sent.
    pub target: String,
    /// Header names lowercased, since HTTP compares them without case.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target_parts().0
    }

    /// The query without its `?`, still encoded.
    pub fn query(&self) -> Option<&str> {
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
pub struct Response {
    pub status: u16,
    pub body: String,
    /// Headers besides the type, length and connection ones.
    pub headers: Vec<(String, String)>,
    /// How long the connection waits before it answers (or hangs up). The
    /// wait happens after the handler has returned, outside the state's
    /// lock, so it delays this request only.
    pub delay: Duration,
    /// Closes the connection without a word instead of answering, as a
    /// server that died or a proxy that gave up would.
    pub hang_up: bool,
}

impl Response {
    pub fn new(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            body: body.into(),
            headers: Vec::new(),
            delay: Duration::ZERO,
            hang_up: false,
        }
    }

    /// No answer at all: the connection is closed once the request is read
    /// (or after [`Response::after`]'s delay).
    pub fn hang_up() -> Response {
        Response {
            hang_up: true,
            ..Response::new(0, "")
        }
    }

    /// Adds a header (a redirect's `location`, say).
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Holds the answer (or the hang-up) back for `delay`.
    pub fn after(mut self, delay: Duration) -> Response {
        self.delay = delay;
        self
    }
}

/// How an endpoint of a test server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Answers with this status once, then normally.
    Once(u16),
    /// Always answers with this status.
    Always(u16),
}

/// The status the endpoint under `key` fails with this time, if it was
/// told to fail; a one-off failure is used up here.
pub fn injected_failure<K: Ord>(failures: &mut BTreeMap<K, Failure>, key: &K) -> Option<u16> {
    match failures.get(key).copied()? {
        Failure::Always(status) => Some(status),
        Failure::Once(status) => {
            failures.remove(key);
            Some(status)
        }
    }
}

/// The function that answers each request, given the test's state.
type Handler<S> = dyn Fn(&Request, &mut S) -> Response + Send + Sync;

/// A server on 127.0.0.1, answering each request with a handler over the
/// test's state `S`. The state sits behind a lock shared with the test,
/// which changes it between requests (to make an endpoint fail, say) and
/// reads what the handler recorded.
///
/// Dropping the server stops it and waits for its accepting thread, so no
/// test leaves a listener behind; connections still being served finish
/// on their own.
#[derive(Debug)]
pub struct LoopbackServer<S> {
    addr: SocketAddr,
    state: Arc<Mutex<S>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<S: Send + 'static> LoopbackServer<S> {
    /// Starts a server at a port of the system's choosing.
    ///
    /// # Panics
    ///
    /// When no loopback port can be had, which leaves a test nothing to do.
    pub fn start(
        state: S,
        handler: impl Fn(&Request, &mut S) -> Response + Send + Sync + 'static,
    ) -> LoopbackServer<S> {
        LoopbackServer::bind(0, state, handler)
            .unwrap_or_else(|error| panic!("cannot listen on a loopback port: {error}"))
    }

    /// Starts a server at 127.0.0.1:`port` (0 for any free one).
    pub fn bind(
        port: u16,
        state: S,
        handler: impl Fn(&Request, &mut S) -> Response + Send + Sync + 'static,
    ) -> io::Result<LoopbackServer<S>> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(state));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler<S>> = Arc::new(handler);
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("loopback-{}", addr.port()))
                .spawn(move || accept_until_stopped(&listener, &stop, &state, &handler))?
        };
        Ok(LoopbackServer {
            addr,
            state,
            stop,
            thread: Some(thread),
        })
    }

    /// The root URL to hand to a client: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Reads or changes the state between requests.
    pub fn with_state<T>(&self, access: impl FnOnce(&mut S) -> T) -> T {
        access(&mut lock(&self.state))
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

/// The state, even after a handler panicked while holding it: the panic
/// already fails that request, and the test should still see the rest.
fn lock<S>(state: &Mutex<S>) -> MutexGuard<'_, S> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Hands each connection to a thread of its own until told to stop.
fn accept_until_stopped<S: Send + 'static>(
    listener: &TcpListener,
    stop: &AtomicBool,
    state: &Arc<Mutex<S>>,
    handler: &Arc<Handler<S>>,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let (state, handler) = (state.clone(), handler.clone());
        // Should the system refuse a thread, the connection just closes,
        // which a client sees as a dropped connection.
        let _ = std::thread::Builder::new()
            .name("loopback-connection".into())
            .spawn(move || serve(&stream, &state, &*handler));
    }
}

fn serve<S>(stream: &TcpStream, state: &Mutex<S>, handler: &Handler<S>) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let response = match read_request(stream) {
        // A connection that closes before a whole request is left
        // unanswered, as a real server would.
        Incoming::Closed => return,
        Incoming::TooLarge => Response::new(413, r#"{"code":"InputTooLarge"}"#),
        Incoming::Request(request) => {
            let response = handler(&request, &mut lock(state));
            if !response.delay.is_zero() {
                std::thread::sleep(response.delay);
            }
            if response.hang_up {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            // An answer to HEAD has the headers of the answer to GET, and
            // no body.
            if request.method == "HEAD" {
                write_response(stream, &response, false);
                return;
            }
            response
        }
    };
    write_response(stream, &response, true);
}

enum Incoming {
    Request(Request),
    TooLarge,
    Closed,
}

fn read_request(stream: &TcpStream) -> Incoming {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return Incoming::Closed;
    }
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let headers = read_headers(&mut reader);
    let length = headers
        .get("content-length")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return Incoming::TooLarge;
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return Incoming::Closed;
    }
    Incoming::Request(Request {
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
        ..
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
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::test_client::send;

    #[test]
    fn a_held_back_answer_keeps_no_other_request_waiting() {
        let server = LoopbackServer::start(0_u32, |request: &Request, count: &mut u32| {
            *count += 1;
            if request.path() == "/slow" {
                Response::new(200, "{}").after(Duration::from_secs(2))
            } else {
                Response::new(200, "{}")
            }
        });
        let addr = server.addr();
        let slow = std::thread::spawn(move || send(addr, "GET", "/slow", &[], b""));
        // Let the slow request arrive first.
        while server.with_state(|count| *count) == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }

        let started = Instant::now();
        let quick = send(addr, "GET", "/quick", &[], b"").unwrap();
        assert_eq!(quick.status, 200);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(slow.join().unwrap().unwrap().status, 200);
    }

    #[test]
    fn a_hang_up_closes_without_an_answer() {
        let server = LoopbackServer::start((), |_: &Request, (): &mut ()| Response::hang_up());
        let error = send(server.addr(), "GET", "/", &[], b"").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "{error}");
    }

    #[test]
    fn an_oversized_body_is_refused_unread() {
        let server = LoopbackServer::start((), |_: &Request, (): &mut ()| Response::new(200, ""));
        let length = (MAX_BODY + 1).to_string();
        let answer = send(
            server.addr(),
            "PUT",
            "/",
            &[("content-length", length.as_str())],
            b"",
        )
        .unwrap();
        assert_eq!(answer.status, 413);
    }
}
