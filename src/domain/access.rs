//! Who is acting: roles, usernames, password rules, principals.
//!
//! Five kinds of people touch public money here. A `Principal` is an
//! authenticated user with exactly one role; provider staff and enterprise
//! users are bound to the one party they act for.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a user may do (docs/access.md has the full matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 经信局: programmes and registries; cannot approve settlement.
    Admin,
    /// 财政局: reads everything, runs settlement; cannot issue or edit registries.
    Finance,
    /// 服务机构 staff, bound to one provider.
    Provider,
    /// 企业 user, bound to one enterprise.
    Enterprise,
    /// 审计: read-only, everything including the ledger.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Finance,
        Role::Provider,
        Role::Enterprise,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Finance => "finance",
            Role::Provider => "provider",
            Role::Enterprise => "enterprise",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// Provider and enterprise users act for one party; the others for none.
    pub fn needs_party(self) -> bool {
        matches!(self, Role::Provider | Role::Enterprise)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A login name: 3–64 characters of `a–z 0–9 . _ -`, starting with a letter
/// or digit. Lower case only, so `Alice` and `alice` cannot both exist.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("a username has 3 to 64 characters")]
    Length,
    #[error("a username uses only a–z, 0–9, '.', '_' and '-', and starts with a letter or digit")]
    Characters,
}

impl Username {
    pub fn parse(text: &str) -> Result<Username, UsernameError> {
        if !(3..=64).contains(&text.len()) {
            return Err(UsernameError::Length);
        }
        let allowed =
            |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-');
        let first = text.as_bytes()[0];
        if !text.bytes().all(allowed) || !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(UsernameError::Characters);
        }
        Ok(Username(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::domain::text_newtype::impl_text_newtype!(Username, UsernameError);

/// Password length bounds, in characters. The upper bound keeps hashing
/// cost bounded; there are no composition rules (NIST SP 800-63B).
pub const PASSWORD_CHARS_MIN: usize = 12;
pub const PASSWORD_CHARS_MAX: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has at least {PASSWORD_CHARS_MIN} characters")]
    TooShort,
    #[error("a password has at most {PASSWORD_CHARS_MAX} characters")]
    TooLong,
}

/// A password as typed. `Debug` never shows it.
pub struct Password(String);

impl Password {
    pub fn new(text: String) -> Result<Password, PasswordError> {
        let chars = text.chars().count();
        if chars < PASSWORD_CHARS_MIN {
            return Err(PasswordError::TooShort);
        }
        if chars > PASSWORD_CHARS_MAX {
            return Err(PasswordError::TooLong);
        }
        Ok(Password(text))
    }

    /// A password given to `login`: only the length cap applies, so an old
    /// short password still gets a clear "wrong password" rather than a
    /// rule message that would confirm the account exists.
    pub fn for_login(text: String) -> Result<Password, PasswordError> {
        if text.chars().count() > PASSWORD_CHARS_MAX {
            return Err(PasswordError::TooLong);
        }
        Ok(Password(text))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub username: Username,
    pub role: Role,
    /// The provider or enterprise a provider/enterprise user acts for.
    pub party_id: Option<Uuid>,
    /// Set when the request came with a bearer token rather than a session.
    pub token_id: Option<Uuid>,
}

impl Principal {
    /// How this principal appears in ledger entries' `actor` field:
    /// `user:<role>:<user id>`, plus `:token:<token id>` for API tokens.
    pub fn actor(&self) -> String {
        match self.token_id {
            Some(token) => format!("user:{}:{}:token:{token}", self.role, self.user_id),
            None => format!("user:{}:{}", self.role, self.user_id),
        }
    }

    /// The scope of this principal's idempotency keys: one user's keys never
    /// collide with another's.
    pub fn idempotency_scope(&self) -> String {
        format!("user:{}", self.user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_short_lower_case_and_plain() {
        for ok in ["alice", "zs-admin.01", "9tester", "a_b"] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for (bad, error) in [
            ("al", UsernameError::Length),
            (&"a".repeat(65) as &str, UsernameError::Length),
            ("Alice", UsernameError::Characters),
            ("-alice", UsernameError::Characters),
            ("al ice", UsernameError::Characters),
            ("张三三", UsernameError::Characters),
        ] {
            assert_eq!(Username::parse(bad), Err(error), "{bad}");
        }
    }

    #[test]
    fn passwords_have_length_bounds_and_never_print() {
        assert_eq!(
            Password::new("short".into()).err(),
            Some(PasswordError::TooShort)
        );
        assert_eq!(
            Password::new("x".repeat(129)).err(),
            Some(PasswordError::TooLong)
        );
        let password = Password::new("correct horse battery".into()).unwrap();
        assert_eq!(format!("{password:?}"), "Password([redacted])");
        assert!(Password::for_login("short".into()).is_ok());
    }

    #[test]
    fn roles_round_trip_and_know_whether_they_need_a_party() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(Role::Provider.needs_party() && Role::Enterprise.needs_party());
        assert!(
            !Role::Admin.needs_party()
                && !Role::Auditor.needs_party()
                && !Role::Finance.needs_party()
        );
    }

    #[test]
    fn actors_name_the_user_role_and_token() {
        let principal = Principal {
            user_id: Uuid::nil(),
            username: Username::parse("alice").unwrap(),
            role: Role::Finance,
            party_id: None,
            token_id: None,
        };
        assert_eq!(
            principal.actor(),
            "user:finance:00000000-0000-0000-0000-000000000000"
        );
        let via_token = Principal {
            token_id: Some(Uuid::nil()),
            ..principal
        };
        assert!(
            via_token
                .actor()
                .ends_with(":token:00000000-0000-0000-0000-000000000000")
        );
    }
}
