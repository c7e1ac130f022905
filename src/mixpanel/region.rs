//! Regions and their hosts, and the `--api-base` override (plain `http://` only for loopback).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Mixpanel data-residency region. A project's region is fixed when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// United States (the default).
    #[default]
    Us,
    /// European Union.
    Eu,
    /// India.
    In,
}

impl Region {
    /// Every region, in the order the app lists them.
    pub const ALL: [Region; 3] = [Region::Us, Region::Eu, Region::In];

    /// The ingestion host for `POST /import`.
    pub fn import_host(self) -> &'static str {
        match self {
            Region::Us => "api.mixpanel.com",
            Region::Eu => "api-eu.mixpanel.com",
            Region::In => "api-in.mixpanel.com",
        }
    }

    /// The app-API host (for `GET /api/app/me`, the connection check).
    pub fn app_host(self) -> &'static str {
        match self {
            Region::Us => "mixpanel.com",
            Region::Eu => "eu.mixpanel.com",
            Region::In => "in.mixpanel.com",
        }
    }

    /// The raw-export host for `GET /api/2.0/export` (shared doc §1).
    pub fn export_host(self) -> &'static str {
        match self {
            Region::Us => "data.mixpanel.com",
            Region::Eu => "data-eu.mixpanel.com",
            Region::In => "data-in.mixpanel.com",
        }
    }

    /// `https://` + [`Self::export_host`].
    pub fn export_base(self) -> String {
        format!("https://{}", self.export_host())
    }

    /// `https://` + [`Self::import_host`].
    pub fn import_base(self) -> String {
        format!("https://{}", self.import_host())
    }

    /// `https://` + [`Self::app_host`].
    pub fn app_base(self) -> String {
        format!("https://{}", self.app_host())
    }

    /// The short name used on the command line and in reports (`us`, `eu`, `in`).
    pub fn code(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::In => "in",
        }
    }

    /// A label for people (`US`, `EU`, `India`).
    pub fn label(self) -> &'static str {
        match self {
            Region::Us => "US",
            Region::Eu => "EU",
            Region::In => "India",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A region name that is not `us`, `eu` or `in`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a Mixpanel region: use us, eu or in (India)")]
pub struct UnknownRegion(pub String);

impl FromStr for Region {
    type Err = UnknownRegion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "us" | "usa" | "united states" => Ok(Region::Us),
            "eu" | "europe" => Ok(Region::Eu),
            "in" | "india" => Ok(Region::In),
            _ => Err(UnknownRegion(s.to_owned())),
        }
    }
}

/// Why an `--api-base` URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiBaseError {
    /// Not a URL at all.
    #[error(
        "the API address '{url}' is not a valid URL ({reason}); use e.g. https://api.example.com or http://127.0.0.1:8080"
    )]
    Invalid {
        /// The text given.
        url: String,
        /// The parser's reason.
        reason: String,
    },
    /// A scheme other than http or https.
    #[error(
        "the API address '{url}' must start with https:// (or http:// for a test server on this machine)"
    )]
    Scheme {
        /// The text given.
        url: String,
    },
    /// Plain http to a host that is not loopback.
    #[error(
        "the API address '{url}': plain http:// is only allowed to this machine (127.0.0.1, localhost, [::1]); use https:// for host '{host}' so events and credentials are never sent unencrypted"
    )]
    InsecureRemote {
        /// The text given.
        url: String,
        /// The host that is not loopback.
        host: String,
    },
}

/// Validate an `--api-base` override and return it without a trailing slash.
///
/// `https://` is accepted for any host; plain `http://` only for a loopback address
/// (127.0.0.0/8, `localhost`, `[::1]`).
pub fn validate_api_base(url: &str) -> Result<String, ApiBaseError> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| ApiBaseError::Invalid {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let host_text = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    if host_text.is_empty() {
        return Err(ApiBaseError::Invalid {
            url: url.to_owned(),
            reason: "no host".to_owned(),
        });
    }
    match parsed.scheme() {
        "https" => {}
        "http" => {
            if !host_is_loopback(&parsed) {
                return Err(ApiBaseError::InsecureRemote {
                    url: url.to_owned(),
                    host: host_text,
                });
            }
        }
        _ => {
            return Err(ApiBaseError::Scheme {
                url: url.to_owned(),
            });
        }
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Whether `url` (an API base already accepted by [`validate_api_base`]) names this machine
/// (127.0.0.0/8, `localhost`, `[::1]`). Such a base is never reached through a proxy.
pub fn is_loopback_base(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url.trim()) else {
        return false;
    };
    host_is_loopback(&parsed)
}

fn host_is_loopback(parsed: &reqwest::Url) -> bool {
    let host_text = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let bare = host_text.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host_text == "localhost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_documented_hosts() {
        assert_eq!(Region::Us.import_base(), "https://api.mixpanel.com");
        assert_eq!(Region::Eu.import_base(), "https://api-eu.mixpanel.com");
        assert_eq!(Region::In.import_base(), "https://api-in.mixpanel.com");
        assert_eq!(Region::Us.app_base(), "https://mixpanel.com");
        assert_eq!(Region::Eu.app_base(), "https://eu.mixpanel.com");
        assert_eq!(Region::In.app_base(), "https://in.mixpanel.com");
        assert_eq!(Region::Us.export_base(), "https://data.mixpanel.com");
        assert_eq!(Region::Eu.export_base(), "https://data-eu.mixpanel.com");
        assert_eq!(Region::In.export_base(), "https://data-in.mixpanel.com");
    }

    #[test]
    fn region_names_parse() {
        assert_eq!("us".parse::<Region>().unwrap(), Region::Us);
        assert_eq!("EU".parse::<Region>().unwrap(), Region::Eu);
        assert_eq!("in".parse::<Region>().unwrap(), Region::In);
        assert_eq!("India".parse::<Region>().unwrap(), Region::In);
        let err = "asia".parse::<Region>().unwrap_err();
        assert!(err.to_string().contains("us, eu or in"));
    }

    #[test]
    fn https_any_host_is_accepted() {
        assert_eq!(
            validate_api_base("https://api.example.com/").unwrap(),
            "https://api.example.com"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.5.6.7",
            "http://localhost:3000/",
            "http://LOCALHOST",
            "http://[::1]:9000",
        ] {
            assert!(validate_api_base(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "http://api.mixpanel.com",
            "http://10.0.0.1",
            "http://192.168.1.5:80",
            "http://localhost.evil.com",
            "http://[::2]",
            "http://128.0.0.1",
        ] {
            let err = validate_api_base(bad).unwrap_err();
            assert!(
                matches!(err, ApiBaseError::InsecureRemote { .. }),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains("only allowed to this machine"));
        }
        assert!(matches!(
            validate_api_base("ftp://127.0.0.1").unwrap_err(),
            ApiBaseError::Scheme { .. }
        ));
        assert!(matches!(
            validate_api_base("not a url").unwrap_err(),
            ApiBaseError::Invalid { .. }
        ));
    }
}
