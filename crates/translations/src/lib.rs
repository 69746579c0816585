//! The taskgraph parts of mozilla/translations' training pipeline.
//!
//! The pipeline's `taskcluster/config.yml` says
//! `taskgraph: {register: translations_taskgraph:register}`; kinds then name
//! the project's transforms (`translations_taskgraph.transforms.continuation`),
//! target-task methods (`train-target-tasks`), a payload builder
//! (`scriptworker-beetmover-translations`), a parameters extension (the
//! `training_config` schema, with defaults read from
//! `taskcluster/configs/config.ci.yml`) and a verification. This crate
//! provides all of them under those names, so the pipeline's directory
//! loads unchanged. The library knows nothing of translations: a program
//! links this crate with [`add_project_hook`], and the registry applies it
//! only to projects that ask for it.
//!
//! Training continuation checks that pretrained model URLs exist; that check
//! goes through [`urls::UrlChecker`], so the crate itself does no network
//! I/O.

use std::sync::Arc;

use taskgraph::Registry;

pub mod action;
pub mod params;
pub mod target;
pub mod transforms;
pub mod urls;
pub mod util;
pub mod verify;
pub mod workers;

/// The name `config.yml` registers the project's parts under.
pub const HOOK: &str = "translations_taskgraph:register";

/// Makes the translations parts available to projects registering
/// [`HOOK`], with `urls` answering the continuation transforms' URL checks.
pub fn add_project_hook(registry: &mut Registry, urls: Arc<dyn urls::UrlChecker>) {
    registry.add_project_hook(
        HOOK,
        Arc::new(move |r: &mut Registry| register(r, Arc::clone(&urls))),
    );
}

/// Registers every translations part in `registry` directly.
pub fn register(registry: &mut Registry, urls: Arc<dyn urls::UrlChecker>) {
    params::register(registry);
    target::register(registry);
    workers::register(registry);
    verify::register(registry);
    transforms::register(registry, urls);
}
