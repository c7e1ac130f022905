//! Suggesting a mapping from column names and sample values.
