//! Node graph to [`Value`] tree, following PyYAML's `SafeConstructor`.
//!
//! Merge keys are flattened the way PyYAML 6.0.4 does it, quirk included:
//! when several merged mappings share a key, PyYAML keeps the first one only
//! if the two key strings are the same Python object. That holds for the
//! very same key node (an alias) and for strings CPython caches (the empty
//! string and one-character Latin-1 strings); for any other key the last
//! merged mapping wins, because the later pair overwrites the earlier one.

use foldhash::{HashMap, HashMapExt};
use std::borrow::Cow;
use std::collections::HashSet;

use super::compose::{Content, Graph, Node, NodeId};
use super::pystr::key_str;
use super::resolve::{self, Tag};
use super::{Mark, PositionTree, yaml_error};
use crate::error::Result;
use crate::python::py_repr;
use crate::value::Key;
use crate::value::{Map, Timestamp, Value};

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 1000;

/// Aliases may copy at most this many nodes beyond the document's own
/// (times ten), which stops "billion laughs" documents.
const ALIAS_ALLOWANCE: usize = 1_000_000;

/// Key paths deeper than this get no recorded position.
const POSITION_DEPTH: usize = 3;

pub(super) fn construct(graph: &Graph, positions: Option<&mut PositionTree>) -> Result<Value> {
    let mut constructor = Constructor {
        nodes: &graph.nodes,
        active: vec![false; graph.nodes.len()],
        budget: graph
            .nodes
            .len()
            .saturating_mul(10)
            .saturating_add(ALIAS_ALLOWANCE),
        track_mixed_keys: positions.is_some(),
        mixed_keys: None,
    };
    match positions {
        Some(tree) => {
            let value = constructor.value(graph.root, 0, Some(&mut *tree))?;
            tree.mixed_keys = constructor.mixed_keys.take();
            Ok(value)
        }
        None => constructor.value(graph.root, 0, None),
    }
}

struct Constructor<'a> {
    nodes: &'a [Node],
    /// Collections being constructed or flattened right now: meeting one
    /// again means the document refers to itself.
    active: Vec<bool>,
    /// How many more nodes may be constructed.
    budget: usize,
    /// Whether to look for mappings whose keys Python cannot sort (only
    /// documents whose key positions are recorded).
    track_mixed_keys: bool,
    /// The first such mapping.
    mixed_keys: Option<MixedKeys>,
}

/// Identity of a merged key, as PyYAML's `id(key_node.value)` sees it.
#[derive(PartialEq, Eq, Hash)]
enum KeyIdentity<'a> {
    /// A string CPython keeps one shared object for.
    Shared(&'a str),
    Node(NodeId),
}

impl<'a> Constructor<'a> {
    fn value(
        &mut self,
        id: NodeId,
        depth: usize,
        positions: Option<&mut PositionTree>,
    ) -> Result<Value> {
        let nodes = self.nodes;
        let node = &nodes[id];
        if depth > MAX_DEPTH {
            let message = format!("the document nests deeper than {MAX_DEPTH} levels");
            return Err(yaml_error(&message, Some(node.mark)));
        }
        self.budget = self.budget.checked_sub(1).ok_or_else(|| {
            yaml_error(
                "aliases expand the document to too many nodes",
                Some(node.mark),
            )
        })?;

        match &node.tag {
            Tag::Str => Ok(Value::Str(self.scalar_text(id, depth)?.to_owned())),
            Tag::Null => self.scalar_text(id, depth).map(|_| Value::Null),
            Tag::Bool => self.typed_scalar(id, depth, resolve::construct_bool, Value::Bool),
            Tag::Int => self.typed_scalar(id, depth, resolve::construct_int, Value::Int),
            Tag::Float => self.typed_scalar(id, depth, resolve::construct_float, Value::Float),
            Tag::Timestamp => {
                self.typed_scalar(id, depth, resolve::construct_timestamp, Value::from)
            }
            Tag::Seq => self.guarded(id, |c| c.sequence(id, depth)),
            Tag::Map => self.guarded(id, |c| c.mapping(id, depth, positions)),
            Tag::Merge | Tag::Value => Err(no_constructor(node)),
            Tag::Other(name) => Err(unsupported_tag(name, node)),
        }
    }

    /// Runs `build` on a collection, refusing to enter it twice at once.
    fn guarded(
        &mut self,
        id: NodeId,
        build: impl FnOnce(&mut Self) -> Result<Value>,
    ) -> Result<Value> {
        if self.active[id] {
            let message = "found a recursive alias; a node that contains itself is not supported";
            return Err(yaml_error(message, Some(self.nodes[id].mark)));
        }
        self.active[id] = true;
        let result = build(self);
        self.active[id] = false;
        result
    }

    /// The text of a scalar node. Like PyYAML, a mapping stands for the
    /// value of its `=` key when a scalar is wanted.
    fn scalar_text(&self, id: NodeId, depth: usize) -> Result<&'a str> {
        let node = &self.nodes[id];
        match &node.content {
            Content::Scalar(text) => return Ok(text),
            Content::Map(pairs) if depth <= MAX_DEPTH => {
                let value_key = pairs.iter().find(|(k, _)| self.nodes[*k].tag == Tag::Value);
                if let Some(&(_, value)) = value_key {
                    return self.scalar_text(value, depth + 1);
                }
            }
            _ => {}
        }
        let message = format!(
            "expected a scalar node, but found {}",
            node.content.kind_name()
        );
        Err(yaml_error(&message, Some(node.mark)))
    }

    fn typed_scalar<T>(
        &self,
        id: NodeId,
        depth: usize,
        parse: fn(&str) -> Result<T, String>,
        wrap: fn(T) -> Value,
    ) -> Result<Value> {
        let text = self.scalar_text(id, depth)?;
        parse(text)
            .map(wrap)
            .map_err(|message| yaml_error(&message, Some(self.nodes[id].mark)))
    }

    fn sequence(&mut self, id: NodeId, depth: usize) -> Result<Value> {
        let nodes = self.nodes;
        let node = &nodes[id];
        let Content::Seq(items) = &node.content else {
            return Err(wrong_kind("sequence", node));
        };
        let mut list = Vec::with_capacity(items.len());
        for &item in items {
            list.push(self.value(item, depth + 1, None)?);
        }
        Ok(Value::List(list))
    }

    /// Builds a mapping with Python `dict` semantics: a repeated key keeps
    /// its first place and takes the last value.
    fn mapping(
        &mut self,
        id: NodeId,
        depth: usize,
        mut positions: Option<&mut PositionTree>,
    ) -> Result<Value> {
        let pairs = self.flatten(id, 0)?;
        let mut map = Map::with_capacity(pairs.len());
        let mut keys = KeyTable::default();
        let mut kinds = KeyKinds::default();
        for &(key_id, value_id) in pairs.iter() {
            // Most keys are plain strings: take their text as it is, with
            // no value built for the key first.
            let name: Key = match self.string_key(key_id, depth)? {
                Some(text) => {
                    if self.track_mixed_keys {
                        kinds.note(KeyKind::Str, || {
                            (py_repr(&Value::from(text)), text.to_owned())
                        });
                    }
                    Key::from(text)
                }
                None => {
                    let key = self.key(key_id, depth)?;
                    let kind = KeyKind::of(&key);
                    let repr = self.track_mixed_keys.then(|| py_repr(&key));
                    let name = keys.name_for(key);
                    if let Some(repr) = repr {
                        kinds.note(kind, || (repr, name.clone()));
                    }
                    Key::from(name)
                }
            };

            // Keys of this mapping are at path length `depth + 1`.
            let record = positions.is_some() && depth + 1 < POSITION_DEPTH;
            if record {
                let mut child = PositionTree::new(self.nodes[key_id].mark);
                let value = self.value(value_id, depth + 1, Some(&mut child))?;
                if let Some(tree) = positions.as_deref_mut() {
                    tree.children.insert(name.to_string(), child);
                }
                map.insert(name, value);
            } else {
                let value = self.value(value_id, depth + 1, None)?;
                map.insert(name, value);
            }
        }
        if let Some(keys) = kinds.mixed.filter(|_| self.mixed_keys.is_none()) {
            // Where its first key is: a block mapping's own mark is not.
            let mark = pairs
                .first()
                .map_or(self.nodes[id].mark, |&(key, _)| self.nodes[key].mark);
            self.mixed_keys = Some(MixedKeys {
                line: mark.line,
                column: mark.column,
                keys,
            });
        }
        Ok(Value::Map(map))
    }

    /// The text of a key that constructs to a string (a `=` key, or a
    /// scalar tagged `str`), without building it; None for other keys.
    fn string_key(&mut self, id: NodeId, depth: usize) -> Result<Option<&'a str>> {
        let node = &self.nodes[id];
        match node.tag {
            Tag::Str | Tag::Value => {
                self.budget = self.budget.checked_sub(1).ok_or_else(|| {
                    yaml_error(
                        "aliases expand the document to too many nodes",
                        Some(node.mark),
                    )
                })?;
                self.scalar_text(id, depth).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// A mapping key, which must be a scalar (Python needs it hashable).
    fn key(&mut self, id: NodeId, depth: usize) -> Result<Value> {
        let nodes = self.nodes;
        let node = &nodes[id];
        if node.tag == Tag::Value {
            // PyYAML retags `=` keys as strings while flattening.
            return self
                .scalar_text(id, depth)
                .map(|text| Value::Str(text.to_owned()));
        }
        let key = self.value(id, depth + 1, None)?;
        if matches!(key, Value::List(_) | Value::Map(_)) {
            return Err(yaml_error(
                "while constructing a mapping, found unhashable key",
                Some(node.mark),
            ));
        }
        Ok(key)
    }

    /// The pairs of a mapping with its `<<` merge keys replaced by the
    /// pairs they merge, placed first so explicit keys override them.
    /// `level` counts how many merges deep this mapping is.
    fn flatten(&mut self, id: NodeId, level: usize) -> Result<Cow<'a, [(NodeId, NodeId)]>> {
        let nodes = self.nodes;
        let node = &nodes[id];
        let Content::Map(pairs) = &node.content else {
            return Err(wrong_kind("mapping", node));
        };
        if !pairs.iter().any(|(k, _)| nodes[*k].tag == Tag::Merge) {
            return Ok(Cow::Borrowed(pairs));
        }

        let mut merged = Vec::new();
        let mut seen = HashSet::new();
        let mut explicit = Vec::new();
        for &(key, value) in pairs {
            if nodes[key].tag != Tag::Merge {
                explicit.push((key, value));
                continue;
            }
            for source in self.merge_sources(node, value)? {
                for pair in self.flatten_source(source, level)?.iter() {
                    if seen.insert(self.identity(pair.0)) {
                        merged.push(*pair);
                    }
                }
            }
        }
        merged.extend(explicit);
        Ok(Cow::Owned(merged))
    }

    /// Flattens a merged mapping, refusing one that merges itself.
    fn flatten_source(
        &mut self,
        source: NodeId,
        level: usize,
    ) -> Result<Cow<'a, [(NodeId, NodeId)]>> {
        if self.active[source] || level >= MAX_DEPTH {
            let message = "merge keys nest too deeply, or a mapping merges itself";
            return Err(yaml_error(message, Some(self.nodes[source].mark)));
        }
        self.active[source] = true;
        let result = self.flatten(source, level + 1);
        self.active[source] = false;
        result
    }

    /// The mappings a `<<` value names: itself, or each item of a list.
    fn merge_sources(&self, mapping: &Node, value: NodeId) -> Result<Vec<NodeId>> {
        let node = &self.nodes[value];
        match &node.content {
            Content::Map(_) => Ok(vec![value]),
            Content::Seq(items) => {
                for &item in items {
                    let item_node = &self.nodes[item];
                    if !matches!(item_node.content, Content::Map(_)) {
                        let message = format!(
                            "while constructing a mapping (line {}), expected a mapping for \
                             merging, but found {}",
                            mapping.mark.line,
                            item_node.content.kind_name()
                        );
                        return Err(yaml_error(&message, Some(item_node.mark)));
                    }
                }
                Ok(items.clone())
            }
            Content::Scalar(_) => {
                let message = format!(
                    "while constructing a mapping (line {}), expected a mapping or list of \
                     mappings for merging, but found scalar",
                    mapping.mark.line
                );
                Err(yaml_error(&message, Some(node.mark)))
            }
        }
    }

    fn identity(&self, key: NodeId) -> KeyIdentity<'a> {
        let nodes = self.nodes;
        if let Content::Scalar(text) = &nodes[key].content {
            let mut chars = text.chars();
            let shared = match (chars.next(), chars.next()) {
                (None, _) => true,
                (Some(c), None) => u32::from(c) < 256,
                _ => false,
            };
            if shared {
                return KeyIdentity::Shared(text);
            }
        }
        KeyIdentity::Node(key)
    }
}

/// A mapping whose keys Python cannot sort: keys of two kinds that `<`
/// refuses to compare (a string and a number, `None` and a number, a date
/// and a datetime). `json.dumps(..., sort_keys=True)` raises `TypeError`
/// on it, which is how the reference fails on such parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct MixedKeys {
    pub line: usize,
    pub column: usize,
    /// The first key of each of two kinds: as Python writes it, and the
    /// string it became.
    pub keys: [(String, String); 2],
}

/// The kinds of key Python's `<` orders among themselves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Str,
    /// `int`, `bool` and `float` compare with each other.
    Number,
    None,
    Date,
    NaiveDateTime,
    AwareDateTime,
}

impl KeyKind {
    fn of(key: &Value) -> KeyKind {
        match key {
            Value::Str(_) => KeyKind::Str,
            Value::Null => KeyKind::None,
            Value::Timestamp(t) => match &t.time {
                None => KeyKind::Date,
                Some(time) if time.utc_offset_minutes.is_none() => KeyKind::NaiveDateTime,
                Some(_) => KeyKind::AwareDateTime,
            },
            // Lists and maps are refused as keys before this.
            _ => KeyKind::Number,
        }
    }
}

/// The first key kind of a mapping, and the first pair of keys of
/// different kinds.
#[derive(Default)]
struct KeyKinds {
    first: Option<(KeyKind, (String, String))>,
    mixed: Option<[(String, String); 2]>,
}

impl KeyKinds {
    /// Notes a key of `kind`; `describe` gives its repr and its string.
    fn note(&mut self, kind: KeyKind, describe: impl FnOnce() -> (String, String)) {
        match &self.first {
            None => self.first = Some((kind, describe())),
            Some((first, first_key)) if *first != kind && self.mixed.is_none() => {
                self.mixed = Some([first_key.clone(), describe()]);
            }
            Some(_) => {}
        }
    }
}

/// Keys as Python compares them. String keys are used as they are; other
/// scalar keys become their `str()`, after being matched against earlier
/// keys the way a `dict` would (`1`, `1.0` and `true` are one key).
#[derive(Default)]
struct KeyTable {
    /// Only filled once a non-string key shows up.
    others: HashMap<OtherKey, String>,
}

#[derive(PartialEq, Eq, Hash)]
enum OtherKey {
    None,
    /// Ints, bools and whole floats that fit an `i64`.
    Integer(i64),
    /// Any other float; every NaN the loader makes is the same object.
    Float(u64),
    Date(i32, u32, u32),
    Naive(i32, u32, u32, u32, u32, u32, u32),
    /// Aware datetimes compare as instants: microseconds since year 1, UTC.
    Aware(i64),
}

impl KeyTable {
    fn name_for(&mut self, key: Value) -> String {
        let other = match &key {
            Value::Str(s) => return s.clone(),
            Value::Null => OtherKey::None,
            Value::Bool(b) => OtherKey::Integer(i64::from(*b)),
            Value::Int(i) => OtherKey::Integer(*i),
            Value::Float(f) => float_key(*f),
            Value::Timestamp(t) => timestamp_key(t),
            Value::List(_) | Value::Map(_) => OtherKey::None,
        };
        self.others
            .entry(other)
            .or_insert_with(|| key_str(&key).unwrap_or_default())
            .clone()
    }
}

fn float_key(f: f64) -> OtherKey {
    if f.is_nan() {
        return OtherKey::Float(f64::NAN.to_bits());
    }
    // Whole floats in i64 range equal the int of the same value.
    if f.fract() == 0.0 && (-(2f64.powi(63))..2f64.powi(63)).contains(&f) {
        return OtherKey::Integer(f as i64);
    }
    OtherKey::Float(f.to_bits())
}

fn timestamp_key(t: &Timestamp) -> OtherKey {
    let Some(time) = &t.time else {
        return OtherKey::Date(t.year, t.month, t.day);
    };
    let Some(offset) = time.utc_offset_minutes else {
        let (h, m, s, us) = (time.hour, time.minute, time.second, time.microsecond);
        return OtherKey::Naive(t.year, t.month, t.day, h, m, s, us);
    };
    let days = days_from_civil(t.year, t.month, t.day);
    let minutes = days * 1440 + i64::from(time.hour * 60 + time.minute) - i64::from(offset);
    let micros = (minutes * 60 + i64::from(time.second)) * 1_000_000 + i64::from(time.microsecond);
    OtherKey::Aware(micros)
}

/// Days since 0000-03-01 of a proleptic Gregorian date; only differences
/// matter here.
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era
}

fn no_constructor(node: &Node) -> crate::Error {
    let message = format!(
        "could not determine a constructor for the tag '{}'",
        node.tag.full_name()
    );
    yaml_error(&message, Some(node.mark))
}

fn unsupported_tag(name: &str, node: &Node) -> crate::Error {
    let short = name.strip_prefix(resolve::CORE_PREFIX);
    let message = match short {
        Some("binary" | "omap" | "pairs" | "set") => {
            format!("the tag '{name}' is valid YAML but not supported here")
        }
        _ => format!("could not determine a constructor for the tag '{name}'"),
    };
    yaml_error(&message, Some(node.mark))
}

fn wrong_kind(expected: &str, node: &Node) -> crate::Error {
    let message = format!(
        "expected a {expected} node, but found {}",
        node.content.kind_name()
    );
    yaml_error(&message, Some(node.mark))
}

impl PositionTree {
    fn new(mark: Mark) -> Self {
        PositionTree {
            mark: Some(mark),
            children: HashMap::new(),
            mixed_keys: None,
        }
    }
}
