//! Optimization strategies: how a task says whether it can be left out
//! (`should_remove`) or replaced by a task that already exists
//! (`should_replace`).
//!
//! A task's strategy is the first key of its `optimization`, its argument
//! the value under that key; a task without one uses `never`. The built-in
//! strategies are `never`, `always`, `index-search` and
//! `skip-unless-changed`; [`Composite`] combines registered ones (any,
//! all, alias, not), and other crates register their own in the
//! [`crate::Registry`].

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::hash::PathPattern;
use crate::optimize::lookup::TaskStatus;
use crate::params::Parameters;
use crate::python::py_str;
use crate::task::Task;
use crate::util::time::parse_json_time;
use crate::value::Value;

/// What a strategy makes of a task in the replace phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replacement {
    /// The task runs.
    Keep,
    /// The task is not needed: removed without a replacement.
    Remove,
    /// The task is replaced by this existing task.
    With(String),
}

impl Replacement {
    fn is_truthy(&self) -> bool {
        !matches!(self, Replacement::Keep)
    }
}

/// One index path tried by `index-search`, and what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexAttempt {
    pub path: String,
    pub answer: IndexAnswer,
}

/// What an index path gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexAnswer {
    /// No task is indexed at the path.
    NotFound,
    /// The indexed task's status is unknown to the queue.
    NoStatus { task_id: String },
    /// The indexed task failed or ended in an exception.
    Failed { task_id: String, state: String },
    /// The indexed task expires before a dependent's deadline.
    ExpiresTooSoon {
        task_id: String,
        expires: String,
        deadline: String,
    },
    /// The indexed task replaces this one.
    Used { task_id: String, state: String },
}

/// What the replace phase knows when a strategy decides.
#[derive(Debug)]
pub struct ReplaceContext<'a> {
    /// The latest deadline among the task's dependents, if it has any: a
    /// replacement must not expire before it.
    pub deadline: Option<DateTime<Utc>>,
    /// Every index path of the graph that names a task.
    pub index: &'a BTreeMap<String, String>,
    /// The status of every task found in the index.
    pub statuses: &'a BTreeMap<String, TaskStatus>,
    /// Index paths tried, and their answers, for the verdict.
    pub attempts: Vec<IndexAttempt>,
}

/// Decides whether a task can be removed or replaced.
pub trait Strategy: Send + Sync + Debug {
    /// A short name for verdicts and logs.
    fn description(&self) -> String;

    /// Whether the task can be removed in the remove phase.
    fn should_remove(&self, _task: &Task, _params: &Parameters, _arg: &Value) -> Result<bool> {
        Ok(false)
    }

    /// Whether the task can be replaced (or removed) in the replace phase.
    fn should_replace(
        &self,
        _task: &Task,
        _params: &Parameters,
        _arg: &Value,
        _context: &mut ReplaceContext<'_>,
    ) -> Result<Replacement> {
        Ok(Replacement::Keep)
    }

    /// The index paths the strategy may look up for `arg`, so that all of
    /// them are asked for in one batch before the replace phase.
    fn index_paths(&self, _arg: &Value) -> Vec<String> {
        Vec::new()
    }
}

/// Keeps every task.
#[derive(Debug, Clone, Copy)]
pub struct Never;

impl Strategy for Never {
    fn description(&self) -> String {
        "never".to_owned()
    }
}

/// Removes every task that no kept task needs.
#[derive(Debug, Clone, Copy)]
pub struct Always;

impl Strategy for Always {
    fn description(&self) -> String {
        "always".to_owned()
    }

    fn should_remove(&self, _task: &Task, _params: &Parameters, _arg: &Value) -> Result<bool> {
        Ok(true)
    }
}

/// Replaces a task by the first task found at one of its index paths
/// that has not failed and does not expire before its dependents'
/// deadline. Pending and running tasks count: their results are coming.
#[derive(Debug, Clone, Copy)]
pub struct IndexSearch;

impl IndexSearch {
    fn paths(arg: &Value) -> Vec<String> {
        arg.as_list().into_iter().flatten().map(py_str).collect()
    }
}

impl Strategy for IndexSearch {
    fn description(&self) -> String {
        "index-search".to_owned()
    }

    fn index_paths(&self, arg: &Value) -> Vec<String> {
        IndexSearch::paths(arg)
    }

    fn should_replace(
        &self,
        _task: &Task,
        _params: &Parameters,
        arg: &Value,
        context: &mut ReplaceContext<'_>,
    ) -> Result<Replacement> {
        for path in IndexSearch::paths(arg) {
            let answer = index_answer(&path, context)?;
            let used = match &answer {
                IndexAnswer::Used { task_id, .. } => Some(task_id.clone()),
                _ => None,
            };
            context.attempts.push(IndexAttempt { path, answer });
            if let Some(task_id) = used {
                return Ok(Replacement::With(task_id));
            }
        }
        Ok(Replacement::Keep)
    }
}

/// What one index path gives, by the reference's rules.
fn index_answer(path: &str, context: &ReplaceContext<'_>) -> Result<IndexAnswer> {
    let Some(task_id) = context.index.get(path) else {
        return Ok(IndexAnswer::NotFound);
    };
    let task_id = task_id.clone();
    let Some(status) = context.statuses.get(&task_id) else {
        return Ok(IndexAnswer::NoStatus { task_id });
    };
    if matches!(status.state.as_str(), "exception" | "failed") {
        return Ok(IndexAnswer::Failed {
            task_id,
            state: status.state.clone(),
        });
    }
    if let Some(deadline) = context.deadline {
        let expires = parse_json_time(&status.expires).map_err(|e| {
            Error::transform(format!(
                "the queue gave task {task_id} (index path {path}) an unreadable expiry: {e}"
            ))
        })?;
        if expires < deadline {
            return Ok(IndexAnswer::ExpiresTooSoon {
                task_id,
                expires: status.expires.clone(),
                deadline: crate::util::time::json_time(deadline),
            });
        }
    }
    Ok(IndexAnswer::Used {
        task_id,
        state: status.state.clone(),
    })
}

/// Removes a task unless a changed file matches one of its patterns; a
/// push whose base and head revisions are the same changes nothing, so
/// nothing is removed then.
#[derive(Debug, Clone, Copy)]
pub struct SkipUnlessChanged;

impl Strategy for SkipUnlessChanged {
    fn description(&self) -> String {
        "skip-unless-changed".to_owned()
    }

    fn should_remove(&self, task: &Task, params: &Parameters, arg: &Value) -> Result<bool> {
        let base_rev = params.get("base_rev").filter(|v| v.is_truthy());
        if base_rev.is_some() && params.get("head_rev") == base_rev {
            return Ok(false);
        }
        let changed: Vec<String> = params
            .get("files_changed")
            .and_then(Value::as_list)
            .into_iter()
            .flatten()
            .map(py_str)
            .collect();
        for pattern in arg.as_list().into_iter().flatten() {
            let pattern = PathPattern::new(&py_str(pattern))
                .map_err(|e| e.in_task(&task.label).at_field("optimization"))?;
            if changed.iter().any(|path| pattern.matches(path)) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// How a [`Composite`] combines its strategies' answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Remove or replace if any says so; the first that says so decides.
    Any,
    /// Remove or replace only if all say so (a replacement becomes a
    /// removal, as in the reference).
    All,
    /// The one strategy's answer.
    Alias,
    /// The opposite of the one strategy's answer.
    Not,
}

/// Strategies combined; each gets the same argument.
#[derive(Debug, Clone)]
pub struct Composite {
    pub combine: Combine,
    pub strategies: Vec<Arc<dyn Strategy>>,
}

impl Strategy for Composite {
    fn description(&self) -> String {
        let names: Vec<String> = self.strategies.iter().map(|s| s.description()).collect();
        match self.combine {
            Combine::Any => names.join("-or-"),
            Combine::All => names.join("-and-"),
            Combine::Alias => names.first().cloned().unwrap_or_default(),
            Combine::Not => format!("not-{}", names.first().cloned().unwrap_or_default()),
        }
    }

    fn index_paths(&self, arg: &Value) -> Vec<String> {
        self.strategies
            .iter()
            .flat_map(|s| s.index_paths(arg))
            .collect()
    }

    fn should_remove(&self, task: &Task, params: &Parameters, arg: &Value) -> Result<bool> {
        let mut answers = self
            .strategies
            .iter()
            .map(|s| s.should_remove(task, params, arg));
        match self.combine {
            Combine::Any => {
                for answer in answers {
                    if answer? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Combine::All => {
                for answer in answers {
                    if !answer? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Combine::Alias => answers.next().unwrap_or(Ok(false)),
            Combine::Not => answers.next().unwrap_or(Ok(false)).map(|a| !a),
        }
    }

    fn should_replace(
        &self,
        task: &Task,
        params: &Parameters,
        arg: &Value,
        context: &mut ReplaceContext<'_>,
    ) -> Result<Replacement> {
        match self.combine {
            Combine::Any => {
                for strategy in &self.strategies {
                    let answer = strategy.should_replace(task, params, arg, context)?;
                    if answer.is_truthy() {
                        return Ok(answer);
                    }
                }
                Ok(Replacement::Keep)
            }
            Combine::All => {
                for strategy in &self.strategies {
                    if !strategy
                        .should_replace(task, params, arg, context)?
                        .is_truthy()
                    {
                        return Ok(Replacement::Keep);
                    }
                }
                Ok(Replacement::Remove)
            }
            Combine::Alias => match self.strategies.first() {
                Some(strategy) => strategy.should_replace(task, params, arg, context),
                None => Ok(Replacement::Keep),
            },
            Combine::Not => match self.strategies.first() {
                Some(strategy) => {
                    let answer = strategy.should_replace(task, params, arg, context)?;
                    Ok(if answer.is_truthy() {
                        Replacement::Keep
                    } else {
                        Replacement::Remove
                    })
                }
                None => Ok(Replacement::Keep),
            },
        }
    }
}

/// The built-in strategies, by name.
pub fn builtins() -> Vec<(&'static str, Arc<dyn Strategy>)> {
    vec![
        ("never", Arc::new(Never)),
        ("always", Arc::new(Always)),
        ("index-search", Arc::new(IndexSearch)),
        ("skip-unless-changed", Arc::new(SkipUnlessChanged)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    fn task() -> Task {
        Task {
            kind: "build".into(),
            label: "build-linux".into(),
            description: String::new(),
            attributes: Map::default(),
            task: Map::default(),
            optimization: Value::Null,
            dependencies: Default::default(),
            soft_dependencies: vec![],
            if_dependencies: vec![],
            task_id: None,
            digest: None,
        }
    }

    fn params(entries: &[(&str, Value)]) -> Parameters {
        Parameters::from_map(entries.iter().map(|(k, v)| (*k, v.clone())).collect())
    }

    fn statuses(entries: &[(&str, &str, &str)]) -> BTreeMap<String, TaskStatus> {
        entries
            .iter()
            .map(|(id, state, expires)| {
                (
                    (*id).to_owned(),
                    TaskStatus {
                        state: (*state).to_owned(),
                        expires: (*expires).to_owned(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn skip_unless_changed_follows_the_changed_files() {
        let patterns = Value::str_list(["src/**", "docs/*.md"]);
        let changed =
            |files: &[&str]| params(&[("files_changed", Value::str_list(files.iter().copied()))]);
        let skip = SkipUnlessChanged;
        assert!(
            skip.should_remove(&task(), &changed(&["README"]), &patterns)
                .unwrap()
        );
        assert!(
            !skip
                .should_remove(&task(), &changed(&["src/a/b.rs"]), &patterns)
                .unwrap()
        );
        assert!(
            !skip
                .should_remove(&task(), &changed(&["docs/x.md"]), &patterns)
                .unwrap()
        );

        // Same base and head revision: nothing is removed.
        let same = params(&[
            ("files_changed", Value::List(vec![])),
            ("base_rev", Value::from("abc")),
            ("head_rev", Value::from("abc")),
        ]);
        assert!(!skip.should_remove(&task(), &same, &patterns).unwrap());
    }

    #[test]
    fn index_search_takes_the_first_usable_task() {
        let index: BTreeMap<String, String> = [
            ("p.failed", "F"),
            ("p.old", "O"),
            ("p.good", "G"),
            ("p.later", "L"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let statuses = statuses(&[
            ("F", "failed", "2030-01-01T00:00:00.000Z"),
            ("O", "completed", "2026-01-01T00:00:00.000Z"),
            ("G", "running", "2030-01-01T00:00:00.000Z"),
            ("L", "completed", "2030-01-01T00:00:00.000Z"),
        ]);
        let mut context = ReplaceContext {
            deadline: Some(parse_json_time("2027-01-01T00:00:00.000Z").unwrap()),
            index: &index,
            statuses: &statuses,
            attempts: Vec::new(),
        };
        let arg = Value::str_list(["p.missing", "p.failed", "p.old", "p.good", "p.later"]);
        let answer = IndexSearch
            .should_replace(&task(), &params(&[]), &arg, &mut context)
            .unwrap();
        assert_eq!(answer, Replacement::With("G".to_owned()));
        let answers: Vec<&IndexAnswer> = context.attempts.iter().map(|a| &a.answer).collect();
        assert!(matches!(answers[0], IndexAnswer::NotFound));
        assert!(matches!(answers[1], IndexAnswer::Failed { .. }));
        assert!(matches!(answers[2], IndexAnswer::ExpiresTooSoon { .. }));
        assert!(matches!(answers[3], IndexAnswer::Used { .. }));
        assert_eq!(
            answers.len(),
            4,
            "the search stops at the first usable task"
        );
    }

    #[test]
    fn composites_combine_as_the_reference_does() {
        let any = Composite {
            combine: Combine::Any,
            strategies: vec![Arc::new(Never), Arc::new(Always)],
        };
        let all = Composite {
            combine: Combine::All,
            strategies: vec![Arc::new(Never), Arc::new(Always)],
        };
        let not = Composite {
            combine: Combine::Not,
            strategies: vec![Arc::new(Always)],
        };
        let p = params(&[]);
        assert!(any.should_remove(&task(), &p, &Value::Null).unwrap());
        assert!(!all.should_remove(&task(), &p, &Value::Null).unwrap());
        assert!(!not.should_remove(&task(), &p, &Value::Null).unwrap());
        assert_eq!(any.description(), "never-or-always");
        assert_eq!(all.description(), "never-and-always");
        assert_eq!(not.description(), "not-always");
    }
}
