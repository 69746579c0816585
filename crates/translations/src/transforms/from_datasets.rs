//! `from_datasets`: one task per dataset of the training config.
//!
//! A task's `dataset-config` says which datasets it runs on: those of one
//! `category` of `training_config.datasets` (else of every category), only
//! from one `provider` if given, and none at all when the experiment's
//! language pair is in `exclude-locales`. Each copy gets the attributes
//! `provider`, `dataset` (the name without its provider), `src_locale` and
//! `trg_locale`, and the fields listed in `substitution-fields` are
//! formatted with `provider`, `dataset` (the full name),
//! `dataset_sanitized`, `src_locale` and `trg_locale`; placeholders these do
//! not cover are left for later passes.
//!
//! `mono` does the same for the `mono-src` and `mono-trg` categories only,
//! and also provides `locale`: the experiment's source or target language,
//! by category.
//!
//! The Python code collects the datasets in a `set`, so its task order
//! changes from run to run; here they come out sorted by full name.

use std::sync::LazyLock;

use taskgraph::python::object_type_name;
use taskgraph::schema::{Extra, Schema, dict, opt, req, str_list};
use taskgraph::transform::{TaskDesc, TransformConfig, TransformRef, fan_out, validate};
use taskgraph::util::ordered;
use taskgraph::{Error, Map, Registry, Result, Value};

use crate::util::datasets::sanitize_dataset_name;

pub(crate) mod task_fields;
#[cfg(test)]
pub(crate) mod test_kind;
pub(crate) mod training_config;

use task_fields::{dict_setdefault, substitute_fields};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let locale_pair = dict([req("src", Schema::Str), req("trg", Schema::Str)]);
    dict([opt(
        "dataset-config",
        dict([
            opt("substitution-fields", str_list()),
            opt("category", Schema::Str),
            opt("provider", Schema::Str),
            opt("exclude-locales", Schema::ListOf(vec![locale_pair.into()])),
        ])
        .into(),
    )])
    .allow_extra()
    .into()
});

pub fn register(registry: &mut Registry) {
    registry.add_transforms(
        "translations_taskgraph.transforms.from_datasets:per_dataset",
        per_dataset(),
    );
    registry.add_transforms(
        "translations_taskgraph.transforms.from_datasets:mono",
        mono(),
    );
}

/// The `per_dataset` sequence: one task per dataset of any category.
pub fn per_dataset() -> Vec<TransformRef> {
    vec![
        validate("from_datasets:validate", &SCHEMA, Extra::Allow),
        fan_out("from_datasets:jobs_from_datasets", jobs_from_datasets),
    ]
}

/// The `mono` sequence: one task per monolingual dataset, with `locale`.
pub fn mono() -> Vec<TransformRef> {
    vec![
        validate("from_datasets:validate", &SCHEMA, Extra::Allow),
        fan_out(
            "from_datasets:jobs_for_mono_datasets",
            jobs_for_mono_datasets,
        ),
    ]
}

/// A task's `dataset-config`, with the defaults the Python code reads.
#[derive(Debug)]
struct DatasetConfig {
    category: Option<String>,
    provider: String,
    substitution_fields: Vec<String>,
    exclude_locales: Vec<Value>,
}

/// What every copy of the task shares: the experiment's languages and the
/// training config's datasets.
#[derive(Debug)]
struct Experiment<'p> {
    /// Checked to be a mapping only when it is indexed, as in Python.
    datasets: &'p Value,
    src: &'p Value,
    trg: &'p Value,
}

fn jobs_from_datasets(config: &TransformConfig<'_>, mut task: TaskDesc) -> Result<Vec<TaskDesc>> {
    let options = take_dataset_config(&mut task.fields)?;
    let experiment = read_experiment(config)?;

    let category = options.category.as_deref().unwrap_or_default();
    let included = included_datasets(experiment.datasets, category)?;

    if is_excluded(&options, &experiment) {
        return Ok(Vec::new());
    }

    each_dataset(&task, &options, &experiment, &included, None)
}

fn jobs_for_mono_datasets(
    config: &TransformConfig<'_>,
    mut task: TaskDesc,
) -> Result<Vec<TaskDesc>> {
    let options = take_dataset_config(&mut task.fields)?;
    let experiment = read_experiment(config)?;

    if is_excluded(&options, &experiment) {
        return Ok(Vec::new());
    }

    let locale = match options.category.as_deref() {
        Some("mono-src") => experiment.src,
        Some("mono-trg") => experiment.trg,
        _ => {
            return Err(Error::transform(
                "from_datasets:mono can only be used with mono-src and mono-trg categories",
            )
            .at_field("dataset-config.category"));
        }
    };
    let category = options.category.as_deref().unwrap_or_default();
    let included = included_datasets(experiment.datasets, category)?;

    each_dataset(&task, &options, &experiment, &included, Some(locale))
}

/// Removes `dataset-config` from the task and reads its options.
fn take_dataset_config(task: &mut Map) -> Result<DatasetConfig> {
    let dataset_config = task
        .shift_remove("dataset-config")
        .unwrap_or_else(|| Value::Map(Map::default()));
    let string = |key: &str| -> Result<Option<String>> {
        match dataset_config.get(key) {
            None => Ok(None),
            Some(Value::Str(text)) => Ok(Some(text.clone())),
            Some(other) => Err(wrong_type(key, "a string", other)),
        }
    };
    let list = |key: &str| -> Result<Vec<Value>> {
        match dataset_config.get(key) {
            None => Ok(Vec::new()),
            Some(Value::List(items)) => Ok(items.clone()),
            Some(other) => Err(wrong_type(key, "a list", other)),
        }
    };

    let substitution_fields = list("substitution-fields")?
        .iter()
        .map(|field| match field {
            Value::Str(text) => Ok(text.clone()),
            other => Err(wrong_type(
                "substitution-fields",
                "a list of strings",
                other,
            )),
        })
        .collect::<Result<_>>()?;
    Ok(DatasetConfig {
        category: string("category")?,
        provider: string("provider")?.unwrap_or_default(),
        substitution_fields,
        exclude_locales: list("exclude-locales")?,
    })
}

fn wrong_type(key: &str, wanted: &str, got: &Value) -> Error {
    Error::schema(format!(
        "`dataset-config.{key}` must be {wanted}, not {}",
        object_type_name(got)
    ))
    .at_field(&format!("dataset-config.{key}"))
}

fn read_experiment<'p>(config: &TransformConfig<'p>) -> Result<Experiment<'p>> {
    let params = config.params;
    Ok(Experiment {
        datasets: training_config::required(params, "training_config.datasets")?,
        src: training_config::required(params, "training_config.experiment.src")?,
        trg: training_config::required(params, "training_config.experiment.trg")?,
    })
}

/// `{"src": src, "trg": trg} in exclude_locales`, with Python's equality
/// (an entry with extra keys does not match).
fn is_excluded(options: &DatasetConfig, experiment: &Experiment<'_>) -> bool {
    let mut pair = Map::default();
    pair.insert("src", experiment.src.clone());
    pair.insert("trg", experiment.trg.clone());
    let pair = Value::Map(pair);
    options.exclude_locales.contains(&pair)
}

/// The distinct entries of `category`'s dataset list, or of every
/// category's when it is empty, sorted (a Python `set` in the reference).
///
/// Entries are checked to be names only when copies are made, as Python
/// fails on them only then: a language pair in `exclude-locales` makes no
/// copies and raises nothing.
fn included_datasets(datasets: &Value, category: &str) -> Result<Vec<Value>> {
    let datasets = training_config::datasets_map(datasets)?;
    let mut entries = Vec::new();
    if category.is_empty() {
        for (name, list) in datasets {
            entries.extend_from_slice(category_entries(name, list)?);
        }
    } else if let Some(list) = datasets.get(category) {
        entries.extend_from_slice(category_entries(category, list)?);
    }

    entries.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    entries.dedup();
    Ok(entries)
}

/// The items of one category's list; lists and mappings cannot go into a
/// Python set, so they fail here.
fn category_entries<'p>(category: &str, list: &'p Value) -> Result<&'p [Value]> {
    let field = format!("training_config.datasets.{category}");
    let Value::List(items) = list else {
        return Err(Error::params(format!(
            "parameter `{field}` must be a list of dataset names, not {}",
            object_type_name(list)
        )));
    };
    if let Some(unhashable) = items
        .iter()
        .find(|item| matches!(item, Value::List(_) | Value::Map(_)))
    {
        return Err(Error::params(format!(
            "parameter `{field}` holds a {}, not a dataset name (TypeError: unhashable type)",
            object_type_name(unhashable)
        )));
    }
    Ok(items)
}

/// The included entries as names: each must be a string, as Python then
/// calls `.split` on it.
fn dataset_names(included: &[Value]) -> Result<Vec<&str>> {
    included
        .iter()
        .map(|entry| {
            entry.as_str().ok_or_else(|| {
                Error::params(format!(
                    "`training_config.datasets` must list dataset names, not {}",
                    object_type_name(entry)
                ))
            })
        })
        .collect()
}

/// One copy of `task` per dataset of `included` that passes the provider
/// filter. `locale` is given for the mono categories.
fn each_dataset(
    task: &TaskDesc,
    options: &DatasetConfig,
    experiment: &Experiment<'_>,
    included: &[Value],
    locale: Option<&Value>,
) -> Result<Vec<TaskDesc>> {
    // The copies are independent, and a training config can list dozens
    // of datasets: they are made on all cores, in order.
    let names = dataset_names(included)?;
    let copies = ordered::try_map(&names, |full_dataset| {
        let (provider, dataset) = split_dataset(full_dataset)?;
        if !options.provider.is_empty() && options.provider != provider {
            return Ok(None);
        }

        let mut copy = task.clone();
        let subs = substitutions(full_dataset, provider, dataset, experiment, locale);
        substitute_fields(&mut copy.fields, &options.substitution_fields, &subs)?;

        let attributes = dict_setdefault(&mut copy.fields, "attributes")?;
        attributes.insert("provider", Value::from(provider));
        attributes.insert("dataset", Value::from(dataset));
        if let Some(locale) = locale {
            attributes.insert("locale", locale.clone());
        }
        attributes.insert("src_locale", experiment.src.clone());
        attributes.insert("trg_locale", experiment.trg.clone());
        Ok(Some(copy))
    })?;
    Ok(copies.into_iter().flatten().collect())
}

/// `provider_name` split at its first `_`.
fn split_dataset(full_dataset: &str) -> Result<(&str, &str)> {
    full_dataset.split_once('_').ok_or_else(|| {
        Error::params(format!(
            "dataset `{full_dataset}` of `training_config.datasets` has no `_` between \
             its provider and its name (ValueError: not enough values to unpack)"
        ))
    })
}

fn substitutions(
    full_dataset: &str,
    provider: &str,
    dataset: &str,
    experiment: &Experiment<'_>,
    locale: Option<&Value>,
) -> Map {
    let mut subs = Map::default();
    subs.insert("provider", Value::from(provider));
    subs.insert("dataset", Value::from(full_dataset));
    subs.insert(
        "dataset_sanitized",
        Value::from(sanitize_dataset_name(dataset)),
    );
    if let Some(locale) = locale {
        subs.insert("locale", locale.clone());
    }
    subs.insert("src_locale", experiment.src.clone());
    subs.insert("trg_locale", experiment.trg.clone());
    subs
}

#[cfg(test)]
mod tests;
