//! `fake-taskcluster`: the fake queue and index, for running by hand.
//!
//! Prints the root URL on stdout, logs each request to stderr, and serves
//! until killed. `--seed FILE` loads tasks and index entries first:
//!
//! ```json
//! {"tasks": [{"taskId": "...", "state": "completed", "task": {...}}],
//!  "index": {"index.path": "taskId"}}
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use fake_taskcluster::{FakeTaskcluster, RecordedRequest, Route, TASK_STATES};
use serde_json::Value;

/// How long seeded index entries last: longer than anyone runs this by hand.
const INDEX_EXPIRES: &str = "2999-01-01T00:00:00.000Z";

#[derive(Debug, Parser)]
#[command(version, about = "A loopback Taskcluster queue and index, for tests")]
struct Args {
    /// The port to listen on, on 127.0.0.1 (0: any free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Require every request to be signed by this client.
    #[arg(long, requires = "access_token")]
    client_id: Option<String>,
    /// The access token of --client-id.
    #[arg(long, requires = "client_id")]
    access_token: Option<String>,
    /// The most entries a page of a listing holds.
    #[arg(long, default_value_t = 1000)]
    page_size: usize,
    /// How many days ahead a task's deadline may lie (the queue's
    /// `maxTaskDeadlineDays`).
    #[arg(long, default_value_t = 5)]
    max_deadline_days: u32,
    /// With --client-id: serve the index and status lookups unsigned too,
    /// as a deployment whose anonymous role grants them does.
    #[arg(long)]
    anonymous_lookups: bool,
    /// Tasks and index entries to start with (JSON).
    #[arg(long)]
    seed: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "fake-taskcluster: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut builder = FakeTaskcluster::builder()
        .port(args.port)
        .page_size(args.page_size)
        .max_deadline_days(args.max_deadline_days)
        .on_request(log);
    if args.anonymous_lookups {
        builder = builder.anonymous(&[Route::FindTasksAtIndex, Route::FindTask, Route::Statuses]);
    }
    if let (Some(client_id), Some(access_token)) = (&args.client_id, &args.access_token) {
        builder = builder.credentials(client_id, access_token);
    }
    let fake = builder
        .try_start()
        .with_context(|| format!("cannot listen on port {}", args.port))?;
    if let Some(seed) = &args.seed {
        load_seed(&fake, seed).with_context(|| format!("cannot seed from `{}`", seed.display()))?;
    }

    print_root_url(&fake.root_url());
    // The server runs on its own threads; this one only keeps the
    // process alive until it is killed.
    loop {
        std::thread::park();
    }
}

#[expect(clippy::print_stdout, reason = "the root URL is this program's output")]
fn print_root_url(url: &str) {
    println!("{url}");
}

fn log(request: &RecordedRequest) {
    let target = match &request.query {
        Some(query) => format!("{}?{query}", request.path),
        None => request.path.clone(),
    };
    let outcome = request
        .status
        .map_or_else(|| "no answer".to_owned(), |status| status.to_string());
    let fault = request
        .fault
        .map(|fault| format!(" (fault: {fault:?})"))
        .unwrap_or_default();
    let _ = writeln!(
        std::io::stderr(),
        "{} {target} -> {outcome}{fault}",
        request.method
    );
}

fn load_seed(fake: &FakeTaskcluster, path: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let seed: Value = serde_json::from_str(&text)?;

    let tasks = seed.get("tasks").and_then(Value::as_array);
    for (n, entry) in tasks.into_iter().flatten().enumerate() {
        let task_id = entry.get("taskId").and_then(Value::as_str);
        let state = entry
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("completed");
        let Some(task_id) = task_id else {
            bail!("`tasks[{n}]` has no `taskId`");
        };
        if !TASK_STATES.contains(&state) {
            bail!("`tasks[{n}].state` is `{state}`, not one of {TASK_STATES:?}");
        }
        let Some(task @ Value::Object(_)) = entry.get("task") else {
            bail!("`tasks[{n}].task` is no object");
        };
        if !fake_taskcluster::queue::is_slugid(task_id) {
            bail!("`tasks[{n}].taskId` `{task_id}` is no slugid");
        }
        fake.insert_task(task_id, task.clone(), state);
    }

    let index = seed.get("index").and_then(Value::as_object);
    for (index_path, task_id) in index.into_iter().flatten() {
        let Some(task_id) = task_id.as_str() else {
            bail!("`index.{index_path}` is no task id");
        };
        fake.index(index_path, task_id, INDEX_EXPIRES);
    }
    Ok(())
}
