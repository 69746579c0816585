//! The few facts about the project's git checkout that generation needs.
//!
//! Parameter defaults (head revision, branch, origin URL, changed files) and
//! content hashes read the repository the way the reference does: through
//! the `git` command, from the checkout that contains the working
//! directory. Mercurial checkouts are recognised but not read.

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// The repository name the reference derives from an origin URL
/// (mozilla_repo_urls): the last path segment without `.git`, for GitHub
/// and hg.mozilla.org URLs. Any other host or shape gives None, and the
/// reference then blanks both the URL and the project.
pub fn project_from_url(url: &str) -> Option<String> {
    let url = url.trim_end_matches('/');
    let (host, path) = split_host_and_path(url)?;
    let supported = matches!(host, "github.com" | "gist.github.com" | "hg.mozilla.org");
    if !supported {
        return None;
    }
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let valid_depth = if host == "hg.mozilla.org" {
        (1..=2).contains(&segments.len())
    } else {
        segments.len() == 2
    };
    if !valid_depth {
        return None;
    }
    segments.last().map(|s| (*s).to_owned())
}

fn split_host_and_path(url: &str) -> Option<(&str, &str)> {
    if let Some((scheme, rest)) = url.split_once("://") {
        let scheme = scheme.strip_prefix("hg::").unwrap_or(scheme);
        if !matches!(scheme, "https" | "http" | "ssh" | "git" | "git+ssh" | "hg") {
            return None;
        }
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit('@').next()?;
        let host = host.split(':').next()?;
        return Some((host, path));
    }
    // scp-like syntax: git@github.com:owner/repo.git
    let (user_host, path) = url.split_once(':')?;
    let host = user_host.rsplit('@').next()?;
    Some((host, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_come_from_github_and_hg_mozilla_org_urls() {
        assert_eq!(
            project_from_url("https://github.com/mozilla/translations").as_deref(),
            Some("translations")
        );
        assert_eq!(
            project_from_url("https://github.com/mozilla/translations.git/").as_deref(),
            Some("translations")
        );
        assert_eq!(
            project_from_url("git@github.com:mozilla/translations.git").as_deref(),
            Some("translations")
        );
        assert_eq!(
            project_from_url("ssh://git@github.com/a/b").as_deref(),
            Some("b")
        );
        assert_eq!(
            project_from_url("https://hg.mozilla.org/mozilla-central").as_deref(),
            Some("mozilla-central")
        );
        assert_eq!(
            project_from_url("https://hg.mozilla.org/releases/mozilla-beta").as_deref(),
            Some("mozilla-beta")
        );
    }

    #[test]
    fn other_hosts_give_no_project() {
        assert_eq!(project_from_url("https://gitlab.com/a/b"), None);
        assert_eq!(project_from_url("/srv/repos/project"), None);
        assert_eq!(project_from_url(""), None);
    }
}
