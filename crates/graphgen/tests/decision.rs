//! The default run (`graphgen --params FILE`) on the repository's own
//! pipeline: the artifacts it writes, and that the command line prints
//! what the pipeline's goldens (tests/pipeline.rs) hold.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use taskgraph::{Value, python, yaml};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies a tree with the modes a git checkout gives its files (0755 if
/// executable, else 0644), whatever this clone's umask made of them:
/// docker context hashes include file modes.
fn copy_tree(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
            continue;
        }
        fs::copy(entry.path(), &target).unwrap();
        let executable = entry.metadata().unwrap().permissions().mode() & 0o111 != 0;
        let mode = if executable { 0o755 } else { 0o644 };
        fs::set_permissions(&target, fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// A git repository holding a committed copy of the pipeline, like the
/// goldens': cache digests hash the files committed at HEAD.
fn pipeline_checkout() -> tempfile::TempDir {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(
        &repo_root().join("taskcluster"),
        &scratch.path().join("taskcluster"),
    );
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-qm", "pipeline"],
    ] {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=graphgen",
                "-c",
                "user.email=graphgen@example.com",
            ])
            .args(args)
            .current_dir(scratch.path())
            .status()
            .expect("git must be installed");
        assert!(status.success());
    }
    scratch
}

fn golden(name: &str) -> String {
    let path = repo_root().join("tests/pipeline/expected").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn default_run_writes_the_decision_artifacts() {
    let checkout = pipeline_checkout();
    let output = Command::new(env!("CARGO_BIN_EXE_graphgen"))
        .args([
            "--params",
            "taskcluster/params/default.yml",
            "--output-dir",
            "out",
        ])
        .current_dir(checkout.path())
        .env("TASKCLUSTER_ROOT_URL", "https://tc.example.com")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "data belongs in the artifacts, not on stdout"
    );
    assert!(
        stderr.contains("19 kinds, 46 tasks, 148 edges; 1 target tasks, 46 in the target graph"),
        "{stderr}"
    );

    let out = checkout.path().join("out");

    // The decision task writes the same JSON as `graphgen full --json`,
    // without the two newlines the command line adds.
    let full = fs::read_to_string(out.join("full-task-graph.json")).unwrap();
    assert_eq!(full, golden("default.full.json").trim_end_matches('\n'));

    // Stage `all` targets the one task that depends on every branch.
    let targets =
        python::json_parse(&fs::read_to_string(out.join("target-tasks.json")).unwrap()).unwrap();
    assert_eq!(targets, Value::str_list(["all-en-lt-1"]));
    let expected_set = python::json_parse(&golden("default.target.json")).unwrap();
    let Value::Map(expected_set) = expected_set else {
        panic!("the target golden is an object");
    };
    let expected_labels: Vec<&str> = expected_set.keys().collect();
    assert_eq!(expected_labels, ["all-en-lt-1"]);

    // parameters.yml holds the parameters the graph was made with.
    let written = yaml::load_file(&out.join("parameters.yml")).unwrap();
    let given = yaml::load_file(&repo_root().join("taskcluster/params/default.yml")).unwrap();
    let (Value::Map(written), Value::Map(given)) = (written, given) else {
        panic!("parameters are mappings");
    };
    for (key, value) in &given {
        assert_eq!(written.get(key), Some(value), "parameter {key}");
    }
    assert_eq!(written.get("target-kinds"), Some(&Value::List(Vec::new())));
}

/// `graphgen <phase> --json` prints, byte for byte, what the goldens hold.
/// The target graph of stage `all` is the whole graph, so its golden is
/// the full one.
#[test]
fn phase_commands_print_the_golden_json() {
    let checkout = pipeline_checkout();
    for (phase, golden_phase) in [
        ("full", "full"),
        ("target", "target"),
        ("target-graph", "full"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_graphgen"))
            .args([
                phase,
                "--root",
                "taskcluster",
                "-p",
                "taskcluster/params/default.yml",
                "--json",
            ])
            .current_dir(checkout.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            stdout == golden(&format!("default.{golden_phase}.json")),
            "graphgen {phase} --json differs from the golden"
        );
    }
}

/// Without `--json`, a phase prints its labels, one per line.
#[test]
fn phase_commands_print_labels_by_default() {
    let checkout = pipeline_checkout();
    // The default parameters, stopping at the vocabulary.
    let default = fs::read_to_string(repo_root().join("taskcluster/params/default.yml")).unwrap();
    let vocab = default.replace("    target-stage: all\n", "    target-stage: vocab\n");
    assert_ne!(vocab, default, "default.yml sets `target-stage: all`");
    fs::write(checkout.path().join("vocab.yml"), vocab).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_graphgen"))
        .args(["target-graph", "-p", "vocab.yml", "-k", "vocab"])
        .current_dir(checkout.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let labels: Vec<&str> = stdout.lines().filter(|line| !line.is_empty()).collect();
    assert!(labels.contains(&"vocab-en-lt"), "{stdout}");
    assert!(
        labels.contains(&"dataset-opus-Books_v1-en-lt"),
        "ancestors are in the target graph: {stdout}"
    );
    assert!(
        !labels.iter().any(|label| label.starts_with("train-")),
        "kinds after vocab are not loaded: {stdout}"
    );
    let mut sorted = labels.clone();
    sorted.sort_unstable();
    assert_eq!(labels, sorted);
}
