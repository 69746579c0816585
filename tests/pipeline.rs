//! Goldens of this repository's own pipeline (`taskcluster/`), written by
//! graphgen itself.
//!
//! The fixtures' goldens (tests/golden.rs) come from Python taskgraph. This
//! pipeline's cannot, not directly: its kinds use the translations
//! transforms, and the Python `cached_tasks` of translations hashes
//! resource files relative to the translations checkout it is imported
//! from, not to the project being generated. So graphgen writes these
//! goldens, a person reviews them, and this test fails as soon as
//! generation prints other bytes. After a deliberate change,
//! `GRAPHGEN_BLESS=1 cargo test --test pipeline` rewrites them (and deletes
//! goldens no run makes any more); review the diff before committing it.
//! With a mozilla/translations checkout at hand,
//! `scripts/pipeline-against-reference.sh TRANSLATIONS_DIR` compares them
//! with the reference, its package copied into a scratch checkout.
//!
//! A run generates the graph in a committed copy of `taskcluster/` (cache
//! digests hash files committed at HEAD) with `taskcluster/params/
//! <params>.yml`, and for a stage run with `training_config.target-stage`
//! replaced. Its goldens are `tests/pipeline/expected/<run>.<phase>.json`,
//! `<run>` being `<params>` or `<params>+stage=<stage>`; each holds what
//! `graphgen <phase> --json` prints, except that the `optimized` graph
//! (made with `--index none` and seeded task ids) has each task id
//! replaced by `<task LABEL>`.
//!
//! Bytes alone would accept any change once blessed, so each run also
//! checks what the review established: how many tasks the stage targets,
//! which stages its target graph holds (and that none comes later in
//! `valid-stages`), that the full graph does not depend on the stage, and,
//! over the whole graph, that every fan-out follows the training config
//! and every task but the final one is cached.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use graphgen_suite::goldens::{copy_tree, without_task_ids};
use taskgraph::config::Environment;
use taskgraph::generator::{GenerateOptions, Generation, Phase, generate};
use taskgraph::optimize::ids::TaskIds;
use taskgraph::task::Task;
use taskgraph::{Registry, Value, python, yaml};

/// One generation of the pipeline, and what it must produce.
#[derive(Debug)]
struct Run {
    /// `taskcluster/params/<params>.yml`.
    params: &'static str,
    /// Replaces `training_config.target-stage`; None keeps the file's.
    stage: Option<&'static str>,
    /// The phases with a golden. The target graph of stage `all` is the
    /// full graph, and no morph applies to this pipeline, so the morphed
    /// graph is the optimized one: both are checked instead of stored.
    phases: &'static [&'static str],
    /// How many target tasks the stage selects.
    targets: usize,
    /// How many tasks the target graph holds.
    graph_tasks: usize,
    /// Every stage in the target graph (docker images have none).
    graph_stages: &'static [&'static str],
}

/// The stages up to the teachers, which the teachers' target graph holds.
const UP_TO_TEACHERS: &[&str] = &[
    "dataset",
    "clean-parallel",
    "clean-mono",
    "merge-corpus",
    "merge-devset",
    "merge-mono",
    "vocab",
    "train-backwards",
    "split",
    "backtranslate",
    "backtranslate-collect",
    "train-teacher",
];

const DEFAULT_ALL: Run = Run {
    params: "default",
    stage: None,
    phases: &["full", "target", "optimized"],
    targets: 1,
    graph_tasks: 46,
    graph_stages: &[],
};

const DEFAULT_CLEAN_PARALLEL: Run = Run {
    params: "default",
    stage: Some("clean-parallel"),
    phases: &["target", "target-graph"],
    targets: 2,
    graph_tasks: 6,
    graph_stages: &["dataset", "clean-parallel"],
};

const DEFAULT_TRAIN_BACKWARDS: Run = Run {
    params: "default",
    stage: Some("train-backwards"),
    phases: &["target", "target-graph"],
    targets: 1,
    graph_tasks: 11,
    graph_stages: &[
        "dataset",
        "clean-parallel",
        "merge-corpus",
        "merge-devset",
        "vocab",
        "train-backwards",
    ],
};

const DEFAULT_TRAIN_TEACHER: Run = Run {
    params: "default",
    stage: Some("train-teacher"),
    phases: &["target", "target-graph"],
    targets: 2,
    graph_tasks: 20,
    graph_stages: UP_TO_TEACHERS,
};

const PRODUCTION_ALL: Run = Run {
    params: "production",
    stage: None,
    phases: &["full", "target"],
    targets: 1,
    graph_tasks: 105,
    graph_stages: &[],
};

const PRODUCTION_TRAIN_TEACHER: Run = Run {
    params: "production",
    stage: Some("train-teacher"),
    phases: &["target", "target-graph"],
    targets: 4,
    graph_tasks: 47,
    graph_stages: UP_TO_TEACHERS,
};

const RUNS: &[&Run] = &[
    &DEFAULT_ALL,
    &DEFAULT_CLEAN_PARALLEL,
    &DEFAULT_TRAIN_BACKWARDS,
    &DEFAULT_TRAIN_TEACHER,
    &PRODUCTION_ALL,
    &PRODUCTION_TRAIN_TEACHER,
];

#[test]
fn default_all() {
    check_run(&DEFAULT_ALL);
}

#[test]
fn default_stops_after_cleaning() {
    check_run(&DEFAULT_CLEAN_PARALLEL);
}

#[test]
fn default_stops_after_the_backward_model() {
    check_run(&DEFAULT_TRAIN_BACKWARDS);
}

#[test]
fn default_stops_after_the_teachers() {
    check_run(&DEFAULT_TRAIN_TEACHER);
}

#[test]
fn production_all() {
    check_run(&PRODUCTION_ALL);
}

#[test]
fn production_stops_after_the_teachers() {
    check_run(&PRODUCTION_TRAIN_TEACHER);
}

#[test]
fn default_fans_out_as_the_training_config_says() {
    check_fan_out("default");
}

#[test]
fn production_fans_out_as_the_training_config_says() {
    check_fan_out("production");
}

/// A golden no run makes is stale; a run without its goldens would test
/// nothing. Blessing deletes the stale ones.
#[test]
fn goldens_are_exactly_those_the_runs_make() {
    let expected = expected_dir();
    let wanted: BTreeSet<String> = RUNS
        .iter()
        .flat_map(|run| {
            run.phases
                .iter()
                .map(|phase| format!("{}.{phase}.json", run.name()))
        })
        .collect();
    let on_disk: BTreeSet<String> = fs::read_dir(&expected)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();

    if blessing() {
        for stale in on_disk.difference(&wanted) {
            fs::remove_file(expected.join(stale)).unwrap();
        }
        return;
    }
    let missing: Vec<&String> = wanted.difference(&on_disk).collect();
    let stale: Vec<&String> = on_disk.difference(&wanted).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "missing goldens {missing:?}, stale goldens {stale:?}; run `GRAPHGEN_BLESS=1 cargo test --test pipeline`"
    );
}

impl Run {
    /// The name its goldens start with.
    fn name(&self) -> String {
        match self.stage {
            Some(stage) => format!("{}+stage={stage}", self.params),
            None => self.params.to_owned(),
        }
    }

    fn params_file(&self) -> String {
        format!("taskcluster/params/{}.yml", self.params)
    }

    /// The stage the run targets.
    fn target_stage(&self) -> String {
        match self.stage {
            Some(stage) => stage.to_owned(),
            None => training_config(self.params)
                .get("target-stage")
                .and_then(Value::as_str)
                .expect("the parameters name a target stage")
                .to_owned(),
        }
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn expected_dir() -> PathBuf {
    repo_root().join("tests/pipeline/expected")
}

fn blessing() -> bool {
    std::env::var_os("GRAPHGEN_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The registry `graphgen` uses, with URL checks answered offline (the
/// pipeline continues from no pretrained model, so none is made).
fn registry() -> Registry {
    let mut registry = Registry::with_builtins();
    translations::add_project_hook(&mut registry, Arc::new(translations::urls::AssumeReachable));
    registry
}

/// `training_config` as the parameters file gives it.
fn training_config(params: &str) -> Value {
    let path = repo_root().join(format!("taskcluster/params/{params}.yml"));
    let params = yaml::load_file(&path).unwrap();
    params
        .get("training_config")
        .cloned()
        .expect("the parameters give a training_config")
}

/// `valid-stages` of config.yml, in pipeline order.
fn valid_stages() -> Vec<String> {
    let config = yaml::load_file(&repo_root().join("taskcluster/config.yml")).unwrap();
    config
        .get("valid-stages")
        .and_then(Value::as_str_list)
        .expect("config.yml lists valid-stages")
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// A git repository holding a committed copy of `taskcluster/`, files
/// with the modes a checkout gives them (docker contexts hash modes).
fn checkout() -> tempfile::TempDir {
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(
        &repo_root().join("taskcluster"),
        &scratch.path().join("taskcluster"),
        &[],
    );
    for args in [
        &["init", "-q"][..],
        &["symbolic-ref", "HEAD", "refs/heads/main"],
        &["add", "-A"],
        &["commit", "-qm", "pipeline"],
    ] {
        let status = Command::new("git")
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "core.hooksPath=/dev/null",
            ])
            .args([
                "-c",
                "user.name=graphgen",
                "-c",
                "user.email=graphgen@example.com",
            ])
            .args(args)
            .current_dir(scratch.path())
            .status()
            .expect("git must be installed to run the pipeline tests");
        assert!(status.success(), "git {args:?} failed");
    }
    scratch
}

/// Generates `run` up to `until` in `checkout`, as `graphgen` would with
/// `--index none --task-id-seed pipeline`.
fn generate_run(checkout: &Path, run: &Run, until: Phase) -> Generation {
    let mut options = GenerateOptions::new("taskcluster", Some(run.params_file().into()));
    options.working_dir = checkout.to_owned();
    options.environment = Some(Environment {
        task_id: None,
        root_url: Some("https://tc.example.com".to_owned()),
        moz_automation: false,
        proxy_url: None,
    });
    // The command line always sets `target-kinds`.
    options
        .overrides
        .insert("target-kinds", Value::List(Vec::new()));
    if let Some(stage) = run.stage {
        let mut config = training_config(run.params);
        let Some(Value::Map(config_map)) = Some(&mut config) else {
            panic!("training_config is a mapping");
        };
        config_map.insert("target-stage", Value::from(stage));
        options.overrides.insert("training_config", config);
    }
    options.task_ids = TaskIds::Seeded("pipeline".to_owned());
    generate(&registry(), &options, until)
        .unwrap_or_else(|e| panic!("generating {} failed: {e}", run.name()))
}

fn phase_named(name: &str) -> Phase {
    match name {
        "full" => Phase::FullTaskGraph,
        "target" => Phase::TargetTaskSet,
        "target-graph" => Phase::TargetTaskGraph,
        "optimized" => Phase::Optimized,
        "morphed" => Phase::Morphed,
        other => panic!("no golden phase `{other}`"),
    }
}

/// What `graphgen <phase> --json` prints, task ids redacted.
fn render(generation: &Generation, phase: Phase) -> String {
    let json = python::json_pretty(&generation.to_json(phase)).unwrap();
    let json = if phase >= Phase::Optimized {
        without_task_ids(&json)
    } else {
        json
    };
    json + "\n\n"
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
        "first difference at line {}\n--- golden\n{}\n--- graphgen\n{}",
        at + 1,
        window(&expected_lines),
        window(&actual_lines)
    )
}

/// Generates `run`, compares (or, blessing, writes) its goldens, and checks
/// the facts a reviewer of them relies on.
fn check_run(run: &Run) {
    let checkout = checkout();
    let until = if run.phases.contains(&"optimized") {
        Phase::Morphed
    } else {
        Phase::TargetTaskGraph
    };
    let generation = generate_run(checkout.path(), run, until);

    let mut failures = Vec::new();
    for phase in run.phases {
        let path = expected_dir().join(format!("{}.{phase}.json", run.name()));
        let actual = render(&generation, phase_named(phase));
        if blessing() {
            fs::create_dir_all(expected_dir()).unwrap();
            if fs::read_to_string(&path).ok().as_deref() != Some(actual.as_str()) {
                fs::write(&path, &actual).unwrap();
            }
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{}: {}",
                path.display(),
                first_difference(&expected, &actual)
            )),
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    if !blessing() && run.stage.is_some() {
        check_full_graph_ignores_the_stage(run, &generation, &mut failures);
    }
    if until == Phase::Morphed
        && render(&generation, Phase::Morphed) != render(&generation, Phase::Optimized)
    {
        failures.push(
            "a morph changed the optimized graph: give the run a `morphed` golden".to_owned(),
        );
    }
    assert!(
        failures.is_empty(),
        "{} differs from its goldens (after a deliberate change, run \
         `GRAPHGEN_BLESS=1 cargo test --test pipeline` and review the diff):\n{}",
        run.name(),
        failures.join("\n\n")
    );

    check_targets(run, &generation);
    check_target_graph(run, &generation);
}

/// `target-stage` only chooses targets: the full graph is the one the
/// parameters file's own run has.
fn check_full_graph_ignores_the_stage(
    run: &Run,
    generation: &Generation,
    failures: &mut Vec<String>,
) {
    let path = expected_dir().join(format!("{}.full.json", run.params));
    let expected = fs::read_to_string(&path).unwrap_or_default();
    let actual = render(generation, Phase::FullTaskGraph);
    if expected != actual {
        failures.push(format!(
            "the full graph with target stage {:?} is not {}: {}",
            run.stage,
            path.display(),
            first_difference(&expected, &actual)
        ));
    }
}

/// The target tasks are the tasks of the stage, for the experiment's pair.
fn check_targets(run: &Run, generation: &Generation) {
    let stage = run.target_stage();
    let targets = &generation.target_task_set.as_ref().unwrap().tasks;
    let labels: Vec<&String> = targets.keys().collect();
    assert_eq!(
        targets.len(),
        run.targets,
        "{}: stage `{stage}` targets {labels:?}",
        run.name()
    );
    let config = training_config(run.params);
    let experiment = config.get("experiment").unwrap();
    for task in targets.values() {
        assert_eq!(stage_of(task), Some(stage.as_str()), "{}", task.label);
        for (attribute, key) in [("src_locale", "src"), ("trg_locale", "trg")] {
            assert_eq!(
                task.attributes.get(attribute),
                experiment.get(key),
                "{}",
                task.label
            );
        }
    }
}

/// The target graph holds the stages expected and nothing of a later one;
/// for stage `all` it is the whole full graph.
fn check_target_graph(run: &Run, generation: &Generation) {
    let stage = run.target_stage();
    let graph = &generation.target_task_graph.as_ref().unwrap().tasks;
    assert_eq!(
        graph.len(),
        run.graph_tasks,
        "{}: target graph size",
        run.name()
    );

    let order = valid_stages();
    let position = |stage: &str| {
        order
            .iter()
            .position(|s| s == stage)
            .unwrap_or_else(|| panic!("stage `{stage}` is not in config.yml's valid-stages"))
    };
    let limit = position(&stage);
    let mut stages = BTreeSet::new();
    for task in graph.values() {
        let Some(task_stage) = stage_of(task) else {
            assert_eq!(task.kind, "docker-image", "{} has no stage", task.label);
            continue;
        };
        assert!(
            position(task_stage) <= limit,
            "{}: the target graph of stage `{stage}` holds `{}`, of the later stage `{task_stage}`",
            run.name(),
            task.label
        );
        stages.insert(task_stage);
    }

    if stage == "all" {
        let full = &generation.full_task_graph.as_ref().unwrap().tasks;
        let missing: Vec<&String> = full.keys().filter(|l| !graph.contains_key(*l)).collect();
        assert!(missing.is_empty(), "stage `all` leaves out {missing:?}");
    } else {
        let expected: BTreeSet<&str> = run.graph_stages.iter().copied().collect();
        assert_eq!(
            stages,
            expected,
            "{}: stages of the target graph",
            run.name()
        );
    }
}

fn stage_of(task: &Task) -> Option<&str> {
    task.attributes.get("stage").and_then(Value::as_str)
}

/// The number of entries of a list in the training config.
fn list_len(config: &Value, path: &[&str]) -> usize {
    let mut value = config;
    for key in path {
        value = value.get(key).unwrap_or_else(|| panic!("no {path:?}"));
    }
    value.as_list().map_or(0, Vec::len)
}

fn int_at(config: &Value, path: &[&str]) -> usize {
    let mut value = config;
    for key in path {
        value = value.get(key).unwrap_or_else(|| panic!("no {path:?}"));
    }
    usize::try_from(value.as_int().expect("an integer")).unwrap()
}

/// The full graph of a parameters file's own run.
fn full_graph(checkout: &Path, params: &'static str) -> Generation {
    let run = Run {
        params,
        stage: None,
        phases: &[],
        targets: 0,
        graph_tasks: 0,
        graph_stages: &[],
    };
    generate_run(checkout, &run, Phase::FullTaskGraph)
}

/// Over the whole graph: one task per dataset, chunk, teacher and test
/// set, as the training config says; then [`check_every_task`].
fn check_fan_out(params: &'static str) {
    let checkout = checkout();
    let generation = full_graph(checkout.path(), params);
    let tasks: Vec<&Task> = generation
        .full_task_graph
        .as_ref()
        .unwrap()
        .tasks
        .values()
        .map(Arc::as_ref)
        .collect();
    let config = training_config(params);
    let count = |kind: &str| tasks.iter().filter(|t| t.kind == kind).count();
    let datasets = |category: &str| list_len(&config, &["datasets", category]);

    for category in ["train", "devtest", "test", "mono-src", "mono-trg"] {
        let imports = tasks
            .iter()
            .filter(|t| t.kind == "dataset")
            .filter(|t| {
                t.attributes.get("dataset-category").and_then(Value::as_str) == Some(category)
            })
            .count();
        assert_eq!(imports, datasets(category), "{params}: {category} imports");
    }
    let chunks = int_at(&config, &["taskcluster", "split-chunks"]);
    let teachers = int_at(&config, &["experiment", "teacher-ensemble"]);
    let expected = [
        ("clean-parallel", datasets("train")),
        ("clean-mono", datasets("mono-src") + datasets("mono-trg")),
        ("backtranslate", chunks),
        // The training corpus and the monolingual text.
        ("distill", 2 * chunks),
        ("train-teacher", teachers),
        // The backward model, each teacher, the student, the quantized one.
        ("evaluate", datasets("test") * (3 + teachers)),
    ];
    for (kind, wanted) in expected {
        assert_eq!(count(kind), wanted, "{params}: tasks of kind `{kind}`");
    }
    let chunk_numbers: BTreeSet<i64> = tasks
        .iter()
        .filter(|t| t.kind == "backtranslate")
        .filter_map(|t| t.attributes.get("this_chunk").and_then(Value::as_int))
        .collect();
    let chunks = i64::try_from(chunks).unwrap();
    assert_eq!(
        chunk_numbers,
        (1..=chunks).collect(),
        "{params}: chunk numbers"
    );

    let stages = valid_stages();
    for task in &tasks {
        check_every_task(task, &stages);
    }
}

/// A task's stage is valid; it is cached, with its index route, unless it
/// is the final task; on a GPU worker, it has the worker's environment.
fn check_every_task(task: &Task, valid_stages: &[String]) {
    if let Some(stage) = stage_of(task) {
        assert!(
            valid_stages.iter().any(|s| s == stage),
            "{}: stage `{stage}` is not in valid-stages",
            task.label
        );
    }
    if task.kind != "all" {
        let digest = task
            .attributes
            .get("cached_task")
            .and_then(|c| c.get("digest"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{} is not a cached task", task.label));
        let routes = task
            .task
            .get("routes")
            .and_then(Value::as_str_list)
            .unwrap_or_default();
        let route_end = format!(".hash.{digest}");
        assert!(
            routes
                .iter()
                .any(|r| r.starts_with("index.mt-train.cache.") && r.ends_with(&route_end)),
            "{} has no cache route: {routes:?}",
            task.label
        );
    }
    let worker_type = task.task.get("workerType").and_then(Value::as_str);
    if worker_type.is_some_and(|w| w.starts_with("gpu")) {
        let env = task.task.get("payload").and_then(|p| p.get("env"));
        assert!(
            env.is_some_and(|e| e.get("GPUS").is_some() && e.get("WORKSPACE").is_some()),
            "{} runs on a GPU worker without GPUS and WORKSPACE",
            task.label
        );
    }
}
