//! POSIX path arithmetic on strings, as Python's `posixpath` does it.
//!
//! Task definitions hold paths of the worker's file system, not ours, so
//! these never touch the disk.

/// `posixpath.normpath`: collapses `.`, `..`, repeated and trailing
/// slashes; keeps up to two leading slashes as POSIX allows.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    if is_normal(path) {
        return path.to_owned();
    }
    let leading = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };

    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if leading > 0 => {}
            other => parts.push(other),
        }
    }

    let mut result = "/".repeat(leading);
    result.push_str(&parts.join("/"));
    if result.is_empty() {
        ".".to_owned()
    } else {
        result
    }
}

/// Whether `normpath` leaves `path` (not empty) as it is: no repeated
/// or trailing slash, no `.` or `..` part.
fn is_normal(path: &str) -> bool {
    (path == "/" || !path.ends_with('/'))
        && !path.contains("//")
        && path.split('/').all(|part| part != "." && part != "..")
}

/// `posixpath.join(a, b)`: `b` replaces `a` when absolute.
pub fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') || base.is_empty() {
        path.to_owned()
    } else if base.ends_with('/') {
        [base, path].concat()
    } else {
        [base, "/", path].concat()
    }
}

/// `posixpath.dirname`.
pub fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        None => "",
        Some(i) => {
            let head = &path[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() { head } else { trimmed }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normpath_matches_posixpath() {
        for (input, expected) in [
            ("", "."),
            ("a/b/../c", "a/c"),
            (
                "/builds/worker/checkouts/vcs/..",
                "/builds/worker/checkouts",
            ),
            (
                "vcs/taskcluster/scripts/./x.sh",
                "vcs/taskcluster/scripts/x.sh",
            ),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("//a//b/", "//a/b"),
            ("///a", "/a"),
            ("a/..", "."),
        ] {
            assert_eq!(normpath(input), expected, "{input}");
        }
    }

    #[test]
    fn join_and_dirname_match_posixpath() {
        assert_eq!(
            join("/builds/worker/checkouts/vcs", ""),
            "/builds/worker/checkouts/vcs/"
        );
        assert_eq!(join("a", "/b"), "/b");
        assert_eq!(join("a/", "b"), "a/b");
        assert_eq!(dirname("private/build/x.tar"), "private/build");
        assert_eq!(dirname("x"), "");
        assert_eq!(dirname("/x"), "/");
    }
}
