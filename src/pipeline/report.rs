//! The run report (JSON) of an import.
