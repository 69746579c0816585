//! Small helpers shared by transforms.

pub mod archive;
pub mod docker;
pub mod docker_context;
pub mod ordered;
pub mod parameterization;
pub mod path;
pub mod time;
pub mod treeherder;
pub mod words;
pub mod workers;
