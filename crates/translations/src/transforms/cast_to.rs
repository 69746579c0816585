//! `translations_taskgraph.transforms.cast_to`: turns fields into integers.
//!
//! `task-context` can only substitute strings, yet some fields filled from
//! parameters must be numbers for the transforms after it (`chunking` wants
//! an int `chunk.total-chunks`). A task lists those fields, as dotted paths,
//! under `cast-to.int`; each is converted the way Python's `int()` converts
//! it, and `cast-to` itself is dropped.

use std::sync::LazyLock;

use taskgraph::python::py_repr;
use taskgraph::schema::{Extra, Schema, dict, opt, str_list};
use taskgraph::transform::{TaskDesc, TransformConfig, TransformRef, per_task, validate};
use taskgraph::{Error, Map, Registry, Result, Value};

const NAME: &str = "translations_taskgraph.transforms.cast_to";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    dict([opt("cast-to", dict([opt("int", str_list())]).into())])
        .allow_extra()
        .into()
});

pub fn register(registry: &mut Registry) {
    registry.add_transforms(NAME, transforms());
}

pub fn transforms() -> Vec<TransformRef> {
    vec![
        validate("cast_to:validate", &SCHEMA, Extra::Allow),
        per_task("cast_to:cast", cast),
    ]
}

fn cast(_config: &TransformConfig<'_>, task: &mut TaskDesc) -> Result<()> {
    let Some(Value::Map(casts)) = task.fields.shift_remove("cast-to") else {
        return Ok(());
    };

    let fields = casts
        .get("int")
        .and_then(Value::as_str_list)
        .unwrap_or_default();
    for field in fields {
        cast_field_to_int(&mut task.fields, field).map_err(|e| e.at_field(field))?;
    }
    Ok(())
}

/// Replaces the value at the dotted `field` with its integer value. Every
/// step but the last must be a mapping holding the next key, as Python's
/// item lookups require.
fn cast_field_to_int(task: &mut Map, field: &str) -> Result<()> {
    let (parents, leaf) = field
        .rsplit_once('.')
        .map_or((None, field), |(parents, leaf)| (Some(parents), leaf));

    let mut container = task;
    for step in parents.into_iter().flat_map(|p| p.split('.')) {
        let next = container
            .get_mut(step)
            .ok_or_else(|| missing_key(field, step))?;
        let type_name = next.type_name();
        container = next
            .as_map_mut()
            .ok_or_else(|| not_a_mapping(field, step, type_name))?;
    }

    let value = container
        .get_mut(leaf)
        .ok_or_else(|| missing_key(field, leaf))?;
    *value = Value::Int(python_int(value)?);
    Ok(())
}

fn not_a_mapping(field: &str, step: &str, type_name: &str) -> Error {
    Error::transform(format!(
        "cast-to: `{step}` in `{field}` is a {type_name}, not a mapping (TypeError)"
    ))
}

fn missing_key(field: &str, key: &str) -> Error {
    Error::transform(format!(
        "cast-to: the task has no `{field}` (KeyError: {})",
        py_repr(&Value::from(key))
    ))
}

/// `int(value)` for the values a task description can hold: ints stay,
/// bools become 0 or 1, floats are truncated toward zero, and strings are
/// parsed as base-10 literals (surrounding whitespace, a sign and `_`
/// between digits allowed). Anything else is the error Python raises.
pub fn python_int(value: &Value) -> Result<i64> {
    match value {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Float(f) => float_to_int(*f),
        Value::Str(s) => parse_int_literal(s).ok_or_else(|| {
            Error::transform(format!(
                "cast-to: invalid literal for int() with base 10: {}",
                py_repr(value)
            ))
        }),
        other => Err(Error::transform(format!(
            "cast-to: int() argument must be a string, a bytes-like object or a real number, not '{}'",
            python_type_name(other)
        ))),
    }
}

fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        other => other.type_name(),
    }
}

fn float_to_int(f: f64) -> Result<i64> {
    if f.is_nan() {
        return Err(Error::transform(
            "cast-to: cannot convert float NaN to integer",
        ));
    }
    if f.is_infinite() {
        return Err(Error::transform(
            "cast-to: cannot convert float infinity to integer",
        ));
    }
    let truncated = f.trunc();
    // i64::MAX is not exactly representable; anything at or past 2^63 is
    // out of range.
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    if !(-TWO_TO_63..TWO_TO_63).contains(&truncated) {
        return Err(out_of_range(&truncated.to_string()));
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the range was checked just above"
    )]
    Ok(truncated as i64)
}

fn out_of_range(literal: &str) -> Error {
    Error::transform(format!(
        "cast-to: {literal} does not fit in a 64-bit integer"
    ))
}

/// Python's base-10 `int(str)` grammar: optional whitespace, an optional
/// sign, digits where single underscores may separate two digits, optional
/// whitespace. None when the text does not match (or does not fit in i64,
/// which Python would accept; such counts do not occur in task graphs).
fn parse_int_literal(text: &str) -> Option<i64> {
    let trimmed = text.trim_matches(is_python_whitespace);
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if !underscores_only_between_digits(digits) {
        return None;
    }

    let plain: String = digits.chars().filter(|c| *c != '_').collect();
    let magnitude: i128 = plain.parse().ok()?;
    let signed = if negative { -magnitude } else { magnitude };
    i64::try_from(signed).ok()
}

fn underscores_only_between_digits(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_') {
        return false;
    }
    let edges_are_digits = bytes[0] != b'_' && bytes[bytes.len() - 1] != b'_';
    edges_are_digits && !digits.contains("__")
}

/// The characters `int()` skips around a literal: ASCII whitespace and the
/// Unicode spaces above U+007F, which is exactly Unicode `White_Space`.
/// (Unlike `str.strip()`, `int()` does not skip U+001C..U+001F.)
fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::continuation::testing::{TestKind, yaml_map};

    fn run(task: &str) -> Result<Vec<Map>> {
        TestKind::new("evaluate", Map::default()).run(&transforms(), vec![yaml_map(task)])
    }

    #[test]
    fn registered_under_the_name_kinds_use() {
        let mut registry = Registry::empty();
        register(&mut registry);
        assert!(
            registry
                .transforms("translations_taskgraph.transforms.cast_to")
                .is_ok()
        );
    }

    #[test]
    fn listed_fields_become_ints_and_cast_to_is_dropped() {
        let tasks = run(r#"
            name: t
            cast-to: {int: [chunk.total-chunks, top]}
            top: " -1_000\n"
            chunk: {total-chunks: "12", substitution-fields: [name]}
        "#)
        .unwrap();

        // Python: {'name': 't', 'top': -1000, 'chunk': {'total-chunks': 12, ...}}
        let task = &tasks[0];
        assert!(!task.contains_key("cast-to"));
        assert_eq!(task.get("top"), Some(&Value::Int(-1000)));
        let total = task.get("chunk").and_then(|c| c.get("total-chunks"));
        assert!(matches!(total, Some(Value::Int(12))), "{total:?}");
        let keys: Vec<&str> = task.keys().collect();
        assert_eq!(keys, ["name", "top", "chunk"]);
    }

    #[test]
    fn tasks_without_cast_to_pass_unchanged() {
        let tasks = run("name: t\nchunk: {total-chunks: '3'}").unwrap();
        let total = tasks[0].get("chunk").and_then(|c| c.get("total-chunks"));
        assert_eq!(total, Some(&Value::from("3")));
    }

    #[test]
    fn conversions_follow_python_int() {
        // int(True) == 1, int(2.9) == 2, int(-2.9) == -2, int('007') == 7
        assert_eq!(python_int(&Value::Bool(true)).unwrap(), 1);
        assert_eq!(python_int(&Value::Float(2.9)).unwrap(), 2);
        assert_eq!(python_int(&Value::Float(-2.9)).unwrap(), -2);
        assert_eq!(python_int(&Value::from("007")).unwrap(), 7);
        assert_eq!(python_int(&Value::from("\t+5 ")).unwrap(), 5);
        assert_eq!(python_int(&Value::from("\u{85}5\u{3000}")).unwrap(), 5);

        // int('1__0'), int('_1'), int('1_'), int('1.0'), int(''), int('0x10')
        // all raise ValueError.
        for bad in ["1__0", "_1", "1_", "1.0", "", "0x10", "- 1", "\u{1c}5"] {
            assert!(python_int(&Value::from(bad)).is_err(), "{bad:?}");
        }
        let message = python_int(&Value::Null).unwrap_err().to_string();
        assert!(message.contains("not 'NoneType'"), "{message}");
    }

    #[test]
    fn a_missing_field_names_the_task_and_field() {
        let message = run("name: t\ncast-to: {int: [chunk.total-chunks]}")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("kind `evaluate`")
                && message.contains("task `t`")
                && message.contains("field `chunk.total-chunks`")
                && message.contains("KeyError: 'chunk'"),
            "{message}"
        );
    }

    #[test]
    fn the_schema_rejects_non_string_field_names() {
        let message = run("name: t\ncast-to: {int: [3]}").unwrap_err().to_string();
        assert!(message.contains("cast-to.int"), "{message}");
    }
}
