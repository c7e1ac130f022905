//! One file per wizard step; each step is a struct with a `ui` function.

pub mod check;
pub mod connect;
pub mod file;
pub mod import;
pub mod map;
pub mod review;
