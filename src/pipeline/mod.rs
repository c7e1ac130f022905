//! The dry-run check and the live import over the same stream of transformed events.
