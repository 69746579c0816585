//! Reading the `training_config` parameter the way the Python transforms
//! index it.
//!
//! The Python code writes `params["training_config"]["datasets"]` (a
//! `KeyError` when a key is missing) or `.get(...)` chains (None). These
//! helpers give the same answers, with errors that name the whole dotted
//! path instead of a bare key.

use taskgraph::params::Parameters;
use taskgraph::python::object_type_name;
use taskgraph::{Error, Result, Value};

/// The value at a dotted parameter path that must exist (`params[a][b]`).
pub(crate) fn required<'p>(params: &'p Parameters, dotted: &str) -> Result<&'p Value> {
    let mut steps = dotted.split('.');
    let first = steps.next().unwrap_or_default();
    let mut current = params.get(first).ok_or_else(|| missing(first))?;
    let mut walked = first.to_owned();

    for step in steps {
        let map = current
            .as_map()
            .ok_or_else(|| not_a_mapping(&walked, current))?;
        walked = format!("{walked}.{step}");
        current = map.get(step).ok_or_else(|| missing(&walked))?;
    }
    Ok(current)
}

/// `params.get("training_config", {}).get(key)`: None when either is
/// missing. A `training_config` that is not a mapping is an error, as
/// Python has no `.get` on it.
pub(crate) fn training_config_entry<'p>(
    params: &'p Parameters,
    key: &str,
) -> Result<Option<&'p Value>> {
    match params.get("training_config") {
        None => Ok(None),
        Some(Value::Map(training_config)) => Ok(training_config.get(key)),
        Some(other) => Err(not_a_mapping("training_config", other)),
    }
}

/// The mapping of dataset categories to dataset lists, which the callers
/// index with `.get` / `.values()`.
pub(crate) fn datasets_map(datasets: &Value) -> Result<&taskgraph::Map> {
    datasets
        .as_map()
        .ok_or_else(|| not_a_mapping("training_config.datasets", datasets))
}

fn missing(dotted: &str) -> Error {
    let key = dotted.rsplit('.').next().unwrap_or(dotted);
    Error::params(format!(
        "the parameters have no `{dotted}` (KeyError: '{key}')"
    ))
}

fn not_a_mapping(dotted: &str, value: &Value) -> Error {
    Error::params(format!(
        "parameter `{dotted}` must be a mapping, not {}",
        object_type_name(value)
    ))
}

#[cfg(test)]
mod tests {
    use taskgraph::map;

    use super::*;

    fn params() -> Parameters {
        Parameters::from_map(map! {
            "training_config" => map! {"experiment" => map! {"src" => "en"}, "datasets" => "oops"},
        })
    }

    #[test]
    fn required_paths_name_the_missing_step() {
        let params = params();
        assert_eq!(
            required(&params, "training_config.experiment.src").unwrap(),
            &Value::from("en")
        );

        let message = required(&params, "training_config.experiment.trg")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("`training_config.experiment.trg` (KeyError: 'trg')"),
            "{message}"
        );

        let message = required(&params, "nothing.here").unwrap_err().to_string();
        assert!(
            message.contains("`nothing` (KeyError: 'nothing')"),
            "{message}"
        );
    }

    #[test]
    fn required_paths_refuse_to_index_a_non_mapping() {
        let message = required(&params(), "training_config.datasets.train")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("`training_config.datasets` must be a mapping, not str"),
            "{message}"
        );
    }

    #[test]
    fn training_config_entries_are_optional() {
        let empty = Parameters::from_map(map! {});
        assert_eq!(training_config_entry(&empty, "datasets").unwrap(), None);
        assert_eq!(
            training_config_entry(&params(), "datasets").unwrap(),
            Some(&Value::from("oops"))
        );

        let odd = Parameters::from_map(map! {"training_config" => 3});
        assert!(training_config_entry(&odd, "datasets").is_err());
    }
}
