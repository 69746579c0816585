//! What a cached task's digest is made of, kept as data.
//!
//! A cached task is found again on the index under the SHA-256 of its
//! digest inputs joined by newlines: the producer's digest data (command
//! parts, a hash of resource files, parameters, arguments), the digests of
//! its parents, and `True` when it runs with chain of trust. A change to any
//! of them, here or in any ancestor, means a cache miss. [`DigestRecord`]
//! keeps each input with where it came from, so that a user can see what a
//! digest consists of and, given the record of an earlier run, which input
//! changed and which upstream task the change started in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::hash::FileHash;
use crate::task::Task;

/// The name of the artifact that keeps every cached task's record, so
/// that a later run can say what changed.
pub const ARTIFACT_NAME: &str = "digest-inputs.json";

/// One line of a digest, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestInput {
    /// The text exactly as hashed: one line, or several for a string that
    /// is hashed one character per line.
    pub text: String,
    #[serde(flatten)]
    pub source: InputSource,
}

/// Where a digest line came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum InputSource {
    /// A line of the producer's digest data.
    Data,
    /// A string the producer hashes one character per line (iterating a
    /// Python string); `text` holds those lines, so the string itself is
    /// every other character of it.
    Characters,
    /// The combined hash of resource files.
    Files {
        patterns: Vec<String>,
        files: Vec<FileEntry>,
    },
    /// A parameter's value (`name:value`).
    Parameter { name: String },
    /// A parent task's `<type>/<name>/<digest>`.
    Parent { label: String },
    /// The chain-of-trust marker.
    ChainOfTrust,
}

/// A resource file and its own hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
}

impl From<&FileHash> for FileEntry {
    fn from(file: &FileHash) -> FileEntry {
        FileEntry {
            path: file.path.clone(),
            sha256: file.sha256.clone(),
        }
    }
}

/// A cached task's digest, its inputs in hashing order, and where the
/// result is looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestRecord {
    pub label: String,
    pub cache_type: String,
    pub cache_name: String,
    pub digest: String,
    pub inputs: Vec<DigestInput>,
    /// The index paths searched for an earlier result, best first.
    pub index_paths: Vec<String>,
}

impl DigestRecord {
    /// The parents' labels, in input order.
    pub fn parents(&self) -> impl Iterator<Item = &str> {
        self.inputs.iter().filter_map(|input| match &input.source {
            InputSource::Parent { label } => Some(label.as_str()),
            _ => None,
        })
    }

    /// Every input with its files, one per line, then the digest and the
    /// index paths: what `graphgen digest` prints.
    pub fn render(&self) -> String {
        let mut out = format!("{} ({}/{})\n", self.label, self.cache_type, self.cache_name);
        for (number, input) in self.inputs.iter().enumerate() {
            let _ = writeln!(out, "{:>4}  {}", number + 1, describe(input));
            if let InputSource::Files { files, .. } = &input.source {
                for file in files {
                    let _ = writeln!(out, "        {}  {}", file.sha256, file.path);
                }
            }
        }
        let _ = writeln!(out, "digest {}", self.digest);
        for path in &self.index_paths {
            let _ = writeln!(out, "index  {path}");
        }
        out
    }
}

/// The records of every cached task, by label.
pub fn collect<'a>(
    tasks: impl IntoIterator<Item = &'a Arc<Task>>,
) -> BTreeMap<String, DigestRecord> {
    tasks
        .into_iter()
        .filter_map(|task| task.digest.as_deref())
        .map(|record| (record.label.clone(), record.clone()))
        .collect()
}

/// The records as the artifact holds them: pretty JSON, sorted by label.
pub fn to_artifact(records: &BTreeMap<String, DigestRecord>) -> Result<String> {
    serde_json::to_string_pretty(records).map_err(|e| Error::new(ErrorKind::Json(e.to_string())))
}

/// Reads the records an earlier run wrote to `path`.
pub fn read_artifact(path: &Path) -> Result<BTreeMap<String, DigestRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::new(ErrorKind::Json(format!(
            "not a graphgen digest record file: {e}"
        )))
        .with_file(path)
        .with_position(e.line(), e.column())
    })
}

/// One input as a line: its kind and its text.
fn describe(input: &DigestInput) -> String {
    match &input.source {
        InputSource::Data => format!("data       {}", quoted(&input.text)),
        InputSource::Characters => {
            let spelled: String = input.text.chars().step_by(2).collect();
            format!("chars      {} (one line per character)", quoted(&spelled))
        }
        InputSource::Files { patterns, .. } => {
            format!("files      {} ({})", input.text, patterns.join(", "))
        }
        // Producers that hash `name:value` already name the parameter.
        InputSource::Parameter { name } if input.text.starts_with(&format!("{name}:")) => {
            format!("parameter  {}", quoted(&input.text))
        }
        InputSource::Parameter { name } => {
            format!("parameter  {name}: {}", quoted(&input.text))
        }
        InputSource::Parent { label } => format!("parent     {label}  {}", input.text),
        InputSource::ChainOfTrust => format!("trust      {}", input.text),
    }
}

/// Text as written, unless blanks or control characters would hide
/// something: then Rust's escaped form in quotes.
fn quoted(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && !text.chars().any(char::is_control);
    if plain {
        text.to_owned()
    } else {
        format!("{text:?}")
    }
}

/// How a task's digest differs from an earlier run's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChange {
    pub label: String,
    pub old_digest: String,
    pub new_digest: String,
    /// The inputs of the earlier run that are gone, with their position.
    pub removed: Vec<(usize, DigestInput)>,
    /// The inputs that are new, with their position.
    pub added: Vec<(usize, DigestInput)>,
    /// Files whose contents changed inside a `files` input that is in
    /// both runs by patterns: (path, old hash, new hash); a missing hash
    /// means the file was not there.
    pub files: Vec<(String, Option<String>, Option<String>)>,
    /// The tasks upstream (this one included) whose own inputs changed:
    /// where the change started.
    pub causes: Vec<String>,
}

/// Compares `label`'s record with the earlier run's. None when the digest
/// is the same or either run has no record of the task.
pub fn compare(
    label: &str,
    current: &BTreeMap<String, DigestRecord>,
    earlier: &BTreeMap<String, DigestRecord>,
) -> Option<DigestChange> {
    let new = current.get(label)?;
    let old = earlier.get(label)?;
    if new.digest == old.digest {
        return None;
    }
    let (removed, added) = line_changes(&old.inputs, &new.inputs);
    Some(DigestChange {
        label: label.to_owned(),
        old_digest: old.digest.clone(),
        new_digest: new.digest.clone(),
        files: file_changes(&removed, &added),
        removed,
        added,
        causes: causes(label, current, earlier),
    })
}

/// Inputs with their 1-based positions.
type Positioned = Vec<(usize, DigestInput)>;

/// The inputs only in `old` and only in `new`, with their 1-based
/// positions, from a line diff of their texts.
fn line_changes(old: &[DigestInput], new: &[DigestInput]) -> (Positioned, Positioned) {
    let old_texts: Vec<&str> = old.iter().map(|i| i.text.as_str()).collect();
    let new_texts: Vec<&str> = new.iter().map(|i| i.text.as_str()).collect();
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old_texts, &new_texts) {
        match op {
            similar::DiffOp::Equal { .. } => {}
            similar::DiffOp::Delete {
                old_index, old_len, ..
            } => removed.extend((old_index..old_index + old_len).map(|i| (i + 1, old[i].clone()))),
            similar::DiffOp::Insert {
                new_index, new_len, ..
            } => added.extend((new_index..new_index + new_len).map(|j| (j + 1, new[j].clone()))),
            similar::DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                removed.extend((old_index..old_index + old_len).map(|i| (i + 1, old[i].clone())));
                added.extend((new_index..new_index + new_len).map(|j| (j + 1, new[j].clone())));
            }
        }
    }
    (removed, added)
}

/// For `files` inputs that changed but name the same patterns, the files
/// whose hashes differ.
fn file_changes(
    removed: &[(usize, DigestInput)],
    added: &[(usize, DigestInput)],
) -> Vec<(String, Option<String>, Option<String>)> {
    let mut changes = Vec::new();
    for (_, old) in removed {
        let InputSource::Files {
            patterns,
            files: old_files,
        } = &old.source
        else {
            continue;
        };
        let matching = added.iter().find_map(|(_, new)| match &new.source {
            InputSource::Files { patterns: p, files } if p == patterns => Some(files),
            _ => None,
        });
        let Some(new_files) = matching else {
            continue;
        };
        let old_map: BTreeMap<&str, &str> = old_files
            .iter()
            .map(|f| (f.path.as_str(), f.sha256.as_str()))
            .collect();
        let new_map: BTreeMap<&str, &str> = new_files
            .iter()
            .map(|f| (f.path.as_str(), f.sha256.as_str()))
            .collect();
        let paths: BTreeSet<&str> = old_map.keys().chain(new_map.keys()).copied().collect();
        for path in paths {
            let (before, after) = (old_map.get(path), new_map.get(path));
            if before != after {
                changes.push((
                    path.to_owned(),
                    before.map(|s| (*s).to_owned()),
                    after.map(|s| (*s).to_owned()),
                ));
            }
        }
    }
    changes
}

/// The tasks at or above `label` whose own (non-parent) inputs changed,
/// or that are new: walking up through parents whose digests changed.
fn causes(
    label: &str,
    current: &BTreeMap<String, DigestRecord>,
    earlier: &BTreeMap<String, DigestRecord>,
) -> Vec<String> {
    let mut found = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut pending = vec![label.to_owned()];
    while let Some(task) = pending.pop() {
        if !seen.insert(task.clone()) {
            continue;
        }
        let Some(new) = current.get(&task) else {
            continue;
        };
        let Some(old) = earlier.get(&task) else {
            found.insert(task);
            continue;
        };
        if new.digest == old.digest {
            continue;
        }
        let own = |record: &DigestRecord| -> Vec<String> {
            record
                .inputs
                .iter()
                .filter(|i| !matches!(i.source, InputSource::Parent { .. }))
                .map(|i| i.text.clone())
                .collect()
        };
        let old_parents: BTreeSet<&str> = old.parents().collect();
        let new_parents: BTreeSet<&str> = new.parents().collect();
        if own(new) != own(old) || old_parents != new_parents {
            found.insert(task.clone());
        }
        pending.extend(new.parents().map(str::to_owned));
    }
    found.into_iter().collect()
}

impl DigestChange {
    /// What changed, for `graphgen digest --against`.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{}: digest changed\n  was {}\n  now {}\n",
            self.label, self.old_digest, self.new_digest
        );
        for (position, input) in &self.removed {
            let _ = writeln!(out, "- {position:>3}  {}", describe(input));
        }
        for (position, input) in &self.added {
            let _ = writeln!(out, "+ {position:>3}  {}", describe(input));
        }
        for (path, before, after) in &self.files {
            let state = match (before, after) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                _ => "changed",
            };
            let _ = writeln!(out, "  file {state}: {path}");
        }
        if self.causes.as_slice() == [self.label.clone()] {
            let _ = writeln!(out, "the change is in this task's own inputs");
        } else {
            let _ = writeln!(out, "the change started in: {}", self.causes.join(", "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(text: &str) -> DigestInput {
        DigestInput {
            text: text.to_owned(),
            source: InputSource::Data,
        }
    }

    fn parent(label: &str, digest: &str) -> DigestInput {
        DigestInput {
            text: format!("toolchains.v3/{label}/{digest}"),
            source: InputSource::Parent {
                label: label.to_owned(),
            },
        }
    }

    fn files(hash: &str, entries: &[(&str, &str)]) -> DigestInput {
        DigestInput {
            text: hash.to_owned(),
            source: InputSource::Files {
                patterns: vec!["scripts".to_owned()],
                files: entries
                    .iter()
                    .map(|(path, sha256)| FileEntry {
                        path: (*path).to_owned(),
                        sha256: (*sha256).to_owned(),
                    })
                    .collect(),
            },
        }
    }

    fn record(label: &str, digest: &str, inputs: Vec<DigestInput>) -> DigestRecord {
        DigestRecord {
            label: label.to_owned(),
            cache_type: "toolchains.v3".to_owned(),
            cache_name: label.to_owned(),
            digest: digest.to_owned(),
            inputs,
            index_paths: vec![format!(
                "demo.cache.level-3.toolchains.v3.{label}.hash.{digest}"
            )],
        }
    }

    fn runs() -> (
        BTreeMap<String, DigestRecord>,
        BTreeMap<String, DigestRecord>,
    ) {
        let earlier = BTreeMap::from([
            (
                "compiler".to_owned(),
                record(
                    "compiler",
                    "c1",
                    vec![files("h1", &[("scripts/a.sh", "1"), ("scripts/b.sh", "2")])],
                ),
            ),
            (
                "library".to_owned(),
                record("library", "l1", vec![data("v1")]),
            ),
            (
                "app".to_owned(),
                record(
                    "app",
                    "a1",
                    vec![
                        data("build"),
                        parent("compiler", "c1"),
                        parent("library", "l1"),
                    ],
                ),
            ),
        ]);
        let current = BTreeMap::from([
            (
                "compiler".to_owned(),
                record(
                    "compiler",
                    "c2",
                    vec![files("h2", &[("scripts/a.sh", "1"), ("scripts/b.sh", "3")])],
                ),
            ),
            (
                "library".to_owned(),
                record("library", "l1", vec![data("v1")]),
            ),
            (
                "app".to_owned(),
                record(
                    "app",
                    "a2",
                    vec![
                        data("build"),
                        parent("compiler", "c2"),
                        parent("library", "l1"),
                    ],
                ),
            ),
        ]);
        (current, earlier)
    }

    #[test]
    fn a_changed_file_upstream_is_named_as_the_cause() {
        let (current, earlier) = runs();
        let change = compare("app", &current, &earlier).unwrap();
        assert_eq!(change.causes, ["compiler"]);
        assert_eq!(change.removed.len(), 1);
        assert_eq!(change.removed[0].0, 2);
        assert_eq!(change.added[0].1.text, "toolchains.v3/compiler/c2");
        assert!(
            change.files.is_empty(),
            "the app's own files did not change"
        );

        let compiler = compare("compiler", &current, &earlier).unwrap();
        assert_eq!(compiler.causes, ["compiler"]);
        assert_eq!(
            compiler.files,
            [(
                "scripts/b.sh".to_owned(),
                Some("2".to_owned()),
                Some("3".to_owned())
            )]
        );
        assert!(compiler.render().contains("own inputs"));
    }

    #[test]
    fn unchanged_digests_compare_equal() {
        let (current, earlier) = runs();
        assert_eq!(compare("library", &current, &earlier), None);
        assert_eq!(compare("missing", &current, &earlier), None);
    }

    #[test]
    fn a_new_parent_is_a_cause() {
        let (mut current, earlier) = runs();
        current.insert("extra".to_owned(), record("extra", "e1", vec![data("x")]));
        let app = current.get_mut("app").unwrap();
        app.inputs.push(parent("extra", "e1"));
        app.digest = "a3".to_owned();
        let change = compare("app", &current, &earlier).unwrap();
        assert_eq!(change.causes, ["app", "compiler", "extra"]);
    }

    #[test]
    fn records_round_trip_through_json() {
        let (current, _) = runs();
        let text = serde_json::to_string(&current).unwrap();
        let back: BTreeMap<String, DigestRecord> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, current);
        assert!(
            text.contains(r#""source":"parent","label":"compiler""#),
            "{text}"
        );
    }

    #[test]
    fn render_lists_inputs_files_and_index_paths() {
        let (current, _) = runs();
        let text = current["compiler"].render();
        assert!(text.starts_with("compiler (toolchains.v3/compiler)\n"));
        assert!(text.contains("   1  files      h2 (scripts)\n"), "{text}");
        assert!(text.contains("        3  scripts/b.sh\n"), "{text}");
        assert!(text.contains("digest c2\n"));
        assert!(text.contains("index  demo.cache.level-3.toolchains.v3.compiler.hash.c2"));
        assert_eq!(quoted("a b"), "a b");
        assert_eq!(quoted(" "), "\" \"");

        let line = |text: &str, source: InputSource| {
            describe(&DigestInput {
                text: text.to_owned(),
                source,
            })
        };
        let parameter = || InputSource::Parameter {
            name: "src".to_owned(),
        };
        assert_eq!(line("src:ru", parameter()), "parameter  src:ru");
        assert_eq!(line("ru", parameter()), "parameter  src: ru");
        assert_eq!(
            line("b\na\ns\nh", InputSource::Characters),
            "chars      bash (one line per character)"
        );
        assert_eq!(quoted("\n"), "\"\\n\"");
    }
}
