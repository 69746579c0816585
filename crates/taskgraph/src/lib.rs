//! Task-graph generation for Taskcluster.
//!
//! This crate turns a taskgraph project directory (`config.yml` and
//! `kinds/*/kind.yml`) plus a parameters file into the full, target and
//! optimized task graphs, producing the same graphs as Python
//! taskcluster-taskgraph 15.1.3 task by task. It does no network I/O:
//! everything that would ask a Taskcluster deployment goes through traits
//! the caller provides.
//!
//! The main entry point is [`generator::generate`], with a [`Registry`]
//! holding the transforms, loaders and target-task methods that kinds name.
//!
//! ```no_run
//! use taskgraph::generator::{generate, GenerateOptions, Phase};
//! use taskgraph::Registry;
//!
//! let registry = Registry::with_builtins();
//! let options = GenerateOptions::new("taskcluster", Some("params.yml".into()));
//! let generation = generate(&registry, &options, Phase::TargetTaskGraph)?;
//! println!("{} target tasks", generation.target_task_set.map_or(0, |s| s.len()));
//! # Ok::<(), taskgraph::Error>(())
//! ```

pub mod config;
pub mod digest;
pub mod error;
pub mod explain;
pub mod generator;
pub mod graph;
pub mod hash;
pub mod keyed_by;
pub mod kind;
pub mod optimize;
pub mod params;
pub mod python;
pub mod registry;
pub mod schema;
pub mod target;
pub mod task;
pub mod template;
pub mod transform;
pub mod transforms;
pub mod util;
pub mod value;
pub mod vcs;
pub mod verify;
pub mod yaml;

pub use error::{Error, ErrorKind, Location, Result};
pub use registry::Registry;
pub use value::{Map, Value};
