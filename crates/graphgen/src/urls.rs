//! The URL check of training continuation, over HTTP.
//!
//! The translations transforms ask whether a pretrained model's URL exists
//! before they plan to download it. This asks with a `HEAD` request,
//! following redirects, and counts any status below 400 as "it exists", as
//! the Python pipeline's `requests.head(url, allow_redirects=True).ok`
//! does. Unlike it, a request that cannot be answered (no connection, no
//! answer within the timeout) is an error naming the URL, not a hang or a
//! crash. Answers are remembered for the run: many tasks name the same
//! model.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use taskgraph::{Error, ErrorKind, Result};
use translations::urls::UrlChecker;

/// How long one check may take, redirects included, unless
/// `GRAPHGEN_URL_TIMEOUT` says otherwise.
pub const URL_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment variable that sets the timeout, in seconds.
pub const TIMEOUT_VARIABLE: &str = "GRAPHGEN_URL_TIMEOUT";

/// The timeout `GRAPHGEN_URL_TIMEOUT` asks for (seconds, fractions
/// allowed), or [`URL_TIMEOUT`].
pub fn timeout_from_environment() -> Result<Duration> {
    match std::env::var(TIMEOUT_VARIABLE) {
        Err(_) => Ok(URL_TIMEOUT),
        Ok(text) => parse_seconds(&text, TIMEOUT_VARIABLE),
    }
}

/// A timeout set in the environment variable `variable`: a number of
/// seconds above zero.
pub(crate) fn parse_seconds(text: &str, variable: &str) -> Result<Duration> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Error::new(ErrorKind::Params(format!(
                "{variable} must be a number of seconds above 0, not `{text}`"
            )))
        })
}

/// Checks URLs with `HEAD` requests. The HTTP client is made at the first
/// check, so runs that check nothing (most projects) do not pay for it.
pub struct HttpUrlChecker {
    timeout: Duration,
    client: OnceLock<std::result::Result<Client, String>>,
    answers: Mutex<HashMap<String, bool>>,
}

/// The HTTP client and the runtime its requests run on.
struct Client {
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for HttpUrlChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpUrlChecker")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpUrlChecker {
    pub fn new(timeout: Duration) -> HttpUrlChecker {
        HttpUrlChecker {
            timeout,
            client: OnceLock::new(),
            answers: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self) -> Result<&Client> {
        let made = self.client.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
            let http = reqwest::Client::builder()
                .timeout(self.timeout)
                .build()
                .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
            Ok(Client { http, runtime })
        });
        made.as_ref().map_err(|message| url_error(message.clone()))
    }

    fn ask(&self, url: &str) -> Result<bool> {
        let client = self.client()?;
        let response = client
            .runtime
            // Inside the runtime: the request starts its timer when made.
            .block_on(async { client.http.head(url).send().await })
            .map_err(|e| {
                let why = if e.is_timeout() {
                    format!("no answer within {} s", self.timeout.as_secs_f64())
                } else {
                    // The innermost cause says what went wrong (refused,
                    // unknown host, bad certificate).
                    let mut source: &dyn std::error::Error = &e;
                    while let Some(inner) = source.source() {
                        source = inner;
                    }
                    source.to_string()
                };
                url_error(format!("cannot check the model URL {url}: {why}"))
            })?;
        Ok(response.status().as_u16() < 400)
    }
}

impl UrlChecker for HttpUrlChecker {
    fn exists(&self, url: &str) -> Result<bool> {
        if let Some(known) = self.answers.lock().ok().and_then(|a| a.get(url).copied()) {
            return Ok(known);
        }
        let answer = self.ask(url)?;
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(url.to_owned(), answer);
        }
        Ok(answer)
    }
}

fn url_error(message: String) -> Error {
    Error::new(ErrorKind::Transform(message))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex as StdMutex};

    use fake_taskcluster::loopback::{LoopbackServer, Request, Response};

    use super::*;

    /// Paths the server knows: `/model` is there, `/moved` redirects to
    /// it, `/slow` answers after two seconds, anything else is a 404.
    fn server() -> (LoopbackServer<Vec<String>>, String) {
        let server =
            LoopbackServer::start(Vec::new(), |request: &Request, seen: &mut Vec<String>| {
                seen.push(format!("{} {}", request.method, request.path()));
                match request.path() {
                    "/model" => Response::new(200, "{}"),
                    "/moved" => Response::new(302, "{}").with_header("location", "/model"),
                    "/slow" => {
                        std::thread::sleep(Duration::from_secs(2));
                        Response::new(200, "{}")
                    }
                    _ => Response::new(404, "{}"),
                }
            });
        let url = server.url();
        (server, url)
    }

    #[test]
    fn timeouts_are_positive_seconds() {
        assert_eq!(
            parse_seconds("2.5", TIMEOUT_VARIABLE).unwrap(),
            Duration::from_millis(2500)
        );
        assert_eq!(
            parse_seconds(" 30 ", TIMEOUT_VARIABLE).unwrap(),
            Duration::from_secs(30)
        );
        for refused in ["0", "-1", "soon", "", "inf", "NaN"] {
            let err = parse_seconds(refused, TIMEOUT_VARIABLE)
                .unwrap_err()
                .to_string();
            assert!(err.contains("GRAPHGEN_URL_TIMEOUT"), "{err}");
        }
    }

    #[test]
    fn head_answers_below_400_mean_the_url_exists() {
        let (server, url) = server();
        let checker = HttpUrlChecker::new(URL_TIMEOUT);
        assert!(checker.exists(&format!("{url}/model")).unwrap());
        assert!(checker.exists(&format!("{url}/moved")).unwrap());
        assert!(!checker.exists(&format!("{url}/missing")).unwrap());

        // Asked again, the answer comes from memory.
        assert!(checker.exists(&format!("{url}/model")).unwrap());
        let seen = server.with_state(|seen| seen.clone());
        assert_eq!(
            seen,
            ["HEAD /model", "HEAD /moved", "HEAD /model", "HEAD /missing"]
        );
    }

    #[test]
    fn an_unanswered_check_is_an_error_naming_the_url() {
        let (_server, url) = server();
        let checker = HttpUrlChecker::new(Duration::from_millis(300));
        let err = checker
            .exists(&format!("{url}/slow"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("{url}/slow")), "{err}");
        assert!(err.contains("no answer within"), "{err}");

        let refused = checker
            .exists("http://127.0.0.1:9/model")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("http://127.0.0.1:9/model"), "{refused}");
    }

    #[test]
    fn checks_may_come_from_many_threads() {
        let (_server, url) = server();
        let checker = Arc::new(HttpUrlChecker::new(URL_TIMEOUT));
        let answers = Arc::new(StdMutex::new(Vec::new()));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let (checker, answers, url) =
                    (Arc::clone(&checker), Arc::clone(&answers), url.clone());
                scope.spawn(move || {
                    let answer = checker.exists(&format!("{url}/model")).unwrap();
                    answers.lock().unwrap().push(answer);
                });
            }
        });
        assert_eq!(*answers.lock().unwrap(), [true; 4]);
    }
}
