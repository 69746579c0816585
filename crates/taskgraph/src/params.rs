//! Parameters: the inputs of one generation (repository, revision, level,
//! target-task method, ...).
//!
//! A parameters file (YAML or JSON) is read, overrides replace whole
//! top-level keys, and, unless strict, every missing key is filled with the
//! reference's default, some of them read from the git checkout. The result
//! is checked against the schema without coercion: a wrong type is an
//! error, never silently converted.
//!
//! Crates extend the schema and the defaults through
//! [`ParameterSchema::extend`] (translations adds `training_config`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::python;
use crate::schema::{DictSchema, Extra, Field, Schema, dict, opt, req, str_list, str_map};
use crate::value::{Map, Value};
use crate::vcs::{self, Checkout};
use crate::yaml;

/// What a defaults function may look at.
#[derive(Debug)]
pub struct DefaultsContext<'a> {
    /// The root of the repository (the reference's `repo_root`).
    pub repo_root: &'a Path,
    /// The keys the parameters file gave: their defaults are not used, so
    /// a defaults function may skip work (such as asking git) for them.
    pub given: &'a Map,
}

impl DefaultsContext<'_> {
    /// Whether any of `keys` still needs a default.
    pub fn needs_any(&self, keys: &[&str]) -> bool {
        keys.iter().any(|key| !self.given.contains_key(key))
    }
}

/// Computes defaults for missing parameters.
pub type DefaultsFn = Arc<dyn Fn(&DefaultsContext<'_>) -> Result<Map> + Send + Sync>;

/// The parameter schema and its defaults, extensible by other crates.
#[derive(Clone)]
pub struct ParameterSchema {
    schema: DictSchema,
    defaults: Vec<DefaultsFn>,
}

impl std::fmt::Debug for ParameterSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParameterSchema")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Default for ParameterSchema {
    fn default() -> Self {
        ParameterSchema {
            schema: base_schema(),
            defaults: vec![Arc::new(base_defaults)],
        }
    }
}

impl ParameterSchema {
    /// Adds fields to the schema and, optionally, a defaults function
    /// (`extend_parameters_schema`).
    pub fn extend(
        &mut self,
        fields: impl IntoIterator<Item = Field>,
        defaults: Option<DefaultsFn>,
    ) {
        let schema = std::mem::take(&mut self.schema);
        self.schema = schema.extend(fields);
        self.defaults.extend(defaults);
    }
}

fn base_schema() -> DictSchema {
    let str_or_none = || Schema::OneOf(vec![Schema::Str, Schema::Null]);
    dict([
        req("base_repository", Schema::Str),
        req("base_ref", Schema::Str),
        req("base_rev", Schema::Str),
        req("build_date", Schema::Int),
        req("build_number", Schema::Int),
        req("do_not_optimize", str_list()),
        req(
            "enable_always_target",
            Schema::OneOf(vec![Schema::Bool, str_list()]),
        ),
        req("existing_tasks", str_map(Schema::Str)),
        req("files_changed", str_list()),
        req("filters", str_list()),
        req("head_ref", Schema::Str),
        req("head_repository", Schema::Str),
        req("head_rev", Schema::Str),
        req("head_tag", Schema::Str),
        req("level", Schema::Str),
        req("moz_build_date", Schema::Str),
        req("next_version", str_or_none()),
        req("optimize_strategies", str_or_none()),
        req("optimize_target_tasks", Schema::Bool),
        req("owner", Schema::Str),
        req("project", Schema::Str),
        req("pushdate", Schema::Int),
        req("pushlog_id", Schema::Str),
        req("repository_type", Schema::Str),
        req("target_tasks_method", Schema::Str),
        req("tasks_for", Schema::Str),
        req("version", str_or_none()),
        opt(
            "code-review",
            dict([req("phabricator-build-target", Schema::Str)]).into(),
        ),
    ])
}

/// The reference's base defaults (`_get_defaults`).
fn base_defaults(ctx: &DefaultsContext<'_>) -> Result<Map> {
    let checkout = vcs::find_checkout(ctx.repo_root);
    let facts = RepoFacts::read(checkout.as_ref(), ctx)?;
    let now = chrono::Utc::now().timestamp();

    let mut d = Map::default();
    d.insert("base_repository", facts.url.clone().into());
    d.insert("base_ref", "".into());
    d.insert("base_rev", "".into());
    d.insert("build_date", Value::Int(now));
    d.insert("build_number", Value::Int(1));
    d.insert("do_not_optimize", Value::List(vec![]));
    d.insert("enable_always_target", true.into());
    d.insert("existing_tasks", Value::Map(Map::default()));
    // Read from git only when asked for (see `ChangedFiles`).
    d.insert(FILES_CHANGED, Value::List(Vec::new()));
    d.insert("filters", Value::str_list(["target_tasks_method"]));
    d.insert(
        "head_ref",
        facts
            .branch
            .unwrap_or_else(|| facts.head_rev.clone())
            .into(),
    );
    d.insert("head_repository", facts.url.into());
    d.insert("head_rev", facts.head_rev.into());
    d.insert("head_tag", "".into());
    d.insert("level", "3".into());
    d.insert(
        "moz_build_date",
        chrono::Local::now()
            .format("%Y%m%d%H%M%S")
            .to_string()
            .into(),
    );
    d.insert("next_version", Value::Null);
    d.insert("optimize_strategies", Value::Null);
    d.insert("optimize_target_tasks", true.into());
    d.insert("owner", "nobody@mozilla.com".into());
    d.insert("project", facts.project.into());
    d.insert("pushdate", Value::Int(now));
    d.insert("pushlog_id", "0".into());
    d.insert("repository_type", facts.tool.into());
    d.insert("target_tasks_method", "default".into());
    d.insert("tasks_for", "".into());
    d.insert("version", read_version(ctx.repo_root).into());
    Ok(d)
}

/// What the checkout says about itself, with the reference's fallbacks.
struct RepoFacts {
    url: String,
    project: String,
    branch: Option<String>,
    head_rev: String,
    tool: &'static str,
}

impl RepoFacts {
    /// Reads what the missing parameters need; each git command runs
    /// only when a parameter that comes from it is missing.
    fn read(checkout: Option<&Checkout>, ctx: &DefaultsContext<'_>) -> Result<RepoFacts> {
        let Some(Checkout::Git(repo)) = checkout else {
            // No checkout: the reference uses empty stand-ins. (A Mercurial
            // checkout is only recognised; its facts are not read.)
            let tool = checkout.map_or("git", Checkout::tool);
            return Ok(RepoFacts::empty(tool));
        };
        let mut facts = RepoFacts::empty("git");
        if ctx.needs_any(&["base_repository", "head_repository", "project"]) {
            // An origin that is missing or not a GitHub/hg.mozilla.org URL
            // blanks both the URL and the project, as in the reference.
            let url = repo.origin_url().ok();
            if let Some(project) = url.as_deref().and_then(vcs::project_from_url) {
                facts.url = url.unwrap_or_default();
                facts.project = project;
            }
        }
        if ctx.needs_any(&["head_ref", "head_rev"]) {
            facts.head_rev = repo.head_rev()?;
        }
        if ctx.needs_any(&["head_ref"]) {
            facts.branch = repo.branch()?;
        }
        Ok(facts)
    }

    fn empty(tool: &'static str) -> RepoFacts {
        RepoFacts {
            url: String::new(),
            project: String::new(),
            branch: None,
            head_rev: String::new(),
            tool,
        }
    }
}

fn read_version(repo_root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(repo_root.join("version.txt")).ok()?;
    Some(
        text.lines()
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_owned(),
    )
}

/// Checked, read-only parameters.
#[derive(Debug, Clone)]
pub struct Parameters {
    /// The values, `files_changed` standing in as an empty list while it
    /// is still to be read from git.
    values: Map,
    spec: Option<String>,
    /// `files_changed`, when the parameters file leaves it out and the
    /// repository is a git checkout.
    changed_files: Option<Arc<ChangedFiles>>,
    /// `values` with `files_changed` read, made the first time all the
    /// values are wanted.
    complete: OnceLock<Map>,
}

const FILES_CHANGED: &str = "files_changed";

/// The default of `files_changed`: the files of the work tree added or
/// modified since HEAD, read from git once, and only when asked for. Of
/// all the parameters, only some optimization strategies and the written
/// `parameters.yml` look at it, and its `git diff` takes milliseconds,
/// which most generations need not spend.
#[derive(Debug)]
struct ChangedFiles {
    repo_root: PathBuf,
    files: OnceLock<std::result::Result<Value, String>>,
}

impl ChangedFiles {
    fn value(&self) -> std::result::Result<&Value, &str> {
        self.files
            .get_or_init(|| {
                let repo = vcs::Repository::open(&self.repo_root);
                repo.unstaged_added_or_modified()
                    .map(Value::str_list)
                    .map_err(|e| match e.kind() {
                        ErrorKind::Vcs(message) => message.clone(),
                        _ => e.to_string(),
                    })
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

/// How to load parameters.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Only the schema's keys, all of them given: no defaults, no extras.
    pub strict: bool,
    /// Top-level keys replacing those of the file.
    pub overrides: Map,
    /// The repository root, for defaults read from git.
    pub repo_root: PathBuf,
}

impl Parameters {
    /// Loads parameters from `spec` (a `.yml`, `.yaml` or `.json` file), or
    /// from defaults alone when `spec` is None.
    pub fn load(
        spec: Option<&Path>,
        options: &LoadOptions,
        schema: &ParameterSchema,
    ) -> Result<Parameters> {
        let (mut values, document) = match spec {
            Some(path) => read_parameters_file(path)?,
            None => (Map::default(), None),
        };
        for (key, value) in &options.overrides {
            values.insert(key, value.clone());
        }
        let mut changed_files = None;
        if !options.strict {
            if !values.contains_key(FILES_CHANGED)
                && let Some(Checkout::Git(repo)) = vcs::find_checkout(&options.repo_root)
            {
                changed_files = Some(Arc::new(ChangedFiles {
                    repo_root: repo.root().to_owned(),
                    files: OnceLock::new(),
                }));
            }
            fill_defaults(&mut values, &options.repo_root, schema)?;
        }
        let params = Parameters {
            values,
            spec: spec.map(|p| p.display().to_string()),
            changed_files,
            complete: OnceLock::new(),
        };
        params.check(options.strict, schema).map_err(|e| {
            let Some(path) = spec else { return e };
            // Point at the offending key, or the nearest key above it whose
            // position the document recorded, when the file has it.
            let keys: Vec<&str> = e
                .location()
                .field
                .as_deref()
                .map(|f| {
                    f.split('.')
                        .map(|k| k.split('[').next().unwrap_or(k))
                        .collect()
                })
                .unwrap_or_default();
            let position = keys.first().zip(document.as_ref()).and_then(|(key, doc)| {
                if options.overrides.contains_key(key) {
                    return None;
                }
                (1..=keys.len())
                    .rev()
                    .find_map(|depth| doc.position(&keys[..depth]))
            });
            let e = e.with_file(path);
            match position {
                Some((line, column)) => e.with_position(line, column),
                None => e,
            }
        })?;
        if let (Some(path), Some(unsortable)) = (
            spec,
            document.as_ref().and_then(yaml::Document::unsortable_keys),
        ) {
            return Err(unsortable_keys_error(&params.values, &unsortable).with_file(path));
        }
        Ok(params)
    }

    /// The values a parameters file holds, as written: no defaults, no
    /// checks beyond its being a mapping.
    pub fn read_values(path: &Path) -> Result<Map> {
        Ok(read_parameters_file(path)?.0)
    }

    /// Wraps already-checked values (tests, embedding tools).
    pub fn from_map(values: Map) -> Parameters {
        Parameters {
            values,
            spec: None,
            changed_files: None,
            complete: OnceLock::new(),
        }
    }

    fn check(&self, strict: bool, schema: &ParameterSchema) -> Result<()> {
        let extra = if strict { Extra::Deny } else { Extra::Allow };
        let as_value = Value::Map(self.values.clone());
        Schema::Dict(Box::new(schema.schema.clone()))
            .validate(&as_value, extra)
            .map_err(|e| Error::params(e.kind().to_string()).at(e.location()))
    }

    /// A parameter by name. A `files_changed` that git could not give is
    /// missing here; [`Parameters::read_deferred`] tells why.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.changed_files {
            Some(changed) if key == FILES_CHANGED => changed.value().ok(),
            _ => self.values.get(key),
        }
    }

    /// The parameter at a dotted path, looked up as the reference's
    /// `deep_get` does (`training_config.experiment.src`).
    pub fn deep_get(&self, dotted: &str) -> Result<Option<&Value>> {
        let first = dotted.split('.').next().unwrap_or_default();
        let values = if first == FILES_CHANGED {
            self.as_map()
        } else {
            &self.values
        };
        crate::template::deep_get(values, dotted)
    }

    /// Reads what is still to be read from git now, reporting its failure.
    pub fn read_deferred(&self) -> Result<()> {
        match &self.changed_files {
            Some(changed) => changed
                .value()
                .map(|_| ())
                .map_err(|message| Error::new(ErrorKind::Vcs(message.to_owned()))),
            None => Ok(()),
        }
    }

    /// Starts reading what is still to be read from git on a thread of its
    /// own, for a generation that will want it.
    pub fn read_deferred_in_background(&self) {
        if let Some(changed) = &self.changed_files {
            let changed = Arc::clone(changed);
            // A thread that cannot be started leaves the reading to the
            // first to ask.
            let _detached = std::thread::Builder::new()
                .name("git-diff".into())
                .spawn(move || {
                    let _ = changed.value();
                });
        }
    }

    /// Turns an empty `filters` list into `["target_tasks_method"]`.
    ///
    /// The reference's generator appends the default filter to the
    /// parameters' own (empty) list before it loads any kind, so transforms
    /// and the written `parameters.yml` see the filter it runs.
    pub(crate) fn default_empty_filters(&mut self) {
        self.complete = OnceLock::new();
        if let Some(Value::List(filters)) = self.values.get_mut("filters")
            && filters.is_empty()
        {
            filters.push(Value::from("target_tasks_method"));
        }
    }

    /// Puts tasks reused from earlier task groups into `existing_tasks`;
    /// the tasks the parameters already name keep their task ids.
    pub(crate) fn add_reused_tasks(&mut self, reused: &IndexMap<String, String>) {
        if reused.is_empty() {
            return;
        }
        self.complete = OnceLock::new();
        let mut merged = Map::default();
        for (label, task_id) in reused {
            merged.insert(label.as_str(), Value::from(task_id.as_str()));
        }
        if let Some(Value::Map(explicit)) = self.values.get("existing_tasks") {
            for (label, task_id) in explicit {
                merged.insert(label, task_id.clone());
            }
        }
        self.values.insert("existing_tasks", Value::Map(merged));
    }

    /// A string parameter; an error naming it when missing or not a string.
    pub fn str(&self, key: &str) -> Result<&str> {
        match self.values.get(key) {
            Some(Value::Str(s)) => Ok(s),
            Some(other) => Err(Error::params(format!(
                "parameter `{key}` is {}, expected str",
                other.type_name()
            ))),
            None => Err(Error::params(format!(
                "taskgraph parameter `{key}` not found"
            ))),
        }
    }

    /// A string parameter, or "" when missing.
    pub fn str_or_empty(&self, key: &str) -> &str {
        self.values
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// All the values, `files_changed` read from git if it was still to
    /// be (an empty list if git could not give it).
    pub fn as_map(&self) -> &Map {
        let Some(changed) = &self.changed_files else {
            return &self.values;
        };
        self.complete.get_or_init(|| {
            let mut values = self.values.clone();
            if let Ok(files) = changed.value() {
                values.insert(FILES_CHANGED, files.clone());
            }
            values
        })
    }

    pub fn into_map(self) -> Map {
        match self.changed_files {
            Some(_) => self.as_map().clone(),
            None => self.values,
        }
    }

    /// The source of these parameters, as given.
    pub fn spec(&self) -> Option<&str> {
        self.spec.as_deref()
    }

    /// The SCM level, `"1"` to `"3"`.
    pub fn level(&self) -> &str {
        self.str_or_empty("level")
    }

    /// Whether this is a try push or a pull request (the reference's
    /// `is_try`: `"try"` anywhere in the project, or `tasks_for` exactly
    /// `github-pull-request`).
    pub fn is_try(&self) -> bool {
        self.str_or_empty("project").contains("try")
            || self.str_or_empty("tasks_for") == "github-pull-request"
    }

    /// Whether `tasks_for` is any kind of pull request event.
    pub fn is_pull_request(&self) -> bool {
        self.str_or_empty("tasks_for")
            .starts_with("github-pull-request")
    }

    /// A URL showing `path` at the head revision (`file_url`).
    pub fn file_url(&self, path: &str, pretty: bool) -> Result<String> {
        let repo = self.str_or_empty("head_repository");
        let rev = self.str_or_empty("head_rev");
        match self.str_or_empty("repository_type") {
            "hg" => {
                let endpoint = if pretty { "file" } else { "raw-file" };
                Ok([repo, "/", endpoint, "/", rev, "/", path].concat())
            }
            "git" => {
                let endpoint = if pretty { "blob" } else { "raw" };
                let slug = if let Some(rest) = repo.strip_prefix("https://github.com/") {
                    Some(rest.strip_suffix('/').unwrap_or(rest))
                } else if let Some(rest) = repo.strip_prefix("git@github.com:") {
                    Some(rest.strip_suffix(".git").unwrap_or(rest))
                } else {
                    None
                };
                if let Some(slug) = slug {
                    let parts = [
                        "https://github.com/",
                        slug,
                        "/",
                        endpoint,
                        "/",
                        rev,
                        "/",
                        path,
                    ];
                    Ok(parts.concat())
                } else {
                    Err(Error::params(format!(
                        "Don't know how to determine file URL for non-github repo: {repo}"
                    ))
                    .at_field("head_repository"))
                }
            }
            other => Err(Error::params(format!(
                "only git and hg repositories can link to files; repository_type is `{other}`"
            ))),
        }
    }

    /// The first 12 hex digits of the SHA-256 of the compact sorted JSON,
    /// as the reference logs it.
    pub fn id(&self) -> Result<String> {
        self.read_deferred()?;
        let json = python::json_compact(&Value::Map(self.as_map().clone()), true)?;
        let digest = Sha256::digest(json.as_bytes());
        Ok(format!("{digest:x}")[..12].to_owned())
    }
}

/// The parameters in a file, and for YAML where its keys are.
/// The reference computes the parameters' id from `json.dumps(parameters,
/// sort_keys=True)` before generating anything, and sorting a mapping with
/// a string key beside a number (or `None`, or a date) raises `TypeError`.
/// graphgen's keys are all strings by then, so this says where the YAML
/// had them, rather than generate what the reference cannot.
fn unsortable_keys_error(values: &Map, unsortable: &yaml::UnsortableKeys<'_>) -> Error {
    let [first, second] = unsortable.reprs;
    let message = format!(
        "a mapping has keys {first} and {second}, which Python cannot sort together \
         (TypeError: '<' not supported), so the reference fails computing the parameters' id; \
         quote the keys to make them strings"
    );
    let error = Error::params(message);
    let error = match path_of_map_with(values, &unsortable.names, "") {
        Some(field) if !field.is_empty() => error.at_field(&field),
        _ => error,
    };
    error.with_position(unsortable.line, unsortable.column)
}

/// The dotted path of the first mapping under `map` (itself included,
/// as the empty path) that has every key of `names`.
fn path_of_map_with(map: &Map, names: &[&str], prefix: &str) -> Option<String> {
    if names.iter().all(|name| map.contains_key(name)) {
        return Some(prefix.to_owned());
    }
    map.iter().find_map(|(key, value)| {
        let field = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Map(inner) => path_of_map_with(inner, names, &field),
            Value::List(items) => items.iter().enumerate().find_map(|(i, item)| match item {
                Value::Map(inner) => path_of_map_with(inner, names, &format!("{field}[{i}]")),
                _ => None,
            }),
            _ => None,
        }
    })
}

fn read_parameters_file(path: &Path) -> Result<(Map, Option<yaml::Document>)> {
    let name = path.to_string_lossy();
    let (value, document) = if name.ends_with(".yml") || name.ends_with(".yaml") {
        let document = yaml::load_document_file(path)?;
        (document.value.clone(), Some(document))
    } else if name.ends_with(".json") {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        (
            python::json_parse(&text).map_err(|e| e.with_file(path))?,
            None,
        )
    } else {
        return Err(Error::params(format!(
            "parameters file `{name}` is not JSON (.json) or YAML (.yml)"
        ))
        .with_file(path));
    };
    match value {
        Value::Map(map) => Ok((map, document)),
        other => Err(Error::params(format!(
            "the parameters file must hold a mapping, not {}",
            other.type_name()
        ))
        .with_file(path)),
    }
}

fn fill_defaults(values: &mut Map, repo_root: &Path, schema: &ParameterSchema) -> Result<()> {
    let mut defaults = Map::default();
    {
        let ctx = DefaultsContext {
            repo_root,
            given: values,
        };
        for defaults_fn in &schema.defaults {
            defaults.extend(defaults_fn(&ctx)?);
        }
    }
    for (key, value) in defaults {
        values.entry(key).or_insert(value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;

    fn full() -> Map {
        map! {
            "base_repository" => "https://github.com/demo/demo", "base_ref" => "", "base_rev" => "",
            "build_date" => 1700000000, "build_number" => 1, "do_not_optimize" => Value::List(vec![]),
            "enable_always_target" => true, "existing_tasks" => Map::default(), "files_changed" => Value::List(vec![]),
            "filters" => Value::str_list(["target_tasks_method"]), "head_ref" => "main",
            "head_repository" => "https://github.com/demo/demo", "head_rev" => "abc", "head_tag" => "",
            "level" => "3", "moz_build_date" => "20231110000000", "next_version" => Value::Null,
            "optimize_strategies" => Value::Null, "optimize_target_tasks" => true, "owner" => "me@example.com",
            "project" => "demo", "pushdate" => 1700000000, "pushlog_id" => "0", "repository_type" => "git",
            "target_tasks_method" => "default", "tasks_for" => "github-push", "version" => Value::Null,
        }
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn strict_loading_rejects_wrong_types_and_extra_keys() {
        let dir = tempfile::tempdir().unwrap();
        let schema = ParameterSchema::default();
        let options = LoadOptions {
            strict: true,
            ..LoadOptions::default()
        };

        let mut values = full();
        values.insert("level", Value::Int(3));
        let path = write(
            dir.path(),
            "p.json",
            &python::json_compact(&Value::Map(values), false).unwrap(),
        );
        let err = Parameters::load(Some(&path), &options, &schema).unwrap_err();
        assert_eq!(err.location().field.as_deref(), Some("level"), "{err}");
        assert!(err.to_string().contains("p.json"), "{err}");

        let mut values = full();
        values.insert("surprise", Value::Int(3));
        let path = write(
            dir.path(),
            "q.json",
            &python::json_compact(&Value::Map(values), false).unwrap(),
        );
        assert!(Parameters::load(Some(&path), &options, &schema).is_err());
    }

    #[test]
    fn defaults_fill_missing_keys_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "p.yml", "level: '1'\nproject: demo\n");
        let options = LoadOptions {
            repo_root: dir.path().to_owned(),
            ..LoadOptions::default()
        };
        let params = Parameters::load(Some(&path), &options, &ParameterSchema::default()).unwrap();
        assert_eq!(params.level(), "1");
        assert_eq!(params.str("owner").unwrap(), "nobody@mozilla.com");
        assert_eq!(params.str("repository_type").unwrap(), "git");
        assert_eq!(params.get("files_changed"), Some(&Value::List(vec![])));
    }

    #[test]
    fn files_changed_is_read_from_git_when_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let status = std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.com")
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::write(dir.path().join("a.txt"), "one").unwrap();
        let path = write(dir.path(), "p.yml", "level: '1'\n");
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "one"]);
        std::fs::write(dir.path().join("a.txt"), "two").unwrap();

        let options = LoadOptions {
            repo_root: dir.path().to_owned(),
            ..LoadOptions::default()
        };
        let params = Parameters::load(Some(&path), &options, &ParameterSchema::default()).unwrap();
        // Still to be read: the placeholder is not what lookups see.
        assert_eq!(
            params.get("files_changed"),
            Some(&Value::str_list(["a.txt"]))
        );
        assert_eq!(
            params.deep_get("files_changed").unwrap(),
            Some(&Value::str_list(["a.txt"]))
        );
        params.read_deferred().unwrap();
        // In the complete values it keeps the place defaults give it.
        let keys: Vec<&str> = params.as_map().keys().collect();
        let at = keys.iter().position(|k| *k == "files_changed").unwrap();
        assert_eq!(keys[at - 1], "existing_tasks");
        assert_eq!(
            params.as_map().get("files_changed"),
            Some(&Value::str_list(["a.txt"]))
        );
        assert_eq!(
            params.clone().into_map().get("files_changed"),
            Some(&Value::str_list(["a.txt"]))
        );

        // Given in the file, it is used as it is.
        let given = write(dir.path(), "q.yml", "files_changed: [b.txt]\n");
        let params = Parameters::load(Some(&given), &options, &ParameterSchema::default()).unwrap();
        assert_eq!(
            params.get("files_changed"),
            Some(&Value::str_list(["b.txt"]))
        );
    }

    #[test]
    fn a_wrong_type_names_the_file_field_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "p.yml", "project: demo\nlevel: 3\n");
        let options = LoadOptions {
            repo_root: dir.path().to_owned(),
            ..LoadOptions::default()
        };
        let err = Parameters::load(Some(&path), &options, &ParameterSchema::default()).unwrap_err();
        let location = err.location();
        assert_eq!(location.field.as_deref(), Some("level"), "{err}");
        assert_eq!(location.line, Some(2), "{err}");
        assert!(err.to_string().contains("p.yml:2:1"), "{err}");
    }

    #[test]
    fn a_nested_wrong_type_points_at_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let text = "project: demo\ncode-review:\n  phabricator-build-target: 3\n";
        let path = write(dir.path(), "p.yml", text);
        let options = LoadOptions {
            repo_root: dir.path().to_owned(),
            ..LoadOptions::default()
        };
        let err = Parameters::load(Some(&path), &options, &ParameterSchema::default()).unwrap_err();
        let location = err.location();
        assert_eq!(
            location.field.as_deref(),
            Some("code-review.phabricator-build-target"),
            "{err}"
        );
        assert_eq!(
            (location.line, location.column),
            (Some(3), Some(3)),
            "{err}"
        );
    }

    #[test]
    fn keys_python_cannot_sort_fail_as_the_reference_does() {
        // The reference's parameters id is json.dumps(sort_keys=True) of
        // them: a string key beside an int, or None beside an int, or a
        // date beside a datetime, is a TypeError before anything is built.
        let dir = tempfile::tempdir().unwrap();
        let options = LoadOptions {
            repo_root: dir.path().to_owned(),
            ..LoadOptions::default()
        };
        let schema = ParameterSchema::default();
        let refused = [
            (
                "extra:\n  args:\n    after: 10u\n    7: seven\n",
                "extra.args",
                4,
                "'after' and 7",
            ),
            ("extra:\n  - {~: a, 1: b}\n", "extra[0]", 3, "None and 1"),
            (
                "extra: {2020-01-01: a, 2020-01-01 10:00:00: b}\n",
                "extra",
                2,
                "datetime.date(2020, 1, 1)",
            ),
            ("1: one\n", "", 1, "'project' and 1"),
        ];
        for (text, field, line, keys) in refused {
            let path = write(dir.path(), "p.yml", &format!("project: demo\n{text}"));
            let err = Parameters::load(Some(&path), &options, &schema).unwrap_err();
            let location = err.location();
            let expected_field = (!field.is_empty()).then_some(field);
            assert_eq!(location.field.as_deref(), expected_field, "{text}: {err}");
            assert_eq!(location.line, Some(line), "{text}: {err}");
            assert!(err.to_string().contains(keys), "{text}: {err}");
            assert!(err.to_string().contains("TypeError"), "{text}: {err}");
        }

        // Keys Python can sort are fine, whatever their type: numbers of
        // any kind together, or strings only.
        for text in [
            "extra: {1: a, 2.5: b, true: c}\n",
            "extra: {'1': a, b: c}\n",
        ] {
            let path = write(dir.path(), "p.yml", &format!("project: demo\n{text}"));
            assert!(
                Parameters::load(Some(&path), &options, &schema).is_ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn reused_tasks_go_under_the_explicit_existing_tasks() {
        let mut params = Parameters::from_map(map! {
            "existing_tasks" => map! {"vocab" => "MINE", "extra" => "X"},
        });
        let reused = IndexMap::from_iter([
            ("clean".to_owned(), "C1".to_owned()),
            ("vocab".to_owned(), "V1".to_owned()),
        ]);
        params.add_reused_tasks(&reused);
        let existing = params
            .get("existing_tasks")
            .and_then(Value::as_map)
            .unwrap();
        let pairs: Vec<(&str, &str)> = existing
            .iter()
            .map(|(k, v)| (k, v.as_str().unwrap()))
            .collect();
        assert_eq!(pairs, [("clean", "C1"), ("vocab", "MINE"), ("extra", "X")]);
    }

    #[test]
    fn overrides_replace_whole_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "p.yml", "existing_tasks: {a: b}\n");
        let options = LoadOptions {
            overrides: map! {"existing_tasks" => map! {"c" => "d"}},
            repo_root: dir.path().to_owned(),
            ..LoadOptions::default()
        };
        let params = Parameters::load(Some(&path), &options, &ParameterSchema::default()).unwrap();
        assert_eq!(
            params.get("existing_tasks"),
            Some(&Value::Map(map! {"c" => "d"}))
        );
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let err = Parameters::load(
            Some(Path::new("/nonexistent/p.yml")),
            &LoadOptions::default(),
            &ParameterSchema::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/p.yml"), "{err}");
    }

    #[test]
    fn file_urls_follow_the_repository_host() {
        let mut values = full();
        let params = Parameters::from_map(values.clone());
        assert_eq!(
            params.file_url("taskcluster/kinds/build", true).unwrap(),
            "https://github.com/demo/demo/blob/abc/taskcluster/kinds/build"
        );
        values.insert("head_repository", "git@github.com:demo/demo.git".into());
        assert_eq!(
            Parameters::from_map(values.clone())
                .file_url("x", false)
                .unwrap(),
            "https://github.com/demo/demo/raw/abc/x"
        );
        values.insert("head_repository", "https://gitlab.com/demo".into());
        assert!(Parameters::from_map(values).file_url("x", true).is_err());
    }

    #[test]
    fn empty_filters_get_the_default_filter() {
        let mut values = full();
        values.insert("filters", Value::List(vec![]));
        let mut params = Parameters::from_map(values);
        params.default_empty_filters();
        assert_eq!(
            params.get("filters"),
            Some(&Value::str_list(["target_tasks_method"]))
        );

        let mut values = full();
        values.insert("filters", Value::str_list(["a", "b"]));
        let mut params = Parameters::from_map(values);
        params.default_empty_filters();
        assert_eq!(params.get("filters"), Some(&Value::str_list(["a", "b"])));
    }

    #[test]
    fn is_try_matches_the_reference() {
        let mut values = full();
        values.insert("tasks_for", "github-pull-request".into());
        assert!(Parameters::from_map(values.clone()).is_try());
        values.insert("tasks_for", "github-pull-request-untrusted".into());
        assert!(!Parameters::from_map(values.clone()).is_try());
        assert!(Parameters::from_map(values).is_pull_request());
    }
}
