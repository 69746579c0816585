//! `from-deps`: create one task per kind-dependency task, or per group of
//! them.
//!
//! Candidates are the tasks of `kinds` (default: the kind's
//! `kind-dependencies`) whose attributes match `with-attributes`. They are
//! grouped by `group-by` (`single`: one group each, in load order; `all`:
//! one group; `{attribute: name}`: by a truthy attribute value, in first
//! seen order), and each group yields a copy of the task depending on the
//! group's tasks. The first of `kinds` present in a group is the primary
//! kind, which names the task (`set-name`) and may lend its attributes
//! (`copy-attributes`). `fetches` adds fetch entries for each dependency,
//! formatted with the dependency's attributes.

use std::sync::{Arc, LazyLock};

use crate::error::{Error, Result};
use crate::keyed_by::attrmatch;
use crate::python;
use crate::schema::{Extra, KeyRule, Schema, dict, one_of_strs, opt, req, str_list, str_map};
use crate::task::Task;
use crate::transform::{
    TaskDesc, TransformConfig, TransformRef, fan_out_reading_dependencies, map_entry, validate,
};
use crate::transforms::run::fetch_entry_schema;
use crate::util::ordered;
use crate::value::{Map, Value};

const SET_NAMES: &[&str] = &["strip-kind", "retain-kind"];
const GROUP_BYS: &[&str] = &["single", "all", "attribute"];

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let set_name = Schema::OneOf(vec![
        Schema::Null,
        Schema::literal(false),
        one_of_strs(SET_NAMES),
        dict([])
            .key_rule(KeyRule::OneOf(SET_NAMES.to_vec()), Schema::Anything)
            .into(),
    ]);
    let group_by = Schema::OneOf(vec![
        Schema::Null,
        one_of_strs(GROUP_BYS),
        dict([])
            .key_rule(KeyRule::OneOf(GROUP_BYS.to_vec()), Schema::Anything)
            .into(),
    ]);
    dict([req(
        "from-deps",
        dict([
            opt("kinds", str_list()),
            opt("set-name", set_name),
            opt(
                "with-attributes",
                str_map(Schema::OneOf(vec![Schema::AnyList, Schema::Str])),
            ),
            opt("group-by", group_by),
            opt("copy-attributes", Schema::Bool),
            opt("unique-kinds", Schema::Bool),
            opt(
                "fetches",
                str_map(Schema::ListOf(vec![fetch_entry_schema()])),
            ),
        ])
        .into(),
    )])
    .allow_extra()
    .into()
});

pub fn transforms() -> Vec<TransformRef> {
    vec![
        validate("from_deps:validate", &SCHEMA, Extra::Allow),
        fan_out_reading_dependencies("from_deps:from_deps", from_deps),
    ]
}

/// The options of one task's `from-deps`.
struct FromDeps {
    kinds: Vec<String>,
    set_name: Option<String>,
    copy_attributes: bool,
    unique_kinds: bool,
    fetches: Map,
}

fn from_deps(config: &TransformConfig<'_>, mut task: TaskDesc) -> Result<Vec<TaskDesc>> {
    let Some(Value::Map(spec)) = task.fields.shift_remove("from-deps") else {
        return Err(Error::schema("`from-deps` is required").at_field("from-deps"));
    };
    let options = parse_options(config, &spec)?;
    let candidates = candidates(config, &options.kinds, spec.get("with-attributes"))?;
    let groups = group(&candidates, spec.get("group-by"))?;

    // A kind of one task can fan out into hundreds here (one upload task
    // per upstream task), each a copy of the template: copy on all cores.
    let out = ordered::try_map(&groups, |group| {
        task_for_group(config, &task, &options, group)
    })?;
    task.fields.clear();
    Ok(out)
}

fn parse_options(config: &TransformConfig<'_>, spec: &Map) -> Result<FromDeps> {
    let kind_deps: Vec<String> = config
        .config
        .get("kind-dependencies")
        .and_then(Value::as_str_list)
        .map(|l| l.into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
    let kinds: Vec<String> = match spec.get("kinds").and_then(Value::as_str_list) {
        Some(kinds) => kinds.into_iter().map(str::to_owned).collect(),
        None => kind_deps.clone(),
    };

    let mut invalid: Vec<&String> = kinds.iter().filter(|k| !kind_deps.contains(k)).collect();
    invalid.sort();
    invalid.dedup();
    if !invalid.is_empty() {
        let names = invalid
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::transform(format!(
            "`from-deps.kinds` names kinds that are not in `kind-dependencies`: {names}"
        ))
        .at_field("from-deps.kinds"));
    }
    if kinds.is_empty() {
        return Err(Error::transform(
            "the from_deps transforms need at least one kind in `kind-dependencies`",
        ));
    }

    let set_name = match spec.get("set-name") {
        None => Some("strip-kind".to_owned()),
        Some(value) if !value.is_truthy() => None,
        Some(Value::Str(name)) => Some(name.clone()),
        Some(other) => {
            return Err(Error::transform(format!(
                "unsupported `set-name` {}",
                python::py_repr(other)
            ))
            .at_field("from-deps.set-name"));
        }
    };
    Ok(FromDeps {
        kinds,
        set_name,
        copy_attributes: spec.get("copy-attributes").is_some_and(Value::is_truthy),
        unique_kinds: spec.get("unique-kinds").is_none_or(Value::is_truthy),
        fetches: spec
            .get("fetches")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default(),
    })
}

fn candidates(
    config: &TransformConfig<'_>,
    kinds: &[String],
    with_attributes: Option<&Value>,
) -> Result<Vec<Arc<Task>>> {
    let conditions = with_attributes
        .and_then(Value::as_map)
        .filter(|m| !m.is_empty());
    Ok(config
        .kind_dependencies_tasks()?
        .values()
        .filter(|t| kinds.contains(&t.kind))
        .filter(|t| conditions.is_none_or(|c| attrmatch(&t.attributes, c)))
        .cloned()
        .collect())
}

fn group(deps: &[Arc<Task>], group_by: Option<&Value>) -> Result<Vec<Vec<Arc<Task>>>> {
    let (name, argument) = match group_by {
        None => ("single", None),
        Some(Value::Str(name)) => (name.as_str(), None),
        Some(Value::Map(map)) if map.len() == 1 => {
            let (name, argument) = map.first().expect("one entry");
            (name, Some(argument))
        }
        Some(other) => {
            return Err(Error::transform(format!(
                "unsupported `group-by` {}",
                python::py_repr(other)
            ))
            .at_field("from-deps.group-by"));
        }
    };

    match name {
        // The reference passes an argument to these two, which take none.
        "single" | "all" if argument.is_some() => Err(Error::transform(format!(
            "group-by `{name}` takes no argument; write `group-by: {name}`"
        ))
        .at_field("from-deps.group-by")),
        "single" => Ok(deps.iter().map(|d| vec![Arc::clone(d)]).collect()),
        "all" => Ok(vec![deps.to_vec()]),
        "attribute" => {
            let Some(Value::Str(attribute)) = argument else {
                return Err(
                    Error::schema("Invalid group-by attribute argument: expected str")
                        .at_field("from-deps.group-by.attribute"),
                );
            };
            group_by_attribute(deps, attribute)
        }
        other => Err(
            Error::transform(format!("unknown group-by function `{other}`"))
                .at_field("from-deps.group-by"),
        ),
    }
}

fn group_by_attribute(deps: &[Arc<Task>], attribute: &str) -> Result<Vec<Vec<Arc<Task>>>> {
    // The reference keys a dict by the attribute's value, so values that
    // Python deems equal (1, 1.0 and True) share a group, and a list or
    // dict value cannot be a key at all.
    let mut groups: Vec<(&Value, Vec<Arc<Task>>)> = Vec::new();
    for dep in deps {
        let Some(value) = dep.attributes.get(attribute).filter(|v| v.is_truthy()) else {
            continue;
        };
        if matches!(value, Value::List(_) | Value::Map(_)) {
            return Err(Error::transform(format!(
                "cannot group by attribute `{attribute}`: task `{}` has an unhashable {} value",
                dep.label,
                value.type_name()
            ))
            .at_field("from-deps.group-by.attribute"));
        }
        match groups.iter_mut().find(|(key, _)| *key == value) {
            Some((_, members)) => members.push(Arc::clone(dep)),
            None => groups.push((value, vec![Arc::clone(dep)])),
        }
    }
    Ok(groups.into_iter().map(|(_, members)| members).collect())
}

fn task_for_group(
    config: &TransformConfig<'_>,
    task: &TaskDesc,
    options: &FromDeps,
    group: &[Arc<Task>],
) -> Result<TaskDesc> {
    let group_kinds: Vec<&str> = {
        let mut kinds: Vec<&str> = group.iter().map(|t| t.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    };
    if options.unique_kinds && group_kinds.len() < group.len() {
        let labels: Vec<&str> = group.iter().map(|t| t.label.as_str()).collect();
        return Err(Error::transform(format!(
            "the from_deps transforms only allow a single task per kind in a group \
             (set `unique-kinds: false` to allow more); this group holds {}",
            labels.join(", ")
        ))
        .at_field("from-deps.unique-kinds"));
    }

    let mut new_task = task.clone();
    let dependencies = map_entry(&mut new_task.fields, "dependencies");
    for dep in group {
        let name = if options.unique_kinds {
            &dep.kind
        } else {
            &dep.label
        };
        dependencies.insert(name.clone(), Value::from(dep.label.as_str()));
    }

    let primary_kind = options
        .kinds
        .iter()
        .find(|k| group_kinds.contains(&k.as_str()))
        .ok_or_else(|| {
            Error::transform(
                "could not detect the primary kind of a from-deps group (is it empty?)",
            )
        })?;
    let primary = group
        .iter()
        .find(|d| &d.kind == primary_kind)
        .expect("the primary kind is in the group");

    let attributes = map_entry(&mut new_task.fields, "attributes");
    attributes.insert(
        "primary-kind-dependency",
        Value::from(primary_kind.as_str()),
    );
    attributes.insert(
        "primary-dependency-label",
        Value::from(primary.label.as_str()),
    );

    if let Some(set_name) = &options.set_name {
        let name = match set_name.as_str() {
            "strip-kind" => strip_kind(&primary.label, primary_kind),
            "retain-kind" => primary.label.clone(),
            other => {
                return Err(Error::transform(format!(
                    "unknown set-name function `{other}`"
                )));
            }
        };
        new_task.fields.insert("name", Value::from(name));
    }

    if options.copy_attributes {
        let own = match new_task.fields.shift_remove("attributes") {
            Some(Value::Map(own)) => own,
            _ => Map::default(),
        };
        let mut attributes = primary.attributes.clone();
        attributes.extend(own);
        new_task.fields.insert("attributes", Value::Map(attributes));
    }

    if !options.fetches.is_empty() {
        add_fetches(config, &mut new_task, &options.fetches)?;
    }
    Ok(new_task)
}

/// `label[len(kind) + 1:]` when the label starts with the kind (not
/// necessarily followed by a dash), else the label. Python slices by code
/// point.
fn strip_kind(label: &str, kind: &str) -> String {
    if label.starts_with(kind) {
        label.chars().skip(kind.chars().count() + 1).collect()
    } else {
        label.to_owned()
    }
}

/// Adds a `fetches` entry per dependency whose kind has fetches listed.
fn add_fetches(config: &TransformConfig<'_>, task: &mut TaskDesc, fetches: &Map) -> Result<()> {
    let dependency_labels: Vec<String> = task
        .fields
        .get("dependencies")
        .and_then(Value::as_map)
        .map(|d| {
            d.values()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();

    let mut added = Vec::new();
    for (label, dep) in config.kind_dependencies_tasks()? {
        if !dependency_labels.contains(label) {
            continue;
        }
        let Some(Value::List(entries)) = fetches.get(&dep.kind) else {
            continue;
        };
        let mut formatted = Vec::with_capacity(entries.len());
        for entry in entries {
            let Value::Map(entry) = entry else { continue };
            let mut entry = entry.clone();
            for key in ["artifact", "dest"] {
                if let Some(Value::Str(template)) = entry.get(key) {
                    let value = python::format_with(template, &dep.attributes).map_err(|e| {
                        Error::transform(format!(
                            "the fetch `{key}` for dependency `{label}` uses its attributes: {e}"
                        ))
                        .at_field(&format!("from-deps.fetches.{}", dep.kind))
                    })?;
                    entry.insert(key, Value::from(value));
                }
            }
            formatted.push(Value::Map(entry));
        }
        added.push((label.clone(), Value::List(formatted)));
    }

    let task_fetches = map_entry(&mut task.fields, "fetches");
    task_fetches.extend(added);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::template::test_kind::{Setup, run, upstream};

    fn labels(groups: &[Vec<Arc<Task>>]) -> Vec<Vec<&str>> {
        groups
            .iter()
            .map(|g| g.iter().map(|t| t.label.as_str()).collect())
            .collect()
    }

    #[test]
    fn attribute_groups_merge_values_python_deems_equal() {
        // In a Python dict, 1, True and 1.0 are the same key; "1" is not.
        let deps: Vec<Arc<Task>> = [
            ("a", Value::Int(1)),
            ("b", Value::Bool(true)),
            ("c", Value::Str("1".into())),
            ("d", Value::Float(1.0)),
            ("e", Value::Int(0)),
        ]
        .into_iter()
        .map(|(label, weight)| Arc::new(upstream("build", label, map! {"weight" => weight})))
        .collect();
        let groups = group_by_attribute(&deps, "weight").unwrap();
        assert_eq!(labels(&groups), [vec!["a", "b", "d"], vec!["c"]]);
    }

    #[test]
    fn unhashable_attribute_values_cannot_group() {
        let deps = vec![Arc::new(upstream(
            "build",
            "build-a",
            map! {"tags" => Value::str_list(["x"])},
        ))];
        let message = group_by_attribute(&deps, "tags").unwrap_err().to_string();
        assert!(
            message.contains("build-a") && message.contains("unhashable list"),
            "{message}"
        );
    }

    #[test]
    fn single_and_all_take_no_argument() {
        let deps = vec![Arc::new(upstream("build", "build-a", Map::default()))];
        for name in ["single", "all"] {
            let spec = Value::Map(map! {name => "x"});
            let message = group(&deps, Some(&spec)).unwrap_err().to_string();
            assert!(message.contains("takes no argument"), "{message}");
        }
        let all = Value::from("all");
        assert_eq!(
            labels(&group(&deps, Some(&all)).unwrap()),
            [vec!["build-a"]]
        );
    }

    #[test]
    fn strip_kind_slices_characters_not_bytes() {
        // Python: "buildé-x"[len("build") + 1:] == "-x".
        assert_eq!(strip_kind("buildé-x", "build"), "-x");
        assert_eq!(strip_kind("build-linux", "build"), "linux");
        assert_eq!(strip_kind("builder-x", "build"), "r-x");
        assert_eq!(strip_kind("build", "build"), "");
        assert_eq!(strip_kind("lint-x", "build"), "lint-x");
    }

    #[test]
    fn two_tasks_of_one_kind_in_a_group_name_the_group() {
        let setup = Setup {
            config: map! {"kind-dependencies" => Value::str_list(["build"])},
            dependencies: vec![
                upstream("build", "build-a", Map::default()),
                upstream("build", "build-b", Map::default()),
            ],
            ..Setup::default()
        };
        let task = map! {"name" => "all", "from-deps" => map! {"group-by" => "all"}};
        let message = run(&setup, transforms(), vec![task])
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("in kind `demo`, task `all`, field `from-deps.unique-kinds`:")
                && message.contains("build-a, build-b"),
            "{message}"
        );
    }
}
