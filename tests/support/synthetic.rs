//! Synthetic taskgraph projects of any size, for benchmarks and for running
//! graphgen side by side with the Python reference.
//!
//! A project has `tasks` run-task tasks spread evenly over `kinds` kinds
//! named `kind-00`, `kind-01`, … Every task outside the first kind depends
//! on a few tasks of earlier kinds, picked by a seeded generator, so the
//! graph is a DAG whose shape is the same for the same [`Spec`]. Only the
//! built-in transforms are used (the default loader: run, then task), with
//! plain registry images (`debian:12`), since the `docker-image` kind is
//! not something every engine under test supports.
//!
//! [`render`] produces the file contents; [`write`] puts them on disk as a
//! committed git repository, because parameters are read relative to the
//! checkout.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// The remote the generated repository claims to come from.
pub const ORIGIN: &str = "https://github.com/graphgen-fixtures/synthetic";

/// The parameters file, relative to the project directory.
pub const PARAMS_FILE: &str = "params.yml";

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Number of tasks in the whole project.
    pub tasks: usize,
    /// Number of kinds the tasks are spread over.
    pub kinds: usize,
    /// Dependencies per task, drawn from earlier kinds (fewer where the
    /// earlier kinds hold fewer tasks).
    pub deps_per_task: usize,
    /// Seed of the dependency choice.
    pub seed: u64,
    /// Written verbatim as `graphgen.run-task-dir` in `config.yml`
    /// (relative to that file); `None` leaves the key out, for runs that
    /// set `GRAPHGEN_RUN_TASK_DIR` or pass the directory in the options.
    pub run_task_dir: Option<String>,
}

impl Default for Spec {
    fn default() -> Spec {
        Spec {
            tasks: 1_000,
            kinds: 20,
            deps_per_task: 3,
            seed: 0x5eed_cafe,
            run_task_dir: None,
        }
    }
}

/// A generated project: its files and a few counts for reports.
#[derive(Debug, Clone)]
pub struct Project {
    /// `(path relative to the project directory, contents)`, in a fixed
    /// order.
    pub files: Vec<(PathBuf, String)>,
    /// Number of tasks.
    pub tasks: usize,
    /// Number of dependency edges.
    pub edges: usize,
    /// Number of tasks the default target method does not pick
    /// (`run-on-projects: []`).
    pub untargeted: usize,
}

/// A small deterministic generator (splitmix64): good enough to scatter
/// edges, and it keeps the suite free of an RNG dependency.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`). The modulo bias is far below
    /// anything a benchmark could notice.
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// One task of the plan.
#[derive(Debug, Clone)]
struct PlannedTask {
    kind: usize,
    /// Index within its kind.
    index: usize,
    /// Global indices of the tasks it depends on, ascending.
    deps: Vec<usize>,
    targeted: bool,
}

fn kind_name(kind: usize) -> String {
    format!("kind-{kind:02}")
}

fn task_name(index: usize) -> String {
    format!("t{index:05}")
}

/// The label the task transform gives a task: `<kind>-<name>`.
fn label(task: &PlannedTask) -> String {
    format!("{}-{}", kind_name(task.kind), task_name(task.index))
}

/// How many tasks kind `kind` gets: an even split, the remainder going to
/// the first kinds.
fn kind_size(spec: &Spec, kind: usize) -> usize {
    spec.tasks / spec.kinds + usize::from(kind < spec.tasks % spec.kinds)
}

/// Lays out every task and its dependencies. Every tenth task (by global
/// index) is left out of the target set.
fn plan(spec: &Spec) -> Vec<PlannedTask> {
    let mut rng = SplitMix(spec.seed);
    let mut tasks = Vec::with_capacity(spec.tasks);
    for kind in 0..spec.kinds {
        // Tasks of earlier kinds occupy global indices 0..earlier.
        let earlier = tasks.len();
        for index in 0..kind_size(spec, kind) {
            let deps = pick_distinct(&mut rng, earlier, spec.deps_per_task);
            let targeted = tasks.len() % 10 != 9;
            tasks.push(PlannedTask {
                kind,
                index,
                deps,
                targeted,
            });
        }
    }
    tasks
}

/// `count` distinct numbers below `bound` (all of them if `bound` is
/// smaller), ascending.
fn pick_distinct(rng: &mut SplitMix, bound: usize, count: usize) -> Vec<usize> {
    if bound <= count {
        return (0..bound).collect();
    }
    let mut picked = BTreeSet::new();
    while picked.len() < count {
        picked.insert(rng.below(bound));
    }
    picked.into_iter().collect()
}

/// Renders the whole project without touching the disk.
pub fn render(spec: &Spec) -> Project {
    let spec = Spec {
        kinds: spec.kinds.max(1),
        ..spec.clone()
    };
    let tasks = plan(&spec);
    let mut files = vec![
        (PathBuf::from("taskcluster/config.yml"), config_yml(&spec)),
        (PathBuf::from(PARAMS_FILE), params_yml()),
    ];
    for kind in 0..spec.kinds {
        let path = PathBuf::from(format!("taskcluster/kinds/{}/kind.yml", kind_name(kind)));
        files.push((path, kind_yml(kind, &tasks)));
    }
    Project {
        files,
        tasks: tasks.len(),
        edges: tasks.iter().map(|t| t.deps.len()).sum(),
        untargeted: tasks.iter().filter(|t| !t.targeted).count(),
    }
}

fn config_yml(spec: &Spec) -> String {
    let mut out = String::from(
        "# A synthetic project generated by graphgen-suite's synthetic module.\n\
         trust-domain: synthetic\n\
         task-priority:\n    by-project:\n        synthetic: medium\n        default: low\n\
         task-deadline-after: 1 day\n\
         task-expires-after: 28 days\n\
         treeherder:\n    group-names:\n",
    );
    for kind in 0..spec.kinds {
        // Every symbol group must be named, or the task transform refuses it.
        let _ = writeln!(out, "        K{kind:02}: Synthetic kind {kind:02}");
    }
    out.push_str(
        "taskgraph:\n    repositories:\n        synthetic:\n            name: Synthetic\n\
         \x20   run:\n        use-caches: [checkout, pip]\n\
         workers:\n    aliases:\n        b-linux:\n\
         \x20           provisioner: '{trust-domain}-{level}'\n\
         \x20           implementation: docker-worker\n\
         \x20           os: linux\n\
         \x20           worker-type: 'b-linux-{level}'\n",
    );
    if let Some(dir) = &spec.run_task_dir {
        let _ = write!(out, "graphgen:\n    run-task-dir: '{dir}'\n");
    }
    out
}

/// Every base parameter spelled out, so the graph does not depend on the
/// machine or the checkout's commit.
fn params_yml() -> String {
    format!(
        "base_repository: {ORIGIN}\n\
         base_ref: refs/heads/main\n\
         base_rev: '1111111111111111111111111111111111111111'\n\
         build_date: 1700000000\n\
         build_number: 1\n\
         do_not_optimize: []\n\
         enable_always_target: true\n\
         existing_tasks: {{}}\n\
         files_changed: [src/main.rs]\n\
         filters: [target_tasks_method]\n\
         head_ref: refs/heads/main\n\
         head_repository: {ORIGIN}\n\
         head_rev: '2222222222222222222222222222222222222222'\n\
         head_tag: ''\n\
         level: '3'\n\
         moz_build_date: '20231114221320'\n\
         next_version: null\n\
         optimize_strategies: null\n\
         optimize_target_tasks: true\n\
         owner: dev@example.com\n\
         project: synthetic\n\
         pushdate: 1700000000\n\
         pushlog_id: '0'\n\
         repository_type: git\n\
         target_tasks_method: default\n\
         tasks_for: github-push\n\
         version: null\n"
    )
}

fn kind_yml(kind: usize, tasks: &[PlannedTask]) -> String {
    let own: Vec<&PlannedTask> = tasks.iter().filter(|t| t.kind == kind).collect();
    let upstream: BTreeSet<usize> = own
        .iter()
        .flat_map(|t| t.deps.iter().map(|&d| tasks[d].kind))
        .collect();
    let mut out = format!("# Synthetic kind {kind:02}: {} tasks.\n", own.len());
    if !upstream.is_empty() {
        out.push_str("kind-dependencies:\n");
        for dep in upstream {
            let _ = writeln!(out, "    - {}", kind_name(dep));
        }
    }
    out.push_str(&task_defaults(kind));
    out.push_str("\ntasks:\n");
    for task in own {
        write_task(&mut out, task, tasks);
    }
    out
}

/// Defaults shared by the tasks of a kind; alternate kinds are builds and
/// tests so both treeherder kinds appear.
fn task_defaults(kind: usize) -> String {
    let th_kind = if kind.is_multiple_of(2) {
        "build"
    } else {
        "test"
    };
    format!(
        "\ntask-defaults:\n\
         \x20   worker-type: b-linux\n\
         \x20   attributes:\n\
         \x20       stage: {stage}\n\
         \x20   treeherder:\n\
         \x20       kind: {th_kind}\n\
         \x20       platform: linux64/opt\n\
         \x20       tier: 1\n\
         \x20   worker:\n\
         \x20       docker-image: debian:12\n\
         \x20       max-run-time: 1800\n\
         \x20       volumes:\n\
         \x20           - /builds/worker/checkouts\n\
         \x20           - /builds/worker/.task-cache/pip\n\
         \x20       env:\n\
         \x20           STAGE: {stage}\n\
         \x20   run:\n\
         \x20       using: run-task\n\
         \x20       cwd: '{{checkout}}'\n",
        stage = kind_name(kind),
    )
}

fn write_task(out: &mut String, task: &PlannedTask, all: &[PlannedTask]) {
    let name = task_name(task.index);
    let kind = kind_name(task.kind);
    let _ = write!(
        out,
        "    {name}:\n\
         \x20       description: Synthetic task {index} of {kind}\n\
         \x20       attributes:\n\
         \x20           shard: {index}\n\
         \x20           bucket: b{bucket}\n\
         \x20       treeherder:\n\
         \x20           symbol: K{k:02}(t{index})\n",
        index = task.index,
        bucket = task.index % 7,
        k = task.kind,
    );
    // Not in the defaults: taskgraph concatenates lists when merging
    // defaults, so `[all]` there would survive an empty list here.
    if !task.targeted {
        out.push_str("        run-on-projects: []\n");
    }
    if !task.deps.is_empty() {
        out.push_str("        dependencies:\n");
        for (n, &dep) in task.deps.iter().enumerate() {
            let _ = writeln!(out, "            dep{n}: {}", label(&all[dep]));
        }
    }
    let _ = write!(
        out,
        "        run:\n\
         \x20           command: ./synthetic.sh --kind {kind} --task {index}\n",
        index = task.index,
    );
}

/// Writes the project into `dir` (created if missing; it must not already
/// hold a project) and commits it to a fresh git repository with `origin`
/// at [`ORIGIN`]. Commit dates are fixed so the same spec gives the same
/// commit.
pub fn write(spec: &Spec, dir: &Path) -> io::Result<Project> {
    if dir.join("taskcluster").exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already holds a project", dir.display()),
        ));
    }
    let project = render(spec);
    for (path, contents) in &project.files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents)?;
    }
    git(dir, &["init", "-q"])?;
    git(dir, &["add", "-A"])?;
    git(dir, &["commit", "-qm", "synthetic project"])?;
    git(dir, &["remote", "add", "origin", ORIGIN])?;
    Ok(project)
}

/// Settings that make commits independent of the user's git
/// configuration: identity, branch name, signing and hooks.
const GIT_SETTINGS: [&str; 5] = [
    "user.name=graphgen",
    "user.email=graphgen@example.com",
    "init.defaultBranch=main",
    "commit.gpgsign=false",
    "core.hooksPath=/dev/null",
];

fn git(dir: &Path, args: &[&str]) -> io::Result<()> {
    let mut command = Command::new("git");
    for setting in GIT_SETTINGS {
        command.args(["-c", setting]);
    }
    let status = command
        .args(args)
        .env("GIT_AUTHOR_DATE", "2023-11-14T22:13:20Z")
        .env("GIT_COMMITTER_DATE", "2023-11-14T22:13:20Z")
        .current_dir(dir)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "git {} failed in {}",
            args.join(" "),
            dir.display()
        )))
    }
}

/// `to` as a path relative to the directory `from`, for writing
/// `run-task-dir` relative to `config.yml`. Both must exist; `None` when
/// they share no root.
pub fn relative_path(from: &Path, to: &Path) -> Option<PathBuf> {
    let from = from.canonicalize().ok()?;
    let to = to.canonicalize().ok()?;
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part.as_os_str());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_spec_same_files() {
        let spec = Spec::default();
        assert_eq!(render(&spec).files, render(&spec).files);
    }

    #[test]
    fn counts() {
        let project = render(&Spec {
            tasks: 1_000,
            ..Spec::default()
        });
        assert_eq!(project.tasks, 1_000);
        assert_eq!(project.untargeted, 100);
        // The first kind (50 tasks) has no earlier kind to depend on.
        assert_eq!(project.edges, 950 * 3);
        assert_eq!(project.files.len(), 22);
    }

    #[test]
    fn dependencies_point_backwards_and_are_distinct() {
        let spec = Spec::default();
        let tasks = plan(&spec);
        let mut start = 0;
        for kind in 0..spec.kinds {
            for task in tasks.iter().filter(|t| t.kind == kind) {
                assert!(task.deps.iter().all(|&d| d < start));
                assert!(task.deps.windows(2).all(|w| w[0] < w[1]));
            }
            start += kind_size(&spec, kind);
        }
    }

    #[test]
    fn small_projects_take_what_exists() {
        let project = render(&Spec {
            tasks: 3,
            kinds: 3,
            ..Spec::default()
        });
        // Task 1 depends on task 0; task 2 on tasks 0 and 1.
        assert_eq!(project.edges, 3);
    }

    #[test]
    fn relative_paths() {
        let dir = std::env::temp_dir();
        let rel = relative_path(&dir, &dir).unwrap();
        assert_eq!(rel, PathBuf::new());
    }
}
