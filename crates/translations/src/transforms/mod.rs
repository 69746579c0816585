//! The project's transforms, registered under their Python names
//! (`translations_taskgraph.transforms.<module>[:<attribute>]`).

use std::sync::Arc;

use taskgraph::Registry;

use crate::urls::UrlChecker;

pub mod cached_tasks;
pub mod cast_to;
pub mod continuation;
pub mod dependency_dummies;
pub mod find_upstreams;
pub mod from_datasets;
pub mod marian_args;
pub mod resolve_upload_bucket;
pub mod skip_unless_changed;
pub mod training_continuation;
pub mod upload_artifacts;
pub mod upload_experiment_config;
pub mod worker_selection;

pub fn register(registry: &mut Registry, urls: Arc<dyn UrlChecker>) {
    cached_tasks::register(registry);
    cast_to::register(registry);
    continuation::register(registry);
    dependency_dummies::register(registry);
    find_upstreams::register(registry);
    from_datasets::register(registry);
    marian_args::register(registry);
    resolve_upload_bucket::register(registry);
    skip_unless_changed::register(registry);
    training_continuation::register(registry, urls);
    upload_artifacts::register(registry);
    upload_experiment_config::register(registry);
    worker_selection::register(registry);
}
