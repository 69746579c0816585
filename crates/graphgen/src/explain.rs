//! `graphgen explain LABEL...`: why each task is in the target graph (or
//! not), and what the optimizer did with it.

use clap::Args;
use serde::Serialize;
use taskgraph::explain::{Explanation, explain};
use taskgraph::generator::{Phase, generate};
use taskgraph::optimize::previous::Reuse;
use taskgraph::{Error, ErrorKind};

use crate::cli::{self, Cli, write_stdout};

/// Options of `graphgen explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The labels of the tasks to explain.
    #[arg(required = true, value_name = "LABEL")]
    pub labels: Vec<String>,

    /// Print a JSON array with one explanation per label.
    #[arg(long, short = 'J')]
    pub json: bool,
}

/// One label's explanation, with what the earlier task groups said about
/// it.
#[derive(Debug, Serialize)]
struct Answer {
    #[serde(flatten)]
    explanation: Explanation,
    #[serde(rename = "previous-groups", skip_serializing_if = "Option::is_none")]
    previous_groups: Option<NotReused>,
}

/// A task of an earlier group that was not reused.
#[derive(Debug, Serialize)]
struct NotReused {
    task_id: String,
    reason: NotReusedReason,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
enum NotReusedReason {
    Expired,
    /// It, or a task it depends on, matches `--start-task-prefix`.
    StartTaskPrefix,
}

pub fn run(cli: &Cli, args: &ExplainArgs) -> Result<(), Error> {
    let prepared = cli::prepare(cli)?;
    let mut options = prepared.options;
    options.trace_targets = true;
    let generation = generate(&cli::registry()?, &options, Phase::Optimized)?;

    let mut answers = Vec::with_capacity(args.labels.len());
    for label in &args.labels {
        answers.push(Answer {
            explanation: explain(&generation, label)?,
            previous_groups: prepared
                .reuse
                .as_ref()
                .and_then(|reuse| not_reused(reuse, label)),
        });
    }

    let out = if args.json {
        serde_json::to_string_pretty(&answers)
            .map_err(|e| Error::new(ErrorKind::Json(e.to_string())))?
    } else {
        answers.iter().map(render).collect::<Vec<_>>().join("\n")
    };
    write_stdout(out.trim_end())?;
    std::mem::forget(generation);
    Ok(())
}

fn not_reused(reuse: &Reuse, label: &str) -> Option<NotReused> {
    if let Some(task_id) = reuse.expired.get(label) {
        return Some(NotReused {
            task_id: task_id.clone(),
            reason: NotReusedReason::Expired,
        });
    }
    reuse.rerun.get(label).map(|task_id| NotReused {
        task_id: task_id.clone(),
        reason: NotReusedReason::StartTaskPrefix,
    })
}

fn render(answer: &Answer) -> String {
    let mut text = answer.explanation.to_string();
    if let Some(not_reused) = &answer.previous_groups {
        let why = match not_reused.reason {
            NotReusedReason::Expired => "it has expired",
            NotReusedReason::StartTaskPrefix => {
                "--start-task-prefix matches it or a task it depends on"
            }
        };
        text.push_str(&format!(
            "  previous groups: task {} not reused: {why}\n",
            not_reused.task_id
        ));
    }
    text
}
