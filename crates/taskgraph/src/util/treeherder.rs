//! Treeherder symbols and defaults.

use crate::error::{Error, Result};
use crate::value::{Map, Value};

/// Splits `grp(sym)` into its group and symbol; the group is `?` when
/// absent.
pub fn split_symbol(symbol: &str) -> Result<(String, String)> {
    if !symbol.contains('(') {
        return Ok(("?".to_owned(), symbol.to_owned()));
    }
    let invalid = || Error::transform(format!("`{symbol}` is not a valid treeherder symbol."));
    let body = symbol.strip_suffix(')').ok_or_else(invalid)?;
    let (group, inner) = body.split_once('(').ok_or_else(invalid)?;
    if inner.contains(')') {
        return Err(invalid());
    }
    Ok((group.to_owned(), inner.to_owned()))
}

/// The inverse of [`split_symbol`].
pub fn join_symbol(group: &str, symbol: &str) -> String {
    if group == "?" {
        symbol.to_owned()
    } else {
        format!("{group}({symbol})")
    }
}

/// Treeherder settings a task gets unless it says otherwise: platform
/// `default/opt`, tier 1, a job kind guessed from the kind's name, and a
/// symbol made of the upper-cased initials of the kind's dash-separated
/// parts.
pub fn treeherder_defaults(kind: &str) -> Map {
    let job_kind = if kind.contains("build") {
        "build"
    } else if kind.contains("test") {
        "test"
    } else {
        "other"
    };
    let symbol: String = kind
        .split('-')
        .filter_map(|part| part.chars().next())
        .collect::<String>()
        .to_uppercase();
    let mut defaults = Map::new();
    defaults.insert("platform".into(), Value::from("default/opt"));
    defaults.insert("tier".into(), Value::Int(1));
    defaults.insert("kind".into(), Value::from(job_kind));
    defaults.insert("symbol".into(), Value::from(symbol));
    defaults
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_split_and_join() {
        assert_eq!(
            split_symbol("I(base)").unwrap(),
            ("I".into(), "base".into())
        );
        assert_eq!(split_symbol("B").unwrap(), ("?".into(), "B".into()));
        assert!(split_symbol("I(base").is_err());
        assert_eq!(join_symbol("?", "B"), "B");
        assert_eq!(join_symbol("I", "b"), "I(b)");
    }

    #[test]
    fn defaults_derive_from_the_kind() {
        let d = treeherder_defaults("corpus-clean-mono");
        assert_eq!(d["symbol"], Value::from("CCM"));
        assert_eq!(d["kind"], Value::from("other"));
        assert_eq!(
            treeherder_defaults("build-vocab")["kind"],
            Value::from("build")
        );
    }
}
