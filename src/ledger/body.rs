//! Entry kinds and their protobuf bodies.
//!
//! The body of an entry is stored as the exact protobuf bytes that were
//! hashed. `EntryBody` is the typed view; `decode_canonical` is what
//! verification uses to prove stored bytes are the one canonical encoding of
//! a known message for the entry's kind.

use prost::Message;

/// Messages generated from `proto/voucher_ledger/ledger/v1/entries.proto`.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/voucher_ledger.ledger.v1.rs"));
}

/// Every kind of entry the ledger knows, with its stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    ProgrammeFunded,
    Journal,
    UserCreated,
    PasswordChanged,
    LoginSucceeded,
    LoginFailed,
    SessionEnded,
    ApiTokenCreated,
    ApiTokenRevoked,
}

impl EntryKind {
    pub const ALL: [EntryKind; 9] = [
        EntryKind::ProgrammeFunded,
        EntryKind::Journal,
        EntryKind::UserCreated,
        EntryKind::PasswordChanged,
        EntryKind::LoginSucceeded,
        EntryKind::LoginFailed,
        EntryKind::SessionEnded,
        EntryKind::ApiTokenCreated,
        EntryKind::ApiTokenRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::ProgrammeFunded => "programme_funded",
            EntryKind::Journal => "journal",
            EntryKind::UserCreated => "user_created",
            EntryKind::PasswordChanged => "password_changed",
            EntryKind::LoginSucceeded => "login_succeeded",
            EntryKind::LoginFailed => "login_failed",
            EntryKind::SessionEnded => "session_ended",
            EntryKind::ApiTokenCreated => "api_token_created",
            EntryKind::ApiTokenRevoked => "api_token_revoked",
        }
    }

    pub fn parse(text: &str) -> Option<EntryKind> {
        EntryKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A typed entry body.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryBody {
    ProgrammeFunded(pb::ProgrammeFunded),
    Journal(pb::Journal),
    UserCreated(pb::UserCreated),
    PasswordChanged(pb::PasswordChanged),
    LoginSucceeded(pb::LoginSucceeded),
    LoginFailed(pb::LoginFailed),
    SessionEnded(pb::SessionEnded),
    ApiTokenCreated(pb::ApiTokenCreated),
    ApiTokenRevoked(pb::ApiTokenRevoked),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("unknown entry kind {0:?}")]
    UnknownKind(String),
    #[error("the body is not a valid {0} message")]
    Undecodable(&'static str),
    #[error("the body is not the canonical encoding of its {0} message")]
    NotCanonical(&'static str),
}

impl EntryBody {
    pub fn kind(&self) -> EntryKind {
        match self {
            EntryBody::ProgrammeFunded(_) => EntryKind::ProgrammeFunded,
            EntryBody::Journal(_) => EntryKind::Journal,
            EntryBody::UserCreated(_) => EntryKind::UserCreated,
            EntryBody::PasswordChanged(_) => EntryKind::PasswordChanged,
            EntryBody::LoginSucceeded(_) => EntryKind::LoginSucceeded,
            EntryBody::LoginFailed(_) => EntryKind::LoginFailed,
            EntryBody::SessionEnded(_) => EntryKind::SessionEnded,
            EntryBody::ApiTokenCreated(_) => EntryKind::ApiTokenCreated,
            EntryBody::ApiTokenRevoked(_) => EntryKind::ApiTokenRevoked,
        }
    }

    /// The canonical bytes: prost writes known fields in tag order and
    /// omits default values, and our messages have no maps.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            EntryBody::ProgrammeFunded(message) => message.encode_to_vec(),
            EntryBody::Journal(message) => message.encode_to_vec(),
            EntryBody::UserCreated(message) => message.encode_to_vec(),
            EntryBody::PasswordChanged(message) => message.encode_to_vec(),
            EntryBody::LoginSucceeded(message) => message.encode_to_vec(),
            EntryBody::LoginFailed(message) => message.encode_to_vec(),
            EntryBody::SessionEnded(message) => message.encode_to_vec(),
            EntryBody::ApiTokenCreated(message) => message.encode_to_vec(),
            EntryBody::ApiTokenRevoked(message) => message.encode_to_vec(),
        }
    }

    /// Decodes `bytes` as the message for `kind` and checks that
    /// re-encoding gives the same bytes (no unknown fields, no duplicated
    /// or reordered fields, no non-minimal varints).
    pub fn decode_canonical(kind: &str, bytes: &[u8]) -> Result<EntryBody, BodyError> {
        let kind = EntryKind::parse(kind).ok_or_else(|| BodyError::UnknownKind(kind.into()))?;
        let name = kind.as_str();
        let body = match kind {
            EntryKind::ProgrammeFunded => EntryBody::ProgrammeFunded(
                pb::ProgrammeFunded::decode(bytes).map_err(|_| BodyError::Undecodable(name))?,
            ),
            EntryKind::Journal => EntryBody::Journal(
                pb::Journal::decode(bytes).map_err(|_| BodyError::Undecodable(name))?,
            ),
            EntryKind::UserCreated => EntryBody::UserCreated(
                pb::UserCreated::decode(bytes).map_err(|_| BodyError::Undecodable(name))?,
            ),
            EntryKind::PasswordChanged => EntryBody::PasswordChanged(
                pb::PasswordChanged::decode(bytes).map_err(|_| BodyError::Undecodable(name))?,
            ),
            EntryKind::LoginSucceeded => EntryBody::LoginSucceeded(
                pb::LoginSucceeded::decode(bytes).map_err(|_| BodyError::Undecodable(name))?,
            ),
            EntryKind::LoginFailed => EntryBody::LoginFailed(
                pb::LoginFailed::decode(bytes).map_err(|_| BodyError::Undecodable(name))?,
            ),
            EntryKind::SessionEnded => EntryBody::SessionEnded(
                pb::SessionEnded::decode(bytes).map_err(|_| BodyError::Undecodable(name))?,
            ),
            EntryKind::ApiTokenCreated => EntryBody::ApiTokenCreated(
                pb::ApiTokenCreated::decode(bytes).map_err(|_| BodyError::Undecodable(name))?,
            ),
            EntryKind::ApiTokenRevoked => EntryBody::ApiTokenRevoked(
                pb::ApiTokenRevoked::decode(bytes).map_err(|_| BodyError::Undecodable(name))?,
            ),
        };
        if body.encode() != bytes {
            return Err(BodyError::NotCanonical(name));
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_canonically() {
        let body = EntryBody::ProgrammeFunded(pb::ProgrammeFunded {
            programme_code: "ZS2026-01".into(),
            amount_fen: 300_000_000,
            reference: "舟财企〔2026〕12号".into(),
        });
        let bytes = body.encode();
        assert_eq!(
            EntryBody::decode_canonical("programme_funded", &bytes),
            Ok(body)
        );
    }

    #[test]
    fn non_canonical_or_foreign_bytes_are_refused() {
        let body = EntryBody::Journal(pb::Journal { memo: "m".into() });
        let mut bytes = body.encode();
        // An unknown field (tag 15, varint 1) decodes but does not re-encode.
        bytes.extend_from_slice(&[0x78, 0x01]);
        assert_eq!(
            EntryBody::decode_canonical("journal", &bytes),
            Err(BodyError::NotCanonical("journal"))
        );
        assert_eq!(
            EntryBody::decode_canonical("journal", &[0xff]),
            Err(BodyError::Undecodable("journal"))
        );
        assert_eq!(
            EntryBody::decode_canonical("minted", &[]),
            Err(BodyError::UnknownKind("minted".into()))
        );
    }
}
