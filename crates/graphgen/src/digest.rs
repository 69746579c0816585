//! `graphgen digest LABEL`: what a cached task's digest is made of, and,
//! against the artifacts of an earlier run, what changed and where the
//! change started.

use std::path::{Path, PathBuf};

use clap::Args;
use taskgraph::digest::{self, DigestRecord};
use taskgraph::error::closest_names;
use taskgraph::generator::{Phase, generate};
use taskgraph::{Error, ErrorKind};

use crate::cli::{self, Cli, write_stdout};

/// Options of `graphgen digest`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    /// The label of a cached task.
    pub label: String,

    /// The artifacts directory of an earlier run: print only what changed
    /// since then, and which upstream task the change started in.
    #[arg(long, value_name = "DIR")]
    pub against: Option<PathBuf>,

    /// Print the record as JSON.
    #[arg(long, short = 'J')]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &DigestArgs) -> Result<(), Error> {
    let generation = generate(&cli::registry()?, &cli::options(cli)?, Phase::FullTaskSet)?;
    let records = digest::collect(generation.full_task_set.tasks.values());
    let record = find(&records, &generation, &args.label)?;

    let out = match &args.against {
        None if args.json => to_json(record)?,
        None => record.render(),
        Some(dir) => against(record, &records, dir)?,
    };
    write_stdout(out.trim_end())
}

/// The record of `label`, or an error saying why there is none.
fn find<'a>(
    records: &'a std::collections::BTreeMap<String, DigestRecord>,
    generation: &taskgraph::generator::Generation,
    label: &str,
) -> Result<&'a DigestRecord, Error> {
    if let Some(record) = records.get(label) {
        return Ok(record);
    }
    let tasks = &generation.full_task_set.tasks;
    let message = if tasks.contains_key(label) {
        format!("task `{label}` is not cached: it has no digest")
    } else {
        let close = closest_names(label, tasks.keys().map(String::as_str));
        let hint = if close.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", close.join(", "))
        };
        format!("there is no task `{label}`{hint}")
    };
    Err(Error::new(ErrorKind::Transform(message)))
}

fn to_json(record: &DigestRecord) -> Result<String, Error> {
    serde_json::to_string_pretty(record).map_err(|e| Error::new(ErrorKind::Json(e.to_string())))
}

/// What changed since the run whose artifacts are in `dir`.
fn against(
    record: &DigestRecord,
    records: &std::collections::BTreeMap<String, DigestRecord>,
    dir: &Path,
) -> Result<String, Error> {
    let earlier = digest::read_artifact(&dir.join(digest::ARTIFACT_NAME))?;
    let Some(before) = earlier.get(&record.label) else {
        return Ok(format!(
            "{} was not a cached task in the earlier run\n{}",
            record.label,
            record.render()
        ));
    };
    let Some(change) = digest::compare(&record.label, records, &earlier) else {
        return Ok(format!(
            "{}: digest unchanged ({})",
            record.label, before.digest
        ));
    };

    // Then what changed in each task where the change started.
    let mut out = change.render();
    for cause in change.causes.iter().filter(|c| **c != record.label) {
        out.push('\n');
        match digest::compare(cause, records, &earlier) {
            Some(upstream) => out.push_str(&upstream.render()),
            None => out.push_str(&format!("{cause} is new since the earlier run\n")),
        }
    }
    Ok(out)
}
