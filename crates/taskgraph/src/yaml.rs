//! YAML 1.1 loading (placeholder until written).
