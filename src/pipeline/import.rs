//! The live import: transform, batch, send with flow control, record every outcome.
