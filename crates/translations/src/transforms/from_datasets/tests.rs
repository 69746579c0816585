//! Expected values come from running the Python `from_datasets` sequences
//! on the same inputs (their output sorted by dataset, as Python's order
//! follows its set).

use taskgraph::{Map, Value, map};

use super::test_kind::{Setup, json, json_map, run};
use super::{mono, per_dataset};

fn training_params() -> Map {
    json_map(
        r#"{"training_config": {"experiment": {"src": "en", "trg": "ru"},
            "datasets": {
                "train": ["opus_Books/v1", "mtdata_Statmt-news_commentary-16-eng-rus",
                          "url_https://storage.googleapis.com/releng-translations-dev/data/en-ru/pytest-dataset.[LANG].zst"],
                "devtest": ["flores_dev", "opus_Books/v1"],
                "mono-src": ["news-crawl_news.2021", "opus_tldr-pages/v2023-08-29"],
                "mono-trg": ["news-crawl_news.2020"]}}}"#,
    )
}

fn setup() -> Setup {
    Setup {
        params: training_params(),
        ..Setup::default()
    }
}

fn run_json(setup: &Setup, mono_sequence: bool, task: &str) -> taskgraph::Result<Value> {
    let sequence = if mono_sequence { mono() } else { per_dataset() };
    let tasks = run(setup, &sequence, vec![json_map(task)])?;
    Ok(Value::List(tasks.into_iter().map(Value::Map).collect()))
}

#[test]
fn every_category_gives_one_task_per_distinct_dataset() {
    let out = run_json(
        &setup(),
        false,
        r#"{"name": "{provider}-{dataset_sanitized}-{src_locale}-{trg_locale}", "label": "x-{dataset}",
            "attributes": {"stage": "s", "provider": "old"},
            "worker": {"env": {"A": "{provider}", "{dataset_sanitized}": ["{trg_locale}", "{unknown}", "{{esc}}"]}},
            "dataset-config": {"substitution-fields": ["name", "label", "worker.env"]}}"#,
    )
    .unwrap();

    let expected = json(
        r#"[{"name": "flores-dev-en-ru", "label": "x-flores_dev", "attributes": {"stage": "s", "provider": "flores", "dataset": "dev", "src_locale": "en", "trg_locale": "ru"}, "worker": {"env": {"A": "flores", "dev": ["ru", "{unknown}", "{esc}"]}}},
            {"name": "mtdata-Statmt-news_commentary-16-eng-rus-en-ru", "label": "x-mtdata_Statmt-news_commentary-16-eng-rus", "attributes": {"stage": "s", "provider": "mtdata", "dataset": "Statmt-news_commentary-16-eng-rus", "src_locale": "en", "trg_locale": "ru"}, "worker": {"env": {"A": "mtdata", "Statmt-news_commentary-16-eng-rus": ["ru", "{unknown}", "{esc}"]}}},
            {"name": "news-crawl-news_2020-en-ru", "label": "x-news-crawl_news.2020", "attributes": {"stage": "s", "provider": "news-crawl", "dataset": "news.2020", "src_locale": "en", "trg_locale": "ru"}, "worker": {"env": {"A": "news-crawl", "news_2020": ["ru", "{unknown}", "{esc}"]}}},
            {"name": "news-crawl-news_2021-en-ru", "label": "x-news-crawl_news.2021", "attributes": {"stage": "s", "provider": "news-crawl", "dataset": "news.2021", "src_locale": "en", "trg_locale": "ru"}, "worker": {"env": {"A": "news-crawl", "news_2021": ["ru", "{unknown}", "{esc}"]}}},
            {"name": "opus-Books_v1-en-ru", "label": "x-opus_Books/v1", "attributes": {"stage": "s", "provider": "opus", "dataset": "Books/v1", "src_locale": "en", "trg_locale": "ru"}, "worker": {"env": {"A": "opus", "Books_v1": ["ru", "{unknown}", "{esc}"]}}},
            {"name": "opus-tldr-pages_v2023-08-29-en-ru", "label": "x-opus_tldr-pages/v2023-08-29", "attributes": {"stage": "s", "provider": "opus", "dataset": "tldr-pages/v2023-08-29", "src_locale": "en", "trg_locale": "ru"}, "worker": {"env": {"A": "opus", "tldr-pages_v2023-08-29": ["ru", "{unknown}", "{esc}"]}}},
            {"name": "url-gcp_pytest-dataset_a0017e-en-ru", "label": "x-url_https://storage.googleapis.com/releng-translations-dev/data/en-ru/pytest-dataset.[LANG].zst", "attributes": {"stage": "s", "provider": "url", "dataset": "https://storage.googleapis.com/releng-translations-dev/data/en-ru/pytest-dataset.[LANG].zst", "src_locale": "en", "trg_locale": "ru"}, "worker": {"env": {"A": "url", "gcp_pytest-dataset_a0017e": ["ru", "{unknown}", "{esc}"]}}}]"#,
    );
    assert_eq!(out, expected);
}

#[test]
fn key_order_follows_python_dicts() {
    // `dataset-config` is popped, `attributes` keeps its place and its old
    // keys come first.
    let tasks = run(
        &setup(),
        &per_dataset(),
        vec![json_map(
            r#"{"name": "n", "dataset-config": {"category": "mono-trg"}, "attributes": {"stage": "s", "dataset": "old"}, "z": 1}"#,
        )],
    )
    .unwrap();
    let keys: Vec<&str> = tasks[0].keys().collect();
    assert_eq!(keys, ["name", "attributes", "z"]);
    let attribute_keys: Vec<&str> = tasks[0]["attributes"].as_map().unwrap().keys().collect();
    assert_eq!(
        attribute_keys,
        ["stage", "dataset", "provider", "src_locale", "trg_locale"]
    );
}

#[test]
fn category_and_provider_narrow_the_datasets() {
    let out = run_json(
        &setup(),
        false,
        r#"{"name": "n-{dataset}", "dataset-config": {"category": "train", "provider": "opus", "substitution-fields": ["name"]}}"#,
    )
    .unwrap();
    let expected = json(
        r#"[{"name": "n-opus_Books/v1", "attributes": {"provider": "opus", "dataset": "Books/v1", "src_locale": "en", "trg_locale": "ru"}}]"#,
    );
    assert_eq!(out, expected);

    let unknown_category = run_json(
        &setup(),
        false,
        r#"{"name": "n", "dataset-config": {"category": "nope"}}"#,
    )
    .unwrap();
    assert_eq!(unknown_category, Value::List(Vec::new()));
}

#[test]
fn excluded_language_pairs_make_no_tasks() {
    let excluded = run_json(
        &setup(),
        false,
        r#"{"name": "n", "dataset-config": {"exclude-locales": [{"src": "de", "trg": "en"}, {"src": "en", "trg": "ru"}]}}"#,
    )
    .unwrap();
    assert_eq!(excluded, Value::List(Vec::new()));

    let reversed_pair = run_json(
        &setup(),
        false,
        r#"{"name": "n", "dataset-config": {"category": "mono-trg", "exclude-locales": [{"src": "ru", "trg": "en"}]}}"#,
    )
    .unwrap();
    let expected = json(
        r#"[{"name": "n", "attributes": {"provider": "news-crawl", "dataset": "news.2020", "src_locale": "en", "trg_locale": "ru"}}]"#,
    );
    assert_eq!(reversed_pair, expected);
}

#[test]
fn an_excluded_pair_never_reads_the_dataset_names() {
    let setup = Setup {
        params: json_map(
            r#"{"training_config": {"experiment": {"src": "en", "trg": "ru"}, "datasets": {"train": [1]}}}"#,
        ),
        ..Setup::default()
    };
    let task =
        r#"{"name": "n", "dataset-config": {"exclude-locales": [{"src": "en", "trg": "ru"}]}}"#;
    assert_eq!(
        run_json(&setup, false, task).unwrap(),
        Value::List(Vec::new())
    );

    let message = run_json(&setup, false, r#"{"name": "n"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("must list dataset names, not int"),
        "{message}"
    );
}

#[test]
fn mono_adds_the_locale_of_its_category() {
    let source = run_json(
        &setup(),
        true,
        r#"{"name": "{locale}-{dataset_sanitized}", "description": "{dataset} {src_locale}", "dataset-config": {"category": "mono-src", "substitution-fields": ["name", "description"]}}"#,
    )
    .unwrap();
    let expected = json(
        r#"[{"name": "en-news_2021", "description": "news-crawl_news.2021 en", "attributes": {"provider": "news-crawl", "dataset": "news.2021", "locale": "en", "src_locale": "en", "trg_locale": "ru"}},
            {"name": "en-tldr-pages_v2023-08-29", "description": "opus_tldr-pages/v2023-08-29 en", "attributes": {"provider": "opus", "dataset": "tldr-pages/v2023-08-29", "locale": "en", "src_locale": "en", "trg_locale": "ru"}}]"#,
    );
    assert_eq!(source, expected);

    let target = run_json(
        &setup(),
        true,
        r#"{"name": "{locale}-{provider}", "dataset-config": {"category": "mono-trg", "substitution-fields": ["name"]}}"#,
    )
    .unwrap();
    let expected = json(
        r#"[{"name": "ru-news-crawl", "attributes": {"provider": "news-crawl", "dataset": "news.2020", "locale": "ru", "src_locale": "en", "trg_locale": "ru"}}]"#,
    );
    assert_eq!(target, expected);
}

#[test]
fn mono_needs_a_mono_category_unless_the_pair_is_excluded() {
    let message = run_json(&setup(), true, r#"{"name": "n", "dataset-config": {}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("from_datasets:mono can only be used with mono-src and mono-trg"),
        "{message}"
    );

    let excluded = run_json(
        &setup(),
        true,
        r#"{"name": "n", "dataset-config": {"exclude-locales": [{"src": "en", "trg": "ru"}]}}"#,
    )
    .unwrap();
    assert_eq!(excluded, Value::List(Vec::new()));
}

#[test]
fn missing_parameters_and_fields_are_named() {
    let no_datasets = Setup {
        params: json_map(r#"{"training_config": {"experiment": {"src": "en", "trg": "ru"}}}"#),
        ..Setup::default()
    };
    let message = run_json(&no_datasets, false, r#"{"name": "n"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("`training_config.datasets` (KeyError: 'datasets')"),
        "{message}"
    );

    let message = run_json(
        &setup(),
        false,
        r#"{"name": "n", "dataset-config": {"substitution-fields": ["worker.env"]}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("substitution field `worker.env` does not exist"),
        "{message}"
    );

    // Without tasks nothing is read, as in Python.
    let nothing = Setup::default();
    assert!(
        run(&nothing, &per_dataset(), Vec::new())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn dataset_names_need_a_provider() {
    let setup = Setup {
        params: json_map(
            r#"{"training_config": {"experiment": {"src": "en", "trg": "ru"}, "datasets": {"train": ["nounderscore"]}}}"#,
        ),
        ..Setup::default()
    };
    let message = run_json(&setup, false, r#"{"name": "n"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("dataset `nounderscore`") && message.contains("no `_`"),
        "{message}"
    );
}

#[test]
fn the_schema_is_checked_first() {
    let message = run_json(
        &setup(),
        false,
        r#"{"name": "n", "dataset-config": {"exclude-locales": [{"src": "en"}]}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(message.contains("trg"), "{message}");
}

#[test]
fn copies_do_not_share_state() {
    // Substituting into one copy must not change the next one.
    let tasks = run(
        &setup(),
        &per_dataset(),
        vec![map! {
            "name" => "n",
            "list" => Value::str_list(["{provider}"]),
            "dataset-config" => map! {
                "category" => "devtest",
                "substitution-fields" => Value::str_list(["list"]),
            },
        }],
    )
    .unwrap();
    let lists: Vec<&Value> = tasks.iter().map(|t| &t["list"]).collect();
    assert_eq!(
        lists,
        [&Value::str_list(["flores"]), &Value::str_list(["opus"])]
    );
}

#[test]
fn datasets_must_be_a_mapping_once_they_are_indexed() {
    let setup = Setup {
        params: json_map(
            r#"{"training_config": {"experiment": {"src": "en", "trg": "ru"}, "datasets": ["opus_x"]}}"#,
        ),
        ..Setup::default()
    };

    // `mono` checks the exclusion before it looks at the datasets.
    let mono_task = r#"{"name": "n", "dataset-config": {
        "exclude-locales": [{"src": "en", "trg": "ru"}], "category": "mono-src"}}"#;
    assert_eq!(
        run_json(&setup, true, mono_task).unwrap(),
        Value::List(Vec::new())
    );

    // `per_dataset` collects the datasets first.
    let task =
        r#"{"name": "n", "dataset-config": {"exclude-locales": [{"src": "en", "trg": "ru"}]}}"#;
    let message = run_json(&setup, false, task).unwrap_err().to_string();
    assert!(
        message.contains("`training_config.datasets` must be a mapping, not list"),
        "{message}"
    );
}
