//! Worker payload builders: the `payload` of a task definition for each
//! worker implementation (docker-worker, generic-worker, beetmover, and the
//! built-in `invalid`, `always-optimized` and `succeed` workers).

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::python::py_str;
use crate::registry::{PayloadBuilder, Registry};
use crate::schema::{
    DictSchema, Field, KeyRule, Schema, dict, one_of_strs, opt, req, str_list, str_map,
    taskref_or_string,
};
use crate::transform::{TransformConfig, list_entry, map_entry};
use crate::util::docker;
use crate::value::{Map, Value};

/// A payload schema: `implementation` (this one), optional `os`, then the
/// implementation's own fields; anything else is refused unless the
/// fields allow it.
fn payload_schema(
    implementation: &'static str,
    fields: Vec<Field>,
    allow_any: bool,
) -> Arc<Schema> {
    let mut schema: DictSchema = dict([
        req("implementation", Schema::literal(implementation)),
        opt("os", Schema::Str),
    ])
    .extend(fields)
    .deny_extra();
    if allow_any {
        schema = schema.key_rule(KeyRule::AnyStr, Schema::Anything);
    }
    Arc::new(schema.into())
}

pub fn register(registry: &mut Registry) {
    registry.add_payload_builder(
        "docker-worker",
        PayloadBuilder {
            schema: payload_schema("docker-worker", docker_worker_fields(), false),
            build: build_docker_worker,
        },
    );
    registry.add_payload_builder(
        "generic-worker",
        PayloadBuilder {
            schema: payload_schema("generic-worker", generic_worker_fields(), false),
            build: build_generic_worker,
        },
    );
    registry.add_payload_builder(
        "beetmover",
        PayloadBuilder {
            schema: payload_schema("beetmover", beetmover_fields(), false),
            build: build_beetmover,
        },
    );
    registry.add_payload_builder(
        "invalid",
        PayloadBuilder {
            schema: payload_schema("invalid", vec![], true),
            build: |_, _, task_def| {
                task_def.insert(
                    "payload",
                    Value::from("invalid task - should never be created"),
                );
                Ok(())
            },
        },
    );
    for (name, allow_any) in [("always-optimized", true), ("succeed", false)] {
        registry.add_payload_builder(
            name,
            PayloadBuilder {
                schema: payload_schema(name, vec![], allow_any),
                build: |_, _, task_def| {
                    task_def.insert("payload", Value::Map(Map::default()));
                    Ok(())
                },
            },
        );
    }
}

fn docker_worker_fields() -> Vec<Field> {
    let image = Schema::OneOf(vec![
        Schema::Str,
        dict([opt("in-tree", Schema::Str)]).into(),
        dict([opt("indexed", Schema::Str)]).into(),
    ]);
    let cache = dict([
        opt("type", Schema::literal("persistent")),
        opt("name", Schema::Str),
        opt("mount-point", Schema::Str),
        opt("skip-untrusted", Schema::Bool),
    ]);
    let artifact = dict([
        opt("type", one_of_strs(&["file", "directory", "volume"])),
        opt("path", Schema::Str),
        opt("name", Schema::Str),
    ]);
    let mut fields = vec![
        req("os", Schema::literal("linux")),
        req("docker-image", image),
    ];
    for flag in [
        "relengapi-proxy",
        "chain-of-trust",
        "taskcluster-proxy",
        "allow-ptrace",
        "loopback-video",
        "loopback-audio",
        "docker-in-docker",
        "privileged",
    ] {
        fields.push(req(flag, Schema::Bool));
    }
    fields.extend([
        opt("volumes", str_list()),
        opt("caches", Schema::ListOf(vec![cache.into()])),
        opt("artifacts", Schema::ListOf(vec![artifact.into()])),
        req("env", str_map(taskref_or_string())),
        opt("command", Schema::ListOf(vec![taskref_or_string()])),
        req("max-run-time", Schema::Int),
        opt("retry-exit-status", Schema::ListOf(vec![Schema::Int])),
        opt(
            "purge-caches-exit-status",
            Schema::ListOf(vec![Schema::Int]),
        ),
        opt("skip-artifacts", Schema::Bool),
    ]);
    fields
}

fn generic_worker_fields() -> Vec<Field> {
    let artifact = dict([
        opt("type", one_of_strs(&["file", "directory"])),
        opt("path", Schema::Str),
        opt("name", Schema::Str),
    ]);
    let content = dict([
        opt("artifact", Schema::Str),
        opt("task-id", taskref_or_string()),
        opt("url", Schema::Str),
    ]);
    let mount = dict([
        opt("cache-name", Schema::Str),
        opt("content", content.into()),
        opt("directory", Schema::Str),
        opt("file", Schema::Str),
        opt("format", one_of_strs(&["rar", "tar.bz2", "tar.gz", "zip"])),
    ]);
    vec![
        req(
            "os",
            one_of_strs(&["windows", "macosx", "linux", "linux-bitbar"]),
        ),
        req(
            "command",
            Schema::OneOf(vec![
                Schema::ListOf(vec![taskref_or_string()]),
                Schema::ListOf(vec![Schema::ListOf(vec![taskref_or_string()])]),
            ]),
        ),
        opt("artifacts", Schema::ListOf(vec![artifact.into()])),
        opt("mounts", Schema::ListOf(vec![mount.into()])),
        req("env", str_map(taskref_or_string())),
        req("max-run-time", Schema::Int),
        opt("retry-exit-status", Schema::ListOf(vec![Schema::Int])),
        opt(
            "purge-caches-exit-status",
            Schema::ListOf(vec![Schema::Int]),
        ),
        opt("os-groups", str_list()),
        opt("run-as-administrator", Schema::Bool),
        opt("run-task-as-current-user", Schema::Bool),
        req("chain-of-trust", Schema::Bool),
        opt("taskcluster-proxy", Schema::Bool),
        opt("skip-artifacts", Schema::Bool),
    ]
}

fn beetmover_fields() -> Vec<Field> {
    let properties = dict([
        opt("app-name", Schema::Str),
        opt("app-version", Schema::Str),
        opt("branch", Schema::Str),
        opt("build-id", Schema::Str),
        opt("hash-type", Schema::Str),
        opt("platform", Schema::Str),
    ]);
    let upstream = dict([
        req("taskId", taskref_or_string()),
        req("taskType", Schema::Str),
        req("paths", str_list()),
        req("locale", Schema::Str),
    ]);
    vec![
        req("max-run-time", Schema::Int),
        opt("locale", Schema::Str),
        opt("partner-public", Schema::Bool),
        req("release-properties", properties.into()),
        req("upstream-artifacts", Schema::ListOf(vec![upstream.into()])),
        opt("artifact-map", Schema::Anything),
    ]
}

/// `entry[key]` of a mapping the reference indexes directly: a missing key
/// stops generation there (the schema alone lets it be left out).
fn entry_key<'a>(entry: &'a Value, key: &str, field: &str) -> Result<&'a Value> {
    entry.get(key).ok_or_else(|| {
        Error::schema(format!("`{key}` must be given (in `{field}`)"))
            .at_field(&format!("{field}.{key}"))
    })
}

fn worker_mut(task: &mut Map) -> &mut Map {
    map_entry(task, "worker")
}

fn flag(worker: &Map, key: &str) -> bool {
    worker.get(key).is_some_and(Value::is_truthy)
}

fn push_scope(task_def: &mut Map, scope: Value) {
    list_entry(task_def, "scopes").push(scope);
}

/// The docker-worker payload (`build_docker_worker_payload`).
fn build_docker_worker(
    config: &TransformConfig<'_>,
    task: &mut Map,
    task_def: &mut Map,
) -> Result<()> {
    let level = config.params.level().to_owned();
    let image = docker_image(config, task)?;
    let needs_sccache = task.get("needs-sccache").is_some_and(Value::is_truthy);
    let worker = worker_mut(task);

    let mut features = Map::default();
    let mut capabilities = Map::default();
    for (key, feature) in [
        ("relengapi-proxy", "relengAPIProxy"),
        ("taskcluster-proxy", "taskclusterProxy"),
    ] {
        if flag(worker, key) {
            features.insert(feature, Value::Bool(true));
        }
    }
    if flag(worker, "allow-ptrace") {
        features.insert("allowPtrace", Value::Bool(true));
        push_scope(task_def, Value::from("docker-worker:feature:allowPtrace"));
    }
    if flag(worker, "chain-of-trust") {
        features.insert("chainOfTrust", Value::Bool(true));
    }
    if flag(worker, "docker-in-docker") {
        features.insert("dind", Value::Bool(true));
    }

    let env = map_entry(worker, "env");
    if needs_sccache {
        features.insert("taskclusterProxy", Value::Bool(true));
        let scope = format!(
            "assume:project:taskcluster:{}:level-{level}-sccache-buckets",
            config.graph_config.trust_domain()
        );
        push_scope(task_def, Value::from(scope));
        env.insert("USE_SCCACHE", Value::from("1"));
        env.insert("SCCACHE_IDLE_TIMEOUT", Value::from("0"));
    } else {
        env.insert("SCCACHE_DISABLE", Value::from("1"));
    }

    for (key, capability) in [
        ("loopback-audio", "loopbackAudio"),
        ("loopback-video", "loopbackVideo"),
    ] {
        if flag(worker, key) {
            map_entry(&mut capabilities, "devices").insert(capability, Value::Bool(true));
            push_scope(
                task_def,
                Value::from(format!("docker-worker:capability:device:{capability}")),
            );
        }
    }
    if flag(worker, "privileged") {
        capabilities.insert("privileged", Value::Bool(true));
        push_scope(task_def, Value::from("docker-worker:capability:privileged"));
    }

    // The task transform drops the worker section once the payload is
    // built, so what the payload carries over is moved, not copied.
    let mut payload = Map::with_capacity(10);
    payload.insert("image", image);
    payload.insert("env", worker.shift_remove("env").unwrap_or_default());
    if let Some(command) = worker.shift_remove("command") {
        payload.insert("command", command);
    }
    if let Some(max_run_time) = worker.shift_remove("max-run-time") {
        payload.insert("maxRunTime", max_run_time);
    }

    let run_task = is_run_task(&payload)?;
    if run_task {
        // run-task exits 72 when its caches are broken: retry and purge.
        list_entry(worker, "retry-exit-status").push(Value::Int(72));
        list_entry(worker, "purge-caches-exit-status").push(Value::Int(72));
    }
    let mut on_exit = Map::default();
    if let Some(retry) = worker.shift_remove("retry-exit-status") {
        on_exit.insert("retry", retry);
    }
    if let Some(purge) = worker.shift_remove("purge-caches-exit-status") {
        on_exit.insert("purgeCaches", purge);
    }
    payload.insert("onExitStatus", Value::Map(on_exit));

    if let Some(Value::List(artifacts)) = worker.get("artifacts") {
        let expires = task_def.get("expires").cloned().unwrap_or_default();
        let mut out = Map::default();
        for artifact in artifacts {
            let field = "worker.artifacts";
            let entry = Map::from_iter([
                (
                    "path".to_owned(),
                    entry_key(artifact, "path", field)?.clone(),
                ),
                (
                    "type".to_owned(),
                    entry_key(artifact, "type", field)?.clone(),
                ),
                ("expires".to_owned(), expires.clone()),
            ]);
            out.insert(
                py_str(entry_key(artifact, "name", field)?),
                Value::Map(entry),
            );
        }
        payload.insert("artifacts", Value::Map(out));
    }

    let skip_untrusted = config.params.is_try() || level == "1";
    if worker.contains_key("caches") {
        let (caches, scopes) = docker_caches(config, worker, run_task, skip_untrusted)?;
        for scope in scopes {
            push_scope(task_def, scope);
        }
        if run_task {
            let mut mounts: Vec<String> = caches.values().map(py_str).collect();
            mounts.sort();
            map_entry(&mut payload, "env")
                .insert("TASKCLUSTER_CACHES", Value::from(mounts.join(";")));
        }
        payload.insert(
            "cache",
            Value::Map(Map::from_iter([("task-reference", Value::Map(caches))])),
        );
    }

    if run_task && let Some(Value::List(volumes)) = worker.get("volumes").filter(|v| v.is_truthy())
    {
        let mut volumes: Vec<String> = volumes.iter().map(py_str).collect();
        volumes.sort();
        map_entry(&mut payload, "env")
            .insert("TASKCLUSTER_VOLUMES", Value::from(volumes.join(";")));
    }
    if payload.get("cache").is_some_and(Value::is_truthy) && skip_untrusted {
        map_entry(&mut payload, "env").insert("TASKCLUSTER_UNTRUSTED_CACHES", Value::from("1"));
    }
    if !features.is_empty() {
        payload.insert("features", Value::Map(features));
    }
    if !capabilities.is_empty() {
        payload.insert("capabilities", Value::Map(capabilities));
    }
    task_def.insert("payload", Value::Map(payload));

    check_caches_are_volumes(task)
}

/// The payload image; an in-tree image adds the `docker-image` dependency
/// and the volumes its Dockerfile declares.
fn docker_image(config: &TransformConfig<'_>, task: &mut Map) -> Result<Value> {
    let image = task
        .get("worker")
        .and_then(|w| w.get("docker-image"))
        .cloned()
        .unwrap_or_default();
    let Value::Map(image) = image else {
        return Ok(image);
    };

    if let Some(name) = image.get("in-tree") {
        let name = py_str(name);
        let dependencies = map_entry(task, "dependencies");
        if dependencies.contains_key("docker-image") {
            return Err(
                Error::transform("docker-image key in dependencies object is reserved")
                    .at_field("dependencies"),
            );
        }
        dependencies.insert("docker-image", Value::from(format!("docker-image-{name}")));

        let volumes = docker::volumes(config.graph_config, &name)
            .map_err(|e| e.at_field("worker.docker-image"))?;
        let worker_volumes = list_entry(worker_mut(task), "volumes");
        for volume in volumes.iter() {
            let volume = Value::from(volume.as_str());
            if worker_volumes.contains(&volume) {
                return Err(Error::transform(format!(
                    "volume {} already defined; if it is defined in a Dockerfile, it does not need to be specified in \
                     the worker definition",
                    py_str(&volume)
                ))
                .at_field("worker.volumes"));
            }
            worker_volumes.push(volume);
        }
        return Ok(Value::Map(Map::from_iter([
            ("path", Value::from("public/image.tar.zst")),
            (
                "taskId",
                Value::Map(Map::from_iter([(
                    "task-reference",
                    Value::from("<docker-image>"),
                )])),
            ),
            ("type", Value::from("task-image")),
        ])));
    }
    if let Some(namespace) = image.get("indexed") {
        return Ok(Value::Map(Map::from_iter([
            ("path", Value::from("public/image.tar.zst")),
            ("namespace", namespace.clone()),
            ("type", Value::from("indexed-image")),
        ])));
    }
    Err(Error::transform("unknown docker image type").at_field("worker.docker-image"))
}

fn is_run_task(payload: &Map) -> Result<bool> {
    let Some(command) = payload.get("command").and_then(Value::as_list) else {
        return Ok(false);
    };
    match command.first() {
        // The reference reads the first word of any command it is given.
        None => Err(Error::schema(
            "a docker-worker command must not be empty; leave it out to run the image's own command",
        )
        .at_field("worker.command")),
        Some(Value::Str(first)) => Ok(first.ends_with("run-task")),
        Some(other) => Err(Error::transform(format!(
            "the first word of a docker-worker command must be a string, not {}",
            other.type_name()
        ))
        .at_field("worker.command")),
    }
}

/// Cache names (made distinct per run-task version and image) and their
/// scopes; caches marked `skip-untrusted` are dropped for untrusted runs.
fn docker_caches(
    config: &TransformConfig<'_>,
    worker: &Map,
    run_task: bool,
    skip_untrusted: bool,
) -> Result<(Map, Vec<Value>)> {
    let suffix = if run_task {
        let run_task_hash = config.graph_config.run_task_suffix()?;
        match worker.get("docker-image") {
            Some(Value::Str(image)) => {
                let digest = format!("{:x}", Sha256::digest(image.as_bytes()));
                format!("v3-{run_task_hash}{}", &digest[..12])
            }
            _ => format!("v3-{run_task_hash}-<docker-image>"),
        }
    } else {
        "v3".to_owned()
    };

    let trust_domain = config.graph_config.trust_domain();
    let level = config.params.level();
    let mut caches = Map::default();
    let mut scopes = Vec::new();
    for cache in worker
        .get("caches")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
    {
        if skip_untrusted && cache.get("skip-untrusted").is_some_and(Value::is_truthy) {
            continue;
        }
        let cache_name = py_str(entry_key(cache, "name", "worker.caches")?);
        let name = [
            trust_domain,
            "-level-",
            level,
            "-",
            &cache_name,
            "-",
            &suffix,
        ]
        .concat();
        caches.insert(
            name.clone(),
            entry_key(cache, "mount-point", "worker.caches")?.clone(),
        );
        let scope = Map::from_iter([(
            "task-reference",
            Value::from(["docker-worker:cache:", &name].concat()),
        )]);
        scopes.push(Value::Map(scope));
    }
    Ok((caches, scopes))
}

/// Every cache mount point must be declared as a volume.
fn check_caches_are_volumes(task: &Map) -> Result<()> {
    let worker = task.get("worker");
    let volumes: Vec<String> = worker
        .and_then(|w| w.get("volumes"))
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
        .map(py_str)
        .collect();
    let mut missing: Vec<String> = Vec::new();
    for cache in worker
        .and_then(|w| w.get("caches"))
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
    {
        // Skipped caches too: the reference reads every mount point here.
        let mount_point = py_str(entry_key(cache, "mount-point", "worker.caches")?);
        if !volumes.contains(&mount_point) {
            missing.push(mount_point);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort();
    missing.dedup();
    let image = worker
        .and_then(|w| w.get("docker-image"))
        .map(py_str)
        .unwrap_or_default();
    Err(Error::transform(format!(
        "task {} (image {image}) has caches that are not declared as Docker volumes: {} (have you added them as \
         VOLUMEs in the Dockerfile?)",
        task.get("label").map(py_str).unwrap_or_default(),
        missing.join(", ")
    ))
    .at_field("worker.caches"))
}

/// The generic-worker payload (`build_generic_worker_payload`).
fn build_generic_worker(
    config: &TransformConfig<'_>,
    task: &mut Map,
    task_def: &mut Map,
) -> Result<()> {
    let needs_sccache = task.get("needs-sccache").is_some_and(Value::is_truthy);
    let worker_type = task.get("worker-type").map(py_str).unwrap_or_default();
    let worker = worker_mut(task);
    let mut payload = Map::default();
    payload.insert(
        "command",
        worker.get("command").cloned().unwrap_or_default(),
    );
    payload.insert(
        "maxRunTime",
        worker.get("max-run-time").cloned().unwrap_or_default(),
    );

    let mut on_exit = Map::default();
    if let Some(retry) = worker.get("retry-exit-status") {
        on_exit.insert("retry", retry.clone());
    }
    if let Some(purge) = worker.get("purge-caches-exit-status") {
        on_exit.insert("purgeCaches", purge.clone());
    }
    if worker.get("os").and_then(Value::as_str) == Some("windows") {
        // Interrupted processes on Windows: retry rather than fail.
        list_entry(&mut on_exit, "retry").extend([Value::Int(1073807364), Value::Int(3221225786)]);
    }
    if !on_exit.is_empty() {
        payload.insert("onExitStatus", Value::Map(on_exit));
    }

    let env = map_entry(worker, "env");
    if needs_sccache {
        env.insert("USE_SCCACHE", Value::from("1"));
        env.insert("SCCACHE_IDLE_TIMEOUT", Value::from("0"));
    } else {
        env.insert("SCCACHE_DISABLE", Value::from("1"));
    }
    if !env.is_empty() {
        payload.insert("env", Value::Map(env.clone()));
    }

    let mut artifacts: Vec<Value> = Vec::new();
    for artifact in worker
        .get("artifacts")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
    {
        let mut entry = Map::default();
        for key in ["path", "type"] {
            let value = entry_key(artifact, key, "worker.artifacts")?;
            entry.insert(key, value.clone());
        }
        if let Some(name) = artifact.get("name") {
            entry.insert("name", name.clone());
        }
        artifacts.push(Value::Map(entry));
    }
    if !artifacts.is_empty() {
        payload.insert("artifacts", Value::List(artifacts));
    }

    let mounts = generic_worker_mounts(config, worker, task_def)?;
    if !mounts.is_empty() {
        payload.insert("mounts", Value::List(mounts));
    }

    if let Some(groups) = worker.get("os-groups").filter(|g| g.is_truthy()) {
        payload.insert("osGroups", groups.clone());
        for group in groups.as_list().into_iter().flatten() {
            push_scope(
                task_def,
                Value::from(format!(
                    "generic-worker:os-group:{worker_type}/{}",
                    py_str(group)
                )),
            );
        }
    }

    let mut features = Map::default();
    if flag(worker, "chain-of-trust") {
        features.insert("chainOfTrust", Value::Bool(true));
    }
    if flag(worker, "taskcluster-proxy") {
        features.insert("taskclusterProxy", Value::Bool(true));
    }
    if flag(worker, "run-as-administrator") {
        features.insert("runAsAdministrator", Value::Bool(true));
        push_scope(
            task_def,
            Value::from(format!("generic-worker:run-as-administrator:{worker_type}")),
        );
    }
    if flag(worker, "run-task-as-current-user") {
        features.insert("runTaskAsCurrentUser", Value::Bool(true));
        push_scope(
            task_def,
            Value::from(format!(
                "generic-worker:run-task-as-current-user:{worker_type}"
            )),
        );
    }
    if !features.is_empty() {
        payload.insert("features", Value::Map(features));
    }
    task_def.insert("payload", Value::Map(payload));
    Ok(())
}

/// Mounts with Taskcluster's key spelling; caches are named per trust
/// domain and level, and private artifacts need a scope.
fn generic_worker_mounts(
    config: &TransformConfig<'_>,
    worker: &Map,
    task_def: &mut Map,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for mount in worker
        .get("mounts")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
    {
        let Value::Map(mut mount) = mount.clone() else {
            continue;
        };
        if let Some(name) = mount.shift_remove("cache-name") {
            let cache_name = format!(
                "{}-level-{}-{}",
                config.graph_config.trust_domain(),
                config.params.level(),
                py_str(&name)
            );
            push_scope(
                task_def,
                Value::from(format!("generic-worker:cache:{cache_name}")),
            );
            mount.insert("cacheName", Value::from(cache_name));
        }
        if let Some(Value::Map(content)) = mount.get_mut("content") {
            if let Some(task_id) = content.shift_remove("task-id") {
                content.insert("taskId", task_id);
            }
            if let Some(artifact) = content.get("artifact").map(py_str)
                && !artifact.starts_with("public/")
            {
                push_scope(
                    task_def,
                    Value::from(format!("queue:get-artifact:{artifact}")),
                );
            }
        }
        out.push(Value::Map(mount));
    }
    Ok(out)
}

/// The beetmover payload.
fn build_beetmover(config: &TransformConfig<'_>, task: &mut Map, task_def: &mut Map) -> Result<()> {
    let worker = worker_mut(task);
    let properties = worker
        .get("release-properties")
        .cloned()
        .unwrap_or_default();
    // Each property is read directly, so each must be given.
    let mut release_properties = Map::default();
    for (key, name) in [
        ("app-name", "appName"),
        ("app-version", "appVersion"),
        ("branch", "branch"),
        ("build-id", "buildid"),
        ("hash-type", "hashType"),
        ("platform", "platform"),
    ] {
        let value = entry_key(&properties, key, "worker.release-properties")?;
        release_properties.insert(name.to_owned(), value.clone());
    }
    let mut payload = Map::default();
    payload.insert(
        "maxRunTime",
        worker.get("max-run-time").cloned().unwrap_or_default(),
    );
    payload.insert("releaseProperties", Value::Map(release_properties));
    payload.insert(
        "upload_date",
        config.params.get("build_date").cloned().unwrap_or_default(),
    );
    payload.insert(
        "upstreamArtifacts",
        worker
            .get("upstream-artifacts")
            .cloned()
            .unwrap_or_default(),
    );
    for (key, name) in [
        ("locale", "locale"),
        ("artifact-map", "artifactMap"),
        ("partner-public", "is_partner_repack_public"),
    ] {
        if let Some(value) = worker.get(key).filter(|v| v.is_truthy()) {
            payload.insert(name, value.clone());
        }
    }
    task_def.insert("payload", Value::Map(payload));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::transforms::run::testing::Project;
    use crate::value::Value;

    /// A task given to the task transforms only.
    fn direct_task(worker_type: &str, worker: &str) -> Project {
        let project = Project::new();
        project.kind(
            "direct",
            &format!(
                "loader: taskgraph.loader.transform:loader\n\
                 transforms: [taskgraph.transforms.task]\n\
                 tasks:\n  \
                   job:\n    \
                     description: a job\n    \
                     worker-type: {worker_type}\n    \
                     worker: {worker}\n"
            ),
        );
        project
    }

    #[test]
    fn docker_artifacts_need_a_name_path_and_type() {
        // The schema leaves them optional, but the reference indexes them.
        for (missing, artifact) in [
            ("name", "{path: /out, type: file}"),
            ("path", "{name: public/out, type: file}"),
            ("type", "{name: public/out, path: /out}"),
        ] {
            direct_task(
                "linux",
                &format!("{{docker-image: 'x:1', max-run-time: 60, artifacts: [{artifact}]}}"),
            )
            .error(
                "direct",
                "direct-job",
                &format!("worker.artifacts.{missing}"),
            );
        }
    }

    #[test]
    fn docker_caches_need_a_mount_point_and_a_name_unless_skipped() {
        direct_task(
            "linux",
            "{docker-image: 'x:1', max-run-time: 60, caches: [{type: persistent, name: c}]}",
        )
        .error("direct", "direct-job", "worker.caches.mount-point");
        direct_task(
            "linux",
            "{docker-image: 'x:1', max-run-time: 60, volumes: [/c], \
             caches: [{type: persistent, mount-point: /c}]}",
        )
        .error("direct", "direct-job", "worker.caches.name");

        // At level 3 a skip-untrusted cache is used, so it needs its name;
        // at level 1 it is dropped before the name is read.
        let skipped = "{docker-image: 'x:1', max-run-time: 60, volumes: [/c], \
                       caches: [{type: persistent, mount-point: /c, skip-untrusted: true}]}";
        direct_task("linux", skipped).error("direct", "direct-job", "worker.caches.name");
        let project = direct_task("linux", skipped);
        let params = std::fs::read_to_string(project_params(&project)).unwrap();
        project.file("params.yml", &params.replace("level: '3'", "level: '1'"));
        let task = project.task("direct-job");
        assert_eq!(
            Value::Map(task.task).get_path("payload.env.TASKCLUSTER_UNTRUSTED_CACHES"),
            Some(&Value::from("1"))
        );
    }

    fn project_params(project: &Project) -> std::path::PathBuf {
        project.path().join("params.yml")
    }

    #[test]
    fn an_empty_docker_command_is_refused() {
        // The reference reads the first word of the command.
        direct_task(
            "linux",
            "{docker-image: 'x:1', max-run-time: 60, command: []}",
        )
        .error("direct", "direct-job", "worker.command");
        let task =
            direct_task("linux", "{docker-image: 'x:1', max-run-time: 60}").task("direct-job");
        assert_eq!(Value::Map(task.task).get_path("payload.command"), None);
    }

    #[test]
    fn beetmover_release_properties_are_all_required() {
        let project = Project::new();
        let config =
            std::fs::read_to_string(project.path().join("taskcluster/config.yml")).unwrap();
        project.file(
            "taskcluster/config.yml",
            &format!(
                "{config}        mover:\n            provisioner: unit\n            implementation: beetmover\n            \
                 os: linux\n            worker-type: mover\n"
            ),
        );
        let properties = "{app-name: a, app-version: '1', branch: b, build-id: '2', hash-type: sha512, platform: p}";
        let worker = |properties: &str| {
            format!(
                "{{max-run-time: 60, release-properties: {properties}, upstream-artifacts: []}}"
            )
        };
        project.kind(
            "direct",
            &format!(
                "loader: taskgraph.loader.transform:loader\n\
                 transforms: [taskgraph.transforms.task]\n\
                 tasks:\n  job:\n    description: d\n    worker-type: mover\n    worker: {}\n",
                worker(&properties.replace("app-name: a, ", ""))
            ),
        );
        project.error("direct", "direct-job", "worker.release-properties.app-name");

        project.kind(
            "direct",
            &format!(
                "loader: taskgraph.loader.transform:loader\n\
                 transforms: [taskgraph.transforms.task]\n\
                 tasks:\n  job:\n    description: d\n    worker-type: mover\n    worker: {}\n",
                worker(properties)
            ),
        );
        let task = project.task("direct-job");
        assert_eq!(
            Value::Map(task.task).get_path("payload.releaseProperties.appName"),
            Some(&Value::from("a"))
        );
    }

    #[test]
    fn generic_worker_artifacts_need_a_path_and_type() {
        for (missing, artifact) in [("path", "{type: file}"), ("type", "{path: out.log}")] {
            direct_task(
                "mac",
                &format!("{{max-run-time: 60, command: [[make]], artifacts: [{artifact}]}}"),
            )
            .error(
                "direct",
                "direct-job",
                &format!("worker.artifacts.{missing}"),
            );
        }
        let task = direct_task(
            "mac",
            "{max-run-time: 60, command: [[make]], artifacts: [{path: out.log, type: file}]}",
        )
        .task("direct-job");
        assert_eq!(
            Value::Map(task.task).get_path("payload.artifacts"),
            Some(&Value::List(vec![Value::Map(
                crate::value::Map::from_iter([
                    ("path", Value::from("out.log")),
                    ("type", Value::from("file")),
                ])
            )]))
        );
    }
}
