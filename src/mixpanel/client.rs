//! The HTTP client: one batch to `/import` with retries, backoff and splitting.
