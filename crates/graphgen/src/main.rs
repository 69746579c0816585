//! `graphgen`: generate Taskcluster task graphs from a taskgraph project.
//!
//! `graphgen --params FILE` runs every phase and writes the decision
//! artifacts; `graphgen full|tasks|target|target-graph|optimized|morphed`
//! print one phase the way `taskgraph <phase>` does; `graphgen digest` and
//! `graphgen explain` say why a task is what it is. Data goes to stdout,
//! messages to stderr.

mod artifacts;
mod cli;
mod digest;
mod explain;
mod groups;
mod lookup;
mod plan;
mod submit;
mod train;
mod urls;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

// Generation builds and drops millions of small trees from two threads;
// mimalloc serves that about twice as fast as the system allocator and a
// little faster than jemalloc (see docs/benchmarks.md). It is built
// without transparent huge pages: they save page faults, but on a host
// whose free memory is fragmented the kernel compacts memory to make
// them, which held some runs up for a second.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);

    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: bool) {
    let level = if verbose { "debug" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRAPHGEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn run(cli: &Cli) -> Result<(), taskgraph::Error> {
    match &cli.command {
        Some(Command::Show(show)) => cli::show(cli, show),
        Some(Command::Digest(args)) => digest::run(cli, args),
        Some(Command::Explain(args)) => explain::run(cli, args),
        Some(Command::Train(args)) => train::run(cli, args),
        Some(Command::Submit(args)) => train::resubmit(args),
        None => artifacts::decision(cli),
    }
}

/// Prints an error on stderr, the one place messages for humans are made.
#[expect(clippy::print_stderr, reason = "the command line's error funnel")]
fn report(error: &taskgraph::Error) {
    let _ = std::io::stdout().flush();
    eprintln!("error: {error}");
}
