//! Golden-file tests: each fixture project under `tests/fixtures/` is
//! generated with graphgen and compared byte for byte with what Python
//! taskgraph 15.1.3 printed for it (`scripts/regen-goldens.sh` writes the
//! `expected/<run>.<phase>.json` files; its header describes a fixture's
//! layout).
//!
//! The reference ran in a throwaway git repository holding a copy of the
//! fixture (without `expected/` and `unstaged/`), committed on branch
//! `main` with a fixed identity and date, with `origin` at
//! `https://github.com/graphgen-fixtures/<name>`, the files of `unstaged/`
//! copied over it afterwards, and `TASKCLUSTER_ROOT_URL=https://tc.example.com`;
//! each test rebuilds that same setting, so parameters computed from the
//! checkout (`head_rev`, `head_ref`, `project`, `files_changed`, ...) agree.
//!
//! A golden named `<params>.<phase>.json` is the run with the parameters
//! file `<params>.yml` or `<params>.json`; `<params>+k=<kind>...` adds one
//! `--target-kind` per kind (the runs listed in a fixture's `runs` file).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use graphgen_suite::goldens::{copy_tree, without_task_ids};
use taskgraph::config::Environment;
use taskgraph::generator::{GenerateOptions, Phase, generate};
use taskgraph::optimize::ids::TaskIds;
use taskgraph::optimize::lookup::IndexSnapshot;
use taskgraph::python;
use taskgraph::{Registry, Value};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures_dir() -> PathBuf {
    repo_root().join("tests/fixtures")
}

/// The phase a golden file's name ends in, as the reference's subcommand
/// names it.
fn phase_named(name: &str) -> Option<Phase> {
    match name {
        "tasks" => Some(Phase::FullTaskSet),
        "full" => Some(Phase::FullTaskGraph),
        "target" => Some(Phase::TargetTaskSet),
        "target-graph" => Some(Phase::TargetTaskGraph),
        "optimized" => Some(Phase::Optimized),
        "morphed" => Some(Phase::Morphed),
        _ => None,
    }
}

/// The fixture commit's identity and date, as the regeneration script
/// sets them: with the same tree they give the same commit id.
const GIT_IDENTITY: &[(&str, &str)] = &[
    ("GIT_AUTHOR_NAME", "graphgen"),
    ("GIT_AUTHOR_EMAIL", "graphgen@example.com"),
    ("GIT_COMMITTER_NAME", "graphgen"),
    ("GIT_COMMITTER_EMAIL", "graphgen@example.com"),
    ("GIT_AUTHOR_DATE", "2024-01-01T00:00:00+00:00"),
    ("GIT_COMMITTER_DATE", "2024-01-01T00:00:00+00:00"),
];

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .args(args)
        .envs(GIT_IDENTITY.iter().copied())
        .current_dir(dir)
        .status()
        .expect("git must be installed to run the golden tests");
    assert!(status.success(), "git {args:?} failed in {}", dir.display());
}

/// A committed copy of a project, as the regeneration script makes it:
/// `files` lists what to copy and where inside the repository. A fixture's
/// `expected/` and `unstaged/` are left out, and `unstaged/` is copied over
/// the checkout after the commit.
fn checkout(name: &str, files: &[(PathBuf, &str)]) -> tempfile::TempDir {
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path();
    for (from, to) in files {
        copy_tree(from, &copy.join(to), &["expected", "unstaged"]);
    }
    git(copy, &["init", "-q"]);
    git(copy, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    git(copy, &["add", "-A"]);
    git(copy, &["commit", "-qm", "fixture"]);
    let origin = format!("https://github.com/graphgen-fixtures/{name}");
    git(copy, &["remote", "add", "origin", &origin]);
    for (from, to) in files {
        let unstaged = from.join("unstaged");
        if unstaged.is_dir() {
            copy_tree(&unstaged, &copy.join(to), &[]);
        }
    }
    scratch
}

/// One invocation of the reference: a parameters file and the
/// `--target-kind`s, named as in the goldens (`push+k=lint`).
#[derive(Debug, PartialEq)]
struct Run {
    params: String,
    target_kinds: Vec<String>,
}

impl Run {
    /// Parses a golden's run name: `<params>` then `+k=<kind>` per kind.
    fn parse(name: &str) -> Run {
        let mut parts = name.split("+k=");
        let params = parts.next().unwrap_or_default().to_owned();
        let target_kinds: Vec<String> = parts.map(str::to_owned).collect();
        assert!(
            !params.is_empty() && target_kinds.iter().all(|k| !k.is_empty()),
            "bad run name `{name}`"
        );
        Run {
            params,
            target_kinds,
        }
    }

    /// Parses a line of a fixture's `runs` file: `<params> [-k KIND]...`;
    /// None for blank and comment lines.
    fn from_line(line: &str) -> Option<Run> {
        let mut words = line.split_whitespace();
        let params = words.next().filter(|w| !w.starts_with('#'))?.to_owned();
        let mut target_kinds = Vec::new();
        while let Some(word) = words.next() {
            assert_eq!(word, "-k", "runs line `{line}`: expected `-k KIND`");
            let kind = words
                .next()
                .unwrap_or_else(|| panic!("runs line `{line}`: `-k` without a kind"));
            target_kinds.push(kind.to_owned());
        }
        Some(Run {
            params,
            target_kinds,
        })
    }

    /// The name its goldens start with.
    fn name(&self) -> String {
        let mut name = self.params.clone();
        for kind in &self.target_kinds {
            name.push_str("+k=");
            name.push_str(kind);
        }
        name
    }
}

/// The parameters file called `stem` in `dir`: `<stem>.yml` or
/// `<stem>.json`, relative to `checkout`.
fn params_file(checkout: &Path, dir: &str, stem: &str) -> String {
    let found: Vec<String> = ["yml", "json"]
        .iter()
        .map(|ext| format!("{dir}/{stem}.{ext}"))
        .filter(|rel| checkout.join(rel).is_file())
        .collect();
    match found.as_slice() {
        [one] => one.clone(),
        _ => panic!("need exactly one of {dir}/{stem}.yml and {dir}/{stem}.json, found {found:?}"),
    }
}

/// What `graphgen <phase> --root taskcluster -p <params file> [-k KIND]...
/// --json` prints in the checkout.
fn render(checkout: &Path, params_dir: &str, run: &Run, phase: Phase) -> String {
    render_result(checkout, params_dir, run, phase)
        .unwrap_or_else(|e| panic!("generation failed for {}: {e}", run.name()))
}

/// [`render`], or the error generation stops with. Optimized graphs are
/// keyed by task ids, which the reference makes at random: each id is
/// replaced by `<task LABEL>`, as the regeneration script does.
fn render_result(
    checkout: &Path,
    params_dir: &str,
    run: &Run,
    phase: Phase,
) -> Result<String, taskgraph::Error> {
    let params_file = params_file(checkout, params_dir, &run.params);
    let mut options = GenerateOptions::new("taskcluster", Some(params_file.into()));
    options.working_dir = checkout.to_owned();
    let run_task = tempfile::tempdir().unwrap();
    copy_tree(
        &repo_root().join("taskcluster/scripts/run-task"),
        run_task.path(),
        &[],
    );
    options.run_task_dir = Some(run_task.path().to_owned());
    options.environment = Some(Environment {
        task_id: None,
        root_url: Some("https://tc.example.com".to_owned()),
        moz_automation: false,
        proxy_url: None,
    });
    // The reference's command line always overrides `target-kinds`, with
    // an empty list when no `-k` is given.
    options.overrides.insert(
        "target-kinds".to_owned(),
        Value::str_list(run.target_kinds.iter().cloned()),
    );
    if phase >= Phase::Optimized {
        // The fixture's index, answered as the loopback server answered
        // the reference.
        let snapshot = checkout.join("index.json");
        if snapshot.is_file() {
            options.index = Arc::new(IndexSnapshot::load(&snapshot)?);
        }
        options.task_ids = TaskIds::Seeded("golden".to_owned());
    }
    let generation = generate(&Registry::with_builtins(), &options, phase)?;
    let json = python::json_pretty(&generation.to_json(phase))?;
    if phase >= Phase::Optimized {
        return Ok(without_task_ids(&json));
    }
    Ok(json + "\n\n")
}

/// An error message with the quoted task labels in it made `*`: which task
/// the reference names first depends on Python's set order.
fn without_task_names(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(start) = rest.find("task '") {
        out.push_str(&rest[..start + 6]);
        rest = &rest[start + 6..];
        match rest.find('\'') {
            Some(end) => {
                out.push('*');
                rest = &rest[end..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// The first line where two texts differ, with a little context.
fn first_difference(expected: &str, actual: &str) -> String {
    let expected_lines: Vec<&str> = expected.lines().collect();
    let actual_lines: Vec<&str> = actual.lines().collect();
    let at = expected_lines
        .iter()
        .zip(&actual_lines)
        .position(|(e, a)| e != a)
        .unwrap_or(expected_lines.len().min(actual_lines.len()));
    let window = |lines: &[&str]| lines[at.saturating_sub(3)..(at + 3).min(lines.len())].join("\n");
    format!(
        "first difference at line {}\n--- expected\n{}\n--- graphgen\n{}",
        at + 1,
        window(&expected_lines),
        window(&actual_lines)
    )
}

/// Generates every golden of one fixture and compares them all, reporting
/// every mismatch at once.
fn check_fixture(name: &str) {
    let source = fixtures_dir().join(name);
    let expected = source.join("expected");
    check_runs_have_goldens(&source, &expected);
    let checkout = checkout(name, &[(source.clone(), "")]);
    check_goldens(name, checkout.path(), "params", &expected);
}

/// Every run a fixture's `runs` file lists has its four goldens: a line
/// added without regenerating would otherwise test nothing.
fn check_runs_have_goldens(source: &Path, expected: &Path) {
    let Ok(runs) = fs::read_to_string(source.join("runs")) else {
        return;
    };
    for run in runs.lines().filter_map(Run::from_line) {
        for phase in ["tasks", "full", "target", "target-graph"] {
            let golden = expected.join(format!("{}.{phase}.json", run.name()));
            assert!(
                golden.is_file(),
                "{} is missing; run scripts/regen-goldens.sh",
                golden.display()
            );
        }
    }
}

/// Generates every golden in `expected_dir` in `checkout` and compares them
/// all, reporting every mismatch at once.
fn check_goldens(name: &str, checkout: &Path, params_dir: &str, expected_dir: &Path) {
    let mut goldens: Vec<PathBuf> = fs::read_dir(expected_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "json" || ext == "error")
        })
        .collect();
    goldens.sort();
    assert!(!goldens.is_empty(), "{name} has no goldens");

    let mut failures = Vec::new();
    for golden in &goldens {
        let stem = golden.file_stem().unwrap().to_str().unwrap();
        let (run, phase_name) = stem
            .rsplit_once('.')
            .expect("goldens are named <run>.<phase>.json");
        let phase = phase_named(phase_name).unwrap_or_else(|| panic!("unknown phase in {stem}"));
        let expected = fs::read_to_string(golden).unwrap();
        if golden.extension().is_some_and(|ext| ext == "error") {
            // The reference stopped with this error; graphgen must too.
            let wanted = without_task_names(expected.trim());
            match render_result(checkout, params_dir, &Run::parse(run), phase) {
                Ok(_) => {
                    failures.push(format!("{stem}: succeeded; the reference failed: {wanted}"))
                }
                Err(e) if without_task_names(&e.to_string()).contains(&wanted) => {}
                Err(e) => failures.push(format!("{stem}: failed with `{e}`, not `{wanted}`")),
            }
            continue;
        }
        let actual = render(checkout, params_dir, &Run::parse(run), phase);
        if expected != actual {
            failures.push(format!("{stem}: {}", first_difference(&expected, &actual)));
        }
    }
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n\n"));
}

macro_rules! golden_tests {
    ($($test:ident => $fixture:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_fixture($fixture);
            }
        )*

        const LISTED: &[&str] = &[$($fixture),*];
    };
}

golden_tests! {
    basic => "basic",
    toolchains => "toolchains",
    workers => "workers",
    contexts => "contexts",
    fan_out => "fan-out",
    images => "images",
    loader => "loader",
    targets => "targets",
    downloads => "downloads",
    morphs => "morphs",
}

/// A fixture added without a test here would silently go unchecked.
#[test]
fn every_fixture_has_a_test() {
    let mut on_disk: Vec<String> = fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().join("expected").is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<&str> = LISTED.to_vec();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn run_names_round_trip() {
    let run = Run::from_line("push -k lint -k docker-image").unwrap();
    assert_eq!(run.name(), "push+k=lint+k=docker-image");
    assert_eq!(Run::parse(&run.name()), run);
    assert_eq!(
        Run::parse("pull-request").target_kinds,
        Vec::<String>::new()
    );
    assert_eq!(Run::from_line("  # a comment"), None);
    assert_eq!(Run::from_line(""), None);
}
