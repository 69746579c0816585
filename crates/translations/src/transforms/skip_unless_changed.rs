//! `translations_taskgraph.transforms.skip_unless_pipeline_changed` and
//! `translations_taskgraph.transforms.skip_unless_inference_changed`: give
//! every task a `skip-unless-changed` optimization over the files that
//! affect the training pipeline, or the inference engine.
//!
//! Besides fixed patterns, the lists name `taskcluster/kinds/<entry>` for
//! entries of the project's kinds directory: every entry but `test` for the
//! pipeline (so `tests` is included, as in the reference), only `inference`
//! for inference. The reference lists that directory with `os.listdir`,
//! whose order is the file system's; [`std::fs::read_dir`] reads the same
//! directory stream, so the patterns come out in the same order. Nothing
//! else is read: not the environment, the parameters nor `files_changed`.
//! The directory is the graph configuration's kinds directory, which tests
//! point at a scratch project.

use taskgraph::transform::{TaskDesc, TransformConfig, batch};
use taskgraph::{Error, Map, Registry, Result, Value};

pub const PIPELINE_NAME: &str = "translations_taskgraph.transforms.skip_unless_pipeline_changed";
pub const INFERENCE_NAME: &str = "translations_taskgraph.transforms.skip_unless_inference_changed";

/// Files whose change means the training pipeline must run.
const PIPELINE_PATTERNS: [&str; 5] = [
    "pipeline/**",
    "taskcluster/docker/**",
    "taskcluster/requirements.txt",
    "taskcluster/scripts/**",
    "taskcluster/translations_taskgraph/**",
];

/// Kinds whose change does not affect the pipeline. (The directory is
/// called `tests`, so in effect no kind is left out.)
const PIPELINE_EXCLUDED_KINDS: [&str; 1] = ["test"];

/// Files whose change means the inference engine must be rebuilt.
const INFERENCE_PATTERNS: [&str; 2] = ["inference/**", "taskcluster/docker/inference/**"];

/// The only kinds whose change affects inference.
const INFERENCE_KINDS: [&str; 1] = ["inference"];

pub fn register(registry: &mut Registry) {
    registry.add_transforms(
        PIPELINE_NAME,
        vec![batch(
            "translations.skip_unless_pipeline_changed:skip_unless_pipeline_changed",
            skip_unless_pipeline_changed,
        )],
    );
    registry.add_transforms(
        INFERENCE_NAME,
        vec![batch(
            "translations.skip_unless_inference_changed:skip_unless_inference_changed",
            skip_unless_inference_changed,
        )],
    );
}

fn skip_unless_pipeline_changed(
    config: &TransformConfig<'_>,
    tasks: Vec<TaskDesc>,
) -> Result<Vec<TaskDesc>> {
    let kinds = kind_directory_entries(config)?;
    let patterns = pipeline_patterns(&kinds);
    set_on_every_task(config, tasks, &patterns)
}

fn skip_unless_inference_changed(
    config: &TransformConfig<'_>,
    tasks: Vec<TaskDesc>,
) -> Result<Vec<TaskDesc>> {
    let kinds = kind_directory_entries(config)?;
    let patterns = inference_patterns(&kinds);
    set_on_every_task(config, tasks, &patterns)
}

/// The fixed pipeline patterns, then every kind entry not excluded.
pub fn pipeline_patterns(kind_entries: &[String]) -> Vec<String> {
    let kinds = kind_entries
        .iter()
        .filter(|kind| !PIPELINE_EXCLUDED_KINDS.contains(&kind.as_str()));
    with_kind_patterns(&PIPELINE_PATTERNS, kinds)
}

/// The fixed inference patterns, then the inference kind if present.
pub fn inference_patterns(kind_entries: &[String]) -> Vec<String> {
    let kinds = kind_entries
        .iter()
        .filter(|kind| INFERENCE_KINDS.contains(&kind.as_str()));
    with_kind_patterns(&INFERENCE_PATTERNS, kinds)
}

fn with_kind_patterns<'k>(fixed: &[&str], kinds: impl Iterator<Item = &'k String>) -> Vec<String> {
    fixed
        .iter()
        .map(|pattern| (*pattern).to_owned())
        .chain(kinds.map(|kind| format!("taskcluster/kinds/{kind}")))
        .collect()
}

/// The names in the kinds directory, files included, in directory order
/// (`os.listdir`).
fn kind_directory_entries(config: &TransformConfig<'_>) -> Result<Vec<String>> {
    let dir = config.graph_config.kinds_dir();
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    entries
        .map(|entry| {
            entry
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .map_err(|e| Error::io(&dir, e))
        })
        .collect()
}

fn set_on_every_task(
    config: &TransformConfig<'_>,
    mut tasks: Vec<TaskDesc>,
    patterns: &[String],
) -> Result<Vec<TaskDesc>> {
    let patterns = Value::str_list(patterns);
    for task in &mut tasks {
        set_skip_unless_changed(task, &patterns).map_err(|e| e.at(&task.location(config.kind)))?;
    }
    Ok(tasks)
}

/// `task.setdefault("optimization", {})["skip-unless-changed"] = patterns`:
/// other optimizations already there stay.
fn set_skip_unless_changed(task: &mut TaskDesc, patterns: &Value) -> Result<()> {
    let optimization = task
        .fields
        .entry("optimization")
        .or_insert_with(|| Value::Map(Map::default()));
    let Value::Map(optimization) = optimization else {
        return Err(Error::transform(format!(
            "`optimization` must be a mapping to add skip-unless-changed to, not {}",
            optimization.type_name()
        ))
        .at_field("optimization"));
    };
    optimization.insert("skip-unless-changed", patterns.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::cached_tasks::test_support::{Harness, dumps_field};

    fn harness_with_kinds(kinds: &[&str]) -> Harness {
        let harness = Harness::new("all-pr-pipeline");
        for kind in kinds {
            harness.file(&format!("taskcluster/kinds/{kind}/kind.yml"), "tasks: {}\n");
        }
        harness
    }

    /// The kinds directory as `os.listdir` (and `read_dir`) list it.
    fn listed(harness: &Harness) -> Vec<String> {
        std::fs::read_dir(harness.path().join("taskcluster/kinds"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_pipeline_list_keeps_tests_and_directory_order() {
        let entries: Vec<String> = ["evaluate", "tests", "test", "inference"]
            .map(str::to_owned)
            .into();
        assert_eq!(
            pipeline_patterns(&entries),
            [
                "pipeline/**",
                "taskcluster/docker/**",
                "taskcluster/requirements.txt",
                "taskcluster/scripts/**",
                "taskcluster/translations_taskgraph/**",
                "taskcluster/kinds/evaluate",
                "taskcluster/kinds/tests",
                "taskcluster/kinds/inference",
            ]
        );
        assert_eq!(
            inference_patterns(&entries),
            [
                "inference/**",
                "taskcluster/docker/inference/**",
                "taskcluster/kinds/inference"
            ]
        );
        assert_eq!(
            inference_patterns(&["evaluate".to_owned()]),
            ["inference/**", "taskcluster/docker/inference/**"]
        );
    }

    #[test]
    fn every_task_gets_the_pipeline_patterns_beside_other_optimizations() {
        let harness = harness_with_kinds(&["export", "tests", "inference"]);
        harness.file("taskcluster/kinds/README", "not a kind, but listed\n");
        let out = harness
            .run(
                PIPELINE_NAME,
                r#"[{"label": "a"}, {"label": "b", "optimization": {"index-search": ["x"]}}]"#,
            )
            .unwrap();

        let kinds: Vec<String> = listed(&harness)
            .iter()
            .map(|kind| format!(r#""taskcluster/kinds/{kind}""#))
            .collect();
        assert_eq!(kinds.len(), 4);
        let patterns = format!(
            r#"["pipeline/**", "taskcluster/docker/**", "taskcluster/requirements.txt", "taskcluster/scripts/**", "taskcluster/translations_taskgraph/**", {}]"#,
            kinds.join(", ")
        );
        assert_eq!(
            dumps_field(&out[0], "optimization"),
            format!(r#"{{"skip-unless-changed": {patterns}}}"#)
        );
        assert_eq!(
            dumps_field(&out[1], "optimization"),
            format!(r#"{{"index-search": ["x"], "skip-unless-changed": {patterns}}}"#)
        );
    }

    #[test]
    fn inference_tasks_name_only_the_inference_kind() {
        let harness = harness_with_kinds(&["export", "inference", "toolchain"]);
        let out = harness
            .run(INFERENCE_NAME, r#"[{"label": "inference-build"}]"#)
            .unwrap();
        assert_eq!(
            dumps_field(&out[0], "optimization"),
            r#"{"skip-unless-changed": ["inference/**", "taskcluster/docker/inference/**", "taskcluster/kinds/inference"]}"#
        );
    }

    #[test]
    fn a_null_optimization_is_an_error_as_in_the_reference() {
        let harness = harness_with_kinds(&["inference"]);
        let err = harness
            .run(INFERENCE_NAME, r#"[{"label": "x", "optimization": null}]"#)
            .unwrap_err();
        assert!(err.to_string().contains("optimization"), "{err}");
    }

    #[test]
    fn a_missing_kinds_directory_is_an_error() {
        let harness = Harness::new("all-pr-pipeline");
        let err = harness.run(PIPELINE_NAME, "[]").unwrap_err();
        assert!(err.to_string().contains("kinds"), "{err}");
    }
}
