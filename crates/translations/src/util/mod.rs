//! Helpers the translations transforms share.

pub mod datasets;
pub mod substitution;
pub mod upload;
