//! Graph-wide checks. They never change a graph; they only refuse bad ones.
//!
//! On the full task graph, as the reference does:
//! - treeherder (platform, collection, group, symbol) is unique;
//! - `index.<trust-domain>.v2` routes are unique;
//! - `notify.*` routes use a known filter;
//! - index routes contain no `/`;
//! - no task depends on a task of a higher (worse) treeherder tier;
//! - toolchain aliases are unique.

use foldhash::{HashMap, HashMapExt};

use crate::config::GraphConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::generator::TaskGraph;
use crate::task::Task;
use crate::value::Value;

const NOTIFY_FILTERS: &[&str] = &[
    "on-any",
    "on-completed",
    "on-defined",
    "on-failed",
    "on-exception",
    "on-pending",
    "on-resolved",
    "on-running",
    "on-transition",
];

/// Runs every full-task-graph check.
pub fn full_task_graph(graph: &TaskGraph, graph_config: &GraphConfig) -> Result<()> {
    let order = graph.graph.visit_postorder()?;
    let tasks: Vec<&Task> = order
        .iter()
        .map(|label| graph.tasks[*label].as_ref())
        .collect();

    unique_treeherder_symbols(&tasks)?;
    unique_v2_routes(&tasks, graph_config.trust_domain())?;
    for task in &tasks {
        notification_filters(task)?;
        index_routes_have_no_slash(task)?;
    }
    dependency_tiers(graph)?;
    unique_toolchain_aliases(&tasks)
}

fn failure(message: String) -> Error {
    Error::new(ErrorKind::Verification(message))
}

fn routes(task: &Task) -> impl Iterator<Item = &str> {
    task.task
        .get("routes")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn unique_treeherder_symbols(tasks: &[&Task]) -> Result<()> {
    let mut seen: HashMap<(String, String, String, String), &str> = HashMap::new();
    for task in tasks {
        let Some(treeherder) = task.task.get("extra").and_then(|e| e.get("treeherder")) else {
            continue;
        };
        let collections: Vec<&str> = treeherder
            .get("collection")
            .and_then(Value::as_map)
            .map(|c| c.keys().collect())
            .unwrap_or_default();
        let [collection] = collections.as_slice() else {
            return Err(failure(format!(
                "Task {} can't be in multiple treeherder collections (the part of the platform after `/`): {:?}",
                task.label, collections
            )));
        };
        let text = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_else(|| "None".to_owned());
        let platform = text(treeherder.get("machine").and_then(|m| m.get("platform")));
        let group = text(treeherder.get("groupSymbol"));
        let symbol = text(treeherder.get("symbol"));
        let key = (
            platform.clone(),
            (*collection).to_owned(),
            group.clone(),
            symbol.clone(),
        );
        if let Some(other) = seen.get(&key) {
            let joined = if group == "?" || group == "None" {
                symbol
            } else {
                format!("{group}({symbol})")
            };
            return Err(failure(format!(
                "Duplicate treeherder platform and symbol in tasks `{}` and `{other}`: {platform}/{collection} {joined}",
                task.label
            )));
        }
        seen.insert(key, &task.label);
    }
    Ok(())
}

fn unique_v2_routes(tasks: &[&Task], trust_domain: &str) -> Result<()> {
    let prefix = format!("index.{trust_domain}.v2");
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for task in tasks {
        for route in routes(task).filter(|r| r.starts_with(&prefix)) {
            if let Some(other) = seen.insert(route, &task.label) {
                return Err(failure(format!(
                    "conflict between {}:{other} for route: {route}",
                    task.label
                )));
            }
        }
    }
    Ok(())
}

fn notification_filters(task: &Task) -> Result<()> {
    for route in routes(task).filter(|r| r.starts_with("notify.")) {
        let filter = route.rsplit('.').next().unwrap_or_default();
        if !NOTIFY_FILTERS.contains(&filter) {
            return Err(failure(format!(
                "{} has invalid notification filter ({filter})",
                task.label
            )));
        }
    }
    Ok(())
}

fn index_routes_have_no_slash(task: &Task) -> Result<()> {
    for route in routes(task) {
        if route.starts_with("index.") && route.contains('/') {
            return Err(failure(format!(
                "{} has invalid route with forward slash: {route}",
                task.label
            )));
        }
    }
    Ok(())
}

fn tier(task: &Task) -> Option<i64> {
    task.task
        .get("extra")
        .and_then(|e| e.get("treeherder"))
        .and_then(|t| t.get("tier"))
        .and_then(Value::as_int)
}

fn dependency_tiers(graph: &TaskGraph) -> Result<()> {
    let printable =
        |tier: Option<i64>| tier.map_or_else(|| "unknown".to_owned(), |t| t.to_string());
    for task in graph.tasks.values() {
        // An unknown tier sorts after every known one.
        let own = tier(task).unwrap_or(i64::MAX);
        for dep_label in task.dependencies.values() {
            let Some(dep) = graph.tasks.get(dep_label) else {
                continue;
            };
            if dep.task.get("workerType").and_then(Value::as_str) == Some("always-optimized")
                || dep.kind.contains("dummy")
            {
                continue;
            }
            let theirs = tier(dep).unwrap_or(i64::MAX);
            if own < theirs {
                return Err(failure(format!(
                    "{} (tier {}) cannot depend on {dep_label} (tier {})",
                    task.label,
                    printable(tier(task)),
                    printable(tier(dep))
                )));
            }
        }
    }
    Ok(())
}

fn unique_toolchain_aliases(tasks: &[&Task]) -> Result<()> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for task in tasks {
        let aliases: Vec<String> = match task.attributes.get("toolchain-alias") {
            Some(Value::Str(s)) => vec![s.clone()],
            Some(Value::List(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        for alias in aliases {
            if let Some(other) = seen.get(&alias) {
                return Err(failure(format!(
                    "Duplicate toolchain-alias in tasks `{}`and `{other}`: {alias}",
                    task.label
                )));
            }
            seen.insert(alias, &task.label);
        }
    }
    Ok(())
}
