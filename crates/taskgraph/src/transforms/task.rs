//! `taskgraph.transforms.task`: task descriptions to Taskcluster task
//! definitions.
//!
//! The description (label, worker, treeherder, index, scopes, ...) is
//! checked against the task-description schema and the worker
//! implementation's payload schema, then turned into `{label, description,
//! task, dependencies, soft-dependencies, if-dependencies, attributes,
//! optimization}`, where `task` is the definition that will be submitted:
//! provisioner and worker type from the worker alias, routes, scopes,
//! relative deadline and expiry, metadata, tags and the worker payload.

use std::sync::LazyLock;

use regex::Regex;

use crate::config::PRIORITIES;
use crate::error::{Error, Result};
use crate::keyed_by::{KeyedByOptions, evaluate_keyed_by, resolve_keyed_by};
use crate::python::{self, py_str};
use crate::registry::Registry;
use crate::schema::{
    DictSchema, Extra, KeyRule, Schema, dict, one_of_strs, opt, req, str_list, str_map,
};
use crate::transform::{TaskDesc, TransformConfig, TransformRef, list_entry, map_entry, per_task};
use crate::transforms::cached_tasks::build_date_long;
use crate::transforms::payload;
use crate::util::treeherder::{split_symbol, treeherder_defaults};
use crate::util::workers;
use crate::value::{Map, Value};

/// The most dependencies (of all three sorts) a task may have.
pub const MAX_DEPENDENCIES: usize = 9999;

static TASK_DESCRIPTION_SCHEMA: LazyLock<DictSchema> = LazyLock::new(|| {
    let treeherder = dict([
        opt("symbol", Schema::Str),
        opt("kind", one_of_strs(&["build", "test", "other"])),
        opt("tier", Schema::Int),
        opt("platform", Schema::Str),
    ]);
    let index = dict([
        opt("product", Schema::Str),
        opt("job-name", Schema::Str),
        opt("type", Schema::Str),
        opt(
            "rank",
            Schema::OneOf(vec![
                Schema::literal("by-tier"),
                Schema::Int,
                Schema::literal("build_date"),
            ]),
        ),
    ]);
    let optimization = Schema::OneOf(vec![
        Schema::Null,
        dict([opt("index-search", str_list())]).into(),
        dict([opt("skip-unless-changed", str_list())]).into(),
    ]);
    dict([
        req("label", Schema::Str),
        req("description", Schema::Str),
        opt("attributes", str_map(Schema::Anything)),
        opt("task-from", Schema::Str),
        opt(
            "dependencies",
            dict([])
                .key_rule(KeyRule::NoneOf(vec!["self", "decision"]), Schema::Anything)
                .into(),
        ),
        opt("priority", one_of_strs(PRIORITIES)),
        opt("soft-dependencies", str_list()),
        opt("if-dependencies", str_list()),
        opt("requires", one_of_strs(&["all-completed", "all-resolved"])),
        opt("expires-after", Schema::Str),
        opt("deadline-after", Schema::Str),
        opt("routes", str_list()),
        opt("scopes", str_list()),
        opt("tags", str_map(Schema::Str)),
        opt("extra", str_map(Schema::Anything)),
        opt(
            "treeherder",
            Schema::OneOf(vec![Schema::literal(true), treeherder.into()]),
        ),
        opt("index", index.into()),
        opt(
            "run-on-projects",
            Schema::KeyedBy(vec!["build-platform"], Box::new(str_list())),
        ),
        opt("run-on-tasks-for", str_list()),
        opt("run-on-git-branches", str_list()),
        opt(
            "shipping-phase",
            Schema::OneOf(vec![
                Schema::Null,
                one_of_strs(&["build", "promote", "push", "ship"]),
            ]),
        ),
        req("always-target", Schema::Bool),
        req("optimization", optimization),
        req("worker-type", Schema::Str),
        req("needs-sccache", Schema::Bool),
        opt(
            "worker",
            dict([req("implementation", Schema::Str)])
                .key_rule(KeyRule::AnyStr, Schema::Anything)
                .into(),
        ),
    ])
    .deny_extra()
});

static TASK_DESCRIPTION: LazyLock<Schema> =
    LazyLock::new(|| TASK_DESCRIPTION_SCHEMA.clone().into());

/// The schema of one field of a task description, for reuse by the run
/// transforms.
pub fn task_description_field(name: &str) -> Schema {
    TASK_DESCRIPTION_SCHEMA
        .field(name)
        .cloned()
        .unwrap_or(Schema::Anything)
}

pub fn transforms() -> Vec<TransformRef> {
    vec![
        per_task("task:set_implementation", set_implementation),
        per_task("task:set_defaults", set_defaults),
        per_task("task:task_name_from_label", task_name_from_label),
        per_task("task:validate", validate),
        per_task(
            "task:process_treeherder_metadata",
            process_treeherder_metadata,
        ),
        per_task("task:add_index_routes", add_index_routes),
        per_task("task:build_task", build_task),
        per_task("task:add_github_checks", add_github_checks),
        per_task("task:chain_of_trust", chain_of_trust),
        per_task("task:check_task_identifiers", check_task_identifiers),
        per_task("task:check_task_dependencies", check_task_dependencies),
        per_task("task:check_run_task_caches", check_run_task_caches),
    ]
}

/// Registers the payload builders and the `generic` index builder.
pub fn register(registry: &mut Registry) {
    payload::register(registry);
    registry.add_index_builder("generic", add_generic_index_routes);
}

fn worker_str(task: &TaskDesc, key: &str) -> Option<String> {
    task.get("worker").and_then(|w| w.get(key)).map(py_str)
}

fn set_implementation(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    if task.map_entry("worker").contains_key("implementation") {
        return Ok(());
    }
    let worker_type = task.get("worker-type").map(py_str).unwrap_or_default();
    let (implementation, os) = workers::implementation(config.graph_config, &worker_type)?;

    let tags = task.map_entry("tags");
    tags.insert(
        "worker-implementation",
        Value::from(implementation.as_str()),
    );
    if let Some(os) = &os {
        tags.insert("os", Value::from(os.as_str()));
    }
    let worker = task.map_entry("worker");
    worker.insert("implementation", Value::from(implementation));
    if let Some(os) = os {
        worker.insert("os", Value::from(os));
    }
    Ok(())
}

fn set_defaults(_config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let defaults = [
        ("always-target", Value::Bool(false)),
        ("optimization", Value::Null),
        ("needs-sccache", Value::Bool(false)),
    ];
    for (key, value) in defaults {
        task.fields.entry(key).or_insert(value);
    }

    let implementation = worker_str(task, "implementation").unwrap_or_default();
    let worker = task.map_entry("worker");
    let mut set = |key: &str, value: Value| {
        worker.entry(key).or_insert(value);
    };
    match implementation.as_str() {
        "docker-worker" => {
            for key in [
                "relengapi-proxy",
                "chain-of-trust",
                "taskcluster-proxy",
                "allow-ptrace",
                "loopback-video",
                "loopback-audio",
                "docker-in-docker",
                "privileged",
            ] {
                set(key, Value::Bool(false));
            }
            set("volumes", Value::List(Vec::new()));
            set("env", Value::Map(Map::default()));
            if let Some(Value::List(caches)) = worker.get_mut("caches") {
                for cache in caches.iter_mut().filter_map(Value::as_map_mut) {
                    cache.entry("skip-untrusted").or_insert(Value::Bool(false));
                }
            }
        }
        "generic-worker" => {
            set("env", Value::Map(Map::default()));
            set("os-groups", Value::List(Vec::new()));
            set("chain-of-trust", Value::Bool(false));
        }
        "scriptworker-signing" | "beetmover" | "beetmover-push-to-release" | "beetmover-maven" => {
            set("max-run-time", Value::Int(600));
        }
        "push-apk" => set("commit", Value::Bool(false)),
        _ => {}
    }
    Ok(())
}

fn task_name_from_label(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    crate::transforms::run::set_label(config, task)
}

fn validate(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    crate::transform::validate_map(
        &TASK_DESCRIPTION,
        &task.fields,
        Extra::Deny,
        "invalid task description",
        "",
    )?;

    let implementation = worker_str(task, "implementation").unwrap_or_default();
    let builder = config
        .registry
        .payload_builder(&implementation)
        .map_err(|e| e.at_field("worker.implementation"))?;
    let no_worker = Value::Null;
    crate::transform::validate_value(
        &builder.schema,
        task.get("worker").unwrap_or(&no_worker),
        Extra::Deny,
        format_args!("invalid `worker` for {implementation}"),
        "worker",
    )
}

fn process_treeherder_metadata(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let treeherder = match task.get("treeherder").filter(|t| t.is_truthy()) {
        None => None,
        Some(own) => {
            let mut merged = treeherder_defaults(config.kind)?;
            if let Value::Map(own) = own {
                merged.extend(own.iter().map(|(key, value)| (key, value.clone())));
            }
            if task
                .get("extra")
                .is_some_and(|extra| extra.as_map().is_none())
            {
                return Err(Error::schema("`extra` must be a mapping"));
            }
            let th = treeherder_section(config, task, &merged)?;
            let platform = merged.get("platform").cloned().unwrap_or_default();
            let (project, suffix) = treeherder_project(config);
            let route = [
                "tc-treeherder.v2.",
                &project,
                suffix,
                ".",
                config.params.str_or_empty("head_rev"),
                ".",
                config.params.str_or_empty("pushlog_id"),
            ]
            .concat();
            Some((th, platform, route))
        }
    };

    // Both keys are set in place (in this order when new), as the
    // reference assigns them.
    let routes = task
        .fields
        .entry("routes")
        .or_insert_with(|| Value::List(Vec::new()));
    if let Some((_, _, route)) = &treeherder {
        routes
            .as_list_mut()
            .ok_or_else(|| Error::schema("`routes` must be a list"))?
            .push(Value::from(route.as_str()));
    }
    let extra = task
        .fields
        .entry("extra")
        .or_insert_with(|| Value::Map(Map::default()));
    if let (Some((th, platform, _)), Value::Map(extra)) = (treeherder, extra) {
        extra.entry("treeherder-platform").or_insert(platform);
        map_entry(extra, "treeherder").extend(th);
    }
    Ok(())
}

/// The `extra.treeherder` entries for a task with treeherder settings.
fn treeherder_section(config: &TransformConfig<'_>, task: &TaskDesc, merged: &Map) -> Result<Map> {
    let platform = merged.get("platform").map(py_str).unwrap_or_default();
    let (machine, collection) = platform.split_once('/').ok_or_else(|| {
        Error::transform(format!(
            "treeherder platform `{platform}` must be `<platform>/<collection>`"
        ))
        .at_field("treeherder.platform")
    })?;
    let (group, symbol) = split_symbol(&merged.get("symbol").map(py_str).unwrap_or_default())?;

    let mut th = Map::default();
    th.insert(
        "machine",
        Value::Map(Map::from_iter([("platform", Value::from(machine))])),
    );
    th.insert(
        "collection",
        Value::Map(Map::from_iter([(collection.to_owned(), Value::Bool(true))])),
    );
    let group_names = config
        .graph_config
        .get("treeherder")
        .and_then(|t| t.get("group-names"))
        .and_then(Value::as_map)
        .ok_or_else(|| {
            Error::config(
                "tasks with treeherder settings need `treeherder.group-names` in config.yml",
            )
        })?;
    if group != "?" {
        th.insert("groupSymbol", Value::from(group.as_str()));
        let name = group_names.get(&group).ok_or_else(|| {
            let from = format!("{}/{}", config.path, task.get("task-from").map(py_str).unwrap_or_default());
            Error::config(format!("Treeherder group {group} (from {from}) has no name; add it to taskcluster/config.yml"))
        })?;
        th.insert("groupName", name.clone());
    }
    if symbol.chars().count() > 25 || group.chars().count() > 25 {
        return Err(Error::transform(format!(
            "Treeherder group and symbol names must not be longer than 25 characters: {symbol}"
        ))
        .at_field("treeherder.symbol"));
    }
    th.insert("symbol", Value::from(symbol));
    th.insert("jobKind", merged.get("kind").cloned().unwrap_or_default());
    th.insert("tier", merged.get("tier").cloned().unwrap_or_default());
    Ok(th)
}

/// The treeherder project, and `-pr` for pull requests (whose project is
/// the base repository's name).
fn treeherder_project(config: &TransformConfig<'_>) -> (String, &'static str) {
    if config.params.is_pull_request() {
        let base = config
            .params
            .str_or_empty("base_repository")
            .rsplit('/')
            .next()
            .unwrap_or_default();
        (base.strip_suffix(".git").unwrap_or(base).to_owned(), "-pr")
    } else {
        (config.params.str_or_empty("project").to_owned(), "")
    }
}

fn add_index_routes(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let index = task
        .get("index")
        .cloned()
        .unwrap_or(Value::Map(Map::default()));
    let tier = task
        .get("extra")
        .and_then(|e| e.get("treeherder"))
        .and_then(|t| t.get("tier"))
        .cloned();
    let rank = index
        .get("rank")
        .cloned()
        .unwrap_or_else(|| Value::from("by-tier"));
    let build_date = || config.params.get("build_date").cloned().unwrap_or_default();

    let rank = match rank.as_str() {
        Some("by-tier") => {
            let tier = tier.as_ref().and_then(Value::as_int).unwrap_or(3);
            if tier > 1 {
                Value::Int(0)
            } else {
                build_date()
            }
        }
        Some("build_date") => build_date(),
        _ => rank,
    };
    map_entry(task.map_entry("extra"), "index").insert("rank", rank);

    if !index.is_truthy() {
        return Ok(());
    }
    let index_type = index
        .get("type")
        .map(py_str)
        .unwrap_or_else(|| "generic".to_owned());
    let builder = config
        .registry
        .index_builder(&index_type)
        .map_err(|e| e.at_field("index.type"))?;
    builder(config, &mut task.fields)?;
    task.fields.shift_remove("index");
    Ok(())
}

const V2_ROUTE_TEMPLATES: [&str; 4] = [
    "index.{trust-domain}.v2.{project}.latest.{product}.{job-name}",
    "index.{trust-domain}.v2.{project}.pushdate.{build_date_long}.{product}.{job-name}",
    "index.{trust-domain}.v2.{project}.pushlog-id.{pushlog_id}.{product}.{job-name}",
    "index.{trust-domain}.v2.{project}.revision.{branch_rev}.{product}.{job-name}",
];

/// The `generic` index: four V2 routes per task.
fn add_generic_index_routes(config: &TransformConfig<'_>, task: &mut Map) -> Result<()> {
    let index = task.get("index").cloned().unwrap_or_default();
    // The reference indexes `product` and `job-name` directly: both must be
    // given.
    let required = |key: &str| {
        index.get(key).cloned().ok_or_else(|| {
            Error::schema(format!("a generic index needs `{key}`"))
                .at_field(&format!("index.{key}"))
        })
    };
    let product = required("product")?;
    let products = config
        .graph_config
        .get("index")
        .and_then(|i| i.get("products"))
        .and_then(Value::as_list);
    if !products.is_some_and(|p| p.contains(&product)) {
        return Err(Error::config(format!(
            "The index product {} is not in the list of configured products in `taskcluster/config.yml'.",
            py_str(&product)
        ))
        .at_field("index.product"));
    }

    let job_name = required("job-name")?;
    let mut subs = config.params.as_map().clone();
    subs.insert("job-name", job_name);
    subs.insert("build_date_long", Value::from(build_date_long(config)?));
    subs.insert("product", product);
    subs.insert(
        "trust-domain",
        Value::from(config.graph_config.trust_domain()),
    );
    subs.insert(
        "branch_rev",
        Value::from(config.params.str_or_empty("head_rev")),
    );

    let routes = list_entry(task, "routes");
    for template in V2_ROUTE_TEMPLATES {
        routes.push(Value::from(python::format_with(template, &subs)?));
    }
    Ok(())
}

fn build_task(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let graph_config = config.graph_config;
    let params = config.params;
    let level = params.level().to_owned();
    let label = task.get("label").map(py_str).unwrap_or_default();
    let worker_type = task.get("worker-type").map(py_str).unwrap_or_default();
    let (provisioner, worker_type) =
        workers::provisioner_and_worker_type(graph_config, &worker_type, &level)?;
    task.fields.insert(
        "worker-type",
        Value::from([provisioner.as_ref(), "/", worker_type.as_ref()].concat()),
    );
    let project = params.str_or_empty("project").to_owned();

    let scope_subs = Map::from_iter([
        ("level", Value::from(level.as_str())),
        ("project", Value::from(project.as_str())),
    ]);
    let mut scopes = Vec::new();
    for scope in task
        .get("scopes")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
    {
        scopes.push(Value::from(
            python::format_with(&py_str(scope), &scope_subs).map_err(|e| e.at_field("scopes"))?,
        ));
    }

    // The description is rebuilt at the end; what it carries over is
    // moved out of the old one rather than copied.
    let mut extra = match task.fields.shift_remove("extra") {
        Some(Value::Map(extra)) => extra,
        _ => Map::default(),
    };
    let parent = graph_config
        .environment()
        .task_id
        .clone()
        .unwrap_or_default();
    extra.insert("parent", Value::from(parent));

    let expires = match task.get("expires-after") {
        Some(value) => value.clone(),
        None if params.is_try() => graph_config
            .get("task-expires-after")
            .cloned()
            .unwrap_or_else(|| Value::from("28 days")),
        None => Value::from("1 year"),
    };
    let deadline = match task.get("deadline-after") {
        Some(value) => value.clone(),
        None => default_deadline(config, &project)?,
    };
    let priority = match task.get("priority") {
        Some(value) => value.clone(),
        None => {
            let configured = graph_config
                .get("task-priority")
                .cloned()
                .unwrap_or_default();
            let attributes = [("project", Value::from(project.as_str()))];
            evaluate_keyed_by(
                &configured,
                "Graph Config",
                &attributes,
                KeyedByOptions::default(),
            )?
        }
    };

    let mut tags = match task.fields.shift_remove("tags") {
        Some(Value::Map(tags)) => tags,
        _ => Map::default(),
    };
    tags.insert("createdForUser", Value::from(params.str_or_empty("owner")));
    tags.insert("kind", Value::from(config.kind));
    tags.insert("label", Value::from(label.as_str()));
    tags.insert("project", Value::from(project.as_str()));
    tags.insert("trust-domain", Value::from(graph_config.trust_domain()));

    let mut description = task.get("description").map(py_str).unwrap_or_default();
    if extra.get("treeherder").is_some_and(Value::is_truthy) {
        let (_, suffix) = treeherder_project(config);
        description.push_str(&format!(
            " ([Treeherder push](https://treeherder.mozilla.org/#/jobs?repo={project}{suffix}&revision={}))",
            params.str_or_empty("head_rev")
        ));
    }
    let metadata = Map::from_iter([
        ("description", Value::from(description)),
        ("name", Value::from(label.as_str())),
        ("owner", Value::from(params.str_or_empty("owner"))),
        ("source", Value::from(params.file_url(config.path, true)?)),
    ]);

    let datestamp =
        |value: Value| Value::Map(Map::from_iter([("relative-datestamp".to_owned(), value)]));
    let mut task_def = Map::with_capacity(14);
    task_def.insert("provisionerId", Value::from(provisioner));
    task_def.insert("workerType", Value::from(worker_type));
    task_def.insert(
        "routes",
        task.fields
            .shift_remove("routes")
            .unwrap_or(Value::List(Vec::new())),
    );
    task_def.insert("created", datestamp(Value::from("0 seconds")));
    task_def.insert("deadline", datestamp(deadline));
    task_def.insert("expires", datestamp(expires));
    task_def.insert("scopes", Value::List(scopes));
    task_def.insert("metadata", Value::Map(metadata));
    task_def.insert("extra", Value::Map(extra));
    task_def.insert("tags", Value::Map(tags));
    task_def.insert("priority", priority);
    if let Some(requires) = task.get("requires").filter(|r| r.is_truthy()) {
        task_def.insert("requires", requires.clone());
    }

    let implementation = worker_str(task, "implementation").unwrap_or_default();
    let builder = config.registry.payload_builder(&implementation)?;
    (builder.build)(config, &mut task.fields, &mut task_def)?;

    let attributes = run_on_attributes(task, &label)?;
    if matches!(implementation.as_str(), "generic-worker" | "docker-worker")
        && let Some(Value::Map(payload)) = task_def.get_mut("payload")
        && !payload.is_empty()
    {
        map_entry(payload, "env").insert("MOZ_AUTOMATION", Value::from("1"));
    }

    let dependencies = task
        .fields
        .shift_remove("dependencies")
        .unwrap_or(Value::Map(Map::default()));
    let if_dependencies = map_if_dependencies(task, &dependencies, &label)?;
    let mut built = Map::with_capacity(8);
    built.insert("label", Value::from(label));
    built.insert(
        "description",
        task.fields.shift_remove("description").unwrap_or_default(),
    );
    built.insert("task", Value::Map(task_def));
    built.insert("dependencies", dependencies);
    built.insert("if-dependencies", if_dependencies);
    built.insert(
        "soft-dependencies",
        task.fields
            .shift_remove("soft-dependencies")
            .unwrap_or(Value::List(Vec::new())),
    );
    built.insert("attributes", Value::Map(attributes));
    built.insert(
        "optimization",
        task.fields.shift_remove("optimization").unwrap_or_default(),
    );
    task.fields = built;
    Ok(())
}

fn default_deadline(config: &TransformConfig<'_>, project: &str) -> Result<Value> {
    match config.graph_config.get("task-deadline-after") {
        Some(configured) => {
            let attributes = [("project", Value::from(project))];
            evaluate_keyed_by(
                configured,
                "Graph Config",
                &attributes,
                KeyedByOptions::default(),
            )
        }
        None => Ok(Value::from("1 day")),
    }
}

/// The run-on and shipping attributes the target-task filters read.
fn run_on_attributes(task: &mut TaskDesc, label: &str) -> Result<Map> {
    let mut attributes = match task.fields.shift_remove("attributes") {
        Some(Value::Map(attributes)) => attributes,
        _ => Map::default(),
    };
    let build_platform = attributes
        .get("build_platform")
        .cloned()
        .unwrap_or_default();
    resolve_keyed_by(
        &mut task.fields,
        "run-on-projects",
        label,
        &[("build-platform", build_platform)],
        KeyedByOptions::default(),
    )?;

    let all = || Value::str_list(["all"]);
    attributes.insert(
        "run_on_projects",
        task.get("run-on-projects").cloned().unwrap_or_else(all),
    );
    attributes.insert(
        "run_on_tasks_for",
        task.get("run-on-tasks-for").cloned().unwrap_or_else(all),
    );
    if let Some(branches) = task.get("run-on-git-branches").filter(|b| b.is_truthy()) {
        attributes.insert("run_on_git_branches", branches.clone());
    }
    attributes.insert(
        "always_target",
        task.get("always-target").cloned().unwrap_or_default(),
    );
    match task.get("shipping-phase").filter(|p| !p.is_null()) {
        Some(phase) => {
            attributes.insert("shipping_phase", phase.clone());
        }
        None => {
            attributes.entry("shipping_phase").or_insert(Value::Null);
        }
    }
    Ok(attributes)
}

/// `if-dependencies` name dependencies; they become labels.
fn map_if_dependencies(task: &TaskDesc, dependencies: &Value, label: &str) -> Result<Value> {
    let names = task
        .get("if-dependencies")
        .and_then(Value::as_list)
        .cloned()
        .unwrap_or_default();
    let mut labels = Vec::with_capacity(names.len());
    for name in names {
        let key = py_str(&name);
        match dependencies.get(&key) {
            Some(dep) => labels.push(dep.clone()),
            None => {
                return Err(Error::transform(format!(
                    "{label} specifies '{key}' in if-dependencies, but {key} is not a dependency!"
                ))
                .at_field("if-dependencies"));
            }
        }
    }
    Ok(Value::List(labels))
}

fn add_github_checks(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    if config.params.str_or_empty("repository_type") == "git"
        && let Some(Value::List(routes)) = task
            .fields
            .get_mut("task")
            .and_then(|t| t.get_mut("routes"))
    {
        routes.push(Value::from("checks"));
    }
    Ok(())
}

fn chain_of_trust(_config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    // The reference reads `payload.features` without checking the payload's
    // type, so a payload that is not a mapping (the `invalid` worker's
    // string) stops generation here.
    if let Some(payload) = task.get("task").and_then(|t| t.get("payload"))
        && !matches!(payload, Value::Map(_))
    {
        return Err(Error::transform(format!(
            "a task's payload must be a mapping, but its worker implementation gave the {} {}",
            payload.type_name(),
            python::py_repr(payload)
        ))
        .at_field("worker.implementation"));
    }
    let enabled = task
        .get("task")
        .and_then(|t| t.get("payload"))
        .and_then(|p| p.get("features"))
        .and_then(|f| f.get("chainOfTrust"))
        .is_some_and(Value::is_truthy);
    let has_image = task
        .get("dependencies")
        .and_then(|d| d.get("docker-image"))
        .is_some_and(Value::is_truthy);
    if enabled && has_image {
        let task_def = task.map_entry("task");
        let inputs = map_entry(
            map_entry(map_entry(task_def, "extra"), "chainOfTrust"),
            "inputs",
        );
        let reference = Map::from_iter([("task-reference", Value::from("<docker-image>"))]);
        inputs.insert("docker-image", Value::Map(reference));
    }
    Ok(())
}

fn check_task_identifiers(_config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    // Python's `$` also matches before a final newline.
    static IDENTIFIER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\A[a-zA-Z0-9_-]{1,38}\n?\z").expect("valid"));
    for key in ["workerType", "provisionerId"] {
        let value = task
            .get("task")
            .and_then(|t| t.get(key))
            .map(py_str)
            .unwrap_or_default();
        if !IDENTIFIER.is_match(&value) {
            return Err(Error::transform(format!(
                "task {}.{key} is not a valid identifier: {value}",
                task.get("label").map(py_str).unwrap_or_default()
            )));
        }
    }
    Ok(())
}

fn check_task_dependencies(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let count = |key: &str| -> usize {
        match task.get(key) {
            Some(Value::Map(m)) => m.len(),
            Some(Value::List(l)) => l.len(),
            _ => 0,
        }
    };
    let total = count("dependencies") + count("if-dependencies") + count("soft-dependencies");
    if total > MAX_DEPENDENCIES {
        return Err(Error::transform(format!(
            "task {}/{} has too many dependencies ({total} > {MAX_DEPENDENCIES})",
            config.kind,
            task.get("label").map(py_str).unwrap_or_default()
        )));
    }
    Ok(())
}

/// Caches named `checkouts*` or `tooltool-cache*` belong to run-task, and
/// their names must carry the run-task hash.
fn check_run_task_caches(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let prefix = [
        config.graph_config.trust_domain(),
        "-level-",
        config.params.level(),
        "-",
    ]
    .concat();
    let payload = task.get("task").and_then(|t| t.get("payload"));
    let Some(cache) = payload.and_then(|p| p.get("cache")) else {
        return Ok(());
    };
    let names: Vec<String> = cache
        .get("task-reference")
        .unwrap_or(cache)
        .as_map()
        .map(|m| m.keys().map(str::to_owned).collect())
        .unwrap_or_default();
    let label = task.get("label").map(py_str).unwrap_or_default();
    let run_task = payload
        .and_then(|p| p.get("command"))
        .and_then(Value::as_list)
        .and_then(|c| c.first())
        .and_then(Value::as_str)
        .is_some_and(|c| c.ends_with("run-task"));

    for name in names {
        let Some(short) = name.strip_prefix(&prefix) else {
            return Err(Error::transform(format!(
                "{label} is using a cache ({name}) which is not appropriate for its trust-domain and level. It \
                 should start with {prefix}."
            )));
        };
        if !(short.starts_with("checkouts") || short.starts_with("tooltool-cache")) {
            continue;
        }
        if !run_task {
            return Err(Error::transform(format!(
                "{label} is using a cache ({short}) reserved for run-task change the task to use run-task or use a \
                 different cache name"
            )));
        }
        let suffix = config.graph_config.run_task_suffix()?;
        if !short.contains(suffix) {
            return Err(Error::transform(format!(
                "{label} is using a cache ({short}) reserved for run-task but the cache name is not dependent on the \
                 contents of run-task; change the cache name to conform to the naming requirements"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::transforms::run::testing::Project;
    use crate::value::Value;

    fn direct_task(fields: &str) -> Project {
        let project = Project::new();
        project.kind(
            "direct",
            &format!(
                "loader: taskgraph.loader.transform:loader\n\
                 transforms: [taskgraph.transforms.task]\n\
                 tasks:\n  \
                   job:\n    \
                     description: a job\n    \
                     {fields}\n"
            ),
        );
        project
    }

    #[test]
    fn a_generic_index_needs_a_product_and_a_job_name() {
        // The reference indexes both keys directly.
        let text = direct_task("worker-type: succeed\n    index: {product: unit}").error(
            "direct",
            "direct-job",
            "index.job-name",
        );
        assert!(text.contains("job-name"), "{text}");
        direct_task("worker-type: succeed\n    index: {job-name: j}").error(
            "direct",
            "direct-job",
            "index.product",
        );
        let task = direct_task("worker-type: succeed\n    index: {product: unit, job-name: j}")
            .task("direct-job");
        assert_eq!(
            Value::Map(task.task)
                .get_path("routes")
                .and_then(Value::as_list)
                .map(Vec::len),
            Some(5),
            "four index routes and `checks`"
        );
    }

    #[test]
    fn treeherder_defaults_need_an_initial_for_every_part_of_the_kind() {
        let project = Project::new();
        project.kind(
            "lint-",
            "loader: taskgraph.loader.transform:loader\n\
             transforms: [taskgraph.transforms.task]\n\
             tasks:\n  job:\n    description: d\n    worker-type: succeed\n    treeherder: true\n",
        );
        project.error("lint-", "lint--job", "treeherder");

        let task = direct_task("worker-type: succeed\n    treeherder: {symbol: \"U(sym)\\n\"}")
            .task("direct-job");
        let symbol = Value::Map(task.task)
            .get_path("extra.treeherder.symbol")
            .cloned();
        assert_eq!(symbol, Some(Value::from("sym")));
    }

    #[test]
    fn the_invalid_worker_stops_generation_like_the_reference() {
        // Its payload is a string, which the reference's chain-of-trust
        // step cannot read.
        let text = direct_task("worker-type: succeed\n    worker: {implementation: invalid}")
            .error("direct", "direct-job", "worker.implementation");
        assert!(
            text.contains("invalid task - should never be created"),
            "{text}"
        );
    }

    #[test]
    fn identifiers_may_end_in_one_newline_as_python_regexes_allow() {
        let project = direct_task("worker-type: plain");
        let config =
            std::fs::read_to_string(project.path().join("taskcluster/config.yml")).unwrap();
        let alias = "        plain:\n            provisioner: unit\n            implementation: succeed\n            \
                     os: linux\n            worker-type: \"plain\\n\"\n";
        project.file("taskcluster/config.yml", &format!("{config}{alias}"));
        let task = project.task("direct-job");
        assert_eq!(task.task.get("workerType"), Some(&Value::from("plain\n")));

        let project = direct_task("worker-type: plain");
        let alias = alias.replace("plain\\n", "plain\\n\\n");
        project.file("taskcluster/config.yml", &format!("{config}{alias}"));
        let text = project.generate().unwrap_err().to_string();
        assert!(text.contains("is not a valid identifier"), "{text}");
    }
}
