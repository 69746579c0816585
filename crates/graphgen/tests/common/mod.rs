//! What the command-line tests share: fixture checkouts and running the
//! binary on them.

#![allow(dead_code, reason = "each test file uses its own part")]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies a fixture, leaving out its goldens (`expected/`).
pub fn copy_fixture(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "expected" {
                copy_fixture(&entry.path(), &target);
            }
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// tests/fixtures/NAME, committed to a fresh git repository.
pub fn checkout(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(&repo_root().join("tests/fixtures").join(name), dir.path());
    commit_all(dir.path());
    dir
}

/// Writes `contents` to `relative` under `root`, making directories.
pub fn write_file(root: &Path, relative: &str, contents: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// Makes `root` a git repository with everything in it committed, so that
/// parameter defaults and resource hashes can read the checkout.
pub fn commit_all(root: &Path) {
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
        let status = Command::new("git")
            .args(args)
            .current_dir(root)
            .status()
            .expect("git must be installed");
        assert!(status.success());
    }
}

/// Checks that a run failed cleanly, the way every bad input must: exit
/// status 1, one `error:` message and no panic on stderr, nothing on
/// stdout, and no artifacts in `artifacts_dir`. Returns stderr.
pub fn clean_failure(output: &Output, artifacts_dir: &Path) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(output.stdout.is_empty(), "stdout is for data only");
    assert!(!artifacts_dir.exists(), "a failed run wrote artifacts");
    stderr
}

/// Checks that `stderr` says every one of `parts`.
pub fn assert_mentions(stderr: &str, parts: &[&str]) {
    for part in parts {
        assert!(stderr.contains(part), "missing `{part}` in:\n{stderr}");
    }
}

/// Runs graphgen in `dir` with the environment a fixture needs and no
/// decision task around it.
pub fn graphgen(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graphgen"))
        .args(args)
        .current_dir(dir)
        .env("TASKCLUSTER_ROOT_URL", "https://tc.example.com")
        .env(
            "GRAPHGEN_RUN_TASK_DIR",
            repo_root().join("taskcluster/scripts/run-task"),
        )
        .env_remove("TASK_ID")
        .env_remove("TASKCLUSTER_PROXY_URL")
        .env_remove("GRAPHGEN_LOG")
        .output()
        .unwrap()
}

/// Stdout of a run that must have succeeded.
pub fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "graphgen failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Stderr of a run that must have failed.
pub fn stderr_of_failure(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "graphgen succeeded: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stderr.clone()).unwrap()
}
