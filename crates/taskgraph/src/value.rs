//! The value tree that task descriptions are made of.
//!
//! `kind.yml` files are free-form: every transform validates the slice it
//! owns and passes the rest through. Until the `task` transform turns a
//! description into a [`crate::task::Task`], a description is therefore a
//! tree of [`Value`]s whose maps keep insertion order, exactly like the
//! Python dictionaries the reference works on.
//!
//! Equality follows Python: `1 == 1.0 == True` and maps compare without
//! regard to order. Typed checks (is this an `int`?) follow Python's
//! `isinstance`, where a bool is also an int; see [`Value::is_py_int`].

use std::fmt;

mod map;

pub use map::{Entry, Key, Map};

/// One node of a task description or of any other YAML/JSON document.
#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(Map),
    /// A YAML 1.1 date or timestamp. Python's JSON encoder refuses these,
    /// and so does ours; `str()` formatting works. Boxed because dates are
    /// rare and the inline struct would make every value a quarter larger
    /// (40 bytes instead of 32).
    Timestamp(Box<Timestamp>),
}

// Tasks are trees of values, so every byte here is paid for hundreds of
// thousands of times in a large graph: keep new variants at this size.
const _: () = assert!(std::mem::size_of::<Value>() == 32);

/// A YAML 1.1 `date` (no time part) or `datetime`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub time: Option<TimeOfDay>,
}

/// The time part of a [`Timestamp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeOfDay {
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub microsecond: u32,
    /// Offset from UTC in minutes, when the timestamp named a zone.
    pub utc_offset_minutes: Option<i32>,
}

impl Value {
    /// The Python type name, used in error messages ("expected str, got int").
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Map(_) => "dict",
            Value::Timestamp(t) if t.time.is_none() => "date",
            Value::Timestamp(_) => "datetime",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// `isinstance(v, int)` in Python: true for ints and for bools.
    pub fn is_py_int(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Bool(_))
    }

    /// Python truthiness: empty containers, zero, `""` and None are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Timestamp(_) => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer value of an int or bool (Python treats `True` as 1).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&Vec<Value>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_list_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// `self[key]` for a map, `None` for anything else.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_map_mut().and_then(|m| m.get_mut(key))
    }

    /// Follows a dotted path of map keys (`"worker.env"`).
    pub fn get_path(&self, dotted: &str) -> Option<&Value> {
        dotted.split('.').try_fold(self, |v, key| v.get(key))
    }

    /// A list of strings, or `None` when this is not a list of strings.
    pub fn as_str_list(&self) -> Option<Vec<&str>> {
        self.as_list()?.iter().map(Value::as_str).collect()
    }

    /// Builds a list of strings.
    pub fn str_list<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::List(items.into_iter().map(|s| Value::Str(s.into())).collect())
    }

    /// Numeric view used for Python's cross-type number equality.
    fn as_number(&self) -> Option<Number> {
        match self {
            Value::Bool(b) => Some(Number::Int(i64::from(*b))),
            Value::Int(i) => Some(Number::Int(*i)),
            Value::Float(f) => Some(Number::Float(*f)),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
enum Number {
    Int(i64),
    Float(f64),
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        match (*self, *other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Float(a), Number::Float(b)) => a == b,
            (Number::Int(i), Number::Float(f)) | (Number::Float(f), Number::Int(i)) => {
                f.fract() == 0.0 && f == i as f64 && (f as i64) == i
            }
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        if let (Some(a), Some(b)) = (self.as_number(), other.as_number()) {
            return a == b;
        }
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
            _ => false,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(m)
    }
}

impl From<Timestamp> for Value {
    fn from(timestamp: Timestamp) -> Self {
        Value::Timestamp(Box::new(timestamp))
    }
}

impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Self {
        Value::List(l)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}

impl fmt::Display for Value {
    /// Formats like Python's `str()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::python::py_str(self))
    }
}

/// Builds a [`Map`] from `key => value` pairs, keeping their order.
#[macro_export]
macro_rules! map {
    () => { $crate::value::Map::default() };
    ($($key:expr => $value:expr),+ $(,)?) => {{
        let mut m = $crate::value::Map::default();
        $( m.insert(::std::string::String::from($key), $crate::value::Value::from($value)); )+
        m
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_like_python() {
        assert_eq!(Value::Int(1), Value::Float(1.0));
        assert_eq!(Value::Bool(true), Value::Int(1));
        assert_ne!(Value::Int(1), Value::Float(1.5));
        assert_ne!(Value::Str("1".into()), Value::Int(1));
    }

    #[test]
    fn maps_compare_without_order() {
        let a = Value::Map(map! {"x" => 1, "y" => 2});
        let b = Value::Map(map! {"y" => 2, "x" => 1});
        assert_eq!(a, b);
    }

    #[test]
    fn truthiness_follows_python() {
        assert!(!Value::Str(String::new()).is_truthy());
        assert!(!Value::List(vec![]).is_truthy());
        assert!(!Value::Int(0).is_truthy());
        assert!(Value::Str("0".into()).is_truthy());
    }

    #[test]
    fn dotted_paths_follow_maps() {
        let v = Value::Map(map! {"worker" => map! {"env" => map! {"A" => "b"}}});
        assert_eq!(v.get_path("worker.env.A"), Some(&Value::from("b")));
        assert_eq!(v.get_path("worker.nope"), None);
    }
}
