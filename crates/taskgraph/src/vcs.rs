//! The few facts about the project's git checkout that generation needs.
//!
//! Parameter defaults (head revision, branch, origin URL, changed files) and
//! content hashes read the repository the way the reference does: through
//! the `git` command, from the checkout that contains the working
//! directory. Mercurial checkouts are recognised but not read.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::{Error, ErrorKind, Result};

/// A git checkout.
#[derive(Debug, Clone)]
pub struct Repository {
    root: PathBuf,
}

/// Which version control system a directory belongs to.
#[derive(Debug, Clone)]
pub enum Checkout {
    Git(Repository),
    /// Mercurial: recognised (the repository type parameter says `hg`), but
    /// graphgen reads nothing from it.
    Mercurial(PathBuf),
}

/// Finds the checkout containing `start`, looking at `start` and each of
/// its ancestors for `.hg` or `.git` as the reference does.
pub fn find_checkout(start: &Path) -> Option<Checkout> {
    let start = std::path::absolute(start).ok()?;
    for dir in start.ancestors() {
        if dir.join(".hg").is_dir() {
            return Some(Checkout::Mercurial(dir.to_owned()));
        }
        if dir.join(".git").exists() {
            return Some(Checkout::Git(Repository {
                root: dir.to_owned(),
            }));
        }
    }
    None
}

impl Checkout {
    pub fn root(&self) -> &Path {
        match self {
            Checkout::Git(repo) => &repo.root,
            Checkout::Mercurial(root) => root,
        }
    }

    /// `git` or `hg`, the `repository_type` parameter.
    pub fn tool(&self) -> &'static str {
        match self {
            Checkout::Git(_) => "git",
            Checkout::Mercurial(_) => "hg",
        }
    }
}

impl Repository {
    pub fn open(root: &Path) -> Repository {
        Repository {
            root: root.to_owned(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runs git in the checkout and returns its standard output.
    pub fn git(&self, args: &[&str]) -> Result<String> {
        let output = Command::new("git")
            .args(args)
            .current_dir(&self.root)
            .output()
            .map_err(|e| vcs_error(format!("cannot run git in `{}`: {e}", self.root.display())))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(vcs_error(format!(
                "`git {}` failed in `{}`: {}",
                args.join(" "),
                self.root.display(),
                stderr.trim()
            )));
        }
        String::from_utf8(output.stdout)
            .map_err(|_| vcs_error(format!("`git {}` printed invalid UTF-8", args.join(" "))))
    }

    /// The HEAD commit (`git rev-parse --verify HEAD`).
    pub fn head_rev(&self) -> Result<String> {
        Ok(self
            .git(&["rev-parse", "--verify", "HEAD"])?
            .trim()
            .to_owned())
    }

    /// The current branch, or None when HEAD is detached.
    pub fn branch(&self) -> Result<Option<String>> {
        let branch = self.git(&["branch", "--show-current"])?.trim().to_owned();
        Ok((!branch.is_empty()).then_some(branch))
    }

    /// The URL of the `origin` remote.
    pub fn origin_url(&self) -> Result<String> {
        Ok(self
            .git(&["remote", "get-url", "origin"])?
            .trim()
            .to_owned())
    }

    /// Files added or modified in the working tree but not staged: the
    /// reference's `files_changed` default (`git diff --name-only
    /// --no-renames --diff-filter=AM`).
    pub fn unstaged_added_or_modified(&self) -> Result<Vec<String>> {
        let out = self.git(&["diff", "--name-only", "--no-renames", "--diff-filter=AM"])?;
        Ok(out
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// Every file committed at HEAD under `base` (or everywhere when `base`
    /// is empty), as paths relative to the repository root.
    pub fn tracked_files(&self, base: &str) -> Result<Vec<String>> {
        let mut args = vec![
            "-c",
            "core.quotePath=true",
            "ls-tree",
            "-r",
            "--name-only",
            "HEAD",
        ];
        if !base.is_empty() {
            args.push(base);
        }
        let out = self.git(&args)?;
        Ok(out.lines().map(str::to_owned).collect())
    }
}

fn vcs_error(message: String) -> Error {
    Error::new(ErrorKind::Vcs(message))
}

/// The repository name the reference derives from an origin URL with
/// `mozilla_repo_urls.parse(url).repo_name`, or None when that raises (the
/// reference then blanks both the URL and the project).
///
/// mozilla_repo_urls hands the URL, without trailing slashes, to
/// giturlparse: the first platform pattern (in platform order, each
/// platform's patterns in order) that matches at the start of the URL, case
/// insensitively, and whose captured domain the platform accepts, decides.
/// The URL is then valid if it captured a domain and a repository, and
/// supported if the domain is `github.com`, `gist.github.com` or
/// `hg.mozilla.org`. The name is the last segment of the captured path
/// without `.git`, which can be empty (the generic patterns capture no
/// path). Only the platforms that can accept those three domains are
/// ported here: Mercurial at Mozilla, GitHub, GitLab (any domain but
/// GitHub's) and the generic fallback (likewise); the others only accept
/// their own domains, and a URL they match is unsupported either way.
pub fn project_from_url(url: &str) -> Option<String> {
    let url = url.trim_end_matches('/');
    let (domain, pathname) = URL_PLATFORMS
        .iter()
        .find_map(|platform| {
            platform.patterns.iter().find_map(|pattern| {
                let captures = pattern.captures(url)?;
                let domain = captures.name("domain").map_or("", |m| m.as_str());
                let accepted = platform
                    .domains
                    .is_none_or(|domains| domains.contains(&domain))
                    && !platform.skip_domains.contains(&domain);
                if !accepted {
                    return None;
                }
                let repo = captures.name("repo").map_or("", |m| m.as_str());
                let pathname = captures.name("pathname").map_or("", |m| m.as_str());
                Some((domain, repo, pathname))
            })
        })
        .and_then(|(domain, repo, pathname)| {
            (!domain.is_empty() && !repo.is_empty()).then_some((domain, pathname))
        })?;
    if !matches!(domain, "github.com" | "gist.github.com" | "hg.mozilla.org") {
        return None;
    }
    let pathname = pathname.trim_matches(':').trim_end_matches('/');
    let repo_path = pathname.strip_suffix(".git").unwrap_or(pathname);
    let repo_path = repo_path.trim_matches('/');
    Some(repo_path.rsplit('/').next().unwrap_or_default().to_owned())
}

/// One giturlparse platform: its patterns, and the domains it accepts
/// (None: any) or refuses.
struct UrlPlatform {
    patterns: Vec<Regex>,
    domains: Option<&'static [&'static str]>,
    skip_domains: &'static [&'static str],
}

const GITHUB_DOMAINS: &[&str] = &["github.com", "gist.github.com"];

/// giturlparse's patterns, in its order, with mozilla_repo_urls'
/// Mercurial platform first. Python's conditional groups in the GitLab
/// patterns (`(?(groups_path)/)?` and `(?(port))?`, both optional) become
/// `/?` and nothing, which match the same URLs.
static URL_PLATFORMS: LazyLock<Vec<UrlPlatform>> = LazyLock::new(|| {
    let compile = |patterns: &[&str]| -> Vec<Regex> {
        patterns
            .iter()
            .map(|p| Regex::new(&format!("(?i)^(?:{p})")).expect("URL patterns are valid"))
            .collect()
    };
    vec![
        UrlPlatform {
            patterns: compile(&[
                r"(?P<protocols>(?P<protocol>hg))://(?P<domain>[^/]+?)(?P<transport_protocol>|:https|:ssh)(?P<pathname>/(?P<repo>(([^/]+?)(/)?){1,2}))/?$",
                r"(?P<protocols>(hg::)?(?P<protocol>https))://(?P<domain>[^/]+?)(?P<pathname>/(?P<repo>(([^/]+?)(/)?){1,2}))(?P<path_raw>(/raw-file/|/file/).+)?$",
                r"(?P<protocols>(hg::)?(?P<protocol>ssh))(://)?(?P<domain>.+?)(?P<pathname>(:|/)(?P<repo>(([^/]+?)(/)?){1,2}))/?$",
            ]),
            domains: Some(&["hg.mozilla.org"]),
            skip_domains: &[],
        },
        UrlPlatform {
            patterns: compile(&[
                r"(?P<protocols>(git\+)?(?P<protocol>https))://((?P<username>[^/]+?):(?P<access_token>[^/]+?)@)?(?P<domain>[^/]+?)(?P<pathname>/(?P<owner>[^/]+?)/(?P<repo>[^/]+?)(?:(\.git)?(/)?)(?P<path_raw>(/blob/|/tree/).+)?)$",
                r"(?P<protocols>(git\+)?(?P<protocol>ssh))?(://)?git@(?P<domain>.+?)(?P<pathname>(:|/)(?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:(\.git)?(/)?)(?P<path_raw>(/blob/|/tree/).+)?)$",
                r"(?P<protocols>(?P<protocol>git))://(?P<domain>.+?)(?P<pathname>/(?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:(\.git)?(/)?)(?P<path_raw>(/blob/|/tree/).+)?)$",
            ]),
            domains: Some(GITHUB_DOMAINS),
            skip_domains: &[],
        },
        UrlPlatform {
            patterns: compile(&[
                r"(?P<protocols>(git\+)?(?P<protocol>https))://((?P<username>[^/]+?):(?P<access_token>[^/]+?)@)?(?P<domain>[^:/]+)(?P<port>:[0-9]+)?(?P<pathname>/(?P<owner>[^/]+?)/(?P<groups_path>.*?)?/?(?P<repo>[^/]+?)(?:(\.git)?(/)?)(?P<path_raw>(/blob/|/-/blob/|/-/tree/).+)?)$",
                r"(?P<protocols>(git\+)?(?P<protocol>ssh))?(://)?(?P<_user>.+?)@(?P<domain>[^:/]+)(:)?(?P<port>[0-9]+)?(?P<pathname>/?(?P<owner>[^/]+)/(?P<groups_path>.*?)?/?(?P<repo>[^/]+?)(?:(\.git)?(/)?)(?P<path_raw>(/blob/|/-/blob/|/-/tree/).+)?)$",
                r"(?P<protocols>(?P<protocol>git))://(?P<domain>[^:/]+):?(?P<port>[0-9]+)?(?P<pathname>/(?P<owner>[^/]+?)/(?P<groups_path>.*?)?/?(?P<repo>[^/]+?)(?:(\.git)?(/)?)(?P<path_raw>(/blob/|/-/blob/|/-/tree/).+)?)$",
            ]),
            domains: None,
            skip_domains: GITHUB_DOMAINS,
        },
        UrlPlatform {
            patterns: compile(&[
                r"(?P<_user>.+)@(?P<domain>[^/]+?):(?P<repo>.+)(?:(\.git)?(/)?)",
                r"(?P<protocols>(?P<protocol>http))://(?P<domain>[^/]+?)/(?P<repo>.+)(?:(\.git)?(/)?)",
                r"(?P<protocols>(?P<protocol>https))://(?P<domain>[^/]+?)/(?P<repo>.+)(?:(\.git)?(/)?)",
                r"(?P<protocols>(?P<protocol>git))://(?P<domain>[^/]+?)/(?P<repo>.+)(?:(\.git)?(/)?)",
            ]),
            domains: None,
            skip_domains: GITHUB_DOMAINS,
        },
    ]
});

#[cfg(test)]
mod tests {
    use super::*;

    /// `mozilla_repo_urls.parse(url).repo_name` for each URL, as the
    /// reference's Python printed it (None: the parse raised).
    const REFERENCE_PROJECTS: &[(&str, Option<&str>)] = &[
        (
            "https://github.com/mozilla/translations",
            Some("translations"),
        ),
        (
            "https://github.com/mozilla/translations.git",
            Some("translations"),
        ),
        (
            "https://github.com/mozilla/translations/",
            Some("translations"),
        ),
        (
            "https://github.com/mozilla/translations.git/",
            Some("translations"),
        ),
        (
            "git@github.com:mozilla/translations.git",
            Some("translations"),
        ),
        ("git@github.com:mozilla/translations", Some("translations")),
        ("ssh://git@github.com/a/b", Some("b")),
        ("ssh://git@github.com:22/a/b.git", None),
        ("https://github.com/a", None),
        ("https://github.com/a/b/c", None),
        ("http://github.com/a/b", None),
        (
            "https://hg.mozilla.org/mozilla-central",
            Some("mozilla-central"),
        ),
        (
            "https://hg.mozilla.org/releases/mozilla-beta",
            Some("mozilla-beta"),
        ),
        ("https://hg.mozilla.org/a/b/c", Some("c")),
        ("https://gitlab.com/a/b", None),
        ("/srv/repos/project", None),
        ("", None),
        ("https://www.github.com/a/b", None),
        ("https://user@github.com/a/b", None),
        (
            "https://x-access-token:secret@github.com/a/b.git",
            Some("b"),
        ),
        ("git://github.com/a/b", Some("b")),
        ("https://github.com/a/b.git.git", Some("b.git")),
        ("https://github.com/A/B", Some("B")),
        ("HTTPS://github.com/a/B.GIT", Some("B.GIT")),
        ("https://GitHub.com/a/b", None),
        ("https://github.com/a/b?x=1", Some("b?x=1")),
        ("https://github.com/a/b/tree/main", Some("main")),
        (
            "hg::https://hg.mozilla.org/mozilla-unified",
            Some("mozilla-unified"),
        ),
        ("https://github.com/a/b-c.d", Some("b-c.d")),
        ("git+ssh://git@github.com/a/b", Some("b")),
        ("ssh://hg.mozilla.org/try", Some("try")),
        ("https://gist.github.com/a/b", Some("b")),
        ("file:///tmp/x", None),
        ("github.com:a/b", None),
        ("https://github.com//a/b", None),
        ("http://hg.mozilla.org/x", Some("")),
        ("git@hg.mozilla.org:x/y", Some("y")),
        ("https://bitbucket.org/a/b", None),
    ];

    #[test]
    fn projects_match_mozilla_repo_urls() {
        for (url, expected) in REFERENCE_PROJECTS {
            assert_eq!(
                project_from_url(url).as_deref(),
                *expected,
                "project of {url:?}"
            );
        }
    }
}
