//! Choosing target tasks: the built-in target-task methods and filters.
//!
//! The parameters' `filters` run in order over the task set, each keeping
//! some labels. The usual (and default) filter is `target_tasks_method`,
//! which hands the choice to the method the `target_tasks_method`
//! parameter names. Built-in methods:
//!
//! - `default`: tasks whose `run_on_projects`, `run_on_tasks_for` and
//!   `run_on_git_branches` attributes admit this push, that are not cron
//!   tasks and whose shipping phase is none or `build`;
//! - `codereview`: the `default` tasks with a `code-review` attribute;
//! - `nothing`: no task.

use std::sync::Arc;

use crate::error::Result;
use crate::keyed_by::python_re_match;
use crate::params::Parameters;
use crate::registry::{Registry, TargetContext};
use crate::task::Task;
use crate::value::Value;

/// Registers the built-in methods and filters.
pub fn register(registry: &mut Registry) {
    registry.add_target_method("default", Arc::new(|ctx| select(ctx, |_| true)));
    registry.add_target_method(
        "codereview",
        Arc::new(|ctx| {
            select(ctx, |task| {
                task.attributes
                    .get("code-review")
                    .is_some_and(Value::is_truthy)
            })
        }),
    );
    registry.add_target_method("nothing", Arc::new(|_| Ok(Vec::new())));
    registry.add_filter("target_tasks_method", Arc::new(filter_target_tasks_method));
}

fn select(ctx: &TargetContext<'_>, extra: impl Fn(&Task) -> bool) -> Result<Vec<String>> {
    let mut labels = Vec::new();
    for (label, task) in ctx.tasks {
        if standard_filter(task, ctx.params)? && extra(task) {
            labels.push(label.clone());
        }
    }
    Ok(labels)
}

/// Hands the choice to the method named by `target_tasks_method`.
fn filter_target_tasks_method(ctx: &TargetContext<'_>) -> Result<Vec<String>> {
    let name = ctx
        .params
        .get("target_tasks_method")
        .and_then(Value::as_str)
        .unwrap_or("all_tasks");
    let method = ctx.registry.target_method(name)?;
    method(ctx)
}

/// The checks of the `default` method, all of which must pass.
pub fn standard_filter(task: &Task, params: &Parameters) -> Result<bool> {
    Ok(!is_cron(task)
        && shipping_phase_ok(task)
        && runs_on(task, "run_on_projects", &[], params.str_or_empty("project"))
        && runs_on(
            task,
            "run_on_tasks_for",
            &["all"],
            params.str_or_empty("tasks_for"),
        )
        && runs_on_git_branch(task, params)?)
}

fn is_cron(task: &Task) -> bool {
    task.attributes.get("cron").is_some_and(Value::is_truthy)
}

fn shipping_phase_ok(task: &Task) -> bool {
    match task.attributes.get("shipping_phase") {
        None | Some(Value::Null) => true,
        Some(phase) => phase.as_str() == Some("build"),
    }
}

/// Whether `value` is listed in the attribute (or the attribute has `all`).
fn runs_on(task: &Task, attribute: &str, default: &[&str], value: &str) -> bool {
    let listed = attribute_list(task, attribute, default);
    listed.iter().any(|v| v == "all" || v == value)
}

fn attribute_list(task: &Task, attribute: &str, default: &[&str]) -> Vec<String> {
    match task.attributes.get(attribute) {
        None => default.iter().map(|s| (*s).to_owned()).collect(),
        Some(Value::List(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        // A string is iterated character by character in the reference.
        Some(Value::Str(s)) => s.chars().map(String::from).collect(),
        Some(_) => Vec::new(),
    }
}

fn runs_on_git_branch(task: &Task, params: &Parameters) -> Result<bool> {
    if params.str_or_empty("repository_type") != "git"
        || params.str_or_empty("tasks_for") == "github-pull-request"
    {
        return Ok(true);
    }
    let patterns = attribute_list(task, "run_on_git_branches", &["all"]);
    if patterns.iter().any(|p| p == "all") {
        return Ok(true);
    }
    let head_ref = params.str_or_empty("head_ref");
    let branch = head_ref.strip_prefix("refs/heads/").unwrap_or(head_ref);
    for pattern in &patterns {
        if python_re_match(pattern, branch)? {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;
    use crate::map;
    use crate::value::Map;

    fn task(attributes: Map) -> Task {
        Task {
            kind: "k".into(),
            label: "l".into(),
            description: String::new(),
            attributes,
            task: Map::default(),
            optimization: Value::Null,
            dependencies: IndexMap::new(),
            soft_dependencies: vec![],
            if_dependencies: vec![],
            task_id: None,
            digest: None,
        }
    }

    fn params(extra: Map) -> Parameters {
        let mut values = map! {"project" => "demo", "tasks_for" => "github-push", "repository_type" => "git", "head_ref" => "refs/heads/main"};
        values.extend(extra);
        Parameters::from_map(values)
    }

    #[test]
    fn run_on_projects_defaults_to_nothing_and_accepts_all() {
        assert!(!standard_filter(&task(map! {}), &params(map! {})).unwrap());
        let all = map! {"run_on_projects" => Value::str_list(["all"])};
        assert!(standard_filter(&task(all), &params(map! {})).unwrap());
    }

    #[test]
    fn tasks_for_and_branches_filter() {
        let attrs = map! {"run_on_projects" => Value::str_list(["all"]), "run_on_tasks_for" => Value::str_list(["github-pull-request"])};
        assert!(!standard_filter(&task(attrs), &params(map! {})).unwrap());

        let attrs = map! {"run_on_projects" => Value::str_list(["all"]), "run_on_git_branches" => Value::str_list(["rel.*"])};
        assert!(!standard_filter(&task(attrs.clone()), &params(map! {})).unwrap());
        assert!(standard_filter(&task(attrs), &params(map! {"head_ref" => "release-1"})).unwrap());
    }

    #[test]
    fn cron_and_late_shipping_phases_are_filtered_out() {
        let attrs = map! {"run_on_projects" => Value::str_list(["all"]), "cron" => true};
        assert!(!standard_filter(&task(attrs), &params(map! {})).unwrap());
        let attrs =
            map! {"run_on_projects" => Value::str_list(["all"]), "shipping_phase" => "ship"};
        assert!(!standard_filter(&task(attrs), &params(map! {})).unwrap());
        let attrs =
            map! {"run_on_projects" => Value::str_list(["all"]), "shipping_phase" => "build"};
        assert!(standard_filter(&task(attrs), &params(map! {})).unwrap());
    }
}
