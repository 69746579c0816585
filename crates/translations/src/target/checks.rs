//! Checks a training configuration must pass before it is trained.
//!
//! The parameter schema only checks shapes. The pipeline's `train` action
//! refuses more before it builds a graph: a target stage that is not one of
//! the project's `valid-stages` (config.yml), a pretrained teacher ensemble
//! with a different number of URLs than `experiment.teacher-ensemble`, and
//! pretrained distillation corpora beside the datasets they would replace.
//! `train-target-tasks` runs the same checks, so a local run refuses what
//! the action would, with the path of the key at fault, instead of quietly
//! building an empty or wrong graph.

use taskgraph::config::GraphConfig;
use taskgraph::python::py_repr;
use taskgraph::{Error, Result, Value};

/// Runs every check on `config`, the `training_config` parameter.
pub fn check_training_config(config: &Value, graph_config: &GraphConfig) -> Result<()> {
    check_stage(config, graph_config, "target-stage", false)?;
    check_stage(config, graph_config, "start-task-prefix", true)?;
    check_teacher_ensemble(config)?;
    check_distillation_corpora(config)
}

/// `key`, when present, names one of the project's valid stages (or is
/// empty, where `empty_allowed`). Projects without `valid-stages` accept
/// any stage.
fn check_stage(
    config: &Value,
    graph_config: &GraphConfig,
    key: &str,
    empty_allowed: bool,
) -> Result<()> {
    let Some(valid) = graph_config.get("valid-stages").and_then(Value::as_list) else {
        return Ok(());
    };
    let Some(stage) = config.get(key) else {
        return Ok(());
    };
    let known = valid.contains(stage) || (empty_allowed && stage.as_str() == Some(""));
    if known {
        return Ok(());
    }

    let names: Vec<&str> = valid.iter().filter_map(Value::as_str).collect();
    Err(Error::params(format!(
        "{} is not a stage of this pipeline; config.yml's `valid-stages` are: {}",
        py_repr(stage),
        names.join(", ")
    ))
    .at_field(&format!("training_config.{key}")))
}

/// A pretrained teacher ensemble brings one model per teacher.
fn check_teacher_ensemble(config: &Value) -> Result<()> {
    let Some(teacher) = config
        .get("continuation")
        .and_then(|c| c.get("models"))
        .and_then(|m| m.get("teacher"))
        .filter(|t| t.is_truthy())
    else {
        return Ok(());
    };
    let urls = teacher
        .get("urls")
        .and_then(Value::as_list)
        .map_or(0, Vec::len);
    let ensemble = config
        .get("experiment")
        .and_then(|e| e.get("teacher-ensemble"));
    // Python's `==`: `2.0`, and `True` for one URL, equal the count.
    let count = Value::Int(urls as i64);
    if ensemble.is_some_and(|e| *e == count) {
        return Ok(());
    }

    let ensemble = ensemble.map_or_else(|| "None".to_owned(), py_repr);
    Err(Error::params(format!(
        "the pretrained teacher ensemble has {urls} model URL(s), but \
         `experiment.teacher-ensemble` is {ensemble}: give one URL per teacher"
    ))
    .at_field("training_config.continuation.models.teacher.urls"))
}

/// Pretrained distillation corpora replace the training and monolingual
/// datasets, so listing both is a mistake.
fn check_distillation_corpora(config: &Value) -> Result<()> {
    let distillation = config
        .get("continuation")
        .and_then(|c| c.get("corpora"))
        .and_then(|c| c.get("distillation"));
    if !distillation.is_some_and(Value::is_truthy) {
        return Ok(());
    }
    let datasets = config.get("datasets").and_then(Value::as_map);
    let replaced: Vec<&str> = ["train", "mono-src", "mono-trg"]
        .into_iter()
        .filter(|name| datasets.is_some_and(|d| d.contains_key(name)))
        .collect();
    if let Some(first) = replaced.first() {
        return Err(Error::params(format!(
            "`continuation.corpora.distillation` replaces the {} dataset(s); remove them \
             from `datasets`",
            replaced.join(", ")
        ))
        .at_field(&format!("training_config.datasets.{first}")));
    }

    // The distilled corpus was made with some vocabulary: training on it
    // needs that one.
    let has_vocab = config
        .get("continuation")
        .and_then(Value::as_map)
        .is_some_and(|c| c.contains_key("vocab"));
    if has_vocab {
        return Ok(());
    }
    Err(Error::params(
        "`continuation.corpora.distillation` needs the vocabulary it was made with: \
         give `continuation.vocab`",
    )
    .at_field("training_config.continuation.vocab"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use taskgraph::config::GraphConfig;
    use taskgraph::{Value, yaml};

    use super::check_training_config;

    const BASE_CONFIG: &str = "trust-domain: unit\ntask-priority: low\nworkers: {aliases: {}}\n\
                               taskgraph:\n  repositories: {unit: {name: Unit}}\n";

    fn graph_config_with(extra: &str) -> GraphConfig {
        let value = yaml::load_str(&format!("{BASE_CONFIG}{extra}"), None).unwrap();
        GraphConfig::from_value(value, &PathBuf::from("/unit/taskcluster"), "/unit".into()).unwrap()
    }

    fn graph_config() -> GraphConfig {
        graph_config_with("valid-stages: [clean-corpus, train-teacher, all-pipeline]\n")
    }

    fn config(text: &str) -> Value {
        yaml::load_str(text, None).unwrap()
    }

    const VALID: &str = "target-stage: train-teacher
experiment: {teacher-ensemble: 2}
datasets: {train: [opus_A], devtest: [flores_dev]}
continuation:
  models:
    teacher: {urls: ['https://a/1', 'https://a/2'], mode: use, type: default}
";

    fn refusal(text: &str) -> (String, String) {
        let err = check_training_config(&config(text), &graph_config()).unwrap_err();
        let field = err.location().field.clone().unwrap_or_default();
        (field, err.to_string())
    }

    #[test]
    fn a_valid_configuration_passes() {
        check_training_config(&config(VALID), &graph_config()).unwrap();
    }

    #[test]
    fn an_unknown_target_stage_lists_the_valid_ones() {
        let (field, message) = refusal(&VALID.replace("train-teacher\n", "train-teachers\n"));
        assert_eq!(field, "training_config.target-stage");
        assert!(
            message.contains("'train-teachers' is not a stage")
                && message.contains("clean-corpus, train-teacher, all-pipeline"),
            "{message}"
        );
    }

    #[test]
    fn start_task_prefix_may_be_empty_but_not_unknown() {
        let empty = format!("{VALID}start-task-prefix: ''\n");
        check_training_config(&config(&empty), &graph_config()).unwrap();
        let (field, _) = refusal(&format!("{VALID}start-task-prefix: nope\n"));
        assert_eq!(field, "training_config.start-task-prefix");
    }

    #[test]
    fn projects_without_valid_stages_accept_any_stage() {
        let bare = graph_config_with("");
        let text = VALID.replace("train-teacher\n", "anything\n");
        check_training_config(&config(&text), &bare).unwrap();
    }

    #[test]
    fn the_teacher_urls_must_match_the_ensemble() {
        let (field, message) =
            refusal(&VALID.replace("teacher-ensemble: 2", "teacher-ensemble: 3"));
        assert_eq!(field, "training_config.continuation.models.teacher.urls");
        assert!(
            message.contains("has 2 model URL(s)") && message.contains("is 3"),
            "{message}"
        );
    }

    #[test]
    fn ensemble_sizes_compare_as_python_numbers() {
        let text = VALID.replace("teacher-ensemble: 2", "teacher-ensemble: 2.0");
        check_training_config(&config(&text), &graph_config()).unwrap();
        let empty_teacher = VALID.replace(
            "    teacher: {urls: ['https://a/1', 'https://a/2'], mode: use, type: default}\n",
            "    teacher: {}\n",
        );
        assert_ne!(empty_teacher, VALID);
        let text = empty_teacher.replace("teacher-ensemble: 2", "teacher-ensemble: 3");
        check_training_config(&config(&text), &graph_config()).unwrap();
    }

    #[test]
    fn distilled_corpora_need_their_vocabulary() {
        let text = VALID.replace("train: [opus_A], ", "")
            + "  corpora:\n    distillation: {src: 'https://c/s', trg: 'https://c/t'}\n";
        let (field, message) = refusal(&text);
        assert_eq!(field, "training_config.continuation.vocab");
        assert!(message.contains("give `continuation.vocab`"), "{message}");

        let with_vocab = text + "  vocab: {src: 'https://v/s', trg: 'https://v/t'}\n";
        check_training_config(&config(&with_vocab), &graph_config()).unwrap();
    }

    #[test]
    fn distillation_corpora_exclude_the_training_datasets() {
        let text = format!(
            "{VALID}  corpora:\n    distillation: {{src: 'https://c/s', trg: 'https://c/t'}}\n"
        );
        let (field, message) = refusal(&text);
        assert_eq!(field, "training_config.datasets.train");
        assert!(message.contains("replaces the train dataset"), "{message}");
    }
}
