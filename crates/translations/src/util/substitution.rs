//! Filling `{placeholders}` throughout a value, leaving the unknown ones
//! for a later pass.
//!
//! Kinds of the translations pipeline write templates such as
//! `{provider}-{dataset_sanitized}-{src_locale}` that several transforms
//! fill in turn, each knowing only some of the names. Strings and mapping
//! keys are formatted with Python's `format_map` rules (see
//! [`taskgraph::python::format_partial`]); other values are left as they are.

use taskgraph::python::format_partial;
use taskgraph::{Map, Result, Value};

/// Formats every string and mapping key of `item` with `substitutions`.
/// Names without a substitution stay as `{name}`.
pub fn substitute(item: &Value, substitutions: &Map) -> Result<Value> {
    let lookup = |name: &str| substitutions.get(name);
    substitute_with(item, &lookup)
}

fn substitute_with<'v>(item: &Value, lookup: &dyn Fn(&str) -> Option<&'v Value>) -> Result<Value> {
    Ok(match item {
        Value::Str(text) => Value::Str(format_partial(text, lookup)?),
        Value::List(items) => Value::List(
            items
                .iter()
                .map(|i| substitute_with(i, lookup))
                .collect::<Result<_>>()?,
        ),
        Value::Map(map) => {
            let mut out = Map::default();
            for (key, value) in map {
                // A key formatted into one already seen replaces its value
                // in place, as assigning into a Python dict does.
                out.insert(
                    format_partial(key, lookup)?,
                    substitute_with(value, lookup)?,
                );
            }
            Value::Map(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs(pairs: &[(&str, &str)]) -> Map {
        pairs.iter().map(|(k, v)| (*k, Value::from(*v))).collect()
    }

    #[test]
    fn known_names_are_filled_and_unknown_ones_stay() {
        let mut inner = Map::default();
        inner.insert("{provider}-key", Value::from("{provider}/{dataset}"));
        inner.insert("count", Value::Int(3));
        let item = Value::List(vec![
            Value::from("{provider}_{src_locale}"),
            Value::Map(inner),
        ]);
        let out = substitute(&item, &subs(&[("provider", "opus")])).unwrap();

        let list = out.as_list().unwrap();
        assert_eq!(list[0], Value::from("opus_{src_locale}"));
        let map = list[1].as_map().unwrap();
        assert_eq!(map.get("opus-key"), Some(&Value::from("opus/{dataset}")));
        assert_eq!(map.get("count"), Some(&Value::Int(3)));
    }

    #[test]
    fn escaped_braces_follow_python() {
        let out = substitute(&Value::from("{{literal}} {name}"), &subs(&[("name", "x")])).unwrap();
        assert_eq!(out, Value::from("{literal} x"));
    }
}
