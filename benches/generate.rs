//! Benchmarks of whole generations through the library: synthetic projects
//! of 1,000 and 5,000 tasks over 20 kinds (3 dependencies per task), up to
//! the full task graph and up to the target task graph.
//!
//! The projects are written once into a temporary directory before any
//! measurement, so only generation itself is timed: reading config.yml,
//! parameters and every kind.yml, the run and task transforms, the graph
//! and its checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use graphgen_suite::synthetic::{self, Spec};
use taskgraph::Registry;
use taskgraph::config::Environment;
use taskgraph::generator::{GenerateOptions, Phase, generate};

const SIZES: [usize; 2] = [1_000, 5_000];

/// The shortest measurement of one benchmark.
const MIN_MEASUREMENT: Duration = Duration::from_secs(3);

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Options for the project checked out at `dir`, with the environment the
/// side-by-side script gives both engines, so the bench does not depend on
/// the caller's variables.
fn options(dir: &Path) -> GenerateOptions {
    let mut options = GenerateOptions::new("taskcluster", Some(synthetic::PARAMS_FILE.into()));
    options.working_dir = dir.to_owned();
    options.run_task_dir = Some(repo_root().join("taskcluster/scripts/run-task"));
    options.environment = Some(Environment {
        task_id: None,
        root_url: Some("https://tc.example.com".to_owned()),
        moz_automation: false,
        proxy_url: None,
    });
    options
}

fn task_count(registry: &Registry, options: &GenerateOptions, phase: Phase) -> usize {
    match generate(registry, options, phase) {
        Ok(generation) => generation.full_task_set.len(),
        Err(err) => panic!("generation failed: {err}"),
    }
}

fn generate_synthetic(c: &mut Criterion) {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let projects: Vec<(usize, GenerateOptions)> = SIZES
        .iter()
        .map(|&tasks| {
            let dir = scratch.path().join(format!("synthetic-{tasks}"));
            let spec = Spec {
                tasks,
                ..Spec::default()
            };
            if let Err(err) = synthetic::write(&spec, &dir) {
                panic!("cannot write the {tasks}-task project: {err}");
            }
            (tasks, options(&dir))
        })
        .collect();
    let registry = Registry::with_builtins();

    for (name, phase) in [
        ("full-task-graph", Phase::FullTaskGraph),
        ("target-task-graph", Phase::TargetTaskGraph),
    ] {
        let mut group = c.benchmark_group(name);
        // A generation takes a large fraction of a second: flat sampling
        // (the same iteration count in every sample) suits routines this
        // long, and ten samples need a target time that grows with size.
        group.sampling_mode(SamplingMode::Flat);
        for (tasks, options) in &projects {
            group.measurement_time(Duration::from_millis(*tasks as u64 * 3).max(MIN_MEASUREMENT));
            // A failing project would otherwise be timed as a fast error.
            assert_eq!(task_count(&registry, options, phase), *tasks);
            group.throughput(Throughput::Elements(*tasks as u64));
            group.bench_with_input(BenchmarkId::from_parameter(tasks), options, |b, options| {
                b.iter(|| generate(&registry, options, phase).ok());
            });
        }
        group.finish();
    }
}

fn config() -> Criterion {
    // Ten samples per benchmark keep the whole run to about a minute on two
    // cores.
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = generate_synthetic
}
criterion_main!(benches);
