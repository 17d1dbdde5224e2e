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

/// Declares every entry kind once: its variant, its stable name and its
/// protobuf message. Generates `EntryKind` (names), `EntryBody` (typed
/// bodies), encoding, and canonical decoding.
macro_rules! entry_kinds {
    ($($variant:ident($message:ident) => $name:literal),+ $(,)?) => {
        /// Every kind of entry the ledger knows, with its stable name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EntryKind {
            $($variant),+
        }

        impl EntryKind {
            pub const ALL: &'static [EntryKind] = &[$(EntryKind::$variant),+];
            /// Their names, in the same order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EntryKind::$variant => $name),+
                }
            }

            pub fn parse(text: &str) -> Option<EntryKind> {
                EntryKind::ALL.iter().copied().find(|kind| kind.as_str() == text)
            }

            /// Entries after which a credential that was good before may
            /// no longer be: a user's (token, password, session) or an
            /// issuer key's.
            pub fn ends_credentials(self) -> bool {
                matches!(
                    self,
                    EntryKind::ApiTokenRevoked
                        | EntryKind::PasswordChanged
                        | EntryKind::SessionEnded
                        | EntryKind::IssuerKeyRevoked
                        | EntryKind::IssuerKeyActivated
                )
            }
        }

        /// A typed entry body.
        #[derive(Debug, Clone, PartialEq)]
        pub enum EntryBody {
            $($variant(pb::$message)),+
        }

        impl EntryBody {
            pub fn kind(&self) -> EntryKind {
                match self {
                    $(EntryBody::$variant(_) => EntryKind::$variant),+
                }
            }

            /// The canonical bytes: prost writes known fields in tag order and
            /// omits default values, and our messages have no maps.
            pub fn encode(&self) -> Vec<u8> {
                match self {
                    $(EntryBody::$variant(message) => message.encode_to_vec()),+
                }
            }

            fn decode_as(kind: EntryKind, bytes: &[u8]) -> Result<EntryBody, prost::DecodeError> {
                Ok(match kind {
                    $(EntryKind::$variant => EntryBody::$variant(pb::$message::decode(bytes)?)),+
                })
            }
        }
    };
}

entry_kinds! {
    ProgrammeFunded(ProgrammeFunded) => "programme_funded",
    Journal(Journal) => "journal",
    UserCreated(UserCreated) => "user_created",
    PasswordChanged(PasswordChanged) => "password_changed",
    LoginSucceeded(LoginSucceeded) => "login_succeeded",
    LoginFailed(LoginFailed) => "login_failed",
    SessionEnded(SessionEnded) => "session_ended",
    ApiTokenCreated(ApiTokenCreated) => "api_token_created",
    ApiTokenRevoked(ApiTokenRevoked) => "api_token_revoked",
    EnterpriseRegistered(EnterpriseRecorded) => "enterprise_registered",
    EnterpriseUpdated(EnterpriseRecorded) => "enterprise_updated",
    EnterpriseTagged(EnterpriseTagged) => "enterprise_tagged",
    PartyBlacklisted(PartyBlacklisted) => "party_blacklisted",
    ProgrammeCreated(ProgrammeRecorded) => "programme_created",
    ProgrammeDraftUpdated(ProgrammeRecorded) => "programme_draft_updated",
    ProgrammeOpened(ProgrammeRecorded) => "programme_opened",
    ProgrammeAmended(ProgrammeRecorded) => "programme_amended",
    ProgrammeClosed(ProgrammeRecorded) => "programme_closed",
    ProviderRegistered(ProviderRecorded) => "provider_registered",
    ProviderUpdated(ProviderRecorded) => "provider_updated",
    ProviderStatusChanged(ProviderStatusChanged) => "provider_status_changed",
    ZoneDefined(ZoneDefined) => "zone_defined",
    IssuerKeyActivated(IssuerKeyActivated) => "issuer_key_activated",
    IssuerKeyRevoked(IssuerKeyRevoked) => "issuer_key_revoked",
    VoucherIssued(VoucherIssued) => "voucher_issued",
    VoucherReissued(VoucherIssued) => "voucher_reissued",
    VoucherRedeemed(VoucherRedeemed) => "voucher_redeemed",
    VoucherHeld(VoucherHeld) => "voucher_held",
    VoucherHoldReleased(VoucherHoldReleased) => "voucher_hold_released",
    RedemptionConfirmed(RedemptionConfirmed) => "redemption_confirmed",
    RedemptionDisputed(RedemptionDisputed) => "redemption_disputed",
    RedemptionDisputeRejected(RedemptionDisputeRejected) => "redemption_dispute_rejected",
    RedemptionReversed(RedemptionReversed) => "redemption_reversed",
    RedemptionFrozen(RedemptionFrozen) => "redemption_frozen",
    RedemptionDocumentsAttached(RedemptionDocuments) => "redemption_documents_attached",
    RecoveryOpened(RecoveryOpened) => "recovery_opened",
    VoucherExpired(VoucherWithdrawn) => "voucher_expired",
    VoucherRevoked(VoucherWithdrawn) => "voucher_revoked",
    SettlementPrepared(SettlementPrepared) => "settlement_prepared",
    SettlementLineResolved(SettlementLineResolved) => "settlement_line_resolved",
    SettlementApproved(SettlementApproved) => "settlement_approved",
    PayoutsRecorded(PayoutsRecorded) => "payouts_recorded",
    HolderKeyBound(HolderKeyBound) => "holder_key_bound",
    OfflineDeviceRegistered(OfflineDeviceRegistered) => "offline_device_registered",
    StatusListPublished(StatusListPublished) => "status_list_published",
    OfflineConflictRecorded(OfflineConflictRecorded) => "offline_conflict_recorded",
    PersonalDataRestricted(PersonalDataRequest) => "personal_data_restricted",
    PersonalDataErased(PersonalDataRequest) => "personal_data_erased",
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
    /// Decodes `bytes` as the message for `kind` and checks that
    /// re-encoding gives the same bytes (no unknown fields, no duplicated
    /// or reordered fields, no non-minimal varints).
    pub fn decode_canonical(kind: &str, bytes: &[u8]) -> Result<EntryBody, BodyError> {
        let kind = EntryKind::parse(kind).ok_or_else(|| BodyError::UnknownKind(kind.into()))?;
        let name = kind.as_str();
        let body = EntryBody::decode_as(kind, bytes).map_err(|_| BodyError::Undecodable(name))?;
        if body.encode() != bytes {
            return Err(BodyError::NotCanonical(name));
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/ledger.md §6.1 lists every body message's fields with the
    /// proto's numbers and types, so a verifier can decode bodies from the
    /// docs alone; this keeps the list equal to the proto.
    #[test]
    fn the_documented_body_fields_are_the_protos() {
        let proto = include_str!("../../proto/voucher_ledger/ledger/v1/entries.proto");
        let docs = include_str!("../../docs/ledger.md");
        let code: String = proto
            .lines()
            .map(|line| line.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let mut messages = 0;
        for block in code.split("\nmessage ").skip(1) {
            let name = block.split_whitespace().next().unwrap();
            let body = block.split('}').next().unwrap();
            let fields: Vec<String> = body
                .split(';')
                .filter_map(|field| {
                    let field = field.split('{').next_back()?.trim();
                    let (left, number) = field.split_once('=')?;
                    let words: Vec<&str> = left.split_whitespace().collect();
                    let (kind, name) = match words.as_slice() {
                        ["repeated", kind, name] => (format!("repeated {kind}"), *name),
                        [kind, name] => (kind.to_string(), *name),
                        _ => return None,
                    };
                    Some(format!("{} `{name}` {kind}", number.trim()))
                })
                .collect();
            let row = format!("| `{name}` | {} |", fields.join("; "));
            assert!(
                docs.contains(&row),
                "docs/ledger.md lacks or differs: {row}"
            );
            messages += 1;
        }
        assert_eq!(messages, 43);
    }

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
