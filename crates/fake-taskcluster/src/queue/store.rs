//! What the fake queue and index hold: task definitions with their state,
//! task groups, and index entries; and how they are shown (task status,
//! pages of a listing).

use std::collections::BTreeMap;

use chrono::{DateTime, Months, SecondsFormat, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use super::error::ApiError;

/// The most entries the queue puts in one page, whatever `limit` asks.
pub(crate) const MAX_PAGE: usize = 1000;

/// The run states a task can be in, as the queue names them.
pub const TASK_STATES: [&str; 6] = [
    "unscheduled",
    "pending",
    "running",
    "completed",
    "failed",
    "exception",
];

#[derive(Debug, Clone)]
pub(crate) struct StoredTask {
    /// As the queue's `task` endpoint shows it: defaults filled in,
    /// timestamps normalized.
    pub(crate) definition: Value,
    pub(crate) state: String,
}

impl StoredTask {
    fn str_field(&self, name: &str) -> &str {
        self.definition
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub(crate) fn group_id(&self) -> &str {
        self.str_field("taskGroupId")
    }

    pub(crate) fn expires(&self) -> &str {
        self.str_field("expires")
    }

    pub(crate) fn dependencies(&self) -> impl Iterator<Item = &str> {
        self.definition
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// Whether a task with this `requires` may start once this one is in
    /// its current state.
    fn satisfies(&self, requires: &str) -> bool {
        match self.state.as_str() {
            "completed" => true,
            "failed" | "exception" => requires == "all-resolved",
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) scheduler_id: String,
    pub(crate) expires: String,
}

#[derive(Debug, Clone)]
pub(crate) struct IndexEntry {
    pub(crate) task_id: String,
    pub(crate) expires: String,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    /// By task id, the order in which the queue lists them.
    pub(crate) tasks: BTreeMap<String, StoredTask>,
    pub(crate) groups: BTreeMap<String, Group>,
    pub(crate) index: BTreeMap<String, IndexEntry>,
}

impl Store {
    /// Records that `group_id` holds tasks of `scheduler_id` until at least
    /// `expires`; the caller has checked the scheduler id.
    pub(crate) fn ensure_group(&mut self, group_id: &str, scheduler_id: &str, expires: &str) {
        let group = self
            .groups
            .entry(group_id.to_owned())
            .or_insert_with(|| Group {
                scheduler_id: scheduler_id.to_owned(),
                expires: expires.to_owned(),
            });
        // Normalized timestamps compare as strings.
        if group.expires.as_str() < expires {
            expires.clone_into(&mut group.expires);
        }
    }

    /// The state a task with this definition starts in: pending once every
    /// dependency allows it, unscheduled until then. A task listing itself
    /// waits for good, as on the real queue.
    pub(crate) fn initial_state(&self, task_id: &str, definition: &Value) -> &'static str {
        let requires = definition
            .get("requires")
            .and_then(Value::as_str)
            .unwrap_or("all-completed");
        let ready = definition
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .all(|dep| {
                dep != task_id && self.tasks.get(dep).is_some_and(|d| d.satisfies(requires))
            });
        if ready { "pending" } else { "unscheduled" }
    }

    /// Moves the unscheduled dependents of `task_id` that nothing holds
    /// back any more to pending, as the queue does when a task resolves.
    pub(crate) fn schedule_dependents(&mut self, task_id: &str) {
        let ready: Vec<String> = self
            .tasks
            .iter()
            .filter(|(id, task)| {
                task.state == "unscheduled"
                    && id.as_str() != task_id
                    && task.dependencies().any(|dep| dep == task_id)
                    && self.initial_state(id, &task.definition) == "pending"
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in ready {
            if let Some(task) = self.tasks.get_mut(&id) {
                task.state = "pending".to_owned();
            }
        }
    }

    /// The tasks that list `task_id` among their dependencies, by task id.
    pub(crate) fn dependents(&self, task_id: &str) -> Vec<(&String, &StoredTask)> {
        self.tasks
            .iter()
            .filter(|(_, task)| task.dependencies().any(|dep| dep == task_id))
            .collect()
    }

    /// The tasks of a group, by task id.
    pub(crate) fn members(&self, group_id: &str) -> Vec<(&String, &StoredTask)> {
        self.tasks
            .iter()
            .filter(|(_, task)| task.group_id() == group_id)
            .collect()
    }

    /// The index entry at `path`, unless it has expired.
    pub(crate) fn indexed(&self, path: &str, now: DateTime<Utc>) -> Option<Value> {
        let entry = self.index.get(path)?;
        if parse_time(&entry.expires).is_some_and(|expires| expires <= now) {
            return None;
        }
        Some(json!({
            "namespace": path,
            "taskId": entry.task_id,
            "rank": 0,
            "data": {},
            "expires": entry.expires,
        }))
    }
}

/// `{status, task}`, as listTaskGroup and listDependentTasks list a task.
pub(crate) fn listed(task_id: &str, task: &StoredTask) -> Value {
    json!({"status": status(task_id, task), "task": task.definition})
}

/// The task status structure the queue answers with.
pub(crate) fn status(task_id: &str, task: &StoredTask) -> Value {
    let field = |name: &str| task.definition.get(name).cloned().unwrap_or(Value::Null);
    json!({
        "taskId": task_id,
        "provisionerId": field("provisionerId"),
        "workerType": field("workerType"),
        "taskQueueId": field("taskQueueId"),
        "schedulerId": field("schedulerId"),
        "projectId": field("projectId"),
        "taskGroupId": field("taskGroupId"),
        "priority": field("priority"),
        "deadline": field("deadline"),
        "expires": field("expires"),
        "retriesLeft": field("retries"),
        "state": task.state,
        "runs": runs(task),
    })
}

/// The runs behind a state: none while unscheduled, else one run in that
/// state. Its times are the task's `created`, which keeps answers stable.
fn runs(task: &StoredTask) -> Value {
    let state = task.state.as_str();
    if state == "unscheduled" {
        return json!([]);
    }
    let at = task
        .definition
        .get("created")
        .cloned()
        .unwrap_or(Value::Null);
    let mut run = json!({
        "runId": 0,
        "state": state,
        "reasonCreated": "scheduled",
        "scheduled": at,
    });
    if state != "pending" {
        run["workerGroup"] = json!("fake-worker-group");
        run["workerId"] = json!("fake-worker");
        run["started"] = at.clone();
    }
    let reason_resolved = match state {
        "completed" => "completed",
        "failed" => "failed",
        "exception" => "canceled",
        _ => return json!([run]),
    };
    run["reasonResolved"] = json!(reason_resolved);
    run["resolved"] = at;
    json!([run])
}

/// Fills in what the queue fills in for a definition that leaves it out:
/// the group (the task's own id), the queue id from provisioner and
/// worker type or the other way round, and the schema's `defaults`.
pub(crate) fn complete(
    task_id: &str,
    definition: &mut Map<String, Value>,
    defaults: &[(String, Value)],
) {
    for (name, default) in defaults {
        if !definition.contains_key(name) {
            definition.insert(name.clone(), default.clone());
        }
    }
    if !definition.contains_key("taskGroupId") {
        definition.insert("taskGroupId".into(), json!(task_id));
    }
    let text =
        |d: &Map<String, Value>, name: &str| d.get(name).and_then(Value::as_str).map(str::to_owned);
    match (
        text(definition, "provisionerId"),
        text(definition, "workerType"),
        text(definition, "taskQueueId"),
    ) {
        (Some(provisioner), Some(worker_type), None) => {
            definition.insert(
                "taskQueueId".into(),
                json!(format!("{provisioner}/{worker_type}")),
            );
        }
        (None, None, Some(queue)) => {
            if let Some((provisioner, worker_type)) = queue.split_once('/') {
                definition.insert("provisionerId".into(), json!(provisioner));
                definition.insert("workerType".into(), json!(worker_type));
            }
        }
        _ => {}
    }
}

/// A timestamp as JavaScript's `Date.toJSON` writes it (UTC, milliseconds),
/// which is how the queue stores and compares them.
pub(crate) fn normalize_time(text: &str) -> Option<String> {
    parse_time(text).map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(crate) fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One year after `time`, the queue's default `expires` after `deadline`.
pub(crate) fn a_year_after(time: DateTime<Utc>) -> DateTime<Utc> {
    time.checked_add_months(Months::new(12))
        .unwrap_or(time + TimeDelta::days(365))
}

/// The `limit` and `continuationToken` of a listing request.
#[derive(Debug, Default, Clone)]
pub(crate) struct PageQuery {
    pub(crate) limit: Option<String>,
    pub(crate) continuation_token: Option<String>,
}

/// The page of `entries` a query asks for, and the token of the next one
/// when more follow. A page holds at most `page_size` entries (which is at
/// most [`MAX_PAGE`]), fewer when `limit` says so.
pub(crate) fn page(
    entries: Vec<Value>,
    query: &PageQuery,
    page_size: usize,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let limit = match query.limit.as_deref() {
        None => MAX_PAGE,
        Some(limit) => limit
            .parse::<usize>()
            .ok()
            .filter(|_| limit.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::new(
                    "InvalidRequestArguments",
                    format!("query-string parameter `limit` must be a number, not `{limit}`"),
                )
            })?,
    };
    // A page of none would hand back the same token for ever.
    let size = limit.min(page_size).clamp(1, MAX_PAGE);
    let offset = match query.continuation_token.as_deref() {
        None | Some("") => 0,
        Some(token) => offset_of(token).ok_or_else(|| {
            ApiError::new(
                "InputError",
                format!("invalid continuation token `{token}`"),
            )
        })?,
    };
    let end = offset.saturating_add(size).min(entries.len());
    let rest = entries.get(offset..end).unwrap_or_default().to_vec();
    let next = (end < entries.len()).then(|| token_for(end));
    Ok((rest, next))
}

/// Tokens are opaque to clients. These carry `+`, `/` and `=`, so that a
/// client that sends one without encoding it has its `+` read back as a
/// space, and the token refused, as a real token of that kind would be.
fn token_for(offset: usize) -> String {
    format!("offset+{offset}/=")
}

fn offset_of(token: &str) -> Option<usize> {
    token
        .strip_prefix("offset+")?
        .strip_suffix("/=")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize) -> Vec<Value> {
        (0..n).map(|i| json!(i)).collect()
    }

    #[test]
    fn pages_follow_their_tokens_to_the_end() {
        let mut query = PageQuery::default();
        let mut seen = Vec::new();
        loop {
            let (page, next) = page(entries(5), &query, 2).unwrap();
            assert!(page.len() <= 2);
            seen.extend(page);
            match next {
                Some(token) => query.continuation_token = Some(token),
                None => break,
            }
        }
        assert_eq!(seen, entries(5));
    }

    #[test]
    fn limit_shrinks_a_page_but_never_to_nothing() {
        let query = PageQuery {
            limit: Some("0".into()),
            continuation_token: None,
        };
        let (page, next) = page(entries(3), &query, 1000).unwrap();
        assert_eq!(page.len(), 1);
        assert!(next.is_some());
    }

    #[test]
    fn bad_limits_and_tokens_are_refused() {
        for query in [
            PageQuery {
                limit: Some("-1".into()),
                continuation_token: None,
            },
            PageQuery {
                limit: None,
                continuation_token: Some("not a token".into()),
            },
        ] {
            let error = page(entries(3), &query, 10).unwrap_err();
            assert_eq!(error.status, 400, "{error:?}");
        }
    }

    #[test]
    fn timestamps_normalize_to_milliseconds_in_utc() {
        assert_eq!(
            normalize_time("2030-01-02T03:04:05.678901+01:00").as_deref(),
            Some("2030-01-02T02:04:05.678Z")
        );
        assert_eq!(normalize_time("yesterday"), None);
    }
}
