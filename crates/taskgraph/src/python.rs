//! Python behaviour that leaks into outputs (placeholder until written).

use crate::value::Value;

/// Formats a value like Python's `str()`.
pub fn py_str(value: &Value) -> String {
    format!("{value:?}")
}
