//! `translations_taskgraph.transforms.resolve_upload_bucket`: resolve the
//! keyed-by `worker.bucket` of upload tasks.
//!
//! The kinds key the bucket by `tasks-for`, but the reference resolves it
//! with no extra values, so the only attributes `by-tasks-for` can see are
//! the worker's own keys, which do not include `tasks-for`. The bucket is
//! therefore always the `default` alternative, for pull requests too; this
//! reproduces that rather than reading the `tasks_for` parameter.

use taskgraph::keyed_by::{KeyedByOptions, WithExtra, evaluate_keyed_by};
use taskgraph::python::py_str;
use taskgraph::template::is_keyed_by;
use taskgraph::transform::{TaskDesc, TransformConfig, TransformRef, per_task};
use taskgraph::{Error, Map, Registry, Result, Value};

pub const NAME: &str = "translations_taskgraph.transforms.resolve_upload_bucket";

pub fn register(registry: &mut Registry) {
    registry.add_transforms(NAME, transforms());
}

pub fn transforms() -> Vec<TransformRef> {
    vec![per_task(
        "translations.resolve_upload_bucket:evaluate_keyed_by",
        resolve_bucket,
    )]
}

fn resolve_bucket(_config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let item_name = task
        .get("description")
        .map(py_str)
        .ok_or_else(|| Error::transform("the task has no `description`").at_field("description"))?;
    let worker = match task.fields.get_mut("worker") {
        Some(Value::Map(worker)) => worker,
        Some(_) => return Err(Error::transform("`worker` must be a mapping").at_field("worker")),
        None => return Err(Error::transform("the task has no `worker`").at_field("worker")),
    };
    resolve_keyed_field(worker, "bucket", &item_name, &[], "worker.bucket")
}

/// taskgraph's `resolve_keyed_by(container, key, item_name, **extra)` for a
/// top-level `key`: the attributes are the container's own keys, overridden
/// by `extra`; a missing key is left alone. Errors name `path`, the key's
/// place in the task.
pub(crate) fn resolve_keyed_field(
    container: &mut Map,
    key: &str,
    item_name: &str,
    extra: &[(&str, Value)],
    path: &str,
) -> Result<()> {
    let Some(value) = container.get(key) else {
        return Ok(());
    };
    // Most fields are plain values; resolving one would only copy it back.
    if !is_keyed_by(value) {
        return Ok(());
    }
    let attributes = WithExtra {
        item: container,
        extra,
    };
    let described = format!("`{key}` in `{item_name}`");
    let resolved = evaluate_keyed_by(value, &described, &attributes, KeyedByOptions::default())
        .map_err(|e| e.at_field(path))?;
    container.insert(key, resolved);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::NAME;
    use crate::transforms::cached_tasks::test_support::{Harness, dumps_field};

    const BUCKET: &str = r#"{"by-tasks-for": {"github-pull-request": "development",
        "pr-action": "development", "default": "production"}}"#;

    fn upload_task(worker_extra: &str) -> String {
        format!(
            r#"[{{"label": "upload-db-update-db", "description": "upload db artifacts",
                 "worker": {{"allow-overwrites": true, "bucket": {BUCKET}{worker_extra}}}}}]"#
        )
    }

    /// As the reference prints: `development` never comes out.
    #[test]
    fn the_bucket_is_the_default_even_for_pull_requests() {
        let mut harness = Harness::new("upload-db");
        harness
            .params
            .insert("tasks_for", "github-pull-request".into());
        let out = harness.run(NAME, &upload_task("")).unwrap();
        assert_eq!(
            dumps_field(&out[0], "worker"),
            r#"{"allow-overwrites": true, "bucket": "production"}"#
        );
    }

    #[test]
    fn only_a_worker_key_named_tasks_for_selects_an_alternative() {
        let harness = Harness::new("upload-db");
        let out = harness
            .run(NAME, &upload_task(r#", "tasks-for": "pr-action""#))
            .unwrap();
        assert_eq!(
            dumps_field(&out[0], "worker"),
            r#"{"allow-overwrites": true, "bucket": "development", "tasks-for": "pr-action"}"#
        );
    }

    #[test]
    fn a_task_without_a_bucket_is_left_alone_but_needs_a_description() {
        let harness = Harness::new("upload-db");
        let out = harness
            .run(NAME, r#"[{"description": "d", "worker": {"x": 1}}]"#)
            .unwrap();
        assert_eq!(dumps_field(&out[0], "worker"), r#"{"x": 1}"#);

        let err = harness
            .run(NAME, r#"[{"label": "l", "worker": {"bucket": "b"}}]"#)
            .unwrap_err();
        assert!(err.to_string().contains("description"), "{err}");
    }

    #[test]
    fn a_bucket_with_only_a_default_is_an_error() {
        let harness = Harness::new("upload-db");
        let err = harness
            .run(
                NAME,
                r#"[{"description": "d", "worker": {"bucket": {"by-tasks-for": {"default": "x"}}}}]"#,
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("Keyed-by 'tasks-for' unnecessary with only value 'default'"),
            "{err}"
        );
        assert_eq!(err.location().field.as_deref(), Some("worker.bucket"));
    }
}
