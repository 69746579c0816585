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
    // The reference matches `...\)$`, and Python's `$` also matches before
    // a final newline, which is then left out of the symbol.
    let trimmed = symbol.strip_suffix('\n').unwrap_or(symbol);
    let body = trimmed.strip_suffix(')').ok_or_else(invalid)?;
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
/// parts. Every part must have an initial (the reference fails on an empty
/// one, as in `build-`).
pub fn treeherder_defaults(kind: &str) -> Result<Map> {
    let job_kind = if kind.contains("build") {
        "build"
    } else if kind.contains("test") {
        "test"
    } else {
        "other"
    };
    let mut initials = String::new();
    for part in kind.split('-') {
        let initial = part.chars().next().ok_or_else(|| {
            Error::transform(format!(
                "the default treeherder symbol takes the first letter of each `-`-separated part of the kind \
                 name, and `{kind}` has an empty part"
            ))
            .at_field("treeherder")
        })?;
        initials.push(initial);
    }
    let symbol = initials.to_uppercase();
    let mut defaults = Map::default();
    defaults.insert("platform", Value::from("default/opt"));
    defaults.insert("tier", Value::Int(1));
    defaults.insert("kind", Value::from(job_kind));
    defaults.insert("symbol", Value::from(symbol));
    Ok(defaults)
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
        let d = treeherder_defaults("corpus-clean-mono").unwrap();
        assert_eq!(d["symbol"], Value::from("CCM"));
        assert_eq!(d["kind"], Value::from("other"));
        assert_eq!(
            treeherder_defaults("build-vocab").unwrap()["kind"],
            Value::from("build")
        );
        assert_eq!(
            treeherder_defaults("unit-test").unwrap()["kind"],
            Value::from("test")
        );
    }

    #[test]
    fn kinds_with_an_empty_part_have_no_default_symbol() {
        // Python's `"build-".split("-")` gives an empty last part, whose
        // `[0]` is an IndexError in the reference.
        for kind in ["build-", "a--b", "-x"] {
            let err = treeherder_defaults(kind).unwrap_err();
            assert!(err.to_string().contains(kind), "{err}");
        }
    }

    #[test]
    fn a_final_newline_after_the_group_is_dropped() {
        assert_eq!(
            split_symbol("I(base)\n").unwrap(),
            ("I".into(), "base".into())
        );
        assert!(split_symbol("I(base)\n\n").is_err());
        assert!(split_symbol("I(base) ").is_err());
    }
}
