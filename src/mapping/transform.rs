//! The one transform: a source record → the exact JSON event the import sends, plus its issues.
