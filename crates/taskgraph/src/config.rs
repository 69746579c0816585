//! The graph configuration: `<root>/config.yml`.
//!
//! Validated against the reference's schema (check-only, extra keys
//! allowed at every level, as voluptuous does with `ALLOW_EXTRA`), and kept
//! whole so that transforms can read project-specific keys such as
//! translations' `valid-stages`.
//!
//! graphgen reads one key of its own, ignored by the reference:
//! `graphgen.run-task-dir`, the directory holding the `run-task` script
//! whose hash names run-task caches (relative to the config directory). The
//! environment variable `GRAPHGEN_RUN_TASK_DIR` takes precedence.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, OnceLock};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::hash::HashCache;
use crate::schema::{self, Extra, KeyRule, Schema, dict, opt, req, str_list};
use crate::util::docker::DockerCache;
use crate::util::workers::WorkerCache;
use crate::value::{Map, Value};
use crate::vcs;
use crate::yaml;

/// Priorities a task may have.
pub const PRIORITIES: &[&str] = &[
    "highest",
    "very-high",
    "high",
    "medium",
    "low",
    "very-low",
    "lowest",
];

/// The caches run-task tasks can use, in the order they are added.
pub const CACHE_NAMES: &[&str] = &["cargo", "checkout", "npm", "pip", "uv"];

static GRAPH_CONFIG_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let alias = dict([
        req(
            "provisioner",
            Schema::KeyedBy(vec!["level"], Box::new(Schema::Str)),
        ),
        req("implementation", Schema::Str),
        req("os", Schema::Str),
        req(
            "worker-type",
            Schema::KeyedBy(vec!["level"], Box::new(Schema::Str)),
        ),
    ]);
    let repository = dict([
        req("name", Schema::Str),
        opt("project-regex", Schema::Str),
        opt("ssh-secret-name", Schema::Str),
    ])
    .key_rule(KeyRule::AnyStr, Schema::Str);
    let taskgraph = dict([
        opt("register", Schema::Str),
        opt("decision-parameters", Schema::Str),
        opt("cached-task-prefix", Schema::Str),
        opt("cache-pull-requests", Schema::Bool),
        opt("index-path-regexes", str_list()),
        opt(
            "run",
            dict([opt(
                "use-caches",
                Schema::OneOf(vec![
                    Schema::Bool,
                    Schema::ListOf(vec![schema::one_of_strs(CACHE_NAMES)]),
                ]),
            )])
            .into(),
        ),
        req(
            "repositories",
            Schema::AllOf(vec![
                dict([]).key_rule(KeyRule::AnyStr, repository.into()).into(),
                Schema::MinLength(1),
            ]),
        ),
    ]);
    dict([
        req("trust-domain", Schema::Str),
        opt("docker-image-kind", Schema::Str),
        req(
            "task-priority",
            Schema::KeyedBy(
                vec!["project", "level"],
                Box::new(schema::one_of_strs(PRIORITIES)),
            ),
        ),
        opt(
            "task-deadline-after",
            Schema::KeyedBy(vec!["project"], Box::new(Schema::Str)),
        ),
        opt("task-expires-after", Schema::Str),
        req(
            "workers",
            dict([req(
                "aliases",
                dict([]).key_rule(KeyRule::AnyStr, alias.into()).into(),
            )])
            .into(),
        ),
        req("taskgraph", taskgraph.into()),
    ])
    .allow_extra()
    .into()
});

/// The parts of the process environment that change generated tasks, as
/// the reference reads them from its own environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `TASK_ID`: set inside a decision task; becomes `extra.parent`.
    pub task_id: Option<String>,
    /// `TASKCLUSTER_ROOT_URL`.
    pub root_url: Option<String>,
    /// Whether `MOZ_AUTOMATION` is set.
    pub moz_automation: bool,
    /// `TASKCLUSTER_PROXY_URL`: the taskcluster-proxy inside a task.
    pub proxy_url: Option<String>,
}

impl Environment {
    /// Reads the environment of this process.
    pub fn from_process() -> Environment {
        let var = |name: &str| std::env::var(name).ok();
        Environment {
            task_id: var("TASK_ID"),
            root_url: var("TASKCLUSTER_ROOT_URL"),
            moz_automation: std::env::var_os("MOZ_AUTOMATION").is_some(),
            proxy_url: var("TASKCLUSTER_PROXY_URL"),
        }
    }

    /// The Taskcluster root URL without trailing slashes.
    pub fn root_url(&self) -> Result<String> {
        match (&self.root_url, &self.task_id) {
            (Some(url), _) => Ok(url.trim_end_matches('/').to_owned()),
            (None, Some(_)) => Err(Error::config(
                "$TASKCLUSTER_ROOT_URL must be set when running in a task",
            )),
            (None, None) => Err(Error::config(
                "Could not detect Taskcluster instance, set $TASKCLUSTER_ROOT_URL",
            )),
        }
    }
}

/// The validated contents of `config.yml` and where the project lives.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    config: Map,
    root_dir: PathBuf,
    vcs_root: PathBuf,
    working_dir: PathBuf,
    run_task_dir: Option<PathBuf>,
    docker_cache: Arc<DockerCache>,
    worker_cache: Arc<WorkerCache>,
    hash_cache: Arc<HashCache>,
    run_task_suffix: Arc<OnceLock<Result<String, String>>>,
    environment: Environment,
}

impl GraphConfig {
    /// Loads `<root_dir>/config.yml`. The repository root is the checkout
    /// containing `working_dir` (as the reference uses its working
    /// directory), else the parent of a root directory named `taskcluster`.
    pub fn load(root_dir: &Path, working_dir: &Path) -> Result<GraphConfig> {
        let path = root_dir.join("config.yml");
        if !path.is_file() {
            return Err(Error::config(format!(
                "cannot find the taskgraph configuration `{}`",
                path.display()
            ))
            .with_file(&path));
        }
        let value = yaml::load_file(&path)?;
        let vcs_root = find_vcs_root(root_dir, working_dir)?;
        let mut config =
            Self::from_value(value, root_dir, vcs_root).map_err(|e| e.with_file(&path))?;
        config.working_dir =
            std::path::absolute(working_dir).map_err(|e| Error::io(working_dir, e))?;
        Ok(config)
    }

    /// Builds a configuration from an already-loaded document.
    pub fn from_value(value: Value, root_dir: &Path, vcs_root: PathBuf) -> Result<GraphConfig> {
        GRAPH_CONFIG_SCHEMA
            .validate(&value, Extra::Allow)
            .map_err(|e| Error::config(e.to_string()).at(e.location()))?;
        let Value::Map(config) = value else {
            return Err(Error::config("config.yml must be a mapping"));
        };
        let root_dir = std::path::absolute(root_dir).map_err(|e| Error::io(root_dir, e))?;
        let run_task_dir = run_task_dir(&config, &root_dir);
        Ok(GraphConfig {
            config,
            root_dir,
            working_dir: vcs_root.clone(),
            vcs_root,
            run_task_dir,
            docker_cache: Arc::default(),
            worker_cache: Arc::default(),
            hash_cache: Arc::default(),
            run_task_suffix: Arc::default(),
            environment: Environment::from_process(),
        })
    }

    /// A top-level key of `config.yml`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.config.get(key)
    }

    /// The whole configuration, for transforms reading their own keys.
    pub fn as_map(&self) -> &Map {
        &self.config
    }

    pub fn trust_domain(&self) -> &str {
        self.config
            .get("trust-domain")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The `taskgraph` section.
    pub fn taskgraph(&self) -> Option<&Map> {
        self.config.get("taskgraph").and_then(Value::as_map)
    }

    /// `workers.aliases`.
    pub fn worker_aliases(&self) -> Option<&Map> {
        self.config.get("workers")?.get("aliases")?.as_map()
    }

    /// The kind that builds docker images (`docker-image` by default).
    pub fn docker_image_kind(&self) -> &str {
        self.config
            .get("docker-image-kind")
            .and_then(Value::as_str)
            .unwrap_or("docker-image")
    }

    /// The absolute directory holding `config.yml` and `kinds/`.
    pub fn root_dir(&self) -> &Path {
        &self.root_dir
    }

    pub fn kinds_dir(&self) -> PathBuf {
        self.root_dir.join("kinds")
    }

    pub fn docker_dir(&self) -> PathBuf {
        self.root_dir.join("docker")
    }

    /// The root of the repository the project lives in.
    pub fn vcs_root(&self) -> &Path {
        &self.vcs_root
    }

    /// The working directory generation runs for: files the reference
    /// opens relative to its working directory are read from here.
    pub fn working_dir(&self) -> &Path {
        &self.working_dir
    }

    /// Where the user keeps the `run-task` script whose hash names run-task
    /// caches, when configured.
    pub fn run_task_dir(&self) -> Option<&Path> {
        self.run_task_dir.as_deref()
    }

    /// Overrides the run-task directory (tests, embedding tools).
    pub fn set_run_task_dir(&mut self, dir: Option<PathBuf>) {
        self.run_task_dir = dir;
        self.run_task_suffix = Arc::default();
    }

    /// The first 20 hex digits of the SHA-256 of the `run-task` script,
    /// which the reference puts in the names of run-task caches. The script
    /// belongs to the taskgraph distribution, so the user says where it is.
    pub fn run_task_suffix(&self) -> Result<&str> {
        self.run_task_suffix
            .get_or_init(|| {
                let Some(dir) = &self.run_task_dir else {
                    return Err("run-task caches are named after a hash of the `run-task` script, and no \
                                run-task directory is configured: set GRAPHGEN_RUN_TASK_DIR or \
                                `graphgen.run-task-dir` in config.yml to the directory holding `run-task`"
                        .to_owned());
                };
                let script = dir.join("run-task");
                let bytes = std::fs::read(&script)
                    .map_err(|e| format!("cannot read the run-task script `{}`: {e}", script.display()))?;
                Ok(format!("{:x}", Sha256::digest(&bytes))[..20].to_owned())
            })
            .as_deref()
            .map_err(|e| Error::config(e.clone()))
    }

    /// The process environment as generation sees it.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// Replaces the environment (tests, embedding tools).
    pub fn set_environment(&mut self, environment: Environment) {
        self.environment = environment;
    }

    /// Per-generation memory of file hashes.
    pub fn hash_cache(&self) -> &HashCache {
        &self.hash_cache
    }

    /// Starts listing the repository's committed files, which resource
    /// hashes need, beside whatever comes next.
    pub fn prefetch_tracked_files(&self) {
        self.hash_cache.prefetch_in_background(self.vcs_root());
    }

    /// Per-generation memory of resolved worker aliases.
    pub fn worker_cache(&self) -> &WorkerCache {
        &self.worker_cache
    }

    /// Per-generation memory of docker image facts.
    pub fn docker_cache(&self) -> &DockerCache {
        &self.docker_cache
    }
}

fn run_task_dir(config: &Map, root_dir: &Path) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GRAPHGEN_RUN_TASK_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let configured = config.get("graphgen")?.get("run-task-dir")?.as_str()?;
    Some(root_dir.join(configured))
}

fn find_vcs_root(root_dir: &Path, working_dir: &Path) -> Result<PathBuf> {
    if let Some(checkout) = vcs::find_checkout(working_dir) {
        return Ok(checkout.root().to_owned());
    }
    let absolute = std::path::absolute(root_dir).map_err(|e| Error::io(root_dir, e))?;
    if absolute
        .file_name()
        .is_some_and(|name| name == "taskcluster")
        && let Some(parent) = absolute.parent()
    {
        return Ok(parent.to_owned());
    }
    Err(Error::config(format!(
        "`{}` is not in a git or hg checkout and is not named `taskcluster`: cannot tell the repository root",
        root_dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;

    fn minimal() -> Map {
        map! {
            "trust-domain" => "demo",
            "task-priority" => "low",
            "workers" => map! {"aliases" => map! {"b-linux" => map! {
                "provisioner" => "{trust-domain}-{level}",
                "implementation" => "docker-worker",
                "os" => "linux",
                "worker-type" => "{alias}",
            }}},
            "taskgraph" => map! {"repositories" => map! {"demo" => map! {"name" => "Demo"}}},
        }
    }

    #[test]
    fn accepts_a_minimal_config_and_keeps_extra_keys() {
        let mut config = minimal();
        config.insert("valid-stages", Value::str_list(["a"]));
        let cfg =
            GraphConfig::from_value(Value::Map(config), Path::new("/x/taskcluster"), "/x".into())
                .unwrap();
        assert_eq!(cfg.trust_domain(), "demo");
        assert!(cfg.get("valid-stages").is_some());
        assert_eq!(cfg.docker_image_kind(), "docker-image");
    }

    #[test]
    fn rejects_an_unknown_priority() {
        let mut config = minimal();
        config.insert("task-priority", "urgent".into());
        let err =
            GraphConfig::from_value(Value::Map(config), Path::new("/x"), "/x".into()).unwrap_err();
        assert!(err.to_string().contains("task-priority"), "{err}");
    }

    #[test]
    fn requires_at_least_one_repository() {
        let mut config = minimal();
        config.insert("taskgraph", Value::Map(map! {"repositories" => map! {}}));
        assert!(GraphConfig::from_value(Value::Map(config), Path::new("/x"), "/x".into()).is_err());
    }
}
