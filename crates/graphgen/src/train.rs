//! `graphgen train`: a training run from a laptop (or a decision task),
//! the way the pipeline's `train` action starts one, with a look at the
//! plan before anything is sent.
//!
//! 1. Before any work: where the graph would go (root URL, credentials)
//!    and whether there is a terminal to confirm on, unless `--dry-run` or
//!    `--yes` says otherwise.
//! 2. The training configuration is read (YAML 1.1, as the reference reads
//!    it), the command line's `--target-stage`, `--previous-group-ids` and
//!    `--start-task-prefix` replace its keys, and it is checked against the
//!    action's input schema: every problem, each with its path.
//! 3. The restart keys come out of it. Earlier task groups give the
//!    existing tasks; `existing_tasks` in the config wins over them.
//! 4. The graph is generated as the action generates it: the
//!    `train-target-tasks` method, target tasks optimized, `tasks_for:
//!    action`, the config as `training_config`.
//! 5. The config and the plan are shown; the artifacts, the plan and the
//!    submission are written to the output directory.
//! 6. After confirmation, the tasks are created and the task group's URL
//!    is printed on stdout.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Args;
use taskgraph::config::GraphConfig;
use taskgraph::generator::{Generation, Phase, generate};
use taskgraph::optimize::ids::TaskIds;
use taskgraph::optimize::previous::Reuse;
use taskgraph::{Error, ErrorKind, Map, Value, yaml};

use crate::artifacts::{self, Staged};
use crate::cli::{self, Cli};
use crate::plan::{PLAN_ARTIFACT, Plan};
use crate::submit::{
    self, DEFAULT_CONCURRENCY, Deployment, Destination, SUBMISSION_ARTIFACT, Submission,
};

/// `graphgen train`'s own options. `--root`, `--params`,
/// `--previous-group-ids`, `--start-task-prefix`, `--index`,
/// `--task-groups` and `--output-dir` are the global ones.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The training configuration (YAML), as the train action takes it.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// Run up to this stage (replaces the config's `target-stage`).
    #[arg(long, value_name = "STAGE")]
    pub target_stage: Option<String>,

    /// Submit without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Generate and write everything that would be sent (submission.json,
    /// plan.json, the decision artifacts), and send nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// At most this many createTask requests at once.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY, value_name = "N")]
    pub concurrency: usize,
}

/// `graphgen submit`'s options.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// A directory holding submission.json, as `graphgen train` (with or
    /// without --dry-run) writes it.
    #[arg(value_name = "DIR", default_value = "artifacts")]
    pub dir: PathBuf,

    /// Submit without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// At most this many createTask requests at once.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY, value_name = "N")]
    pub concurrency: usize,
}

/// `graphgen train`.
pub fn run(cli: &Cli, args: &TrainArgs) -> Result<(), Error> {
    // 1. What can be refused before any work.
    let deployment = if args.dry_run {
        None
    } else {
        ensure_can_confirm(args.yes)?;
        Some(Deployment::from_environment()?)
    };

    // 2. The configuration, checked.
    let mut config = read_config(&args.config)?;
    apply_command_line(&mut config, cli, args);
    let working_dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let graph_config = GraphConfig::load(Path::new(&cli.root), &working_dir)?;
    translations::action::check_train_input(&config, &graph_config, &args.config)?;
    let shown_config = yaml::safe_dump(&config)?;

    // 3. Restart: earlier task groups and pinned tasks.
    let restart = Restart::take_from(&mut config);
    let reuse = restart.reuse(cli)?;

    // 4. The graph, as the action makes it. Inside a decision task, the
    // group is the decision task's own; elsewhere there is no task the
    // graph could hang from, and the group gets a fresh id.
    let decision_task_id = match &deployment {
        Some(deployment) => deployment.task_id.clone(),
        None => std::env::var("TASK_ID").ok().filter(|id| !id.is_empty()),
    };
    let task_group_id = decision_task_id.clone().unwrap_or_else(slugid::nice);
    let options = generate_options(cli, config, &restart, reuse.as_ref(), &task_group_id)?;
    let generation = generate(&cli::registry()?, &options, Phase::Morphed)?;

    // 5. The plan, and everything that would be sent.
    // A dry run needs no deployment, but links to one when it is named.
    let root_url = match &deployment {
        Some(deployment) => deployment.root_url.clone(),
        None => match std::env::var("TASKCLUSTER_ROOT_URL") {
            Ok(url) if !url.trim().is_empty() => {
                submit::checked_root_url(&url, "TASKCLUSTER_ROOT_URL")?
            }
            _ => String::new(),
        },
    };
    let destination = destination(&generation, root_url, task_group_id, decision_task_id);
    let plan = Plan::of(&generation, reuse.as_ref());
    let morphed = generation
        .morphed
        .as_ref()
        .ok_or_else(|| usage_error("generation stopped before the morphed graph"))?;
    let submission = Submission::prepare(morphed, &destination, Utc::now())?;
    write_outputs(cli, &generation, reuse.as_ref(), &plan, &submission)?;
    show(&args.config, &shown_config, &plan, &submission);

    let Some(deployment) = deployment else {
        say(&format!(
            "dry run: nothing was sent; the {} createTask requests are in {}",
            submission.tasks.len(),
            cli.output_dir.join(SUBMISSION_ARTIFACT).display()
        ));
        std::mem::forget(generation);
        return Ok(());
    };

    // 6. Confirm, then send. Datestamps count from the moment of sending,
    // not from when the graph was made, so the submission is made again
    // (with the same task ids) and written over the dry one.
    if !args.yes && !confirm(&submission, &deployment)? {
        return Err(usage_error("not submitted: nothing was sent"));
    }
    let submission = Submission::prepare(morphed, &destination, Utc::now())?;
    write_submission(&cli.output_dir, &submission)?;
    std::mem::forget(generation);
    send(
        &submission,
        &deployment,
        args.concurrency,
        &cli.output_dir,
        false,
    )
}

/// `graphgen submit DIR`: sends a submission written earlier, as it is.
/// Tasks the queue already holds with the same definition are not created
/// again, so this also finishes a submission that failed halfway.
pub fn resubmit(args: &SubmitArgs) -> Result<(), Error> {
    ensure_can_confirm(args.yes)?;
    let deployment = Deployment::from_environment()?;
    let mut submission = Submission::load(&args.dir.join(SUBMISSION_ARTIFACT))?;
    if !submission.root_url.is_empty() && submission.root_url != deployment.root_url {
        return Err(usage_error(&format!(
            "{} was made for {}, but TASKCLUSTER_ROOT_URL is {}",
            args.dir.join(SUBMISSION_ARTIFACT).display(),
            submission.root_url,
            deployment.root_url
        )));
    }
    submission.root_url = deployment.root_url.clone();
    say(&format!(
        "{} tasks for task group {} (datestamps resolved at {})",
        submission.tasks.len(),
        submission.task_group_id,
        submission.resolved_at
    ));
    if !args.yes && !confirm(&submission, &deployment)? {
        return Err(usage_error("not submitted: nothing was sent"));
    }
    send(&submission, &deployment, args.concurrency, &args.dir, true)
}

/// Refuses to start when confirmation will be needed and cannot be asked.
fn ensure_can_confirm(yes: bool) -> Result<(), Error> {
    if yes || std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(usage_error(
        "there is no terminal to confirm the submission on: pass --yes to submit without asking, or --dry-run to see what would be sent",
    ))
}

/// Reads the training configuration: a YAML mapping.
fn read_config(path: &Path) -> Result<Value, Error> {
    let config = yaml::load_file(path)?;
    if config.as_map().is_none() {
        return Err(Error::params(format!(
            "a training configuration is a mapping of keys (target-stage, experiment,              datasets, ...), not {}",
            taskgraph::python::object_type_name(&config)
        ))
        .with_file(path));
    }
    Ok(config)
}

/// The command line's restart options and target stage replace the
/// config's own.
fn apply_command_line(config: &mut Value, cli: &Cli, args: &TrainArgs) {
    let Some(map) = config.as_map_mut() else {
        return;
    };
    if let Some(stage) = &args.target_stage {
        map.insert("target-stage", Value::from(stage.as_str()));
    }
    if !cli.previous_group_ids.is_empty() {
        map.insert(
            "previous-group-ids",
            Value::str_list(cli.previous_group_ids.iter().cloned()),
        );
    }
    if let Some(prefix) = &cli.start_task_prefix {
        map.insert("start-task-prefix", Value::from(prefix.as_str()));
    }
}

/// The keys the action takes out of its input before the rest becomes the
/// `training_config` parameter.
#[derive(Debug, Default)]
struct Restart {
    previous_group_ids: Vec<String>,
    start_task_prefix: Option<String>,
    /// `existing_tasks` of the config: label → task id.
    pinned: Option<Map>,
}

impl Restart {
    fn take_from(config: &mut Value) -> Restart {
        let Some(map) = config.as_map_mut() else {
            return Restart::default();
        };
        let strings = |value: Option<Value>| -> Vec<String> {
            value
                .and_then(|v| v.as_list().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        Restart {
            previous_group_ids: strings(map.shift_remove("previous-group-ids")),
            // An empty prefix restarts nothing, as in the action.
            start_task_prefix: map
                .shift_remove("start-task-prefix")
                .and_then(|v| v.as_str().map(str::to_owned))
                .filter(|prefix| !prefix.is_empty()),
            pinned: map
                .shift_remove("existing_tasks")
                .and_then(|v| v.as_map().cloned()),
        }
    }

    /// Reads the earlier task groups, when there are some.
    fn reuse(&self, cli: &Cli) -> Result<Option<Reuse>, Error> {
        if self.previous_group_ids.is_empty() {
            return Ok(None);
        }
        let reuse = cli::read_previous_groups(
            cli,
            &self.previous_group_ids,
            self.start_task_prefix.as_deref(),
            Utc::now(),
        )?;
        Ok(Some(reuse))
    }
}

/// The generation the action runs, over the base parameters.
fn generate_options(
    cli: &Cli,
    config: Value,
    restart: &Restart,
    reuse: Option<&Reuse>,
    task_group_id: &str,
) -> Result<taskgraph::generator::GenerateOptions, Error> {
    let mut options =
        taskgraph::generator::GenerateOptions::new(cli.root.clone(), cli.params.clone());
    options.strict = cli.strict;
    // Cached tasks are looked up in the deployment's index unless told
    // otherwise: the plan is only right with it.
    options.index = cli::index_source(cli.index.as_deref().unwrap_or("taskcluster"))?;
    if let Some(seed) = &cli.task_id_seed {
        options.task_ids = TaskIds::Seeded(seed.clone());
    }
    options.decision_task_id = Some(task_group_id.to_owned());

    let mut overrides = Map::from_iter([
        (
            "target-kinds",
            Value::str_list(cli.target_kinds.iter().cloned()),
        ),
        ("target_tasks_method", Value::from("train-target-tasks")),
        ("optimize_target_tasks", Value::Bool(true)),
        ("tasks_for", Value::from("action")),
        (translations::params::TRAINING_CONFIG, config),
    ]);
    let pinned = restart.pinned.clone().unwrap_or_default();
    match reuse {
        // The earlier groups' tasks replace the parameters' existing tasks;
        // the config's pinned tasks win over both.
        Some(reuse) => {
            options.reused_tasks = reuse.existing_tasks.clone();
            options.existing_expires = reuse.expires.clone();
            overrides.insert("existing_tasks", Value::Map(pinned));
        }
        None if !pinned.is_empty() => {
            let mut existing = base_existing_tasks(cli)?;
            for (label, task_id) in pinned.iter() {
                existing.insert(label, task_id.clone());
            }
            overrides.insert("existing_tasks", Value::Map(existing));
        }
        None => {}
    }
    options.overrides = overrides;
    Ok(options)
}

/// The `existing_tasks` of the base parameters file, if it has any.
fn base_existing_tasks(cli: &Cli) -> Result<Map, Error> {
    let Some(path) = &cli.params else {
        return Ok(Map::default());
    };
    let values = taskgraph::params::Parameters::read_values(path)?;
    Ok(values
        .get("existing_tasks")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default())
}

/// Where the graph goes: the group, and the scheduler id the reference
/// gives it (`<trust-domain>-level-<level>`).
fn destination(
    generation: &Generation,
    root_url: String,
    task_group_id: String,
    decision_task_id: Option<String>,
) -> Destination {
    let trust_domain = generation
        .graph_config
        .get("trust-domain")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let scheduler_id = format!("{trust_domain}-level-{}", generation.parameters.level());
    Destination {
        root_url,
        task_group_id,
        scheduler_id,
        decision_task_id,
    }
}

/// Writes the decision artifacts, previous-groups.json, plan.json and
/// submission.json, all or none.
fn write_outputs(
    cli: &Cli,
    generation: &Generation,
    reuse: Option<&Reuse>,
    plan: &Plan,
    submission: &Submission,
) -> Result<(), Error> {
    let dir = &cli.output_dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut staged = Staged::new(dir);
    artifacts::write_artifacts(generation, &mut staged)?;
    if let Some(reuse) = reuse {
        artifacts::write_reuse(reuse, &mut staged)?;
    }
    staged.write_text(PLAN_ARTIFACT, &to_pretty_json(plan)?)?;
    staged.write_text(SUBMISSION_ARTIFACT, &submission.to_json()?)?;
    staged.commit()
}

fn write_submission(dir: &Path, submission: &Submission) -> Result<(), Error> {
    let mut staged = Staged::new(dir);
    staged.write_text(SUBMISSION_ARTIFACT, &submission.to_json()?)?;
    staged.commit()
}

fn to_pretty_json(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error::new(ErrorKind::Json(e.to_string())))
}

/// The config and the plan, on stderr.
fn show(config_path: &Path, config: &str, plan: &Plan, submission: &Submission) {
    let mut text = format!("training configuration ({}):\n", config_path.display());
    for line in config.lines() {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&plan.describe());
    let dangling = submission.dangling_decision_references();
    if !dangling.is_empty() {
        let mut names = dangling[..dangling.len().min(5)].join(", ");
        if dangling.len() > 5 {
            names.push_str(&format!(" and {} more", dangling.len() - 5));
        }
        text.push_str(&format!(
            "warning: {} tasks use the decision task's artifacts ({names}); outside a decision \
             task there are none, so run `graphgen train` inside one (TASK_ID set) for them to \
             find what they need\n",
            dangling.len()
        ));
    }
    // The queue's own default limit, which deployments may raise.
    let limit = chrono::TimeDelta::days(5);
    if let Some(longest) = submission.longest_deadline().filter(|d| *d > limit) {
        text.push_str(&format!(
            "note: deadlines lie up to {} days after creation; a queue refuses more than 5 unless \
             its deployment raises maxTaskDeadlineDays\n",
            longest.num_days()
        ));
    }
    text.push_str(&format!(
        "task group {} (scheduler {}), {} createTask requests",
        submission.task_group_id,
        submission.scheduler_id,
        submission.tasks.len()
    ));
    say(&text);
}

/// Asks on the terminal; only "y" or "yes" submits.
fn confirm(submission: &Submission, deployment: &Deployment) -> Result<bool, Error> {
    let who = deployment.client_id().map_or_else(
        || "the task's credentials".to_owned(),
        |id| format!("client `{id}`"),
    );
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "submit {} tasks to {} as {who}? [y/N] ",
        submission.tasks.len(),
        deployment.root_url
    );
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io(Path::new("<stdin>"), e))?;
    Ok(is_yes(&answer))
}

/// Whether an answer to the prompt says to go ahead: "y" or "yes", in any
/// case; anything else, an empty line included, says no.
fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Creates the tasks and reports: the group's URL on stdout when every
/// task was created, every failure otherwise. `again` says the submission
/// may have been sent before, in which case the queue's answers do not
/// tell a task created now from one it already held.
fn send(
    submission: &Submission,
    deployment: &Deployment,
    concurrency: usize,
    dir: &Path,
    again: bool,
) -> Result<(), Error> {
    let total = submission.tasks.len();
    let step = (total / 10).max(1);
    let outcome = submit::submit(submission, deployment, concurrency, |created, total| {
        if created % step == 0 || created == total {
            say(&format!("{created}/{total} tasks in the queue"));
        }
    })?;
    let url = submission.task_group_url();
    if outcome.is_complete() {
        let how = if again {
            "are in task group (created now, or already there unchanged)"
        } else {
            "created in task group"
        };
        say(&format!(
            "{} tasks {how} {}",
            outcome.created.len(),
            submission.task_group_id
        ));
        cli::write_stdout(&url)?;
        return Ok(());
    }

    let mut message = format!(
        "{} of {total} tasks were not created, and {} tasks that depend on them were not attempted (task group {url}):",
        outcome.failed.len(),
        outcome.not_attempted.len()
    );
    for failure in &outcome.failed {
        message.push_str(&format!(
            "\n  - {} ({}): {}",
            failure.label, failure.task_id, failure.message
        ));
    }
    for skipped in &outcome.not_attempted {
        let because = skipped
            .because_of
            .as_deref()
            .map_or_else(String::new, |label| format!(", waits for {label}"));
        message.push_str(&format!(
            "\n  - not attempted: {} ({}{because})",
            skipped.label, skipped.task_id
        ));
    }
    message.push_str(&format!(
        "\nSend the rest with `graphgen submit {}`: the tasks already created are not created \
         again.",
        dir.display()
    ));
    Err(crate::lookup::lookup_error(message))
}

fn usage_error(message: &str) -> Error {
    Error::new(ErrorKind::Usage(message.to_owned()))
}

/// A message for the person at the terminal.
#[expect(clippy::print_stderr, reason = "messages for humans go to stderr")]
fn say(text: &str) {
    eprintln!("{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_submits() {
        for answer in ["y\n", "Y", " yes ", "YES\r\n"] {
            assert!(is_yes(answer), "{answer:?}");
        }
        for answer in ["", "\n", "n", "no", "yep", "y es"] {
            assert!(!is_yes(answer), "{answer:?}");
        }
    }

    #[test]
    fn the_restart_keys_leave_the_config() {
        let mut config = yaml::load_str(
            "target-stage: all\nprevious-group-ids: [a, b]\nstart-task-prefix: ''\n\
             existing_tasks: {vocab-en-lt: abc}\n",
            None,
        )
        .unwrap();
        let restart = Restart::take_from(&mut config);
        assert_eq!(restart.previous_group_ids, ["a", "b"]);
        // An empty prefix restarts nothing.
        assert_eq!(restart.start_task_prefix, None);
        assert_eq!(
            restart.pinned.unwrap().get("vocab-en-lt"),
            Some(&Value::from("abc"))
        );
        let keys: Vec<&str> = config.as_map().unwrap().keys().collect();
        assert_eq!(keys, ["target-stage"]);
    }
}
