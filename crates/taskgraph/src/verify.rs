//! Graph-wide checks. They never change a graph; they only refuse bad ones.
//!
//! On the full task graph, as the reference does:
//! - treeherder (platform, collection, group, symbol) is unique;
//! - `index.<trust-domain>.v2` routes are unique;
//! - `notify.*` routes use a known filter;
//! - index routes contain no `/`;
//! - no task depends on a task of a higher (worse) treeherder tier;
//! - toolchain aliases are unique.

use std::borrow::Cow;

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

    // The checks are independent: they run two by two on the pool, and the
    // first failure in the reference's order is the one reported.
    let ((symbols, routes), (per_task, (tiers, aliases))) = rayon::join(
        || {
            rayon::join(
                || unique_treeherder_symbols(&tasks),
                || unique_v2_routes(&tasks, graph_config.trust_domain()),
            )
        },
        || {
            let per_task = || {
                tasks.iter().try_for_each(|task| {
                    notification_filters(task)?;
                    index_routes_have_no_slash(task)
                })
            };
            rayon::join(per_task, || {
                (dependency_tiers(graph), unique_toolchain_aliases(&tasks))
            })
        },
    );
    symbols?;
    routes?;
    per_task?;
    tiers?;
    aliases
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

/// Platform, collection, group and symbol: what must be unique.
type SymbolKey<'a> = (Cow<'a, str>, &'a str, Cow<'a, str>, Cow<'a, str>);

fn unique_treeherder_symbols(tasks: &[&Task]) -> Result<()> {
    let mut seen: HashMap<SymbolKey<'_>, &str> = HashMap::new();
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
        let text = python_str;
        let platform = text(treeherder.get("machine").and_then(|m| m.get("platform")));
        let group = text(treeherder.get("groupSymbol"));
        let symbol = text(treeherder.get("symbol"));
        let key = (platform, *collection, group, symbol);
        if let Some(other) = seen.get(&key) {
            let (platform, _, group, symbol) = &key;
            let joined = if group == "?" || group == "None" {
                symbol.to_string()
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

/// Checks of the optimized graph: every `always-optimized` task must have
/// been optimized away.
pub fn optimized_task_graph(graph: &TaskGraph) -> Result<()> {
    for task in graph.tasks.values() {
        if task.task.get("workerType").and_then(Value::as_str) == Some("always-optimized") {
            return Err(failure(format!(
                "Could not optimize the task '{}'",
                task.label
            )));
        }
    }
    Ok(())
}

/// Python's `str()` of an optional value; strings are borrowed.
fn python_str(value: Option<&Value>) -> Cow<'_, str> {
    match value {
        Some(Value::Str(s)) => Cow::Borrowed(s.as_str()),
        Some(other) => Cow::Owned(other.to_string()),
        None => Cow::Borrowed("None"),
    }
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
    // Each task's tier once, None for the tasks whose tier does not count
    // as a dependency: every edge then costs one lookup.
    let tiers: HashMap<&str, Option<i64>> = graph
        .tasks
        .values()
        .map(|task| {
            let exempt = task.task.get("workerType").and_then(Value::as_str)
                == Some("always-optimized")
                || task.kind.contains("dummy");
            // An unknown tier sorts after every known one.
            let tier = (!exempt).then(|| tier(task).unwrap_or(i64::MAX));
            (task.label.as_str(), tier)
        })
        .collect();
    for task in graph.tasks.values() {
        let own = tier(task).unwrap_or(i64::MAX);
        for dep_label in task.dependencies.values() {
            let Some(&Some(theirs)) = tiers.get(dep_label.as_str()) else {
                continue;
            };
            let dep = &graph.tasks[dep_label];
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use indexmap::IndexMap;

    use super::*;
    use crate::graph::Graph;
    use crate::yaml;

    /// A task whose definition is the YAML `task`.
    fn task(label: &str, kind: &str, dependencies: &[(&str, &str)], task: &str) -> Task {
        let Value::Map(definition) = yaml::load_str(task, None).unwrap() else {
            panic!("the task definition is a mapping");
        };
        Task {
            kind: kind.into(),
            label: label.into(),
            description: String::new(),
            attributes: crate::value::Map::default(),
            task: definition,
            optimization: Value::Null,
            dependencies: dependencies
                .iter()
                .map(|(name, dep)| ((*name).to_owned(), (*dep).to_owned()))
                .collect(),
            soft_dependencies: vec![],
            if_dependencies: vec![],
            task_id: None,
            digest: None,
        }
    }

    fn graph(tasks: Vec<Task>) -> TaskGraph {
        let edges: Vec<(String, String, String)> = tasks
            .iter()
            .flat_map(|t| {
                t.dependencies
                    .iter()
                    .map(|(name, dep)| (t.label.clone(), dep.clone(), name.clone()))
            })
            .collect();
        let graph = Graph::new(tasks.iter().map(|t| t.label.as_str()), edges).unwrap();
        let tasks: IndexMap<String, Arc<Task>> = tasks
            .into_iter()
            .map(|t| (t.label.clone(), Arc::new(t)))
            .collect();
        TaskGraph { tasks, graph }
    }

    fn tier(n: i64) -> String {
        format!(
            "{{extra: {{treeherder: {{tier: {n}, symbol: S{n}, collection: {{opt: true}}, machine: {{platform: linux}}}}}}}}"
        )
    }

    #[test]
    fn a_task_cannot_depend_on_a_lower_tier() {
        let ok = graph(vec![
            task("low", "build", &[], &tier(1)),
            task("high", "test", &[("low", "low")], &tier(2)),
        ]);
        assert!(dependency_tiers(&ok).is_ok());

        let bad = graph(vec![
            task("loose", "build", &[], &tier(3)),
            task("strict", "test", &[("loose", "loose")], &tier(1)),
        ]);
        let err = dependency_tiers(&bad).unwrap_err().to_string();
        assert!(
            err.contains("strict (tier 1) cannot depend on loose (tier 3)"),
            "{err}"
        );

        // Always-optimized and dummy tasks do not count.
        let exempt = graph(vec![
            task("dummy-all", "dummy", &[], &tier(3)),
            task("strict", "test", &[("d", "dummy-all")], &tier(1)),
        ]);
        assert!(dependency_tiers(&exempt).is_ok());
    }

    #[test]
    fn treeherder_symbols_must_be_unique_per_platform() {
        let same = graph(vec![
            task("a", "build", &[], &tier(1)),
            task("b", "build", &[], &tier(1)),
        ]);
        let tasks: Vec<&Task> = same.tasks.values().map(|t| t.as_ref()).collect();
        let err = unique_treeherder_symbols(&tasks).unwrap_err().to_string();
        assert!(
            err.contains("Duplicate treeherder platform and symbol"),
            "{err}"
        );
        assert!(err.contains("linux/opt S1"), "{err}");

        let different = graph(vec![
            task("a", "build", &[], &tier(1)),
            task("b", "build", &[], &tier(2)),
        ]);
        let tasks: Vec<&Task> = different.tasks.values().map(|t| t.as_ref()).collect();
        assert!(unique_treeherder_symbols(&tasks).is_ok());
    }

    #[test]
    fn of_several_failures_the_first_check_in_order_is_reported() {
        // Duplicate symbols (checked first) and a tier inversion (checked
        // later): whatever finishes first on the pool, the symbols win.
        let config = crate::transform::testing::demo_graph_config().unwrap();
        let both = graph(vec![
            task("loose", "build", &[], &tier(3)),
            task("loose-twin", "build", &[], &tier(3)),
            task("strict", "test", &[("loose", "loose")], &tier(1)),
        ]);
        let err = full_task_graph(&both, &config).unwrap_err().to_string();
        assert!(
            err.contains("Duplicate treeherder platform and symbol"),
            "{err}"
        );

        let tiers_only = graph(vec![
            task("loose", "build", &[], &tier(3)),
            task("strict", "test", &[("loose", "loose")], &tier(1)),
        ]);
        let err = full_task_graph(&tiers_only, &config)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot depend on loose (tier 3)"), "{err}");
    }
}
