//! A loopback Taskcluster for graphgen's tests.
//!
//! [`FakeTaskcluster`] answers the queue and index endpoints graphgen
//! calls (createTask, task definitions and statuses, listTaskGroup,
//! listDependentTasks, statuses, findTasksAtIndex, findTask) from an
//! in-memory store that tests seed and inspect. It checks what the real
//! services check where a client could get it wrong: createTask bodies
//! against the queue's own JSON schema (bundled from Taskcluster 106.0.0
//! by `scripts/bundle-queue-schemas.py`), the queue's checks of times,
//! dependencies, scheduler ids and idempotency, and Hawk signatures over
//! the path *and* query. Faults ([`Fault`]) make an endpoint answer an
//! error, stall, or drop the connection before or after acting, so that
//! retry logic can be tested against each.
//!
//! [`loopback`] is the small HTTP server underneath, which tests can also
//! use directly to serve hand-written answers.
//!
//! ```no_run
//! use fake_taskcluster::{Fault, FakeTaskcluster, Route};
//!
//! let queue = FakeTaskcluster::builder()
//!     .credentials("project/tests", "a-token")
//!     .page_size(2)
//!     .start();
//! queue.fail(Route::CreateTask, None, Fault::DropAfter, 1);
//! // ... point a client at queue.root_url() ...
//! assert!(queue.created().is_empty());
//! ```

pub mod loopback;
pub mod queue;

#[cfg(test)]
mod test_client;

pub use queue::{
    Auth, CreatedTask, FakeTaskcluster, FakeTaskclusterBuilder, Fault, RecordedRequest, Route,
    TASK_STATES,
};
