//! Morphs: changes to the optimized graph that do not change what it
//! means, as taskgraph 15.1.3 makes them.
//!
//! - A task with more than 64 routes (the queue's limit) gets an *index
//!   task* that depends on it and inserts its `index.*` routes itself.
//! - With the `code-review` parameter, tasks with the `code-review`
//!   attribute get a `code-review` task that depends on them all.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use indexmap::IndexMap;
use regex::Regex;

use crate::config::GraphConfig;
use crate::error::{Error, Result};
use crate::generator::TaskGraph;
use crate::graph::Graph;
use crate::optimize::ids::TaskIds;
use crate::params::Parameters;
use crate::python::py_str;
use crate::task::Task;
use crate::util::workers;
use crate::value::{Map, Value};

/// The most routes a task may have.
pub const MAX_ROUTES: usize = 64;

/// Applies every morph.
pub fn morph(
    graph: TaskGraph,
    label_to_taskid: &mut BTreeMap<String, String>,
    params: &Parameters,
    graph_config: &GraphConfig,
    task_ids: &TaskIds,
) -> Result<TaskGraph> {
    let graph = add_index_tasks(graph, label_to_taskid, params, graph_config, task_ids)?;
    add_code_review_task(graph, label_to_taskid, params, task_ids)
}

/// Adds `added` (with ids) to `graph`, with edges for their dependencies.
fn amend(
    graph: TaskGraph,
    label_to_taskid: &mut BTreeMap<String, String>,
    added: Vec<Task>,
) -> Result<TaskGraph> {
    if added.is_empty() {
        return Ok(graph);
    }
    let mut tasks = graph.tasks;
    let mut edges: BTreeSet<(String, String, String)> = graph
        .graph
        .edges()
        .map(|(l, r, n)| (l.to_owned(), r.to_owned(), n.to_owned()))
        .collect();
    for task in added {
        let task_id = task.task_id.clone().expect("morph tasks have ids");
        if label_to_taskid.contains_key(&task.label) {
            return Err(Error::transform(format!(
                "a morph adds the task `{}`, and the graph already has one",
                task.label
            )));
        }
        label_to_taskid.insert(task.label.clone(), task_id.clone());
        for (name, dep) in &task.dependencies {
            edges.insert((task_id.clone(), dep.clone(), name.clone()));
        }
        tasks.insert(task_id, Arc::new(task));
    }
    let graph = Graph::new(tasks.keys().map(String::as_str), edges)?;
    Ok(TaskGraph { tasks, graph })
}

fn add_index_tasks(
    graph: TaskGraph,
    label_to_taskid: &mut BTreeMap<String, String>,
    params: &Parameters,
    graph_config: &GraphConfig,
    task_ids: &TaskIds,
) -> Result<TaskGraph> {
    let mut graph = graph;
    let mut added = Vec::new();
    let over: Vec<String> = graph
        .tasks
        .iter()
        .filter(|(_, task)| routes(task).len() > MAX_ROUTES)
        .map(|(id, _)| id.clone())
        .collect();
    for task_id in over {
        let parent = Arc::make_mut(&mut graph.tasks[&task_id]);
        added.push(index_task(parent, params, graph_config, task_ids)?);
    }
    amend(graph, label_to_taskid, added)
}

fn routes(task: &Task) -> Vec<String> {
    task.task
        .get("routes")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
        .map(py_str)
        .collect()
}

/// Moves `parent`'s index routes to a new task that inserts them.
fn index_task(
    parent: &mut Task,
    params: &Parameters,
    graph_config: &GraphConfig,
    task_ids: &TaskIds,
) -> Result<Task> {
    let all_routes = routes(parent);
    let index_paths: Vec<String> = all_routes
        .iter()
        .filter_map(|r| r.strip_prefix("index."))
        .map(str::to_owned)
        .collect();
    let kept: Vec<Value> = all_routes
        .iter()
        .filter(|r| !r.starts_with("index."))
        .map(|r| Value::from(r.as_str()))
        .collect();
    parent.task.insert("routes", Value::List(kept));

    let parent_id = parent.task_id.clone().unwrap_or_default();
    let label = format!("index-task-{}", parent.label);
    let (provisioner, worker_type) =
        workers::provisioner_and_worker_type(graph_config, "misc", params.level())?;
    let metadata = |key: &str| {
        parent
            .task
            .get("metadata")
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or_default()
    };
    let deadline = parent.task.get("deadline").cloned().unwrap_or_default();

    let mut definition = Map::default();
    definition.insert("provisionerId", Value::from(provisioner));
    definition.insert("workerType", Value::from(worker_type));
    definition.insert(
        "dependencies",
        Value::List(vec![Value::from(parent_id.as_str())]),
    );
    definition.insert("created", relative("0 seconds"));
    definition.insert("deadline", deadline.clone());
    definition.insert("expires", deadline);
    definition.insert(
        "metadata",
        Value::Map(Map::from_iter([
            ("name", Value::from(label.as_str())),
            (
                "description",
                Value::from(format!(
                    "index-task for {}",
                    py_str(&metadata("description"))
                )),
            ),
            ("owner", metadata("owner")),
            ("source", metadata("source")),
        ])),
    );
    definition.insert(
        "scopes",
        Value::str_list(insert_scopes(&index_paths, graph_config)?),
    );
    let mut command = vec!["insert-indexes.js".to_owned()];
    command.extend(index_paths.iter().cloned());
    let rank = parent
        .task
        .get("extra")
        .and_then(|e| e.get("index"))
        .and_then(|i| i.get("rank"))
        .cloned()
        .unwrap_or(Value::Int(0));
    definition.insert(
        "payload",
        Value::Map(Map::from_iter([
            (
                "image",
                Value::Map(Map::from_iter([
                    ("path", Value::from("public/image.tar.zst")),
                    (
                        "namespace",
                        Value::from("taskgraph.cache.level-3.docker-images.v2.index-task.latest"),
                    ),
                    ("type", Value::from("indexed-image")),
                ])),
            ),
            (
                "features",
                Value::Map(Map::from_iter([("taskclusterProxy", Value::Bool(true))])),
            ),
            ("maxRunTime", Value::Int(600)),
            ("command", Value::str_list(command)),
            (
                "env",
                Value::Map(Map::from_iter([
                    ("TARGET_TASKID", Value::from(parent_id.as_str())),
                    ("INDEX_RANK", rank),
                ])),
            ),
        ])),
    );

    Ok(morph_task(
        label,
        definition,
        IndexMap::from_iter([("parent".to_owned(), parent_id)]),
        task_ids,
    ))
}

/// `index:insert-task:` scopes for the paths, a `*` standing for what
/// varies under the trust domain's v2 namespace or a configured regex.
fn insert_scopes(paths: &[String], graph_config: &GraphConfig) -> Result<Vec<String>> {
    let domain = Regex::new(&format!(
        r"\A({}\.v2\.[^.]*\.).*",
        regex::escape(graph_config.trust_domain())
    ))
    .expect("an escaped pattern is valid");
    // Each pattern with the text to name it by in errors.
    let mut patterns = vec![(domain, String::new())];
    let configured = graph_config
        .taskgraph()
        .and_then(|t| t.get("index-path-regexes"))
        .and_then(Value::as_list);
    for pattern in configured.into_iter().flatten() {
        let text = py_str(pattern);
        let translated = format!(r"\A(?:{text})");
        let regex = Regex::new(&translated).map_err(|e| {
            Error::config(format!(
                "`taskgraph.index-path-regexes`: `{text}` is not a regex: {e}"
            ))
            .at_field("taskgraph.index-path-regexes")
        })?;
        patterns.push((regex, text));
    }

    let mut scopes = BTreeSet::new();
    for path in paths {
        let mut scoped = path.clone();
        for (pattern, text) in &patterns {
            let Some(captures) = pattern.captures(path) else {
                continue;
            };
            // The first group is the part of the path the scope keeps; a
            // pattern without one cannot say (the reference fails here
            // with an IndexError).
            let Some(kept) = captures.get(1) else {
                return Err(Error::config(format!(
                    "`taskgraph.index-path-regexes`: `{text}` matches the index path `{path}` \
                     but has no group to keep: put the part of the path the scope covers \
                     in parentheses"
                ))
                .at_field("taskgraph.index-path-regexes"));
            };
            scoped = format!("{}*", kept.as_str());
            break;
        }
        scopes.insert(format!("index:insert-task:{scoped}"));
    }
    Ok(scopes.into_iter().collect())
}

fn add_code_review_task(
    graph: TaskGraph,
    label_to_taskid: &mut BTreeMap<String, String>,
    params: &Parameters,
    task_ids: &TaskIds,
) -> Result<TaskGraph> {
    let Some(review) = params.get("code-review").filter(|r| r.is_truthy()) else {
        return Ok(graph);
    };
    let reviewed: IndexMap<String, String> = graph
        .tasks
        .values()
        .filter(|t| {
            t.attributes
                .get("code-review")
                .is_some_and(Value::is_truthy)
        })
        .map(|t| (t.label.clone(), t.task_id.clone().unwrap_or_default()))
        .collect();
    if reviewed.is_empty() {
        return Ok(graph);
    }

    let mut ids: Vec<&String> = reviewed.values().collect();
    ids.sort();
    let param = |key: &str| params.get(key).cloned().unwrap_or_default();
    let target = review
        .get("phabricator-build-target")
        .cloned()
        .unwrap_or_default();
    let mut definition = Map::default();
    definition.insert("provisionerId", Value::from("built-in"));
    definition.insert("workerType", Value::from("succeed"));
    definition.insert(
        "dependencies",
        Value::List(ids.iter().map(|id| Value::from(id.as_str())).collect()),
    );
    definition.insert("requires", Value::from("all-resolved"));
    definition.insert("created", relative("0 seconds"));
    definition.insert("deadline", relative("1 day"));
    definition.insert("expires", relative("1 day"));
    definition.insert(
        "metadata",
        Value::Map(Map::from_iter([
            ("name", Value::from("code-review")),
            (
                "description",
                Value::from("List all issues found in static analysis and linting tasks"),
            ),
            ("owner", param("owner")),
            ("source", Value::from(morph_source_url())),
        ])),
    );
    definition.insert("scopes", Value::List(Vec::new()));
    definition.insert("payload", Value::Map(Map::default()));
    definition.insert(
        "routes",
        Value::str_list(["project.relman.codereview.v1.try_ending"]),
    );
    definition.insert(
        "extra",
        Value::Map(Map::from_iter([(
            "code-review",
            Value::Map(Map::from_iter([
                ("phabricator-build-target", target),
                ("repository", param("head_repository")),
                ("revision", param("head_rev")),
            ])),
        )])),
    );
    let task = morph_task("code-review".to_owned(), definition, reviewed, task_ids);
    amend(graph, label_to_taskid, vec![task])
}

/// Where the reference says morph tasks come from: its own source file,
/// at the revision the decision task checked out.
fn morph_source_url() -> String {
    let repository = std::env::var("TASKGRAPH_HEAD_REPOSITORY")
        .unwrap_or_else(|_| "https://github.com/taskcluster/taskgraph".to_owned());
    let revision = std::env::var("TASKGRAPH_HEAD_REV").unwrap_or_else(|_| "default".to_owned());
    format!("{repository}/raw-file/{revision}/src/taskgraph/morph.py")
}

fn relative(text: &str) -> Value {
    Value::Map(Map::from_iter([("relative-datestamp", Value::from(text))]))
}

fn morph_task(
    label: String,
    definition: Map,
    dependencies: IndexMap<String, String>,
    task_ids: &TaskIds,
) -> Task {
    let task_id = task_ids.next_id(&label);
    Task {
        task: definition,
        dependencies,
        task_id: Some(task_id),
        ..Task::new("misc", label)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::yaml;

    fn config(regexes: &str) -> GraphConfig {
        let text = format!(
            "trust-domain: demo\ntask-priority: low\nworkers: {{aliases: {{}}}}\n\
             taskgraph:\n  repositories: {{demo: {{name: Demo}}}}\n  index-path-regexes: {regexes}\n"
        );
        let value = yaml::load_str(&text, None).unwrap();
        GraphConfig::from_value(value, Path::new("/x/taskcluster"), "/x".into()).unwrap()
    }

    fn paths(paths: &[&str]) -> Vec<String> {
        paths.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn scopes_are_summarized_by_the_domain_and_the_configured_patterns() {
        let config = config(r"['(demo\.cache\.level-\d+\.[^.]+\.)']");
        let scopes = insert_scopes(
            &paths(&[
                "demo.v2.widget.build-1",
                "demo.v2.widget.build-2",
                "demo.cache.level-3.toolchain.hash-1",
                "demo.cache.level-3.toolchain.hash-2",
                "other.path.kept.whole",
            ]),
            &config,
        )
        .unwrap();
        assert_eq!(
            scopes,
            [
                "index:insert-task:demo.cache.level-3.toolchain.*",
                "index:insert-task:demo.v2.widget.*",
                "index:insert-task:other.path.kept.whole",
            ]
        );
    }

    #[test]
    fn a_matching_pattern_without_a_group_is_a_clear_error() {
        let config = config(r"['demo\.cache\.']");
        let err = insert_scopes(&paths(&["demo.cache.level-3.x"]), &config).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(r"`demo\.cache\.` matches the index path `demo.cache.level-3.x`"),
            "{message}"
        );
        assert!(message.contains("has no group"), "{message}");

        // A pattern that never matches is harmless, as in the reference.
        assert!(insert_scopes(&paths(&["elsewhere.x"]), &config).is_ok());
    }
}
