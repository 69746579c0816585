//! Expected values come from running the Python `find_upstreams` sequences
//! on the same tasks, parameters and kind-dependency tasks.

use taskgraph::task::Task;
use taskgraph::{Map, Value, map};

use super::super::from_datasets::test_kind::{Setup, json, json_map, run, upstream};
use super::{by_locales, mono};

const BICLEANER: &str = "corpus-clean-parallel-bicleaner-ai";

fn training_params() -> Map {
    json_map(
        r#"{"training_config": {"experiment": {"src": "en", "trg": "ru"},
            "datasets": {
                "train": ["opus_Books/v1", "mtdata_Statmt-news_commentary-16-eng-rus", "opus_ada83/v1"],
                "devtest": ["flores_dev"],
                "mono-src": ["news-crawl_news.2021", "opus_tldr-pages/v2023-08-29"],
                "mono-trg": ["news-crawl_news.2020"]}}}"#,
    )
}

fn cleaned(kind: &str, label: &str, provider: &str, dataset: &str, extra: Map) -> Task {
    let mut attributes = map! {
        "provider" => provider,
        "dataset" => dataset,
        "src_locale" => "en",
        "trg_locale" => "ru",
    };
    attributes.extend(extra);
    upstream(kind, label, attributes)
}

/// The kind-dependency tasks, in load order (not label order).
fn upstreams() -> Vec<Task> {
    let mono = "corpus-clean-mono";
    vec![
        cleaned(
            BICLEANER,
            "z-bicleaner-opus-Books",
            "opus",
            "Books/v1",
            map! {"cleaning-type" => BICLEANER, "dataset-category" => "train"},
        ),
        cleaned(
            BICLEANER,
            "a-bicleaner-mtdata",
            "mtdata",
            "Statmt-news_commentary-16-eng-rus",
            map! {"cleaning-type" => BICLEANER},
        ),
        cleaned(
            BICLEANER,
            "m-bicleaner-not-listed",
            "opus",
            "Other/v1",
            map! {"cleaning-type" => BICLEANER},
        ),
        cleaned(
            "corpus-clean-parallel",
            "c-clean-opus-Books",
            "opus",
            "Books/v1",
            map! {"cleaning-type" => "corpus-clean-parallel"},
        ),
        cleaned("toolchain", "toolchain-x", "none", "none", Map::default()),
        cleaned(
            mono,
            "mono-news-2021",
            "news-crawl",
            "news.2021",
            map! {"cleaning-type" => mono, "dataset-category" => "mono-src"},
        ),
        cleaned(
            mono,
            "mono-news-2020",
            "news-crawl",
            "news.2020",
            map! {"cleaning-type" => mono, "dataset-category" => "mono-trg"},
        ),
        cleaned(
            mono,
            "mono-tldr",
            "opus",
            "tldr-pages/v2023-08-29",
            map! {"cleaning-type" => mono, "dataset-category" => "mono-src"},
        ),
    ]
}

fn setup_with(dependencies: Vec<Task>) -> Setup {
    Setup {
        params: training_params(),
        dependencies,
    }
}

fn without_kind(kind: &str) -> Vec<Task> {
    upstreams().into_iter().filter(|t| t.kind != kind).collect()
}

fn run_one(
    setup: &Setup,
    sequence: &[taskgraph::transform::TransformRef],
    task: &str,
) -> taskgraph::Result<Vec<Map>> {
    run(setup, sequence, vec![json_map(task)])
}

fn as_list(tasks: &[Map]) -> Value {
    Value::List(tasks.iter().cloned().map(Value::Map).collect())
}

const MERGE_PARALLEL: &str = r#"{"name": "m", "description": "merge", "attributes": {"dataset-category": "train"},
    "fetches": {"toolchain": ["preprocess"]},
    "upstreams-config": {
        "upstream-artifacts": ["{dataset_sanitized}.{src_locale}.zst", "{dataset_sanitized}.{trg_locale}.zst", "{dataset_sanitized}.best-scores.zst"],
        "upstream-task-attributes": {"cleaning-type": {"by-cleaning-type": {
            "corpus-clean-parallel-bicleaner-ai": "corpus-clean-parallel-bicleaner-ai", "default": "bicleaner-ai"}}}}}"#;

#[test]
fn by_locales_finds_the_bicleaned_datasets_in_label_order() {
    let out = run_one(&setup_with(upstreams()), &by_locales(), MERGE_PARALLEL).unwrap();
    let expected = json(
        r#"[{"name": "m", "description": "merge", "attributes": {"dataset-category": "train"},
             "fetches": {"toolchain": ["preprocess"],
                "a-bicleaner-mtdata": [{"artifact": "Statmt-news_commentary-16-eng-rus.best-scores.zst", "extract": false}, {"artifact": "Statmt-news_commentary-16-eng-rus.en.zst", "extract": false}, {"artifact": "Statmt-news_commentary-16-eng-rus.ru.zst", "extract": false}],
                "z-bicleaner-opus-Books": [{"artifact": "Books_v1.best-scores.zst", "extract": false}, {"artifact": "Books_v1.en.zst", "extract": false}, {"artifact": "Books_v1.ru.zst", "extract": false}]},
             "dependencies": {"a-bicleaner-mtdata": "a-bicleaner-mtdata", "z-bicleaner-opus-Books": "z-bicleaner-opus-Books"}}]"#,
    );
    assert_eq!(as_list(&out), expected);

    // Key order matters for the output JSON; `==` on maps ignores it.
    let tasks = out;
    let fetch_labels: Vec<&str> = tasks[0]["fetches"].as_map().unwrap().keys().collect();
    assert_eq!(
        fetch_labels,
        ["toolchain", "a-bicleaner-mtdata", "z-bicleaner-opus-Books"]
    );
}

#[test]
fn cleaning_type_falls_back_when_no_bicleaner_kind_is_a_dependency() {
    let out = run_one(
        &setup_with(without_kind(BICLEANER)),
        &by_locales(),
        MERGE_PARALLEL,
    )
    .unwrap();
    let expected = json(
        r#"[{"name": "m", "description": "merge", "attributes": {"dataset-category": "train"},
             "fetches": {"toolchain": ["preprocess"]}, "dependencies": {}}]"#,
    );
    assert_eq!(as_list(&out), expected);

    let plain = r#"{"name": "m", "description": "merge", "attributes": {"dataset-category": "train"},
        "fetches": {"toolchain": ["preprocess"]},
        "upstreams-config": {"upstream-artifacts": ["{dataset_sanitized}.zst"],
            "upstream-task-attributes": {"cleaning-type": {"by-cleaning-type": {
                "corpus-clean-parallel": "corpus-clean-parallel", "default": "bicleaner-ai"}}}}}"#;
    let out = run_one(&setup_with(without_kind(BICLEANER)), &by_locales(), plain).unwrap();
    let expected = json(
        r#"[{"name": "m", "description": "merge", "attributes": {"dataset-category": "train"},
             "fetches": {"toolchain": ["preprocess"], "c-clean-opus-Books": [{"artifact": "Books_v1.zst", "extract": false}]},
             "dependencies": {"c-clean-opus-Books": "c-clean-opus-Books"}}]"#,
    );
    assert_eq!(as_list(&out), expected);
}

#[test]
fn existing_dependencies_keep_their_place_and_are_relabelled() {
    let task = r#"{"name": "x", "dependencies": {"z-bicleaner-opus-Books": "old", "other": "o"},
        "attributes": {"dataset-category": "train"}, "description": "d",
        "upstreams-config": {"upstream-artifacts": ["b", "a"],
            "upstream-task-attributes": {"cleaning-type": "corpus-clean-parallel-bicleaner-ai"}}}"#;
    let out = run_one(&setup_with(upstreams()), &by_locales(), task).unwrap();
    let tasks = out;
    let expected = json_map(
        r#"{"name": "x", "dependencies": {"z-bicleaner-opus-Books": "z-bicleaner-opus-Books", "other": "o", "a-bicleaner-mtdata": "a-bicleaner-mtdata"},
            "attributes": {"dataset-category": "train"}, "description": "d",
            "fetches": {"a-bicleaner-mtdata": [{"artifact": "a", "extract": false}, {"artifact": "b", "extract": false}],
                        "z-bicleaner-opus-Books": [{"artifact": "a", "extract": false}, {"artifact": "b", "extract": false}]}}"#,
    );
    assert_eq!(tasks[0], expected);
    let dependency_labels: Vec<&str> = tasks[0]["dependencies"].as_map().unwrap().keys().collect();
    assert_eq!(
        dependency_labels,
        ["z-bicleaner-opus-Books", "other", "a-bicleaner-mtdata"]
    );
    let keys: Vec<&str> = tasks[0].keys().collect();
    assert_eq!(
        keys,
        [
            "name",
            "dependencies",
            "attributes",
            "description",
            "fetches"
        ]
    );
}

#[test]
fn without_datasets_nothing_is_yielded_or_checked() {
    // The task would fail validation, but Python never pulls it.
    for params in [
        map! {"training_config" => map! {"datasets" => Map::default()}},
        map! {},
    ] {
        let setup = Setup {
            params,
            dependencies: upstreams(),
        };
        assert_eq!(
            run_one(&setup, &by_locales(), r#"{"name": "x"}"#).unwrap(),
            Vec::<Map>::new()
        );
    }

    let mono_setup = Setup {
        params: json_map(r#"{"training_config": {"experiment": {"src": "en", "trg": "ru"}}}"#),
        dependencies: upstreams(),
    };
    assert_eq!(
        run_one(&mono_setup, &mono(), r#"{"name": "x"}"#).unwrap(),
        Vec::<Map>::new()
    );
}

#[test]
fn by_locales_errors_name_what_is_missing() {
    let setup = setup_with(upstreams());

    let no_upstreams_config = run_one(
        &setup,
        &by_locales(),
        r#"{"name": "x", "attributes": {"dataset-category": "train"}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        no_upstreams_config.contains("upstreams-config"),
        "{no_upstreams_config}"
    );

    let no_attributes = run_one(
        &setup,
        &by_locales(),
        r#"{"name": "x", "upstreams-config": {"upstream-artifacts": [], "upstream-task-attributes": {}}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        no_attributes.contains("KeyError: 'attributes'"),
        "{no_attributes}"
    );

    // A cleaning type, keyed or not, is resolved with the description as
    // the item name, so the description must be there.
    let no_description = run_one(
        &setup,
        &by_locales(),
        r#"{"name": "x", "attributes": {"dataset-category": "train"},
            "upstreams-config": {"upstream-artifacts": ["{locale}"], "upstream-task-attributes": {"cleaning-type": "corpus-clean-parallel-bicleaner-ai"}}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        no_description.contains("KeyError: 'description'"),
        "{no_description}"
    );

    let unknown_placeholder = run_one(
        &setup,
        &by_locales(),
        r#"{"name": "x", "attributes": {"dataset-category": "train"},
            "upstreams-config": {"upstream-artifacts": ["{locale}"], "upstream-task-attributes": {"dataset-category": "train"}}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        unknown_placeholder.contains("KeyError: 'locale'"),
        "{unknown_placeholder}"
    );
}

#[test]
fn unmatched_attributes_include_the_kind_attribute() {
    let out = run_one(
        &setup_with(upstreams()),
        &by_locales(),
        r#"{"name": "x", "attributes": {"dataset-category": "train"},
            "upstreams-config": {"upstream-artifacts": [], "upstream-task-attributes": {"kind": "toolchain"}}}"#,
    )
    .unwrap();
    let expected = json(
        r#"[{"name": "x", "attributes": {"dataset-category": "train"}, "dependencies": {}, "fetches": {}}]"#,
    );
    assert_eq!(as_list(&out), expected);
}

const MERGE_MONO: &str = r#"{"name": "mono", "label": "merge-{locale}", "description": "d",
    "attributes": {"dataset-category": "mono-src", "stage": "s"},
    "dependencies": {"corpus-merge-parallel": "corpus-merge-parallel-en-ru"},
    "fetches": {"corpus-merge-parallel": [{"artifact": "corpus.en.zst", "dest": "corpus"}]},
    "notes": ["{provider}/{dataset}/{dataset_sanitized}", "{{locale}}"],
    "upstreams-config": {"locale": "en",
        "upstream-task-attributes": {"cleaning-type": "corpus-clean-mono", "dataset-category": "mono-src"},
        "upstream-artifacts": ["{dataset_sanitized}.{locale}.zst", "{provider}-{src_locale}{trg_locale}"],
        "substitution-fields": ["notes", "label"]}}"#;

#[test]
fn mono_substitutes_once_per_upstream() {
    // `{{locale}}` becomes `{locale}` for the first upstream and `en` for
    // the second, as in Python.
    let out = run_one(&setup_with(upstreams()), &mono(), MERGE_MONO).unwrap();
    let expected = json(
        r#"[{"name": "mono", "label": "merge-en", "description": "d",
             "attributes": {"dataset-category": "mono-src", "stage": "s", "src_locale": "en", "trg_locale": "ru"},
             "dependencies": {"corpus-merge-parallel": "corpus-merge-parallel-en-ru", "mono-news-2021": "mono-news-2021", "mono-tldr": "mono-tldr"},
             "fetches": {"corpus-merge-parallel": [{"artifact": "corpus.en.zst", "dest": "corpus"}],
                "mono-news-2021": [{"artifact": "news_2021.en.zst", "extract": false}, {"artifact": "news-crawl-enru", "extract": false}],
                "mono-tldr": [{"artifact": "tldr-pages_v2023-08-29.en.zst", "extract": false}, {"artifact": "opus-enru", "extract": false}]},
             "notes": ["news-crawl/news.2021/news_2021", "en"]}]"#,
    );
    assert_eq!(as_list(&out), expected);
}

#[test]
fn mono_uses_the_target_locale_for_mono_trg() {
    let task = r#"{"name": "mono", "attributes": {"dataset-category": "mono-trg"},
        "upstreams-config": {"upstream-task-attributes": {"cleaning-type": "corpus-clean-mono"},
            "upstream-artifacts": ["{dataset_sanitized}.{locale}.zst"]}}"#;
    let out = run_one(&setup_with(upstreams()), &mono(), task).unwrap();
    let expected = json(
        r#"[{"name": "mono", "attributes": {"dataset-category": "mono-trg", "src_locale": "en", "trg_locale": "ru"},
             "dependencies": {"mono-news-2020": "mono-news-2020"},
             "fetches": {"mono-news-2020": [{"artifact": "news_2020.ru.zst", "extract": false}]}}]"#,
    );
    assert_eq!(as_list(&out), expected);
}

#[test]
fn mono_without_matches_leaves_attributes_alone() {
    let task = MERGE_MONO.replace(
        r#""upstream-task-attributes": {"cleaning-type": "corpus-clean-mono", "dataset-category": "mono-src"}"#,
        r#""upstream-task-attributes": {"cleaning-type": "nothing"}"#,
    );
    let out = run_one(&setup_with(upstreams()), &mono(), &task).unwrap();
    let tasks = out;
    assert_eq!(
        tasks[0]["attributes"],
        Value::Map(map! {"dataset-category" => "mono-src", "stage" => "s"})
    );
    assert_eq!(tasks[0]["label"], Value::from("merge-{locale}"));
}

#[test]
fn mono_fetches_can_be_substituted_before_the_artifacts_are_added() {
    let task = r#"{"name": "mono", "attributes": {"dataset-category": "mono-src"},
        "fetches": {"corpus-merge-parallel": [{"artifact": "corpus.{locale}.zst"}]},
        "upstreams-config": {"upstream-task-attributes": {"cleaning-type": "corpus-clean-mono", "dataset-category": "mono-src"},
            "upstream-artifacts": ["{dataset}"], "substitution-fields": ["fetches"]}}"#;
    let out = run_one(&setup_with(upstreams()), &mono(), task).unwrap();
    let tasks = out;
    let expected = json(
        r#"{"corpus-merge-parallel": [{"artifact": "corpus.en.zst"}],
            "mono-news-2021": [{"artifact": "news.2021", "extract": false}],
            "mono-tldr": [{"artifact": "tldr-pages/v2023-08-29", "extract": false}]}"#,
    );
    assert_eq!(tasks[0]["fetches"], expected);
}

#[test]
fn mono_errors_name_what_is_missing() {
    let bad_category = MERGE_MONO.replace(
        r#""dataset-category": "mono-src", "stage": "s""#,
        r#""dataset-category": "train""#,
    );
    let bad_category = bad_category.replace(
        r#""upstream-task-attributes": {"cleaning-type": "corpus-clean-mono", "dataset-category": "mono-src"}"#,
        r#""upstream-task-attributes": {}"#,
    );
    let message = run_one(&setup_with(upstreams()), &mono(), &bad_category)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("without the `mono-src` or `mono-trg` category"),
        "{message}"
    );

    let no_experiment = Setup {
        params: json_map(r#"{"training_config": {"datasets": {"a": []}}}"#),
        dependencies: upstreams(),
    };
    let message = run_one(&no_experiment, &mono(), r#"{"name": "x"}"#)
        .unwrap_err()
        .to_string();
    assert!(message.contains("KeyError: 'experiment'"), "{message}");
}
