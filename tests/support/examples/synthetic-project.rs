//! Writes a synthetic taskgraph project (see `graphgen_suite::synthetic`):
//!
//! ```sh
//! cargo run --release --example synthetic-project -- \
//!     [--tasks N] [--kinds K] [--deps D] [--seed S] [--run-task-dir DIR] OUT_DIR
//! ```
//!
//! OUT_DIR becomes a committed git repository holding `taskcluster/` and
//! `params.yml`. Its `config.yml` points `graphgen.run-task-dir` at DIR
//! (default: this repository's `taskcluster/scripts/run-task`), written
//! relative to `config.yml` so the project can be moved along with the
//! repository.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use graphgen_suite::synthetic::{self, Spec};

const USAGE: &str = "usage: synthetic-project [--tasks N] [--kinds K] [--deps D] [--seed S] \
                     [--run-task-dir DIR] OUT_DIR";

#[derive(Debug)]
struct Args {
    spec: Spec,
    run_task_dir: PathBuf,
    out: PathBuf,
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{flag}: not a number: {value}"))
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut spec = Spec::default();
    let mut run_task_dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("taskcluster/scripts/run-task");
    let mut out = None;
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--tasks" => spec.tasks = number(&arg, argv.next())?,
            "--kinds" => spec.kinds = number(&arg, argv.next())?,
            "--deps" => spec.deps_per_task = number(&arg, argv.next())?,
            "--seed" => spec.seed = number(&arg, argv.next())?,
            "--run-task-dir" => {
                run_task_dir = argv.next().ok_or("--run-task-dir needs a value")?.into();
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}\n{USAGE}")),
            _ if out.is_none() => out = Some(PathBuf::from(arg)),
            _ => return Err(format!("one output directory only\n{USAGE}")),
        }
    }
    if spec.kinds == 0 {
        return Err("--kinds must be at least 1".to_owned());
    }
    let out = out.ok_or_else(|| USAGE.to_owned())?;
    Ok(Args {
        spec,
        run_task_dir,
        out,
    })
}

fn run(mut args: Args) -> Result<synthetic::Project, String> {
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    // config.yml sits one level below the output directory.
    let relative = synthetic::relative_path(&args.out, &args.run_task_dir).ok_or_else(|| {
        format!(
            "run-task directory not found: {}",
            args.run_task_dir.display()
        )
    })?;
    let dir = Path::new("..").join(relative);
    args.spec.run_task_dir = Some(dir.to_string_lossy().into_owned());
    synthetic::write(&args.spec, &args.out).map_err(|e| e.to_string())
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let outcome = parse(std::env::args().skip(1)).and_then(|args| {
        let out = args.out.clone();
        run(args).map(|project| (out, project))
    });
    match outcome {
        Ok((out, project)) => {
            println!(
                "{}: {} tasks, {} edges, {} not targeted",
                out.display(),
                project.tasks,
                project.edges,
                project.untargeted
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
