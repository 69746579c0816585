//! Reusing the work of earlier task groups: `previous-group-ids` and
//! `start-task-prefix`, as the translations train action computes them.
//!
//! 1. The completed tasks of each listed group, by label; a later group's
//!    task replaces an earlier one of the same label. Service tasks
//!    (labels starting with `Action`, `Decision` or `PR`) are skipped.
//! 2. Their ancestors, found through each task's `dependencies`, are added
//!    (and replace what step 1 found under the same label), as the
//!    reference's `get_ancestors` orders them.
//! 3. With a start prefix, the tasks whose label starts with it and all
//!    their descendants are dropped: they run again.
//! 4. The explicit `existing_tasks` parameter is applied last.
//!
//! Unlike the reference, which asks the queue for every ancestor and every
//! dependent one task at a time, this works on the groups' own task lists:
//! only tasks outside the listed groups are looked up, by asking which
//! groups they belong to (one batched call) and listing those groups.
//! Tasks that have already expired are never reused; they are reported.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Debug;
use std::path::Path;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;

use crate::error::{Error, ErrorKind, Result};
use crate::python::{json_parse, py_str};
use crate::util::time::parse_json_time;
use crate::value::Value;

/// One task of a task group, as `listTaskGroup` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTask {
    pub task_id: String,
    /// `task.metadata.name`: the label the task was generated under.
    pub label: String,
    /// `status.state`.
    pub state: String,
    /// `status.expires`.
    pub expires: String,
    /// `task.dependencies`.
    pub dependencies: Vec<String>,
    /// `status.taskGroupId`.
    pub group_id: String,
    /// The cache digest of a cached task: the last part of its
    /// `index.<trust-domain>.cache.level-<n>.<type>.<name>.hash.<digest>`
    /// route. None for tasks without one.
    pub cache_digest: Option<String>,
}

/// Where earlier task groups are read from.
pub trait TaskGroupSource: Send + Sync + Debug {
    /// Every task of the group; an error if there is no such group.
    fn list_task_group(&self, group_id: &str) -> Result<Vec<GroupTask>>;

    /// The groups of the given tasks, in one batched call; tasks the
    /// queue no longer knows (expired) are left out.
    fn groups_of(&self, task_ids: &[String]) -> Result<BTreeMap<String, String>>;
}

/// `listTaskGroup` responses saved as JSON files: `<dir>/<group id>.json`,
/// or several pages as `<group id>.<n>.json`.
#[derive(Debug, Clone, Default)]
pub struct GroupFiles {
    groups: BTreeMap<String, Vec<GroupTask>>,
}

impl GroupFiles {
    /// Reads every `*.json` file of `dir`.
    pub fn load(dir: &Path) -> Result<GroupFiles> {
        let mut files = GroupFiles::default();
        let listing = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        let mut paths: Vec<_> = listing
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let value = json_parse(&text).map_err(|e| e.with_file(&path))?;
            let (group_id, tasks) =
                parse_list_task_group(&value).map_err(|e| e.with_file(&path))?;
            files.groups.entry(group_id).or_default().extend(tasks);
        }
        Ok(files)
    }

    /// Adds one parsed `listTaskGroup` response.
    pub fn add_response(&mut self, response: &Value) -> Result<()> {
        let (group_id, tasks) = parse_list_task_group(response)?;
        self.groups.entry(group_id).or_default().extend(tasks);
        Ok(())
    }
}

impl TaskGroupSource for GroupFiles {
    fn list_task_group(&self, group_id: &str) -> Result<Vec<GroupTask>> {
        self.groups.get(group_id).cloned().ok_or_else(|| {
            Error::params(format!(
                "task group {group_id} is not among the saved task groups"
            ))
            .at_field("previous-group-ids")
        })
    }

    fn groups_of(&self, task_ids: &[String]) -> Result<BTreeMap<String, String>> {
        let wanted: HashSet<&str> = task_ids.iter().map(String::as_str).collect();
        Ok(self
            .groups
            .values()
            .flatten()
            .filter(|t| wanted.contains(t.task_id.as_str()))
            .map(|t| (t.task_id.clone(), t.group_id.clone()))
            .collect())
    }
}

/// Reads a `listTaskGroup` response: `{taskGroupId, tasks: [{status,
/// task}], continuationToken?}`.
pub fn parse_list_task_group(value: &Value) -> Result<(String, Vec<GroupTask>)> {
    let not_a_listing = |what: &str| {
        Error::new(ErrorKind::Json(format!(
            "not a listTaskGroup response: {what}"
        )))
    };
    let group_id = value
        .get("taskGroupId")
        .and_then(Value::as_str)
        .ok_or_else(|| not_a_listing("it has no `taskGroupId`"))?
        .to_owned();
    let entries = value
        .get("tasks")
        .and_then(Value::as_list)
        .ok_or_else(|| not_a_listing("it has no `tasks` list"))?;
    let mut tasks = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let field = |path: &str| -> Result<&Value> {
            entry
                .get_path(path)
                .ok_or_else(|| not_a_listing(&format!("tasks[{index}] has no `{path}`")))
        };
        let text = |path: &str| -> Result<String> {
            field(path)?
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| not_a_listing(&format!("tasks[{index}].{path} is not a string")))
        };
        let dependencies = field("task.dependencies")?
            .as_list()
            .ok_or_else(|| {
                not_a_listing(&format!("tasks[{index}].task.dependencies is not a list"))
            })?
            .iter()
            .map(py_str)
            .collect();
        tasks.push(GroupTask {
            task_id: text("status.taskId")?,
            label: text("task.metadata.name")?,
            state: text("status.state")?,
            expires: text("status.expires")?,
            dependencies,
            group_id: field("status.taskGroupId")
                .ok()
                .and_then(Value::as_str)
                .unwrap_or(&group_id)
                .to_owned(),
            cache_digest: entry
                .get_path("task.routes")
                .and_then(Value::as_list)
                .and_then(|routes| cache_digest(routes.iter().filter_map(Value::as_str))),
        });
    }
    Ok((group_id, tasks))
}

/// The digest a cached task's cache route ends with.
pub fn cache_digest<'a>(mut routes: impl Iterator<Item = &'a str>) -> Option<String> {
    routes.find_map(|route| {
        let (path, digest) = route.rsplit_once(".hash.")?;
        let cached = path.starts_with("index.") && path.contains(".cache.level-");
        (cached && !digest.is_empty()).then(|| digest.to_owned())
    })
}

/// What reusing earlier groups gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reuse {
    /// Label → task id: the `existing_tasks` parameter to generate with.
    pub existing_tasks: IndexMap<String, String>,
    /// When each reused task expires, for the optimizer's deadline check.
    pub expires: BTreeMap<String, String>,
    /// The cache digest each reused cached task was built with, by task
    /// id: a task whose digest now differs was built from other inputs.
    pub digests: BTreeMap<String, String>,
    /// Tasks dropped because of the start prefix: they run again.
    pub rerun: BTreeMap<String, String>,
    /// Completed tasks that had already expired, by label: never reused.
    pub expired: BTreeMap<String, String>,
}

/// The service tasks of a group, never reused.
fn is_service_task(label: &str) -> bool {
    label.starts_with("Action") || label.starts_with("Decision") || label.starts_with("PR")
}

/// Computes `existing_tasks` from earlier groups (see the module docs).
pub fn reuse_previous_groups(
    source: &dyn TaskGroupSource,
    group_ids: &[String],
    start_prefix: Option<&str>,
    explicit: &IndexMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Reuse> {
    let mut known: HashMap<String, GroupTask> = HashMap::new();
    let mut reuse = Reuse::default();

    // 1. Completed tasks, later groups overriding earlier ones.
    let mut top: IndexMap<String, String> = IndexMap::new();
    for group_id in group_ids {
        let tasks = source.list_task_group(group_id)?;
        for task in &tasks {
            if task.state == "completed" && !is_service_task(&task.label) {
                top.insert(task.label.clone(), task.task_id.clone());
            }
        }
        for task in tasks {
            known.insert(task.task_id.clone(), task);
        }
    }
    let mut tasks_to_add = top.clone();

    // 2. Ancestors, completing what is known with the groups of tasks
    // outside the listed groups.
    if !top.is_empty() {
        let top_ids: Vec<String> = top.values().cloned().collect();
        load_ancestors(source, &top_ids, &mut known)?;
        for (task_id, label) in ancestors(&top_ids, &known) {
            if !is_service_task(&label) {
                tasks_to_add.insert(label, task_id);
            }
        }

        // 3. The start tasks and their descendants run again.
        if let Some(prefix) = start_prefix {
            let start: Vec<&str> = tasks_to_add
                .iter()
                .filter(|(label, _)| label.starts_with(prefix))
                .map(|(_, id)| id.as_str())
                .collect();
            let dropped = descendants(&start, &known);
            tasks_to_add.retain(|label, id| {
                let drop = dropped.contains(id.as_str());
                if drop {
                    reuse.rerun.insert(label.clone(), id.clone());
                }
                !drop
            });
        }
    }

    // Expired tasks are gone; never reuse them.
    tasks_to_add.retain(|label, id| {
        let expires = known.get(id.as_str()).map(|t| t.expires.clone());
        match expires.as_deref().map(parse_json_time) {
            Some(Ok(time)) if time <= now => {
                reuse.expired.insert(label.clone(), id.clone());
                false
            }
            _ => {
                if let Some(expires) = expires {
                    reuse.expires.insert(id.clone(), expires);
                }
                if let Some(digest) = known.get(id.as_str()).and_then(|t| t.cache_digest.clone()) {
                    reuse.digests.insert(id.clone(), digest);
                }
                true
            }
        }
    });

    // 4. Explicit existing tasks win.
    for (label, id) in explicit {
        tasks_to_add.insert(label.clone(), id.clone());
    }
    reuse.existing_tasks = tasks_to_add;
    Ok(reuse)
}

/// Makes sure every ancestor of `top` is known (or known to be gone):
/// tasks outside the known groups are located with one batched call per
/// round, and their groups listed.
fn load_ancestors(
    source: &dyn TaskGroupSource,
    top: &[String],
    known: &mut HashMap<String, GroupTask>,
) -> Result<()> {
    let mut gone: HashSet<String> = HashSet::new();
    let mut listed: BTreeSet<String> = known.values().map(|t| t.group_id.clone()).collect();
    loop {
        // Dependencies (of everything reachable) that are not known yet.
        let mut missing: BTreeSet<String> = BTreeSet::new();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut queue: VecDeque<&str> = top.iter().map(String::as_str).collect();
        while let Some(id) = queue.pop_front() {
            if !seen.insert(id) {
                continue;
            }
            let Some(task) = known.get(id) else {
                if !gone.contains(id) {
                    missing.insert(id.to_owned());
                }
                continue;
            };
            queue.extend(task.dependencies.iter().map(String::as_str));
        }
        if missing.is_empty() {
            return Ok(());
        }

        let missing: Vec<String> = missing.into_iter().collect();
        let groups = source.groups_of(&missing)?;
        let mut progress = false;
        for group_id in groups.values().collect::<BTreeSet<_>>() {
            if listed.insert(group_id.clone()) {
                for task in source.list_task_group(group_id)? {
                    known.entry(task.task_id.clone()).or_insert(task);
                }
                progress = true;
            }
        }
        for id in missing {
            if !known.contains_key(&id) {
                // Expired, or not a task: as the reference ignores a 404.
                gone.insert(id);
                progress = true;
            }
        }
        if !progress {
            return Ok(());
        }
    }
}

/// The ancestors of `top` in the order the reference's `get_ancestors`
/// gives them: a depth-first walk of each task's dependencies, each task
/// listed when first met. The top tasks themselves are not included unless
/// one depends on another; unknown tasks are skipped with their
/// dependencies.
fn ancestors(top: &[String], known: &HashMap<String, GroupTask>) -> IndexMap<String, String> {
    let mut found: IndexMap<String, String> = IndexMap::new();
    for id in top {
        let Some(task) = known.get(id) else {
            continue;
        };
        // An explicit stack keeps deep graphs off the call stack.
        let mut stack: Vec<&str> = task.dependencies.iter().rev().map(String::as_str).collect();
        while let Some(dep) = stack.pop() {
            if found.contains_key(dep) {
                continue;
            }
            let Some(dep_task) = known.get(dep) else {
                continue;
            };
            found.insert(dep.to_owned(), dep_task.label.clone());
            stack.extend(dep_task.dependencies.iter().rev().map(String::as_str));
        }
    }
    found
}

/// `start` and every known task that depends on one of them, directly or
/// not.
fn descendants(start: &[&str], known: &HashMap<String, GroupTask>) -> HashSet<String> {
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for task in known.values() {
        for dep in &task.dependencies {
            dependents
                .entry(dep.as_str())
                .or_default()
                .push(&task.task_id);
        }
    }
    let mut found: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<&str> = start.iter().copied().collect();
    while let Some(id) = queue.pop_front() {
        if !found.insert(id.to_owned()) {
            continue;
        }
        if let Some(next) = dependents.get(id) {
            queue.extend(next.iter().copied());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A group listing: `(task id, label, state, expires, dependencies)`.
    fn group(id: &str, tasks: &[(&str, &str, &str, &str, &[&str])]) -> Value {
        let tasks: Vec<String> = tasks
            .iter()
            .map(|(task_id, label, state, expires, deps)| {
                let deps: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
                format!(
                    r#"{{"status": {{"taskId": "{task_id}", "state": "{state}", "expires": "{expires}", "taskGroupId": "{id}"}},
                        "task": {{"metadata": {{"name": "{label}"}}, "dependencies": [{}]}}}}"#,
                    deps.join(", ")
                )
            })
            .collect();
        json_parse(&format!(
            r#"{{"taskGroupId": "{id}", "tasks": [{}]}}"#,
            tasks.join(", ")
        ))
        .unwrap()
    }

    #[test]
    fn a_cached_task_carries_the_digest_of_its_cache_route() {
        let routes = [
            "index.mt.v2.project.latest.model",
            "index.mt.cache.level-1.vocab.vocab-en-lt.hash.fda4c40d",
            "index.mt.cache.level-1.vocab.vocab-en-lt.latest",
        ];
        assert_eq!(cache_digest(routes.into_iter()), Some("fda4c40d".into()));
        assert_eq!(
            cache_digest(["checks", "index.mt.v2.hash.x"].into_iter()),
            None
        );

        let listing = json_parse(
            r#"{"taskGroupId": "G", "tasks": [{"status": {"taskId": "T", "state": "completed",
                "expires": "2030-01-01T00:00:00.000Z"}, "task": {"metadata": {"name": "vocab"},
                "dependencies": [], "routes": ["index.mt.cache.level-3.vocab.vocab.hash.abc"]}}]}"#,
        )
        .unwrap();
        let (_, tasks) = parse_list_task_group(&listing).unwrap();
        assert_eq!(tasks[0].cache_digest.as_deref(), Some("abc"));

        let reuse = reuse_previous_groups(
            &source(&[listing]),
            &["G".to_owned()],
            None,
            &IndexMap::new(),
            now(),
        )
        .unwrap();
        assert_eq!(reuse.digests.get("T").map(String::as_str), Some("abc"));
    }

    const LATER: &str = "2030-01-01T00:00:00.000Z";
    const EARLIER: &str = "2025-01-01T00:00:00.000Z";

    fn now() -> DateTime<Utc> {
        parse_json_time("2026-06-01T00:00:00.000Z").unwrap()
    }

    fn source(groups: &[Value]) -> GroupFiles {
        let mut files = GroupFiles::default();
        for g in groups {
            files.add_response(g).unwrap();
        }
        files
    }

    fn ids(reuse: &Reuse) -> Vec<(&str, &str)> {
        reuse
            .existing_tasks
            .iter()
            .map(|(l, i)| (l.as_str(), i.as_str()))
            .collect()
    }

    #[test]
    fn later_groups_override_earlier_ones_and_service_tasks_are_skipped() {
        let first = group(
            "G1",
            &[
                ("D1", "Decision Task", "completed", LATER, &[]),
                ("A1", "toolchain", "completed", LATER, &["D1"]),
                ("B1", "train", "failed", LATER, &["A1"]),
            ],
        );
        let second = group(
            "G2",
            &[
                ("A2", "toolchain", "completed", LATER, &[]),
                ("B2", "train", "completed", LATER, &["A2"]),
                ("P2", "PR build", "completed", LATER, &[]),
            ],
        );
        let files = source(&[first, second]);
        let groups = ["G1".to_owned(), "G2".to_owned()];
        let reuse = reuse_previous_groups(&files, &groups, None, &IndexMap::new(), now()).unwrap();
        assert_eq!(ids(&reuse), [("toolchain", "A2"), ("train", "B2")]);
    }

    #[test]
    fn ancestors_come_from_their_own_groups_and_override() {
        // G2's task depends on an older task of G0, which is not listed:
        // G0 is found through the batched lookup and listed.
        let old = group("G0", &[("F0", "fetch", "completed", LATER, &[])]);
        let second = group(
            "G2",
            &[
                ("F2", "fetch", "completed", LATER, &[]),
                ("T2", "train", "completed", LATER, &["F0"]),
            ],
        );
        let files = source(&[old, second]);
        let reuse =
            reuse_previous_groups(&files, &["G2".to_owned()], None, &IndexMap::new(), now())
                .unwrap();
        // The ancestor replaces the group's own `fetch`, as in the reference.
        assert_eq!(ids(&reuse), [("fetch", "F0"), ("train", "T2")]);
    }

    #[test]
    fn a_start_prefix_drops_the_start_tasks_and_their_descendants() {
        let run = group(
            "G1",
            &[
                ("V", "vocab", "completed", LATER, &[]),
                ("T", "train-teacher-1", "completed", LATER, &["V"]),
                ("E", "evaluate-teacher-1", "completed", LATER, &["T"]),
                ("X", "export", "completed", LATER, &["E"]),
            ],
        );
        let files = source(&[run]);
        let reuse = reuse_previous_groups(
            &files,
            &["G1".to_owned()],
            Some("train-teacher"),
            &IndexMap::new(),
            now(),
        )
        .unwrap();
        assert_eq!(ids(&reuse), [("vocab", "V")]);
        assert_eq!(
            reuse.rerun.keys().collect::<Vec<_>>(),
            ["evaluate-teacher-1", "export", "train-teacher-1"]
        );
    }

    #[test]
    fn expired_tasks_are_reported_not_reused_and_explicit_tasks_win() {
        let run = group(
            "G1",
            &[
                ("OLD", "corpus", "completed", EARLIER, &[]),
                ("NEW", "vocab", "completed", LATER, &["OLD"]),
            ],
        );
        let files = source(&[run]);
        let explicit = IndexMap::from_iter([("vocab".to_owned(), "MINE".to_owned())]);
        let reuse =
            reuse_previous_groups(&files, &["G1".to_owned()], None, &explicit, now()).unwrap();
        assert_eq!(ids(&reuse), [("vocab", "MINE")]);
        assert_eq!(reuse.expired.get("corpus").map(String::as_str), Some("OLD"));
        assert_eq!(reuse.expires.get("NEW").map(String::as_str), Some(LATER));
    }

    #[test]
    fn bad_listings_and_unknown_groups_are_errors() {
        let err = parse_list_task_group(&json_parse(r#"{"tasks": []}"#).unwrap()).unwrap_err();
        assert!(err.to_string().contains("no `taskGroupId`"), "{err}");
        let err = parse_list_task_group(
            &json_parse(r#"{"taskGroupId": "G", "tasks": [{"status": {}}]}"#).unwrap(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("tasks[0] has no `task.dependencies`"),
            "{err}"
        );
        let files = GroupFiles::default();
        let err =
            reuse_previous_groups(&files, &["NOPE".to_owned()], None, &IndexMap::new(), now())
                .unwrap_err();
        assert!(err.to_string().contains("task group NOPE"), "{err}");
    }
}
