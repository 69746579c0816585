//! What a training run will do, told before anything is submitted: which
//! tasks run, which are reused from earlier task groups, which are expected
//! from the cache, and which must be rebuilt because what would have
//! replaced them has expired.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
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
    /// Tasks of the target graph that nothing needs.
    pub removed: usize,
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

/// `label (verb task id)` lines.
fn pairs(map: &BTreeMap<String, String>, verb: &str) -> Vec<String> {
    map.iter()
        .map(|(label, task_id)| format!("{label} ({verb} {task_id})"))
        .collect()
}
