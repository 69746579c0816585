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

use foldhash::HashMap;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use rayon::prelude::*;
use regex::Regex;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::vcs::Repository;

/// What one `hash_paths` call covered: the patterns asked for, and every
/// file they matched with its own hash, in hashing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathsDigest {
    pub patterns: Vec<String>,
    pub files: Vec<FileHash>,
    /// The combined hash, the line that enters a cache digest.
    pub hash: String,
}

/// One file's SHA-256, as hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHash {
    pub path: String,
    pub sha256: String,
}

/// A file's hash, computed by whichever thread asks first.
type HashSlot = Arc<OnceLock<Result<String, String>>>;

/// Memory of tracked files and file hashes for one generation.
#[derive(Debug, Default)]
pub struct HashCache {
    tracked: OnceLock<Result<Arc<Vec<String>>, String>>,
    file_hashes: Mutex<HashMap<String, HashSlot>>,
    patterns: Mutex<HashMap<String, Arc<Vec<String>>>>,
    /// Every `hash_paths` result by its hash, so that a digest can later
    /// say which files stand behind one of its lines.
    results: Mutex<HashMap<String, Arc<PathsDigest>>>,
    /// The same results by their patterns: the tasks of a kind usually
    /// name the same resources.
    by_patterns: Mutex<HashMap<Vec<String>, Arc<PathsDigest>>>,
}

impl HashCache {
    /// The digest of every committed file matching `patterns`.
    pub fn hash_paths(&self, repo_root: &Path, patterns: &[String]) -> Result<String> {
        Ok(self.hash_paths_detailed(repo_root, patterns)?.hash.clone())
    }

    /// [`HashCache::hash_paths`], with the files behind the hash.
    pub fn hash_paths_detailed(
        &self,
        repo_root: &Path,
        patterns: &[String],
    ) -> Result<Arc<PathsDigest>> {
        let known = self
            .by_patterns
            .lock()
            .ok()
            .and_then(|known| known.get(patterns).cloned());
        if let Some(digest) = known {
            return Ok(digest);
        }

        let tracked = self.tracked_files(repo_root)?;
        let mut found: BTreeSet<String> = BTreeSet::new();
        for pattern in patterns {
            check_pattern(pattern)?;
            let matches = self.matching(&tracked, pattern)?;
            if matches.is_empty() {
                return Err(Error::transform(format!(
                    "the resource pattern `{pattern}` matches no file committed at HEAD"
                )));
            }
            found.extend(matches.iter().cloned());
        }

        // Files are independent: hash those not seen yet in parallel.
        let found: Vec<String> = found.into_iter().collect();
        let files: Vec<FileHash> = found
            .par_iter()
            .map(|path| {
                let sha256 = self.file_hash(repo_root, path)?;
                Ok(FileHash {
                    path: path.clone(),
                    sha256,
                })
            })
            .collect::<Result<_>>()?;

        let mut hasher = Sha256::new();
        for file in &files {
            hasher.update(format!("{} {}\n", file.sha256, file.path).as_bytes());
        }
        let digest = Arc::new(PathsDigest {
            patterns: patterns.to_vec(),
            files,
            hash: format!("{:x}", hasher.finalize()),
        });
        if let Ok(mut results) = self.results.lock() {
            results
                .entry(digest.hash.clone())
                .or_insert_with(|| Arc::clone(&digest));
        }
        if let Ok(mut known) = self.by_patterns.lock() {
            known.insert(patterns.to_vec(), Arc::clone(&digest));
        }
        Ok(digest)
    }

    /// The files behind a hash an earlier `hash_paths` call returned.
    pub fn files_behind(&self, hash: &str) -> Option<Arc<PathsDigest>> {
        self.results.lock().ok()?.get(hash).cloned()
    }

    /// Starts listing the committed files on a thread of its own, so that
    /// the first resource hash need not wait for git and nothing else waits
    /// for it at all: most projects' early kinds hash nothing, and many
    /// projects never do. A resource hash asked for before the list is
    /// ready waits for it; a failure is kept for whoever needs the list.
    ///
    /// An OS thread rather than a pool task, as it spends its time waiting
    /// for the child process and would otherwise hold a worker idle.
    pub fn prefetch_in_background(self: &Arc<Self>, repo_root: &Path) {
        let cache = Arc::clone(self);
        let repo_root = repo_root.to_path_buf();
        // The thread runs detached. One that cannot be started leaves the
        // list to be made when first needed.
        let _detached = std::thread::Builder::new()
            .name("git-ls-tree".into())
            .spawn(move || {
                let _ = cache.tracked_files(&repo_root);
            });
    }

    /// The committed files, sorted by bytes so that the files under a
    /// prefix are one range.
    fn tracked_files(&self, repo_root: &Path) -> Result<Arc<Vec<String>>> {
        self.tracked
            .get_or_init(|| {
                let repo = Repository::open(repo_root);
                let mut files = repo.tracked_files("").map_err(|e| e.to_string())?;
                files.sort_unstable();
                Ok(Arc::new(files))
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
        let prefix = matcher.literal_prefix();
        let start = tracked.partition_point(|path| path.as_str() < prefix);
        let matches: Arc<Vec<String>> = Arc::new(
            tracked[start..]
                .iter()
                .take_while(|path| path.starts_with(prefix))
                .filter(|path| matcher.matches(path))
                .cloned()
                .collect(),
        );
        if let Ok(mut patterns) = self.patterns.lock() {
            patterns.insert(pattern.to_owned(), Arc::clone(&matches));
        }
        Ok(matches)
    }

    /// A file's hash; each file is read once per generation, even when
    /// several threads ask for it at the same time.
    fn file_hash(&self, repo_root: &Path, path: &str) -> Result<String> {
        let slot: HashSlot = match self.file_hashes.lock() {
            Ok(mut hashes) => Arc::clone(hashes.entry(path.to_owned()).or_default()),
            Err(_) => Arc::default(),
        };
        slot.get_or_init(|| {
            let full: PathBuf = repo_root.join(path);
            std::fs::read(&full)
                .map(|bytes| format!("{:x}", Sha256::digest(&bytes)))
                .map_err(|e| Error::io(&full, e).to_string())
        })
        .clone()
        .map_err(Error::transform)
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
    matcher: Matcher,
    /// What every matching path starts with: the pattern up to the step
    /// holding its first wildcard (`a/**` matches `a` itself).
    prefix_len: usize,
    pattern: String,
}

#[derive(Debug)]
enum Matcher {
    /// The empty pattern matches every path.
    Everything,
    /// A pattern without wildcards, or one whose only wildcard is a final
    /// `/**`: the literal prefix itself or anything below it.
    Literal,
    Wildcards(regex::bytes::Regex),
}

/// `**/` at the start of the pattern or after a `/`, once escaped.
static LEADING_GLOBSTAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|/)\\\*\\\*/").expect("a valid pattern"));
/// `**` at the end of the pattern, once escaped.
static TRAILING_GLOBSTAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|/)\\\*\\\*$").expect("a valid pattern"));

impl PathPattern {
    pub fn new(pattern: &str) -> Result<PathPattern> {
        // `dir/**` is the most common pattern by far. Its regex,
        // `dir(?:/.+)?(?:/.*)?`, matches exactly what the literal `dir`
        // matches, and compiling a regex costs more than all its matches.
        let below_literal = pattern
            .strip_suffix("/**")
            .filter(|dir| !dir.is_empty() && !dir.contains('*'));
        let (matcher, prefix_len) = match pattern.find('*') {
            _ if pattern.is_empty() => (Matcher::Everything, 0),
            None => (Matcher::Literal, pattern.len()),
            Some(_) if below_literal.is_some() => {
                (Matcher::Literal, below_literal.map_or(0, str::len))
            }
            Some(first_wildcard) => {
                let step_start = pattern[..first_wildcard].rfind('/').unwrap_or(0);
                (Matcher::Wildcards(wildcard_regex(pattern)?), step_start)
            }
        };
        Ok(PathPattern {
            matcher,
            prefix_len,
            pattern: pattern.to_owned(),
        })
    }

    /// A prefix every matching path has (possibly empty).
    pub fn literal_prefix(&self) -> &str {
        &self.pattern[..self.prefix_len]
    }

    pub fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Everything => true,
            Matcher::Literal => path
                .strip_prefix(self.literal_prefix())
                // As the regex would: `/.*` stops at a newline.
                .is_some_and(|rest| {
                    rest.is_empty() || (rest.starts_with('/') && !rest.contains('\n'))
                }),
            Matcher::Wildcards(regex) => regex.is_match(path.as_bytes()),
        }
    }
}

/// The regex taskgraph builds for a pattern: `*` within a step, `**`
/// across steps, and anything below a matching path.
///
/// It is compiled over bytes without Unicode classes: `/` and the newline
/// that `.` leaves out are single bytes that never occur inside a longer
/// UTF-8 sequence, so on the UTF-8 paths git lists every match is the same,
/// and compiling takes less than half the instructions (a Unicode `[^/]` is
/// a large automaton, built anew for every pattern).
fn wildcard_regex(pattern: &str) -> Result<regex::bytes::Regex> {
    regex::bytes::RegexBuilder::new(&regex_source(pattern))
        .unicode(false)
        .build()
        .map_err(|e| Error::transform(format!("invalid path pattern `{pattern}`: {e}")))
}

fn regex_source(pattern: &str) -> String {
    let escaped = regex::escape(pattern);
    let step = LEADING_GLOBSTAR.replace_all(&escaped, "${1}(?:.+/)?");
    let step = TRAILING_GLOBSTAR.replace_all(&step, "(?:${1}.+)?");
    let body = step.replace(r"\*", "[^/]*");
    format!(r"\A(?:{body}(?:/.*)?)\z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_match_starts_with_the_literal_prefix() {
        let paths = [
            "a", "a/b", "a/b/c.py", "a/x/b", "a.py", "ab/c", "b/a/c", "c.py", "a/b.py/x",
        ];
        for pattern in [
            "a/**", "a/*/b", "a/b*", "**/c.py", "*.py", "a/b/*.py", "a/**/b", "a",
        ] {
            let compiled = PathPattern::new(pattern).unwrap();
            for path in paths.iter().filter(|p| compiled.matches(p)) {
                assert!(
                    path.starts_with(compiled.literal_prefix()),
                    "{pattern:?} matches {path:?} outside {:?}",
                    compiled.literal_prefix()
                );
            }
        }
        assert_eq!(PathPattern::new("a/**").unwrap().literal_prefix(), "a");
        assert_eq!(
            PathPattern::new("a/b/*.py").unwrap().literal_prefix(),
            "a/b"
        );
        assert_eq!(PathPattern::new("*.py").unwrap().literal_prefix(), "");
    }

    #[test]
    fn literal_patterns_match_as_their_regex_would() {
        let paths = [
            "pipeline",
            "pipeline/",
            "pipeline/a.py",
            "pipeline//a",
            "pipelines/a.py",
            "pipeline/a\nb",
            "pipeline/x/y",
            "pipeline\n",
            "x/pipeline",
            "a+b(c)",
            "a+b(c)/d",
            "ab(c)/d",
            "",
        ];
        for pattern in [
            "pipeline",
            "pipeline/",
            "pipeline/a.py",
            "a+b(c)",
            "pipeline/**",
            "pipeline//**",
            "a+b(c)/**",
        ] {
            let fast = PathPattern::new(pattern).unwrap();
            assert!(matches!(fast.matcher, Matcher::Literal), "{pattern:?}");
            assert_matches_as_unicode_regex(pattern, &fast, &paths);
        }
    }

    fn assert_matches_as_unicode_regex(pattern: &str, compiled: &PathPattern, paths: &[&str]) {
        let unicode = unicode_regex(pattern);
        for path in paths {
            assert_eq!(
                compiled.matches(path),
                unicode.is_match(path),
                "pattern {pattern:?}, path {path:?}"
            );
        }
    }

    /// The pattern's regex as taskgraph compiles it: over text, with
    /// Unicode classes.
    fn unicode_regex(pattern: &str) -> Regex {
        Regex::new(&regex_source(pattern)).unwrap()
    }

    #[test]
    fn byte_regexes_match_as_unicode_ones_would() {
        let paths = [
            "données/x",
            "données/é/ü",
            "données/a\nb",
            "données/a\n/b",
            "données/a/b\nc",
            "données",
            "donnéesx/y",
            "a/ü.py",
            "a/b/ü.py",
            "é/x/é",
            "é/ü/é/x",
            "é\n/x/é",
            "x",
            "",
        ];
        for pattern in [
            "données/*",
            "a/*.py",
            "**/ü.py",
            "é/*/é",
            "é/**/é",
            "**/*",
            "*",
            "**",
            "**/**/é",
        ] {
            let compiled = PathPattern::new(pattern).unwrap();
            assert_matches_as_unicode_regex(pattern, &compiled, &paths);
        }
    }

    #[test]
    fn other_wildcards_keep_their_regex() {
        for pattern in ["**", "a/**/b", "*/**", "a*/**", "a/**x"] {
            let compiled = PathPattern::new(pattern).unwrap();
            assert!(
                matches!(compiled.matcher, Matcher::Wildcards(_)),
                "{pattern:?}"
            );
        }
    }

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

    fn committed_repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, contents).unwrap();
        }
        for args in [
            &["init", "-q"][..],
            &["add", "-A"],
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-qm",
                "x",
            ],
        ] {
            let status = std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        dir
    }

    // The expected hashes were computed by the reference's `hash_paths`
    // on the same committed files.
    #[test]
    fn known_hashes_of_committed_files() {
        let repo = committed_repo(&[
            ("scripts/build.sh", "#!/bin/sh\nmake\n"),
            ("scripts/lib/common.sh", "set -e\n"),
            ("src/a.c", "int a;\n"),
            ("src/sub/b.c", "int b;\n"),
            ("README", "hi\n"),
        ]);
        let cache = HashCache::default();
        let patterns = |list: &[&str]| list.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
        let detailed = cache
            .hash_paths_detailed(repo.path(), &patterns(&["scripts", "src/*.c"]))
            .unwrap();
        assert_eq!(
            detailed.hash,
            "7c43cd05648bf9648b2174995f70c39ed4564d66082ebbb60ad50306239251f5"
        );
        let paths: Vec<&str> = detailed.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["scripts/build.sh", "scripts/lib/common.sh", "src/a.c"]
        );
        assert_eq!(
            cache
                .hash_paths(repo.path(), &patterns(&["**/*.c", "README"]))
                .unwrap(),
            "e2b663d9127a995400cde811916733e0082005db87971cafa4f8725c1e81ede2"
        );
        assert_eq!(
            cache.files_behind(&detailed.hash).as_deref(),
            Some(&*detailed)
        );
    }

    #[test]
    fn a_pattern_matching_nothing_is_an_error() {
        let repo = committed_repo(&[("src/a.c", "int a;\n")]);
        let cache = HashCache::default();
        let err = cache
            .hash_paths(repo.path(), &["docs/**".to_owned()])
            .unwrap_err();
        assert!(
            err.to_string().contains("`docs/**` matches no file"),
            "{err}"
        );
    }
}
