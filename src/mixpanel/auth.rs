//! Credentials: service account or project token; secrets never printed.

use std::fmt;

/// A secret value (service-account secret or project token). Its `Debug` and `Display` print
/// `***`; read it only through [`Secret::expose`] when building a request.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text, for the `Authorization` header only. Never log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How Mixport authenticates to Mixpanel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A service account (recommended): Basic `username:secret` plus `project_id` in the query.
    ServiceAccount {
        /// The service account's username.
        username: String,
        /// Its secret.
        secret: Secret,
        /// The project to import into.
        project_id: String,
    },
    /// A project token: Basic with the token as username and an empty password; no project id.
    ProjectToken {
        /// The token.
        token: Secret,
    },
}

/// Credentials that cannot be used as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// A required part is empty.
    #[error("the {0} is empty")]
    Empty(&'static str),
    /// A project id that is not a number.
    #[error("project id '{0}' is not a number: find it in Mixpanel under Project Settings")]
    BadProjectId(String),
}

impl Credentials {
    /// A service account, checked for empty parts and a numeric project id.
    pub fn service_account(
        username: impl Into<String>,
        secret: Secret,
        project_id: impl Into<String>,
    ) -> Result<Self, CredentialsError> {
        let username = username.into().trim().to_owned();
        let project_id = project_id.into().trim().to_owned();
        if username.is_empty() {
            return Err(CredentialsError::Empty("service account username"));
        }
        if secret.is_empty() {
            return Err(CredentialsError::Empty("service account secret"));
        }
        if project_id.is_empty() {
            return Err(CredentialsError::Empty("project id"));
        }
        if !project_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CredentialsError::BadProjectId(project_id));
        }
        Ok(Credentials::ServiceAccount {
            username,
            secret,
            project_id,
        })
    }

    /// A project token, checked for emptiness.
    pub fn project_token(token: Secret) -> Result<Self, CredentialsError> {
        if token.is_empty() {
            return Err(CredentialsError::Empty("project token"));
        }
        Ok(Credentials::ProjectToken { token })
    }

    /// `("username", "password")` for HTTP Basic auth.
    pub fn basic_auth(&self) -> (&str, &str) {
        match self {
            Credentials::ServiceAccount {
                username, secret, ..
            } => (username, secret.expose()),
            Credentials::ProjectToken { token } => (token.expose(), ""),
        }
    }

    /// The project id (service accounts only).
    pub fn project_id(&self) -> Option<&str> {
        match self {
            Credentials::ServiceAccount { project_id, .. } => Some(project_id),
            Credentials::ProjectToken { .. } => None,
        }
    }

    /// The kind of credential in words, for messages: "service account 'name'" or
    /// "project token". Never includes a secret.
    pub fn kind_label(&self) -> String {
        match self {
            Credentials::ServiceAccount { username, .. } => format!("service account '{username}'"),
            Credentials::ProjectToken { .. } => "project token".to_owned(),
        }
    }

    /// A stable, non-reversible tag identifying the target project (for the resume journal key):
    /// the project id, or a hash of the token. Never the secret itself.
    pub fn target_tag(&self) -> String {
        match self {
            Credentials::ServiceAccount { project_id, .. } => format!("project-{project_id}"),
            Credentials::ProjectToken { token } => format!(
                "token-{:016x}",
                xxhash_rust::xxh3::xxh3_64(token.expose().as_bytes())
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted_in_debug_and_display() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret}"), "***");
        let creds = Credentials::service_account("svc.user", secret.clone(), "12345").unwrap();
        let debug = format!("{creds:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("svc.user"));
        let token = Credentials::project_token(Secret::new("tok-abcdef")).unwrap();
        assert!(!format!("{token:?}").contains("tok-abcdef"));
        assert!(!token.target_tag().contains("tok-abcdef"));
        assert_eq!(token.basic_auth(), ("tok-abcdef", ""));
        assert_eq!(creds.basic_auth(), ("svc.user", "hunter2-very-secret"));
    }

    #[test]
    fn service_account_parts_are_checked() {
        assert_eq!(
            Credentials::service_account("", Secret::new("s"), "1").unwrap_err(),
            CredentialsError::Empty("service account username")
        );
        assert_eq!(
            Credentials::service_account("u", Secret::new(" "), "1").unwrap_err(),
            CredentialsError::Empty("service account secret")
        );
        assert!(matches!(
            Credentials::service_account("u", Secret::new("s"), "abc").unwrap_err(),
            CredentialsError::BadProjectId(_)
        ));
        let ok = Credentials::service_account("u", Secret::new("s"), " 42 ").unwrap();
        assert_eq!(ok.project_id(), Some("42"));
        assert_eq!(ok.kind_label(), "service account 'u'");
        assert!(Credentials::project_token(Secret::new("")).is_err());
    }
}
