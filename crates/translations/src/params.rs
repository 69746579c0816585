//! The `training_config` parameter.
//!
//! Every translations generation is driven by a training configuration
//! (languages, datasets, model sizes, Marian arguments). It travels as the
//! `training_config` parameter, whose shape this module adds to the
//! parameter schema. When a parameters file leaves it out, the CI
//! configuration checked into the repository
//! (`taskcluster/configs/config.ci.yml`) stands in, so that a plain
//! `taskgraph full` builds the small CI pipeline.
//!
//! `get_decision_parameters` is deliberately absent: it only runs inside a
//! decision task. The checks the `train` action adds before it generates
//! (valid stages, teacher URLs, distillation corpora) are made by
//! `train-target-tasks` (`target/checks.rs`), so a local run refuses what
//! the action would.

use std::path::Path;
use std::sync::Arc;

use taskgraph::params::DefaultsContext;
use taskgraph::schema::{
    DictSchema, Extra, Field, KeyRule, Schema, dict, opt, req, str_list, str_map,
};
use taskgraph::{Error, Map, Registry, Result, Value, yaml};

/// The parameter this module defines.
pub const TRAINING_CONFIG: &str = "training_config";

/// Where the default training configuration lives, from the repository
/// root.
pub const CI_CONFIG_PATH: &str = "taskcluster/configs/config.ci.yml";

/// Adds `training_config` to the parameter schema, with the CI
/// configuration as its default.
pub fn register(registry: &mut Registry) {
    registry.parameters_mut().extend(
        [req(TRAINING_CONFIG, training_config_schema())],
        Some(Arc::new(ci_training_config_default)),
    );
}

/// The schema of `training_config`, key for key as the reference declares
/// it. Nested mappings set no policy of their own, so unknown keys inside
/// them are refused only when parameters are loaded strictly, as with the
/// reference.
pub fn training_config_schema() -> Schema {
    dict([
        req("target-stage", Schema::Str),
        req("marian-args", marian_args_schema().into()),
        req("experiment", experiment_schema().into()),
        opt("datasets", str_map(str_list())),
        opt("continuation", continuation_schema().into()),
        opt("taskcluster", taskcluster_schema().into()),
        opt("wandb-publication", Schema::Bool),
    ])
    .into()
}

fn marian_args_schema() -> DictSchema {
    dict(
        [
            "training-backward",
            "training-teacher",
            "training-student",
            "training-student-finetuned",
            "decoding-backward",
            "decoding-teacher",
        ]
        .map(|stage| opt(stage, str_map(Schema::Str))),
    )
}

fn experiment_schema() -> DictSchema {
    dict([
        req("name", Schema::Str),
        req("src", Schema::Str),
        req("trg", Schema::Str),
        req("archive-corpora", Schema::Bool),
        req("teacher-ensemble", Schema::Int),
        req("teacher-mode", Schema::Str),
        req("teacher-decoder", Schema::Str),
        req("student-model", Schema::Str),
        opt("corpus-max-sentences", Schema::Int),
        opt("dev-max-sentences", Schema::Int),
        req("mono-max-sentences-trg", sentence_limits_schema()),
        req("mono-max-sentences-src", sentence_limits_schema()),
        req("spm-sample-size", Schema::Int),
        opt("spm-vocab-size", Schema::Int),
        req("spm-vocab-split", Schema::Bool),
        opt("spm-norm-rule", Schema::Str),
        req("best-model", Schema::Str),
        opt("opuscleaner-mode", Schema::Str),
        req("bicleaner", thresholds_schema()),
        req(
            "monocleaner",
            dict([
                req("mono-src", thresholds_schema()),
                req("mono-trg", thresholds_schema()),
            ])
            .into(),
        ),
        req(
            "hplt-min-doc-score",
            dict([
                req("mono-src", Schema::Float),
                req("mono-trg", Schema::Float),
            ])
            .into(),
        ),
    ])
}

fn sentence_limits_schema() -> Schema {
    dict([req("total", Schema::Int), req("per-dataset", Schema::Int)]).into()
}

/// A cleaner's thresholds. They are Python floats: an integer such as `0`
/// is refused, as voluptuous refuses it.
fn thresholds_schema() -> Schema {
    dict([
        req("default-threshold", Schema::Float),
        opt("dataset-thresholds", str_map(Schema::Float)),
    ])
    .into()
}

fn continuation_schema() -> DictSchema {
    let corpus = || {
        Schema::from(dict([
            req("src", Schema::Str),
            req("trg", Schema::Str),
            opt("aln", Schema::Str),
        ]))
    };
    dict([
        opt(
            "vocab",
            dict([req("src", Schema::Str), req("trg", Schema::Str)]).into(),
        ),
        opt(
            "models",
            dict([
                opt("teacher", pretrained_model(req("urls", str_list()))),
                opt("backwards", pretrained_model(req("url", Schema::Str))),
            ])
            .into(),
        ),
        opt(
            "corpora",
            dict([
                opt("backtranslations", corpus()),
                opt("parallel", corpus()),
                opt("distillation", corpus()),
            ])
            .into(),
        ),
    ])
}

/// A pretrained model to continue from: where it is (`location`), and
/// how it is to be used.
fn pretrained_model(location: Field) -> Schema {
    dict([location, req("mode", Schema::Str), req("type", Schema::Str)]).into()
}

fn taskcluster_schema() -> DictSchema {
    dict([
        opt("split-chunks", Schema::Int),
        opt("upload-bucket", Schema::Str),
        req(
            "worker-classes",
            dict([req("default", Schema::Str)])
                .key_rule(KeyRule::AnyStr, Schema::Str)
                .into(),
        ),
    ])
}

/// The defaults function: the CI configuration, read only when the
/// parameters do not give `training_config` themselves.
fn ci_training_config_default(ctx: &DefaultsContext<'_>) -> Result<Map> {
    let mut defaults = Map::default();
    if ctx.needs_any(&[TRAINING_CONFIG]) {
        let path = ctx.repo_root.join(CI_CONFIG_PATH);
        defaults.insert(TRAINING_CONFIG, read_ci_training_config(&path)?);
    }
    Ok(defaults)
}

/// Reads and checks the default configuration at `path`.
///
/// It is checked here, although the parameters are checked again once
/// loaded, so that a mistake in it names this file and its line rather
/// than the parameters file that merely left the key out. Unknown keys
/// pass, as defaults only apply when parameters are loaded leniently.
pub fn read_ci_training_config(path: &Path) -> Result<Value> {
    let document = yaml::load_document_file(path).map_err(|e| e.at_field(TRAINING_CONFIG))?;
    let wrapped = Value::Map(Map::from_iter([(
        TRAINING_CONFIG.to_owned(),
        document.value.clone(),
    )]));
    let schema: Schema = dict([req(TRAINING_CONFIG, training_config_schema())]).into();
    if let Err(invalid) = schema.validate(&wrapped, Extra::Allow) {
        let field = invalid.location().field.clone().unwrap_or_default();
        let error = Error::params(invalid.kind().to_string())
            .at_field(&field)
            .with_file(path);
        return Err(match key_position(&document, &field) {
            Some((line, column)) => error.with_position(line, column),
            None => error,
        });
    }
    Ok(document.value)
}

/// Where in the configuration file the key at `field` (a dotted path
/// starting with `training_config`, list positions written `[n]`) is, or
/// the nearest recorded key above it.
fn key_position(document: &yaml::Document, field: &str) -> Option<(usize, usize)> {
    let inner = field.strip_prefix(TRAINING_CONFIG)?.strip_prefix('.')?;
    let keys: Vec<&str> = inner
        .split('.')
        .map(|key| key.split('[').next().unwrap_or(key))
        .collect();
    (1..=keys.len().min(3))
        .rev()
        .find_map(|depth| document.position(&keys[..depth]))
}

#[cfg(test)]
mod tests;
