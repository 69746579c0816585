//! `translations_taskgraph.transforms.training_continuation`: training from
//! (or republishing) a pretrained model.
//!
//! Two sequences:
//!
//! - `:transforms` mounts the artifacts of the pretrained model named after
//!   the kind (`training_config.continuation.models.<kind>`) into the
//!   training task, one model URL per task, and drops the vocabulary the
//!   model brings along. In `use` mode the task only republishes the model,
//!   so it loses its dependencies and its cache digest depends on the
//!   `pretrained*` parameters alone. Before any task, every pretrained
//!   model that is not merely initialised from has its vocabulary looked
//!   up (one shared `vocab.spm`, else `vocab.<src>.spm`) through the
//!   [`UrlChecker`]; neither existing is an error, as is a URL that cannot
//!   be checked at all.
//! - `:evaluate_stage` drops evaluation tasks of models that are pretrained
//!   (`teacher`, `backward`), which have nothing new to evaluate.

mod urljoin;

use std::sync::Arc;

use taskgraph::python::py_str;
use taskgraph::transform::{TaskDesc, Transform, TransformConfig, TransformRef, batch};
use taskgraph::{Error, Map, Registry, Result, Value};

use crate::urls::UrlChecker;

const MOUNTS_NAME: &str = "translations_taskgraph.transforms.training_continuation:transforms";
const EVALUATE_STAGE_NAME: &str =
    "translations_taskgraph.transforms.training_continuation:evaluate_stage";

/// What a model trained further (`continue` or `use` mode) brings, besides
/// its vocabulary.
const CONTINUE_TRAINING_ARTIFACTS: &[&str] = &[
    "devset.out",
    "model.npz",
    "model.npz.best-bleu-detok.npz",
    "model.npz.best-bleu-detok.npz.decoder.yml",
    "model.npz.best-ce-mean-words.npz",
    "model.npz.best-ce-mean-words.npz.decoder.yml",
    "final.model.npz.best-chrf.npz",
    "model.npz.best-chrf.npz",
    "final.model.npz.best-chrf.npz.decoder.yml",
    "model.npz.best-chrf.npz.decoder.yml",
    "model.npz.decoder.yml",
    "model.npz.optimizer.npz",
    "model.npz.progress.yml",
    "model.npz.yml",
    "train.log",
    "valid.log",
];

/// What a model only initialised from (`init` mode) brings.
const INITIALIZE_MODEL_ARTIFACTS: &[&str] = &[
    "model.npz.best-bleu-detok.npz",
    "model.npz.best-ce-mean-words.npz",
    "final.model.npz.best-chrf.npz",
    "model.npz.best-chrf.npz",
];

/// Where the mounted artifacts land in the task's working directory.
const ARTIFACTS_DIRECTORY: &str = "./artifacts";

pub fn register(registry: &mut Registry, urls: Arc<dyn UrlChecker>) {
    registry.add_transforms(MOUNTS_NAME, transforms(urls));
    registry.add_transforms(EVALUATE_STAGE_NAME, evaluate_stage());
}

/// The `:transforms` sequence, checking URLs with `urls`.
pub fn transforms(urls: Arc<dyn UrlChecker>) -> Vec<TransformRef> {
    vec![Arc::new(PretrainedModelMounts { urls })]
}

/// The `:evaluate_stage` sequence.
pub fn evaluate_stage() -> Vec<TransformRef> {
    vec![batch(
        "training_continuation:skip_for_pretrained_models",
        skip_for_pretrained_models,
    )]
}

/// `add_pretrained_model_mounts`. It sees all tasks at once: successive
/// tasks take successive model URLs.
struct PretrainedModelMounts {
    urls: Arc<dyn UrlChecker>,
}

impl Transform for PretrainedModelMounts {
    fn name(&self) -> &str {
        "training_continuation:add_pretrained_model_mounts"
    }

    fn apply(&self, config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
        add_pretrained_model_mounts(self.urls.as_ref(), config, tasks)
            .map_err(|e| e.in_kind(config.kind))
    }
}

fn add_pretrained_model_mounts(
    urls: &dyn UrlChecker,
    config: &TransformConfig<'_>,
    mut tasks: Vec<TaskDesc>,
) -> Result<Vec<TaskDesc>> {
    let training_config = training_config(config)?;
    let models = pretrained_models(training_config)?;
    let src = experiment_language(training_config, "src")?;
    let trg = experiment_language(training_config, "trg")?;

    let mut all_mounts = models_mounts(urls, models, &src, &trg)?;
    let Some(mut kind_mounts) = all_mounts.shift_remove(config.kind) else {
        return Ok(tasks);
    };

    for task in &mut tasks {
        kind_mounts
            .mount_next_url(&mut task.fields)
            .map_err(|e| e.at(&task.location(config.kind)))?;
    }
    Ok(tasks)
}

/// The artifacts of one pretrained model, and the model URLs not yet
/// given to a task.
#[derive(Debug)]
struct ModelMounts {
    name: String,
    republishes: bool,
    artifacts: Vec<String>,
    urls: std::vec::IntoIter<Value>,
}

impl ModelMounts {
    fn mount_next_url(&mut self, task: &mut Map) -> Result<()> {
        let Some(url) = self.urls.next() else {
            // The reference's generator runs dry: RuntimeError.
            return Err(Error::transform(format!(
                "pretrained model `{}` has fewer URLs than the kind has tasks (generator raised StopIteration)",
                self.name
            )));
        };
        let mounts = artifact_mounts(&url, &self.artifacts)?;

        add_worker_mounts(task, mounts)?;
        remove_required(task, "dependencies", "build-vocab")?;
        remove_required(task, "fetches", "build-vocab")?;
        if self.republishes {
            republish_only(task)?;
        }
        Ok(())
    }
}

/// Mounts for every pretrained model, by model name; models in a mode
/// other than `init` have their vocabulary looked up now.
fn models_mounts(
    urls: &dyn UrlChecker,
    models: &Map,
    src: &str,
    trg: &str,
) -> Result<indexmap::IndexMap<String, ModelMounts>> {
    let mut all = indexmap::IndexMap::new();
    for (name, model) in models {
        let Value::Map(model) = model else {
            return Err(model_error(
                name,
                &format!("is a {}, not a mapping", model.type_name()),
            ));
        };
        let model_urls = model_urls(name, model)?;
        let mode = model
            .get("mode")
            .ok_or_else(|| model_error(name, "has no `mode` (KeyError: 'mode')"))?;

        let artifacts: Vec<String> = if mode.as_str() == Some("init") {
            INITIALIZE_MODEL_ARTIFACTS
                .iter()
                .map(|a| (*a).to_owned())
                .collect()
        } else {
            let first_url = first_url(name, &model_urls)?;
            let vocab = vocab_artifacts(urls, name, first_url, src, trg)?;
            CONTINUE_TRAINING_ARTIFACTS
                .iter()
                .map(|a| (*a).to_owned())
                .chain(vocab)
                .collect()
        };

        let mounts = ModelMounts {
            name: name.to_owned(),
            republishes: mode.as_str() == Some("use"),
            artifacts,
            urls: model_urls.into_iter(),
        };
        all.insert(name.to_owned(), mounts);
    }
    Ok(all)
}

/// `urls` (teachers may be ensembles), else the single `url`.
fn model_urls(name: &str, model: &Map) -> Result<Vec<Value>> {
    match model.get("urls").filter(|u| u.is_truthy()) {
        Some(Value::List(urls)) => Ok(urls.clone()),
        Some(other) => Err(model_error(
            name,
            &format!("has `urls` that is a {}, not a list", other.type_name()),
        )),
        None => {
            let url = model.get("url").ok_or_else(|| {
                model_error(name, "has neither `urls` nor `url` (KeyError: 'url')")
            })?;
            Ok(vec![url.clone()])
        }
    }
}

fn first_url<'u>(name: &str, urls: &'u [Value]) -> Result<&'u str> {
    match urls.first() {
        Some(Value::Str(url)) => Ok(url),
        Some(other) => Err(model_error(
            name,
            &format!("has a URL that is a {}, not a string", other.type_name()),
        )),
        None => Err(model_error(name, "has no URL")),
    }
}

fn model_error(name: &str, problem: &str) -> Error {
    Error::params(format!(
        "pretrained model `training_config.continuation.models.{name}` {problem}"
    ))
}

/// The model's vocabulary files: one shared `vocab.spm` if the model has
/// it, else one per language.
fn vocab_artifacts(
    urls: &dyn UrlChecker,
    model: &str,
    model_url: &str,
    src: &str,
    trg: &str,
) -> Result<Vec<String>> {
    let joint_vocab = artifact_url(model_url, "vocab.spm")?;
    let src_vocab_name = format!("vocab.{src}.spm");
    let src_vocab = artifact_url(model_url, &src_vocab_name)?;

    if location_exists(urls, model, &joint_vocab)? {
        return Ok(vec!["vocab.spm".to_owned()]);
    }
    if location_exists(urls, model, &src_vocab)? {
        return Ok(vec![src_vocab_name, format!("vocab.{trg}.spm")]);
    }
    Err(Error::transform(format!(
        "Could not find either a shared or split vocab for pretrained model `{model}`: neither {joint_vocab} nor {src_vocab} exists."
    )))
}

fn location_exists(urls: &dyn UrlChecker, model: &str, url: &str) -> Result<bool> {
    urls.exists(url).map_err(|e| {
        Error::transform(format!(
            "pretrained model `{model}`: could not check whether {url} exists: {e}"
        ))
    })
}

/// The artifact's URL under the model's URL, joined as `urljoin` joins
/// them once the model URL ends with `/`.
fn artifact_url(model_url: &str, artifact: &str) -> Result<String> {
    let directory = if model_url.ends_with('/') {
        model_url.to_owned()
    } else {
        format!("{model_url}/")
    };
    urljoin::urljoin(&directory, artifact)
}

/// One mount per artifact: its URL under `url`, its file under
/// [`ARTIFACTS_DIRECTORY`].
fn artifact_mounts(url: &Value, artifacts: &[String]) -> Result<Vec<Value>> {
    let Value::Str(url) = url else {
        return Err(Error::params(format!(
            "a pretrained model URL is a {}, not a string",
            url.type_name()
        )));
    };
    artifacts
        .iter()
        .map(|artifact| {
            let mut content = Map::default();
            content.insert("url", Value::Str(artifact_url(url, artifact)?));
            let mut mount = Map::default();
            mount.insert("content", Value::Map(content));
            mount.insert(
                "file",
                Value::Str(posix_join(ARTIFACTS_DIRECTORY, artifact)),
            );
            Ok(Value::Map(mount))
        })
        .collect()
}

/// `os.path.join(directory, name)` on POSIX.
fn posix_join(directory: &str, name: &str) -> String {
    if name.starts_with('/') {
        name.to_owned()
    } else if directory.is_empty() || directory.ends_with('/') {
        format!("{directory}{name}")
    } else {
        format!("{directory}/{name}")
    }
}

/// Appends `mounts` to `worker.mounts`, creating it at the end of `worker`.
fn add_worker_mounts(task: &mut Map, mounts: Vec<Value>) -> Result<()> {
    let worker = required_map(task, "worker")?;
    match worker.get_mut("mounts") {
        None => {
            worker.insert("mounts", Value::List(mounts));
            Ok(())
        }
        Some(Value::List(existing)) => {
            existing.extend(mounts);
            Ok(())
        }
        Some(other) => Err(Error::transform(format!(
            "`worker.mounts` is a {}, not a list",
            other.type_name()
        ))
        .at_field("worker.mounts")),
    }
}

/// `task[field].pop(key)`, which fails when the key is missing.
fn remove_required(task: &mut Map, field: &str, key: &str) -> Result<()> {
    let map = required_map(task, field)?;
    map.shift_remove(key).map(|_| ()).ok_or_else(|| {
        Error::transform(format!(
            "the task has no `{field}.{key}` to replace with the pretrained model (KeyError: '{key}')"
        ))
        .at_field(field)
    })
}

/// In `use` mode the task republishes the pretrained artifacts: it needs
/// no upstream task, and only the `pretrained*` parameters may change its
/// cache digest.
fn republish_only(task: &mut Map) -> Result<()> {
    task.insert("dependencies", Value::Map(Map::default()));
    task.insert("fetches", Value::Map(Map::default()));

    let attributes = required_map(task, "attributes")?;
    let cache = required_map(attributes, "cache").map_err(|e| e.at_field("attributes.cache"))?;
    cache.insert("resources", Value::List(Vec::new()));
    let from_parameters = required_map(cache, "from-parameters")
        .map_err(|e| e.at_field("attributes.cache.from-parameters"))?;
    from_parameters.retain(|name, _| name.starts_with("pretrained"));
    Ok(())
}

fn required_map<'m>(map: &'m mut Map, key: &str) -> Result<&'m mut Map> {
    match map.get_mut(key) {
        Some(Value::Map(inner)) => Ok(inner),
        Some(other) => Err(Error::transform(format!(
            "`{key}` is a {}, not a mapping",
            other.type_name()
        ))
        .at_field(key)),
        None => Err(Error::transform(format!("missing `{key}` (KeyError: '{key}')")).at_field(key)),
    }
}

/// `skip_for_pretrained_models`: drops tasks whose stage mentions the type
/// of a pretrained model (`teacher` for `teacher`, `backward` for
/// `backwards`; the last `-` part of the model's name).
fn skip_for_pretrained_models(
    config: &TransformConfig<'_>,
    tasks: Vec<TaskDesc>,
) -> Result<Vec<TaskDesc>> {
    let models = pretrained_models(training_config(config)?)?;
    let model_types: Vec<String> = models
        .keys()
        .map(|name| {
            let last = name.rsplit('-').next().unwrap_or(name);
            last.replace("backwards", "backward")
        })
        .collect();
    if model_types.is_empty() {
        return Ok(tasks);
    }

    let mut kept = Vec::with_capacity(tasks.len());
    for task in tasks {
        let pretrained = stage_mentions_any(&task.fields, &model_types)
            .map_err(|e| e.at(&task.location(config.kind)))?;
        if !pretrained {
            kept.push(task);
        }
    }
    Ok(kept)
}

/// `any(model_type in task["attributes"]["stage"])`, with Python's `in`.
fn stage_mentions_any(task: &Map, model_types: &[String]) -> Result<bool> {
    let stage = match task.get("attributes") {
        Some(Value::Map(attributes)) => attributes.get("stage"),
        Some(other) => {
            return Err(Error::transform(format!(
                "`attributes` is a {}, not a mapping",
                other.type_name()
            ))
            .at_field("attributes"));
        }
        None => None,
    };
    let contains = |model_type: &str| match stage {
        Some(Value::Str(stage)) => Ok(stage.contains(model_type)),
        Some(Value::List(items)) => Ok(items.iter().any(|item| item.as_str() == Some(model_type))),
        Some(Value::Map(keys)) => Ok(keys.contains_key(model_type)),
        Some(other) => Err(Error::transform(format!(
            "`attributes.stage` is a {}, not a string (TypeError)",
            other.type_name()
        ))
        .at_field("attributes.stage")),
        None => Err(
            Error::transform("the task has no `attributes.stage` (KeyError: 'stage')")
                .at_field("attributes.stage"),
        ),
    };

    let mut any = false;
    for model_type in model_types {
        any |= contains(model_type)?;
    }
    Ok(any)
}

fn training_config<'c>(config: &'c TransformConfig<'_>) -> Result<&'c Map> {
    match config.params.get("training_config") {
        Some(Value::Map(training_config)) => Ok(training_config),
        Some(other) => Err(Error::params(format!(
            "`training_config` is a {}, not a mapping",
            other.type_name()
        ))),
        None => Err(Error::params(
            "taskgraph parameter `training_config` not found",
        )),
    }
}

/// `training_config.continuation.models`, empty when either is absent.
fn pretrained_models(training_config: &Map) -> Result<&Map> {
    static EMPTY: std::sync::LazyLock<Map> = std::sync::LazyLock::new(Map::default);

    let continuation = match training_config.get("continuation") {
        None => return Ok(&EMPTY),
        Some(Value::Map(continuation)) => continuation,
        Some(other) => {
            return Err(Error::params(format!(
                "`training_config.continuation` is a {}, not a mapping",
                other.type_name()
            )));
        }
    };
    match continuation.get("models") {
        None => Ok(&EMPTY),
        Some(Value::Map(models)) => Ok(models),
        Some(other) => Err(Error::params(format!(
            "`training_config.continuation.models` is a {}, not a mapping",
            other.type_name()
        ))),
    }
}

/// `training_config.experiment.<key>` as Python's `str()` formats it.
fn experiment_language(training_config: &Map, key: &str) -> Result<String> {
    training_config
        .get("experiment")
        .and_then(|experiment| experiment.get(key))
        .map(py_str)
        .ok_or_else(|| Error::params(format!("`training_config.experiment.{key}` is not set")))
}

#[cfg(test)]
mod tests;
