//! The default run (`graphgen --params FILE`) on the repository's own
//! pipeline: the artifacts it writes, and that they agree with the goldens
//! Python taskgraph produced for the same project.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use taskgraph::{Value, python, yaml};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A git repository holding a copy of the pipeline, like the goldens'.
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
fn default_run_writes_the_reference_artifacts() {
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
    assert!(stderr.contains("9 kinds, 22 tasks, 32 edges"), "{stderr}");

    let out = checkout.path().join("out");

    // The decision task writes the same JSON as `taskgraph full --json`,
    // without the two newlines the command line adds.
    let full = fs::read_to_string(out.join("full-task-graph.json")).unwrap();
    assert_eq!(full, golden("default.full.json").trim_end_matches('\n'));

    // Target labels, in target task set order: kinds in load order, so
    // downloads come before the cleaning that needs them.
    let targets =
        python::json_parse(&fs::read_to_string(out.join("target-tasks.json")).unwrap()).unwrap();
    let Value::List(mut targets) = targets else {
        panic!("target-tasks.json holds a list");
    };
    let position = |label: &str| targets.iter().position(|t| t.as_str() == Some(label));
    assert!(position("corpus-download-europarl-en-lt") < position("clean-download-europarl-en-lt"));
    targets.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    let expected_set = python::json_parse(&golden("default.target.json")).unwrap();
    let Value::Map(expected_set) = expected_set else {
        panic!("the target golden is an object");
    };
    let expected_labels: Vec<Value> = expected_set.keys().map(Value::from).collect();
    assert_eq!(targets, expected_labels);

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

/// `graphgen <phase> --json` prints, byte for byte, what
/// `taskgraph <phase> --json` printed for the same project.
#[test]
fn phase_commands_print_the_reference_json() {
    let checkout = pipeline_checkout();
    for phase in ["full", "target", "target-graph"] {
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
            stdout == golden(&format!("default.{phase}.json")),
            "graphgen {phase} --json differs from the golden"
        );
    }
}

/// Without `--json`, a phase prints its labels, one per line.
#[test]
fn phase_commands_print_labels_by_default() {
    let checkout = pipeline_checkout();
    let output = Command::new(env!("CARGO_BIN_EXE_graphgen"))
        .args([
            "target-graph",
            "-p",
            "taskcluster/params/default.yml",
            "-k",
            "vocab",
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
    let labels: Vec<&str> = stdout.lines().filter(|line| !line.is_empty()).collect();
    assert!(labels.contains(&"vocab-en-lt"), "{stdout}");
    assert!(
        labels.contains(&"corpus-download-europarl-en-lt"),
        "ancestors are in the target graph: {stdout}"
    );
    assert!(
        !labels.iter().any(|label| label.starts_with("teacher-")),
        "kinds after vocab are not loaded: {stdout}"
    );
    let mut sorted = labels.clone();
    sorted.sort_unstable();
    assert_eq!(labels, sorted);
}
