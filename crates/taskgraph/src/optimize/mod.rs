//! Optimization: which tasks of the target graph run, which are replaced by
//! tasks that already exist, and which are left out; then task ids.
//!
//! ```text
//! target graph ──► remove phase (dependents first)
//!              ──► one batched index lookup, one batched status lookup
//!              ──► replace phase (dependencies first: existing_tasks,
//!                  then each task's strategy)
//!              ──► task ids (sorted label order), references resolved
//!              ──► optimized graph, keyed by task id
//! ```
//!
//! The phases follow taskgraph 15.1.3's rules exactly, so the same inputs
//! keep, remove and replace the same tasks. Every task's outcome is kept as
//! a [`Decision`], which `graphgen explain` shows and the artifacts record.

pub mod ids;
pub mod lookup;
pub mod morph;
pub mod previous;
pub mod strategies;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::generator::TaskGraph;
use crate::graph::Graph;
use crate::params::Parameters;
use crate::python::py_str;
use crate::task::Task;
use crate::util::ordered;
use crate::util::parameterization::{
    References, resolve_definition_references, resolve_timestamps,
};
use crate::util::time::parse_json_time;
use crate::value::{Map, Value};

use self::ids::TaskIds;
use self::lookup::IndexLookup;
use self::strategies::{IndexAttempt, ReplaceContext, Replacement, Strategy};

/// Why a task was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeepReason {
    /// It is in `do_not_optimize` (or a target task with
    /// `optimize_target_tasks` off).
    DoNotOptimize,
    /// A task that runs depends on it.
    DependentTasks,
    /// Its strategy neither removed nor replaced it.
    Strategy,
    /// It depends on a task that runs, so it cannot be replaced.
    DependencyRuns,
    /// The existing task meant to replace it expires before a dependent's
    /// deadline (or has expired): it runs again. (The reference would
    /// reuse it.)
    ExistingTaskExpires { task_id: String, expires: String },
}

/// Why a task was left out without a replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemoveReason {
    /// It was only in the graph for tasks that were all removed.
    DependentsOptimized,
    /// Its strategy said it is not needed.
    Strategy,
    /// Every task it was an `if-dependency` of was removed.
    IfDependenciesPruning,
    /// Its strategy, asked for a replacement, said none is needed.
    ReplacedWithNothing,
}

/// Where a replacement came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplacedBy {
    /// The `existing_tasks` parameter named it.
    ExistingTasks,
    /// The task's strategy found it (for `index-search`, in the index).
    Strategy,
}

/// What became of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    Kept { reason: KeepReason },
    Removed { reason: RemoveReason },
    Replaced { task_id: String, by: ReplacedBy },
}

/// A task's verdict, the strategy that weighed in, and the index paths it
/// tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The strategy's name and description, as the reference logs it
    /// (`index-search (index-search)`); `never` without an optimization.
    pub strategy: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub index_attempts: Vec<IndexAttemptRecord>,
}

/// One index path tried, for the artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexAttemptRecord {
    pub path: String,
    pub answer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
}

impl From<&IndexAttempt> for IndexAttemptRecord {
    fn from(attempt: &IndexAttempt) -> IndexAttemptRecord {
        use self::strategies::IndexAnswer;
        let (answer, task_id) = match &attempt.answer {
            IndexAnswer::NotFound => ("not found".to_owned(), None),
            IndexAnswer::NoStatus { task_id } => {
                ("the queue has no status for it".to_owned(), Some(task_id))
            }
            IndexAnswer::Failed { task_id, state } => (format!("refused: {state}"), Some(task_id)),
            IndexAnswer::ExpiresTooSoon {
                task_id,
                expires,
                deadline,
            } => (
                format!("refused: it expires {expires}, before a dependent's deadline {deadline}"),
                Some(task_id),
            ),
            IndexAnswer::Used { task_id, state } => (format!("used ({state})"), Some(task_id)),
        };
        IndexAttemptRecord {
            path: attempt.path.clone(),
            answer,
            task_id: task_id.cloned(),
        }
    }
}

/// What optimization needs besides the target graph.
#[derive(Debug)]
pub struct OptimizeInputs<'a> {
    /// The target tasks and the always-target tasks.
    pub requested: &'a BTreeSet<String>,
    pub params: &'a Parameters,
    /// Strategies by name.
    pub strategies: &'a BTreeMap<String, Arc<dyn Strategy>>,
    pub lookup: &'a dyn IndexLookup,
    pub decision_task_id: &'a str,
    /// Where artifact references point.
    pub root_url: Option<&'a str>,
    pub proxy_url: Option<&'a str>,
    /// The time deadlines are counted from.
    pub now: DateTime<Utc>,
    pub task_ids: &'a TaskIds,
    /// When the tasks of `existing_tasks` expire, where known (tasks
    /// reused from earlier groups): a replacement that would expire before
    /// its dependents' deadline is refused.
    pub existing_expires: &'a BTreeMap<String, String>,
}

/// The optimized graph: tasks keyed by task id, and what became of every
/// target task.
#[derive(Debug, Clone)]
pub struct Optimized {
    pub graph: TaskGraph,
    /// Every label of the target graph that was kept or replaced, with its
    /// task id (the replacement's, for replaced tasks).
    pub label_to_taskid: BTreeMap<String, String>,
    pub decisions: BTreeMap<String, Decision>,
}

impl Optimized {
    /// How many tasks were removed, replaced from `existing_tasks`,
    /// replaced by their strategy, and kept.
    pub fn counts(&self) -> OptimizeCounts {
        let mut counts = OptimizeCounts::default();
        for decision in self.decisions.values() {
            match &decision.verdict {
                Verdict::Kept { .. } => counts.kept += 1,
                Verdict::Removed { .. } => counts.removed += 1,
                Verdict::Replaced {
                    by: ReplacedBy::ExistingTasks,
                    ..
                } => counts.from_existing += 1,
                Verdict::Replaced { .. } => counts.from_index += 1,
            }
        }
        counts
    }
}

/// Outcome counts for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptimizeCounts {
    pub removed: usize,
    pub from_existing: usize,
    pub from_index: usize,
    pub kept: usize,
}

/// The labels not to optimize: the `do_not_optimize` parameter, plus the
/// target tasks when `optimize_target_tasks` is false.
pub fn do_not_optimize<'a>(
    params: &Parameters,
    target_labels: impl IntoIterator<Item = &'a str>,
) -> HashSet<String> {
    let mut labels: HashSet<String> = params
        .get("do_not_optimize")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
        .map(py_str)
        .collect();
    let optimize_targets = params
        .get("optimize_target_tasks")
        .is_none_or(Value::is_truthy);
    if !optimize_targets {
        labels.extend(target_labels.into_iter().map(str::to_owned));
    }
    labels
}

/// A task's strategy, its display name, and its argument.
struct TaskStrategy<'t> {
    name: String,
    strategy: Arc<dyn Strategy>,
    arg: &'t Value,
}

const NO_ARG: Value = Value::Null;

fn strategy_of<'t>(
    task: &'t Task,
    strategies: &BTreeMap<String, Arc<dyn Strategy>>,
) -> Result<TaskStrategy<'t>> {
    let (name, arg) = match &task.optimization {
        Value::Map(map) if !map.is_empty() => {
            let (name, arg) = map.first().expect("not empty");
            (name.to_owned(), arg)
        }
        _ => ("never".to_owned(), &NO_ARG),
    };
    let strategy = strategies.get(&name).cloned().ok_or_else(|| {
        let known: Vec<String> = strategies.keys().cloned().collect();
        Error::new(ErrorKind::UnknownName {
            what: "optimization strategy",
            name: name.clone(),
            known,
        })
        .in_task(&task.label)
        .at_field("optimization")
    })?;
    let shown = if task.optimization.is_truthy() {
        format!("{name} ({})", strategy.description())
    } else {
        name
    };
    Ok(TaskStrategy {
        name: shown,
        strategy,
        arg,
    })
}

/// Optimizes `target`: the reference's `optimize_task_graph`.
pub fn optimize(
    target: &TaskGraph,
    do_not_optimize: &HashSet<String>,
    inputs: &OptimizeInputs<'_>,
) -> Result<Optimized> {
    let mut strategies = BTreeMap::new();
    for (label, task) in &target.tasks {
        strategies.insert(label.as_str(), strategy_of(task, inputs.strategies)?);
    }

    let mut decisions: BTreeMap<String, Decision> = BTreeMap::new();
    let mut removed = remove_tasks(target, do_not_optimize, inputs, &strategies, &mut decisions)?;

    // Every index path any task may try, asked for at once.
    let mut paths: BTreeSet<String> = BTreeSet::new();
    for (label, choice) in &strategies {
        if !do_not_optimize.contains(*label) {
            paths.extend(choice.strategy.index_paths(choice.arg));
        }
    }
    let paths: Vec<String> = paths.into_iter().collect();
    let (index, statuses) = if paths.is_empty() {
        (BTreeMap::new(), BTreeMap::new())
    } else {
        let index = inputs.lookup.find_task_ids(&paths)?;
        let found: Vec<String> = index
            .values()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let statuses = inputs.lookup.task_statuses(&found)?;
        (index, statuses)
    };

    let mut label_to_taskid: BTreeMap<String, String> = BTreeMap::new();
    let replaced = replace_tasks(
        target,
        do_not_optimize,
        inputs,
        &strategies,
        ReplaceState {
            removed: &mut removed,
            label_to_taskid: &mut label_to_taskid,
            decisions: &mut decisions,
            index: &index,
            statuses: &statuses,
        },
    )?;

    let graph = subgraph(target, &removed, &replaced, &mut label_to_taskid, inputs)?;
    Ok(Optimized {
        graph,
        label_to_taskid,
        decisions,
    })
}

fn record(
    decisions: &mut BTreeMap<String, Decision>,
    label: &str,
    verdict: Verdict,
    strategy: &str,
    attempts: &[IndexAttempt],
) {
    decisions.insert(
        label.to_owned(),
        Decision {
            verdict,
            strategy: strategy.to_owned(),
            index_attempts: attempts.iter().map(IndexAttemptRecord::from).collect(),
        },
    );
}

/// The remove phase, dependents first. Returns the removed labels.
fn remove_tasks(
    target: &TaskGraph,
    do_not_optimize: &HashSet<String>,
    inputs: &OptimizeInputs<'_>,
    strategies: &BTreeMap<&str, TaskStrategy<'_>>,
    decisions: &mut BTreeMap<String, Decision>,
) -> Result<HashSet<String>> {
    let graph = &target.graph;
    let tasks = &target.tasks;
    let mut removed: HashSet<String> = HashSet::new();
    let mut prune_candidates: HashSet<String> = HashSet::new();
    let dependents = |label: &str| -> Vec<&str> {
        let mut seen = Vec::new();
        for (_, dependent) in graph.dependents(label) {
            if !seen.contains(&dependent) {
                seen.push(dependent);
            }
        }
        seen
    };
    let is_if_dependency_of = |dependent: &str, label: &str| -> bool {
        let if_dependencies = &tasks[dependent].if_dependencies;
        if_dependencies.is_empty() || if_dependencies.iter().any(|l| l == label)
    };

    for label in graph.visit_preorder()? {
        let choice = &strategies[label];
        let prune_deps: Vec<&str> = dependents(label)
            .into_iter()
            .filter(|d| prune_candidates.contains(*d) && is_if_dependency_of(d, label))
            .collect();

        // Keeping a task keeps the if-dependency dependents waiting on it.
        let keep = |reason: KeepReason,
                    prune_candidates: &mut HashSet<String>,
                    decisions: &mut BTreeMap<String, Decision>| {
            record(
                decisions,
                label,
                Verdict::Kept { reason },
                &choice.name,
                &[],
            );
            let mut queue: Vec<String> = prune_deps.iter().map(|s| (*s).to_owned()).collect();
            while let Some(candidate) = queue.pop() {
                if !prune_candidates.contains(&candidate) {
                    continue;
                }
                if tasks[&candidate].if_dependencies.is_empty() {
                    continue;
                }
                prune_candidates.remove(&candidate);
                queue.extend(
                    dependents(&candidate)
                        .into_iter()
                        .filter(|r| prune_candidates.contains(*r))
                        .map(str::to_owned),
                );
            }
        };
        let remove = |reason: RemoveReason,
                      prune_candidates: &mut HashSet<String>,
                      removed: &mut HashSet<String>,
                      decisions: &mut BTreeMap<String, Decision>| {
            if prune_deps.is_empty() {
                record(
                    decisions,
                    label,
                    Verdict::Removed { reason },
                    &choice.name,
                    &[],
                );
                removed.insert(label.to_owned());
            } else {
                prune_candidates.insert(label.to_owned());
            }
        };

        if do_not_optimize.contains(label) {
            keep(KeepReason::DoNotOptimize, &mut prune_candidates, decisions);
            continue;
        }
        let needed = dependents(label)
            .into_iter()
            .any(|d| !removed.contains(d) && !prune_deps.contains(&d));
        if needed {
            keep(KeepReason::DependentTasks, &mut prune_candidates, decisions);
            continue;
        }
        if !inputs.requested.contains(label) {
            remove(
                RemoveReason::DependentsOptimized,
                &mut prune_candidates,
                &mut removed,
                decisions,
            );
            continue;
        }
        let task = &tasks[label];
        let remove_it = choice
            .strategy
            .should_remove(task, inputs.params, choice.arg)
            .map_err(|e| e.in_task(label))?;
        if remove_it {
            remove(
                RemoveReason::Strategy,
                &mut prune_candidates,
                &mut removed,
                decisions,
            );
            continue;
        }
        if task.if_dependencies.is_empty() {
            keep(KeepReason::Strategy, &mut prune_candidates, decisions);
        } else {
            record(
                decisions,
                label,
                Verdict::Kept {
                    reason: KeepReason::Strategy,
                },
                &choice.name,
                &[],
            );
            prune_candidates.insert(label.to_owned());
        }
    }

    // Candidates that nothing kept still needs go.
    let mut candidates: Vec<&String> = prune_candidates.iter().collect();
    candidates.sort();
    for label in candidates {
        let needed = dependents(label)
            .into_iter()
            .any(|d| !prune_candidates.contains(d) && !removed.contains(d));
        let name = &strategies[label.as_str()].name;
        if needed {
            record(
                decisions,
                label,
                Verdict::Kept {
                    reason: KeepReason::DependentTasks,
                },
                name,
                &[],
            );
        } else {
            record(
                decisions,
                label,
                Verdict::Removed {
                    reason: RemoveReason::IfDependenciesPruning,
                },
                name,
                &[],
            );
        }
    }
    for label in prune_candidates {
        if matches!(
            decisions.get(&label).map(|d| &d.verdict),
            Some(Verdict::Removed { .. })
        ) {
            removed.insert(label);
        }
    }
    Ok(removed)
}

/// What the replace phase updates.
struct ReplaceState<'s> {
    removed: &'s mut HashSet<String>,
    label_to_taskid: &'s mut BTreeMap<String, String>,
    decisions: &'s mut BTreeMap<String, Decision>,
    index: &'s BTreeMap<String, String>,
    statuses: &'s BTreeMap<String, lookup::TaskStatus>,
}

/// The replace phase, dependencies first. Returns the replaced labels.
fn replace_tasks(
    target: &TaskGraph,
    do_not_optimize: &HashSet<String>,
    inputs: &OptimizeInputs<'_>,
    strategies: &BTreeMap<&str, TaskStrategy<'_>>,
    state: ReplaceState<'_>,
) -> Result<HashSet<String>> {
    let graph = &target.graph;
    let existing = inputs.params.get("existing_tasks").and_then(Value::as_map);
    let mut replaced: HashSet<String> = HashSet::new();

    for label in graph.visit_postorder()? {
        if do_not_optimize.contains(label) {
            continue;
        }
        let blocked = graph
            .dependencies(label)
            .any(|(_, dep)| !replaced.contains(dep) && !state.removed.contains(dep));
        let choice = &strategies[label];
        if blocked {
            if !state.removed.contains(label) {
                record(
                    state.decisions,
                    label,
                    Verdict::Kept {
                        reason: KeepReason::DependencyRuns,
                    },
                    &choice.name,
                    &[],
                );
            }
            continue;
        }

        let deadline = latest_dependent_deadline(target, label, inputs.now)?;
        if let Some(task_id) = existing
            .and_then(|e| e.get(label))
            .filter(|v| v.is_truthy())
        {
            let task_id = py_str(task_id);
            if let Some(expires) = inputs.existing_expires.get(&task_id) {
                let must_outlive = deadline.unwrap_or(inputs.now).max(inputs.now);
                let expired = parse_json_time(expires).is_ok_and(|e| e < must_outlive);
                if expired {
                    record(
                        state.decisions,
                        label,
                        Verdict::Kept {
                            reason: KeepReason::ExistingTaskExpires {
                                task_id,
                                expires: expires.clone(),
                            },
                        },
                        &choice.name,
                        &[],
                    );
                    continue;
                }
            }
            state
                .label_to_taskid
                .insert(label.to_owned(), task_id.clone());
            replaced.insert(label.to_owned());
            record(
                state.decisions,
                label,
                Verdict::Replaced {
                    task_id,
                    by: ReplacedBy::ExistingTasks,
                },
                &choice.name,
                &[],
            );
            continue;
        }

        let mut context = ReplaceContext {
            deadline,
            index: state.index,
            statuses: state.statuses,
            attempts: Vec::new(),
        };
        let task = &target.tasks[label];
        let answer = choice
            .strategy
            .should_replace(task, inputs.params, choice.arg, &mut context)
            .map_err(|e| e.in_task(label))?;
        match answer {
            Replacement::Keep => {
                // The remove phase's verdict stands, with what was tried.
                if let Some(decision) = state.decisions.get_mut(label) {
                    decision.index_attempts = context
                        .attempts
                        .iter()
                        .map(IndexAttemptRecord::from)
                        .collect();
                }
            }
            Replacement::Remove => {
                state.removed.insert(label.to_owned());
                record(
                    state.decisions,
                    label,
                    Verdict::Removed {
                        reason: RemoveReason::ReplacedWithNothing,
                    },
                    &choice.name,
                    &context.attempts,
                );
            }
            Replacement::With(task_id) => {
                state
                    .label_to_taskid
                    .insert(label.to_owned(), task_id.clone());
                replaced.insert(label.to_owned());
                record(
                    state.decisions,
                    label,
                    Verdict::Replaced {
                        task_id,
                        by: ReplacedBy::Strategy,
                    },
                    &choice.name,
                    &context.attempts,
                );
            }
        }
    }
    Ok(replaced)
}

/// The latest deadline among `label`'s dependents in the target graph,
/// resolved from `now`.
fn latest_dependent_deadline(
    target: &TaskGraph,
    label: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let mut latest: Option<DateTime<Utc>> = None;
    for (_, dependent) in target.graph.dependents(label) {
        let task = &target.tasks[dependent];
        let deadline = task.task.get("deadline").cloned().unwrap_or_default();
        let resolved = resolve_timestamps(&deadline, now)
            .map_err(|e| e.in_task(dependent).at_field("task.deadline"))?;
        let text = py_str(&resolved);
        let time =
            parse_json_time(&text).map_err(|e| e.in_task(dependent).at_field("task.deadline"))?;
        latest = Some(latest.map_or(time, |l| l.max(time)));
    }
    Ok(latest)
}

/// The kept tasks with their task ids, references resolved, and the edges
/// among them: the reference's `get_subgraph`.
fn subgraph(
    target: &TaskGraph,
    removed: &HashSet<String>,
    replaced: &HashSet<String>,
    label_to_taskid: &mut BTreeMap<String, String>,
    inputs: &OptimizeInputs<'_>,
) -> Result<TaskGraph> {
    let bad: Vec<String> = target
        .graph
        .edges()
        .filter(|(left, right, _)| !removed.contains(*left) && removed.contains(*right))
        .map(|(left, right, name)| {
            format!("{left} depends on {right} as {name} but it has been removed")
        })
        .collect();
    if !bad.is_empty() {
        return Err(Error::new(ErrorKind::Verification(format!(
            "Optimization error: {}",
            bad.join(", ")
        ))));
    }

    // New ids in sorted label order, as the reference assigns them.
    for label in target.graph.labels() {
        if !removed.contains(label) && !label_to_taskid.contains_key(label) {
            label_to_taskid.insert(label.to_owned(), inputs.task_ids.next_id(label));
        }
    }

    let omitted = |label: &str| removed.contains(label) || replaced.contains(label);
    let kept: Vec<(&String, &Arc<Task>)> = target
        .tasks
        .iter()
        .filter(|(label, _)| !omitted(label))
        .collect();
    // Each task's references resolve on their own, so the tasks are
    // spread over the cores; the first error in label order is reported.
    let resolved = ordered::try_map(&kept, |&(label, task)| {
        let task_id = &label_to_taskid[label.as_str()];
        let mut named = Map::default();
        for (name, dep) in target.graph.dependencies(label) {
            named.insert(name, Value::from(label_to_taskid[dep].as_str()));
        }
        for soft in &task.soft_dependencies {
            if let Some(id) = label_to_taskid.get(soft).filter(|_| !omitted(soft)) {
                named.insert(soft.as_str(), Value::from(id.as_str()));
            }
        }

        let refs = References {
            label,
            task_id,
            decision_task_id: inputs.decision_task_id,
            dependencies: &named,
            root_url: inputs.root_url,
            proxy_url: inputs.proxy_url,
        };
        let mut definition = resolve_definition_references(&task.task, &refs)
            .map_err(|e| e.in_task(label).at_field("task"))?;
        let mut ids: Vec<String> = named.values().map(py_str).collect();
        ids.sort();
        let dependencies = definition
            .entry("dependencies")
            .or_insert_with(|| Value::List(Vec::new()));
        if let Value::List(list) = dependencies {
            list.extend(ids.into_iter().map(Value::from));
        }
        Ok((
            task_id.clone(),
            Arc::new(task.with_definition(definition, task_id.clone())),
        ))
    })?;
    let tasks: IndexMap<String, Arc<Task>> = resolved.into_iter().collect();

    let mut edges: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (left, right, name) in target.graph.edges() {
        let (Some(left_id), Some(right_id)) =
            (label_to_taskid.get(left), label_to_taskid.get(right))
        else {
            continue;
        };
        if tasks.contains_key(left_id) && tasks.contains_key(right_id) {
            edges.insert((left_id.clone(), right_id.clone(), name.to_owned()));
        }
    }
    let graph = Graph::new(tasks.keys().map(String::as_str), edges)?;
    Ok(TaskGraph { tasks, graph })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::lookup::{IndexSnapshot, NoIndex};
    use crate::optimize::strategies::builtins;
    use crate::python::json_parse;

    /// A task `label` with dependencies `(name, label)`, an optimization
    /// (JSON), if-dependencies and a deadline of one day.
    fn task(label: &str, deps: &[(&str, &str)], optimization: &str, if_deps: &[&str]) -> Task {
        let definition = json_parse(&format!(
            r#"{{"deadline": {{"relative-datestamp": "1 day"}},
                 "payload": {{"deps": {{"task-reference": "{}"}}}}}}"#,
            deps.iter()
                .map(|(n, _)| format!("<{n}>"))
                .collect::<String>()
        ))
        .unwrap();
        let Value::Map(definition) = definition else {
            unreachable!()
        };
        Task {
            kind: "k".into(),
            label: label.into(),
            description: String::new(),
            attributes: Map::default(),
            task: definition,
            optimization: json_parse(optimization).unwrap(),
            dependencies: deps
                .iter()
                .map(|(n, l)| ((*n).to_owned(), (*l).to_owned()))
                .collect(),
            soft_dependencies: vec![],
            if_dependencies: if_deps.iter().map(|s| (*s).to_owned()).collect(),
            task_id: None,
            digest: None,
        }
    }

    fn graph(tasks: Vec<Task>) -> TaskGraph {
        let edges: Vec<(String, String, String)> = tasks
            .iter()
            .flat_map(|t| {
                t.dependencies
                    .iter()
                    .map(|(n, d)| (t.label.clone(), d.clone(), n.clone()))
            })
            .collect();
        let graph = Graph::new(tasks.iter().map(|t| t.label.as_str()), edges).unwrap();
        TaskGraph {
            tasks: tasks
                .into_iter()
                .map(|t| (t.label.clone(), Arc::new(t)))
                .collect(),
            graph,
        }
    }

    struct Run {
        params: Parameters,
        requested: BTreeSet<String>,
        do_not_optimize: HashSet<String>,
        lookup: Box<dyn IndexLookup>,
        extra: Vec<(&'static str, Arc<dyn Strategy>)>,
        existing_expires: BTreeMap<String, String>,
    }

    impl Run {
        fn new(requested: &[&str]) -> Run {
            Run {
                params: Parameters::from_map(Map::from_iter([(
                    "files_changed",
                    Value::str_list(["src/main.rs"]),
                )])),
                requested: requested.iter().map(|s| (*s).to_owned()).collect(),
                do_not_optimize: HashSet::new(),
                lookup: Box::new(NoIndex),
                extra: Vec::new(),
                existing_expires: BTreeMap::new(),
            }
        }

        fn optimize(&self, target: &TaskGraph) -> Result<Optimized> {
            let strategies: BTreeMap<String, Arc<dyn Strategy>> = builtins()
                .into_iter()
                .chain(self.extra.iter().cloned())
                .map(|(n, s)| (n.to_owned(), s))
                .collect();
            let ids = TaskIds::Seeded("test".to_owned());
            let inputs = OptimizeInputs {
                requested: &self.requested,
                params: &self.params,
                strategies: &strategies,
                lookup: self.lookup.as_ref(),
                decision_task_id: "DECISION",
                root_url: Some("https://tc.example.com"),
                proxy_url: None,
                now: crate::util::time::parse_json_time("2026-01-01T00:00:00.000Z").unwrap(),
                task_ids: &ids,
                existing_expires: &self.existing_expires,
            };
            optimize(target, &self.do_not_optimize, &inputs)
        }
    }

    fn verdict<'a>(optimized: &'a Optimized, label: &str) -> &'a Verdict {
        &optimized.decisions[label].verdict
    }

    fn kept_labels(optimized: &Optimized) -> Vec<&str> {
        let mut labels: Vec<&str> = optimized
            .graph
            .tasks
            .values()
            .map(|t| t.label.as_str())
            .collect();
        labels.sort();
        labels
    }

    #[test]
    fn remove_phase_rules() {
        let target = graph(vec![
            task("image", &[], r#"{"always": null}"#, &[]),
            task("lint", &[], r#"{"skip-unless-changed": ["docs/**"]}"#, &[]),
            task(
                "build",
                &[("image", "image")],
                r#"{"skip-unless-changed": ["src/**"]}"#,
                &[],
            ),
            task("helper", &[], r#"{"always": null}"#, &[]),
            task(
                "test",
                &[("build", "build"), ("helper", "helper")],
                "null",
                &[],
            ),
        ]);
        let optimized = Run::new(&["lint", "build", "test"])
            .optimize(&target)
            .unwrap();

        // A requested task whose strategy removes it, with no dependents.
        assert_eq!(
            verdict(&optimized, "lint"),
            &Verdict::Removed {
                reason: RemoveReason::Strategy
            }
        );
        // Kept tasks keep what they depend on, whatever its strategy says.
        assert_eq!(
            verdict(&optimized, "image"),
            &Verdict::Kept {
                reason: KeepReason::DependentTasks
            }
        );
        assert_eq!(
            verdict(&optimized, "helper"),
            &Verdict::Kept {
                reason: KeepReason::DependentTasks
            }
        );
        assert_eq!(
            kept_labels(&optimized),
            ["build", "helper", "image", "test"]
        );
        assert_eq!(optimized.counts().removed, 1);
    }

    #[test]
    fn unrequested_tasks_go_with_their_dependents() {
        let target = graph(vec![
            task("image", &[], "null", &[]),
            task("docs", &[("image", "image")], r#"{"always": null}"#, &[]),
        ]);
        let optimized = Run::new(&["docs"]).optimize(&target).unwrap();
        assert_eq!(
            verdict(&optimized, "image"),
            &Verdict::Removed {
                reason: RemoveReason::DependentsOptimized
            }
        );
        assert!(kept_labels(&optimized).is_empty());

        // The same task in do_not_optimize stays, and keeps what it needs.
        let mut run = Run::new(&["docs"]);
        run.do_not_optimize.insert("docs".to_owned());
        let optimized = run.optimize(&target).unwrap();
        assert_eq!(
            verdict(&optimized, "docs"),
            &Verdict::Kept {
                reason: KeepReason::DoNotOptimize
            }
        );
        assert_eq!(kept_labels(&optimized), ["docs", "image"]);
    }

    #[test]
    fn if_dependencies_are_pruned_with_the_tasks_they_serve() {
        // `notify` runs only if `build` runs; `build` is skipped, so
        // `notify` goes too. With `build` kept, `notify` stays.
        let target = graph(vec![
            task("build", &[], r#"{"skip-unless-changed": ["docs/**"]}"#, &[]),
            task("notify", &[("build", "build")], "null", &["build"]),
        ]);
        let optimized = Run::new(&["build", "notify"]).optimize(&target).unwrap();
        assert_eq!(
            verdict(&optimized, "notify"),
            &Verdict::Removed {
                reason: RemoveReason::IfDependenciesPruning
            }
        );
        // `build` waited for `notify`, its if-dependent, and goes with it.
        assert_eq!(
            verdict(&optimized, "build"),
            &Verdict::Removed {
                reason: RemoveReason::IfDependenciesPruning
            }
        );

        let target = graph(vec![
            task("build", &[], r#"{"skip-unless-changed": ["src/**"]}"#, &[]),
            task("notify", &[("build", "build")], "null", &["build"]),
        ]);
        let optimized = Run::new(&["build", "notify"]).optimize(&target).unwrap();
        assert_eq!(kept_labels(&optimized), ["build", "notify"]);
    }

    fn snapshot(entries: &str) -> Box<dyn IndexLookup> {
        Box::new(IndexSnapshot::from_value(&json_parse(entries).unwrap()).unwrap())
    }

    #[test]
    fn replace_phase_rules() {
        let target = graph(vec![
            task(
                "toolchain",
                &[],
                r#"{"index-search": ["p.toolchain"]}"#,
                &[],
            ),
            task("fresh", &[], r#"{"index-search": ["p.fresh"]}"#, &[]),
            task(
                "build",
                &[("toolchain", "toolchain"), ("fresh", "fresh")],
                r#"{"index-search": ["p.build"]}"#,
                &[],
            ),
            task("test", &[("build", "build")], "null", &[]),
        ]);
        let mut run = Run::new(&["test"]);
        run.lookup = snapshot(
            r#"{"p.toolchain": {"taskId": "TOOL", "state": "completed", "expires": "2030-01-01T00:00:00.000Z"},
                "p.fresh": {"taskId": "OLD", "state": "completed", "expires": "2026-01-01T12:00:00.000Z"},
                "p.build": {"taskId": "BUILD", "state": "completed", "expires": "2030-01-01T00:00:00.000Z"}}"#,
        );
        let optimized = run.optimize(&target).unwrap();

        assert_eq!(
            verdict(&optimized, "toolchain"),
            &Verdict::Replaced {
                task_id: "TOOL".into(),
                by: ReplacedBy::Strategy
            }
        );
        // `fresh` expires before its dependent's deadline (a day from now).
        assert!(matches!(verdict(&optimized, "fresh"), Verdict::Kept { .. }));
        assert_eq!(
            optimized.decisions["fresh"].index_attempts[0].answer,
            "refused: it expires 2026-01-01T12:00:00.000Z, before a dependent's deadline 2026-01-02T00:00:00.000Z"
        );
        // `build` is indexed, but `fresh` runs: it cannot be replaced.
        assert_eq!(
            verdict(&optimized, "build"),
            &Verdict::Kept {
                reason: KeepReason::DependencyRuns
            }
        );
        assert_eq!(kept_labels(&optimized), ["build", "fresh", "test"]);

        // The kept task refers to the replacement by its id; the edge to
        // the replaced task is gone, its id stays in task.dependencies.
        let build = optimized
            .graph
            .tasks
            .values()
            .find(|t| t.label == "build")
            .unwrap();
        let fresh_id = &optimized.label_to_taskid["fresh"];
        assert_eq!(
            build.task.get("payload").and_then(|p| p.get("deps")),
            Some(&Value::from(format!("TOOL{fresh_id}")))
        );
        let dependencies: Vec<&str> = build.task["dependencies"]
            .as_list()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(dependencies.contains(&"TOOL"));
        let edges: Vec<&str> = optimized
            .graph
            .graph
            .dependencies(build.task_id.as_deref().unwrap())
            .map(|(name, _)| name)
            .collect();
        assert_eq!(edges, ["fresh"]);
        assert_eq!(optimized.label_to_taskid["toolchain"], "TOOL");
    }

    #[test]
    fn existing_tasks_replace_before_strategies() {
        let target = graph(vec![
            task("build", &[], r#"{"index-search": ["p.build"]}"#, &[]),
            task("test", &[("build", "build")], "null", &[]),
        ]);
        let mut run = Run::new(&["test"]);
        run.params = Parameters::from_map(Map::from_iter([(
            "existing_tasks",
            json_parse(r#"{"build": "EARLIER"}"#).unwrap(),
        )]));
        let optimized = run.optimize(&target).unwrap();
        assert_eq!(
            verdict(&optimized, "build"),
            &Verdict::Replaced {
                task_id: "EARLIER".into(),
                by: ReplacedBy::ExistingTasks
            }
        );
        assert_eq!(optimized.counts().from_existing, 1);
        assert_eq!(kept_labels(&optimized), ["test"]);
    }

    /// Says "not needed" when asked for a replacement.
    #[derive(Debug)]
    struct DropOnReplace;

    impl Strategy for DropOnReplace {
        fn description(&self) -> String {
            "drop".to_owned()
        }

        fn should_replace(
            &self,
            _task: &Task,
            _params: &Parameters,
            _arg: &Value,
            _context: &mut ReplaceContext<'_>,
        ) -> Result<Replacement> {
            Ok(Replacement::Remove)
        }
    }

    #[test]
    fn existing_tasks_that_expire_too_soon_run_again() {
        let target = graph(vec![
            task("build", &[], "null", &[]),
            task("test", &[("build", "build")], "null", &[]),
        ]);
        let mut run = Run::new(&["test"]);
        run.params = Parameters::from_map(Map::from_iter([(
            "existing_tasks",
            json_parse(r#"{"build": "EARLIER"}"#).unwrap(),
        )]));
        // `test`'s deadline is a day after "now": 2026-01-02.
        run.existing_expires
            .insert("EARLIER".into(), "2026-01-01T12:00:00.000Z".into());
        let optimized = run.optimize(&target).unwrap();
        assert_eq!(
            verdict(&optimized, "build"),
            &Verdict::Kept {
                reason: KeepReason::ExistingTaskExpires {
                    task_id: "EARLIER".into(),
                    expires: "2026-01-01T12:00:00.000Z".into()
                }
            }
        );
        assert_eq!(kept_labels(&optimized), ["build", "test"]);

        run.existing_expires
            .insert("EARLIER".into(), "2027-01-01T00:00:00.000Z".into());
        let optimized = run.optimize(&target).unwrap();
        assert_eq!(kept_labels(&optimized), ["test"]);
    }

    #[test]
    fn a_kept_task_may_not_depend_on_a_removed_one() {
        let target = graph(vec![
            task("build", &[], r#"{"drop": null}"#, &[]),
            task("test", &[("build", "build")], "null", &[]),
        ]);
        let mut run = Run::new(&["test"]);
        run.extra = vec![("drop", Arc::new(DropOnReplace))];
        let err = run.optimize(&target).unwrap_err().to_string();
        assert!(
            err.contains("test depends on build as build but it has been removed"),
            "{err}"
        );
    }

    #[test]
    fn ids_follow_the_seed_and_references_resolve() {
        let target = graph(vec![
            task("a", &[], "null", &[]),
            task("b", &[("first", "a")], "null", &[]),
        ]);
        let optimized = Run::new(&["a", "b"]).optimize(&target).unwrap();
        let again = Run::new(&["a", "b"]).optimize(&target).unwrap();
        assert_eq!(optimized.label_to_taskid, again.label_to_taskid);
        let b = &optimized.graph.tasks[&optimized.label_to_taskid["b"]];
        assert_eq!(
            b.task.get("payload").and_then(|p| p.get("deps")),
            Some(&Value::from(optimized.label_to_taskid["a"].as_str()))
        );
        assert_eq!(
            b.task_id.as_deref(),
            Some(optimized.label_to_taskid["b"].as_str())
        );
    }

    #[test]
    fn an_unknown_strategy_is_named() {
        let target = graph(vec![task("a", &[], r#"{"wishful": null}"#, &[])]);
        let err = Run::new(&["a"]).optimize(&target).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("unknown optimization strategy `wishful`"),
            "{text}"
        );
        assert!(text.contains("task `a`"), "{text}");
    }
}
