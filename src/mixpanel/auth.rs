//! Credentials: service account or project token; secrets never printed.
