//! Helpers shared by the golden-file tests and the benchmarks.
