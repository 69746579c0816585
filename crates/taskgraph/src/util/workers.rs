//! Worker aliases from `config.yml`: which implementation and OS a
//! `worker-type` alias stands for, and which provisioner/worker type it
//! resolves to at a level.

use foldhash::HashMap;
use std::sync::Mutex;

use crate::config::GraphConfig;
use crate::error::{Error, Result};
use crate::keyed_by::{KeyedByOptions, evaluate_keyed_by};
use crate::python;
use crate::value::{Map, Value};

/// Resolved aliases, by alias (and level): every task asks, and the answer
/// only depends on `config.yml`.
#[derive(Debug, Default)]
pub struct WorkerCache {
    implementations: Mutex<HashMap<String, (String, Option<String>)>>,
    worker_types: Mutex<HashMap<(String, String), (String, String)>>,
}

/// Worker types every project has, whose implementation is their name.
const BUILTIN: &[(&str, &str)] = &[("always-optimized", "invalid"), ("succeed", "built-in")];

fn builtin_provisioner(alias: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(name, _)| *name == alias)
        .map(|(_, provisioner)| *provisioner)
}

/// The alias's entry in `workers.aliases`, matched like a `by-alias` key
/// (exact, then regex, then `default`).
fn alias_config(graph_config: &GraphConfig, alias: &str, item_name: &str) -> Result<Map> {
    let aliases = graph_config.worker_aliases().cloned().unwrap_or_default();
    let keyed = Value::Map(Map::from_iter([("by-alias", Value::Map(aliases))]));
    let attributes = [("alias", Value::from(alias))];
    match evaluate_keyed_by(&keyed, item_name, &attributes, KeyedByOptions::default())? {
        Value::Map(map) => Ok(map),
        other => Err(Error::config(format!(
            "worker alias `{alias}` must be a mapping, not {}",
            other.type_name()
        ))),
    }
}

/// The implementation and OS of a `worker-type` alias
/// (`worker_type_implementation`).
pub fn implementation(
    graph_config: &GraphConfig,
    worker_type: &str,
) -> Result<(String, Option<String>)> {
    let cache = &graph_config.worker_cache().implementations;
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(worker_type).cloned()) {
        return Ok(found);
    }
    let found = resolve_implementation(graph_config, worker_type)?;
    if let Ok(mut cache) = cache.lock() {
        cache.insert(worker_type.to_owned(), found.clone());
    }
    Ok(found)
}

fn resolve_implementation(
    graph_config: &GraphConfig,
    worker_type: &str,
) -> Result<(String, Option<String>)> {
    if builtin_provisioner(worker_type).is_some() {
        return Ok((worker_type.to_owned(), None));
    }
    let config = alias_config(graph_config, worker_type, "worker-types.yml")?;
    let implementation = config
        .get("implementation")
        .map(Value::to_string)
        .unwrap_or_default();
    let os = config.get("os").map(Value::to_string);
    Ok((implementation, os))
}

/// The provisioner and worker type an alias resolves to at `level`
/// (`get_worker_type`).
pub fn provisioner_and_worker_type(
    graph_config: &GraphConfig,
    alias: &str,
    level: &str,
) -> Result<(String, String)> {
    let cache = &graph_config.worker_cache().worker_types;
    let key = (alias.to_owned(), level.to_owned());
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(found);
    }
    let found = resolve_worker_type(graph_config, alias, level)?;
    if let Ok(mut cache) = cache.lock() {
        cache.insert(key, found.clone());
    }
    Ok(found)
}

fn resolve_worker_type(
    graph_config: &GraphConfig,
    alias: &str,
    level: &str,
) -> Result<(String, String)> {
    if let Some(provisioner) = builtin_provisioner(alias) {
        return Ok((provisioner.to_owned(), alias.to_owned()));
    }
    let config = alias_config(graph_config, alias, "graph_config.workers.aliases")?;
    let subs = Map::from_iter([
        ("alias", Value::from(alias)),
        ("level", Value::from(level)),
        ("trust-domain", Value::from(graph_config.trust_domain())),
    ]);
    let resolve = |field: &str| -> Result<String> {
        let value = config.get(field).cloned().unwrap_or(Value::Null);
        let attributes = [("level", Value::from(level))];
        let resolved = evaluate_keyed_by(&value, alias, &attributes, KeyedByOptions::default())?;
        let template = resolved.as_str().ok_or_else(|| {
            Error::config(format!(
                "`workers.aliases.{alias}.{field}` must be a string"
            ))
        })?;
        python::format_with(template, &subs)
    };
    Ok((resolve("provisioner")?, resolve("worker-type")?))
}
