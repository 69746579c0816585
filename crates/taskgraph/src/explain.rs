//! Why a task is (or is not) in the graph, and what the optimizer did with
//! it.
//!
//! The answer has two halves:
//!
//! * selection: the target filters chose the task, or it is an
//!   `always_target` task, or a chosen task depends on it (shown as the
//!   shortest dependency path from one), or a named filter dropped it and
//!   nothing chosen needs it;
//! * optimization, when generation got that far: the verdict, the strategy,
//!   the index paths tried, and the neighbours the verdict hinged on (the
//!   dependents that kept a task, the dependencies that stopped it being
//!   replaced).

use std::collections::{HashMap, VecDeque};
use std::fmt;

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result, closest_names};
use crate::generator::{Generation, TaskGraph, always_target_tasks};
use crate::optimize::{Decision, KeepReason, RemoveReason, ReplacedBy, Verdict};

/// The answer for one label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub label: String,
    pub kind: String,
    pub selection: Selection,
    /// None when generation stopped before optimizing, or the task is not
    /// in the target graph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimization: Option<OptimizationStory>,
}

/// How the task got into the target graph, or why it did not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "how", rename_all = "kebab-case")]
pub enum Selection {
    /// Every target filter kept it.
    Target { filters: Vec<String> },
    /// Its `always_target` attribute brought it in.
    AlwaysTarget,
    /// A selected task needs it: the path runs from that task down to this
    /// one, each step naming the dependency edge taken.
    Dependency { path: Vec<PathStep> },
    /// Not in the target graph. `dropped_by` names the filter that left it
    /// out, when generation recorded it.
    NotSelected {
        filters: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dropped_by: Option<String>,
    },
    /// Generation stopped before choosing target tasks.
    NotComputed,
}

/// One task on a dependency path, and the name of the edge leading to the
/// next one (None on the last step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathStep {
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<String>,
}

/// The optimizer's decision, with the neighbours it turned on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptimizationStory {
    #[serde(flatten)]
    pub decision: Decision,
    /// For "kept: dependent tasks", the dependents that run; for "kept: a
    /// dependency runs", the dependencies that run; for "removed: its
    /// dependents were optimized", its dependents. Empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub because_of: Vec<String>,
}

/// Explains `label` from a finished generation. An unknown label is an
/// error that suggests labels containing it.
pub fn explain(generation: &Generation, label: &str) -> Result<Explanation> {
    let Some(task) = generation.full_task_set.tasks.get(label) else {
        return Err(unknown_label(generation, label));
    };
    let selection = selection(generation, label);
    let optimization = generation
        .optimized
        .as_ref()
        .zip(generation.target_task_graph.as_ref())
        .and_then(|(optimized, target)| {
            let decision = optimized.decisions.get(label)?.clone();
            let because_of = because_of(&decision.verdict, label, target, optimized);
            Some(OptimizationStory {
                decision,
                because_of,
            })
        });
    Ok(Explanation {
        label: label.to_owned(),
        kind: task.kind.clone(),
        selection,
        optimization,
    })
}

fn unknown_label(generation: &Generation, label: &str) -> Error {
    let labels = || generation.full_task_set.tasks.keys().map(String::as_str);
    let mut message = format!("there is no task labelled `{label}` in the full task graph");

    let close = closest_names(label, labels());
    if !close.is_empty() {
        message.push_str(&format!("; did you mean {}?", close.join(", ")));
    }

    let needle = label.to_lowercase();
    let mut containing: Vec<&str> = labels()
        .filter(|candidate| candidate.to_lowercase().contains(&needle))
        .collect();
    containing.sort_by_key(|candidate| (candidate.len(), *candidate));
    if !containing.is_empty() {
        message.push_str("\nlabels containing it:");
        for candidate in containing.iter().take(10) {
            message.push_str(&format!("\n  {candidate}"));
        }
        if containing.len() > 10 {
            message.push_str(&format!("\n  … and {} more", containing.len() - 10));
        }
    }
    Error::new(ErrorKind::Usage(message))
}

fn selection(generation: &Generation, label: &str) -> Selection {
    let (Some(target_set), Some(full)) = (
        generation.target_task_set.as_ref(),
        generation.full_task_graph.as_ref(),
    ) else {
        return Selection::NotComputed;
    };
    let filters = generation
        .target_trace
        .as_ref()
        .map(|trace| trace.filters.clone())
        .or_else(|| {
            generation
                .parameters
                .get("filters")
                .and_then(|f| f.as_str_list())
                .map(|l| l.into_iter().map(str::to_owned).collect())
        })
        .unwrap_or_default();

    if target_set.tasks.contains_key(label) {
        return Selection::Target { filters };
    }
    let always = always_target_tasks(full, &generation.parameters);
    if always.contains(&label) {
        return Selection::AlwaysTarget;
    }
    let roots = target_set
        .tasks
        .keys()
        .map(String::as_str)
        .chain(always.iter().copied());
    if let Some(path) = shortest_path(full, roots, label) {
        return Selection::Dependency { path };
    }
    let dropped_by = generation
        .target_trace
        .as_ref()
        .and_then(|trace| trace.dropped_by(label))
        .map(str::to_owned);
    Selection::NotSelected {
        filters,
        dropped_by,
    }
}

/// The shortest dependency path from any of `roots` down to `goal`: a
/// breadth-first walk from all roots at once, so each task is visited once.
fn shortest_path<'g>(
    graph: &'g TaskGraph,
    roots: impl Iterator<Item = &'g str>,
    goal: &str,
) -> Option<Vec<PathStep>> {
    // Task → (the task that reached it, the edge name).
    let mut reached_from: HashMap<&str, Option<(&str, &str)>> = HashMap::new();
    let mut queue = VecDeque::new();
    for root in roots {
        if reached_from.insert(root, None).is_none() {
            queue.push_back(root);
        }
    }
    while let Some(current) = queue.pop_front() {
        if current == goal {
            return Some(path_to(current, &reached_from));
        }
        for (edge, dependency) in graph.graph.dependencies(current) {
            if !reached_from.contains_key(dependency) {
                reached_from.insert(dependency, Some((current, edge)));
                queue.push_back(dependency);
            }
        }
    }
    None
}

fn path_to(goal: &str, reached_from: &HashMap<&str, Option<(&str, &str)>>) -> Vec<PathStep> {
    let mut steps = vec![PathStep {
        label: goal.to_owned(),
        edge: None,
    }];
    let mut current = goal;
    while let Some(Some((parent, edge))) = reached_from.get(current) {
        steps.push(PathStep {
            label: (*parent).to_owned(),
            edge: Some((*edge).to_owned()),
        });
        current = parent;
    }
    steps.reverse();
    steps
}

/// The neighbours a verdict turned on (see [`OptimizationStory`]).
fn because_of(
    verdict: &Verdict,
    label: &str,
    target: &TaskGraph,
    optimized: &crate::optimize::Optimized,
) -> Vec<String> {
    let runs = |other: &str| {
        matches!(
            optimized.decisions.get(other).map(|d| &d.verdict),
            Some(Verdict::Kept { .. })
        )
    };
    let mut labels: Vec<String> = match verdict {
        Verdict::Kept {
            reason: KeepReason::DependentTasks,
        } => target
            .graph
            .dependents(label)
            .map(|(_, dependent)| dependent)
            .filter(|d| runs(d))
            .map(str::to_owned)
            .collect(),
        Verdict::Kept {
            reason: KeepReason::DependencyRuns,
        } => target
            .graph
            .dependencies(label)
            .map(|(_, dependency)| dependency)
            .filter(|d| runs(d))
            .map(str::to_owned)
            .collect(),
        Verdict::Removed {
            reason: RemoveReason::DependentsOptimized,
        } => target
            .graph
            .dependents(label)
            .map(|(_, dependent)| dependent.to_owned())
            .collect(),
        _ => Vec::new(),
    };
    labels.sort();
    labels.dedup();
    labels
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} (kind {})", self.label, self.kind)?;
        write!(f, "  selected: ")?;
        match &self.selection {
            Selection::Target { filters } => {
                writeln!(f, "yes, a target task (filters: {})", filters.join(", "))?
            }
            Selection::AlwaysTarget => writeln!(f, "yes, by its always_target attribute")?,
            Selection::Dependency { path } => {
                let root = path.first().map_or("", |s| s.label.as_str());
                writeln!(f, "yes, target task `{root}` depends on it:")?;
                for pair in path.windows(2) {
                    let edge = pair[0].edge.as_deref().unwrap_or_default();
                    writeln!(f, "    {} -[{edge}]-> {}", pair[0].label, pair[1].label)?;
                }
            }
            Selection::NotSelected {
                filters,
                dropped_by,
            } => {
                match dropped_by {
                    Some(filter) => write!(f, "no, filter `{filter}` dropped it")?,
                    None => write!(f, "no, the filters ({}) dropped it", filters.join(", "))?,
                }
                writeln!(f, " and no target task depends on it")?
            }
            Selection::NotComputed => writeln!(f, "not computed (generation stopped earlier)")?,
        }
        if let Some(story) = &self.optimization {
            write_optimization(f, story)?;
        }
        Ok(())
    }
}

fn write_optimization(f: &mut fmt::Formatter<'_>, story: &OptimizationStory) -> fmt::Result {
    let decision = &story.decision;
    let verdict = match &decision.verdict {
        Verdict::Kept { reason } => format!(
            "runs: {}",
            match reason {
                KeepReason::DoNotOptimize => "it is in do_not_optimize".to_owned(),
                KeepReason::DependentTasks => "tasks that run depend on it".to_owned(),
                KeepReason::Strategy => "its strategy found nothing to replace it".to_owned(),
                KeepReason::DependencyRuns => {
                    "a dependency runs, so it cannot be replaced".to_owned()
                }
                KeepReason::ExistingTaskExpires { task_id, expires } => format!(
                    "existing task {task_id} expires {expires}, before a dependent's deadline"
                ),
            }
        ),
        Verdict::Removed { reason } => format!(
            "removed: {}",
            match reason {
                RemoveReason::DependentsOptimized => "every task that needed it was optimized away",
                RemoveReason::Strategy => "its strategy said it is not needed",
                RemoveReason::IfDependenciesPruning =>
                    "every task it was an if-dependency of was removed",
                RemoveReason::ReplacedWithNothing => "its strategy replaced it with nothing",
            }
        ),
        Verdict::Replaced { task_id, by } => format!(
            "replaced by task {task_id} ({})",
            match by {
                ReplacedBy::ExistingTasks => "named in existing_tasks",
                ReplacedBy::Strategy => "found by its strategy",
            }
        ),
    };
    writeln!(f, "  optimization: {verdict}")?;
    writeln!(f, "    strategy: {}", decision.strategy)?;
    for attempt in &decision.index_attempts {
        writeln!(f, "    index {}: {}", attempt.path, attempt.answer)?;
    }
    if !story.because_of.is_empty() {
        writeln!(f, "    because of: {}", story.because_of.join(", "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::Registry;
    use crate::generator::{GenerateOptions, Phase, generate};

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// `lint` ← `build` ← `test`, plus an unrelated `docs` task; the
    /// `codereview` method targets `test` alone.
    fn project(dir: &Path) {
        write(
            dir,
            "taskcluster/config.yml",
            "trust-domain: demo\ntask-priority: low\nworkers: {aliases: {}}\n\
             taskgraph: {repositories: {demo: {name: Demo}}}\n",
        );
        let kind = |name: &str, deps: &str, dependencies: &str| {
            let review = name == "test";
            format!(
                "loader: taskgraph.loader.transform:loader\n\
                 transforms: [taskgraph.transforms.task]\n\
                 kind-dependencies: [{deps}]\n\
                 task-defaults: {{description: d, worker-type: succeed, run-on-projects: [all]}}\n\
                 tasks:\n  {name}: {{attributes: {{code-review: {review}}}, \
                 dependencies: {{{dependencies}}}}}\n"
            )
        };
        write(
            dir,
            "taskcluster/kinds/lint/kind.yml",
            &kind("lint", "", ""),
        );
        write(
            dir,
            "taskcluster/kinds/build/kind.yml",
            &kind("build", "lint", "lint: lint-lint"),
        );
        write(
            dir,
            "taskcluster/kinds/test/kind.yml",
            &kind("test", "build", "build: build-build"),
        );
        write(
            dir,
            "taskcluster/kinds/docs/kind.yml",
            &kind("docs", "", ""),
        );
        write(
            dir,
            "params.yml",
            "build_date: 1\npushdate: 1\nmoz_build_date: '20240101000000'\nproject: demo\n\
             head_repository: https://github.com/demo/demo\nhead_rev: abc\nhead_ref: main\n\
             target_tasks_method: codereview\n",
        );
    }

    fn generation(dir: &Path) -> Generation {
        let mut options = GenerateOptions::new("taskcluster", Some("params.yml".into()));
        options.working_dir = dir.to_owned();
        options.trace_targets = true;
        options.verify = false;
        let registry = Registry::with_builtins();
        generate(&registry, &options, Phase::TargetTaskGraph).unwrap()
    }

    #[test]
    fn a_dependency_is_explained_by_the_shortest_path_from_a_target() {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path());
        let generation = generation(dir.path());
        let explanation = explain(&generation, "lint-lint").unwrap();
        let Selection::Dependency { path } = &explanation.selection else {
            panic!("{explanation:?}");
        };
        let labels: Vec<(&str, Option<&str>)> = path
            .iter()
            .map(|s| (s.label.as_str(), s.edge.as_deref()))
            .collect();
        assert_eq!(
            labels,
            [
                ("test-test", Some("build")),
                ("build-build", Some("lint")),
                ("lint-lint", None)
            ]
        );
        assert!(
            explanation
                .to_string()
                .contains("target task `test-test` depends on it")
        );
    }

    #[test]
    fn a_dropped_task_names_the_filter() {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path());
        let generation = generation(dir.path());
        let explanation = explain(&generation, "docs-docs").unwrap();
        assert_eq!(
            explanation.selection,
            Selection::NotSelected {
                filters: vec!["target_tasks_method".to_owned()],
                dropped_by: Some("target_tasks_method".to_owned()),
            }
        );
        let target = explain(&generation, "test-test").unwrap();
        assert!(matches!(target.selection, Selection::Target { .. }));
    }

    #[test]
    fn an_unknown_label_suggests_labels_containing_it() {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path());
        let generation = generation(dir.path());
        let err = explain(&generation, "UIL").unwrap_err().to_string();
        assert!(err.contains("no task labelled `UIL`"), "{err}");
        assert!(err.contains("  build-build"), "{err}");
        assert!(!err.contains("  docs-docs"), "{err}");

        let typo = explain(&generation, "biuld-build").unwrap_err().to_string();
        assert!(typo.contains("did you mean build-build?"), "{typo}");
    }
}
