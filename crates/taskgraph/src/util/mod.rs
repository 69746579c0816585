//! Small helpers shared by transforms.

pub mod archive;
pub mod docker;
pub mod docker_context;
pub mod path;
pub mod treeherder;
pub mod workers;
