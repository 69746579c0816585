//! Where the optimizer learns what already exists: which index paths name
//! a task, and what state those tasks are in.
//!
//! The library does no network I/O, so the caller passes an
//! [`IndexLookup`]. Lookups are batched, as taskgraph's are: one call
//! with every index path the graph may use, then one call with every task
//! id found, however many tasks there are. Two offline sources ship here:
//! [`NoIndex`] (nothing is indexed, so nothing is replaced from the index)
//! and [`IndexSnapshot`] (a JSON file recording what an index held).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::python::json_parse;
use crate::value::Value;

/// A task's state and expiry, as the queue's `status` endpoint reports
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    /// `unscheduled`, `pending`, `running`, `completed`, `failed` or
    /// `exception`.
    pub state: String,
    /// When the task and its artifacts expire, as the queue writes it:
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub expires: String,
}

/// Answers the optimizer's questions about existing tasks.
pub trait IndexLookup: Send + Sync + Debug {
    /// The task ids that `index_paths` point to; paths that name no task
    /// are left out of the answer.
    fn find_task_ids(&self, index_paths: &[String]) -> Result<BTreeMap<String, String>>;

    /// The status of each of `task_ids` the queue knows; unknown ids are
    /// left out of the answer.
    fn task_statuses(&self, task_ids: &[String]) -> Result<BTreeMap<String, TaskStatus>>;
}

/// The offline default: no index path names a task.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoIndex;

impl IndexLookup for NoIndex {
    fn find_task_ids(&self, _index_paths: &[String]) -> Result<BTreeMap<String, String>> {
        Ok(BTreeMap::new())
    }

    fn task_statuses(&self, _task_ids: &[String]) -> Result<BTreeMap<String, TaskStatus>> {
        Ok(BTreeMap::new())
    }
}

/// What an index held, read from a JSON file of the form
///
/// ```json
/// {"project.cache.level-3.toolchains.v3.cc.hash.ab12…":
///     {"taskId": "fPx…", "state": "completed", "expires": "2027-01-01T00:00:00.000Z"}}
/// ```
#[derive(Debug, Clone, Default)]
pub struct IndexSnapshot {
    tasks_by_path: BTreeMap<String, String>,
    statuses: BTreeMap<String, TaskStatus>,
}

impl IndexSnapshot {
    /// Reads a snapshot file; every entry must have `taskId`, `state` and
    /// `expires` strings.
    pub fn load(path: &Path) -> Result<IndexSnapshot> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let value = json_parse(&text).map_err(|e| e.with_file(path))?;
        IndexSnapshot::from_value(&value).map_err(|e| e.with_file(path))
    }

    /// A snapshot from its parsed JSON.
    pub fn from_value(value: &Value) -> Result<IndexSnapshot> {
        let Value::Map(entries) = value else {
            return Err(snapshot_error(
                "",
                "an index snapshot must map index paths to tasks",
            ));
        };
        let mut snapshot = IndexSnapshot::default();
        for (path, entry) in entries {
            let field = |name: &str| -> Result<String> {
                entry
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        snapshot_error(path, &format!("the entry needs a string `{name}`"))
                    })
            };
            let task_id = field("taskId")?;
            let status = TaskStatus {
                state: field("state")?,
                expires: field("expires")?,
            };
            snapshot.statuses.insert(task_id.clone(), status);
            snapshot.tasks_by_path.insert(path.to_owned(), task_id);
        }
        Ok(snapshot)
    }
}

fn snapshot_error(path: &str, message: &str) -> Error {
    let error = Error::new(ErrorKind::Json(format!(
        "invalid index snapshot: {message}"
    )));
    if path.is_empty() {
        error
    } else {
        error.at_field(path)
    }
}

impl IndexLookup for IndexSnapshot {
    fn find_task_ids(&self, index_paths: &[String]) -> Result<BTreeMap<String, String>> {
        Ok(index_paths
            .iter()
            .filter_map(|path| {
                self.tasks_by_path
                    .get(path)
                    .map(|id| (path.clone(), id.clone()))
            })
            .collect())
    }

    fn task_statuses(&self, task_ids: &[String]) -> Result<BTreeMap<String, TaskStatus>> {
        Ok(task_ids
            .iter()
            .filter_map(|id| self.statuses.get(id).map(|s| (id.clone(), s.clone())))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_answers_for_the_paths_it_holds() {
        let value = json_parse(
            r#"{"a.b.c": {"taskId": "T1", "state": "completed", "expires": "2030-01-01T00:00:00.000Z"}}"#,
        )
        .unwrap();
        let snapshot = IndexSnapshot::from_value(&value).unwrap();
        let found = snapshot
            .find_task_ids(&["a.b.c".to_owned(), "x.y".to_owned()])
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found["a.b.c"], "T1");
        let statuses = snapshot
            .task_statuses(&["T1".to_owned(), "T2".to_owned()])
            .unwrap();
        assert_eq!(statuses["T1"].state, "completed");
        assert!(!statuses.contains_key("T2"));
    }

    #[test]
    fn a_snapshot_entry_missing_a_field_is_named() {
        let value = json_parse(r#"{"a.b.c": {"taskId": "T1", "state": "completed"}}"#).unwrap();
        let err = IndexSnapshot::from_value(&value).unwrap_err();
        assert_eq!(err.location().field.as_deref(), Some("a.b.c"));
        assert!(err.to_string().contains("`expires`"), "{err}");
        assert!(NoIndex.find_task_ids(&["a".to_owned()]).unwrap().is_empty());
    }
}
