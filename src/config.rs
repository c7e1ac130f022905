//! The app's config file: saved connections (never their secrets), recent files, templates.
