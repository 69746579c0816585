//! `run.using: run-task`: commands wrapped by the `run-task` script, which
//! checks out the repositories and sets up caches before running them.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use sha2::{Digest, Sha256};

use crate::config::CACHE_NAMES;
use crate::error::{Error, Result};
use crate::python::{self, py_str};
use crate::registry::{Registry, RunContext, RunUsing};
use crate::schema::{Schema, dict, one_of_strs, opt, req, str_map, taskref_or_string};
use crate::transform::{RepoConfig, TransformConfig, list_entry, map_entry};
use crate::transforms::run::artifact_prefix;
use crate::util::path;
use crate::value::{Map, Value};

/// How a string command is executed.
fn exec_command(name: &str) -> Option<Vec<&'static str>> {
    match name {
        "bash" => Some(vec!["bash", "-cx"]),
        "powershell" => Some(vec!["powershell.exe", "-ExecutionPolicy", "Bypass"]),
        _ => None,
    }
}

static RUN_TASK_SCHEMA: LazyLock<Arc<Schema>> = LazyLock::new(|| {
    Arc::new(
        dict([
            req("using", Schema::literal("run-task")),
            opt(
                "use-caches",
                Schema::OneOf(vec![
                    Schema::Bool,
                    Schema::ListOf(vec![one_of_strs(CACHE_NAMES)]),
                ]),
            ),
            req(
                "checkout",
                Schema::OneOf(vec![Schema::Bool, str_map(Schema::AnyMap)]),
            ),
            opt("cwd", Schema::Str),
            req(
                "sparse-profile",
                Schema::OneOf(vec![Schema::Str, Schema::Null]),
            ),
            req(
                "command",
                Schema::OneOf(vec![
                    Schema::ListOf(vec![taskref_or_string()]),
                    taskref_or_string(),
                ]),
            ),
            opt("exec-with", one_of_strs(&["bash", "powershell"])),
            opt("run-task-command", Schema::AnyList),
            req("workdir", Schema::Str),
            opt("run-as-root", Schema::Bool),
        ])
        .deny_extra()
        .into(),
    )
});

fn defaults() -> Map {
    Map::from_iter([
        ("checkout", Value::Bool(true)),
        ("sparse-profile", Value::Null),
        ("run-as-root", Value::Bool(false)),
    ])
}

pub fn register(registry: &mut Registry) {
    let schema = Some(Arc::clone(&RUN_TASK_SCHEMA));
    registry.add_run_using(
        "docker-worker",
        "run-task",
        RunUsing {
            schema: schema.clone(),
            defaults: defaults(),
            build: docker_worker_run_task,
        },
    );
    registry.add_run_using(
        "generic-worker",
        "run-task",
        RunUsing {
            schema,
            defaults: defaults(),
            build: generic_worker_run_task,
        },
    );
}

fn worker(ctx: &mut RunContext) -> &mut Map {
    map_entry(&mut ctx.desc, "worker")
}

/// A worker setting as Python's `str()` gives it, `""` when unset;
/// borrowed when it is a string.
fn worker_str<'c>(ctx: &'c RunContext, key: &str) -> Cow<'c, str> {
    match ctx.desc.get("worker").and_then(|w| w.get(key)) {
        Some(Value::Str(text)) => Cow::Borrowed(text),
        Some(other) => Cow::Owned(py_str(other)),
        None => Cow::Borrowed(""),
    }
}

fn docker_worker_run_task(config: &TransformConfig<'_>, ctx: &mut RunContext) -> Result<()> {
    let mut command = match ctx.run.shift_remove("run-task-command") {
        Some(Value::List(command)) => command,
        _ => vec![Value::from("/usr/local/bin/run-task")],
    };
    common_setup(config, ctx, &mut command)?;

    let run_command = match ctx.run.get("command").cloned().unwrap_or_default() {
        command @ (Value::Str(_) | Value::Map(_)) => wrap_in_shell(ctx, command)?,
        Value::List(items) => items,
        other => vec![other],
    };
    finish_command(ctx, &mut command, run_command);
    worker(ctx).insert("command", Value::List(command));
    Ok(())
}

fn generic_worker_run_task(config: &TransformConfig<'_>, ctx: &mut RunContext) -> Result<()> {
    let os = worker_str(ctx, "os").into_owned();
    let is_windows = os == "windows";
    let mut command = match ctx
        .run
        .shift_remove("run-task-command")
        .filter(Value::is_truthy)
    {
        Some(Value::List(command)) => command,
        _ if is_windows => vec![
            Value::from("C:/mozilla-build/python3/python3.exe"),
            Value::from("run-task"),
        ],
        _ => vec![Value::from("./run-task")],
    };
    let run_task_words = command.len();
    common_setup(config, ctx, &mut command)?;

    let run_task_mount = script_mount(config, "run-task", "./run-task")?;
    let needs_fetch_content = ctx
        .desc
        .get("worker")
        .and_then(|w| w.get("env"))
        .and_then(|e| e.get("MOZ_FETCHES"))
        .is_some_and(Value::is_truthy);
    let fetch_content_mount = if needs_fetch_content {
        Some(script_mount(config, "fetch-content", "./fetch-content")?)
    } else {
        None
    };
    let mounts = list_entry(worker(ctx), "mounts");
    mounts.push(run_task_mount);
    mounts.extend(fetch_content_mount);

    let run_command = match ctx.run.get("command").cloned().unwrap_or_default() {
        Value::Str(command) => {
            let command = if is_windows {
                format!("\"{command}\"")
            } else {
                command
            };
            wrap_in_shell(ctx, Value::from(command))?
        }
        Value::List(items) => items,
        // The reference extends the command with a dict, i.e. its keys.
        Value::Map(map) => map.keys().map(Value::from).collect(),
        other => vec![other],
    };
    if os == "linux-bitbar" {
        // The bitbar wrapper sets up the device before running the command.
        let mut wrapped = vec![Value::from("/builds/taskcluster/script.py")];
        wrapped.extend(run_command);
        finish_command(ctx, &mut command, wrapped);
    } else {
        finish_command(ctx, &mut command, run_command);
    }

    let command = if is_windows {
        Value::List(vec![Value::from(join_windows_command(
            &command,
            run_task_words,
        )?)])
    } else {
        Value::List(vec![
            Value::str_list(["chmod", "+x", "run-task"]),
            Value::List(command),
        ])
    };
    worker(ctx).insert("command", command);
    Ok(())
}

/// A Windows generic-worker command is one string: the words joined by
/// spaces. Only strings can be joined (the reference's `str.join` refuses
/// a task reference or a number in the list). The first `run_task_words`
/// words come from `run-task-command`.
fn join_windows_command(command: &[Value], run_task_words: usize) -> Result<String> {
    let mut words = Vec::with_capacity(command.len());
    for (index, word) in command.iter().enumerate() {
        match word {
            Value::Str(s) => words.push(s.as_str()),
            other => {
                return Err(Error::transform(format!(
                    "a Windows run-task command is joined into one string, so each of its words must be a string, \
                     not the {} {}",
                    other.type_name(),
                    python::py_repr(other)
                ))
                .at_field(if index < run_task_words {
                    "run.run-task-command"
                } else {
                    "run.command"
                }));
            }
        }
    }
    Ok(words.join(" "))
}

fn wrap_in_shell(ctx: &mut RunContext, command: Value) -> Result<Vec<Value>> {
    let exec_with = ctx
        .run
        .shift_remove("exec-with")
        .map(|v| py_str(&v))
        .unwrap_or_else(|| "bash".to_owned());
    let exec = exec_command(&exec_with).ok_or_else(|| {
        Error::schema(format!("unknown `exec-with` {exec_with}")).at_field("run.exec-with")
    })?;
    let mut out: Vec<Value> = exec.into_iter().map(Value::from).collect();
    out.push(command);
    Ok(out)
}

fn finish_command(ctx: &RunContext, command: &mut Vec<Value>, run_command: Vec<Value>) {
    if ctx.run.get("run-as-root").is_some_and(Value::is_truthy) {
        command.extend(["--user", "root", "--group", "root"].map(Value::from));
    }
    command.push(Value::from("--"));
    command.extend(run_command);
}

/// A generic-worker mount of a script published by the decision task.
fn script_mount(config: &TransformConfig<'_>, script: &str, file: &str) -> Result<Value> {
    let env = config.graph_config.environment();
    if env.moz_automation && env.task_id.is_none() {
        return Err(Error::transform(
            "TASK_ID must be defined to use run-task on generic-worker",
        ));
    }
    let task_id = env.task_id.as_deref().unwrap_or("<TASK_ID>");
    let root_url = env.root_url()?;
    let url = format!("{root_url}/api/queue/v1/task/{task_id}/artifacts/public/{script}");
    let content = Map::from_iter([("url", Value::from(url))]);
    Ok(Value::Map(Map::from_iter([
        ("content", Value::Map(content)),
        ("file", Value::from(file)),
    ])))
}

/// Checkout arguments, the working directory, caches and `MOZ_SCM_LEVEL`
/// (`common_setup`).
fn common_setup(
    config: &TransformConfig<'_>,
    ctx: &mut RunContext,
    command: &mut Vec<Value>,
) -> Result<()> {
    let checkout = ctx
        .run
        .get("checkout")
        .cloned()
        .unwrap_or(Value::Bool(true));
    if checkout.is_truthy() {
        let repo_configs = checkout_repositories(config, &checkout)?;
        let sparse = ctx
            .run
            .get("sparse-profile")
            .filter(|p| p.is_truthy())
            .cloned();
        let vcs_path = support_vcs_checkout(ctx, &repo_configs)?;

        for repo in &repo_configs {
            let checkout_path = path::join(&vcs_path, &repo.path);
            command.push(Value::from(
                ["--", &repo.prefix, "-checkout=", &checkout_path].concat(),
            ));
        }
        if let (Some(profile), Some(last)) = (sparse, repo_configs.last()) {
            command.push(Value::from(format!(
                "--{}-sparse-profile=build/sparse-profiles/{}",
                last.prefix,
                py_str(&profile)
            )));
        }
        if let Some(Value::Str(cwd)) = ctx.run.get("cwd") {
            let subs = Map::from_iter([("checkout", Value::from(vcs_path.as_str()))]);
            let formatted = python::format_with(cwd, &subs).map_err(|e| e.at_field("run.cwd"))?;
            ctx.run
                .insert("cwd", Value::from(path::normpath(&formatted)));
        }
    } else if let Some(Value::Str(cwd)) = ctx.run.get("cwd")
        && cwd.contains("{checkout}")
    {
        let name = ctx
            .desc
            .get("name")
            .or_else(|| ctx.desc.get("label"))
            .map(py_str)
            .unwrap_or_default();
        return Err(Error::transform(format!(
            "Found `{{checkout}}` interpolation in `cwd` for task {name} but the task doesn't have a checkout: {cwd}"
        ))
        .at_field("run.cwd"));
    }

    if let Some(cwd) = ctx.run.get("cwd").cloned() {
        command.push(Value::from("--task-cwd"));
        command.push(cwd);
    }
    support_caches(config, ctx)?;
    let level = config.params.level().to_owned();
    map_entry(worker(ctx), "env").insert("MOZ_SCM_LEVEL", Value::from(level));
    Ok(())
}

/// The repositories a task checks out: all configured ones for `true`,
/// or the listed ones with their overrides.
fn checkout_repositories(
    config: &TransformConfig<'_>,
    checkout: &Value,
) -> Result<Vec<RepoConfig>> {
    let all = config.repo_configs()?;
    match checkout {
        Value::Map(selected) => {
            let mut out = Vec::with_capacity(selected.len());
            for (prefix, overrides) in selected {
                let mut repo = all.get(prefix).cloned().ok_or_else(|| {
                    Error::transform(format!(
                        "checkout names repository `{prefix}`, which config.yml does not define"
                    ))
                    .at_field("run.checkout")
                })?;
                apply_repo_overrides(&mut repo, overrides)?;
                out.push(repo);
            }
            Ok(out)
        }
        _ if all.len() > 1 => Err(Error::transform(
            "Must explicitly specify checkouts with multiple repos.",
        )
        .at_field("run.checkout")),
        _ => Ok(all.values().cloned().collect()),
    }
}

fn apply_repo_overrides(repo: &mut RepoConfig, overrides: &Value) -> Result<()> {
    for (key, value) in overrides.as_map().into_iter().flatten() {
        let text = (!value.is_null()).then(|| py_str(value));
        match key {
            "prefix" => repo.prefix = text.unwrap_or_default(),
            "name" => repo.name = text.unwrap_or_default(),
            "base_repository" => repo.base_repository = text,
            "head_repository" => repo.head_repository = text,
            "head_ref" => repo.head_ref = text,
            "type" => repo.kind = text,
            "path" => repo.path = text.unwrap_or_default(),
            "head_rev" => repo.head_rev = text,
            "ssh_secret_name" => repo.ssh_secret_name = text,
            other => {
                return Err(
                    Error::transform(format!("unknown checkout setting `{other}`"))
                        .at_field(&format!("run.checkout.{}", repo.prefix)),
                );
            }
        }
    }
    Ok(())
}

fn checkout_dir(ctx: &RunContext) -> String {
    if worker_str(ctx, "os") == "windows" {
        "build".to_owned()
    } else if worker_str(ctx, "implementation") == "docker-worker" {
        match ctx.run.get("workdir") {
            Some(Value::Str(workdir)) => [workdir, "/checkouts"].concat(),
            workdir => workdir.map(py_str).unwrap_or_default() + "/checkouts",
        }
    } else {
        "checkouts".to_owned()
    }
}

/// Environment and scopes for a checkout; returns the checkout directory
/// (`support_vcs_checkout`).
fn support_vcs_checkout(ctx: &mut RunContext, repos: &[RepoConfig]) -> Result<String> {
    let os = worker_str(ctx, "os").into_owned();
    if !matches!(os.as_str(), "linux" | "macosx" | "windows") {
        return Err(Error::transform(format!(
            "run-task checkouts need a linux, macosx or windows worker, not `{os}`"
        ))
        .at_field("worker.os"));
    }
    let is_docker = worker_str(ctx, "implementation") == "docker-worker";
    let checkout_dir = checkout_dir(ctx);
    let hg_store = if os == "windows" {
        "y:/hg-shared".to_owned()
    } else if is_docker {
        [checkout_dir.as_str(), "/hg-store"].concat()
    } else {
        [checkout_dir.as_str(), "/hg-shared"].concat()
    };
    let vcs_dir = [
        checkout_dir.as_str(),
        if os == "windows" { "/src" } else { "/vcs" },
    ]
    .concat();

    let names = Map::from_iter(
        repos
            .iter()
            .map(|r| (r.prefix.as_str(), Value::from(r.name.as_str()))),
    );
    let repositories = python::json_compact(&Value::Map(names), false)?;
    let env = map_entry(worker(ctx), "env");
    env.reserve(3 + 6 * repos.len());
    env.insert("HG_STORE_PATH", Value::from(hg_store));
    env.insert("REPOSITORIES", Value::from(repositories));
    env.insert("VCS_PATH", Value::from(vcs_dir.as_str()));
    let mut scopes = Vec::new();
    for repo in repos {
        let upper = repo.prefix.to_uppercase();
        let fields = [
            ("BASE_REPOSITORY", &repo.base_repository),
            ("HEAD_REPOSITORY", &repo.head_repository),
            ("HEAD_REV", &repo.head_rev),
            ("HEAD_REF", &repo.head_ref),
            ("REPOSITORY_TYPE", &repo.kind),
            ("SSH_SECRET_NAME", &repo.ssh_secret_name),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                env.insert([&upper, "_", key].concat(), Value::from(value.as_str()));
            }
        }
        if let Some(secret) = repo.ssh_secret_name.as_deref().filter(|s| !s.is_empty()) {
            scopes.push(Value::from(format!("secrets:get:{secret}")));
        }
    }

    list_entry(&mut ctx.desc, "scopes").extend(scopes);
    if is_docker {
        worker(ctx).insert("taskcluster-proxy", Value::Bool(true));
    }
    Ok(vcs_dir)
}

/// Mounts the caches the task uses (`support_caches`).
fn support_caches(config: &TransformConfig<'_>, ctx: &mut RunContext) -> Result<()> {
    let mut base_cache_dir = ".task-cache".to_owned();
    if worker_str(ctx, "implementation") == "docker-worker" {
        let workdir = ctx
            .run
            .get("workdir")
            .filter(|w| w.is_truthy())
            .map_or_else(|| "/builds/worker".to_owned(), py_str);
        base_cache_dir = path::join(&workdir, &base_cache_dir);
    }

    let use_caches = match ctx.run.get("use-caches").filter(|v| !v.is_null()) {
        Some(value) => value.clone(),
        None => config
            .graph_config
            .taskgraph()
            .and_then(|t| t.get("run"))
            .and_then(|r| r.get("use-caches"))
            .cloned()
            .unwrap_or_else(|| Value::str_list(["checkout"])),
    };
    let has_checkout = ctx.run.get("checkout").is_some_and(Value::is_truthy);

    for name in CACHE_NAMES {
        if !should_use_cache(name, &use_caches, has_checkout) {
            continue;
        }
        let (cache_dir, cache_name) = if *name == "checkout" {
            (checkout_dir(ctx), checkout_cache_name(config, ctx)?)
        } else {
            ([&base_cache_dir, "/", name].concat(), (*name).to_owned())
        };
        if let Some(env_var) = cache_env_var(name) {
            map_entry(worker(ctx), "env")
                .insert(env_var.to_owned(), Value::from(cache_dir.as_str()));
        }
        add_cache(ctx, &cache_name, &cache_dir, false);
    }
    Ok(())
}

fn cache_env_var(name: &str) -> Option<&'static str> {
    match name {
        "cargo" => Some("CARGO_HOME"),
        "npm" => Some("npm_config_cache"),
        "pip" => Some("PIP_CACHE_DIR"),
        "uv" => Some("UV_CACHE_DIR"),
        _ => None,
    }
}

fn should_use_cache(name: &str, use_caches: &Value, has_checkout: bool) -> bool {
    if name == "checkout" && !has_checkout {
        return false;
    }
    match use_caches {
        Value::Bool(all) => *all,
        Value::List(names) => names.contains(&Value::from(name)),
        _ => false,
    }
}

/// `checkouts`, made distinct per set of repositories and for sparse
/// checkouts.
fn checkout_cache_name(config: &TransformConfig<'_>, ctx: &RunContext) -> Result<String> {
    let repos = config.repo_configs()?;
    let mut name = "checkouts".to_owned();
    if repos.len() > 1 {
        // The reference joins a Python set here, so its order (and the
        // hash) varies between runs; sorting makes ours reproducible.
        let mut sorted: Vec<&RepoConfig> = repos.values().collect();
        sorted.sort_by(|a, b| a.path.cmp(&b.path));
        let mut entries: Vec<String> = sorted
            .iter()
            .map(|r| format!("{}\t{}", r.path, r.prefix))
            .collect();
        entries.sort();
        entries.dedup();
        let digest = Sha256::digest(entries.join("\n").as_bytes());
        name.push_str(&format!("-repos-{digest:x}"));
    }
    if ctx.run.get("sparse-profile").is_some_and(Value::is_truthy) {
        name.push_str("-sparse");
    }
    Ok(name)
}

/// Adds a cache to a docker-worker or generic-worker task (`add_cache`).
pub fn add_cache(ctx: &mut RunContext, name: &str, mount_point: &str, skip_untrusted: bool) {
    match worker_str(ctx, "implementation").as_ref() {
        "docker-worker" => {
            let cache = Map::from_iter([
                ("type", Value::from("persistent")),
                ("name", Value::from(name)),
                ("mount-point", Value::from(mount_point)),
                ("skip-untrusted", Value::Bool(skip_untrusted)),
            ]);
            list_entry(worker(ctx), "caches").push(Value::Map(cache));
        }
        "generic-worker" => {
            let mount = Map::from_iter([
                ("cache-name", Value::from(name)),
                ("directory", Value::from(mount_point)),
            ]);
            list_entry(worker(ctx), "mounts").push(Value::Map(mount));
        }
        _ => {}
    }
}

fn add_artifacts(ctx: &mut RunContext, path: &str) {
    let name = artifact_prefix(ctx.desc.get("attributes").and_then(Value::as_map));
    let artifact = Map::from_iter([
        ("name", Value::from(name)),
        ("path", Value::from(path)),
        ("type", Value::from("directory")),
    ]);
    list_entry(worker(ctx), "artifacts").push(Value::Map(artifact));
}

/// Publishes `<workdir>/artifacts/` and points `UPLOAD_DIR` at it.
pub fn docker_worker_add_artifacts(ctx: &mut RunContext) {
    let workdir = ctx.run.get("workdir").map(py_str).unwrap_or_default();
    let path = workdir + "/artifacts/";
    map_entry(worker(ctx), "env").insert("UPLOAD_DIR", Value::from(path.as_str()));
    add_artifacts(ctx, &path);
}

/// Publishes the artifact-prefix directory of the task directory.
pub fn generic_worker_add_artifacts(ctx: &mut RunContext) {
    let path = artifact_prefix(ctx.desc.get("attributes").and_then(Value::as_map));
    add_artifacts(ctx, &path);
}

#[cfg(test)]
mod tests {
    use crate::transforms::run::testing::Project;
    use crate::value::Value;

    fn build_kind(worker_type: &str, run: &str) -> Project {
        let project = Project::new();
        project.kind(
            "build",
            &format!(
                "tasks:\n  \
                   app:\n    \
                     description: an app\n    \
                     worker-type: {worker_type}\n    \
                     worker: {{max-run-time: 60}}\n    \
                     run: {run}\n"
            ),
        );
        project
    }

    #[test]
    fn windows_commands_are_joined_only_from_strings() {
        // The reference joins the words with `" ".join`, which refuses a
        // task reference or a number.
        let reference = "{using: run-task, command: [make, {task-reference: '<decision>'}]}";
        let text = build_kind("win", reference).error("build", "build-app", "run.command");
        assert!(text.contains("{'task-reference': '<decision>'}"), "{text}");
        build_kind(
            "win",
            "{using: run-task, command: make, run-task-command: [python, 3]}",
        )
        .error("build", "build-app", "run.run-task-command");

        // Elsewhere the words stay a list, so a reference is fine.
        let task = build_kind("mac", reference).task("build-app");
        let command = Value::Map(task.task)
            .get_path("payload.command")
            .cloned()
            .unwrap();
        let words = command.as_list().unwrap()[1].as_list().unwrap().clone();
        assert_eq!(
            words.last(),
            Some(&Value::Map(crate::value::Map::from_iter([(
                "task-reference",
                Value::from("<decision>")
            )])))
        );

        let task = build_kind("win", "{using: run-task, command: [make, all]}").task("build-app");
        let command = Value::Map(task.task)
            .get_path("payload.command")
            .cloned()
            .unwrap();
        assert_eq!(
            command,
            Value::str_list([
                "C:/mozilla-build/python3/python3.exe run-task --unit-checkout=build/src/ -- make all"
            ])
        );
    }
}
