//! `taskgraph.transforms.run`: turn a `run:` section into a task
//! description.
//!
//! In order: `when.files-changed` becomes a skip-unless-changed
//! optimization; the worker implementation and OS come from the worker
//! alias; the label defaults to `<kind>-<name>`; `fetches` become
//! dependencies and the `MOZ_FETCHES` environment variable; and finally the
//! implementation registered for (`run.using`, worker implementation)
//! fills in the worker's command, caches and environment.

mod run_task;
#[cfg(test)]
pub(crate) mod testing;
mod toolchain;

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use crate::error::{Error, Result};
use crate::python::{self, py_str};
use crate::registry::{Registry, RunContext, RunUsing};
use crate::schema::{Extra, KeyRule, Schema, dict, exclusive, opt, req, str_list};
use crate::task::Task;
use crate::transform::{
    TaskDesc, TransformConfig, TransformRef, batch_reading_dependencies_when, list_entry,
    map_entry, per_task, validate, validate_map,
};
use crate::transforms::task::task_description_field;
use crate::util::ordered::{self, LeftBefore};
use crate::util::{path, workers};
use crate::value::{Map, Value};

pub use run_task::{add_cache, docker_worker_add_artifacts, generic_worker_add_artifacts};

/// One entry of a `fetches` list in its long form.
pub fn fetch_entry_schema() -> Schema {
    dict([
        req("artifact", Schema::Str),
        opt("dest", Schema::Str),
        opt("extract", Schema::Bool),
        opt("verify-hash", Schema::Bool),
    ])
    .into()
}

static RUN_DESCRIPTION_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let from_task = |name: &'static str| opt(name, task_description_field(name));
    dict([
        opt("name", Schema::Str),
        opt("label", Schema::Str),
        req("description", task_description_field("description")),
        from_task("priority"),
        from_task("attributes"),
        from_task("task-from"),
        from_task("dependencies"),
        from_task("soft-dependencies"),
        from_task("if-dependencies"),
        from_task("requires"),
        from_task("deadline-after"),
        from_task("expires-after"),
        from_task("routes"),
        from_task("scopes"),
        from_task("tags"),
        from_task("extra"),
        from_task("treeherder"),
        from_task("index"),
        from_task("run-on-projects"),
        from_task("run-on-tasks-for"),
        from_task("run-on-git-branches"),
        from_task("shipping-phase"),
        from_task("always-target"),
        exclusive(
            "optimization",
            "optimization",
            task_description_field("optimization"),
        ),
        from_task("needs-sccache"),
        exclusive(
            "when",
            "optimization",
            dict([opt("files-changed", str_list())]).into(),
        ),
        opt(
            "fetches",
            dict([])
                .key_rule(
                    KeyRule::AnyStr,
                    Schema::ListOf(vec![Schema::Str, fetch_entry_schema()]),
                )
                .into(),
        ),
        req(
            "run",
            dict([req("using", Schema::Str), opt("workdir", Schema::Str)])
                .key_rule(KeyRule::AnyStr, Schema::Anything)
                .into(),
        ),
        req("worker-type", task_description_field("worker-type")),
        opt("worker", Schema::AnyMap),
    ])
    .into()
});

/// The transforms of `taskgraph.transforms.run`.
pub fn transforms() -> Vec<TransformRef> {
    vec![
        validate("run:validate", &RUN_DESCRIPTION_SCHEMA, Extra::Deny),
        per_task(
            "run:rewrite_when_to_optimization",
            rewrite_when_to_optimization,
        ),
        per_task("run:set_implementation", set_implementation),
        per_task("run:set_label", set_label),
        batch_reading_dependencies_when("run:use_fetches", use_fetches, any_task_fetches),
        per_task("run:make_task_description", make_task_description),
    ]
}

/// Registers the built-in `run.using` implementations.
pub fn register(registry: &mut Registry) {
    let always_optimized_schema: Schema = dict([opt("using", Schema::literal("always-optimized"))])
        .deny_extra()
        .into();
    registry.add_run_using(
        "always-optimized",
        "always-optimized",
        RunUsing {
            schema: Some(Arc::new(always_optimized_schema)),
            defaults: Map::default(),
            build: |_, _| Ok(()),
        },
    );
    let index_search_schema: Schema = dict([
        req("using", Schema::literal("index-search")),
        req("index-search", str_list()),
    ])
    .deny_extra()
    .into();
    registry.add_run_using(
        "always-optimized",
        "index-search",
        RunUsing {
            schema: Some(Arc::new(index_search_schema)),
            defaults: Map::default(),
            build: index_search,
        },
    );
    run_task::register(registry);
    toolchain::register(registry);
}

fn rewrite_when_to_optimization(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let when = task.fields.shift_remove("when");
    let Some(Value::Map(when)) = when.filter(Value::is_truthy) else {
        return Ok(());
    };

    let mut files_changed = when
        .get("files-changed")
        .and_then(Value::as_list)
        .cloned()
        .unwrap_or_default();
    files_changed.push(Value::from(format!("{}/kind.yml", config.path)));
    if let Some(from) = task
        .get_str("task-from")
        .filter(|f| !f.is_empty() && *f != "kind.yml")
    {
        files_changed.push(Value::from(format!("{}/{from}", config.path)));
    }
    let optimization = Map::from_iter([("skip-unless-changed", Value::List(files_changed))]);
    task.fields.insert("optimization", Value::Map(optimization));
    Ok(())
}

fn set_implementation(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let worker_type = task.get_str("worker-type").unwrap_or_default().to_owned();
    let (implementation, os) = workers::implementation(config.graph_config, &worker_type)?;

    let tags = map_entry(&mut task.fields, "tags");
    if let Some(os) = &os {
        tags.insert("os", Value::from(os.as_str()));
    }
    if !implementation.is_empty() {
        tags.insert(
            "worker-implementation",
            Value::from(implementation.as_str()),
        );
    }
    let worker = map_entry(&mut task.fields, "worker");
    if worker.contains_key("implementation") {
        return Err(Error::transform(
            "`worker.implementation` comes from the worker alias; the run transforms must not be given one",
        )
        .at_field("worker.implementation"));
    }
    worker.insert("implementation", Value::from(implementation));
    if let Some(os) = os {
        worker.insert("os", Value::from(os));
    }
    Ok(())
}

/// Sets `label` to `<kind>-<name>` unless given, and drops a truthy name.
pub fn set_label(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    if !task.fields.contains_key("label") {
        let name = task
            .fields
            .get("name")
            .ok_or_else(|| Error::transform("task has neither a name nor a label"))?;
        let label = [config.kind, "-", &py_str(name)].concat();
        task.fields.insert("label", Value::from(label));
    }
    if task.fields.get("name").is_some_and(Value::is_truthy) {
        task.fields.shift_remove("name");
    }
    Ok(())
}

/// Orders tasks so that a task comes after the tasks of the same kind it
/// depends on (`order_tasks`). Equivalent to the reference's rotating
/// queue: each pass keeps queue order, and postponed tasks move behind it.
pub fn order_tasks(kind: &str, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
    let prefix = format!("{kind}-");
    let labels: BTreeSet<String> = tasks
        .iter()
        .filter_map(|t| t.get_str("label").map(str::to_owned))
        .collect();
    let mut emitted: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::with_capacity(tasks.len());
    let mut pending = tasks;

    while !pending.is_empty() {
        let mut postponed = Vec::new();
        let before = ordered.len();
        for task in pending {
            if same_kind_parents(&task, &prefix).all(|p| !labels.contains(p) || emitted.contains(p))
            {
                if let Some(label) = task.get_str("label") {
                    emitted.insert(label.to_owned());
                }
                ordered.push(task);
            } else {
                postponed.push(task);
            }
        }
        if ordered.len() == before {
            let stuck: Vec<String> = postponed.iter().map(TaskDesc::display_name).collect();
            return Err(Error::new(crate::error::ErrorKind::Cycle { labels: stuck }).in_kind(kind));
        }
        pending = postponed;
    }
    Ok(ordered)
}

fn same_kind_parents<'a>(task: &'a TaskDesc, prefix: &'a str) -> impl Iterator<Item = &'a str> {
    task.get("dependencies")
        .and_then(Value::as_map)
        .into_iter()
        .flat_map(|deps| deps.values())
        .filter_map(Value::as_str)
        .filter(move |label| label.starts_with(prefix))
}

/// `attributes.artifact_prefix` or `public/build`.
pub fn artifact_prefix(attributes: Option<&Map>) -> String {
    attributes
        .and_then(|a| a.get("artifact_prefix"))
        .filter(|p| p.is_truthy())
        .map_or_else(|| "public/build".to_owned(), py_str)
}

/// What fetch and toolchain tasks offer: artifact paths, aliases, extra
/// environment, by label.
#[derive(Default)]
struct FetchSources {
    artifact_names: Map,
    aliases: Map,
    extra_env: Map,
}

impl FetchSources {
    fn collect(config: &TransformConfig<'_>, tasks: &[TaskDesc]) -> Result<FetchSources> {
        let mut sources = FetchSources::default();
        if matches!(config.kind, "toolchain" | "fetch") {
            for task in tasks {
                let run = task.get("run").and_then(Value::as_map);
                let label = task.get_str("label").unwrap_or_default();
                if let Some(artifact) = run
                    .and_then(|r| r.get("toolchain-artifact"))
                    .filter(|v| v.is_truthy())
                {
                    sources
                        .artifact_names
                        .insert(label.to_owned(), artifact.clone());
                }
                let alias_key = format!("{}-alias", config.kind);
                if let Some(alias) = run
                    .and_then(|r| r.get(&alias_key))
                    .filter(|v| v.is_truthy())
                {
                    sources.aliases.insert(
                        format!("{}-{}", config.kind, py_str(alias)),
                        Value::from(label),
                    );
                }
            }
        }
        for task in config.kind_dependencies_tasks()?.values() {
            if matches!(task.kind.as_str(), "fetch" | "toolchain") {
                sources.add_dependency(task);
            }
        }
        Ok(sources)
    }

    fn add_dependency(&mut self, task: &Task) {
        let attribute = |suffix: &str| {
            task.attributes
                .get(&format!("{}-{suffix}", task.kind))
                .filter(|v| v.is_truthy())
        };
        if let Some(artifact) = attribute("artifact") {
            self.artifact_names
                .insert(task.label.clone(), artifact.clone());
        }
        if let Some(env) = attribute("env") {
            self.extra_env.insert(task.label.clone(), env.clone());
        }
        if let Some(alias) = attribute("alias") {
            self.aliases.insert(
                format!("{}-{}", task.kind, py_str(alias)),
                Value::from(task.label.as_str()),
            );
        }
    }
}

/// The reference walks the tasks in [`order_tasks`] order, each able to
/// fetch from the tasks of its kind up to itself. The artifact prefix of
/// every task is known before the walk, so here each task looks up what it
/// would have seen by its position, and the tasks are done in parallel.
fn use_fetches(config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
    // What fetch and toolchain tasks offer is read from the kinds this one
    // depends on, which a kind without fetches need not wait for.
    let sources = if any_task_fetches(&tasks) {
        FetchSources::collect(config, &tasks)?
    } else {
        FetchSources::default()
    };
    let tasks = order_tasks(config.kind, tasks)?;
    let mut prefixes = LeftBefore::default();
    for (position, task) in tasks.iter().enumerate() {
        let prefix = artifact_prefix(task.get("attributes").and_then(Value::as_map));
        prefixes.add(task.get_str("label").unwrap_or_default(), position, prefix);
    }

    let positioned: Vec<(usize, TaskDesc)> = tasks.into_iter().enumerate().collect();
    ordered::try_map_owned(positioned, |(position, mut task)| {
        let fetches = task.fields.shift_remove("fetches");
        if let Some(Value::Map(fetches)) = fetches.filter(Value::is_truthy) {
            let own_prefix = |label: &str| prefixes.at_or_before(position, label);
            add_fetches(config, &sources, &own_prefix, &mut task, &fetches)
                .map_err(|e| e.at(&task.location(config.kind)))?;
        }
        Ok(task)
    })
}

/// Whether a task has fetches to resolve.
fn any_task_fetches(tasks: &[TaskDesc]) -> bool {
    tasks
        .iter()
        .any(|task| task.get("fetches").is_some_and(Value::is_truthy))
}

fn add_fetches<'p>(
    config: &TransformConfig<'_>,
    sources: &FetchSources,
    prefixes: &dyn Fn(&str) -> Option<&'p String>,
    task: &mut TaskDesc,
    fetches: &Map,
) -> Result<()> {
    let name = task
        .get("name")
        .or_else(|| task.get("label"))
        .map(py_str)
        .unwrap_or_default();
    let mut entries: Vec<Value> = Vec::new();
    let mut env_additions = Map::default();

    let mut kinds: Vec<&str> = fetches.keys().collect();
    kinds.sort();
    for kind in kinds {
        let artifacts = sorted_artifacts(
            fetches[kind]
                .as_list()
                .map(Vec::as_slice)
                .unwrap_or_default(),
        );
        if matches!(kind, "fetch" | "toolchain") {
            for artifact in artifacts {
                let (entry, label) = fetch_task_entry(config, sources, kind, &name, artifact)?;
                if let Some(Value::Map(env)) = sources.extra_env.get(&label) {
                    env_additions.extend(env.clone());
                }
                map_entry(&mut task.fields, "dependencies")
                    .insert(label.clone(), Value::from(label));
                entries.push(entry);
            }
        } else {
            let prefix = dependency_prefix(config, prefixes, task, kind, &name)?;
            for artifact in artifacts {
                entries.push(dependency_entry(&prefix, kind, artifact));
            }
        }
    }

    let private_dirs: BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e.get("artifact").and_then(Value::as_str))
        .filter(|a| !a.starts_with("public/"))
        .map(|a| path::dirname(a).to_owned())
        .collect();
    if !private_dirs.is_empty() {
        map_entry(&mut task.fields, "worker").insert("taskcluster-proxy", Value::Bool(true));
        let scopes = list_entry(&mut task.fields, "scopes");
        for dir in private_dirs {
            let scope = Value::from(format!("queue:get-artifact:{dir}/*"));
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
    }

    let worker = map_entry(&mut task.fields, "worker");
    let env = map_entry(worker, "env");
    env.extend(env_additions);
    let json = python::json_compact(&Value::List(entries), true)?;
    env.insert(
        "MOZ_FETCHES",
        Value::Map(Map::from_iter([("task-reference", Value::from(json))])),
    );
    env.entry("MOZ_FETCHES_DIR")
        .or_insert_with(|| Value::from("fetches"));
    Ok(())
}

/// Artifacts sorted by name (strings are names; dicts have `artifact`),
/// keeping the order of equal names.
fn sorted_artifacts(artifacts: &[Value]) -> Vec<&Value> {
    let mut sorted: Vec<&Value> = artifacts.iter().collect();
    sorted.sort_by(|a, b| artifact_name(a).cmp(artifact_name(b)));
    sorted
}

fn artifact_name(artifact: &Value) -> &str {
    match artifact {
        Value::Str(s) => s,
        other => other
            .get("artifact")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    }
}

/// Options of one fetch entry: (artifact, dest, extract, verify-hash).
fn entry_options(artifact: &Value) -> (String, Option<Value>, Value, Value) {
    match artifact {
        Value::Str(s) => (s.clone(), None, Value::Bool(true), Value::Bool(false)),
        other => (
            artifact_name(other).to_owned(),
            other.get("dest").filter(|d| !d.is_null()).cloned(),
            other.get("extract").cloned().unwrap_or(Value::Bool(true)),
            other
                .get("verify-hash")
                .cloned()
                .unwrap_or(Value::Bool(false)),
        ),
    }
}

fn fetch_entry(
    artifact: Value,
    task: String,
    extract: Value,
    dest: Option<Value>,
    verify_hash: Value,
) -> Value {
    let mut entry = Map::default();
    entry.insert("artifact", artifact);
    entry.insert("task", Value::from(task));
    entry.insert("extract", extract);
    if let Some(dest) = dest {
        entry.insert("dest", dest);
    }
    if verify_hash.is_truthy() {
        entry.insert("verify-hash", verify_hash);
    }
    Value::Map(entry)
}

fn fetch_task_entry(
    config: &TransformConfig<'_>,
    sources: &FetchSources,
    kind: &str,
    name: &str,
    artifact: &Value,
) -> Result<(Value, String)> {
    let (fetch_name, dest, extract, verify_hash) = entry_options(artifact);
    let label = format!("{kind}-{fetch_name}");
    let label = sources
        .aliases
        .get(&label)
        .and_then(Value::as_str)
        .map_or(label, str::to_owned);
    let Some(path) = sources.artifact_names.get(&label) else {
        return Err(Error::transform(format!(
            "Missing fetch task for {}-{name}: {fetch_name}",
            config.kind
        ))
        .at_field(&format!("fetches.{kind}")));
    };
    let entry = fetch_entry(
        path.clone(),
        format!("<{label}>"),
        extract,
        dest,
        verify_hash,
    );
    Ok((entry, label))
}

fn dependency_prefix<'p>(
    config: &TransformConfig<'_>,
    prefixes: &dyn Fn(&str) -> Option<&'p String>,
    task: &TaskDesc,
    kind: &str,
    name: &str,
) -> Result<String> {
    let dep_label = task
        .get("dependencies")
        .and_then(|d| d.get(kind))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::transform(format!(
                "{name} can't fetch {kind} artifacts because it has no {kind} dependencies!"
            ))
            .at_field(&format!("fetches.{kind}"))
        })?;
    if let Some(prefix) = prefixes(dep_label) {
        return Ok(prefix.clone());
    }
    let kind_dependencies_tasks = config.kind_dependencies_tasks()?;
    match kind_dependencies_tasks.get(dep_label) {
        Some(dep) => Ok(artifact_prefix(Some(&dep.attributes))),
        None => {
            let available: Vec<&str> = kind_dependencies_tasks.keys().map(String::as_str).collect();
            Err(Error::transform(format!(
                "{name} can't fetch {kind} artifacts because there are no tasks with label {dep_label} in kind \
                 dependencies!\nAvailable tasks:\n - {}",
                available.join("\n - ")
            )))
        }
    }
}

fn dependency_entry(prefix: &str, kind: &str, artifact: &Value) -> Value {
    let (path, dest, extract, verify_hash) = entry_options(artifact);
    fetch_entry(
        Value::from(format!("{prefix}/{path}")),
        format!("<{kind}>"),
        extract,
        dest,
        verify_hash,
    )
}

fn make_task_description(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let implementation = task
        .get("worker")
        .and_then(|w| w.get("implementation"))
        .map(py_str)
        .unwrap_or_default();
    let Some(Value::Map(mut run)) = task.fields.shift_remove("run") else {
        return Err(Error::schema("`run` is required").at_field("run"));
    };
    if matches!(implementation.as_str(), "docker-worker" | "generic-worker") {
        run.entry("workdir")
            .or_insert_with(|| Value::from("/builds/worker"));
    }

    let mut desc = std::mem::take(&mut task.fields);
    desc.entry("attributes")
        .or_insert_with(|| Value::Map(Map::default()));
    desc.entry("dependencies")
        .or_insert_with(|| Value::Map(Map::default()));
    desc.entry("soft-dependencies")
        .or_insert_with(|| Value::List(Vec::new()));
    desc.entry("routes")
        .or_insert_with(|| Value::List(Vec::new()));
    desc.entry("scopes")
        .or_insert_with(|| Value::List(Vec::new()));
    desc.entry("extra")
        .or_insert_with(|| Value::Map(Map::default()));

    let mut ctx = RunContext { run, desc };
    let configured = configure_for_run(config, &mut ctx, &implementation);
    // Put the description back even on failure: the error's location
    // names the task by its label.
    task.fields = ctx.desc;
    configured
}

/// Runs the implementation registered for the task's `run.using` on
/// `implementation`, after applying its defaults and schema.
pub fn configure_for_run(
    config: &TransformConfig<'_>,
    ctx: &mut RunContext,
    implementation: &str,
) -> Result<()> {
    let using = ctx.run.get("using").map(py_str).unwrap_or_default();
    let run_using = config.registry.run_using(&using, implementation)?;
    for (key, value) in &run_using.defaults {
        ctx.run.entry(key).or_insert_with(|| value.clone());
    }
    if let Some(schema) = &run_using.schema {
        validate_map(
            schema,
            &ctx.run,
            Extra::Deny,
            format_args!("invalid `run` for using `{using}` on {implementation}"),
            "run",
        )?;
    }
    (run_using.build)(config, ctx)
}

/// `run.using: index-search`: replace the task by an indexed one.
fn index_search(config: &TransformConfig<'_>, ctx: &mut RunContext) -> Result<()> {
    let mut paths = Vec::new();
    for index in ctx
        .run
        .get("index-search")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
    {
        let template = index.as_str().unwrap_or_default();
        paths.push(Value::from(python::format_with(
            template,
            config.params.as_map(),
        )?));
    }
    let optimization = Map::from_iter([("index-search", Value::List(paths))]);
    ctx.desc.insert("optimization", Value::Map(optimization));
    Ok(())
}

#[cfg(test)]
mod fetch_order_tests {
    use super::*;
    use crate::transform::{batch, testing::run_demo_kind};

    fn task(label: &str, prefix: &str, fetch_from: Option<&str>) -> Map {
        let mut fields = Map::from_iter([
            ("label", Value::from(label)),
            (
                "attributes",
                Value::Map(Map::from_iter([("artifact_prefix", Value::from(prefix))])),
            ),
        ]);
        if let Some(parent) = fetch_from {
            fields.insert(
                "dependencies",
                Value::Map(Map::from_iter([("demo", Value::from(parent))])),
            );
            fields.insert(
                "fetches",
                Value::Map(Map::from_iter([("demo", Value::str_list(["x.zip"]))])),
            );
        }
        fields
    }

    fn fetches_of(task: &TaskDesc) -> String {
        let fetches = task.fields["worker"].get_path("env.MOZ_FETCHES.task-reference");
        fetches.map(py_str).unwrap_or_default()
    }

    #[test]
    fn tasks_fetch_from_their_kind_with_the_prefixes_they_would_see_in_order() {
        let sequence = [batch("run:use_fetches", use_fetches)];
        let mut tasks = vec![task("demo-b", "public/b", Some("demo-a"))];
        tasks.extend((0..30).map(|n| task(&format!("demo-filler-{n}"), "public/f", None)));
        tasks.push(task("demo-a", "public/a", None));
        let out = run_demo_kind(&sequence, tasks).unwrap();

        let b = out
            .iter()
            .find(|t| t.get_str("label") == Some("demo-b"))
            .unwrap();
        assert!(
            fetches_of(b).contains("\"public/a/x.zip\""),
            "{}",
            fetches_of(b)
        );
        assert_eq!(out.len(), 32);

        // Outside the kind's prefix nothing is reordered, so a parent
        // after its child is not there yet.
        let tasks = vec![
            task("other-child", "public/c", Some("other-parent")),
            task("other-parent", "public/p", None),
        ];
        let err = run_demo_kind(&sequence, tasks).unwrap_err().to_string();
        assert!(err.contains("no tasks with label other-parent"), "{err}");
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Project;

    #[test]
    fn run_sections_on_built_in_workers_need_a_run_using_for_them() {
        let project = Project::new();
        project.kind(
            "notify",
            "tasks:\n  done:\n    description: d\n    worker-type: succeed\n    \
             run: {using: run-task, command: echo}\n",
        );
        let text = project.error("notify", "notify-done", "run.using");
        assert!(text.contains("on `succeed`"), "{text}");
    }

    #[test]
    fn list_aliases_do_not_resolve_their_names() {
        // The reference keys an alias list by its repr, so neither name in
        // it finds the toolchain.
        let project = Project::new();
        project
            .file("taskcluster/scripts/toolchain/make.sh", "#!/bin/sh\n")
            .kind(
                "toolchain",
                "loader: taskgraph.loader.transform:loader\n\
                 transforms: [taskgraph.transforms.run, taskgraph.transforms.cached_tasks, \
                 taskgraph.transforms.task]\n\
                 task-defaults:\n  \
                   worker-type: mac\n  \
                   worker: {max-run-time: 60, env: {}}\n  \
                   run: {using: toolchain-script, script: make.sh, use-caches: false}\n\
                 tasks:\n  \
                   cc:\n    \
                     description: c\n    \
                     run: {toolchain-artifact: public/build/cc.tar, toolchain-alias: [gcc, clang]}\n  \
                   user:\n    \
                     description: u\n    \
                     fetches: {toolchain: [gcc]}\n    \
                     run: {toolchain-artifact: public/build/user.tar}\n",
            )
            .commit();
        let text = project.error("toolchain", "toolchain-user", "fetches.toolchain");
        assert!(
            text.contains("Missing fetch task for toolchain-toolchain-user: gcc"),
            "{text}"
        );
    }
}
