//! The built-in transforms, registered under the reference's module names.
//!
//! | name                                   | what it does                                      |
//! |----------------------------------------|---------------------------------------------------|
//! | `taskgraph.transforms.task_context`    | fills `{placeholders}` from parameters/files/data |
//! | `taskgraph.transforms.chunking`        | splits a task into `total-chunks` tasks           |
//! | `taskgraph.transforms.matrix`          | splits a task over a matrix of values             |
//! | `taskgraph.transforms.from_deps`       | one task per (group of) kind-dependency tasks     |
//! | `taskgraph.transforms.run`             | `run:` sections to task descriptions              |
//! | `taskgraph.transforms.docker_image`    | image-building tasks of the docker-image kind     |
//! | `taskgraph.transforms.fetch`           | download-once tasks of fetch kinds                |
//! | `taskgraph.transforms.cached_tasks`    | digests, cache routes and index-search            |
//! | `taskgraph.transforms.task`            | task descriptions to Taskcluster definitions      |

pub mod cached_tasks;
pub mod chunking;
pub mod docker_image;
pub mod fetch;
pub mod from_deps;
pub mod matrix;
pub mod payload;
pub mod run;
pub mod task;
pub mod task_context;

use crate::registry::Registry;

/// Registers every built-in transform, run-using, payload and index builder.
pub fn register(registry: &mut Registry) {
    registry.add_transforms(
        "taskgraph.transforms.task_context",
        task_context::transforms(),
    );
    registry.add_transforms("taskgraph.transforms.chunking", chunking::transforms());
    registry.add_transforms("taskgraph.transforms.matrix", matrix::transforms());
    registry.add_transforms("taskgraph.transforms.from_deps", from_deps::transforms());
    registry.add_transforms("taskgraph.transforms.run", run::transforms());
    registry.add_transforms(
        "taskgraph.transforms.docker_image",
        docker_image::transforms(),
    );
    registry.add_transforms("taskgraph.transforms.fetch", fetch::transforms());
    registry.add_transforms(
        "taskgraph.transforms.cached_tasks",
        cached_tasks::transforms(),
    );
    registry.add_transforms("taskgraph.transforms.task", task::transforms());
    run::register(registry);
    fetch::register(registry);
    task::register(registry);
}
