//! Task graphs over labels (placeholder until written).
