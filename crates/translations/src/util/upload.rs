//! Which task an upload task uploads from.

use indexmap::IndexMap;
use taskgraph::{Error, Result};

/// The one dependency (name and label) an upload task takes its artifacts
/// from: its only dependency, or the one beside the decision task when the
/// upstream task was found in the cache.
pub fn upload_upstream(dependencies: &IndexMap<String, String>) -> Result<(&str, &str)> {
    let others: Vec<(&String, &String)> = dependencies
        .iter()
        .filter(|(name, _)| *name != "decision")
        .collect();
    let described = || format!("{dependencies:?}");
    match (dependencies.len(), others.as_slice()) {
        (0, _) => Err(Error::transform(
            "upload-artifacts tasks need an upstream dependency".to_owned(),
        )),
        (1 | 2, [(name, label)]) => Ok((name.as_str(), label.as_str())),
        (1, []) => Err(Error::transform(format!(
            "upload-artifacts tasks need a dependency other than the decision task; found {}",
            described()
        ))),
        (2, _) => Err(Error::transform(format!(
            "upload-artifacts tasks may have only one dependency besides the decision task; found {}",
            described()
        ))),
        _ => Err(Error::transform(format!(
            "upload-artifacts tasks have at most two dependencies; found {}",
            described()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_upstream_is_the_dependency_beside_the_decision_task() {
        assert_eq!(
            upload_upstream(&deps(&[("train", "train-x")])).unwrap(),
            ("train", "train-x")
        );
        assert_eq!(
            upload_upstream(&deps(&[("decision", "d"), ("train", "train-x")])).unwrap(),
            ("train", "train-x")
        );
        assert!(upload_upstream(&deps(&[])).is_err());
        assert!(upload_upstream(&deps(&[("decision", "d")])).is_err());
        assert!(upload_upstream(&deps(&[("a", "a"), ("b", "b")])).is_err());
        assert!(upload_upstream(&deps(&[("a", "a"), ("b", "b"), ("c", "c")])).is_err());
    }
}
