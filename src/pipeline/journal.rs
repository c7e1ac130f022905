//! The resume journal: which row ranges Mixpanel acknowledged, crash-safe.
