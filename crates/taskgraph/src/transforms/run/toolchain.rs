//! `run.using: toolchain-script`: build a toolchain with a script from
//! `taskcluster/scripts/toolchain/`, cached by a digest of the script, its
//! resources, the artifact name, the in-tree image name and the arguments.

use std::sync::{Arc, LazyLock};

use crate::error::{Error, Result};
use crate::python::{py_str, shell_quote};
use crate::registry::{Registry, RunContext, RunUsing};
use crate::schema::{Schema, dict, opt, req, str_list, str_map};
use crate::transform::{TransformConfig, list_entry, map_entry};
use crate::transforms::run::{
    configure_for_run, docker_worker_add_artifacts, generic_worker_add_artifacts,
};
use crate::util::path;
use crate::value::{Map, Value};

/// The cache type of toolchain tasks.
pub const CACHE_TYPE: &str = "toolchains.v3";

static SCHEMA: LazyLock<Arc<Schema>> = LazyLock::new(|| {
    Arc::new(
        dict([
            req("using", Schema::literal("toolchain-script")),
            req("script", Schema::Str),
            opt("arguments", str_list()),
            req(
                "sparse-profile",
                Schema::OneOf(vec![Schema::Str, Schema::Null]),
            ),
            opt("resources", str_list()),
            req("toolchain-artifact", Schema::Str),
            opt(
                "toolchain-alias",
                Schema::OneOf(vec![Schema::Str, str_list()]),
            ),
            opt("toolchain-env", str_map(Schema::Anything)),
            req("workdir", Schema::Str),
        ])
        .allow_extra()
        .into(),
    )
});

pub fn register(registry: &mut Registry) {
    // Toolchain digests hash the script and the `resources` patterns.
    registry.note_run_using_reads_repository_files("toolchain-script");
    let defaults = Map::from_iter([("sparse-profile", Value::from("toolchain-build"))]);
    for (implementation, build) in [
        (
            "docker-worker",
            docker_worker_toolchain as fn(&TransformConfig<'_>, &mut RunContext) -> Result<()>,
        ),
        ("generic-worker", generic_worker_toolchain),
    ] {
        registry.add_run_using(
            implementation,
            "toolchain-script",
            RunUsing {
                schema: Some(Arc::clone(&SCHEMA)),
                defaults: defaults.clone(),
                build,
            },
        );
    }
}

fn docker_worker_toolchain(config: &TransformConfig<'_>, ctx: &mut RunContext) -> Result<()> {
    common_toolchain(config, ctx, true)
}

fn generic_worker_toolchain(config: &TransformConfig<'_>, ctx: &mut RunContext) -> Result<()> {
    common_toolchain(config, ctx, false)
}

fn common_toolchain(
    config: &TransformConfig<'_>,
    ctx: &mut RunContext,
    is_docker: bool,
) -> Result<()> {
    let worker = map_entry(&mut ctx.desc, "worker");
    worker.insert("chain-of-trust", Value::Bool(true));
    let os = worker.get("os").map(py_str).unwrap_or_default();
    let srcdir = if os == "windows" { "src" } else { "vcs" };
    if is_docker {
        worker.entry("docker-image").or_insert_with(|| {
            Value::Map(Map::from_iter([(
                "in-tree",
                Value::from("toolchain-build"),
            )]))
        });
    }

    let has_public_build = list_entry(worker, "artifacts")
        .iter()
        .any(|a| a.get("name").and_then(Value::as_str) == Some("public/build"));
    if !has_public_build {
        if !worker.contains_key("env") {
            return Err(
                Error::transform("toolchain tasks need `worker.env`").at_field("worker.env")
            );
        }
        if is_docker {
            docker_worker_add_artifacts(ctx);
        } else {
            generic_worker_add_artifacts(ctx);
        }
    }

    let env = ctx
        .desc
        .get_mut("worker")
        .and_then(|w| w.get_mut("env"))
        .and_then(Value::as_map_mut)
        .ok_or_else(|| {
            Error::transform("toolchain tasks need `worker.env`").at_field("worker.env")
        })?;
    env.insert(
        "MOZ_BUILD_DATE",
        Value::from(config.params.str_or_empty("moz_build_date")),
    );
    env.insert("MOZ_SCM_LEVEL", Value::from(config.params.level()));

    move_attributes(ctx);
    let name = cache_name(config, ctx);
    let digest_data = digest_data(config, ctx)?;
    let cache = Map::from_iter([
        ("type", Value::from(CACHE_TYPE)),
        ("name", Value::from(name)),
        ("digest-data", Value::List(digest_data)),
    ]);
    ctx.desc.insert("cache", Value::Map(cache));

    set_run_task_command(ctx, srcdir, is_docker);
    let implementation = ctx
        .desc
        .get("worker")
        .and_then(|w| w.get("implementation"))
        .map(py_str)
        .unwrap_or_default();
    configure_for_run(config, ctx, &implementation)
}

fn move_attributes(ctx: &mut RunContext) {
    let mut moved = Map::default();
    for key in ["toolchain-artifact", "toolchain-alias", "toolchain-env"] {
        if let Some(value) = ctx.run.shift_remove(key) {
            moved.insert(key.to_owned(), value);
        }
    }
    map_entry(&mut ctx.desc, "attributes").extend(moved);
}

/// The label without the first `<kind>-`.
fn cache_name(config: &TransformConfig<'_>, ctx: &RunContext) -> String {
    let label = ctx.desc.get("label").map(py_str).unwrap_or_default();
    label.replacen(&format!("{}-", config.kind), "", 1)
}

fn digest_data(config: &TransformConfig<'_>, ctx: &mut RunContext) -> Result<Vec<Value>> {
    let mut files: Vec<String> = match ctx.run.shift_remove("resources") {
        Some(Value::List(items)) => items.iter().map(py_str).collect(),
        _ => Vec::new(),
    };
    let script = ctx.run.get("script").map(py_str).unwrap_or_default();
    files.push(path::normpath(&path::join(
        "taskcluster/scripts/toolchain/",
        &script,
    )));

    let graph_config = config.graph_config;
    let hash = graph_config
        .hash_cache()
        .hash_paths(graph_config.vcs_root(), &files)
        .map_err(|e| e.at_field("run.resources"))?;
    let mut data = vec![Value::from(hash)];
    let attributes = ctx.desc.get("attributes");
    data.push(
        attributes
            .and_then(|a| a.get("toolchain-artifact"))
            .cloned()
            .unwrap_or_default(),
    );
    // The reference looks up `in-tree` in the image without checking its
    // type, so it fails on anything but a mapping (a plain image name).
    let image = match ctx.desc.get("worker").and_then(|w| w.get("docker-image")) {
        None => None,
        Some(Value::Map(image)) => image.get("in-tree"),
        Some(other) => {
            return Err(Error::transform(format!(
                "a toolchain's docker-image must be `{{in-tree: ...}}` or `{{indexed: ...}}`, not the {} {}",
                other.type_name(),
                crate::python::py_repr(other)
            ))
            .at_field("worker.docker-image"));
        }
    };
    if let Some(image) = image.filter(|i| i.is_truthy()) {
        data.push(image.clone());
    }
    if let Some(Value::List(arguments)) = ctx.run.get("arguments") {
        data.extend(arguments.iter().cloned());
    }
    Ok(data)
}

fn set_run_task_command(ctx: &mut RunContext, srcdir: &str, is_docker: bool) {
    let script = ctx
        .run
        .shift_remove("script")
        .map(|s| py_str(&s))
        .unwrap_or_default();
    let script = path::join("taskcluster/scripts/toolchain/", &script);
    ctx.run.insert("using", Value::from("run-task"));
    ctx.run.insert("cwd", Value::from("{checkout}/.."));
    if script.ends_with(".ps1") {
        ctx.run.insert("exec-with", Value::from("powershell"));
    }

    let program = format!("{srcdir}/{}", path::normpath(&script));
    let arguments: Vec<String> = match ctx.run.shift_remove("arguments") {
        Some(Value::List(items)) => items.iter().map(py_str).collect(),
        _ => Vec::new(),
    };
    let command = if is_docker {
        let mut command = vec![Value::from(program)];
        command.extend(arguments.into_iter().map(Value::from));
        Value::List(command)
    } else if arguments.is_empty() {
        Value::from(program)
    } else {
        // The first word holds an environment variable meant to expand.
        let quoted: Vec<&str> = arguments.iter().map(String::as_str).collect();
        Value::from(format!("{program} {}", shell_quote(&quoted)))
    };
    ctx.run.insert("command", command);
}

#[cfg(test)]
mod tests {
    use crate::transforms::run::testing::Project;
    use crate::value::Value;

    fn toolchain_project(worker: &str) -> Project {
        let project = Project::new();
        project
            .file("taskcluster/scripts/toolchain/make.sh", "#!/bin/sh\n")
            .kind(
                "toolchain",
                &format!(
                    "loader: taskgraph.loader.transform:loader\n\
                     transforms: [taskgraph.transforms.run, taskgraph.transforms.cached_tasks, \
                     taskgraph.transforms.task]\n\
                     tasks:\n  \
                       cc:\n    \
                         description: a compiler\n    \
                         worker-type: linux\n    \
                         worker: {worker}\n    \
                         run:\n      \
                           using: toolchain-script\n      \
                           script: make.sh\n      \
                           use-caches: false\n      \
                           toolchain-artifact: public/build/cc.tar.zst\n"
                ),
            )
            .commit();
        project
    }

    #[test]
    fn a_plain_image_name_is_refused_as_the_reference_does() {
        // The reference's digest code calls `.get("in-tree")` on the image,
        // which fails for a string.
        let text = toolchain_project("{docker-image: 'debian:12', max-run-time: 60, env: {}}")
            .error("toolchain", "toolchain-cc", "worker.docker-image");
        assert!(text.contains("'debian:12'"), "{text}");

        let task = toolchain_project(
            "{docker-image: {indexed: unit.images.cc}, max-run-time: 60, env: {}}",
        )
        .task("toolchain-cc");
        assert_eq!(
            Value::Map(task.task).get_path("payload.image.namespace"),
            Some(&Value::from("unit.images.cc"))
        );
    }

    #[test]
    fn toolchain_tasks_without_worker_env_are_refused() {
        toolchain_project("{docker-image: {indexed: unit.images.cc}, max-run-time: 60}").error(
            "toolchain",
            "toolchain-cc",
            "worker.env",
        );
    }
}
