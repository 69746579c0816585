//! `translations_taskgraph.transforms.upload_experiment_config`: put the
//! training configuration into the upload-experiment-config task's first
//! `worker.data-map` entry, as `data`: Python's `json.dumps` of the
//! `training_config` parameter (default separators, non-ASCII escaped,
//! keys in their order), base64-encoded.

use taskgraph::python::json_stdlib;
use taskgraph::transform::{TaskDesc, TransformConfig, TransformRef, per_task};
use taskgraph::{Error, Registry, Result, Value};

pub const NAME: &str = "translations_taskgraph.transforms.upload_experiment_config";

pub fn register(registry: &mut Registry) {
    registry.add_transforms(NAME, transforms());
}

pub fn transforms() -> Vec<TransformRef> {
    vec![per_task(
        "translations.upload_experiment_config:add_training_config",
        add_training_config,
    )]
}

fn add_training_config(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let training_config = config.params.get("training_config").ok_or_else(|| {
        Error::params("the parameters have no `training_config`").at_field("training_config")
    })?;
    let json = json_stdlib(training_config).map_err(|e| e.at_field("training_config"))?;
    let data = base64_encode(json.as_bytes());

    let entry = task
        .fields
        .get_mut("worker")
        .and_then(|w| w.get_mut("data-map"))
        .and_then(Value::as_list_mut)
        .and_then(|entries| entries.first_mut())
        .and_then(Value::as_map_mut)
        .ok_or_else(|| {
            Error::transform("`worker.data-map` must be a list starting with a mapping")
                .at_field("worker.data-map")
        })?;
    entry.insert("data", Value::from(data));
    Ok(())
}

/// Standard base64 with padding, as Python's `base64.b64encode`.
fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use taskgraph::Value;

    use super::{NAME, base64_encode};
    use crate::transforms::cached_tasks::test_support::{Harness, dumps, json_map};

    #[test]
    fn base64_matches_python() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"\xff\xfe\xfd\x00"), "//79AA==");
    }

    /// The expected data was printed by the reference transform given the
    /// same training config.
    #[test]
    fn the_training_config_is_embedded_as_python_json() {
        let mut harness = Harness::new("upload-experiment-config");
        let training_config = json_map(
            r#"{"experiment": {"name": "é✓", "f": 1.5, "n": null, "t": true},
                "list": [1, "a"], "z": {}}"#,
        );
        harness
            .params
            .insert("training_config", Value::Map(training_config));
        let out = harness
            .run(
                NAME,
                r#"[{"label": "upload-experiment-config", "worker": {"data-map": [
                    {"content-type": "application/json", "destinations": []}, {"other": 1}]}}]"#,
            )
            .unwrap();
        assert_eq!(
            dumps(out[0].get("worker").unwrap()),
            r#"{"data-map": [{"content-type": "application/json", "destinations": [], "data": "eyJleHBlcmltZW50IjogeyJuYW1lIjogIlx1MDBlOVx1MjcxMyIsICJmIjogMS41LCAibiI6IG51bGwsICJ0IjogdHJ1ZX0sICJsaXN0IjogWzEsICJhIl0sICJ6Ijoge319"}, {"other": 1}]}"#
        );
    }

    #[test]
    fn a_missing_data_map_or_training_config_is_an_error() {
        let mut harness = Harness::new("upload-experiment-config");
        let task = r#"[{"label": "x", "worker": {"data-map": []}}]"#;
        let err = harness.run(NAME, task).unwrap_err();
        assert!(err.to_string().contains("training_config"), "{err}");

        harness
            .params
            .insert("training_config", Value::Map(json_map("{}")));
        let err = harness.run(NAME, task).unwrap_err();
        assert!(err.to_string().contains("worker.data-map"), "{err}");
    }
}
