//! Country values → ISO 3166-1 alpha-2 codes (`mp_country_code`).

/// Resolve a free-text country value (alpha-2, alpha-3, English name or a common alias such as
/// `USA`, `U.S.`, `UK`, `Great Britain`, `Deutschland`) to its upper-case alpha-2 code.
/// Case, surrounding space and punctuation do not matter. `None` when unknown.
pub fn resolve_country(value: &str) -> Option<&'static str> {
    let _ = value;
    todo!("country::resolve_country")
}

/// Whether `code` is an assigned ISO 3166-1 alpha-2 code (upper case).
pub fn is_alpha2(code: &str) -> bool {
    let _ = code;
    todo!("country::is_alpha2")
}

/// The English short name of an alpha-2 code, for display (`DE` → `Germany`).
pub fn country_name(code: &str) -> Option<&'static str> {
    let _ = code;
    todo!("country::country_name")
}

/// Every country as (alpha-2, English name), sorted by name, for pickers.
pub fn all_countries() -> Vec<(&'static str, &'static str)> {
    todo!("country::all_countries")
}
