//! The fake's side of Hawk: checks a request's signature the way
//! Taskcluster's auth service does.
//!
//! A header's MAC covers the method, the target as sent (path *and*
//! query), the host and port of the `Host` header, the payload hash the
//! header carries and `ext`; when the header carries a payload hash, it
//! must be the hash of the body as sent. A bewit (a `bewit` query
//! parameter, for GET and HEAD) covers the same target with the bewit
//! itself taken out of the query. Timestamps may be a minute off.
//!
//! `ext` may hold `{"certificate": ...}` (base64 JSON), as temporary
//! credentials send it. The fake records the certificate but does not
//! check it: the MAC must be made with the configured access token
//! whatever the certificate says, and `authorizedScopes` is ignored.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde_json::Value;

use crate::loopback::Request;

/// How far a Hawk timestamp may be from the server's clock.
const SKEW: Duration = Duration::from_secs(60);

/// A client id and its access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) client_id: String,
    pub(crate) access_token: String,
}

/// How a request was authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// It carried no signature.
    None,
    /// A valid `Authorization: Hawk ...` header.
    Header {
        client_id: String,
        /// `ext.certificate`, when the client sent temporary credentials.
        certificate: Option<Value>,
    },
    /// A valid `bewit` query parameter.
    Bewit {
        client_id: String,
        certificate: Option<Value>,
    },
    /// A signature that did not hold, and why.
    Refused(String),
}

/// Checks the signature of `request`, if it has one, against
/// `credentials`.
pub(crate) fn check(credentials: Option<&Credentials>, request: &Request) -> Auth {
    let header = request.headers.get("authorization");
    let has_bewit = has_bewit(request);
    if header.is_none() && !has_bewit {
        return Auth::None;
    }
    let Some(credentials) = credentials else {
        return Auth::Refused("this fake knows no client to check a signature against".into());
    };
    let Some((host, port)) = host_and_port(request) else {
        return Auth::Refused("the request has no usable Host header to check a MAC over".into());
    };
    let key = match hawk::Key::new(credentials.access_token.as_bytes(), hawk::SHA256) {
        Ok(key) => key,
        Err(error) => return Auth::Refused(format!("the access token is no key: {error}")),
    };
    let signed = Signed {
        request,
        host: &host,
        port,
        key: &key,
        client_id: &credentials.client_id,
    };
    let result = match header {
        Some(_) if has_bewit => Err("both an Authorization header and a bewit".to_owned()),
        Some(header) => signed.header(header),
        None => signed.bewit(),
    };
    result.unwrap_or_else(Auth::Refused)
}

/// Whether the query holds a `bewit` parameter.
pub(crate) fn has_bewit(request: &Request) -> bool {
    request
        .query()
        .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("bewit=")))
}

fn host_and_port(request: &Request) -> Option<(String, u16)> {
    let host = request.headers.get("host")?;
    match host.rsplit_once(':') {
        // An IPv6 address without a port ends in `]`, not in digits.
        Some((name, port)) if !port.contains(']') => Some((name.to_owned(), port.parse().ok()?)),
        _ => Some((host.clone(), 80)),
    }
}

/// What a signature is checked against.
struct Signed<'a> {
    request: &'a Request,
    host: &'a str,
    port: u16,
    key: &'a hawk::Key,
    client_id: &'a str,
}

impl Signed<'_> {
    fn header(&self, value: &str) -> Result<Auth, String> {
        let attributes = value
            .strip_prefix("Hawk ")
            .ok_or_else(|| format!("not a Hawk Authorization header: `{value}`"))?;
        if !times_fit(header_times(attributes)) {
            return Err("the Hawk header's ts is out of range".into());
        }
        let header = hawk::Header::from_str(attributes)
            .map_err(|error| format!("malformed Hawk header: {error}"))?;
        let client_id = header.id.clone().unwrap_or_default();
        self.known(&client_id)?;
        let ts = header.ts.ok_or("the Hawk header has no ts")?;
        if skew(ts) > SKEW {
            return Err("the Hawk timestamp is more than a minute off".into());
        }

        let request = hawk::RequestBuilder::new(
            &self.request.method,
            self.host,
            self.port,
            &self.request.target,
        )
        .request();
        if !request.validate_header(&header, self.key, SKEW) {
            return Err("Bad mac".into());
        }
        if let Some(claimed) = &header.hash
            && *claimed != self.payload_hash()?
        {
            return Err("Invalid payload hash: the body is not the one signed".into());
        }
        let certificate = certificate(header.ext.as_deref())?;
        Ok(Auth::Header {
            client_id,
            certificate,
        })
    }

    fn bewit(&self) -> Result<Auth, String> {
        let method = self.request.method.as_str();
        if method != "GET" && method != "HEAD" {
            return Err(format!(
                "a bewit signs only GET and HEAD requests, not {method}"
            ));
        }
        if !times_fit(bewit_times(self.request.query().unwrap_or(""))) {
            return Err("the bewit's expiry is out of range".into());
        }
        let mut bewit = None;
        let builder = hawk::RequestBuilder::new(method, self.host, self.port, &self.request.target)
            .extract_bewit(&mut bewit)
            .map_err(|error| format!("malformed bewit: {error}"))?;
        let bewit = bewit.ok_or("malformed bewit")?;
        self.known(bewit.id())?;
        if bewit.exp() < SystemTime::now() {
            return Err("the bewit has expired".into());
        }
        if !builder.request().validate_bewit(&bewit, self.key) {
            return Err("Bad mac".into());
        }
        Ok(Auth::Bewit {
            client_id: bewit.id().to_owned(),
            certificate: certificate(bewit.ext())?,
        })
    }

    fn known(&self, client_id: &str) -> Result<(), String> {
        if client_id == self.client_id {
            Ok(())
        } else {
            Err(format!("unknown clientId `{client_id}`"))
        }
    }

    /// The Hawk hash of the body, under the request's media type.
    fn payload_hash(&self) -> Result<Vec<u8>, String> {
        let content_type = self
            .request
            .headers
            .get("content-type")
            .map_or("", String::as_str);
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        hawk::PayloadHasher::hash(
            media_type.to_ascii_lowercase().as_bytes(),
            hawk::SHA256,
            &self.request.body,
        )
        .map_err(|error| format!("cannot hash the payload: {error}"))
    }
}

/// Whether every time is one `SystemTime` can hold. The hawk crate adds
/// the seconds a client sent to the epoch unchecked, which panics past
/// that range, so a request must not get that far with such a time.
fn times_fit(mut seconds: impl Iterator<Item = u64>) -> bool {
    seconds.all(|s| {
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_secs(s))
            .is_some()
    })
}

/// The `ts` values of a Hawk header's attributes, found the way the hawk
/// crate reads them (`name="value"` pairs, separated by commas and
/// spaces); values that are no number are left to its own errors.
fn header_times(attributes: &str) -> impl Iterator<Item = u64> + '_ {
    let mut rest = attributes;
    std::iter::from_fn(move || {
        loop {
            rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            let (name, value) = rest.split_once('=')?;
            let value = value.trim_start().strip_prefix('"')?;
            let (value, after) = value.split_once('"')?;
            rest = after;
            if name.trim() == "ts"
                && let Ok(seconds) = value.parse()
            {
                return Some(seconds);
            }
        }
    })
}

/// The expiry times of the bewits in a query, decoded as the hawk crate
/// decodes them.
fn bewit_times(query: &str) -> impl Iterator<Item = u64> + '_ {
    const BEWIT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("bewit="))
        .filter_map(|bewit| BEWIT.decode(bewit).ok())
        .filter_map(|bytes| {
            let exp = bytes.split(|b| *b == b'\\').nth(1)?;
            std::str::from_utf8(exp).ok()?.parse().ok()
        })
}

fn skew(ts: SystemTime) -> Duration {
    let now = SystemTime::now();
    now.duration_since(ts)
        .or_else(|_| ts.duration_since(now))
        .unwrap_or_default()
}

/// The certificate in `ext`, which must be base64 JSON when present.
fn certificate(ext: Option<&str>) -> Result<Option<Value>, String> {
    let Some(ext) = ext.filter(|ext| !ext.is_empty()) else {
        return Ok(None);
    };
    let ext: Value = STANDARD
        .decode(ext)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or("Failed to parse ext: it is not base64 JSON")?;
    let certificate = match ext.get("certificate") {
        None => None,
        // Some clients send the certificate as a JSON string.
        Some(Value::String(text)) => {
            Some(serde_json::from_str(text).unwrap_or(Value::String(text.clone())))
        }
        Some(certificate) => Some(certificate.clone()),
    };
    if certificate.as_ref().is_some_and(|c| !c.is_object()) {
        return Err("ext.certificate must be a JSON object".into());
    }
    Ok(certificate)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    const CLIENT_ID: &str = "project/graphgen/tests";
    const ACCESS_TOKEN: &str = "not-a-real-access-token";
    const HOST: &str = "127.0.0.1";
    const PORT: u16 = 4321;

    fn credentials() -> Credentials {
        Credentials {
            client_id: CLIENT_ID.into(),
            access_token: ACCESS_TOKEN.into(),
        }
    }

    fn hawk_credentials(token: &str) -> hawk::Credentials {
        hawk::Credentials {
            id: CLIENT_ID.into(),
            key: hawk::Key::new(token, hawk::SHA256).unwrap(),
        }
    }

    fn request(method: &str, target: &str, authorization: Option<String>, body: &[u8]) -> Request {
        let mut headers = BTreeMap::from([("host".to_owned(), format!("{HOST}:{PORT}"))]);
        if let Some(authorization) = authorization {
            headers.insert("authorization".into(), authorization);
        }
        if !body.is_empty() {
            headers.insert("content-type".into(), "application/json".into());
        }
        Request {
            method: method.into(),
            target: target.into(),
            headers,
            body: body.to_vec(),
        }
    }

    /// A Hawk header signing `signed_target`, with the body's hash and
    /// `ext` when given.
    fn header(
        method: &str,
        signed_target: &str,
        body: &[u8],
        ext: Option<&str>,
        token: &str,
    ) -> String {
        let hash = (!body.is_empty())
            .then(|| hawk::PayloadHasher::hash("application/json", hawk::SHA256, body).unwrap());
        let header = hawk::RequestBuilder::new(method, HOST, PORT, signed_target)
            .hash(hash.as_deref())
            .ext(ext)
            .request()
            .make_header(&hawk_credentials(token))
            .unwrap();
        format!("Hawk {header}")
    }

    fn auth_of(request: &Request) -> Auth {
        check(Some(&credentials()), request)
    }

    #[test]
    fn a_valid_header_is_accepted_with_its_certificate() {
        let body = br#"{"taskIds":[]}"#;
        let certificate = json!({"version": 1, "scopes": [], "seed": "s", "signature": "x"});
        let ext = STANDARD.encode(json!({ "certificate": certificate }).to_string());
        let target = "/api/queue/v1/tasks/status";
        let signature = header("POST", target, body, Some(&ext), ACCESS_TOKEN);
        let auth = auth_of(&request("POST", target, Some(signature), body));
        assert_eq!(
            auth,
            Auth::Header {
                client_id: CLIENT_ID.into(),
                certificate: Some(certificate),
            }
        );
    }

    #[test]
    fn a_header_signed_with_another_key_is_refused() {
        let target = "/api/queue/v1/task/fTWf6xkuQ0Om9uS3I4zTpQ";
        let signature = header("GET", target, b"", None, "some-other-token");
        let auth = auth_of(&request("GET", target, Some(signature), b""));
        assert_eq!(auth, Auth::Refused("Bad mac".into()));
    }

    #[test]
    fn a_header_that_leaves_out_the_query_is_refused() {
        let path = "/api/queue/v1/task-group/VOFxu8TKQ4Ge0DMyGRDFnQ/list";
        let signature = header("GET", path, b"", None, ACCESS_TOKEN);
        let target = format!("{path}?limit=2");
        let auth = auth_of(&request("GET", &target, Some(signature), b""));
        assert_eq!(auth, Auth::Refused("Bad mac".into()));
    }

    #[test]
    fn a_header_over_another_body_is_refused() {
        let target = "/api/queue/v1/tasks/status";
        let signature = header("POST", target, br#"{"taskIds":["a"]}"#, None, ACCESS_TOKEN);
        let auth = auth_of(&request(
            "POST",
            target,
            Some(signature),
            br#"{"taskIds":["b"]}"#,
        ));
        assert!(
            matches!(&auth, Auth::Refused(why) if why.contains("payload hash")),
            "{auth:?}"
        );
    }

    #[test]
    fn a_bewit_is_checked_without_itself() {
        let target = "/api/queue/v1/task-group/VOFxu8TKQ4Ge0DMyGRDFnQ/list?limit=2";
        let credentials = hawk_credentials(ACCESS_TOKEN);
        let bewit = hawk::RequestBuilder::new("GET", HOST, PORT, target)
            .request()
            .make_bewit_with_ttl(&credentials, Duration::from_secs(60))
            .unwrap()
            .to_str();
        let signed = format!("{target}&bewit={bewit}");
        let auth = auth_of(&request("GET", &signed, None, b""));
        assert_eq!(
            auth,
            Auth::Bewit {
                client_id: CLIENT_ID.into(),
                certificate: None,
            }
        );

        // The same bewit does not sign another query.
        let other = signed.replace("limit=2", "limit=3");
        assert_eq!(
            auth_of(&request("GET", &other, None, b"")),
            Auth::Refused("Bad mac".into())
        );
    }

    #[test]
    fn unsigned_requests_carry_no_auth_and_strangers_are_refused() {
        let target = "/api/queue/v1/task/fTWf6xkuQ0Om9uS3I4zTpQ";
        assert_eq!(auth_of(&request("GET", target, None, b"")), Auth::None);

        let signature = header("GET", target, b"", None, ACCESS_TOKEN);
        let signed = request("GET", target, Some(signature), b"");
        assert!(matches!(check(None, &signed), Auth::Refused(_)));
        let garbage = request("GET", target, Some("Hawk nonsense".into()), b"");
        assert!(matches!(auth_of(&garbage), Auth::Refused(_)));
    }

    #[test]
    fn times_past_the_clocks_range_are_refused_not_panicked_over() {
        let target = "/api/queue/v1/task/fTWf6xkuQ0Om9uS3I4zTpQ";
        let header = format!(
            r#"Hawk id="{CLIENT_ID}", ts="{}", nonce="n", mac="bWFj""#,
            u64::MAX
        );
        let auth = auth_of(&request("GET", target, Some(header), b""));
        assert!(
            matches!(&auth, Auth::Refused(why) if why.contains("ts")),
            "{auth:?}"
        );

        let bewit = URL_SAFE_NO_PAD.encode(format!("{CLIENT_ID}\\{}\\bWFj\\", u64::MAX));
        let signed = format!("{target}?bewit={bewit}");
        let auth = auth_of(&request("GET", &signed, None, b""));
        assert!(
            matches!(&auth, Auth::Refused(why) if why.contains("expiry")),
            "{auth:?}"
        );
    }
}
