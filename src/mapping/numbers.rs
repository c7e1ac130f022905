//! Numbers as people write them: decimal comma or point, thousands groups, currency signs.
//!
//! `12,50`, `1.234,56`, `1 234,56` (decimal comma) and `1,234.56`, `1'234.56` (decimal point)
//! are read with the column's [`DecimalSeparator`]; a currency sign or ISO 4217 code before or
//! after the number (`€12,50`, `12,50 €`, `EUR 12.50`, `US$ 3`, `-$5`) is stripped and reported, so
//! the code can be sent as a property of its own. [`NumberProfile::of`] looks at a column's
//! sample values and decides which separator it uses, how many values are numbers, and which are
//! not (the outliers a person should see).

use serde::{Deserialize, Serialize};

/// The decimal separator of a number column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecimalSeparator {
    /// `1,234.56`: a point before the decimals (groups of thousands by `,`, space or `'`).
    #[default]
    Point,
    /// `1.234,56`: a comma before the decimals (groups of thousands by `.`, space or `'`).
    Comma,
}

impl DecimalSeparator {
    /// Whether this is the default (for `skip_serializing_if`).
    pub fn is_point(&self) -> bool {
        *self == DecimalSeparator::Point
    }

    /// How a person would recognise it: `1,234.56` or `1.234,56`.
    pub fn example(self) -> &'static str {
        match self {
            DecimalSeparator::Point => "1,234.56",
            DecimalSeparator::Comma => "1.234,56",
        }
    }

    fn char(self) -> u8 {
        match self {
            DecimalSeparator::Point => b'.',
            DecimalSeparator::Comma => b',',
        }
    }
}

/// Currency signs read before or after a number, and the ISO 4217 code each stands for. Longer
/// signs first (`US$` before `$`). `$` alone is read as US dollars.
const CURRENCY_SIGNS: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("R$", "BRL"),
    ("A$", "AUD"),
    ("C$", "CAD"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("¥", "JPY"),
    ("₹", "INR"),
    ("₽", "RUB"),
    ("₩", "KRW"),
    ("₺", "TRY"),
    ("₪", "ILS"),
    ("₫", "VND"),
    ("₴", "UAH"),
    ("zł", "PLN"),
    ("$", "USD"),
];

/// A number read from text: its canonical JSON form and the currency it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocaleNumber {
    /// The number as JSON number text (`-1234.56`).
    pub json: String,
    /// The ISO 4217 code of a currency sign or code next to it.
    pub currency: Option<&'static str>,
}

/// Strip a currency sign or ISO code from either end of `text` (with any spaces between).
fn strip_currency(text: &str) -> (&str, Option<&'static str>) {
    let text = text.trim_matches(is_space);
    // A sign may also sit between a leading minus and the digits: "-€5", "-$5".
    for (sign, code) in CURRENCY_SIGNS {
        if let Some(rest) = text.strip_prefix(sign) {
            return (rest.trim_start_matches(is_space), Some(code));
        }
        if let Some(rest) = text.strip_suffix(sign) {
            return (rest.trim_end_matches(is_space), Some(code));
        }
    }
    if text.len() > 3 {
        if let (Some(head), Some(tail)) = (text.get(..3), text.get(3..))
            && let Some(code) = currency_code(head)
            && tail.starts_with(is_space)
        {
            return (tail.trim_start_matches(is_space), Some(code));
        }
        let cut = text.len() - 3;
        if let (Some(head), Some(tail)) = (text.get(..cut), text.get(cut..))
            && let Some(code) = currency_code(tail)
            && head.ends_with(is_space)
        {
            return (head.trim_end_matches(is_space), Some(code));
        }
    }
    (text, None)
}

/// A three-letter ISO 4217 code, as the `iso_currency` crate knows them.
fn currency_code(text: &str) -> Option<&'static str> {
    if text.len() != 3 || !text.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    iso_currency::Currency::from_code(text).map(|c| c.code())
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\t')
}

/// Read `text` as a number written with `decimal`. `None` when it is not one.
pub fn parse_locale_number(text: &str, decimal: DecimalSeparator) -> Option<LocaleNumber> {
    let (body, mut currency) = strip_currency(text);
    let (negative, body) = match body.as_bytes().first()? {
        b'-' => (true, &body[1..]),
        b'+' => (false, &body[1..]),
        _ => (false, body),
    };
    // "-€5": the sign came first.
    let body = if currency.is_none() {
        let (inner, inner_currency) = strip_currency(body);
        currency = inner_currency;
        inner
    } else {
        body
    };
    if body.bytes().any(|b| matches!(b, b'e' | b'E')) {
        return scientific(body, negative, decimal).map(|json| LocaleNumber { json, currency });
    }
    let (int_part, frac_part) = match body.rfind(decimal.char() as char) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let mut digits = String::with_capacity(body.len() + 2);
    if negative {
        digits.push('-');
    }
    push_grouped_digits(int_part, decimal, &mut digits)?;
    if let Some(frac) = frac_part {
        if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.push('.');
        digits.push_str(frac);
    }
    Some(LocaleNumber {
        json: digits,
        currency,
    })
}

/// `1.5e3`-style numbers (only with a decimal point), as plain JSON number text.
fn scientific(body: &str, negative: bool, decimal: DecimalSeparator) -> Option<String> {
    if decimal != DecimalSeparator::Point
        || !body.bytes().next()?.is_ascii_digit()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let value: f64 = body.parse().ok()?;
    value
        .is_finite()
        .then(|| format!("{}", if negative { -value } else { value }))
}

/// Append the digits of an integer part that may be grouped in thousands (`1.234.567` with a
/// decimal comma, `1,234,567` with a decimal point, or `1 234 567` / `1'234'567` with either),
/// without leading zeros. `None` when the grouping is irregular.
fn push_grouped_digits(int_part: &str, decimal: DecimalSeparator, out: &mut String) -> Option<()> {
    let group_chars: &[char] = match decimal {
        DecimalSeparator::Point => &[',', ' ', '\u{a0}', '\u{202f}', '\''],
        DecimalSeparator::Comma => &['.', ' ', '\u{a0}', '\u{202f}', '\''],
    };
    let groups: Vec<&str> = int_part.split(group_chars).collect();
    if groups
        .iter()
        .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if groups.len() > 1 {
        // One kind of separator, a first group of 1–3 digits, then groups of exactly 3.
        let separators: Vec<char> = int_part
            .chars()
            .filter(|c| group_chars.contains(c))
            .collect();
        if separators.windows(2).any(|w| w[0] != w[1])
            || groups[0].len() > 3
            || groups[1..].iter().any(|g| g.len() != 3)
        {
            return None;
        }
    }
    let start = out.len();
    for group in groups {
        out.push_str(group);
    }
    // Drop leading zeros, keeping one digit.
    let sign = usize::from(out[start..].starts_with('-'));
    let digits_start = start + sign;
    let zeros = out[digits_start..]
        .bytes()
        .take_while(|b| *b == b'0')
        .count()
        .min(out.len() - digits_start - 1);
    out.replace_range(digits_start..digits_start + zeros, "");
    Some(())
}

/// What a column's sample values say about numbers in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberProfile {
    /// The separator the values use (by the values that can only be read one way).
    pub decimal: DecimalSeparator,
    /// Non-empty values.
    pub values: usize,
    /// Values that read as numbers with `decimal`.
    pub numbers: usize,
    /// Values that do not (up to 5 shown), e.g. `n/a`.
    pub outliers: Vec<String>,
    /// How many values do not read as numbers.
    pub outlier_count: usize,
    /// The one currency the numbers carry, when they all carry the same one.
    pub currency: Option<&'static str>,
    /// Whether some numbers carry a currency.
    pub has_currency: bool,
    /// An integer written with leading zeros (`007`, a zip code or id: keep it text).
    pub leading_zero: bool,
    /// An integer too long for a double (> 15 digits: an id, not a quantity).
    pub too_long: bool,
}

impl NumberProfile {
    /// Profile the non-empty `values` of a column.
    pub fn of<'a>(values: impl IntoIterator<Item = &'a str> + Clone) -> Self {
        let (mut comma, mut point) = (0usize, 0usize);
        for value in values.clone() {
            match separator_evidence(value.trim()) {
                Some(DecimalSeparator::Comma) => comma += 1,
                Some(DecimalSeparator::Point) => point += 1,
                None => {}
            }
        }
        let decimal = if comma > point {
            DecimalSeparator::Comma
        } else {
            DecimalSeparator::Point
        };
        let mut profile = NumberProfile {
            decimal,
            ..NumberProfile::default()
        };
        let mut currencies: Vec<&'static str> = Vec::new();
        for value in values {
            let text = value.trim();
            if text.is_empty() {
                continue;
            }
            profile.values += 1;
            match parse_locale_number(text, decimal) {
                Some(number) => {
                    profile.numbers += 1;
                    let digits = number.json.trim_start_matches('-');
                    let int_digits = digits.split('.').next().unwrap_or("");
                    let (body, _) = strip_currency(text);
                    let body = body.trim_start_matches(['-', '+']);
                    if body.len() > 1
                        && body.starts_with('0')
                        && body.as_bytes()[1].is_ascii_digit()
                    {
                        profile.leading_zero = true;
                    }
                    if !digits.contains('.') && int_digits.len() > 15 {
                        profile.too_long = true;
                    }
                    if let Some(code) = number.currency {
                        profile.has_currency = true;
                        if !currencies.contains(&code) {
                            currencies.push(code);
                        }
                    }
                }
                None => {
                    profile.outlier_count += 1;
                    if profile.outliers.len() < 5 && !profile.outliers.iter().any(|o| o == text) {
                        profile.outliers.push(text.to_owned());
                    }
                }
            }
        }
        profile.currency = match currencies.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        profile
    }

    /// The share of values that are numbers (0 when there are none).
    pub fn share(&self) -> f64 {
        if self.values == 0 {
            0.0
        } else {
            self.numbers as f64 / self.values as f64
        }
    }

    /// Whether the column should be typed Number: at least 98% of its values are numbers, and
    /// none is an id in disguise (leading zeros, more than 15 digits).
    pub fn is_number_column(&self) -> bool {
        self.numbers > 0 && self.share() >= 0.98 && !self.leading_zero && !self.too_long
    }
}

/// Which separator a value proves, if any: `12,50` (comma then not 3 digits) or `1.234,5`
/// (point then comma) prove a decimal comma; `1,234.5`, `12.50` prove a decimal point; `1,234`
/// and `1.234` could be either.
fn separator_evidence(text: &str) -> Option<DecimalSeparator> {
    let (body, _) = strip_currency(text);
    let body = body.trim_start_matches(['-', '+']);
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b' ' | b'\''))
        || !body.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    let last_comma = body.rfind(',');
    let last_point = body.rfind('.');
    match (last_comma, last_point) {
        (Some(c), Some(p)) if c > p => Some(DecimalSeparator::Comma),
        (Some(_), Some(_)) => Some(DecimalSeparator::Point),
        (Some(c), None) => {
            let after = body.len() - c - 1;
            (body.matches(',').count() == 1 && after != 3).then_some(DecimalSeparator::Comma)
        }
        (None, Some(p)) => {
            let after = body.len() - p - 1;
            (body.matches('.').count() == 1 && after != 3).then_some(DecimalSeparator::Point)
        }
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DecimalSeparator::{Comma, Point};

    fn read(text: &str, decimal: DecimalSeparator) -> Option<(String, Option<&'static str>)> {
        parse_locale_number(text, decimal).map(|n| (n.json, n.currency))
    }

    #[test]
    fn decimal_comma_forms() {
        assert_eq!(read("12,50", Comma), Some(("12.50".into(), None)));
        assert_eq!(read("1.234,56", Comma), Some(("1234.56".into(), None)));
        assert_eq!(read("1 234,56", Comma), Some(("1234.56".into(), None)));
        assert_eq!(read("1\u{a0}234,56", Comma), Some(("1234.56".into(), None)));
        assert_eq!(read("1.234.567", Comma), Some(("1234567".into(), None)));
        assert_eq!(read("-0,5", Comma), Some(("-0.5".into(), None)));
        assert_eq!(read("12,50 €", Comma), Some(("12.50".into(), Some("EUR"))));
        assert_eq!(read("€12,50", Comma), Some(("12.50".into(), Some("EUR"))));
        assert_eq!(
            read("EUR 12,50", Comma),
            Some(("12.50".into(), Some("EUR")))
        );
        assert_eq!(
            read("12,50 CHF", Comma),
            Some(("12.50".into(), Some("CHF")))
        );
        assert_eq!(read("-€3,00", Comma), Some(("-3.00".into(), Some("EUR"))));
        for bad in [
            "12,5,0",
            "1.23,4",
            "1.2345,6",
            "abc",
            "",
            "12,",
            ",",
            "1.234 567,8",
            "12 ABC",
        ] {
            assert_eq!(read(bad, Comma), None, "{bad}");
        }
    }

    #[test]
    fn decimal_point_forms() {
        assert_eq!(read("1,234.56", Point), Some(("1234.56".into(), None)));
        assert_eq!(read("1'234.56", Point), Some(("1234.56".into(), None)));
        assert_eq!(read("12.50", Point), Some(("12.50".into(), None)));
        assert_eq!(read("$1,234", Point), Some(("1234".into(), Some("USD"))));
        assert_eq!(read("US$ 3", Point), Some(("3".into(), Some("USD"))));
        assert_eq!(read("£0.99", Point), Some(("0.99".into(), Some("GBP"))));
        assert_eq!(
            read("19.99 USD", Point),
            Some(("19.99".into(), Some("USD")))
        );
        assert_eq!(read("007", Point), Some(("7".into(), None)));
        assert_eq!(read("12,50", Point), None);
        assert_eq!(read("1,23,456", Point), None);
    }

    #[test]
    fn whatever_is_read_is_a_json_number() {
        for (text, decimal) in [
            ("1.234,56", Comma),
            ("-0,5", Comma),
            ("€ 1 000 000,1", Comma),
            ("1,234.5", Point),
            ("000", Point),
        ] {
            let n = parse_locale_number(text, decimal).unwrap();
            assert!(
                serde_json::from_str::<serde_json::Number>(&n.json).is_ok(),
                "{text} -> {}",
                n.json
            );
        }
    }

    #[test]
    fn profile_decides_the_separator_and_counts_outliers() {
        let german = ["12,50", "1.234,56", "3", "1.000", "7,5", "n/a"];
        let p = NumberProfile::of(german.iter().copied());
        assert_eq!(p.decimal, Comma);
        assert_eq!(p.numbers, 5);
        assert_eq!(p.outliers, vec!["n/a".to_owned()]);
        assert!(!p.is_number_column(), "5 of 6 is not 98%");
        let english = ["1,234.50", "12.5", "3", "1,000"];
        let p = NumberProfile::of(english.iter().copied());
        assert_eq!(p.decimal, Point);
        assert!(p.is_number_column());
        // 98%: one outlier in a hundred values.
        let mut many: Vec<String> = (0..99).map(|i| format!("{i},25")).collect();
        many.push("unbekannt".into());
        let p = NumberProfile::of(many.iter().map(String::as_str));
        assert!(p.is_number_column());
        assert_eq!(p.outlier_count, 1);
        assert_eq!(p.outliers, vec!["unbekannt".to_owned()]);
        // Currency signs are stripped and reported.
        let p = NumberProfile::of(["12,50 €", "3,00 €"].iter().copied());
        assert_eq!(p.currency, Some("EUR"));
        assert!(p.is_number_column());
        // Zip codes and long ids stay text.
        assert!(!NumberProfile::of(["01234", "12345"].iter().copied()).is_number_column());
        assert!(!NumberProfile::of(["1234567890123456"].iter().copied()).is_number_column());
    }
}
