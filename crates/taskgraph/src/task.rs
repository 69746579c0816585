//! Tasks: what the transforms of a kind produce.
//!
//! A [`Task`] is the typed end of the transform stage: a label, the kind it
//! came from, its attributes, its Taskcluster task definition, its
//! optimization and its dependencies by name. Its JSON form is the value of
//! one entry of `full-task-graph.json`.

use std::sync::Arc;

use indexmap::IndexMap;

use crate::digest::DigestRecord;
use crate::error::{Error, Result};
use crate::python::JsonNode;
use crate::value::{Map, Value};

/// One task of a task graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub kind: String,
    pub label: String,
    pub description: String,
    pub attributes: Map,
    /// The Taskcluster task definition (still holding `task-reference`s
    /// and relative datestamps).
    pub task: Map,
    /// The optimization (`{strategy: argument}`), or None.
    pub optimization: Value,
    /// Dependencies: name -> label.
    pub dependencies: IndexMap<String, String>,
    pub soft_dependencies: Vec<String>,
    pub if_dependencies: Vec<String>,
    /// Assigned by the optimizer.
    pub task_id: Option<String>,
    /// The inputs of the task's cache digest, for cached tasks.
    pub digest: Option<Arc<DigestRecord>>,
}

impl Task {
    /// A task of `kind` with nothing in it but its label and the `kind`
    /// attribute: the start of a task built in code rather than by
    /// transforms (morphs, tests).
    pub fn new(kind: &str, label: impl Into<String>) -> Task {
        Task {
            kind: kind.to_owned(),
            label: label.into(),
            description: String::new(),
            attributes: Map::from_iter([("kind", Value::from(kind))]),
            task: Map::default(),
            optimization: Value::Null,
            dependencies: IndexMap::new(),
            soft_dependencies: Vec::new(),
            if_dependencies: Vec::new(),
            task_id: None,
            digest: None,
        }
    }

    /// This task with `definition` in place of its task definition and
    /// `task_id` as its id, everything else copied: the optimizer's copy,
    /// made without copying the definition it replaces.
    pub fn with_definition(&self, definition: Map, task_id: String) -> Task {
        let Task {
            kind,
            label,
            description,
            attributes,
            task: _,
            optimization,
            dependencies,
            soft_dependencies,
            if_dependencies,
            task_id: _,
            digest,
        } = self;
        Task {
            kind: kind.clone(),
            label: label.clone(),
            description: description.clone(),
            attributes: attributes.clone(),
            task: definition,
            optimization: optimization.clone(),
            dependencies: dependencies.clone(),
            soft_dependencies: soft_dependencies.clone(),
            if_dependencies: if_dependencies.clone(),
            task_id: Some(task_id),
            digest: digest.clone(),
        }
    }

    /// Builds a task from the description the last transform produced,
    /// as the reference's `Task(...)` call does (and forcing the `kind`
    /// attribute to the kind's name).
    pub fn from_description(kind: &str, mut desc: Map) -> Result<Task> {
        let label = take_str(&mut desc, "label")?;
        let description = match desc.shift_remove("description") {
            Some(Value::Str(s)) => s,
            Some(other) => return Err(field_error("description", "a string", &other)),
            None => return Err(Error::transform("the task has no `description`").in_task(&label)),
        };
        let mut attributes = take_map(&mut desc, "attributes")?.unwrap_or_default();
        attributes.insert("kind", Value::from(kind));
        let task = take_map(&mut desc, "task")?
            .ok_or_else(|| Error::transform("the task has no `task` definition"))?;
        let optimization = desc.shift_remove("optimization").unwrap_or(Value::Null);
        let dependencies = take_dependencies(&mut desc)?;
        let soft_dependencies = take_labels(&mut desc, "soft-dependencies")?;
        let if_dependencies = take_labels(&mut desc, "if-dependencies")?;

        Ok(Task {
            kind: kind.to_owned(),
            label,
            description,
            attributes,
            task,
            optimization,
            dependencies,
            soft_dependencies,
            if_dependencies,
            task_id: None,
            digest: None,
        })
    }

    /// The JSON form, with `dependencies` given by the caller (the graph's
    /// named edges, which replace the task's own in every graph output).
    pub fn to_json(&self, dependencies: &IndexMap<&str, &str>) -> Value {
        let mut out = Map::with_capacity(10);
        out.insert("attributes", Value::Map(self.attributes.clone()));
        out.insert(
            "dependencies",
            Value::Map(
                dependencies
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                    .collect(),
            ),
        );
        out.insert("description", Value::from(self.description.as_str()));
        out.insert(
            "if_dependencies",
            Value::str_list(self.if_dependencies.iter().cloned()),
        );
        out.insert("kind", Value::from(self.kind.as_str()));
        out.insert("label", Value::from(self.label.as_str()));
        out.insert("optimization", self.optimization.clone());
        out.insert(
            "soft_dependencies",
            Value::str_list(self.soft_dependencies.iter().cloned()),
        );
        out.insert("task", Value::Map(self.task.clone()));
        if let Some(task_id) = &self.task_id {
            out.insert("task_id", Value::from(task_id.as_str()));
        }
        Value::Map(out)
    }

    /// [`Task::to_json`] without copying: the same document, borrowing
    /// the task's own data.
    pub fn json_node<'a>(&'a self, dependencies: &[(&'a str, &'a str)]) -> JsonNode<'a> {
        let dependencies = dependencies
            .iter()
            .map(|(name, label)| (*name, JsonNode::Str(label)))
            .collect();
        let mut entries = vec![
            ("attributes", JsonNode::Map(&self.attributes)),
            ("dependencies", JsonNode::Object(dependencies)),
            ("description", JsonNode::Str(&self.description)),
            ("if_dependencies", JsonNode::StrList(&self.if_dependencies)),
            ("kind", JsonNode::Str(&self.kind)),
            ("label", JsonNode::Str(&self.label)),
            ("optimization", JsonNode::Value(&self.optimization)),
            (
                "soft_dependencies",
                JsonNode::StrList(&self.soft_dependencies),
            ),
            ("task", JsonNode::Map(&self.task)),
        ];
        if let Some(task_id) = &self.task_id {
            entries.push(("task_id", JsonNode::Str(task_id)));
        }
        JsonNode::Object(entries)
    }

    /// A string attribute.
    pub fn attribute_str(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Value::as_str)
    }
}

fn field_error(field: &str, expected: &str, got: &Value) -> Error {
    Error::transform(format!(
        "`{field}` must be {expected}, not {}",
        got.type_name()
    ))
    .at_field(field)
}

fn take_str(desc: &mut Map, key: &str) -> Result<String> {
    match desc.shift_remove(key) {
        Some(Value::Str(s)) => Ok(s),
        Some(other) => Err(field_error(key, "a string", &other)),
        None => Err(Error::transform(format!("the task has no `{key}`"))),
    }
}

fn take_map(desc: &mut Map, key: &str) -> Result<Option<Map>> {
    match desc.shift_remove(key) {
        Some(Value::Map(m)) => Ok(Some(m)),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(field_error(key, "a mapping", &other)),
    }
}

fn take_dependencies(desc: &mut Map) -> Result<IndexMap<String, String>> {
    let Some(deps) = take_map(desc, "dependencies")? else {
        return Ok(IndexMap::new());
    };
    deps.into_iter()
        .map(|(name, label)| match label {
            Value::Str(label) => Ok((name.into_string(), label)),
            other => Err(field_error(
                &format!("dependencies.{name}"),
                "a task label",
                &other,
            )),
        })
        .collect()
}

fn take_labels(desc: &mut Map, key: &str) -> Result<Vec<String>> {
    match desc.shift_remove(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::List(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::Str(s) => Ok(s),
                other => Err(field_error(key, "a list of task labels", &other)),
            })
            .collect(),
        Some(other) => Err(field_error(key, "a list", &other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;

    #[test]
    fn from_description_forces_the_kind_attribute() {
        let desc = map! {
            "label" => "build-linux",
            "description" => "Build",
            "attributes" => map! {"kind" => "other", "x" => 1},
            "task" => map! {"payload" => map! {}},
            "dependencies" => map! {"docker-image" => "docker-image-base"},
        };
        let task = Task::from_description("build", desc).unwrap();
        assert_eq!(task.attribute_str("kind"), Some("build"));
        assert_eq!(task.dependencies["docker-image"], "docker-image-base");
        assert!(task.optimization.is_null());
    }

    #[test]
    fn json_form_uses_the_given_dependencies() {
        let desc = map! {"label" => "a", "description" => "", "task" => map! {}};
        let task = Task::from_description("k", desc).unwrap();
        let json = task.to_json(&IndexMap::new());
        let keys: Vec<&str> = json.as_map().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "attributes",
                "dependencies",
                "description",
                "if_dependencies",
                "kind",
                "label",
                "optimization",
                "soft_dependencies",
                "task"
            ]
        );
    }

    #[test]
    fn a_non_string_dependency_is_an_error() {
        let desc = map! {"label" => "a", "description" => "", "task" => map! {}, "dependencies" => map! {"x" => 3}};
        let err = Task::from_description("k", desc).unwrap_err();
        assert_eq!(err.location().field.as_deref(), Some("dependencies.x"));
    }
}
