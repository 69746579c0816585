//! The directory an upstream task's artifacts are uploaded to, from its
//! label.

use std::sync::LazyLock;

use regex::Regex;
use taskgraph::{Error, Result};

/// Labels starting with one of these upload to a directory named after
/// that prefix. Checked first, so that
/// `corpus-clean-parallel-fetch-bicleaner-model` is not taken for the
/// `corpus-clean-parallel` tasks below.
const PREFIX_STEP_DIRS: [&str; 17] = [
    "backtranslations-mono-trg-chunk",
    "backtranslations-mono-trg-dechunk-translations",
    "corpus-align-backtranslations",
    "corpus-align-distillation",
    "corpus-align-parallel",
    "corpus-clean-parallel-fetch-bicleaner-model",
    "corpus-merge-devset",
    "corpus-merge-distillation",
    "corpus-merge-mono-src",
    "corpus-merge-mono-trg",
    "corpus-merge-parallel",
    "distillation-corpus-final-filtering",
    "distillation-mono-src-chunk",
    "distillation-mono-src-dechunk-translations",
    "distillation-parallel-src-chunk",
    "distillation-parallel-src-dechunk-translations",
    "distillation-parallel-src-translations-score",
];

/// Tasks of these kinds run once per dataset, so the whole label is the
/// directory, or their logs would overwrite each other.
const FULL_LABEL_STEP_DIRS: [&str; 5] = [
    "corpus-analyze-mono",
    "corpus-analyze-parallel",
    "corpus-clean-mono",
    "corpus-clean-parallel-bicleaner-ai",
    "corpus-clean-parallel",
];

/// Chunked tasks: the prefix followed by the chunk number.
const CHUNKED_PREFIXES: [&str; 4] = [
    "backtranslations-mono-trg-translate",
    "distillation-mono-src-translate",
    "distillation-parallel-src-extract-best",
    "distillation-parallel-src-translate",
];

/// Fixed directories by label prefix, in the reference's order of checks.
const NAMED_STEP_DIRS: [(&str, &str); 6] = [
    ("backtranslations-train-backwards-model", "backward"),
    ("build-vocab", "vocab"),
    (
        "corpus-clean-parallel-fetch-bicleaner-model",
        "corpus-clean-parallel-fetch-bicleaner-model",
    ),
    ("distillation-student-model-finetune", "student-finetuned"),
    ("distillation-student-model-quantize", "quantized"),
    ("distillation-student-model-train", "student"),
];

/// Evaluations: `evaluation/<name>-<rest of the label>`, in the
/// reference's order (the ensemble before the single teachers).
const EVALUATION_STEP_DIRS: [(&str, &str); 5] = [
    ("evaluate-backward", "backward"),
    ("evaluate-finetuned-student", "student-finetuned"),
    ("evaluate-quantized", "quantized"),
    ("evaluate-student", "student"),
    ("evaluate-teacher-ensemble", "teacher-ensemble"),
];

/// The upload directory for the artifacts of the task labelled `label`,
/// or an error for a label no rule covers.
pub fn task_to_step_dir(label: &str) -> Result<String> {
    if let Some(prefix) = only_matching_prefix(label, &PREFIX_STEP_DIRS)? {
        return Ok(prefix.to_owned());
    }
    if FULL_LABEL_STEP_DIRS
        .iter()
        .any(|prefix| label.starts_with(prefix))
    {
        return Ok(label.to_owned());
    }
    if let Some(prefix) = only_matching_prefix(label, &CHUNKED_PREFIXES)? {
        return Ok(format!("{prefix}{}", chunk_number(label)?));
    }
    if let Some((_, dir)) = NAMED_STEP_DIRS
        .iter()
        .find(|(prefix, _)| label.starts_with(prefix))
    {
        return Ok((*dir).to_owned());
    }
    if label.starts_with("distillation-corpus-build-shortlist") {
        return Ok("shortlist".to_owned());
    }
    if let Some((prefix, name)) = EVALUATION_STEP_DIRS
        .iter()
        .find(|(prefix, _)| label.starts_with(prefix))
    {
        let suffix = after_separator(label, &format!("{prefix}-"));
        return Ok(format!("evaluation/{name}-{suffix}"));
    }
    if label.starts_with("evaluate-teacher") {
        // The teacher's number is the label's last character: there are
        // fewer than ten teachers.
        let suffix = after_separator(label, "evaluate-teacher-");
        return Ok(format!("evaluation/teacher{}-{suffix}", last_char(label)));
    }
    if label.starts_with("export") {
        return Ok("exported".to_owned());
    }
    if label.starts_with("train-teacher-model") {
        return Ok(format!("teacher{}", last_char(label)));
    }

    Err(Error::transform(format!(
        "couldn't find `step_dir` for upstream task: {label}. upload_artifacts.py most likely \
         needs to be updated."
    )))
}

/// The one prefix of `prefixes` that `label` starts with; more than one
/// is an error (the reference asserts there is only one).
fn only_matching_prefix<'p>(label: &str, prefixes: &[&'p str]) -> Result<Option<&'p str>> {
    let matching: Vec<&str> = prefixes
        .iter()
        .copied()
        .filter(|prefix| label.starts_with(prefix))
        .collect();
    match matching.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        several => Err(Error::transform(format!(
            "upstream task {label} matches several step directory prefixes: {}",
            several.join(", ")
        ))),
    }
}

/// `label.split(separator, 2)[-1]`: the text after the second separator
/// if there are two or more, else after the first, else the whole label.
fn after_separator<'l>(label: &'l str, separator: &str) -> &'l str {
    label.splitn(3, separator).last().unwrap_or(label)
}

fn last_char(label: &str) -> String {
    label.chars().last().map(String::from).unwrap_or_default()
}

/// The reference's `[^0-9]*([0-9]+)/([0-9]+)$` with `re.match`: anchored
/// at the start, and `$` also matches before a final newline.
static CHUNKED_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A[^0-9]*([0-9]+)/([0-9]+)\n?\z").expect("a valid pattern"));

/// The chunk number of a `<name>-<this chunk>/<total chunks>` label: the
/// first run of digits, which must be followed by `/<digits>` at the end.
fn chunk_number(label: &str) -> Result<String> {
    CHUNKED_LABEL
        .captures(label)
        .and_then(|captures| captures.get(1))
        .map(|number| number.as_str().to_owned())
        .ok_or_else(|| Error::transform(format!("{label} is not a chunked task")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels and the directories the reference's `task_to_step_dir` gives.
    #[test]
    fn step_dirs_match_the_reference() {
        let cases = [
            (
                "backtranslations-mono-trg-translate-12/20",
                "backtranslations-mono-trg-translate12",
            ),
            (
                "evaluate-backward-sacrebleu_wmt19-en-ru",
                "evaluation/backward-sacrebleu_wmt19-en-ru",
            ),
            (
                "evaluate-teacher-flores-x-evaluate-teacher-y-evaluate-teacher-z-1",
                "evaluation/teacher1-y-evaluate-teacher-z-1",
            ),
            (
                "evaluate-teacher-flores-devtest-en-ru-2",
                "evaluation/teacher2-flores-devtest-en-ru-2",
            ),
            ("train-teacher-model-en-ru-1", "teacher1"),
            (
                "corpus-clean-parallel-fetch-bicleaner-model-en-ru",
                "corpus-clean-parallel-fetch-bicleaner-model",
            ),
            (
                "corpus-clean-parallel-opus-ada83-en-ru",
                "corpus-clean-parallel-opus-ada83-en-ru",
            ),
            ("export", "exported"),
            (
                "evaluate-teacher-ensemble-flores",
                "evaluation/teacher-ensemble-flores",
            ),
            (
                "distillation-parallel-src-extract-best-2/4\n",
                "distillation-parallel-src-extract-best2",
            ),
            ("corpus-merge-mono-trg-en-ru", "corpus-merge-mono-trg"),
            ("distillation-corpus-build-shortlist-en-ru", "shortlist"),
            (
                "distillation-student-model-finetune-en-ru",
                "student-finetuned",
            ),
            ("build-vocab-en-ru", "vocab"),
            (
                "evaluate-quantized-flores-en-ru",
                "evaluation/quantized-flores-en-ru",
            ),
        ];
        for (label, expected) in cases {
            assert_eq!(task_to_step_dir(label).unwrap(), expected, "{label:?}");
        }
    }

    #[test]
    fn unknown_and_malformed_labels_are_errors() {
        let err = task_to_step_dir("toolchain-marian").unwrap_err();
        assert!(
            err.to_string()
                .contains("couldn't find `step_dir` for upstream task: toolchain-marian"),
            "{err}"
        );
        let err = task_to_step_dir("distillation-mono-src-translate-en-ru").unwrap_err();
        assert!(err.to_string().contains("is not a chunked task"), "{err}");
        assert!(
            task_to_step_dir("distillation-mono-src-translate-a1b2/3").is_err(),
            "digits before the chunk number do not match"
        );
    }
}
