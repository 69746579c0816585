//! `taskgraph.transforms.fetch`: tasks that download something once and
//! publish it as an artifact for other tasks to fetch.
//!
//! Each entry of a fetch kind has a `fetch` section whose `type` selects a
//! builder (`static-url` and `git` are built in; other crates register
//! more through [`Registry::add_fetch_builder`]). The builder returns the
//! `fetch-content` command, the artifact's name and the digest data; this
//! transform wraps them in a run-task task labelled `fetch-<name>`, cached
//! under type `content.v1`, so a fetch runs again only when what it
//! fetches changes.

use std::sync::{Arc, LazyLock};

use crate::digest::{DigestInput, InputSource};
use crate::error::{Error, Result};
use crate::python::py_str;
use crate::registry::Registry;
use crate::schema::{Extra, Schema, dict, opt, req, str_map};
use crate::transform::{
    TaskDesc, TransformConfig, TransformRef, per_task, validate, validate_value,
};
use crate::transforms::cached_tasks::{CacheKey, add_optimization};
use crate::util::path;
use crate::util::treeherder::join_symbol;
use crate::value::{Map, Value};

/// The cache type of fetch tasks.
pub const CACHE_TYPE: &str = "content.v1";

/// Where fetch tasks put what they fetched.
const ARTIFACTS_DIR: &str = "/builds/worker/artifacts";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    dict([
        req("name", Schema::Str),
        opt("task-from", Schema::Str),
        req("description", Schema::Str),
        opt("expires-after", Schema::Str),
        opt("docker-image", Schema::Anything),
        opt("fetch-alias", Schema::Str),
        opt("artifact-prefix", Schema::Str),
        opt("attributes", str_map(Schema::Anything)),
        req(
            "fetch",
            dict([req("type", Schema::Str)]).allow_extra().into(),
        ),
    ])
    .deny_extra()
    .into()
});

pub fn transforms() -> Vec<TransformRef> {
    vec![
        validate("fetch:validate", &SCHEMA, Extra::Deny),
        per_task("fetch:make_task", make_task),
    ]
}

/// Builds the command of one fetch type.
pub type FetchFn = fn(&TransformConfig<'_>, &str, &Map) -> Result<FetchOutput>;

/// A registered fetch type: the schema of its `fetch` section and its
/// builder.
#[derive(Clone, Debug)]
pub struct FetchBuilder {
    pub schema: Arc<Schema>,
    pub build: FetchFn,
}

/// What a fetch builder makes of a `fetch` section.
#[derive(Clone, Debug, Default)]
pub struct FetchOutput {
    /// The command run-task runs.
    pub command: Vec<String>,
    /// The file the command writes into the artifacts directory.
    pub artifact_name: String,
    /// Environment variables the command needs.
    pub env: Map,
    /// The inputs of the cache digest: what, if changed, means fetching
    /// again.
    pub digest_data: Vec<String>,
    /// A secret the task reads (it gets the scope and the proxy).
    pub secret: Option<String>,
}

/// Registers the built-in fetch types.
pub fn register(registry: &mut Registry) {
    registry.add_fetch_builder("static-url", static_url_builder());
    registry.add_fetch_builder("git", git_builder());
}

/// Runs the fetch type's builder on the task's `fetch` section.
fn build_fetch(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<FetchOutput> {
    let Some(Value::Map(fetch)) = task.fields.shift_remove("fetch") else {
        return Err(Error::schema("`fetch` must be a mapping").at_field("fetch"));
    };
    let fetch_type = fetch.get("type").map(py_str).unwrap_or_default();
    let builder = config
        .registry
        .fetch_builder(&fetch_type)
        .map_err(|e| e.at_field("fetch.type"))?;
    validate_value(
        &builder.schema,
        &Value::Map(fetch.clone()),
        Extra::Deny,
        format_args!("invalid `fetch` of type `{fetch_type}`"),
        "fetch",
    )?;
    let name = task.get("name").map(py_str).unwrap_or_default();
    (builder.build)(config, &name, &fetch)
}

/// Turns a fetch entry into a run-task task that runs its builder's
/// command. (The reference splits this in two transforms with nothing in
/// between.)
fn make_task(config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let output = build_fetch(config, task)?;
    let name = task.get("name").map(py_str).unwrap_or_default();
    let artifact_prefix = task
        .get("artifact-prefix")
        .map_or_else(|| "public".to_owned(), py_str);

    let mut env = output.env.clone();
    env.insert("UPLOAD_DIR", Value::from(ARTIFACTS_DIR));

    let mut attributes = match task.get("attributes") {
        Some(Value::Map(attributes)) => attributes.clone(),
        _ => Map::default(),
    };
    attributes.insert(
        "fetch-artifact",
        Value::from(path::join(&artifact_prefix, &output.artifact_name)),
    );
    if let Some(alias) = task.get("fetch-alias").filter(|a| a.is_truthy()) {
        attributes.insert("fetch-alias", alias.clone());
    }

    let mut desc = Map::default();
    desc.insert("attributes", Value::Map(attributes));
    desc.insert("name", Value::from(name.as_str()));
    desc.insert(
        "description",
        task.get("description").cloned().unwrap_or_default(),
    );
    desc.insert(
        "expires-after",
        task.get("expires-after")
            .cloned()
            .unwrap_or_else(|| default_expiry(config)),
    );
    desc.insert("label", Value::from(format!("fetch-{name}")));
    desc.insert("run-on-projects", Value::List(Vec::new()));
    desc.insert("run", run_section(output.command.clone()));
    desc.insert("worker-type", Value::from("images"));
    desc.insert("worker", worker_section(task, env, &artifact_prefix));
    if config.graph_config.get("treeherder").is_some() {
        desc.insert("treeherder", treeherder(&name));
    }
    if let Some(secret) = output.secret.as_deref().filter(|s| !s.is_empty()) {
        desc.insert(
            "scopes",
            Value::List(vec![Value::from(format!("secrets:get:{secret}"))]),
        );
        if let Some(Value::Map(worker)) = desc.get_mut("worker") {
            worker.insert("taskcluster-proxy", Value::Bool(true));
        }
    }

    // The reference adds the cache directly, so fetch digests have neither
    // parents nor the chain-of-trust marker.
    let label = format!("fetch-{name}");
    let kind_prefix = format!("{}-", config.kind);
    let cache_name = label.replacen(&kind_prefix, "", 1);
    let inputs = output
        .digest_data
        .into_iter()
        .map(|text| DigestInput {
            text,
            source: InputSource::Data,
        })
        .collect();
    let key = CacheKey {
        label: &label,
        cache_type: CACHE_TYPE,
        cache_name: &cache_name,
    };
    let record = add_optimization(config, &mut desc, key, inputs)?;
    task.fields = desc;
    task.digest = Some(Arc::new(record));
    Ok(())
}

/// Fetched things live long at level 3, where everything else reuses
/// them; elsewhere they follow the project's expiry for untrusted tasks.
fn default_expiry(config: &TransformConfig<'_>) -> Value {
    if config.params.level() == "3" {
        Value::from("1000 years")
    } else {
        config
            .graph_config
            .get("task-expires-after")
            .cloned()
            .unwrap_or_else(|| Value::from("28 days"))
    }
}

fn run_section(command: Vec<String>) -> Value {
    Value::Map(Map::from_iter([
        ("using", Value::from("run-task")),
        ("checkout", Value::Bool(false)),
        ("command", Value::str_list(command)),
    ]))
}

fn worker_section(task: &TaskDesc, env: Map, artifact_prefix: &str) -> Value {
    let image = task
        .get("docker-image")
        .cloned()
        .unwrap_or_else(|| Value::Map(Map::from_iter([("in-tree", Value::from("fetch"))])));
    let artifact = Map::from_iter([
        ("type", Value::from("directory")),
        ("name", Value::from(artifact_prefix)),
        ("path", Value::from(ARTIFACTS_DIR)),
    ]);
    Value::Map(Map::from_iter([
        ("chain-of-trust", Value::Bool(true)),
        ("docker-image", image),
        ("env", Value::Map(env)),
        ("max-run-time", Value::Int(900)),
        ("artifacts", Value::List(vec![Value::Map(artifact)])),
    ]))
}

fn treeherder(name: &str) -> Value {
    Value::Map(Map::from_iter([
        ("symbol", Value::from(join_symbol("Fetch", name))),
        ("kind", Value::from("build")),
        ("platform", Value::from("fetch/opt")),
        ("tier", Value::Int(1)),
    ]))
}

fn static_url_builder() -> FetchBuilder {
    let schema = dict([
        req("type", Schema::literal("static-url")),
        req("url", Schema::Str),
        req("sha256", Schema::Str),
        req("size", Schema::Int),
        opt(
            "gpg-signature",
            dict([req("sig-url", Schema::Str), req("key-path", Schema::Str)]).into(),
        ),
        opt("artifact-name", Schema::Str),
        opt("strip-components", Schema::Int),
        opt("add-prefix", Schema::Str),
        opt("headers", str_map(Schema::Str)),
    ]);
    FetchBuilder {
        schema: Arc::new(schema.into()),
        build: static_url,
    }
}

/// `fetch-content static-url`: a file checked against its size and
/// SHA-256, optionally against a GPG signature, optionally unpacked.
fn static_url(config: &TransformConfig<'_>, _name: &str, fetch: &Map) -> Result<FetchOutput> {
    let text = |key: &str| fetch.get(key).map(py_str).unwrap_or_default();
    let url = text("url");
    let artifact_name = fetch
        .get("artifact-name")
        .filter(|a| a.is_truthy())
        .map_or_else(
            || url.rsplit('/').next().unwrap_or_default().to_owned(),
            py_str,
        );

    let mut args = vec![
        "--sha256".to_owned(),
        text("sha256"),
        "--size".to_owned(),
        text("size"),
    ];
    if fetch.get("strip-components").is_some_and(Value::is_truthy) {
        args.extend(["--strip-components".to_owned(), text("strip-components")]);
    }
    if fetch.get("add-prefix").is_some_and(Value::is_truthy) {
        args.extend(["--add-prefix".to_owned(), text("add-prefix")]);
    }

    let mut command = vec!["fetch-content".to_owned(), "static-url".to_owned()];
    command.extend(args.iter().cloned());

    let mut env = Map::default();
    if let Some(signature) = fetch.get("gpg-signature") {
        let sig_url = signature.get("sig-url").map(py_str).unwrap_or_default();
        let sig_url = crate::python::format_with(
            &sig_url,
            &Map::from_iter([("url", Value::from(url.as_str()))]),
        )
        .map_err(|e| e.at_field("fetch.gpg-signature.sig-url"))?;
        env.insert("FETCH_GPG_KEY", Value::from(gpg_key(config, signature)?));
        command.extend([
            "--gpg-sig-url".to_owned(),
            sig_url,
            "--gpg-key-env".to_owned(),
            "FETCH_GPG_KEY".to_owned(),
        ]);
    }
    if let Some(Value::Map(headers)) = fetch.get("headers") {
        for (key, value) in headers {
            command.extend(["-H".to_owned(), format!("{key}:{}", py_str(value))]);
        }
    }
    command.extend([url, format!("{ARTIFACTS_DIR}/{artifact_name}")]);

    let mut digest_data = args;
    digest_data.push(artifact_name.clone());
    Ok(FetchOutput {
        command,
        artifact_name,
        env,
        digest_data,
        secret: None,
    })
}

/// The public key a signature is checked with, from the repository.
///
/// The reference resolves `key-path` against an attribute its package no
/// longer defines, so it fails on every `gpg-signature`; graphgen reads
/// the key relative to the repository root, as the field's name suggests.
fn gpg_key(config: &TransformConfig<'_>, signature: &Value) -> Result<String> {
    let key_path = signature.get("key-path").map(py_str).unwrap_or_default();
    let full = config.graph_config.vcs_root().join(&key_path);
    std::fs::read_to_string(&full)
        .map_err(|e| Error::io(&full, e).at_field("fetch.gpg-signature.key-path"))
}

fn git_builder() -> FetchBuilder {
    let schema = dict([
        req("type", Schema::literal("git")),
        req("repo", Schema::Str),
        req("revision", Schema::Str),
        opt("include-dot-git", Schema::Bool),
        opt("artifact-name", Schema::Str),
        opt("path-prefix", Schema::Str),
        opt("ssh-key", Schema::Str),
    ]);
    FetchBuilder {
        schema: Arc::new(schema.into()),
        build: git,
    }
}

/// `fetch-content git-checkout-archive`: one revision of a repository,
/// archived.
fn git(_config: &TransformConfig<'_>, name: &str, fetch: &Map) -> Result<FetchOutput> {
    let text = |key: &str| fetch.get(key).filter(|v| v.is_truthy()).map(py_str);
    let repo = text("repo").unwrap_or_default();
    let revision = text("revision").unwrap_or_default();
    let path_prefix = text("path-prefix").unwrap_or_else(|| {
        repo.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let artifact_name = text("artifact-name").unwrap_or_else(|| format!("{path_prefix}.tar.zst"));

    // Like the reference, only the start is checked: a revision must begin
    // with a full 40-digit sha1.
    let is_sha1 = revision.len() >= 40 && revision.bytes().take(40).all(|b| b.is_ascii_hexdigit());
    if !is_sha1 {
        return Err(Error::transform(format!(
            "the revision `{revision}` of fetch `{name}` is not a 40-digit sha1"
        ))
        .at_field("fetch.revision"));
    }

    let mut command = vec![
        "fetch-content".to_owned(),
        "git-checkout-archive".to_owned(),
        "--path-prefix".to_owned(),
        path_prefix.clone(),
        repo,
        revision.clone(),
        format!("{ARTIFACTS_DIR}/{artifact_name}"),
    ];
    let ssh_key = text("ssh-key");
    if let Some(key) = &ssh_key {
        command.extend(["--ssh-key-secret".to_owned(), key.clone()]);
    }

    let mut digest_data = vec![revision, path_prefix, artifact_name.clone()];
    if fetch.get("include-dot-git").is_some_and(Value::is_truthy) {
        command.push("--include-dot-git".to_owned());
        digest_data.push(".git".to_owned());
    }
    Ok(FetchOutput {
        command,
        artifact_name,
        env: Map::default(),
        digest_data,
        secret: ssh_key,
    })
}
