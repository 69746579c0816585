//! `graphgen digest`: the inputs of a cached task's digest, and what
//! changed since an earlier run, on the downloads fixture (toolchains
//! built from fetches, each cached).

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::stdout_of;

fn checkout() -> tempfile::TempDir {
    common::checkout("downloads")
}

fn graphgen(dir: &Path, args: &[&str]) -> Output {
    let mut with_params = args.to_vec();
    with_params.extend(["--params", "params/push.yml"]);
    common::graphgen(dir, &with_params)
}

/// The digest in the task's own index route, from `graphgen full --json`.
fn digest_in_graph(dir: &Path, label: &str) -> String {
    let full = stdout_of(&graphgen(dir, &["full", "--json"]));
    let graph: serde_json::Value = serde_json::from_str(&full).unwrap();
    graph[label]["attributes"]["cached_task"]["digest"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn digest_lists_every_input_and_ends_in_the_task_digest() {
    let dir = checkout();
    let out = stdout_of(&graphgen(dir.path(), &["digest", "toolchain-spm"]));
    let digest = digest_in_graph(dir.path(), "toolchain-spm");

    assert!(
        out.starts_with("toolchain-spm (toolchains.v3/spm)\n"),
        "{out}"
    );
    // The resource hash with each file under it, the artifact, the image,
    // both parents with their digests, and the chain-of-trust marker.
    assert!(out.contains("   1  files      "), "{out}");
    assert!(
        out.contains("  taskcluster/scripts/toolchain/common.sh\n"),
        "{out}"
    );
    assert!(
        out.contains("  taskcluster/scripts/toolchain/build-spm.sh\n"),
        "{out}"
    );
    assert!(
        out.contains("   2  data       public/build/spm.tar.zst\n"),
        "{out}"
    );
    assert!(out.contains("   3  data       fetch\n"), "{out}");
    assert!(
        out.contains("parent     fetch-sentencepiece  content.v1/sentencepiece/"),
        "{out}"
    );
    assert!(
        out.contains("parent     toolchain-zlib  toolchains.v3/zlib/"),
        "{out}"
    );
    assert!(out.contains("   6  trust      True\n"), "{out}");
    assert!(out.contains(&format!("digest {digest}\n")), "{out}");
    assert!(out.contains(&format!(
        "index  atlas.cache.level-3.toolchains.v3.spm.hash.{digest}"
    )));
}

#[test]
fn digest_json_is_the_record() {
    let dir = checkout();
    let out = stdout_of(&graphgen(
        dir.path(),
        &["digest", "toolchain-zlib", "--json"],
    ));
    let record: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(record["label"], "toolchain-zlib");
    assert_eq!(record["inputs"][0]["source"], "files");
    assert_eq!(
        record["digest"].as_str().unwrap(),
        digest_in_graph(dir.path(), "toolchain-zlib")
    );
}

#[test]
fn against_an_earlier_run_names_the_changed_file_and_the_upstream_task() {
    let dir = checkout();
    let run = graphgen(dir.path(), &["--output-dir", "before"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(dir.path().join("before/digest-inputs.json").is_file());

    // Unchanged inputs: nothing to explain.
    let same = stdout_of(&graphgen(
        dir.path(),
        &["digest", "toolchain-spm", "--against", "before"],
    ));
    assert!(
        same.starts_with("toolchain-spm: digest unchanged ("),
        "{same}"
    );

    // toolchain-zlib's script changes; toolchain-spm depends on it.
    let script = dir
        .path()
        .join("taskcluster/scripts/toolchain/build-zlib.sh");
    let mut text = fs::read_to_string(&script).unwrap();
    text.push_str("# built again\n");
    fs::write(&script, text).unwrap();

    let out = stdout_of(&graphgen(
        dir.path(),
        &["digest", "toolchain-spm", "--against", "before"],
    ));
    assert!(out.starts_with("toolchain-spm: digest changed\n"), "{out}");
    assert!(out.contains("-   5  parent     toolchain-zlib"), "{out}");
    assert!(out.contains("+   5  parent     toolchain-zlib"), "{out}");
    assert!(
        out.contains("the change started in: toolchain-zlib\n"),
        "{out}"
    );
    assert!(out.contains("toolchain-zlib: digest changed"), "{out}");
    assert!(
        out.contains("file changed: taskcluster/scripts/toolchain/build-zlib.sh"),
        "{out}"
    );
    assert!(
        !out.contains("fetch-sentencepiece:"),
        "the fetch did not change:\n{out}"
    );
}

#[test]
fn tasks_without_a_digest_are_refused_clearly() {
    let dir = checkout();
    let output = graphgen(dir.path(), &["digest", "build-native"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`build-native` is not cached"), "{stderr}");

    let output = graphgen(dir.path(), &["digest", "toolchain-zlb"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("did you mean toolchain-zlib"), "{stderr}");

    let output = graphgen(
        dir.path(),
        &["digest", "toolchain-zlib", "--against", "nowhere"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nowhere/digest-inputs.json"), "{stderr}");
}
