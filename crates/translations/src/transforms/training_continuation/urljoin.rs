//! Python's `urllib.parse.urljoin` (as of Python 3.11), for joining an
//! artifact name to a pretrained model's URL exactly as the reference does.
//!
//! Its quirks matter for the URLs that end up in task definitions: empty
//! path segments are collapsed (`a//b/` + `x` gives `a/b/x`), the base's
//! query and fragment are dropped, the scheme is lowercased, and a base
//! whose scheme is not one of the "relative" ones (`gs://`, `s3://`) gives
//! back the relative name unchanged.

use taskgraph::{Error, Result};

/// Schemes relative references resolve against (`uses_relative`).
const USES_RELATIVE: &[&str] = &[
    "", "ftp", "http", "gopher", "nntp", "imap", "wais", "file", "https", "shttp", "mms",
    "prospero", "rtsp", "rtsps", "rtspu", "sftp", "svn", "svn+ssh", "ws", "wss",
];

/// Schemes with a `//netloc` part (`uses_netloc`).
const USES_NETLOC: &[&str] = &[
    "", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https", "shttp",
    "snews", "prospero", "rtsp", "rtsps", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git",
    "git+ssh", "ws", "wss",
];

/// Schemes whose last path segment may carry `;params` (`uses_params`).
const USES_PARAMS: &[&str] = &[
    "", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp", "rtsps", "rtspu",
    "sip", "sips", "mms", "sftp", "tel",
];

/// The six parts `urlparse` splits a URL into.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    scheme: String,
    netloc: String,
    path: String,
    params: String,
    query: String,
    fragment: String,
}

/// `urljoin(base, url)`.
pub fn urljoin(base: &str, url: &str) -> Result<String> {
    if base.is_empty() {
        return Ok(url.to_owned());
    }
    if url.is_empty() {
        return Ok(base.to_owned());
    }

    let base = urlparse(base, "")?;
    let mut target = urlparse(url, &base.scheme)?;
    if target.scheme != base.scheme || !USES_RELATIVE.contains(&target.scheme.as_str()) {
        return Ok(url.to_owned());
    }
    if USES_NETLOC.contains(&target.scheme.as_str()) {
        if !target.netloc.is_empty() {
            return Ok(urlunparse(&target));
        }
        target.netloc.clone_from(&base.netloc);
    }

    if target.path.is_empty() && target.params.is_empty() {
        target.path = base.path;
        target.params = base.params;
        if target.query.is_empty() {
            target.query = base.query;
        }
        return Ok(urlunparse(&target));
    }

    target.path = resolve_path(&base.path, &target.path);
    Ok(urlunparse(&target))
}

/// Merges a relative path into the base's directory and removes `.` and
/// `..` segments, as `urljoin` does.
fn resolve_path(base_path: &str, path: &str) -> String {
    let mut base_parts: Vec<&str> = base_path.split('/').collect();
    if base_parts.last().is_some_and(|last| !last.is_empty()) {
        // The last segment names a file, not a directory.
        base_parts.pop();
    }

    let segments: Vec<&str> = if path.starts_with('/') {
        path.split('/').collect()
    } else {
        let mut joined = base_parts;
        joined.extend(path.split('/'));
        collapse_inner_empty_segments(joined)
    };

    let mut resolved: Vec<&str> = Vec::new();
    for segment in &segments {
        match *segment {
            ".." => {
                resolved.pop();
            }
            "." => {}
            other => resolved.push(other),
        }
    }
    if segments
        .last()
        .is_some_and(|last| *last == "." || *last == "..")
    {
        resolved.push("");
    }

    let joined = resolved.join("/");
    if joined.is_empty() {
        "/".to_owned()
    } else {
        joined
    }
}

/// `segments[1:-1] = filter(None, segments[1:-1])`.
fn collapse_inner_empty_segments(segments: Vec<&str>) -> Vec<&str> {
    if segments.len() < 3 {
        return segments;
    }
    let last = segments.len() - 1;
    segments
        .iter()
        .enumerate()
        .filter(|(i, segment)| *i == 0 || *i == last || !segment.is_empty())
        .map(|(_, segment)| *segment)
        .collect()
}

/// `urlparse(url, default_scheme)`.
fn urlparse(url: &str, default_scheme: &str) -> Result<Parsed> {
    let (scheme, netloc, path, query, fragment) = urlsplit(url, default_scheme)?;
    let (path, params) = if USES_PARAMS.contains(&scheme.as_str()) && path.contains(';') {
        split_params(&path)
    } else {
        (path, String::new())
    };
    Ok(Parsed {
        scheme,
        netloc,
        path,
        params,
        query,
        fragment,
    })
}

type SplitParts = (String, String, String, String, String);

/// `urlsplit(url, default_scheme)`: scheme, netloc, path, query, fragment.
fn urlsplit(url: &str, default_scheme: &str) -> Result<SplitParts> {
    let is_c0_or_space = |c: char| c <= ' ';
    let unsafe_removed = |text: &str| text.replace(['\t', '\r', '\n'], "");
    let mut rest = unsafe_removed(url.trim_start_matches(is_c0_or_space));
    let mut scheme = unsafe_removed(default_scheme.trim_matches(is_c0_or_space));

    if let Some(colon) = rest.find(':')
        && colon > 0
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && rest[..colon]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        scheme = rest[..colon].to_ascii_lowercase();
        rest = rest[colon + 1..].to_owned();
    }

    let mut netloc = String::new();
    if let Some(after_slashes) = rest.strip_prefix("//") {
        let end = after_slashes
            .find(['/', '?', '#'])
            .unwrap_or(after_slashes.len());
        netloc = after_slashes[..end].to_owned();
        rest = after_slashes[end..].to_owned();
        if netloc.contains('[') != netloc.contains(']') {
            return Err(Error::transform(format!("Invalid IPv6 URL: {url}")));
        }
    }

    let mut fragment = String::new();
    if let Some((before, after)) = rest.split_once('#') {
        fragment = after.to_owned();
        rest = before.to_owned();
    }
    let mut query = String::new();
    if let Some((before, after)) = rest.split_once('?') {
        query = after.to_owned();
        rest = before.to_owned();
    }
    Ok((scheme, netloc, rest, query, fragment))
}

/// `_splitparams`: `;params` of the last path segment.
fn split_params(path: &str) -> (String, String) {
    let semicolon = match path.rfind('/') {
        Some(slash) => match path[slash..].find(';') {
            Some(offset) => slash + offset,
            None => return (path.to_owned(), String::new()),
        },
        None => path.find(';').unwrap_or(path.len()),
    };
    (
        path[..semicolon].to_owned(),
        path[semicolon + 1..].to_owned(),
    )
}

/// `urlunparse`.
fn urlunparse(parts: &Parsed) -> String {
    let mut path = parts.path.clone();
    if !parts.params.is_empty() {
        path = format!("{path};{}", parts.params);
    }

    let scheme = parts.scheme.as_str();
    let mut url = path;
    let wants_netloc =
        !scheme.is_empty() && USES_NETLOC.contains(&scheme) && !url.starts_with("//");
    if !parts.netloc.is_empty() || wants_netloc {
        if !url.is_empty() && !url.starts_with('/') {
            url.insert(0, '/');
        }
        url = format!("//{}{url}", parts.netloc);
    }
    if !scheme.is_empty() {
        url = format!("{scheme}:{url}");
    }
    if !parts.query.is_empty() {
        url = format!("{url}?{}", parts.query);
    }
    if !parts.fragment.is_empty() {
        url = format!("{url}#{}", parts.fragment);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::urljoin;

    /// Each expected value is what Python 3.11's `urljoin` returns.
    #[test]
    fn joins_like_python() {
        let cases = [
            (
                "https://example.com/ru-en/backwards/",
                "vocab.spm",
                "https://example.com/ru-en/backwards/vocab.spm",
            ),
            (
                "https://storage.googleapis.com/bucket//models/x/",
                "model.npz",
                "https://storage.googleapis.com/bucket/models/x/model.npz",
            ),
            (
                "https://example.com/a?token=1/",
                "vocab.spm",
                "https://example.com/vocab.spm",
            ),
            (
                "https://example.com/a#frag/",
                "vocab.spm",
                "https://example.com/vocab.spm",
            ),
            (
                "HTTPS://Example.com/a/../b/./c/",
                "vocab.en.spm",
                "https://Example.com/b/c/vocab.en.spm",
            ),
            ("gs://bucket/models/", "vocab.spm", "vocab.spm"),
            (
                "example.com/models/",
                "vocab.spm",
                "example.com/models/vocab.spm",
            ),
            (
                "https://example.com/",
                "vocab.spm",
                "https://example.com/vocab.spm",
            ),
            (
                "https://example.com/a;p=1/",
                "vocab.spm",
                "https://example.com/a;p=1/vocab.spm",
            ),
            ("https://example.com/a/", "x;y", "https://example.com/a/x;y"),
            ("https://example.com/a/", "/abs", "https://example.com/abs"),
            ("https://example.com/a/", "../up", "https://example.com/up"),
            ("https://example.com/a/", "..", "https://example.com/"),
            ("https://example.com/a/", "x:y", "x:y"),
            ("  https://example.com/a\t/", "b", "https://example.com/a/b"),
            (
                "file:///tmp/models/",
                "vocab.spm",
                "file:///tmp/models/vocab.spm",
            ),
            ("https:/no-host/", "vocab.spm", "https:///no-host/vocab.spm"),
        ];
        for (base, name, expected) in cases {
            assert_eq!(
                urljoin(base, name).unwrap(),
                expected,
                "urljoin({base:?}, {name:?})"
            );
        }
    }

    #[test]
    fn unbalanced_brackets_are_invalid() {
        assert!(urljoin("https://[::1/x/", "vocab.spm").is_err());
    }
}
