//! What a training run will do, told before anything is submitted: which
//! tasks run, which are reused from earlier task groups, which are expected
//! from the cache, and which must be rebuilt because what would have
//! replaced them has expired.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use taskgraph::Value;
use taskgraph::generator::Generation;
use taskgraph::optimize::previous::Reuse;
use taskgraph::optimize::{KeepReason, ReplacedBy, Verdict};

/// The plan's artifact, in the output directory.
pub const PLAN_ARTIFACT: &str = "plan.json";

/// How many labels of each part are listed on the terminal; plan.json has
/// them all.
const LISTED: usize = 15;

/// The parts of a plan, each by label.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    /// Tasks to create (task ids of this submission).
    pub run: BTreeMap<String, String>,
    /// Tasks replaced by a completed task of an earlier group, or pinned
    /// by `existing_tasks` (label → the task reused).
    pub reused: BTreeMap<String, String>,
    /// Tasks whose cache digest is indexed: the indexed task stands in.
    pub cached: BTreeMap<String, String>,
    /// Tasks that run again although an earlier task existed, because it
    /// has expired or expires before a dependent's deadline (label → the
    /// expired task).
    pub expired: BTreeMap<String, String>,
    /// Tasks that run again because `start-task-prefix` picked them or a
    /// task they depend on.
    pub restarted: Vec<String>,
    /// Reused tasks whose cache digest differs from this run's: they were
    /// built from other inputs (commands, files, parameters), so their
    /// artifacts may not be what this run would make.
    pub changed: BTreeMap<String, ChangedInputs>,
    /// Tasks of the target graph that nothing needs.
    pub removed: usize,
}

/// A reused task built from other inputs than this run's.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ChangedInputs {
    pub task_id: String,
    /// The digest the reused task was built with.
    pub built_with: String,
    /// The digest this run computes for it.
    pub now: String,
}

impl Plan {
    /// The plan of a generation that reached the morphed graph.
    pub fn of(generation: &Generation, reuse: Option<&Reuse>) -> Plan {
        let mut plan = Plan::default();
        if let Some(morphed) = &generation.morphed {
            for (task_id, task) in &morphed.tasks {
                plan.run.insert(task.label.clone(), task_id.clone());
            }
        }
        let Some(optimized) = &generation.optimized else {
            return plan;
        };

        for (label, decision) in &optimized.decisions {
            match &decision.verdict {
                Verdict::Replaced {
                    task_id,
                    by: ReplacedBy::ExistingTasks,
                } => {
                    plan.reused.insert(label.clone(), task_id.clone());
                }
                Verdict::Replaced { task_id, .. } => {
                    plan.cached.insert(label.clone(), task_id.clone());
                }
                Verdict::Kept {
                    reason: KeepReason::ExistingTaskExpires { task_id, .. },
                } => {
                    plan.expired.insert(label.clone(), task_id.clone());
                }
                Verdict::Removed { .. } => plan.removed += 1,
                Verdict::Kept { .. } => {}
            }
        }

        if let Some(reuse) = reuse {
            // Expired tasks never became existing tasks: they show up as
            // tasks that run.
            for (label, task_id) in &reuse.expired {
                if plan.run.contains_key(label) {
                    plan.expired.insert(label.clone(), task_id.clone());
                }
            }
            plan.restarted = reuse
                .rerun
                .keys()
                .filter(|label| plan.run.contains_key(*label))
                .cloned()
                .collect();
            plan.changed = changed_inputs(generation, reuse);
        }
        plan
    }

    /// Tasks that run for none of the reasons the plan lists.
    fn others(&self) -> usize {
        self.run
            .keys()
            .filter(|label| !self.expired.contains_key(*label))
            .filter(|label| self.restarted.binary_search(label).is_err())
            .count()
    }

    /// The plan for a terminal: counts, and the first labels of each part.
    pub fn describe(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "plan:");
        let _ = writeln!(text, "  {} tasks will run", self.run.len());
        let parts: [(&str, Vec<String>); 4] = [
            (
                "reused from earlier task groups",
                pairs(&self.reused, "reuses"),
            ),
            ("expected from the cache", pairs(&self.cached, "index has")),
            (
                "rebuilt because the earlier task expired",
                pairs(&self.expired, "expired"),
            ),
            (
                "run again after --start-task-prefix",
                self.restarted.clone(),
            ),
        ];
        for (title, lines) in parts {
            let _ = writeln!(text, "  {} {title}", lines.len());
            for line in lines.iter().take(LISTED) {
                let _ = writeln!(text, "      {line}");
            }
            if lines.len() > LISTED {
                let _ = writeln!(
                    text,
                    "      ... and {} more (see {PLAN_ARTIFACT})",
                    lines.len() - LISTED
                );
            }
        }
        if !self.changed.is_empty() {
            let _ = writeln!(
                text,
                "  warning: {} reused tasks were built from other inputs than this run's (their \
                 cache digest differs), so their artifacts may not match this configuration:",
                self.changed.len()
            );
            for (label, changed) in self.changed.iter().take(LISTED) {
                let _ = writeln!(
                    text,
                    "      {label} ({}, built with {:.12}, now {:.12})",
                    changed.task_id, changed.built_with, changed.now
                );
            }
            if self.changed.len() > LISTED {
                let _ = writeln!(
                    text,
                    "      ... and {} more (see {PLAN_ARTIFACT})",
                    self.changed.len() - LISTED
                );
            }
        }
        let others = self.others();
        if others > 0 {
            let _ = writeln!(
                text,
                "  {others} other tasks run: new ones, and those that depend on a task that runs"
            );
        }
        if self.removed > 0 {
            let _ = writeln!(
                text,
                "  {} tasks of the target graph are not needed",
                self.removed
            );
        }
        text
    }
}

/// The tasks replaced by an earlier group's task whose cache digest is
/// not this run's.
pub(crate) fn changed_inputs(
    generation: &Generation,
    reuse: &Reuse,
) -> BTreeMap<String, ChangedInputs> {
    let mut changed = BTreeMap::new();
    let Some(optimized) = &generation.optimized else {
        return changed;
    };
    let reused =
        optimized
            .decisions
            .iter()
            .filter_map(|(label, decision)| match &decision.verdict {
                Verdict::Replaced {
                    task_id,
                    by: ReplacedBy::ExistingTasks,
                } => Some((label, task_id)),
                _ => None,
            });
    for (label, task_id) in reused {
        let Some(built_with) = reuse.digests.get(task_id) else {
            continue;
        };
        let now = generation
            .full_task_set
            .tasks
            .get(label)
            .and_then(|task| task.attributes.get("cached_task"))
            .and_then(|cached| cached.get("digest"))
            .and_then(Value::as_str);
        if let Some(now) = now.filter(|now| now != built_with) {
            changed.insert(
                label.clone(),
                ChangedInputs {
                    task_id: task_id.clone(),
                    built_with: built_with.clone(),
                    now: now.to_owned(),
                },
            );
        }
    }
    changed
}

/// `label (verb task id)` lines.
fn pairs(map: &BTreeMap<String, String>, verb: &str) -> Vec<String> {
    map.iter()
        .map(|(label, task_id)| format!("{label} ({verb} {task_id})"))
        .collect()
}
