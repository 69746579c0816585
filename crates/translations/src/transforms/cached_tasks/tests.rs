//! Expected digests, routes and digest lines were computed by running the
//! reference's `translations_taskgraph.transforms.cached_tasks` on the same
//! repository files, parameters and tasks.

use taskgraph::digest::InputSource;
use taskgraph::transform::TaskDesc;

use super::NAME;
use super::test_support::{Harness, dumps, dumps_field, json_map};

const TRAINING_CONFIG: &str = r#"{"experiment": {"src": "en", "trg": "ru", "teacher-ensemble": 2, "flag": true},
    "marian-args": {"training-teacher": {"early-stopping": 20, "after": "10e"}}}"#;

const FROM_PARAMETERS: &str = r#"{"src": "training_config.experiment.src",
    "args": "training_config.marian-args.training-teacher",
    "first": ["training_config.missing", "training_config.experiment.trg"],
    "none": ["training_config.a", "training_config.b"],
    "flag": "training_config.experiment.flag",
    "missing": "training_config.nope"}"#;

/// The second chunk depends on the first (same kind) and on a cached
/// toolchain; the first has no provider, so its resources are the default.
fn tasks(from_parameters: &str) -> String {
    let resources = r#"{"by-provider": {"opus": ["pipeline/train/train.py", "pipeline/langs"],
        "default": ["pipeline/langs/codes.py"]}}"#;
    let cache = format!(
        r#"{{"type": "train-teacher-model", "resources": {resources},
            "from-parameters": {from_parameters}, "version": 2}}"#
    );
    format!(
        r#"[
        {{"label": "train-teacher-model-en-ru-2/2", "description": "d 2",
          "attributes": {{"provider": "opus", "cache": {cache}}},
          "worker": {{"command": ["bash", ["-c", "echo é"]], "chain-of-trust": true}},
          "dependencies": {{"toolchain": "toolchain-marian", "prev": "train-teacher-model-en-ru-1/2"}}}},
        {{"label": "train-teacher-model-en-ru-1/2", "description": "d 1",
          "attributes": {{"provider": null, "cache": {cache}}},
          "worker": {{"command": ["bash", ["-c", "echo é"]]}},
          "dependencies": {{"toolchain": "toolchain-marian"}}}}
        ]"#
    )
}

fn harness() -> Harness {
    let mut harness = Harness::new("train-teacher-model");
    harness
        .file("pipeline/train/train.py", "print('train')\n")
        .file("pipeline/langs/codes.py", "CODES = {}\n")
        .file("pipeline/langs/scripts.py", "SCRIPTS = []\n")
        .commit();
    harness.params.insert(
        "training_config",
        taskgraph::Value::Map(json_map(TRAINING_CONFIG)),
    );
    harness.cached_dependency(
        "toolchain-marian",
        r#"{"type": "toolchains.v3", "name": "marian", "digest": "abc123"}"#,
    );
    harness
}

/// The lines the reference hashes (an input may hold several).
fn digest_lines(task: &TaskDesc) -> Vec<String> {
    let record = task.digest.as_deref().expect("a digest record");
    record
        .inputs
        .iter()
        .flat_map(|i| i.text.split('\n'))
        .map(str::to_owned)
        .collect()
}

const FIRST_DIGEST: &str = "79d41a245d1d5278c2fda33da044ea6fa44b270db2da9a7d56b8bb95d45eea9a";
const SECOND_DIGEST: &str = "8cc7175c22543010e0c3ab886bb91787f64dd80aacacaeb311e0a816665a528b";

#[test]
fn digests_match_the_reference() {
    let out = harness().run(NAME, &tasks(FROM_PARAMETERS)).unwrap();

    let labels: Vec<&str> = out.iter().filter_map(|t| t.get_str("label")).collect();
    assert_eq!(
        labels,
        [
            "train-teacher-model-en-ru-1/2",
            "train-teacher-model-en-ru-2/2"
        ],
        "a parent of the same kind is digested first"
    );

    let command = ["b", "a", "s", "h", "-c", "echo é"];
    let parameters = [
        "src:en",
        "args:{'early-stopping': 20, 'after': '10e'}",
        "first:ru",
        "flag:True",
        "missing:None",
        "2",
    ];
    let mut first: Vec<String> = command.iter().map(|s| (*s).to_owned()).collect();
    first.push("ce941ae25d8d284b222213c20ea92f5089455fd98eb962bde2c071b9ead1c390".to_owned());
    first.extend(parameters.iter().map(|s| (*s).to_owned()));
    first.push("toolchains.v3/marian/abc123".to_owned());
    assert_eq!(digest_lines(&out[0]), first);

    let mut second: Vec<String> = command.iter().map(|s| (*s).to_owned()).collect();
    second.push("4f0439b86c05b631a4b58bf366acecefd025d54f152a17a28b515bf7b176a8ea".to_owned());
    second.extend(parameters.iter().map(|s| (*s).to_owned()));
    second.push("toolchains.v3/marian/abc123".to_owned());
    second.push(format!(
        "train-teacher-model/train-teacher-model-en-ru-1_2/{FIRST_DIGEST}"
    ));
    second.push("True".to_owned());
    assert_eq!(digest_lines(&out[1]), second);

    assert_eq!(
        dumps_field(&out[0], "optimization"),
        format!(
            r#"{{"index-search": ["translations.cache.level-3.train-teacher-model.train-teacher-model-en-ru-1_2.hash.{FIRST_DIGEST}"]}}"#
        )
    );
    assert_eq!(
        dumps_field(&out[1], "routes"),
        format!(
            r#"["index.translations.cache.level-3.train-teacher-model.train-teacher-model-en-ru-2_2.hash.{SECOND_DIGEST}", "index.translations.cache.level-3.train-teacher-model.train-teacher-model-en-ru-2_2.latest", "index.translations.cache.level-3.train-teacher-model.train-teacher-model-en-ru-2_2.pushdate.2023.11.14.20231114221320"]"#
        )
    );
    assert_eq!(
        dumps(
            out[1]
                .get("attributes")
                .unwrap()
                .get("cached_task")
                .unwrap()
        ),
        format!(
            r#"{{"type": "train-teacher-model", "name": "train-teacher-model-en-ru-2_2", "digest": "{SECOND_DIGEST}"}}"#
        )
    );
    assert!(
        out[1].get("cache").is_none(),
        "the cache section is consumed"
    );
}

#[test]
fn resources_are_resolved_by_provider_in_the_attributes() {
    let out = harness().run(NAME, &tasks(FROM_PARAMETERS)).unwrap();
    let resources = |task: &TaskDesc| {
        dumps(
            task.get("attributes")
                .and_then(|a| a.get("cache"))
                .and_then(|c| c.get("resources"))
                .unwrap(),
        )
    };
    assert_eq!(resources(&out[0]), r#"["pipeline/langs/codes.py"]"#);
    assert_eq!(
        resources(&out[1]),
        r#"["pipeline/train/train.py", "pipeline/langs"]"#
    );
}

#[test]
fn pull_requests_use_the_pr_route() {
    let mut harness = harness();
    harness
        .params
        .insert("tasks_for", "github-pull-request".into());
    harness.params.insert("level", "1".into());
    let out = harness.run(NAME, &tasks(FROM_PARAMETERS)).unwrap();

    let index = |level: &str| {
        format!(
            "translations.cache.{level}.train-teacher-model.train-teacher-model-en-ru-1_2.hash.{FIRST_DIGEST}"
        )
    };
    assert_eq!(
        dumps_field(&out[0], "optimization"),
        format!(
            r#"{{"index-search": ["{}", "{}", "{}", "{}"]}}"#,
            index("level-3"),
            index("level-2"),
            index("level-1"),
            index("pr")
        )
    );
    assert_eq!(
        dumps_field(&out[0], "routes"),
        format!(r#"["index.{}"]"#, index("pr"))
    );
}

#[test]
fn the_record_says_where_each_line_came_from() {
    let out = harness().run(NAME, &tasks(FROM_PARAMETERS)).unwrap();
    let record = out[1].digest.as_deref().unwrap();
    assert_eq!(record.digest, SECOND_DIGEST);
    assert_eq!(record.cache_name, "train-teacher-model-en-ru-2_2");

    let sources: Vec<&InputSource> = record.inputs.iter().map(|i| &i.source).collect();
    assert!(matches!(sources[0], InputSource::Characters), "bash");
    assert_eq!(record.inputs[0].text, "b\na\ns\nh");
    assert!(matches!(sources[1], InputSource::Data), "-c");
    let InputSource::Files { patterns, files } = sources[3] else {
        panic!("the resource hash is a files line: {sources:?}");
    };
    assert_eq!(patterns, &["pipeline/train/train.py", "pipeline/langs"]);
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "pipeline/langs/codes.py",
            "pipeline/langs/scripts.py",
            "pipeline/train/train.py"
        ]
    );
    assert!(matches!(sources[4], InputSource::Parameter { name } if name == "src"));
    assert!(matches!(sources[8], InputSource::Parameter { name } if name == "missing"));
    assert!(matches!(sources[9], InputSource::Data), "the version");
    assert!(
        matches!(sources[11], InputSource::Parent { label } if label == "train-teacher-model-en-ru-1/2")
    );
    assert!(matches!(sources[12], InputSource::ChainOfTrust));
}

#[test]
fn an_uncached_parent_is_an_error() {
    let mut harness = harness();
    harness.dependencies.clear();
    let err = harness.run(NAME, &tasks(FROM_PARAMETERS)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(
            "cached task `train-teacher-model-en-ru-1/2` depends on `toolchain-marian`, which is not cached"
        ),
        "{text}"
    );
}

fn single_task(attributes: &str, command: &str) -> String {
    format!(
        r#"[{{"label": "build-vocab-en-ru", "description": "vocab",
            "attributes": {attributes}, "worker": {{"command": {command}}}}}]"#
    )
}

#[test]
fn a_string_command_contributes_its_characters_and_no_version_zero() {
    let out = harness()
        .run(
            NAME,
            &single_task(r#"{"cache": {"type": "vocab", "version": 0}}"#, r#""ab""#),
        )
        .unwrap();
    assert_eq!(digest_lines(&out[0]), ["a", "b"]);
}

#[test]
fn command_items_must_be_strings() {
    let harness = harness();
    let text = harness
        .run(
            NAME,
            &single_task(r#"{"cache": {"type": "vocab"}}"#, r#"[["a", 1]]"#),
        )
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("sequence item 1: expected str instance, int found"),
        "{text}"
    );

    let text = harness
        .run(NAME, &single_task(r#"{"cache": {"type": "vocab"}}"#, "[3]"))
        .unwrap_err()
        .to_string();
    assert!(text.contains("'int' object is not iterable"), "{text}");
    assert!(text.contains("worker.command"), "{text}");
}

#[test]
fn the_schema_requires_a_cache_type() {
    let text = harness()
        .run(
            NAME,
            &single_task(r#"{"cache": {"version": 1}}"#, r#"["a"]"#),
        )
        .unwrap_err()
        .to_string();
    assert!(text.contains("attributes.cache.type"), "{text}");
}

#[test]
fn resources_keyed_by_an_unknown_provider_need_a_default() {
    let err = harness()
        .run(
            NAME,
            &single_task(
                r#"{"provider": "news", "cache": {"type": "vocab",
                    "resources": {"by-provider": {"opus": ["pipeline/langs"], "url": ["pipeline/train"]}}}}"#,
                r#"["a"]"#,
            ),
        )
        .unwrap_err();
    assert_eq!(
        err.location().field.as_deref(),
        Some("attributes.cache.resources")
    );
    let text = err.to_string();
    assert!(
        text.contains("No provider matching 'news' nor 'default' found"),
        "{text}"
    );
    assert!(text.contains("`resources` in `vocab`"), "{text}");
}

#[test]
fn a_resource_pattern_matching_nothing_is_an_error() {
    let text = harness()
        .run(
            NAME,
            &single_task(
                r#"{"cache": {"type": "vocab", "resources": ["docs/**"]}}"#,
                r#"["a"]"#,
            ),
        )
        .unwrap_err()
        .to_string();
    assert!(text.contains("docs/**"), "{text}");
    assert!(text.contains("attributes.cache.resources"), "{text}");
}
