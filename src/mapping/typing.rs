//! Property types: inferring a column's type from its values and converting text to JSON.

use serde::{Deserialize, Serialize};

/// The type a column's text is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PropertyType {
    /// Sent as a JSON string (ids and zip codes with leading zeros stay text).
    #[default]
    Text,
    /// Sent as a JSON number.
    Number,
    /// `true/false`, `yes/no`, `1/0` sent as a JSON boolean.
    Boolean,
    /// A date or date-time sent as ISO `YYYY-MM-DDTHH:MM:SS` (UTC).
    Date,
    /// A list: JSON array text, or values separated by `,` `;` or `|`, sent as a JSON array of strings.
    List,
}
