//! createTask: the schema check, then the queue's own checks, in the
//! order the queue makes them.
//!
//! The checks follow Taskcluster's queue (`services/queue/src/api.js`,
//! createTask and the helpers it calls, and the dependency tracker in
//! `services/queue/src/dependencytracker.js`):
//!
//! 1. the body matches `create-task-request.json` (400
//!    `InputValidationError`, every error with its path);
//! 2. `taskQueueId` agrees with `provisionerId`/`workerType`, and at least
//!    one of the two forms is given (400 `InputError`);
//! 3. `created` lies within 15 minutes of now, `deadline` is not before
//!    `created` nor in the past nor more than 5 days (and 15 minutes)
//!    ahead, and `expires`, which defaults to a year after `deadline`, is
//!    not before `deadline` (400 `InputError`);
//! 4. no scope ends in `**` (400 `InputError`);
//! 5. the task group's `schedulerId` is that of every earlier task of the
//!    group (409 `RequestConflict`);
//! 6. a taskId already used answers the stored status when the definition
//!    is the same and 409 `RequestConflict` when it is not;
//! 7. every dependency exists and does not expire before this task's
//!    deadline (400 `InputError`, naming the tasks).
//!
//! Scopes are not checked (the fake knows no roles), the deployment's
//! lower limit on dependencies is not modelled (the schema's 10,000 is),
//! and task groups are never sealed.

use std::sync::LazyLock;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::store::{self, Store, StoredTask};

/// The bundled schema; scripts/bundle-queue-schemas.py writes it.
const SCHEMA: &str = include_str!("../../schemas/create-task-request.json");

/// How far `created` may stray from the queue's clock.
const DRIFT: TimeDelta = TimeDelta::minutes(15);

/// How far ahead a deadline may lie.
pub(crate) const DEFAULT_MAX_DEADLINE: TimeDelta = TimeDelta::days(5);

struct Schema {
    validator: jsonschema::Validator,
    /// The top-level properties' defaults, which the queue fills in before
    /// it stores a task (and before it compares two definitions).
    defaults: Vec<(String, Value)>,
}

static COMPILED: LazyLock<Schema> = LazyLock::new(|| {
    // The schema is part of the crate and a unit test compiles it, so a
    // failure here is a bug in the bundle, not in a request.
    let schema: Value = serde_json::from_str(SCHEMA).expect("the bundled schema is JSON");
    let validator = jsonschema::draft6::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the bundled schema compiles");
    let defaults = schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, property)| Some((name.clone(), property.get("default")?.clone())))
        .collect();
    Schema {
        validator,
        defaults,
    }
});

/// The schema defaults of the top-level properties.
pub(crate) fn defaults() -> &'static [(String, Value)] {
    &COMPILED.defaults
}

/// Every way `body` breaks the schema, each with its path.
fn schema_errors(body: &Value) -> Vec<String> {
    COMPILED
        .validator
        .iter_errors(body)
        .map(|error| {
            let path = error.instance_path().to_string();
            let path = if path.is_empty() { "/" } else { path.as_str() };
            format!("{path}: {error}")
        })
        .collect()
}

/// What a createTask request came to.
#[derive(Debug)]
pub(crate) enum Created {
    /// A new task, stored.
    New(Value),
    /// The same definition as the task already under that id.
    Again(Value),
}

/// Creates `task_id` from `body` in `store`, as of `now`, and answers the
/// new (or existing) task's status.
pub(crate) fn create_task(
    store: &mut Store,
    task_id: &str,
    body: &Value,
    now: DateTime<Utc>,
    max_deadline: TimeDelta,
) -> Result<Created, ApiError> {
    let errors = schema_errors(body);
    if !errors.is_empty() {
        return Err(ApiError::new(
            "InputValidationError",
            format!(
                "the createTask body does not match create-task-request.json:\n{}",
                errors.join("\n")
            ),
        ));
    }
    let Some(body) = body.as_object() else {
        // The schema wants an object, so this is unreachable in practice.
        return Err(ApiError::new(
            "InputValidationError",
            "the body is not an object",
        ));
    };

    let mut definition = body.clone();
    check_queue_ids(&definition)?;
    store::complete(task_id, &mut definition, defaults());
    check_times(&mut definition, now, max_deadline)?;
    check_scopes(&definition)?;
    let definition = Value::Object(definition);

    let group_id = text(&definition, "taskGroupId");
    let scheduler_id = text(&definition, "schedulerId");
    if let Some(group) = store.groups.get(group_id)
        && group.scheduler_id != scheduler_id
    {
        return Err(ApiError::new(
            "RequestConflict",
            format!(
                "task group `{group_id}` holds tasks of schedulerId `{}`, not `{scheduler_id}`; \
                 a group's tasks all share one schedulerId",
                group.scheduler_id
            ),
        ));
    }
    // The queue records the group before it looks at the dependencies, so
    // a task refused for those still leaves its group behind.
    store.ensure_group(group_id, scheduler_id, text(&definition, "expires"));

    if let Some(existing) = store.tasks.get(task_id) {
        if existing.definition == definition {
            return Ok(Created::Again(store::status(task_id, existing)));
        }
        return Err(ApiError::new(
            "RequestConflict",
            format!("taskId `{task_id}` is already used by a task with another definition"),
        ));
    }

    check_dependencies(store, task_id, &definition)?;
    let state = store.initial_state(task_id, &definition).to_owned();
    let task = StoredTask { definition, state };
    let status = store::status(task_id, &task);
    store.tasks.insert(task_id.to_owned(), task);
    Ok(Created::New(status))
}

fn text<'a>(definition: &'a Value, name: &str) -> &'a str {
    definition.get(name).and_then(Value::as_str).unwrap_or("")
}

/// The queue takes a task queue either whole (`taskQueueId`) or in parts
/// (`provisionerId` and `workerType`); given both ways, they must agree.
fn check_queue_ids(definition: &Map<String, Value>) -> Result<(), ApiError> {
    let get = |name: &str| definition.get(name).and_then(Value::as_str);
    match (get("provisionerId"), get("workerType"), get("taskQueueId")) {
        (Some(provisioner), Some(worker_type), Some(queue))
            if format!("{provisioner}/{worker_type}") != queue =>
        {
            Err(ApiError::new(
                "InputError",
                format!(
                    "taskQueueId `{queue}` is not provisionerId/workerType \
                     (`{provisioner}/{worker_type}`)"
                ),
            ))
        }
        (Some(_), Some(_), _) | (_, _, Some(_)) => Ok(()),
        _ => Err(ApiError::new(
            "InputError",
            "a task needs a taskQueueId, or a provisionerId and a workerType",
        )),
    }
}

/// The queue's checks of `created`, `deadline` and `expires`; on success
/// the three are normalized the way the queue stores them, so that
/// definitions differing only in how they wrote a time compare equal.
fn check_times(
    definition: &mut Map<String, Value>,
    now: DateTime<Utc>,
    max_deadline: TimeDelta,
) -> Result<(), ApiError> {
    let time = |definition: &Map<String, Value>, name: &str| -> Result<DateTime<Utc>, ApiError> {
        let text = definition.get(name).and_then(Value::as_str).unwrap_or("");
        store::parse_time(text)
            .ok_or_else(|| ApiError::new("InputError", format!("`{name}` is no time: `{text}`")))
    };
    let created = time(definition, "created")?;
    let deadline = time(definition, "deadline")?;
    let refuse = |message: String| Err(ApiError::new("InputError", message));

    if created < now - DRIFT {
        return refuse(format!(
            "`created` ({created}) is more than 15 minutes in the past"
        ));
    }
    if created > now + DRIFT {
        return refuse(format!(
            "`created` ({created}) is more than 15 minutes in the future"
        ));
    }
    if deadline < created {
        return refuse(format!(
            "`deadline` ({deadline}) is before `created` ({created})"
        ));
    }
    if deadline < now {
        return refuse(format!("`deadline` ({deadline}) has passed"));
    }
    if deadline - now > max_deadline + DRIFT {
        return refuse(format!(
            "`deadline` ({deadline}) is more than {} days in the future",
            max_deadline.num_days()
        ));
    }

    if !definition.contains_key("expires") {
        let expires = store::format_time(store::a_year_after(deadline));
        definition.insert("expires".into(), json!(expires));
    }
    let expires = time(definition, "expires")?;
    if expires < deadline {
        return refuse(format!(
            "`expires` ({expires}) is before `deadline` ({deadline})"
        ));
    }

    for (name, value) in [
        ("created", created),
        ("deadline", deadline),
        ("expires", expires),
    ] {
        definition.insert(name.into(), json!(store::format_time(value)));
    }
    Ok(())
}

/// The queue refuses scopes ending in `**`, which could never be granted
/// as written.
fn check_scopes(definition: &Map<String, Value>) -> Result<(), ApiError> {
    let scopes = definition.get("scopes").and_then(Value::as_array);
    let starred = scopes
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|scope| scope.ends_with("**"));
    match starred {
        Some(scope) => Err(ApiError::new(
            "InputError",
            format!("scope `{scope}` ends with `**`"),
        )),
        None => Ok(()),
    }
}

/// Every dependency must exist already (a task may name itself), and
/// must outlive this task's deadline.
fn check_dependencies(store: &Store, task_id: &str, definition: &Value) -> Result<(), ApiError> {
    let deadline = text(definition, "deadline");
    let dependencies = definition["dependencies"].as_array().into_iter().flatten();
    let mut missing = Vec::new();
    let mut expiring = Vec::new();
    for dependency in dependencies.filter_map(Value::as_str) {
        if dependency == task_id {
            continue;
        }
        match store.tasks.get(dependency) {
            None => missing.push(dependency),
            // Normalized timestamps compare as strings.
            Some(task) if task.expires() < deadline => expiring.push(dependency),
            Some(_) => {}
        }
    }
    if missing.is_empty() && expiring.is_empty() {
        return Ok(());
    }

    let mut message = String::new();
    if !missing.is_empty() {
        message.push_str(&format!(
            "`task.dependencies` names tasks that do not exist: {}; \
             a task's dependencies must be created before it",
            missing.join(", ")
        ));
    }
    if !expiring.is_empty() {
        if !message.is_empty() {
            message.push('\n');
        }
        message.push_str(&format!(
            "`task.dependencies` names tasks that expire before this task's deadline: {}",
            expiring.join(", ")
        ));
    }
    Err(ApiError::new("InputError", message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::store::Group;
    use crate::queue::tests::task_body;

    const TASK: &str = "fTWf6xkuQ0Om9uS3I4zTpQ";
    const OTHER: &str = "a2pPCGeKTVyzCvdLSqKx2A";
    const GROUP: &str = "VOFxu8TKQ4Ge0DMyGRDFnQ";

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    fn body(now: DateTime<Utc>) -> Value {
        task_body(now, GROUP, &[])
    }

    fn refusal(result: Result<Created, ApiError>) -> ApiError {
        match result {
            Ok(created) => panic!("accepted: {created:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn the_bundled_schema_compiles_with_its_defaults() {
        let names: Vec<&str> = defaults().iter().map(|(name, _)| name.as_str()).collect();
        for name in [
            "dependencies",
            "requires",
            "retries",
            "schedulerId",
            "priority",
        ] {
            assert!(names.contains(&name), "{names:?}");
        }
    }

    #[test]
    fn a_valid_body_is_stored_with_the_queues_defaults() {
        let mut store = Store::default();
        let now = now();
        let Created::New(status) =
            create_task(&mut store, TASK, &body(now), now, DEFAULT_MAX_DEADLINE).unwrap()
        else {
            panic!("not created")
        };
        assert_eq!(status["state"], "pending");
        assert_eq!(status["provisionerId"], "proj-fake");
        assert_eq!(status["workerType"], "linux");
        assert_eq!(status["retriesLeft"], 5);

        let stored = &store.tasks[TASK].definition;
        assert_eq!(stored["requires"], "all-completed");
        assert_eq!(stored["projectId"], "none");
        assert_eq!(stored["dependencies"], json!([]));
        let expires = store::parse_time(stored["expires"].as_str().unwrap()).unwrap();
        assert!(expires > now + TimeDelta::days(360));
    }

    /// Why a store holding nothing refuses `body` at `now`.
    fn refused_fresh(body: &Value, now: DateTime<Utc>) -> ApiError {
        refusal(create_task(
            &mut Store::default(),
            TASK,
            body,
            now,
            DEFAULT_MAX_DEADLINE,
        ))
    }

    #[test]
    fn a_bad_body_is_refused_naming_every_path() {
        let mut body = body(now());
        body["metadata"]["source"] = json!("ftp://example.com");
        body["retries"] = json!(100);
        body["deadline"] = json!("tomorrow");
        body["colour"] = json!("blue");
        let error = refused_fresh(&body, now());
        assert_eq!((error.status, error.code), (400, "InputValidationError"));
        for path in ["/metadata/source", "/retries", "/deadline", "colour"] {
            assert!(error.message.contains(path), "{path} in {}", error.message);
        }
    }

    #[test]
    fn the_same_definition_again_creates_nothing_new() {
        let mut store = Store::default();
        let now = now();
        create_task(&mut store, TASK, &body(now), now, DEFAULT_MAX_DEADLINE).unwrap();

        // The same times written another way are the same definition.
        let mut again = body(now);
        again["created"] = json!(now.to_rfc3339());
        let result = create_task(&mut store, TASK, &again, now, DEFAULT_MAX_DEADLINE).unwrap();
        assert!(matches!(result, Created::Again(_)), "{result:?}");
        assert_eq!(store.tasks.len(), 1);
    }

    #[test]
    fn another_definition_under_a_used_id_conflicts() {
        let mut store = Store::default();
        let now = now();
        create_task(&mut store, TASK, &body(now), now, DEFAULT_MAX_DEADLINE).unwrap();
        let mut other = body(now);
        other["metadata"]["name"] = json!("test");
        let error = refusal(create_task(
            &mut store,
            TASK,
            &other,
            now,
            DEFAULT_MAX_DEADLINE,
        ));
        assert_eq!((error.status, error.code), (409, "RequestConflict"));
    }

    #[test]
    fn missing_dependencies_are_named() {
        let mut store = Store::default();
        let now = now();
        let mut body = body(now);
        body["dependencies"] = json!([OTHER, TASK]);
        let error = refusal(create_task(
            &mut store,
            TASK,
            &body,
            now,
            DEFAULT_MAX_DEADLINE,
        ));
        assert_eq!((error.status, error.code), (400, "InputError"));
        assert!(error.message.contains(OTHER), "{}", error.message);
        assert!(!store.tasks.contains_key(TASK));
    }

    #[test]
    fn a_task_waits_for_its_dependencies() {
        let mut store = Store::default();
        let now = now();
        create_task(&mut store, OTHER, &body(now), now, DEFAULT_MAX_DEADLINE).unwrap();
        let mut body = body(now);
        body["dependencies"] = json!([OTHER]);
        let Created::New(status) =
            create_task(&mut store, TASK, &body, now, DEFAULT_MAX_DEADLINE).unwrap()
        else {
            panic!("not created")
        };
        assert_eq!(status["state"], "unscheduled");

        store.tasks.get_mut(OTHER).unwrap().state = "completed".into();
        store.schedule_dependents(OTHER);
        assert_eq!(store.tasks[TASK].state, "pending");
    }

    #[test]
    fn a_group_keeps_its_scheduler_id() {
        let mut store = Store::default();
        store.groups.insert(
            GROUP.into(),
            Group {
                scheduler_id: "someone-else".into(),
                expires: "2031-01-01T00:00:00.000Z".into(),
            },
        );
        let error = refusal(create_task(
            &mut store,
            TASK,
            &body(now()),
            now(),
            DEFAULT_MAX_DEADLINE,
        ));
        assert_eq!((error.status, error.code), (409, "RequestConflict"));
        assert!(error.message.contains("someone-else"), "{}", error.message);
    }

    #[test]
    fn times_are_checked_as_the_queue_checks_them() {
        let now = now();
        // (what the message names, the time changed, how far from now)
        let cases = [
            ("created", "created", TimeDelta::hours(1)),
            ("created", "created", TimeDelta::hours(-1)),
            ("before `created`", "deadline", TimeDelta::minutes(-1)),
            ("5 days", "deadline", TimeDelta::days(6)),
            ("`expires`", "expires", TimeDelta::hours(1)),
        ];
        for (expected, field, offset) in cases {
            let mut body = body(now);
            body[field] = json!(store::format_time(now + offset));
            let error = refused_fresh(&body, now);
            assert_eq!(error.code, "InputError");
            assert!(
                error.message.contains(expected),
                "{expected}: {}",
                error.message
            );
        }
    }

    #[test]
    fn queue_ids_must_agree() {
        let mut body = body(now());
        body["provisionerId"] = json!("proj-fake");
        body["workerType"] = json!("windows");
        let error = refused_fresh(&body, now());
        assert_eq!(error.code, "InputError");
        assert!(error.message.contains("taskQueueId"), "{}", error.message);
    }
}
