//! Check-only validation of description trees.
//!
//! The reference validates each transform's input with voluptuous schemas
//! and throws the validated result away: nothing is coerced and no default
//! is filled in. [`Schema`] reproduces the parts of voluptuous that
//! taskgraph's schemas use, with its typing rules:
//!
//! - `int` accepts bools (Python's `isinstance(True, int)` is true), `float`
//!   accepts only floats, literals compare with Python equality;
//! - a dict schema lists literal keys (optional unless marked required),
//!   key rules such as "any `str` key" (`{str: object}`), exclusive groups,
//!   and a policy for the remaining keys;
//! - a nested dict without its own policy inherits the policy of the schema
//!   that contains it, as voluptuous compiles nested dicts with the outer
//!   schema's `extra` setting.
//!
//! Errors name the dotted path of the offending field.

use foldhash::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::python::py_repr;
use crate::value::{Map, Value};

/// A voluptuous-style schema.
#[derive(Debug, Clone)]
pub enum Schema {
    /// Anything (`object`).
    Anything,
    /// A `str`.
    Str,
    /// An `int` (bools included, as in Python).
    Int,
    /// A `bool`.
    Bool,
    /// A `float` (ints excluded, as in Python).
    Float,
    /// `None`.
    Null,
    /// Any `dict`.
    AnyMap,
    /// Any `list`.
    AnyList,
    /// Equal (with Python equality) to this value.
    Literal(Value),
    /// The first alternative that matches (voluptuous `Any`).
    OneOf(Vec<Schema>),
    /// Every schema matches (voluptuous `All`).
    AllOf(Vec<Schema>),
    /// A list whose items each match one of the alternatives (`[a, b]`).
    ListOf(Vec<Schema>),
    /// A dict with literal keys and key rules.
    Dict(Box<DictSchema>),
    /// The value, or a `by-<field>` dict (for the listed fields) whose
    /// alternatives are themselves optionally keyed values.
    KeyedBy(Vec<&'static str>, Box<Schema>),
    /// A container of at least this many items.
    MinLength(usize),
}

/// What to do with dict keys that no field or key rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    Deny,
    Allow,
}

/// Which keys a key rule accepts.
#[derive(Debug, Clone)]
pub enum KeyRule {
    /// Any string key (`{str: ...}`).
    AnyStr,
    /// One of these keys.
    OneOf(Vec<&'static str>),
    /// Any string key except these (`All(str, NotIn([...]))`).
    NoneOf(Vec<&'static str>),
}

impl KeyRule {
    fn accepts(&self, key: &str) -> bool {
        match self {
            KeyRule::AnyStr => true,
            KeyRule::OneOf(keys) => keys.contains(&key),
            KeyRule::NoneOf(keys) => !keys.contains(&key),
        }
    }
}

/// One literal key of a dict schema.
#[derive(Debug, Clone)]
pub struct Field {
    name: &'static str,
    required: bool,
    exclusive_group: Option<&'static str>,
    schema: Schema,
}

/// A dict schema: literal fields, key rules, and a policy for the rest.
#[derive(Debug, Clone, Default)]
pub struct DictSchema {
    fields: Vec<Field>,
    key_rules: Vec<(KeyRule, Schema)>,
    extra: Option<Extra>,
    /// Field positions by name, built on first use for large schemas (the
    /// task description has dozens of fields, checked for every task).
    index: OnceLock<HashMap<&'static str, usize>>,
    /// How many fields are required, counted on first use.
    required_count: OnceLock<usize>,
}

/// A required field.
pub fn req(name: &'static str, schema: Schema) -> Field {
    Field {
        name,
        required: true,
        exclusive_group: None,
        schema,
    }
}

/// An optional field.
pub fn opt(name: &'static str, schema: Schema) -> Field {
    Field {
        name,
        required: false,
        exclusive_group: None,
        schema,
    }
}

/// An optional field of which at most one per `group` may be present.
pub fn exclusive(name: &'static str, group: &'static str, schema: Schema) -> Field {
    Field {
        name,
        required: false,
        exclusive_group: Some(group),
        schema,
    }
}

/// A dict schema with these fields, inheriting the enclosing extra policy.
pub fn dict(fields: impl IntoIterator<Item = Field>) -> DictSchema {
    DictSchema {
        fields: fields.into_iter().collect(),
        ..DictSchema::default()
    }
}

/// `{str: value}`: any string key, each value matching `value`.
pub fn str_map(value: Schema) -> Schema {
    dict([]).key_rule(KeyRule::AnyStr, value).into()
}

/// `[str]`.
pub fn str_list() -> Schema {
    Schema::ListOf(vec![Schema::Str])
}

/// Any of these string literals.
pub fn one_of_strs(values: &[&str]) -> Schema {
    Schema::OneOf(
        values
            .iter()
            .map(|v| Schema::Literal(Value::from(*v)))
            .collect(),
    )
}

/// `Any(str, {task-reference: str}, {artifact-reference: str})`.
pub fn taskref_or_string() -> Schema {
    Schema::OneOf(vec![
        Schema::Str,
        dict([req("task-reference", Schema::Str)])
            .deny_extra()
            .into(),
        dict([req("artifact-reference", Schema::Str)])
            .deny_extra()
            .into(),
    ])
}

impl DictSchema {
    /// Accepts keys matching `rule`, with values matching `value`.
    pub fn key_rule(mut self, rule: KeyRule, value: Schema) -> Self {
        self.key_rules.push((rule, value));
        self
    }

    pub fn allow_extra(mut self) -> Self {
        self.extra = Some(Extra::Allow);
        self
    }

    pub fn deny_extra(mut self) -> Self {
        self.extra = Some(Extra::Deny);
        self
    }

    /// Adds fields (voluptuous `Schema.extend`); a field of the same name
    /// replaces the old one.
    pub fn extend(mut self, fields: impl IntoIterator<Item = Field>) -> Self {
        for field in fields {
            self.index = OnceLock::new();
            self.required_count = OnceLock::new();
            match self.fields.iter_mut().find(|f| f.name == field.name) {
                Some(existing) => *existing = field,
                None => self.fields.push(field),
            }
        }
        self
    }

    /// The schema of one literal field, for reuse in another schema.
    pub fn field(&self, name: &str) -> Option<&Schema> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.schema)
    }
}

impl From<DictSchema> for Schema {
    fn from(d: DictSchema) -> Self {
        Schema::Dict(Box::new(d))
    }
}

impl Schema {
    pub fn literal(value: impl Into<Value>) -> Schema {
        Schema::Literal(value.into())
    }

    /// This schema or `None`.
    pub fn nullable(self) -> Schema {
        Schema::OneOf(vec![Schema::Null, self])
    }

    /// Checks `value`, treating dicts without a policy as `extra`.
    pub fn validate(&self, value: &Value, extra: Extra) -> Result<()> {
        self.check(value, extra, &mut Path::default())
            .map_err(Failure::into_error)
    }

    /// [`Schema::validate`] for a mapping that is not wrapped in a
    /// [`Value`], such as a task description's fields.
    pub fn validate_map(&self, map: &Map, extra: Extra) -> Result<()> {
        let mut path = Path::default();
        let checked = match self {
            Schema::Dict(dict) => dict.check_map(map, extra, &mut path),
            // Other schemas see the mapping as a value; rare enough that
            // the copy does not matter.
            other => other.check(&Value::Map(map.clone()), extra, &mut path),
        };
        checked.map_err(Failure::into_error)
    }

    fn check<'v>(
        &self,
        value: &'v Value,
        extra: Extra,
        path: &mut Path<'v>,
    ) -> Result<(), Failure> {
        match self {
            Schema::Anything => Ok(()),
            Schema::Str => expect_type(value.as_str().is_some(), "str", value, path),
            Schema::Int => expect_type(value.is_py_int(), "int", value, path),
            Schema::Bool => expect_type(value.as_bool().is_some(), "bool", value, path),
            Schema::Float => expect_type(matches!(value, Value::Float(_)), "float", value, path),
            Schema::Null => expect_type(value.is_null(), "None", value, path),
            Schema::AnyMap => expect_type(value.as_map().is_some(), "dict", value, path),
            Schema::AnyList => expect_type(value.as_list().is_some(), "list", value, path),
            Schema::Literal(expected) if expected == value => Ok(()),
            Schema::Literal(expected) => {
                Err(path.fail(|| format!("expected {}, got {}", py_repr(expected), py_repr(value))))
            }
            Schema::OneOf(alternatives) => check_one_of(alternatives, value, extra, path),
            Schema::AllOf(all) => all.iter().try_for_each(|s| s.check(value, extra, path)),
            Schema::ListOf(items) => check_list(items, value, extra, path),
            Schema::Dict(dict) => dict.check(value, extra, path),
            Schema::KeyedBy(fields, inner) => check_keyed_by(fields, inner, value, extra, path),
            Schema::MinLength(min) => {
                let len = match value {
                    Value::List(l) => l.len(),
                    Value::Map(m) => m.len(),
                    Value::Str(s) => s.chars().count(),
                    _ => {
                        return Err(path
                            .fail(|| format!("expected a container, got {}", value.type_name())));
                    }
                };
                if len < *min {
                    return Err(path.fail(|| format!("length of value must be at least {min}")));
                }
                Ok(())
            }
        }
    }
}

impl DictSchema {
    /// The literal field called `name`.
    fn field_named(&self, name: &str) -> Option<&Field> {
        const SCAN_UP_TO: usize = 8;
        if self.fields.len() <= SCAN_UP_TO {
            return self.fields.iter().find(|f| f.name == name);
        }
        let index = self.index.get_or_init(|| {
            self.fields
                .iter()
                .enumerate()
                .map(|(position, field)| (field.name, position))
                .collect()
        });
        index.get(name).map(|&position| &self.fields[position])
    }

    fn check<'v>(
        &self,
        value: &'v Value,
        inherited: Extra,
        path: &mut Path<'v>,
    ) -> Result<(), Failure> {
        let Some(map) = value.as_map() else {
            return Err(path.fail(|| format!("expected a dictionary, got {}", value.type_name())));
        };
        self.check_map(map, inherited, path)
    }

    fn check_map<'v>(
        &self,
        map: &'v Map,
        inherited: Extra,
        path: &mut Path<'v>,
    ) -> Result<(), Failure> {
        let extra = self.extra.unwrap_or(inherited);

        // The keys of a map are distinct, so counting the required and
        // exclusive fields met on the way tells whether the field lists
        // need a look at all.
        let mut required = 0;
        let mut exclusive = 0;
        for (key, item) in map {
            let field = self.field_named(key);
            if let Some(field) = field {
                required += usize::from(field.required);
                exclusive += usize::from(field.exclusive_group.is_some());
            }
            path.push(key);
            let result = self.check_entry(key, field, item, extra, path);
            path.pop();
            result?;
        }

        if required < self.required_fields() {
            self.check_required(map, path)?;
        }
        if exclusive > 1 {
            self.check_exclusive(map, path)?;
        }
        Ok(())
    }

    /// How many fields are required (counted once per schema).
    fn required_fields(&self) -> usize {
        *self
            .required_count
            .get_or_init(|| self.fields.iter().filter(|f| f.required).count())
    }

    fn check_entry<'v>(
        &self,
        key: &str,
        field: Option<&Field>,
        item: &'v Value,
        extra: Extra,
        path: &mut Path<'v>,
    ) -> Result<(), Failure> {
        if let Some(field) = field {
            return field.schema.check(item, extra, path);
        }
        for (rule, schema) in &self.key_rules {
            if rule.accepts(key) {
                return schema.check(item, extra, path);
            }
        }
        match extra {
            Extra::Allow => Ok(()),
            Extra::Deny => Err(path.fail(|| "extra keys not allowed".to_owned())),
        }
    }

    fn check_required(&self, map: &Map, path: &Path<'_>) -> Result<(), Failure> {
        let missing: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.required && !map.contains_key(f.name))
            .map(|f| f.name)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        // One missing key is the field to point at; several are pointed
        // at through the mapping that lacks them.
        if let [only] = missing.as_slice() {
            let mut at_key = path.clone();
            at_key.push(only);
            return Err(at_key.fail(|| "required key not provided".to_owned()));
        }
        let names = missing
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(path.fail(|| format!("required keys {names} not provided")))
    }

    fn check_exclusive(&self, map: &Map, path: &Path<'_>) -> Result<(), Failure> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for field in &self.fields {
            let Some(group) = field.exclusive_group else {
                continue;
            };
            if !map.contains_key(field.name) {
                continue;
            }
            if let Some((_, other)) = seen.iter().find(|(g, _)| *g == group) {
                return Err(path.fail(|| {
                    format!(
                        "`{}` and `{}` are mutually exclusive (group `{group}`)",
                        other, field.name
                    )
                }));
            }
            seen.push((group, field.name));
        }
        Ok(())
    }
}

fn expect_type(ok: bool, expected: &str, value: &Value, path: &Path<'_>) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(path.fail(|| {
            format!(
                "expected {expected}, got {} {}",
                value.type_name(),
                short_repr(value)
            )
        }))
    }
}

fn check_one_of<'v>(
    alternatives: &[Schema],
    value: &'v Value,
    extra: Extra,
    path: &mut Path<'v>,
) -> Result<(), Failure> {
    // A quiet pass finds the matching alternative without building the
    // messages of those that fail on the way: validation usually succeeds.
    let loud = !path.quiet;
    path.quiet = true;
    let matched = alternatives
        .iter()
        .any(|alternative| alternative.check(value, extra, path).is_ok());
    path.quiet = !loud;
    if matched {
        return Ok(());
    }

    let mut deepest: Option<Failure> = None;
    for alternative in alternatives {
        if let Err(failure) = alternative.check(value, extra, path) {
            // Report the failure that got furthest into the value: it is
            // the alternative the author most likely meant.
            if deepest.as_ref().is_none_or(|d| failure.depth > d.depth) {
                deepest = Some(failure);
            }
        }
    }
    match deepest {
        Some(failure) if failure.depth > path.depth() => Err(failure),
        _ => Err(path.fail(|| format!("{} does not match any allowed form", short_repr(value)))),
    }
}

fn check_list<'v>(
    items: &[Schema],
    value: &'v Value,
    extra: Extra,
    path: &mut Path<'v>,
) -> Result<(), Failure> {
    let Some(list) = value.as_list() else {
        return Err(path.fail(|| format!("expected a list, got {}", value.type_name())));
    };
    if items.is_empty() {
        return Ok(());
    }
    for (index, item) in list.iter().enumerate() {
        path.push_index(index);
        let result = check_one_of(items, item, extra, path);
        path.pop();
        result?;
    }
    Ok(())
}

fn check_keyed_by<'v>(
    fields: &[&'static str],
    inner: &Schema,
    value: &'v Value,
    extra: Extra,
    path: &mut Path<'v>,
) -> Result<(), Failure> {
    if let Some(map) = value.as_map()
        && map.len() == 1
        && let Some((key, alternatives)) = map.first()
        && let Some(field) = key.strip_prefix("by-")
        && fields.contains(&field)
    {
        let Some(alternatives) = alternatives.as_map() else {
            return Err(path.fail(|| format!("`{key}` must map values to alternatives")));
        };
        path.push(key);
        for (name, alternative) in alternatives {
            path.push(name);
            let result = check_keyed_by(fields, inner, alternative, extra, path);
            path.pop();
            result?;
        }
        path.pop();
        return Ok(());
    }
    inner.check(value, extra, path)
}

fn short_repr(value: &Value) -> String {
    let text = py_repr(value);
    if text.chars().count() > 60 {
        let mut short: String = text.chars().take(57).collect();
        short.push_str("...");
        short
    } else {
        text
    }
}

/// The dotted path to the value being checked, borrowed from it.
#[derive(Debug, Clone, Default)]
struct Path<'v> {
    parts: Vec<Part<'v>>,
    /// Failures are only counted, not described: set while trying the
    /// alternatives of a [`Schema::OneOf`].
    quiet: bool,
}

#[derive(Debug, Clone, Copy)]
enum Part<'v> {
    Key(&'v str),
    Index(usize),
}

impl<'v> Path<'v> {
    fn push(&mut self, key: &'v str) {
        self.parts.push(Part::Key(key));
    }

    fn push_index(&mut self, index: usize) {
        self.parts.push(Part::Index(index));
    }

    fn pop(&mut self) {
        self.parts.pop();
    }

    fn depth(&self) -> usize {
        self.parts.len()
    }

    /// A failure here, described by `message` unless the path is quiet.
    fn fail(&self, message: impl FnOnce() -> String) -> Failure {
        if self.quiet {
            return Failure {
                message: String::new(),
                path: String::new(),
                depth: self.parts.len(),
            };
        }
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Key(key) => {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    text.push_str(key);
                }
                Part::Index(index) => {
                    let _ = write!(text, "[{index}]");
                }
            }
        }
        Failure {
            message: message(),
            path: text,
            depth: self.parts.len(),
        }
    }
}

#[derive(Debug)]
struct Failure {
    message: String,
    path: String,
    depth: usize,
}

impl Failure {
    /// The error, with the path as its field (which the message shows as
    /// `field ...`).
    fn into_error(self) -> Error {
        let error = Error::schema(self.message);
        if self.path.is_empty() {
            error
        } else {
            error.at_field(&self.path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;

    fn run_schema() -> Schema {
        dict([
            req("using", Schema::literal("run-task")),
            opt(
                "checkout",
                Schema::OneOf(vec![Schema::Bool, str_map(Schema::AnyMap)]),
            ),
            opt(
                "command",
                Schema::OneOf(vec![
                    Schema::ListOf(vec![taskref_or_string()]),
                    taskref_or_string(),
                ]),
            ),
            opt("max-run-time", Schema::Int),
        ])
        .deny_extra()
        .into()
    }

    fn check(schema: &Schema, value: Value) -> Result<()> {
        schema.validate(&value, Extra::Deny)
    }

    #[test]
    fn accepts_a_valid_description() {
        let value =
            Value::Map(map! {"using" => "run-task", "checkout" => true, "command" => "make"});
        check(&run_schema(), value).unwrap();
    }

    #[test]
    fn rejects_extra_keys_and_names_them() {
        let value = Value::Map(map! {"using" => "run-task", "comand" => "make"});
        let err = check(&run_schema(), value).unwrap_err();
        assert_eq!(err.location().field.as_deref(), Some("comand"));
        assert!(err.to_string().contains("extra keys not allowed"));
    }

    #[test]
    fn reports_missing_required_keys() {
        let err = check(&run_schema(), Value::Map(map! {"checkout" => false})).unwrap_err();
        assert!(err.to_string().contains("`using`"), "{err}");
    }

    #[test]
    fn int_accepts_bools_but_float_does_not_accept_ints() {
        check(&Schema::Int, Value::Bool(true)).unwrap();
        assert!(check(&Schema::Float, Value::Int(1)).is_err());
        assert!(check(&Schema::Int, Value::Str("1".into())).is_err());
    }

    #[test]
    fn nested_dicts_inherit_the_extra_policy() {
        let schema: Schema = dict([opt("outer", dict([opt("a", Schema::Int)]).into())]).into();
        let value = Value::Map(map! {"outer" => map! {"a" => 1, "b" => 2}});
        schema.validate(&value, Extra::Allow).unwrap();
        let err = schema.validate(&value, Extra::Deny).unwrap_err();
        assert_eq!(err.location().field.as_deref(), Some("outer.b"));
    }

    #[test]
    fn list_items_report_their_index() {
        let schema = Schema::ListOf(vec![Schema::Str]);
        let err = check(&schema, Value::List(vec!["a".into(), Value::Int(3)])).unwrap_err();
        assert_eq!(err.location().field.as_deref(), Some("[1]"));
    }

    #[test]
    fn keyed_by_values_are_checked_at_every_level() {
        let schema = Schema::KeyedBy(vec!["level"], Box::new(Schema::Str));
        check(
            &schema,
            Value::Map(map! {"by-level" => map! {"3" => "a", "default" => "b"}}),
        )
        .unwrap();
        let err = check(&schema, Value::Map(map! {"by-level" => map! {"3" => 5}})).unwrap_err();
        assert_eq!(err.location().field.as_deref(), Some("by-level.3"));
        // A field the schema does not list is not a keyed-by form.
        assert!(
            check(
                &schema,
                Value::Map(map! {"by-project" => map! {"a" => "b"}})
            )
            .is_err()
        );
    }

    #[test]
    fn exclusive_fields_cannot_both_appear() {
        let schema: Schema = dict([
            exclusive("optimization", "optimization", Schema::Anything),
            exclusive("when", "optimization", Schema::Anything),
        ])
        .into();
        let err = check(
            &schema,
            Value::Map(map! {"optimization" => Value::Null, "when" => map! {}}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("mutually exclusive"));
    }

    #[test]
    fn literal_true_accepts_one_like_python() {
        check(&Schema::literal(true), Value::Int(1)).unwrap();
    }

    #[test]
    fn key_rules_restrict_keys() {
        let schema: Schema = dict([])
            .key_rule(KeyRule::NoneOf(vec!["self", "decision"]), Schema::Anything)
            .into();
        check(&schema, Value::Map(map! {"build" => "x"})).unwrap();
        assert!(check(&schema, Value::Map(map! {"self" => "x"})).is_err());
    }
}
