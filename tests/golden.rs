//! Golden-file tests: each fixture project under `tests/fixtures/` is
//! generated with graphgen and compared byte for byte with what Python
//! taskgraph 15.1.3 printed for it (`scripts/regen-goldens.sh` writes the
//! `expected/<params>.<phase>.json` files).
//!
//! The reference ran in a throwaway git repository holding a copy of the
//! fixture, with `origin` at `https://github.com/graphgen-fixtures/<name>`
//! and `TASKCLUSTER_ROOT_URL=https://tc.example.com`; each test rebuilds
//! that same setting, so parameters computed from the checkout agree.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use taskgraph::Registry;
use taskgraph::config::Environment;
use taskgraph::generator::{GenerateOptions, Phase, generate};
use taskgraph::python;

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
        _ => None,
    }
}

/// Copies `from` into `to`, skipping the goldens.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "expected" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=graphgen",
            "-c",
            "user.email=graphgen@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git must be installed to run the golden tests");
    assert!(status.success(), "git {args:?} failed in {}", dir.display());
}

/// A committed copy of a project, as the regeneration script makes it:
/// `files` lists what to copy and where inside the repository.
fn checkout(name: &str, files: &[(PathBuf, &str)]) -> tempfile::TempDir {
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path();
    for (from, to) in files {
        copy_tree(from, &copy.join(to));
    }
    git(copy, &["init", "-q"]);
    git(copy, &["add", "-A"]);
    git(copy, &["commit", "-qm", "fixture"]);
    let origin = format!("https://github.com/graphgen-fixtures/{name}");
    git(copy, &["remote", "add", "origin", &origin]);
    scratch
}

/// What `graphgen <phase> --root taskcluster -p <params_dir>/<params>.yml
/// --json` prints in the checkout.
fn render(checkout: &Path, params_dir: &str, params: &str, phase: Phase) -> String {
    let params_file = format!("{params_dir}/{params}.yml");
    let mut options = GenerateOptions::new("taskcluster", Some(params_file.into()));
    options.working_dir = checkout.to_owned();
    options.run_task_dir = Some(repo_root().join("taskcluster/scripts/run-task"));
    options.environment = Some(Environment {
        task_id: None,
        root_url: Some("https://tc.example.com".to_owned()),
        moz_automation: false,
    });
    let generation = generate(&Registry::with_builtins(), &options, phase)
        .unwrap_or_else(|e| panic!("generation failed for params {params}: {e}"));
    python::json_pretty(&generation.to_json(phase)).unwrap() + "\n\n"
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
    let checkout = checkout(name, &[(source.clone(), "")]);
    check_goldens(name, checkout.path(), "params", &source.join("expected"));
}

/// Generates every golden in `expected_dir` in `checkout` and compares them
/// all, reporting every mismatch at once.
fn check_goldens(name: &str, checkout: &Path, params_dir: &str, expected_dir: &Path) {
    let mut goldens: Vec<PathBuf> = fs::read_dir(expected_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    goldens.sort();
    assert!(!goldens.is_empty(), "{name} has no goldens");

    let mut failures = Vec::new();
    for golden in &goldens {
        let stem = golden.file_stem().unwrap().to_str().unwrap();
        let (params, phase_name) = stem
            .split_once('.')
            .expect("goldens are named <params>.<phase>.json");
        let phase = phase_named(phase_name).unwrap_or_else(|| panic!("unknown phase in {stem}"));
        let expected = fs::read_to_string(golden).unwrap();
        let actual = render(checkout, params_dir, params, phase);
        if expected != actual {
            failures.push(format!("{stem}: {}", first_difference(&expected, &actual)));
        }
    }
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n\n"));
}

/// The repository's own pipeline, which the README's quick start runs,
/// against the goldens in tests/pipeline/expected.
#[test]
fn pipeline() {
    let checkout = checkout(
        "pipeline",
        &[(repo_root().join("taskcluster"), "taskcluster")],
    );
    let expected = repo_root().join("tests/pipeline/expected");
    check_goldens("pipeline", checkout.path(), "taskcluster/params", &expected);
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
    images => "images",
    downloads => "downloads",
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
