//! Errors, and the place in the user's project they point to.
//!
//! Every error carries an [`ErrorKind`] (what went wrong) and a [`Location`]
//! (where): the file and line when the YAML parser knew them, the kind, the
//! task label or name, and the field. Contexts are added from the inside out
//! as an error travels up, and an inner, more precise context always wins.

use std::fmt;
use std::path::{Path, PathBuf};

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read or written.
    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A YAML document is not valid YAML, or uses a tag we cannot construct.
    #[error("invalid YAML: {0}")]
    Yaml(String),

    /// A JSON document could not be parsed, or a value cannot become JSON.
    #[error("invalid JSON: {0}")]
    Json(String),

    /// A value does not match the schema of the transform that reads it.
    #[error("{0}")]
    Schema(String),

    /// A `by-<attribute>` value could not be resolved.
    #[error("{0}")]
    KeyedBy(String),

    /// A kind names a transform that no registered crate provides.
    #[error("unknown transform `{name}`{}", suggest(suggestions))]
    UnknownTransform {
        name: String,
        suggestions: Vec<String>,
    },

    /// A name (target-task method, filter, run-using, worker implementation,
    /// loader, ...) that nothing is registered under.
    #[error("unknown {what} `{name}`{}", suggest(known))]
    UnknownName {
        what: &'static str,
        name: String,
        known: Vec<String>,
    },

    /// A kind lists a kind dependency that does not exist.
    #[error("kind `{kind}` depends on kind `{missing}`, which does not exist; available kinds: {}", available.join(", "))]
    MissingKind {
        kind: String,
        missing: String,
        available: Vec<String>,
    },

    /// Kinds depend on each other in a cycle.
    #[error("kind dependencies form a cycle: {}", kinds.join(" -> "))]
    KindCycle { kinds: Vec<String> },

    /// Tasks list dependencies on labels that no task has.
    #[error("{} unknown task dependenc{}:\n{}", missing.len(), if missing.len() == 1 { "y" } else { "ies" }, format_missing(missing))]
    UnknownDependencies { missing: Vec<(String, String)> },

    /// Two tasks share a label.
    #[error("duplicate tasks with label `{label}`")]
    DuplicateLabel { label: String },

    /// Task dependencies form a cycle.
    #[error("task dependencies form a cycle: {}", labels.join(" -> "))]
    Cycle { labels: Vec<String> },

    /// The parameters are missing, malformed or of the wrong type.
    #[error("invalid parameters: {0}")]
    Params(String),

    /// `config.yml` is missing or does not match the graph-config schema.
    #[error("invalid graph configuration: {0}")]
    Config(String),

    /// A `{placeholder}` could not be substituted.
    #[error("{0}")]
    Format(String),

    /// A transform rejected its input.
    #[error("{0}")]
    Transform(String),

    /// A graph-wide check failed.
    #[error("{0}")]
    Verification(String),

    /// A git command failed.
    #[error("{0}")]
    Vcs(String),

    /// The caller asked for something that cannot be done: conflicting
    /// options, a label no task has.
    #[error("{0}")]
    Usage(String),
}

fn suggest(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(
            "; did you mean {}?",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn format_missing(missing: &[(String, String)]) -> String {
    missing
        .iter()
        .map(|(task, dep)| format!("  task `{task}` depends on `{dep}`, which does not exist"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where in the user's project an error points.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub file: Option<PathBuf>,
    /// 1-based line number.
    pub line: Option<usize>,
    /// 1-based column number.
    pub column: Option<usize>,
    pub kind: Option<String>,
    /// The task's label, or its name before it has a label.
    pub task: Option<String>,
    /// A dotted path to the offending field.
    pub field: Option<String>,
}

impl Location {
    pub fn is_empty(&self) -> bool {
        *self == Location::default()
    }
}

/// An error with the place it points to.
///
/// Both parts live behind one box so that `Result<T, Error>` stays a
/// pointer wide on the happy path.
#[derive(Debug)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    location: Location,
}

impl Error {
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                location: Location::default(),
            }),
        }
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    /// A transform's complaint about its input.
    pub fn transform(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Transform(message.into()))
    }

    /// A schema violation.
    pub fn schema(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Schema(message.into()))
    }

    pub fn params(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Params(message.into()))
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config(message.into()))
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::new(ErrorKind::Io {
            path: path.to_owned(),
            source,
        })
        .with_file(path)
    }

    /// Sets the file unless an inner context already did.
    pub fn with_file(mut self, file: &Path) -> Self {
        self.inner
            .location
            .file
            .get_or_insert_with(|| file.to_owned());
        self
    }

    /// Sets the line and column unless an inner context already did.
    pub fn with_position(mut self, line: usize, column: usize) -> Self {
        if self.inner.location.line.is_none() {
            self.inner.location.line = Some(line);
            self.inner.location.column = Some(column);
        }
        self
    }

    pub fn in_kind(mut self, kind: &str) -> Self {
        self.inner
            .location
            .kind
            .get_or_insert_with(|| kind.to_owned());
        self
    }

    pub fn in_task(mut self, task: &str) -> Self {
        self.inner
            .location
            .task
            .get_or_insert_with(|| task.to_owned());
        self
    }

    pub fn at_field(mut self, field: &str) -> Self {
        self.inner
            .location
            .field
            .get_or_insert_with(|| field.to_owned());
        self
    }

    /// Fills every part of `location` that is still unknown.
    pub fn at(mut self, location: &Location) -> Self {
        let own = &mut self.inner.location;
        if own.file.is_none() {
            own.file.clone_from(&location.file);
        }
        if own.line.is_none() {
            own.line = location.line;
            own.column = location.column;
        }
        if own.kind.is_none() {
            own.kind.clone_from(&location.kind);
        }
        if own.task.is_none() {
            own.task.clone_from(&location.task);
        }
        if own.field.is_none() {
            own.field.clone_from(&location.field);
        }
        self
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = &self.inner.location;
        let mut context = Vec::new();
        if let Some(kind) = &loc.kind {
            context.push(format!("kind `{kind}`"));
        }
        if let Some(task) = &loc.task {
            context.push(format!("task `{task}`"));
        }
        if let Some(field) = &loc.field {
            context.push(format!("field `{field}`"));
        }
        if !context.is_empty() {
            write!(f, "in {}: ", context.join(", "))?;
        }
        write!(f, "{}", self.inner.kind)?;
        if let Some(file) = &loc.file {
            write!(f, "\n  --> {}", file.display())?;
            if let Some(line) = loc.line {
                write!(f, ":{line}")?;
                if let Some(column) = loc.column {
                    write!(f, ":{column}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.kind {
            ErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Names from `known` that look like `wanted`, closest first: used to
/// suggest a fix for a misspelt transform or method name.
pub fn closest_names<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .map(|name| (edit_distance(wanted, name), name))
        .filter(|(distance, name)| {
            *distance <= wanted.len().max(name.len()) / 3 + 1
                || name.ends_with(wanted)
                || wanted.ends_with(name)
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, name)| name.to_owned())
        .collect()
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_context_wins() {
        let err = Error::transform("bad")
            .at_field("run.using")
            .at_field("run")
            .in_task("a")
            .in_task("b");
        assert_eq!(err.location().field.as_deref(), Some("run.using"));
        assert_eq!(err.location().task.as_deref(), Some("a"));
    }

    #[test]
    fn display_names_every_place() {
        let err = Error::schema("expected str")
            .at_field("run.using")
            .in_task("build-linux")
            .in_kind("build")
            .with_file(Path::new("taskcluster/kinds/build/kind.yml"))
            .with_position(12, 5);
        let text = err.to_string();
        assert!(text.contains("kind `build`"), "{text}");
        assert!(text.contains("task `build-linux`"), "{text}");
        assert!(text.contains("field `run.using`"), "{text}");
        assert!(text.contains("kind.yml:12:5"), "{text}");
    }

    #[test]
    fn suggestions_prefer_close_names() {
        let known = [
            "taskgraph.transforms.task_context",
            "taskgraph.transforms.chunking",
            "taskgraph.transforms.matrix",
        ];
        let names = closest_names("taskgraph.transforms.task_contxt", known);
        assert_eq!(
            names.first().map(String::as_str),
            Some("taskgraph.transforms.task_context")
        );
    }
}
