//! In-tree docker images: where their Dockerfiles live and the volumes they
//! declare.

use foldhash::HashMap;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::config::GraphConfig;
use crate::error::{Error, Result};
use crate::value::Value;
use crate::yaml;

/// Per-generation memory of docker image facts (the reference caches them
/// with `lru_cache` for the same reason: every task of an image asks).
#[derive(Debug, Default)]
pub struct DockerCache {
    image_dirs: OnceLock<Result<HashMap<String, PathBuf>, String>>,
    volumes: Mutex<HashMap<String, Arc<BTreeSet<String>>>>,
}

/// The directory of each image the docker-image kind defines: the task's
/// `definition`, or its name, under `<root>/docker`.
fn image_dirs(graph_config: &GraphConfig) -> Result<&HashMap<String, PathBuf>> {
    let cache = graph_config.docker_cache();
    cache
        .image_dirs
        .get_or_init(|| {
            let kind_yml = graph_config
                .kinds_dir()
                .join(graph_config.docker_image_kind())
                .join("kind.yml");
            let config = yaml::load_file(&kind_yml).map_err(|e| e.to_string())?;
            let docker_dir = graph_config.docker_dir();
            let tasks = config
                .get("tasks")
                .and_then(Value::as_map)
                .cloned()
                .unwrap_or_default();
            Ok(tasks
                .into_iter()
                .map(|(name, task)| {
                    let definition = task
                        .get("definition")
                        .and_then(Value::as_str)
                        .unwrap_or(&name)
                        .to_owned();
                    let dir = docker_dir.join(definition);
                    (name.into_string(), dir)
                })
                .collect())
        })
        .as_ref()
        .map_err(|e| Error::transform(e.clone()))
}

/// The directory holding an image's Dockerfile.
pub fn image_dir(graph_config: &GraphConfig, image: &str) -> Result<PathBuf> {
    let dirs = image_dirs(graph_config)?;
    Ok(dirs
        .get(image)
        .cloned()
        .unwrap_or_else(|| graph_config.docker_dir().join(image)))
}

/// The `VOLUME` paths an in-tree image's Dockerfile declares.
pub fn volumes(graph_config: &GraphConfig, image: &str) -> Result<Arc<BTreeSet<String>>> {
    let cache = graph_config.docker_cache();
    if let Some(found) = cache
        .volumes
        .lock()
        .ok()
        .and_then(|v| v.get(image).cloned())
    {
        return Ok(found);
    }

    let dockerfile = image_dir(graph_config, image)?.join("Dockerfile");
    let bytes = std::fs::read(&dockerfile).map_err(|e| Error::io(&dockerfile, e))?;
    let mut found = BTreeSet::new();
    for line in String::from_utf8_lossy(&bytes).lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("VOLUME ") else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with('[') {
            return Err(Error::transform(
                "cannot parse array syntax for VOLUME; convert to multiple entries",
            )
            .with_file(&dockerfile));
        }
        found.extend(rest.split_whitespace().map(str::to_owned));
    }

    let found = Arc::new(found);
    if let Ok(mut volumes) = cache.volumes.lock() {
        volumes.insert(image.to_owned(), Arc::clone(&found));
    }
    Ok(found)
}
