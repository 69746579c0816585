//! `--previous-group-ids` and `--start-task-prefix` on the downloads
//! fixture, with the task groups of tests/task-groups/groups:
//!
//! - `OlderGroup0…` (not listed on the command line) built
//!   `docker-image-fetch` and `fetch-zlib`;
//! - `FirstGroup1…` built the fetches and `toolchain-zlib` on top of them,
//!   its `fetch-cmake` has since expired, its `toolchain-spm` failed and
//!   `build-native` never ran;
//! - `RetryGroup2…`, an action, rebuilt `toolchain-spm` and `fetch-corpus`.
//!
//! tests/task-groups/expected holds what the translations train action
//! computes for each case of tests/task-groups/cases.json
//! (scripts/previous-groups-reference.py). graphgen must agree, except that
//! it never reuses an expired task: the action would reuse `fetch-cmake`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{graphgen, repo_root, stderr_of_failure, stdout_of};
use serde_json::Value;

const FIRST: &str = "FirstGroup1Xq0QZ9bYAAA";
const RETRY: &str = "RetryGroup2Xq0QZ9bYAAA";

fn groups_dir() -> PathBuf {
    repo_root().join("tests/task-groups/groups")
}

/// The case's command-line arguments.
fn case_args(case: &Value) -> Vec<String> {
    let ids: Vec<&str> = case["previous-group-ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    let mut args = vec![
        "--previous-group-ids".to_owned(),
        ids.join(","),
        "--task-groups".to_owned(),
        groups_dir().display().to_string(),
    ];
    if let Some(prefix) = case["start-task-prefix"].as_str() {
        args.extend(["--start-task-prefix".to_owned(), prefix.to_owned()]);
    }
    args
}

/// Params of the push run, with the case's explicit `existing_tasks`.
fn params_for(dir: &Path, case: &Value) -> String {
    let explicit = case
        .get("existing_tasks")
        .map(|tasks| serde_json::to_string(tasks).unwrap())
        .unwrap_or_else(|| "{}".to_owned());
    let text = fs::read_to_string(dir.join("params/push.yml")).unwrap();
    let text = text.replace("existing_tasks: {}", &format!("existing_tasks: {explicit}"));
    fs::write(dir.join("params/case.yml"), text).unwrap();
    "params/case.yml".to_owned()
}

/// Runs the default job and returns its output directory.
fn decision(dir: &Path, params: &str, extra: &[String]) -> PathBuf {
    let out = dir.join("out");
    let mut args = vec!["--params", params, "--output-dir", "out"];
    args.extend(extra.iter().map(String::as_str));
    stdout_of(&graphgen(dir, &args));
    out
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `existing_tasks` as graphgen passed it to generation: from the written
/// parameters (sorted, as parameters.yml is).
fn existing_tasks(out: &Path) -> Vec<(String, String)> {
    let params = taskgraph::yaml::load_file(&out.join("parameters.yml")).unwrap();
    params
        .get("existing_tasks")
        .and_then(taskgraph::Value::as_map)
        .unwrap()
        .iter()
        .map(|(label, id)| (label.to_owned(), id.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn existing_tasks_agree_with_the_train_action_but_for_expired_tasks() {
    let cases = read_json(&repo_root().join("tests/task-groups/cases.json"));
    for (name, case) in cases.as_object().unwrap() {
        let dir = common::checkout("downloads");
        let params = params_for(dir.path(), case);
        let out = decision(dir.path(), &params, &case_args(case));

        let golden = read_json(
            &repo_root()
                .join("tests/task-groups/expected")
                .join(format!("{name}.json")),
        );
        let expired = read_json(&out.join("previous-groups.json"))["expired"].clone();
        let mut expected: Vec<(String, String)> = golden
            .as_object()
            .unwrap()
            .iter()
            .filter(|(label, id)| expired.get(label.as_str()) != Some(*id))
            .map(|(label, id)| (label.clone(), id.as_str().unwrap().to_owned()))
            .collect();
        expected.sort();
        assert_eq!(existing_tasks(&out), expected, "case {name}");

        // The one expired task, unless the prefix dropped it first.
        let fetch_cmake_reused = golden.get("fetch-cmake").is_some();
        assert_eq!(
            expired.as_object().unwrap().len(),
            usize::from(fetch_cmake_reused),
            "case {name}: {expired}"
        );
    }
}

#[test]
fn reused_tasks_replace_their_labels_and_the_rest_runs() {
    let dir = common::checkout("downloads");
    let groups = [
        "--previous-group-ids".to_owned(),
        format!("{FIRST},{RETRY}"),
        "--task-groups".to_owned(),
        groups_dir().display().to_string(),
    ];
    let out = decision(dir.path(), "params/push.yml", &groups);

    let label_to_taskid = read_json(&out.join("label-to-taskid.json"));
    assert_eq!(label_to_taskid["toolchain-spm"], "ToolchainSpm2Xq0QZ9bYA");
    assert_eq!(label_to_taskid["fetch-corpus"], "FetchCorpus2Xq0QZ9bYAA");
    assert_eq!(label_to_taskid["fetch-zlib"], "FetchZlib00Xq0QZ9bYAAA");

    // What runs: the expired fetch, and the build that needs it.
    let graph = read_json(&out.join("task-graph.json"));
    let mut running: Vec<&str> = graph
        .as_object()
        .unwrap()
        .values()
        .map(|task| task["label"].as_str().unwrap())
        .collect();
    running.sort_unstable();
    assert_eq!(running, ["build-native", "fetch-cmake"]);

    // The build's dependencies point at the reused tasks.
    let build_id = label_to_taskid["build-native"].as_str().unwrap();
    let deps = &graph[build_id]["task"]["dependencies"];
    assert!(
        deps.as_array()
            .unwrap()
            .iter()
            .any(|id| id == "FetchSpm1Xq0QZ9bYAAAAA"),
        "{deps}"
    );
}

#[test]
fn the_start_prefix_reruns_the_task_and_its_descendants() {
    let dir = common::checkout("downloads");
    let mut args = vec![
        "--previous-group-ids".to_owned(),
        format!("{FIRST},{RETRY}"),
        "--task-groups".to_owned(),
        groups_dir().display().to_string(),
        "--start-task-prefix".to_owned(),
        "toolchain-zlib".to_owned(),
    ];
    let out = decision(dir.path(), "params/push.yml", &args);
    let reuse = read_json(&out.join("previous-groups.json"));
    let rerun: Vec<&String> = reuse["start-task-prefix"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(rerun, ["toolchain-spm", "toolchain-zlib"]);

    args.extend(["--params", "params/push.yml", "explain", "toolchain-spm"].map(str::to_owned));
    let explained = stdout_of(&graphgen(
        dir.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert!(
        explained.contains(
            "previous groups: task ToolchainSpm2Xq0QZ9bYA not reused: \
             --start-task-prefix matches it or a task it depends on"
        ),
        "{explained}"
    );
}

#[test]
fn a_task_expiring_before_the_deadline_is_not_reused() {
    // fetch-sentencepiece expires within the hour; tasks get a day.
    let dir = common::checkout("downloads");
    let groups = dir.path().join("groups");
    common::copy_fixture(&groups_dir(), &groups);
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    let soon = soon.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let first = groups.join(format!("{FIRST}.json"));
    let mut listing = read_json(&first);
    for entry in listing["tasks"].as_array_mut().unwrap() {
        if entry["task"]["metadata"]["name"] == "fetch-sentencepiece" {
            entry["status"]["expires"] = Value::from(soon.as_str());
        }
    }
    fs::write(&first, serde_json::to_string(&listing).unwrap()).unwrap();

    let args = [
        "--params",
        "params/push.yml",
        "--output-dir",
        "out",
        "--previous-group-ids",
        &format!("{FIRST},{RETRY}"),
        "--task-groups",
        "groups",
    ];
    let output = graphgen(dir.path(), &args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    stdout_of(&output);
    assert!(
        stderr.contains("1 existing tasks expire before their dependents' deadlines and run again: fetch-sentencepiece"),
        "{stderr}"
    );

    let decisions = read_json(&dir.path().join("out/optimization.json"));
    let refused = &decisions["fetch-sentencepiece"];
    assert_eq!(refused["verdict"], "kept", "{refused}");
    assert_eq!(
        refused["reason"]["existing-task-expires"]["task_id"],
        "FetchSpm1Xq0QZ9bYAAAAA"
    );
    // Its dependent cannot be replaced while it runs.
    assert_eq!(decisions["toolchain-spm"]["reason"], "dependency-runs");
}

#[test]
fn an_expired_task_is_named_on_stderr_and_by_explain() {
    let dir = common::checkout("downloads");
    let args = [
        "--params",
        "params/push.yml",
        "--previous-group-ids",
        &format!("{FIRST},{RETRY}"),
        "--task-groups",
        &groups_dir().display().to_string(),
        "explain",
        "fetch-cmake",
        "--json",
    ];
    let output = graphgen(dir.path(), &args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let answers: Value = serde_json::from_str(&stdout_of(&output)).unwrap();
    assert!(
        stderr.contains("`fetch-cmake` (FetchCmake1Xq0QZ9bYAAA) has expired"),
        "{stderr}"
    );
    assert_eq!(answers[0]["previous-groups"]["reason"], "expired");
    assert_eq!(answers[0]["optimization"]["verdict"], "kept");
}

#[test]
fn bad_previous_group_input_is_refused_clearly() {
    let dir = common::checkout("downloads");
    let groups = groups_dir().display().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["--params", "params/push.yml", "target"];
        args.extend(extra);
        stderr_of_failure(&graphgen(dir.path(), &args))
    };

    let unknown = run(&[
        "--previous-group-ids",
        "NoSuchGroupXq0QZ9bYAAA",
        "--task-groups",
        &groups,
    ]);
    assert!(
        unknown.contains("task group NoSuchGroupXq0QZ9bYAAA is not among the saved task groups"),
        "{unknown}"
    );

    let lonely_prefix = run(&["--start-task-prefix", "toolchain"]);
    assert!(
        lonely_prefix.contains("--start-task-prefix needs --previous-group-ids"),
        "{lonely_prefix}"
    );

    fs::create_dir(dir.path().join("bad-groups")).unwrap();
    fs::write(dir.path().join("bad-groups/G.json"), r#"{"tasks": []}"#).unwrap();
    let not_a_listing = run(&["--previous-group-ids", "G", "--task-groups", "bad-groups"]);
    assert!(
        not_a_listing.contains("not a listTaskGroup response: it has no `taskGroupId`")
            && not_a_listing.contains("bad-groups/G.json"),
        "{not_a_listing}"
    );
}

#[test]
fn a_reused_task_built_from_other_inputs_is_pointed_out() {
    let dir = common::checkout("downloads");
    // A copy of the groups in which the earlier toolchain-zlib carries the
    // cache route of another digest than this checkout computes, and
    // fetch-zlib the route of its own.
    let groups = dir.path().join("groups");
    fs::create_dir_all(&groups).unwrap();
    for entry in fs::read_dir(groups_dir()).unwrap() {
        let path = entry.unwrap().path();
        let mut listing = read_json(&path);
        for task in listing["tasks"].as_array_mut().unwrap() {
            let route = match task["task"]["metadata"]["name"].as_str().unwrap() {
                "toolchain-zlib" => "index.downloads.cache.level-3.toolchains.v3.zlib.hash.0ther",
                "fetch-zlib" => {
                    "index.downloads.cache.level-3.content.v1.zlib.hash.f18bafef29991c89651b1e0de3fd82ce6ebf8074fca5a78a5d67c0f05f0d80d6"
                }
                _ => continue,
            };
            task["task"]["routes"] = serde_json::json!([route]);
        }
        fs::write(groups.join(path.file_name().unwrap()), listing.to_string()).unwrap();
    }

    let output = graphgen(
        dir.path(),
        &[
            "--params",
            "params/push.yml",
            "--output-dir",
            "out",
            "--previous-group-ids",
            FIRST,
            "--task-groups",
            "groups",
        ],
    );
    stdout_of(&output);
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(
        err.contains("warning: 1 reused tasks were built from other inputs than this run's")
            && err.contains("toolchain-zlib"),
        "{err}"
    );
    assert!(!err.contains("fetch-zlib"), "{err}");
}
