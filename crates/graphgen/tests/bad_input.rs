//! Bad input, end to end: each class of mistake a user can make in a
//! project or its parameters ends in one clear message on stderr that says
//! where the mistake is, exit status 1, no panic, and no artifacts.
//!
//! Every test starts from the same small valid project and breaks one
//! thing in it.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::{assert_mentions, repo_root};

const CONFIG: &str = "\
trust-domain: demo
task-priority: low
taskgraph:
    repositories:
        demo:
            name: Demo
workers:
    aliases:
        linux:
            provisioner: demo-{level}
            implementation: docker-worker
            os: linux
            worker-type: linux
        images:
            provisioner: demo-{level}
            implementation: docker-worker
            os: linux
            worker-type: images
";

const PARAMS: &str = "\
base_repository: https://github.com/graphgen-fixtures/demo
head_repository: https://github.com/graphgen-fixtures/demo
head_rev: '2222222222222222222222222222222222222222'
head_ref: main
build_date: 1700000000
pushdate: 1700000000
moz_build_date: '20231114221320'
level: '3'
project: demo
";

const BUILD_KIND: &str = "\
tasks:
    linux:
        description: Build on Linux
        worker-type: linux
        worker:
            docker-image: debian:12
            max-run-time: 600
        run:
            using: run-task
            checkout: false
            command: make
";

const TEST_KIND: &str = "\
kind-dependencies: [build]
tasks:
    unit:
        description: Unit tests
        worker-type: linux
        dependencies:
            build: build-linux
        worker:
            docker-image: debian:12
            max-run-time: 600
        run:
            using: run-task
            checkout: false
            command: make check
";

/// A valid project with a `build` and a `test` kind, committed to a fresh
/// repository so that parameter defaults can read the checkout.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        let run_task_dir = repo_root().join("taskcluster/scripts/run-task");
        let config = format!(
            "{CONFIG}graphgen:\n    run-task-dir: {}\n",
            run_task_dir.display()
        );
        project.write("taskcluster/config.yml", &config);
        project.write("params.yml", PARAMS);
        project.write("taskcluster/kinds/build/kind.yml", BUILD_KIND);
        project.write("taskcluster/kinds/test/kind.yml", TEST_KIND);
        common::commit_all(project.path());
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, contents: &str) {
        common::write_file(self.path(), relative, contents);
    }

    /// Replaces `from` by `to` in a file, which must contain it.
    fn edit(&self, relative: &str, from: &str, to: &str) {
        let path = self.path().join(relative);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{relative} has no `{from}`");
        fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    /// The default run, which would write artifacts to `out/`.
    fn run(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_graphgen"))
            .args(["--params", "params.yml", "--output-dir", "out"])
            .args(extra)
            .current_dir(self.path())
            .env("TASKCLUSTER_ROOT_URL", "https://tc.example.com")
            .env_remove("GRAPHGEN_RUN_TASK_DIR")
            .env_remove("TASK_ID")
            .output()
            .unwrap()
    }

    /// Runs graphgen, expects a clean failure, and returns stderr.
    fn fail(&self) -> String {
        self.fail_with(&[])
    }

    /// [`Project::fail`], with more arguments.
    fn fail_with(&self, extra: &[&str]) -> String {
        common::clean_failure(&self.run(extra), &self.path().join("out"))
    }
}

#[test]
fn the_valid_project_succeeds() {
    let project = Project::new();
    let output = project.run(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(project.path().join("out/full-task-graph.json").is_file());
}

#[test]
fn invalid_yaml_names_the_file_and_line() {
    let project = Project::new();
    project.edit(
        "taskcluster/kinds/test/kind.yml",
        "        description: Unit tests\n",
        "        description: Unit tests\n      bad: [\n",
    );
    let stderr = project.fail();
    assert_mentions(&stderr, &["invalid YAML", "kinds/test/kind.yml:"]);
}

#[test]
fn an_unreadable_tasks_from_file_is_named() {
    let project = Project::new();
    project.write(
        "taskcluster/kinds/build/kind.yml",
        &format!("{BUILD_KIND}tasks-from: [missing.yml]\n"),
    );
    let stderr = project.fail();
    assert_mentions(&stderr, &["kind `build`", "kinds/build/missing.yml"]);
}

#[test]
fn an_unknown_transform_suggests_close_names() {
    let project = Project::new();
    project.write(
        "taskcluster/kinds/build/kind.yml",
        &format!("transforms: [taskgraph.transforms.task_contxt]\n{BUILD_KIND}"),
    );
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &[
            "kind `build`",
            "unknown transform `taskgraph.transforms.task_contxt`",
            "taskgraph.transforms.task_context:transforms",
        ],
    );
}

#[test]
fn a_schema_violation_names_kind_task_and_field() {
    let project = Project::new();
    project.edit(
        "taskcluster/kinds/test/kind.yml",
        "max-run-time: 600",
        "max-run-time: ten minutes",
    );
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &["kind `test`", "task `test-unit`", "max-run-time"],
    );
}

#[test]
fn keyed_by_without_a_match_names_the_field() {
    let project = Project::new();
    project.edit(
        "taskcluster/kinds/build/kind.yml",
        "        worker-type: linux\n",
        "        worker-type: linux\n        run-on-projects:\n            by-build-platform:\n                mac: [all]\n",
    );
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &[
            "kind `build`",
            "task `build-linux`",
            "run-on-projects",
            "build-platform",
        ],
    );
}

#[test]
fn every_unknown_dependency_is_listed() {
    let project = Project::new();
    project.edit(
        "taskcluster/kinds/test/kind.yml",
        "build: build-linux",
        "build: build-linux\n            docs: build-docs\n            mac: build-mac",
    );
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &[
            "2 unknown task dependencies",
            "task `test-unit` depends on `build-docs`",
            "task `test-unit` depends on `build-mac`",
        ],
    );
}

#[test]
fn a_duplicate_label_is_named() {
    let project = Project::new();
    project.write(
        "taskcluster/kinds/build/kind.yml",
        &format!(
            "{BUILD_KIND}    other:
        label: build-linux
        description: Build again
        worker-type: linux
        worker:
            docker-image: debian:12
            max-run-time: 600
        run:
            using: run-task
            checkout: false
            command: make
"
        ),
    );
    let stderr = project.fail();
    assert_mentions(&stderr, &["duplicate tasks with label `build-linux`"]);
}

#[test]
fn a_dependency_cycle_prints_its_labels() {
    let project = Project::new();
    project.edit(
        "taskcluster/kinds/build/kind.yml",
        "        worker-type: linux\n",
        "        worker-type: linux\n        dependencies:\n            tests: test-unit\n",
    );
    project.edit(
        "taskcluster/kinds/build/kind.yml",
        "tasks:",
        "kind-dependencies: []\ntasks:",
    );
    let stderr = project.fail();
    assert_mentions(&stderr, &["cycle", "build-linux", "test-unit"]);
}

#[test]
fn a_missing_kind_dependency_lists_the_kinds() {
    let project = Project::new();
    project.edit(
        "taskcluster/kinds/test/kind.yml",
        "kind-dependencies: [build]",
        "kind-dependencies: [build, docs]",
    );
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &["kind `test` depends on kind `docs`", "build", "test"],
    );
}

#[test]
fn a_kind_cycle_lists_the_kinds() {
    let project = Project::new();
    project.write(
        "taskcluster/kinds/build/kind.yml",
        &format!("kind-dependencies: [test]\n{BUILD_KIND}"),
    );
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &["kind dependencies form a cycle", "build", "test"],
    );
}

#[test]
fn a_missing_params_file_is_named() {
    let project = Project::new();
    fs::remove_file(project.path().join("params.yml")).unwrap();
    let stderr = project.fail();
    assert_mentions(&stderr, &["params.yml"]);
}

#[test]
fn a_parameter_of_the_wrong_type_is_named() {
    let project = Project::new();
    project.edit("params.yml", "level: '3'", "level: 3");
    let stderr = project.fail();
    assert_mentions(&stderr, &["invalid parameters", "level"]);
}

#[test]
fn missing_run_task_files_say_how_to_configure_them() {
    let project = Project::new();
    project.edit(
        "taskcluster/kinds/build/kind.yml",
        "checkout: false",
        "checkout: true",
    );
    let config = fs::read_to_string(project.path().join("taskcluster/config.yml")).unwrap();
    let without = config.split("graphgen:").next().unwrap().to_owned();
    project.write("taskcluster/config.yml", &without);
    let stderr = project.fail();
    assert_mentions(&stderr, &["build-linux", "GRAPHGEN_RUN_TASK_DIR"]);
}

#[test]
fn a_failed_run_keeps_earlier_artifacts_whole() {
    let project = Project::new();
    let output = project.run(&[]);
    assert!(output.status.success());
    let full = project.path().join("out/full-task-graph.json");
    let before = fs::read(&full).unwrap();

    project.edit("params.yml", "level: '3'", "level: 3");
    let output = project.run(&[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(fs::read(&full).unwrap(), before);
}

const FETCH_KIND: &str = "\
loader: taskgraph.loader.transform:loader
transforms:
    - taskgraph.transforms.fetch:transforms
    - taskgraph.transforms.run:transforms
    - taskgraph.transforms.task:transforms
task-defaults:
    docker-image: debian:12
tasks:
    zlib:
        description: zlib sources
        fetch:
            type: static-url
            url: https://example.com/zlib.tar.gz
            sha256: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
            size: 1024
";

#[test]
fn a_valid_fetch_kind_succeeds() {
    let project = Project::new();
    project.write("taskcluster/kinds/fetch/kind.yml", FETCH_KIND);
    let output = project.run(&[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_fetch_without_its_sha256_is_named() {
    let project = Project::new();
    let kind = FETCH_KIND.replace(
        "            sha256: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
        "",
    );
    project.write("taskcluster/kinds/fetch/kind.yml", &kind);
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &[
            "kind `fetch`",
            "task `zlib`",
            "field `fetch.sha256`",
            "fetch/kind.yml",
        ],
    );
}

#[test]
fn an_unknown_fetch_type_lists_the_known_ones() {
    let project = Project::new();
    let kind = FETCH_KIND.replace("type: static-url", "type: static-uri");
    project.write("taskcluster/kinds/fetch/kind.yml", &kind);
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &[
            "task `zlib`",
            "unknown fetch type `static-uri`",
            "static-url",
        ],
    );
}

#[test]
fn a_git_fetch_needs_a_full_revision() {
    let project = Project::new();
    let kind = FETCH_KIND.replace(
        "            type: static-url\n            url: https://example.com/zlib.tar.gz\n",
        "            type: git\n            repo: https://example.com/zlib\n            revision: main\n",
    );
    let kind = kind
        .lines()
        .filter(|line| !line.contains("sha256:") && !line.contains("size:"))
        .collect::<Vec<_>>()
        .join("\n");
    project.write("taskcluster/kinds/fetch/kind.yml", &kind);
    let stderr = project.fail();
    assert_mentions(&stderr, &["task `zlib`", "`main`", "fetch.revision"]);
}

const CACHED_KIND: &str = "\
loader: taskgraph.loader.transform:loader
kind-dependencies: [build]
transforms:
    - taskgraph.transforms.cached_tasks
    - taskgraph.transforms.task
tasks:
    pack:
        description: Pack the build
        worker-type: linux
        dependencies:
            build: build-linux
        cache:
            type: packs.v1
            name: pack
            digest-data: [one]
        worker:
            docker-image: debian:12
            max-run-time: 600
";

#[test]
fn a_cached_task_with_an_uncached_parent_is_refused() {
    let project = Project::new();
    project.write("taskcluster/kinds/pack/kind.yml", CACHED_KIND);
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &[
            "kind `pack`",
            "task `pack`",
            "`build-linux`, which is not cached",
            "field `dependencies`",
        ],
    );

    // Without the uncached parent, the same task is cached.
    let without_parent = CACHED_KIND.replace(
        "        dependencies:\n            build: build-linux\n",
        "",
    );
    project.write("taskcluster/kinds/pack/kind.yml", &without_parent);
    let output = project.run(&[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_resource_deleted_from_the_checkout_is_named() {
    let project = Project::new();
    project.write("taskcluster/scripts/toolchain/pack.sh", "#!/bin/sh\n");
    project.write(
        "taskcluster/kinds/toolchain/kind.yml",
        "\
loader: taskgraph.loader.transform:loader
transforms:
    - taskgraph.transforms.run
    - taskgraph.transforms.cached_tasks
    - taskgraph.transforms.task
tasks:
    pack:
        description: Pack tools
        worker-type: linux
        worker:
            docker-image: {indexed: demo.cache.image}
            max-run-time: 600
            env: {}
            volumes: [/builds/worker/checkouts]
        run:
            using: toolchain-script
            script: pack.sh
            toolchain-artifact: public/build/pack.tar.zst
            use-caches: []
",
    );
    // Resources are the files git has committed, read from the working
    // tree: commit the script, then delete it.
    for args in [&["add", "-A"][..], &["commit", "-qm", "script"]] {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(project.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let output = project.run(&[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    fs::remove_dir_all(project.path().join("out")).unwrap();

    fs::remove_file(project.path().join("taskcluster/scripts/toolchain/pack.sh")).unwrap();
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &[
            "task `toolchain-pack`",
            "taskcluster/scripts/toolchain/pack.sh",
        ],
    );
}

#[test]
fn malformed_existing_tasks_are_named() {
    let project = Project::new();
    project.write(
        "params.yml",
        &format!("{PARAMS}existing_tasks: [build-linux]\n"),
    );
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &["invalid parameters", "existing_tasks", "params.yml"],
    );
}

#[test]
fn an_unknown_optimization_strategy_names_the_task() {
    let project = Project::new();
    project.edit(
        "taskcluster/kinds/build/kind.yml",
        "        worker-type: linux\n",
        "        worker-type: linux\n        optimization: {index-serch: [a.b]}\n",
    );
    let stderr = project.fail();
    assert_mentions(
        &stderr,
        &[
            "kind `build`",
            "task `linux`",
            "optimization.index-serch",
            "kind.yml",
        ],
    );
}

#[test]
fn a_missing_index_snapshot_is_named() {
    let project = Project::new();
    let stderr = project.fail_with(&["--index", "no-such-index.json"]);
    assert_mentions(&stderr, &["no-such-index.json"]);
}

#[test]
fn an_index_snapshot_entry_without_a_field_is_named() {
    let project = Project::new();
    project.write(
        "index.json",
        r#"{"demo.v2.a": {"taskId": "abc", "expires": "2099-01-01T00:00:00.000Z"}}"#,
    );
    let stderr = project.fail_with(&["--index", "index.json"]);
    assert_mentions(&stderr, &["index.json", "demo.v2.a", "state"]);
}

#[test]
fn an_unreachable_index_is_an_error_not_a_rebuild() {
    let project = Project::new();
    project.edit(
        "taskcluster/kinds/build/kind.yml",
        "        worker-type: linux\n",
        "        worker-type: linux\n        optimization: {index-search: [demo.v2.build]}\n",
    );
    // Nothing listens on port 9 of the loopback interface.
    let output = Command::new(env!("CARGO_BIN_EXE_graphgen"))
        .args(["--params", "params.yml", "--output-dir", "out"])
        .args(["--index", "taskcluster"])
        .current_dir(project.path())
        .env("TASKCLUSTER_ROOT_URL", "http://127.0.0.1:9")
        .env_remove("TASKCLUSTER_PROXY_URL")
        .env_remove("TASK_ID")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_mentions(&stderr, &["findTasksAtIndex", "127.0.0.1:9"]);
    assert!(
        !project.path().join("out").exists(),
        "a failed run wrote artifacts"
    );
}
