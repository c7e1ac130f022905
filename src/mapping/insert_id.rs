//! `$insert_id`: validating ids from a column and deriving deterministic ones.
