//! Task-graph generation for Taskcluster.
//!
//! This crate turns a taskgraph project directory (`config.yml` and
//! `kinds/*/kind.yml`) plus a parameters file into the full, target and
//! optimized task graphs, producing the same graphs as Python
//! taskcluster-taskgraph 15.1.3 task by task. It does no network I/O:
//! everything that would ask a Taskcluster deployment goes through traits
//! the caller provides.

pub mod error;
pub mod graph;
pub mod python;
pub mod value;
pub mod yaml;

pub use error::{Error, ErrorKind, Location, Result};
pub use value::{Map, Value};
