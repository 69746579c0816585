//! Optimization: which tasks of the target graph run, which are replaced by
//! tasks that already exist, and which are left out; then task ids.

pub mod lookup;
