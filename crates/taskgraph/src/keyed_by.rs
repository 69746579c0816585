//! `by-<attribute>` values, and attribute matching.
//!
//! A value is *keyed by* an attribute when it is a dict with exactly one key
//! and that key starts with `by-`:
//!
//! ```yaml
//! worker-type:
//!     by-level:
//!         "3": b-linux-large
//!         default: b-linux
//! ```
//!
//! Resolution looks the attribute up among the item's own top-level keys
//! (plus any extra values the caller passes), then picks an alternative: an
//! exact key first; else every key `k` for which Python's
//! `re.match(k + "$", value)` succeeds (anchored at the start only, `$` also
//! matching before a final newline), where more than one match is an error;
//! else `default`. A missing or None attribute goes straight to `default`.
//! Nested `by-*` values resolve level after level.

use foldhash::{HashMap, HashMapExt};
use std::cell::RefCell;

use regex::Regex;

use crate::error::{Error, ErrorKind, Result};
use crate::python::py_repr;
use crate::value::{Map, Value};

/// Where `by-*` looks up attribute values.
pub trait Attributes {
    fn attribute(&self, name: &str) -> Option<&Value>;
}

impl Attributes for Map {
    fn attribute(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// An item's own keys, overridden by extra values (`dict(item, **extra)`).
#[derive(Debug)]
pub struct WithExtra<'a> {
    pub item: &'a Map,
    pub extra: &'a [(&'a str, Value)],
}

impl Attributes for WithExtra<'_> {
    fn attribute(&self, name: &str) -> Option<&Value> {
        self.extra
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
            .or_else(|| self.item.get(name))
    }
}

/// Explicit attribute values, as `evaluate_keyed_by(..., {"level": "3"})`.
impl<const N: usize> Attributes for [(&str, Value); N] {
    fn attribute(&self, name: &str) -> Option<&Value> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// Options of a keyed-by evaluation.
#[derive(Debug, Clone, Copy)]
pub struct KeyedByOptions<'a> {
    /// Attributes whose `by-*` levels stay unresolved for a later pass.
    pub defer: &'a [&'a str],
    /// Whether more than one matching regex key is an error.
    pub enforce_single_match: bool,
}

impl Default for KeyedByOptions<'_> {
    fn default() -> Self {
        KeyedByOptions {
            defer: &[],
            enforce_single_match: true,
        }
    }
}

/// Resolves a possibly keyed-by `value` (`evaluate_keyed_by`).
pub fn evaluate_keyed_by(
    value: &Value,
    item_name: &str,
    attributes: &dyn Attributes,
    options: KeyedByOptions<'_>,
) -> Result<Value> {
    let mut current = value;
    loop {
        let Some((by_key, alternatives)) = keyed_by_parts(current) else {
            return Ok(current.clone());
        };
        let attribute = &by_key[3..];
        if options.defer.contains(&attribute) {
            return Ok(current.clone());
        }
        let Some(alternatives) = alternatives.as_map() else {
            return Err(keyed_by_error(format!(
                "`{by_key}` must map values to alternatives while determining item {item_name}"
            )));
        };
        current = choose(attribute, alternatives, item_name, attributes, options)?;
    }
}

fn keyed_by_parts(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_map()?;
    if map.len() != 1 {
        return None;
    }
    let (key, alternatives) = map.first()?;
    key.starts_with("by-").then_some((key, alternatives))
}

fn choose<'v>(
    attribute: &str,
    alternatives: &'v Map,
    item_name: &str,
    attributes: &dyn Attributes,
    options: KeyedByOptions<'_>,
) -> Result<&'v Value> {
    if alternatives.len() == 1 && alternatives.contains_key("default") {
        return Err(keyed_by_error(format!(
            "Keyed-by '{attribute}' unnecessary with only value 'default' found, when determining item {item_name}"
        )));
    }

    let key = match attributes.attribute(attribute) {
        None | Some(Value::Null) => {
            return alternatives.get("default").ok_or_else(|| {
                keyed_by_error(format!(
                    "No attribute {attribute} and no value for 'default' found while determining item {item_name}"
                ))
            });
        }
        Some(Value::Str(key)) => key,
        Some(other) => {
            // Python's re.match refuses non-strings with a TypeError.
            return Err(keyed_by_error(format!(
                "attribute {attribute} is {} {}, not a string, while determining item {item_name}",
                other.type_name(),
                py_repr(other)
            )));
        }
    };

    let matches = keymatch(alternatives, key)?;
    if options.enforce_single_match && matches.len() > 1 {
        return Err(keyed_by_error(format!(
            "Multiple matching values for {attribute} {} found while determining item {item_name}",
            py_repr(&Value::from(key.as_str()))
        )));
    }
    matches.into_iter().next().ok_or_else(|| {
        keyed_by_error(format!(
            "No {attribute} matching {} nor 'default' found while determining item {item_name}",
            py_repr(&Value::from(key.as_str()))
        ))
    })
}

fn keyed_by_error(message: String) -> Error {
    Error::new(ErrorKind::KeyedBy(message))
}

/// The alternatives matching `target`: the exact key, else every regex key,
/// else `default` (the reference's `keymatch`).
pub fn keymatch<'v>(alternatives: &'v Map, target: &str) -> Result<Vec<&'v Value>> {
    if let Some(exact) = alternatives.get(target) {
        return Ok(vec![exact]);
    }
    let mut matches = Vec::new();
    for (key, value) in alternatives {
        if python_re_match_full(key, target)? {
            matches.push(value);
        }
    }
    if matches.is_empty()
        && let Some(default) = alternatives.get("default")
    {
        matches.push(default);
    }
    Ok(matches)
}

/// `re.match(pattern + "$", text) is not None`: a keyed-by key matching.
pub fn python_re_match_full(pattern: &str, text: &str) -> Result<bool> {
    // Most keys are plain words (`github-pull-request`, `b-cpu`): without
    // special characters the pattern can only match itself, with Python's
    // `$` also allowing one final newline. No regex needs compiling.
    if !pattern.contains(is_regex_special) {
        return Ok(text
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.is_empty() || rest == "\n"));
    }
    python_re_match(&format!("{pattern}$"), text)
}

/// Characters with a meaning in Python's regex syntax.
fn is_regex_special(c: char) -> bool {
    matches!(
        c,
        '.' | '^' | '$' | '*' | '+' | '?' | '{' | '}' | '[' | ']' | '\\' | '|' | '(' | ')'
    )
}

/// `re.match(pattern, text) is not None`: Python's regex match, anchored at
/// the start only. Compiled patterns are cached per thread.
pub fn python_re_match(pattern: &str, text: &str) -> Result<bool> {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(re) = cache.get(pattern) {
            return Ok(re.is_match(text));
        }
        // `\A(?:...)` keeps Python's precedence: `a|b$` means `a` or `b$`.
        let translated = format!(r"\A(?:{})", translate_python_regex(pattern));
        let re = Regex::new(&translated)
            .map_err(|e| keyed_by_error(format!("invalid regular expression `{pattern}`: {e}")))?;
        let matched = re.is_match(text);
        cache.insert(pattern.to_owned(), re);
        Ok(matched)
    })
}

/// Rewrites the parts of Python's regex syntax whose meaning differs in
/// the `regex` crate: `$` also matches just before a final newline, and
/// `\Z` is the very end.
fn translate_python_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next();
                match next {
                    Some('Z') if !in_class => out.push_str(r"\z"),
                    Some(n) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => out.push('\\'),
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class => out.push_str(r"(?:\n?\z)"),
            _ => out.push(c),
        }
    }
    out
}

/// Resolves the keyed-by value at a dotted `field` of `item` in place
/// (`resolve_keyed_by`). `a[].b` walks every element of list `a`; missing
/// paths are skipped silently. Attributes are the item's top-level keys,
/// overridden by `extra`.
pub fn resolve_keyed_by(
    item: &mut Map,
    field: &str,
    item_name: &str,
    extra: &[(&str, Value)],
    options: KeyedByOptions<'_>,
) -> Result<()> {
    let mut slots = Vec::new();
    collect_slots(item, field, &mut Vec::new(), &mut slots);
    if slots.is_empty() {
        return Ok(());
    }
    let described = format!("`{field}` in `{item_name}`");

    for slot in slots {
        let resolved = {
            let Some(current) = get_slot(item, &slot) else {
                continue;
            };
            let attributes = WithExtra { item, extra };
            evaluate_keyed_by(current, &described, &attributes, options)
                .map_err(|e| e.at_field(field))?
        };
        if let Some(target) = get_slot_mut(item, &slot) {
            *target = resolved;
        }
    }
    Ok(())
}

/// A step towards a value inside an item: a dict key or a list index.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn collect_slots(
    container: &Map,
    subfield: &str,
    prefix: &mut Vec<Step>,
    out: &mut Vec<Vec<Step>>,
) {
    let Some((head, rest)) = subfield.split_once('.') else {
        if container.contains_key(subfield) {
            let mut slot = prefix.clone();
            slot.push(Step::Key(subfield.to_owned()));
            out.push(slot);
        }
        return;
    };

    if let Some(list_key) = head.strip_suffix("[]") {
        let Some(Value::List(list)) = container.get(list_key) else {
            return;
        };
        for (index, element) in list.iter().enumerate() {
            let Some(element) = element.as_map() else {
                continue;
            };
            prefix.push(Step::Key(list_key.to_owned()));
            prefix.push(Step::Index(index));
            collect_slots(element, rest, prefix, out);
            prefix.truncate(prefix.len() - 2);
        }
        return;
    }

    let Some(Value::Map(next)) = container.get(head) else {
        return;
    };
    prefix.push(Step::Key(head.to_owned()));
    collect_slots(next, rest, prefix, out);
    prefix.pop();
}

fn get_slot<'a>(item: &'a Map, slot: &[Step]) -> Option<&'a Value> {
    let (first, rest) = slot.split_first()?;
    let Step::Key(key) = first else { return None };
    let mut value = item.get(key)?;
    for step in rest {
        value = match step {
            Step::Key(key) => value.get(key)?,
            Step::Index(index) => value.as_list()?.get(*index)?,
        };
    }
    Some(value)
}

fn get_slot_mut<'a>(item: &'a mut Map, slot: &[Step]) -> Option<&'a mut Value> {
    let (first, rest) = slot.split_first()?;
    let Step::Key(key) = first else { return None };
    let mut value = item.get_mut(key)?;
    for step in rest {
        value = match step {
            Step::Key(key) => value.get_mut(key)?,
            Step::Index(index) => value.as_list_mut()?.get_mut(*index)?,
        };
    }
    Some(value)
}

/// Whether `attributes` satisfy every condition (`attrmatch`): a list
/// condition means membership, anything else equality; a missing attribute
/// never matches.
pub fn attrmatch(attributes: &Map, conditions: &Map) -> bool {
    conditions
        .iter()
        .all(|(key, wanted)| match attributes.get(key) {
            None => false,
            Some(actual) => match wanted {
                Value::List(options) => options.contains(actual),
                other => other == actual,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;

    fn keyed(field: &str, alternatives: Map) -> Value {
        Value::Map(map! {format!("by-{field}") => alternatives})
    }

    fn eval(value: &Value, attrs: &Map) -> Result<Value> {
        evaluate_keyed_by(value, "test", attrs, KeyedByOptions::default())
    }

    #[test]
    fn exact_match_wins_over_regex() {
        let v = keyed(
            "platform",
            map! {"linux.*" => "regex", "linux64" => "exact"},
        );
        assert_eq!(
            eval(&v, &map! {"platform" => "linux64"}).unwrap(),
            Value::from("exact")
        );
    }

    #[test]
    fn regex_is_anchored_at_the_start_only_through_the_dollar() {
        let v = keyed("platform", map! {"lin" => "prefix", "default" => "d"});
        // `lin$` must match the whole string, so `linux` falls to default.
        assert_eq!(
            eval(&v, &map! {"platform" => "linux"}).unwrap(),
            Value::from("d")
        );
        let v = keyed("platform", map! {"a|lin" => "alt", "default" => "d"});
        // `a|lin$`: the first alternative has no `$`, so `abc` matches.
        assert_eq!(
            eval(&v, &map! {"platform" => "abc"}).unwrap(),
            Value::from("alt")
        );
    }

    #[test]
    fn plain_keys_match_as_their_regex_would() {
        let texts = [
            "b-cpu",
            "b-cpu\n",
            "b-cpu\n\n",
            "b-cpux",
            "xb-cpu",
            "",
            "b-",
        ];
        for pattern in ["b-cpu", "default", "", "a b", "é"] {
            for text in texts {
                assert_eq!(
                    python_re_match_full(pattern, text).unwrap(),
                    python_re_match(&format!("{pattern}$"), text).unwrap(),
                    "pattern {pattern:?}, text {text:?}"
                );
            }
        }
    }

    #[test]
    fn dollar_matches_before_a_final_newline() {
        assert!(python_re_match_full("abc", "abc\n").unwrap());
        assert!(!python_re_match_full("abc", "abc\n\n").unwrap());
    }

    #[test]
    fn missing_attribute_uses_default_or_fails() {
        let v = keyed("level", map! {"3" => "a", "default" => "b"});
        assert_eq!(eval(&v, &map! {}).unwrap(), Value::from("b"));
        let v = keyed("level", map! {"3" => "a"});
        let err = eval(&v, &map! {}).unwrap_err();
        assert!(
            err.to_string()
                .contains("No attribute level and no value for 'default'"),
            "{err}"
        );
    }

    #[test]
    fn only_default_is_an_error() {
        let v = keyed("level", map! {"default" => "b"});
        assert!(
            eval(&v, &map! {"level" => "3"})
                .unwrap_err()
                .to_string()
                .contains("unnecessary")
        );
    }

    #[test]
    fn several_regex_matches_are_an_error() {
        let v = keyed("p", map! {"l.*" => 1, "li.*" => 2});
        let err = eval(&v, &map! {"p" => "linux"}).unwrap_err();
        assert!(
            err.to_string()
                .contains("Multiple matching values for p 'linux'"),
            "{err}"
        );
    }

    #[test]
    fn no_match_and_no_default_is_an_error() {
        let v = keyed("p", map! {"mac" => 1});
        let err = eval(&v, &map! {"p" => "linux"}).unwrap_err();
        assert!(
            err.to_string()
                .contains("No p matching 'linux' nor 'default'"),
            "{err}"
        );
    }

    #[test]
    fn nested_levels_resolve_in_turn() {
        let inner = keyed("level", map! {"3" => "prod", "default" => "dev"});
        let v = keyed("project", map! {"main" => inner, "default" => "other"});
        let attrs = map! {"project" => "main", "level" => "3"};
        assert_eq!(eval(&v, &attrs).unwrap(), Value::from("prod"));
    }

    #[test]
    fn deferred_attributes_stay_unresolved() {
        let v = keyed("project", map! {"a" => 1, "default" => 2});
        let options = KeyedByOptions {
            defer: &["project"],
            enforce_single_match: true,
        };
        assert_eq!(evaluate_keyed_by(&v, "t", &map! {}, options).unwrap(), v);
    }

    #[test]
    fn resolve_walks_lists_and_skips_missing_paths() {
        let mut item = map! {
            "level" => "3",
            "caches" => vec![
                Value::Map(map! {"name" => keyed("level", map! {"3" => "c3", "default" => "c"})}),
                Value::Map(map! {"other" => 1}),
            ],
        };
        resolve_keyed_by(
            &mut item,
            "caches[].name",
            "t",
            &[],
            KeyedByOptions::default(),
        )
        .unwrap();
        assert_eq!(
            item["caches"].as_list().unwrap()[0].get("name"),
            Some(&Value::from("c3"))
        );
        resolve_keyed_by(&mut item, "nope.name", "t", &[], KeyedByOptions::default()).unwrap();
    }

    #[test]
    fn extra_values_override_item_keys() {
        let mut item =
            map! {"level" => "1", "x" => keyed("level", map! {"3" => "three", "default" => "d"})};
        resolve_keyed_by(
            &mut item,
            "x",
            "t",
            &[("level", Value::from("3"))],
            KeyedByOptions::default(),
        )
        .unwrap();
        assert_eq!(item["x"], Value::from("three"));
    }

    #[test]
    fn attrmatch_uses_membership_for_lists() {
        let attrs = map! {"kind" => "build", "n" => 3};
        assert!(attrmatch(
            &attrs,
            &map! {"kind" => vec![Value::from("build"), Value::from("test")]}
        ));
        assert!(attrmatch(&attrs, &map! {"n" => 3}));
        assert!(!attrmatch(&attrs, &map! {"missing" => 1}));
    }
}
