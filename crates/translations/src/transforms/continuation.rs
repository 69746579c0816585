//! `translations_taskgraph.transforms.continuation`: reusing the corpora,
//! vocabulary and backward model of an earlier training run.
//!
//! When `training_config.continuation` supplies an artifact, the tasks that
//! would produce it are dropped and the tasks that consume it are pointed
//! at the matching `continuation-*` task instead: their `dependencies`,
//! their `fetches` (plain and `from-deps`) and the names in their
//! `task-context.substitution-fields` are rewritten. The `continuation-*`
//! tasks themselves are dropped unless their artifact is supplied. Tasks of
//! every kind go through this, so the dropped stages are listed in full:
//! upload tasks depend on pipeline tasks without being linked to each other.

use taskgraph::params::Parameters;
use taskgraph::python::py_str;
use taskgraph::transform::{TaskDesc, TransformConfig, TransformRef, batch};
use taskgraph::{Error, Map, Registry, Result, Value};

#[cfg(test)]
pub(crate) mod testing;

const NAME: &str = "translations_taskgraph.transforms.continuation";

pub fn register(registry: &mut Registry) {
    registry.add_transforms(NAME, transforms());
}

pub fn transforms() -> Vec<TransformRef> {
    // A batch: the continuation config is checked before the first task,
    // so a malformed one fails even a kind with no tasks left.
    vec![batch("continuation:apply_continuation", apply_continuation)]
}

fn apply_continuation(config: &TransformConfig<'_>, tasks: Vec<TaskDesc>) -> Result<Vec<TaskDesc>> {
    let plan = Continuation::from_params(config.params)?;

    let mut kept = Vec::with_capacity(tasks.len());
    for mut task in tasks {
        let keep = plan
            .apply(&mut task.fields)
            .map_err(|e| e.at(&task.location(config.kind)))?;
        if keep {
            kept.push(task);
        }
    }
    Ok(kept)
}

/// What `training_config.continuation` supplies.
#[derive(Debug, Default)]
struct Continuation {
    backtranslations: Option<SuppliedCorpus>,
    parallel: Option<SuppliedCorpus>,
    distillation: Option<SuppliedCorpus>,
    vocab: bool,
    /// A backward model in `use` mode of the `default` type, the only kind
    /// of model that replaces the tasks training one.
    backwards_model: bool,
}

/// A corpus given by URL; with alignments, the alignment tasks go too.
#[derive(Debug, Clone, Copy)]
struct SuppliedCorpus {
    has_alignments: bool,
}

/// Stages never needed once a distillation corpus is supplied.
const REPLACED_BY_DISTILLATION_CORPUS: &[&str] = &[
    "backtranslations-mono-trg-chunk",
    "backtranslations-mono-trg-dechunk-translations",
    "backtranslations-mono-trg-translate",
    "backtranslations-train-backwards-model",
    "corpus-align-backtranslations",
    "corpus-align-parallel",
    "corpus-clean-mono",
    "corpus-clean-parallel",
    "corpus-clean-parallel-bicleaner-ai",
    "corpus-clean-parallel-fetch-bicleaner-model",
    "corpus-merge-distillation",
    "corpus-merge-mono",
    "corpus-merge-parallel",
    "distillation-corpus-final-filtering",
    "distillation-mono-src-chunk",
    "distillation-mono-src-dechunk-translations",
    "distillation-mono-src-translate",
    "distillation-parallel-src-chunk",
    "distillation-parallel-src-dechunk-translations",
    "distillation-parallel-src-extract-best",
    "distillation-parallel-src-translate",
    "distillation-parallel-src-translations-score",
    "distillation-src-translations-score",
    "evaluate-backwards",
    "evaluate-teacher",
    "evaluate-teacher-ensemble",
    "train-teacher-model",
];

impl Continuation {
    fn from_params(params: &Parameters) -> Result<Continuation> {
        let training_config = params
            .get("training_config")
            .ok_or_else(|| Error::params("taskgraph parameter `training_config` not found"))?;
        let Value::Map(training_config) = training_config else {
            return Err(Error::params(format!(
                "`training_config` is a {}, not a mapping",
                training_config.type_name()
            )));
        };
        let absent = Map::default();
        let continuation = match training_config.get("continuation") {
            None => &absent,
            Some(Value::Map(continuation)) => continuation,
            Some(other) => {
                return Err(Error::params(format!(
                    "`training_config.continuation` is a {}, not a mapping",
                    other.type_name()
                )));
            }
        };

        let corpora = continuation.get("corpora");
        Ok(Continuation {
            backtranslations: supplied_corpus(corpora, "backtranslations")?,
            parallel: supplied_corpus(corpora, "parallel")?,
            distillation: supplied_corpus(corpora, "distillation")?,
            vocab: continuation.get("vocab").is_some_and(Value::is_truthy),
            backwards_model: backwards_model_in_use(continuation.get("models"))?,
        })
    }

    /// Rewrites one task; false when the task is to be dropped.
    fn apply(&self, task: &mut Map) -> Result<bool> {
        let stage = Stage::of(task)?;
        let name = task.get("name").ok_or_else(|| {
            Error::transform("the task has no `name` (KeyError: 'name')").at_field("name")
        })?;
        let label = format!("{}-{}", py_str(&stage.0), py_str(name));

        if self.drops_continuation_task(&stage, &label) {
            return Ok(false);
        }
        if let Some(parallel) = self.parallel
            && !rewrite_for_parallel_corpus(task, &stage, parallel)?
        {
            return Ok(false);
        }
        if let Some(backtranslations) = self.backtranslations
            && !rewrite_for_backtranslations_corpus(task, &stage, backtranslations)?
        {
            return Ok(false);
        }
        if let Some(distillation) = self.distillation
            && !rewrite_for_distillation_corpus(task, &stage, distillation)?
        {
            return Ok(false);
        }
        if self.vocab {
            if stage.is("build-vocab") {
                return Ok(false);
            }
            rewrite_dependencies(task, "build-vocab", "continuation-vocab")?;
        }
        if self.backwards_model {
            if stage.is_one_of(&[
                "backtranslations-train-backwards-model",
                "evaluate-backwards",
            ])? {
                return Ok(false);
            }
            rewrite_dependencies(
                task,
                "backtranslations-train-backwards-model",
                "continuation-model-backwards",
            )?;
        }

        if self.regenerates_alignments() {
            remove_alignment_priors_dependencies(task)?;
        }
        Ok(true)
    }

    /// The `continuation-*` tasks only exist for what is supplied.
    fn drops_continuation_task(&self, stage: &Stage, label: &str) -> bool {
        if stage.is("continuation-corpus") {
            let unused = [
                (
                    self.backtranslations,
                    "continuation-corpus-backtranslations",
                ),
                (self.parallel, "continuation-corpus-parallel"),
                (self.distillation, "continuation-corpus-distillation"),
            ];
            for (supplied, task) in unused {
                if supplied.is_none() && label == format!("{task}-{{src_locale}}-{{trg_locale}}") {
                    return true;
                }
            }
        }
        if !self.vocab && stage.is("continuation-vocab") {
            return true;
        }
        // The reference compares with `continuation-backwards-...`, while
        // the continuation-model kind's task is labelled
        // `continuation-model-backwards-...`: it is never dropped here.
        !self.backwards_model
            && stage.is("continuation-model")
            && label == "continuation-backwards-{src_locale}-{trg_locale}"
    }

    /// Alignment priors come from the original corpora; a supplied corpus
    /// without alignments gets new ones computed without priors.
    fn regenerates_alignments(&self) -> bool {
        let without_alignments =
            |corpus: Option<SuppliedCorpus>| corpus.is_some_and(|c| !c.has_alignments);
        without_alignments(self.distillation) || without_alignments(self.backtranslations)
    }
}

fn rewrite_for_parallel_corpus(
    task: &mut Map,
    stage: &Stage,
    corpus: SuppliedCorpus,
) -> Result<bool> {
    if stage.is_one_of(&[
        "corpus-merge-parallel",
        "corpus-clean-parallel-fetch-bicleaner-model",
    ])? {
        return Ok(false);
    }
    rewrite_dependencies(
        task,
        "corpus-merge-parallel",
        "continuation-corpus-parallel",
    )?;

    if corpus.has_alignments {
        if stage.is_one_of(&[
            "corpus-align-parallel",
            "backtranslations-mono-trg-chunk",
            "backtranslations-mono-trg-dechunk-translations",
            "backtranslations-mono-trg-translate",
        ])? {
            return Ok(false);
        }
        rewrite_dependencies(
            task,
            "corpus-align-parallel",
            "continuation-corpus-parallel",
        )?;
    }
    Ok(true)
}

fn rewrite_for_backtranslations_corpus(
    task: &mut Map,
    stage: &Stage,
    corpus: SuppliedCorpus,
) -> Result<bool> {
    if stage.is_one_of(&["corpus-merge-mono", "evaluate-backwards"])? {
        return Ok(false);
    }
    let replacement = "continuation-corpus-backtranslations";
    rewrite_dependencies(task, "corpus-merge-mono-trg", replacement)?;
    rewrite_dependencies(task, "corpus-merge-mono-src", replacement)?;

    if corpus.has_alignments {
        if stage.is_one_of(&[
            "corpus-align-backtranslations",
            "backtranslations-mono-trg-chunk",
            "backtranslations-mono-trg-dechunk-translations",
            "backtranslations-mono-trg-translate",
        ])? {
            return Ok(false);
        }
        rewrite_dependencies(task, "corpus-align-backtranslations", replacement)?;
    }
    Ok(true)
}

fn rewrite_for_distillation_corpus(
    task: &mut Map,
    stage: &Stage,
    corpus: SuppliedCorpus,
) -> Result<bool> {
    if stage.is_one_of(REPLACED_BY_DISTILLATION_CORPUS)? {
        return Ok(false);
    }
    let replacement = "continuation-corpus-distillation";
    rewrite_dependencies(task, "distillation-corpus-final-filtering", replacement)?;

    if corpus.has_alignments {
        if stage.is("corpus-align-distillation") {
            return Ok(false);
        }
        rewrite_dependencies(task, "corpus-align-distillation", replacement)?;
    }
    Ok(true)
}

/// `attributes.stage`, `""` when absent. Kept as a value: the reference
/// compares it with strings, where only a string can be equal and a list
/// or mapping cannot even be looked up in a set.
struct Stage(Value);

impl Stage {
    fn of(task: &Map) -> Result<Stage> {
        let stage = match task.get("attributes") {
            None => None,
            Some(Value::Map(attributes)) => attributes.get("stage"),
            Some(other) => {
                return Err(Error::transform(format!(
                    "`attributes` is a {}, not a mapping",
                    other.type_name()
                ))
                .at_field("attributes"));
            }
        };
        Ok(Stage(stage.cloned().unwrap_or_else(|| Value::from(""))))
    }

    fn is(&self, name: &str) -> bool {
        self.0.as_str() == Some(name)
    }

    /// `stage in {names}`.
    fn is_one_of(&self, names: &[&str]) -> Result<bool> {
        match &self.0 {
            Value::Str(stage) => Ok(names.contains(&stage.as_str())),
            Value::List(_) | Value::Map(_) => Err(Error::transform(format!(
                "`attributes.stage` is a {} (TypeError: unhashable type)",
                self.0.type_name()
            ))
            .at_field("attributes.stage")),
            _ => Ok(false),
        }
    }
}

/// The reference's `validate_corpora_config`: a supplied corpus needs `src`
/// and `trg`, and `tok-src`, `tok-trg` and `alignments` come all together
/// or not at all. Empty entries count as not supplied.
fn supplied_corpus(corpora: Option<&Value>, corpus_key: &str) -> Result<Option<SuppliedCorpus>> {
    let Some(corpora) = corpora.filter(|c| c.is_truthy()) else {
        return Ok(None);
    };
    let Value::Map(corpora) = corpora else {
        return Err(Error::params(format!(
            "`continuation.corpora` is a {}, not a mapping",
            corpora.type_name()
        )));
    };
    let Some(files) = corpora.get(corpus_key).filter(|f| f.is_truthy()) else {
        return Ok(None);
    };
    let Value::Map(files) = files else {
        return Err(Error::params(format!(
            "`continuation.corpora.{corpus_key}` is a {}, not a mapping",
            files.type_name()
        )));
    };

    let missing = |file_key: &str| {
        Error::transform(format!(
            "The \"{file_key}\" key was not found in the \"corpora.{corpus_key}\""
        ))
    };
    for required in ["src", "trg"] {
        if !files.contains_key(required) {
            return Err(missing(required));
        }
    }
    let tokenized = ["tok-src", "tok-trg", "alignments"];
    if tokenized.iter().any(|key| files.contains_key(key)) {
        // The reference names `tok-src` for a missing `tok-trg` too.
        for (key, reported) in [
            ("tok-src", "tok-src"),
            ("tok-trg", "tok-src"),
            ("alignments", "alignments"),
        ] {
            if !files.contains_key(key) {
                return Err(missing(reported));
            }
        }
    }

    Ok(Some(SuppliedCorpus {
        has_alignments: files.get("alignments").is_some_and(Value::is_truthy),
    }))
}

/// Whether `models.backwards` is in `use` mode and of the `default` type.
fn backwards_model_in_use(models: Option<&Value>) -> Result<bool> {
    let Some(models) = models.filter(|m| m.is_truthy()) else {
        return Ok(false);
    };
    let Value::Map(models) = models else {
        return Err(Error::params(format!(
            "`continuation.models` is a {}, not a mapping",
            models.type_name()
        )));
    };
    let Some(backwards) = models.get("backwards").filter(|b| b.is_truthy()) else {
        return Ok(false);
    };

    let field = |key: &str| {
        backwards.get(key).ok_or_else(|| {
            Error::params(format!(
                "`continuation.models.backwards` has no `{key}` (KeyError: '{key}')"
            ))
        })
    };
    // `type` is only read once `mode` is known to be `use`.
    if field("mode")?.as_str() != Some("use") {
        return Ok(false);
    }
    Ok(field("type")?.as_str() == Some("default"))
}

/// Points a task's dependency, fetches and substitution fields at
/// `new_task` instead of `old_task`.
///
/// The dependency is re-added last, as `<new_task>-{src_locale}-{trg_locale}`
/// (an existing `new_task` entry keeps its place); fetched artifacts move
/// to `new_task`, replacing any it had. Empty entries are dropped.
fn rewrite_dependencies(task: &mut Map, old_task: &str, new_task: &str) -> Result<()> {
    if let Some(dependencies) = task.get_mut("dependencies") {
        let dependencies = mapping_mut(dependencies, "dependencies")?;
        if dependencies
            .shift_remove(old_task)
            .is_some_and(|d| d.is_truthy())
        {
            let label = format!("{new_task}-{{src_locale}}-{{trg_locale}}");
            dependencies.insert(new_task, Value::Str(label));
        }
    }

    if let Some(fetches) = task.get_mut("fetches").filter(|f| f.is_truthy()) {
        move_fetches(mapping_mut(fetches, "fetches")?, old_task, new_task);
    }

    if let Some(from_deps) = task.get_mut("from-deps") {
        let from_deps = mapping_mut(from_deps, "from-deps")?;
        if let Some(fetches) = from_deps.get_mut("fetches") {
            move_fetches(
                mapping_mut(fetches, "from-deps.fetches")?,
                old_task,
                new_task,
            );
        }
    }

    if let Some(context) = task.get_mut("task-context") {
        let context = mapping_mut(context, "task-context")?;
        if let Some(fields) = context.get_mut("substitution-fields") {
            rename_in_substitution_fields(fields, old_task, new_task)?;
        }
    }
    Ok(())
}

fn move_fetches(fetches: &mut Map, old_task: &str, new_task: &str) {
    if let Some(artifacts) = fetches.shift_remove(old_task).filter(Value::is_truthy) {
        fetches.insert(new_task, artifacts);
    }
}

/// `str.replace(old_task, new_task)` in every substitution field name.
fn rename_in_substitution_fields(fields: &mut Value, old_task: &str, new_task: &str) -> Result<()> {
    let field = "task-context.substitution-fields";
    match fields {
        Value::List(names) => {
            for name in names {
                let Value::Str(text) = name else {
                    return Err(Error::transform(format!(
                        "a substitution field is a {}, not a string",
                        name.type_name()
                    ))
                    .at_field(field));
                };
                *text = text.replace(old_task, new_task);
            }
            Ok(())
        }
        // Iterating an empty string or mapping changes nothing.
        Value::Str(s) if s.is_empty() => Ok(()),
        Value::Map(m) if m.is_empty() => Ok(()),
        other => Err(
            Error::transform(format!("`{field}` is a {}, not a list", other.type_name()))
                .at_field(field),
        ),
    }
}

/// Drops the `corpus-align-parallel` dependency of a task that only fetches
/// `corpus.priors` from it: those priors do not exist when the alignments
/// of a supplied corpus are regenerated.
fn remove_alignment_priors_dependencies(task: &mut Map) -> Result<()> {
    let has = |key: &str| task.get(key).is_some_and(Value::is_truthy);
    if !has("dependencies") || !has("fetches") {
        return Ok(());
    }
    let fetches = task
        .get("fetches")
        .and_then(Value::as_map)
        .ok_or_else(|| Error::transform("`fetches` is not a mapping").at_field("fetches"))?;
    if !fetches_only_priors(fetches.get("corpus-align-parallel"))? {
        return Ok(());
    }

    let dependencies = task
        .get_mut("dependencies")
        .and_then(Value::as_map_mut)
        .ok_or_else(|| {
            Error::transform("`dependencies` is not a mapping").at_field("dependencies")
        })?;
    if dependencies.shift_remove("corpus-align-parallel").is_none() {
        return Err(Error::transform(
            "the task fetches corpus.priors from corpus-align-parallel without depending on it (KeyError: 'corpus-align-parallel')",
        )
        .at_field("dependencies"));
    }
    if let Some(fetches) = task.get_mut("fetches").and_then(Value::as_map_mut) {
        fetches.shift_remove("corpus-align-parallel");
    }
    Ok(())
}

/// Whether the fetches from `corpus-align-parallel` are exactly one
/// artifact, `corpus.priors`.
fn fetches_only_priors(alignments: Option<&Value>) -> Result<bool> {
    let field = "fetches.corpus-align-parallel";
    let length = match alignments {
        None => 0,
        Some(Value::List(items)) => items.len(),
        Some(Value::Str(s)) => s.chars().count(),
        Some(Value::Map(m)) => m.len(),
        Some(other) => {
            return Err(Error::transform(format!(
                "`{field}` is a {}, not a list",
                other.type_name()
            ))
            .at_field(field));
        }
    };
    if length != 1 {
        return Ok(false);
    }
    match alignments {
        Some(Value::List(items)) => match items.first() {
            Some(Value::Map(fetch)) => {
                Ok(fetch.get("artifact").and_then(Value::as_str) == Some("corpus.priors"))
            }
            _ => Err(
                Error::transform("a fetch of corpus-align-parallel is not a mapping")
                    .at_field(field),
            ),
        },
        _ => Err(Error::transform(format!("`{field}` is not a list")).at_field(field)),
    }
}

fn mapping_mut<'v>(value: &'v mut Value, field: &str) -> Result<&'v mut Map> {
    let type_name = value.type_name();
    value.as_map_mut().ok_or_else(|| {
        Error::transform(format!("`{field}` is a {type_name}, not a mapping")).at_field(field)
    })
}

#[cfg(test)]
mod tests {
    use taskgraph::python::{json_compact, json_parse};

    use super::*;
    use testing::{TestKind, yaml_map};

    #[test]
    fn registered_under_the_name_kinds_use() {
        let mut registry = Registry::empty();
        register(&mut registry);
        assert!(
            registry
                .transforms("translations_taskgraph.transforms.continuation")
                .is_ok()
        );
    }

    /// What the reference transform returned for each continuation config
    /// of `testdata/scenarios.json`, given the same input tasks.
    #[test]
    fn every_scenario_matches_the_reference() {
        let fixture = json_parse(include_str!("continuation/testdata/scenarios.json")).unwrap();
        let inputs: Vec<Map> = fixture
            .get("tasks")
            .and_then(Value::as_list)
            .unwrap()
            .iter()
            .map(|task| task.as_map().unwrap().clone())
            .collect();
        let scenarios = fixture.get("scenarios").and_then(Value::as_map).unwrap();
        assert_eq!(scenarios.len(), 8);

        for (name, scenario) in scenarios {
            let mut params = yaml_map("training_config: {experiment: {src: ru, trg: en}}");
            let training_config = params
                .get_mut("training_config")
                .and_then(Value::as_map_mut)
                .unwrap();
            training_config.insert(
                "continuation",
                scenario.get("continuation").unwrap().clone(),
            );

            let out = TestKind::new("demo", params)
                .run(&transforms(), inputs.clone())
                .unwrap();
            let actual = Value::List(out.into_iter().map(Value::Map).collect());
            assert_eq!(
                json_compact(&actual, false).unwrap(),
                json_compact(scenario.get("expected").unwrap(), false).unwrap(),
                "scenario {name}"
            );
        }
    }

    fn run(continuation: &str, tasks: &[&str]) -> Result<Vec<Map>> {
        let params = yaml_map(&format!(
            "training_config: {{continuation: {continuation}}}"
        ));
        TestKind::new("demo", params)
            .run(&transforms(), tasks.iter().map(|t| yaml_map(t)).collect())
    }

    fn error(continuation: &str, tasks: &[&str]) -> String {
        run(continuation, tasks).unwrap_err().to_string()
    }

    #[test]
    fn incomplete_corpora_are_reported_as_the_reference_does() {
        // Each message is the reference's ValueError, raised with no task.
        let cases = [
            (
                "{corpora: {parallel: {src: a}}}",
                r#"The "trg" key was not found in the "corpora.parallel""#,
            ),
            (
                "{corpora: {parallel: {src: a, trg: b, alignments: c, tok-src: d}}}",
                r#"The "tok-src" key was not found in the "corpora.parallel""#,
            ),
            (
                "{corpora: {distillation: {src: a, trg: b, tok-trg: x, tok-src: y}}}",
                r#"The "alignments" key was not found in the "corpora.distillation""#,
            ),
        ];
        for (continuation, expected) in cases {
            let message = error(continuation, &[]);
            assert!(
                message.contains(expected) && message.contains("kind `demo`"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_backwards_model_in_use_mode_needs_a_type() {
        let message = error("{models: {backwards: {mode: use}}}", &[]);
        assert!(message.contains("KeyError: 'type'"), "{message}");
        // In another mode the type is never read.
        assert!(run("{models: {backwards: {mode: init}}}", &[]).is_ok());
    }

    #[test]
    fn tasks_need_a_name() {
        let message = error("{}", &["attributes: {}"]);
        assert!(message.contains("field `name`"), "{message}");
    }

    #[test]
    fn a_list_stage_fails_set_lookups_only() {
        let task = "{name: x, attributes: {stage: [a]}}";
        // Only equality comparisons: fine, as in the reference.
        assert!(run("{vocab: {src: a, trg: b}}", &[task]).is_ok());
        let message = error("{corpora: {parallel: {src: a, trg: b}}}", &[task]);
        assert!(
            message.contains("unhashable") && message.contains("task `x`"),
            "{message}"
        );
    }

    #[test]
    fn priors_without_their_dependency_or_as_plain_names_are_errors() {
        let backtranslations = "{corpora: {backtranslations: {src: a, trg: b}}}";
        let message = error(
            backtranslations,
            &[
                "{name: x, dependencies: {a: b}, fetches: {corpus-align-parallel: [{artifact: corpus.priors}]}}",
            ],
        );
        assert!(
            message.contains("KeyError: 'corpus-align-parallel'"),
            "{message}"
        );

        let message = error(
            backtranslations,
            &["{name: x, dependencies: {a: b}, fetches: {corpus-align-parallel: [corpus.priors]}}"],
        );
        assert!(
            message.contains("field `fetches.corpus-align-parallel`"),
            "{message}"
        );
    }
}
