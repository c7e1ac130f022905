//! The dry-run check: every row through the transform, counted and grouped.
