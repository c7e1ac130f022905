//! The rejected-rows CSV: original columns plus `_row`, `_field`, `_reason`.
