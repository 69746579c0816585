//! Content hashes of repository files, for cache digests.
//!
//! [`HashCache::hash_paths`] is the reference's `hash_paths`: the file
//! universe is what git has committed at HEAD, contents come from the
//! working tree, each pattern must match at least one file, and the result
//! is the SHA-256 of one `"<sha256 of file> <path>\n"` line per matching
//! file, sorted by path.
//!
//! Patterns follow `taskgraph.util.path.match`: a pattern also matches
//! everything under it (`a/b` matches `a/b/c.txt`), `*` matches within one
//! path component, `**/` matches any number of leading directories, a
//! trailing `/**` matches anything below, and `?` and `[` are literal.
//!
//! Each file is read and hashed at most once per generation, however many
//! tasks name it.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::vcs::Repository;

/// Memory of tracked files and file hashes for one generation.
#[derive(Debug, Default)]
pub struct HashCache {
    tracked: OnceLock<Result<Arc<Vec<String>>, String>>,
    file_hashes: Mutex<HashMap<String, String>>,
    patterns: Mutex<HashMap<String, Arc<Vec<String>>>>,
}

impl HashCache {
    /// The digest of every committed file matching `patterns`.
    pub fn hash_paths(&self, repo_root: &Path, patterns: &[String]) -> Result<String> {
        let tracked = self.tracked_files(repo_root)?;
        let mut found: BTreeSet<String> = BTreeSet::new();
        for pattern in patterns {
            check_pattern(pattern)?;
            let matches = self.matching(&tracked, pattern)?;
            if matches.is_empty() {
                return Err(Error::transform(format!(
                    "{pattern} did not match anything"
                )));
            }
            found.extend(matches.iter().cloned());
        }

        let mut hasher = Sha256::new();
        for path in &found {
            let digest = self.file_hash(repo_root, path)?;
            hasher.update(format!("{digest} {path}\n").as_bytes());
        }
        Ok(format!("{:x}", hasher.finalize()))
    }

    fn tracked_files(&self, repo_root: &Path) -> Result<Arc<Vec<String>>> {
        self.tracked
            .get_or_init(|| {
                let repo = Repository::open(repo_root);
                repo.tracked_files("")
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(Error::transform)
    }

    fn matching(&self, tracked: &[String], pattern: &str) -> Result<Arc<Vec<String>>> {
        if let Some(found) = self
            .patterns
            .lock()
            .ok()
            .and_then(|p| p.get(pattern).cloned())
        {
            return Ok(found);
        }
        let matcher = PathPattern::new(pattern)?;
        let matches: Arc<Vec<String>> = Arc::new(
            tracked
                .iter()
                .filter(|p| matcher.matches(p))
                .cloned()
                .collect(),
        );
        if let Ok(mut patterns) = self.patterns.lock() {
            patterns.insert(pattern.to_owned(), Arc::clone(&matches));
        }
        Ok(matches)
    }

    fn file_hash(&self, repo_root: &Path, path: &str) -> Result<String> {
        if let Some(hash) = self
            .file_hashes
            .lock()
            .ok()
            .and_then(|h| h.get(path).cloned())
        {
            return Ok(hash);
        }
        let full: PathBuf = repo_root.join(path);
        let bytes = std::fs::read(&full).map_err(|e| Error::io(&full, e))?;
        let hash = format!("{:x}", Sha256::digest(&bytes));
        if let Ok(mut hashes) = self.file_hashes.lock() {
            hashes.insert(path.to_owned(), hash.clone());
        }
        Ok(hash)
    }
}

/// Patterns name files inside the repository; anything else is a mistake.
fn check_pattern(pattern: &str) -> Result<()> {
    let escapes = pattern.starts_with('/') || pattern.split('/').any(|part| part == "..");
    if escapes {
        return Err(Error::transform(format!(
            "resource pattern `{pattern}` points outside the repository"
        )));
    }
    Ok(())
}

/// A compiled `taskgraph.util.path.match` pattern.
#[derive(Debug)]
pub struct PathPattern {
    regex: Option<Regex>,
}

impl PathPattern {
    pub fn new(pattern: &str) -> Result<PathPattern> {
        if pattern.is_empty() {
            return Ok(PathPattern { regex: None });
        }
        let escaped = regex::escape(pattern);
        let leading_globstar = Regex::new(r"(^|/)\\\*\\\*/").expect("a valid pattern");
        let trailing_globstar = Regex::new(r"(^|/)\\\*\\\*$").expect("a valid pattern");
        let step = leading_globstar.replace_all(&escaped, "${1}(?:.+/)?");
        let step = trailing_globstar.replace_all(&step, "(?:${1}.+)?");
        let body = step.replace(r"\*", "[^/]*");
        let regex = Regex::new(&format!(r"\A(?:{body}(?:/.*)?)\z"))
            .map_err(|e| Error::transform(format!("invalid path pattern `{pattern}`: {e}")))?;
        Ok(PathPattern { regex: Some(regex) })
    }

    pub fn matches(&self, path: &str) -> bool {
        self.regex.as_ref().is_none_or(|r| r.is_match(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        PathPattern::new(pattern).unwrap().matches(path)
    }

    #[test]
    fn patterns_follow_taskgraph_path_match() {
        assert!(matches(
            "taskcluster/kinds/foo",
            "taskcluster/kinds/foo/kind.yml"
        ));
        assert!(matches("taskcluster/kinds/foo", "taskcluster/kinds/foo"));
        assert!(!matches(
            "taskcluster/kinds/foo",
            "taskcluster/kinds/foobar/kind.yml"
        ));
        assert!(matches("pipeline/**", "pipeline"));
        assert!(matches("pipeline/**", "pipeline/a/b.py"));
        assert!(matches("*.py", "setup.py"));
        assert!(
            matches("*.py", "a.py/x"),
            "a pattern also matches what is under it"
        );
        assert!(!matches("*.py", "dir/setup.py"));
        assert!(matches("**/x.py", "a/b/x.py"));
        assert!(matches("**/x.py", "x.py"));
        assert!(!matches("foo/*/bar", "foo/bar"));
        assert!(matches("foo/*/bar", "foo/x/bar"));
        assert!(!matches("a?c", "abc"), "? is literal");
        assert!(matches("a?c", "a?c"));
        assert!(matches("", "anything/at/all"));
    }

    #[test]
    fn patterns_leaving_the_repository_are_refused() {
        assert!(check_pattern("../secrets").is_err());
        assert!(check_pattern("/etc/passwd").is_err());
        assert!(check_pattern("a/../../b").is_err());
        assert!(check_pattern("taskcluster/scripts").is_ok());
    }
}
