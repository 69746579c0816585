//! `taskgraph.transforms.docker_image`: one image-building task per entry
//! of the docker-image kind.
//!
//! Each entry names an image whose build context is
//! `taskcluster/docker/<definition>` in the repository. The task runs the
//! image builder on that context and publishes `public/image.tar.zst`;
//! tasks that use the image (`docker-image: {in-tree: <name>}`) depend on
//! it. The context hash (see [`crate::util::docker_context`]) is both an
//! environment variable of the build and the first line of its cache
//! digest, so an image is rebuilt exactly when its context, arguments or
//! parent change (the parent's digest joins through `cached_tasks`).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use crate::error::{Error, Result};
use crate::python::{json_compact, py_str};
use crate::schema::{Extra, Schema, dict, opt, req, str_list, str_map};
use crate::transform::{
    TaskDesc, TransformConfig, TransformRef, batch_reading_dependencies, validate,
};
use crate::transforms::task::task_description_field;
use crate::util::docker_context::{ContextSpec, context_hash};
use crate::value::{Map, Value};

/// The image that builds images, pinned by digest.
pub const IMAGE_BUILDER_IMAGE: &str = "mozillareleases/image_builder:5.1.0@sha256:\
     7fe70dcedefffffa03237ba5d456d42e0d7461de066db3f7a7c280a104869cd5";

/// The cache type of image tasks.
pub const CACHE_TYPE: &str = "docker-images.v2";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    dict([
        req("name", Schema::Str),
        opt("parent", Schema::Str),
        opt("symbol", Schema::Str),
        opt("task-from", Schema::Str),
        opt("args", str_map(Schema::Str)),
        opt("definition", Schema::Str),
        opt("packages", str_list()),
        opt("index", task_description_field("index")),
        opt("cache", Schema::Bool),
    ])
    .deny_extra()
    .into()
});

pub fn transforms() -> Vec<TransformRef> {
    vec![
        validate("docker_image:validate", &SCHEMA, Extra::Deny),
        batch_reading_dependencies("docker_image:fill_template", fill_template),
    ]
}

fn fill_template(config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
    let packages = available_packages(config)?;
    tasks
        .into_iter()
        .map(|mut task| {
            let location = task.location(config.kind);
            image_task(config, &packages, &mut task).map_err(|e| e.at(&location))?;
            Ok(task)
        })
        .collect()
}

/// The names of the `packages` kind's tasks this kind may use.
fn available_packages(config: &TransformConfig<'_>) -> Result<BTreeSet<String>> {
    Ok(config
        .kind_dependencies_tasks()?
        .values()
        .filter(|task| task.kind == "packages")
        .map(|task| task.label.replace("packages-", ""))
        .collect())
}

/// The image entry, as the schema allows it.
struct ImageEntry {
    name: String,
    symbol: Option<String>,
    args: Vec<(String, String)>,
    definition: String,
    packages: Vec<String>,
    parent: Option<String>,
    index: Option<Value>,
    cache: bool,
}

impl ImageEntry {
    fn take(fields: &mut Map) -> ImageEntry {
        let mut take_str = |key: &str| fields.shift_remove(key).map(|v| py_str(&v));
        let name = take_str("name").unwrap_or_default();
        let symbol = take_str("symbol");
        let definition = take_str("definition").unwrap_or_else(|| name.clone());
        let parent = take_str("parent");
        let args = match fields.shift_remove("args") {
            Some(Value::Map(args)) => args
                .iter()
                .map(|(k, v)| (k.to_owned(), py_str(v)))
                .collect(),
            _ => Vec::new(),
        };
        let packages = fields
            .shift_remove("packages")
            .as_ref()
            .and_then(Value::as_str_list)
            .map(|list| list.into_iter().map(str::to_owned).collect())
            .unwrap_or_default();
        ImageEntry {
            name,
            symbol,
            args,
            definition,
            packages,
            parent,
            index: fields.get("index").cloned(),
            cache: fields.get("cache").and_then(Value::as_bool).unwrap_or(true),
        }
    }
}

fn image_task(
    config: &TransformConfig<'_>,
    available: &BTreeSet<String>,
    task: &mut TaskDesc,
) -> Result<()> {
    let image = ImageEntry::take(&mut task.fields);
    if let Some(missing) = image.packages.iter().find(|p| !available.contains(*p)) {
        return Err(Error::transform(format!(
            "no package task for `{missing}` in the packages kind"
        ))
        .at_field("packages"));
    }

    let context_dir = format!("taskcluster/docker/{}", image.definition);
    let hash = context_hash(&ContextSpec {
        topsrcdir: config.graph_config.vcs_root(),
        context_dir: &context_dir,
        args: &image.args,
        run_task_dir: config.graph_config.run_task_dir(),
    })?;

    // The digest sees the arguments as given, before the package list
    // joins them.
    let args_map = |args: &[(String, String)]| {
        Value::Map(
            args.iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        )
    };
    let digest_args = json_compact(&args_map(&image.args), true)?;
    let mut build_args = image.args.clone();
    let package_refs: Vec<String> = image.packages.iter().map(|p| format!("<{p}>")).collect();
    build_args.push(("DOCKER_IMAGE_PACKAGES".to_owned(), package_refs.join(" ")));
    let build_args = json_compact(&args_map(&build_args), false)?;

    let mut desc = description(config, &image, &hash, &build_args)?;
    if let Some(symbol) = &image.symbol {
        desc.insert("treeherder", treeherder(symbol));
    }
    add_dependencies(&mut desc, &image);
    if image.cache {
        let digest_data = vec![
            Value::from(hash),
            Value::from(digest_args),
            Value::from(format!("image-builder-image:{IMAGE_BUILDER_IMAGE}")),
        ];
        desc.insert(
            "cache",
            Value::Map(Map::from_iter([
                ("type", Value::from(CACHE_TYPE)),
                ("name", Value::from(image.name.as_str())),
                ("digest-data", Value::List(digest_data)),
            ])),
        );
    }
    task.fields = desc;
    Ok(())
}

/// The task description of an image build, without treeherder, extra
/// dependencies or cache.
fn description(
    config: &TransformConfig<'_>,
    image: &ImageEntry,
    hash: &str,
    build_args: &str,
) -> Result<Map> {
    let params = config.params;
    let param = |key: &str| params.get(key).cloned().unwrap_or_default();
    let zstd_level = if params.level() == "1" { "3" } else { "10" };
    let expires = if params.is_try() {
        config
            .graph_config
            .get("task-expires-after")
            .cloned()
            .unwrap_or_else(|| Value::from("28 days"))
    } else {
        Value::from("1 year")
    };
    let name = image.name.as_str();

    let env = Map::from_iter([
        ("CONTEXT_TASK_ID", task_reference("<decision>")),
        (
            "CONTEXT_PATH",
            Value::from(format!("public/docker-contexts/{name}.tar.gz")),
        ),
        ("HASH", Value::from(hash)),
        ("PROJECT", param("project")),
        ("IMAGE_NAME", Value::from(name)),
        ("DOCKER_IMAGE_ZSTD_LEVEL", Value::from(zstd_level)),
        ("DOCKER_BUILD_ARGS", task_reference(build_args)),
        ("VCS_BASE_REPOSITORY", param("base_repository")),
        ("VCS_HEAD_REPOSITORY", param("head_repository")),
        ("VCS_HEAD_REV", param("head_rev")),
        ("VCS_REPOSITORY_TYPE", param("repository_type")),
    ]);
    let artifact = Map::from_iter([
        ("type", Value::from("file")),
        ("path", Value::from("/workspace/image.tar.zst")),
        ("name", Value::from("public/image.tar.zst")),
    ]);
    let worker = Map::from_iter([
        ("implementation", Value::from("docker-worker")),
        ("os", Value::from("linux")),
        ("artifacts", Value::List(vec![Value::Map(artifact)])),
        ("env", Value::Map(env)),
        ("chain-of-trust", Value::Bool(true)),
        ("max-run-time", Value::Int(7200)),
        ("docker-image", Value::from(IMAGE_BUILDER_IMAGE)),
    ]);
    let attributes = Map::from_iter([
        ("image_name", Value::from(name)),
        ("artifact_prefix", Value::from("public")),
    ]);

    let mut desc = Map::from_iter([
        ("label", Value::from(format!("docker-image-{name}"))),
        (
            "description",
            Value::from(format!(
                "Build the docker image {name} for use by dependent tasks"
            )),
        ),
        ("attributes", Value::Map(attributes)),
        ("always-target", Value::Bool(true)),
        ("expires-after", expires),
        ("scopes", Value::List(Vec::new())),
        ("run-on-projects", Value::List(Vec::new())),
        ("worker-type", Value::from("images")),
        ("worker", Value::Map(worker)),
    ]);
    if let Some(index) = &image.index {
        desc.insert("index", index.clone());
    }
    Ok(desc)
}

fn treeherder(symbol: &str) -> Value {
    Value::Map(Map::from_iter([
        ("symbol", Value::from(symbol)),
        ("platform", Value::from("taskcluster-images/opt")),
        ("kind", Value::from("other")),
        ("tier", Value::Int(1)),
    ]))
}

/// Package tasks (sorted) and the parent image are dependencies; the
/// build reads the parent's image through `PARENT_TASK_ID`.
fn add_dependencies(desc: &mut Map, image: &ImageEntry) {
    let mut dependencies = Map::default();
    let mut packages = image.packages.clone();
    packages.sort();
    for package in packages {
        dependencies.insert(package.clone(), Value::from(format!("packages-{package}")));
    }
    if let Some(parent) = &image.parent {
        dependencies.insert("parent", Value::from(format!("docker-image-{parent}")));
        if let Some(Value::Map(env)) = desc.get_mut("worker").and_then(|w| w.get_mut("env")) {
            env.insert("PARENT_TASK_ID", task_reference("<parent>"));
        }
    }
    if !dependencies.is_empty() {
        desc.insert("dependencies", Value::Map(dependencies));
    }
}

fn task_reference(text: &str) -> Value {
    Value::Map(Map::from_iter([("task-reference", Value::from(text))]))
}
