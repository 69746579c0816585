//! `dependency_dummies`: split a task with too many dependencies into
//! copies that share them out.
//!
//! Taskcluster caps the dependencies of one task, so the pipeline's
//! catch-all tasks are cut into copies named `<name>-1`, `<name>-2`, …,
//! each with at most taskgraph's `MAX_DEPENDENCIES` of them, in sorted
//! order. Each copy depends on its share by label alone (`{label: label}`),
//! whatever names the dependencies had. A task with no dependencies yields
//! no copy at all.

use taskgraph::python::{object_type_name, py_str};
use taskgraph::transform::{TaskDesc, TransformConfig, TransformRef, fan_out};
use taskgraph::transforms::task::MAX_DEPENDENCIES;
use taskgraph::{Error, Map, Registry, Result, Value};

use super::from_datasets::task_fields::required_field;

pub fn register(registry: &mut Registry) {
    registry.add_transforms(
        "translations_taskgraph.transforms.dependency_dummies",
        transforms(),
    );
}

/// The module's `transforms` sequence.
pub fn transforms() -> Vec<TransformRef> {
    vec![fan_out(
        "dependency_dummies:add_dependencies",
        add_dependencies,
    )]
}

fn add_dependencies(_config: &TransformConfig<'_>, task: TaskDesc) -> Result<Vec<TaskDesc>> {
    split_dependencies(&task, MAX_DEPENDENCIES)
}

/// One copy of `task` per `per_copy` of its sorted dependency names.
fn split_dependencies(task: &TaskDesc, per_copy: usize) -> Result<Vec<TaskDesc>> {
    let dependencies = required_field(&task.fields, "dependencies")?;
    let Value::Map(dependencies) = dependencies else {
        return Err(Error::transform(format!(
            "`dependencies` must be a mapping, not {}",
            object_type_name(dependencies)
        ))
        .at_field("dependencies"));
    };
    let mut names: Vec<&str> = dependencies.keys().collect();
    names.sort_unstable();

    names
        .chunks(per_copy.max(1))
        .enumerate()
        .map(|(index, share)| copy_with(task, share, index + 1))
        .collect()
}

/// A copy of `task` depending on `share` only, named for its `number`.
fn copy_with(task: &TaskDesc, share: &[&str], number: usize) -> Result<TaskDesc> {
    let name = py_str(required_field(&task.fields, "name")?);
    let dependencies: Map = share
        .iter()
        .map(|label| (*label, Value::from(*label)))
        .collect();

    let mut copy = task.clone();
    copy.fields.insert("dependencies", Value::Map(dependencies));
    copy.fields
        .insert("name", Value::from(format!("{name}-{number}")));
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use taskgraph::transform::Origin;

    use super::super::from_datasets::test_kind::{Setup, json_map, run};
    use super::*;

    fn desc(text: &str) -> TaskDesc {
        let origin = Origin {
            file: PathBuf::from("kind.yml"),
            position: None,
            name: "all".to_owned(),
        };
        TaskDesc::new(json_map(text), Arc::new(origin))
    }

    fn fields(copies: Vec<TaskDesc>) -> Vec<Map> {
        copies.into_iter().map(|copy| copy.fields).collect()
    }

    #[test]
    fn dependencies_are_shared_out_in_sorted_order() {
        let task = desc(
            r#"{"description": "d", "name": "all", "dependencies": {"c": "lc", "a": "la", "B": "lb"}, "attributes": {"x": 1}}"#,
        );
        let copies = fields(split_dependencies(&task, 2).unwrap());

        let expected = [
            json_map(
                r#"{"description": "d", "name": "all-1", "dependencies": {"B": "B", "a": "a"}, "attributes": {"x": 1}}"#,
            ),
            json_map(
                r#"{"description": "d", "name": "all-2", "dependencies": {"c": "c"}, "attributes": {"x": 1}}"#,
            ),
        ];
        assert_eq!(copies, expected);
        let first_keys: Vec<&str> = copies[0].keys().collect();
        assert_eq!(
            first_keys,
            ["description", "name", "dependencies", "attributes"]
        );
        let first_dependencies: Vec<&str> =
            copies[0]["dependencies"].as_map().unwrap().keys().collect();
        assert_eq!(first_dependencies, ["B", "a"]);
    }

    #[test]
    fn a_full_share_makes_no_empty_copy() {
        let task = desc(r#"{"name": "all", "dependencies": {"b": "x", "a": "y"}}"#);
        let copies = fields(split_dependencies(&task, 2).unwrap());
        assert_eq!(
            copies,
            [json_map(
                r#"{"name": "all-1", "dependencies": {"a": "a", "b": "b"}}"#
            )]
        );
    }

    #[test]
    fn the_limit_is_taskgraphs() {
        assert_eq!(MAX_DEPENDENCIES, 9999);
        let labels: Map = (0..MAX_DEPENDENCIES + 1)
            .map(|i| (format!("dep-{i:05}"), Value::from("x")))
            .collect();
        let mut fields = Map::default();
        fields.insert("name", Value::from("all"));
        fields.insert("dependencies", Value::Map(labels));
        let task = TaskDesc::new(fields, desc("{}").origin);

        let copies = split_dependencies(&task, MAX_DEPENDENCIES).unwrap();
        let sizes: Vec<usize> = copies
            .iter()
            .map(|c| c.fields["dependencies"].as_map().unwrap().len())
            .collect();
        assert_eq!(sizes, [MAX_DEPENDENCIES, 1]);
        assert_eq!(copies[1].fields["name"], Value::from("all-2"));
    }

    #[test]
    fn no_dependencies_means_no_task() {
        let setup = Setup::default();
        let out = run(
            &setup,
            &transforms(),
            vec![json_map(r#"{"name": "all", "dependencies": {}}"#)],
        )
        .unwrap();
        assert!(out.is_empty());

        // The name is only read for a copy.
        let nameless = run(
            &setup,
            &transforms(),
            vec![json_map(r#"{"dependencies": {}}"#)],
        )
        .unwrap();
        assert!(nameless.is_empty());
    }

    #[test]
    fn names_are_formatted_like_python() {
        let task = desc(r#"{"name": 5, "dependencies": {"a": "a"}}"#);
        let copies = fields(split_dependencies(&task, 2).unwrap());
        assert_eq!(copies[0]["name"], Value::from("5-1"));
    }

    #[test]
    fn missing_fields_are_named() {
        let setup = Setup::default();
        let message = run(&setup, &transforms(), vec![json_map(r#"{"name": "all"}"#)])
            .unwrap_err()
            .to_string();
        assert!(message.contains("KeyError: 'dependencies'"), "{message}");

        let message = run(
            &setup,
            &transforms(),
            vec![json_map(r#"{"dependencies": {"a": "a"}}"#)],
        )
        .unwrap_err()
        .to_string();
        assert!(message.contains("KeyError: 'name'"), "{message}");
    }
}
