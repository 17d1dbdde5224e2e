//! Offline presentation and acceptance (docs/token-format.md "Offline").
//!
//! Three sealed messages, all in the voucher's envelope (u16 length ‖
//! protobuf payload ‖ 64-byte signature):
//!
//! - a **holder binding**, signed by the issuer: "the device key K may
//!   present voucher V" (a re-binding carries a higher number);
//! - an **offline presentation** (`VO1:` QR text), made by the enterprise's
//!   device without the server: voucher + binding + nonce + time + the
//!   provider it is shown to, signed by the bound device key;
//! - an **offline record**, made by the provider's registered device when
//!   the clerk accepts a presentation, signed by that device's key, and
//!   synced to the server later.
//!
//! Device keys are Ed25519 (32 bytes) or, for browsers without WebCrypto
//! Ed25519, ECDSA P-256 (65-byte uncompressed SEC1 point, signatures as
//! 64-byte r ‖ s over SHA-256, as WebCrypto makes them). Pure: the caller
//! supplies keys, clocks and nonces.

use chrono::NaiveDate;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use prost::Message;
use uuid::Uuid;

use super::presentation::{CLOCK_SKEW_SECONDS, NONCE_BYTES};
use super::voucher::{
    KeyStatus, PAYLOAD_BYTES_MAX, SIGNATURE_BYTES, TokenError, VoucherClaims, check_signature,
    envelope, pb, qr_bytes, seal, unseal, verify_token,
};
use crate::domain::Fen;

/// The prefix of an offline presentation's QR text.
pub const OFFLINE_PREFIX: &str = "VO1:";
/// Bound on a binding's payload.
pub const BINDING_BYTES_MAX: usize = 256;
/// A presentation holds a voucher token and a binding, and a little more.
pub const OFFLINE_PRESENTATION_BYTES_MAX: usize = PAYLOAD_BYTES_MAX + 512;
/// A record holds a presentation and the contract's few fields.
pub const RECORD_BYTES_MAX: usize = OFFLINE_PRESENTATION_BYTES_MAX + 2048;
/// How long after it was made a clerk may accept an offline presentation.
pub const PRESENTATION_ACCEPT_SECONDS: i64 = 600;

/// Why an offline presentation or record is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfflineError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the holder binding is malformed, not the issuer's, or not for this voucher")]
    BindingInvalid,
    #[error("the holder's signature does not verify under the bound device key")]
    HolderSignature,
    #[error("the presentation was made for another provider")]
    WrongProvider,
    #[error("the presentation was made more than 10 minutes before it was accepted, or after")]
    PresentationStale,
    #[error("the offline record is malformed")]
    RecordMalformed,
    #[error("the device's signature does not verify")]
    DeviceSignature,
    #[error("not a valid device public key for its algorithm")]
    DeviceKey,
}

impl OfflineError {
    pub fn code(&self) -> &'static str {
        match self {
            OfflineError::Token(error) => error.code(),
            OfflineError::BindingInvalid => "holder_binding_invalid",
            OfflineError::HolderSignature => "holder_signature_invalid",
            OfflineError::WrongProvider => "presentation_wrong_provider",
            OfflineError::PresentationStale => "presentation_expired",
            OfflineError::RecordMalformed => "offline_record_malformed",
            OfflineError::DeviceSignature => "device_signature_invalid",
            OfflineError::DeviceKey => "device_key_invalid",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            OfflineError::Token(error) => error.message_zh(),
            OfflineError::BindingInvalid => "设备绑定凭证无效或不属于此补贴券".into(),
            OfflineError::HolderSignature => "持券设备签名校验失败".into(),
            OfflineError::WrongProvider => "此离线出示码是向其他服务机构出示的".into(),
            OfflineError::PresentationStale => {
                "离线出示码生成时间与受理时间相差超过 10 分钟".into()
            }
            OfflineError::RecordMalformed => "离线受理记录格式错误".into(),
            OfflineError::DeviceSignature => "受理设备签名校验失败".into(),
            OfflineError::DeviceKey => "设备公钥无效".into(),
        }
    }
}

/// A device key's algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DeviceAlgorithm {
    Ed25519,
    EcdsaP256,
}

impl DeviceAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceAlgorithm::Ed25519 => "Ed25519",
            DeviceAlgorithm::EcdsaP256 => "ECDSA-P256",
        }
    }

    pub fn parse(text: &str) -> Option<DeviceAlgorithm> {
        match text {
            "Ed25519" => Some(DeviceAlgorithm::Ed25519),
            "ECDSA-P256" => Some(DeviceAlgorithm::EcdsaP256),
            _ => None,
        }
    }
}

/// A holder's or a provider's device public key, checked to be a valid key
/// of its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceKey {
    pub algorithm: DeviceAlgorithm,
    pub public_key: Vec<u8>,
}

impl DeviceKey {
    pub fn new(algorithm: DeviceAlgorithm, public_key: Vec<u8>) -> Result<DeviceKey, OfflineError> {
        let valid = match algorithm {
            DeviceAlgorithm::Ed25519 => <[u8; 32]>::try_from(public_key.as_slice())
                .ok()
                .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
                .is_some_and(|key| !key.is_weak()),
            DeviceAlgorithm::EcdsaP256 => {
                public_key.len() == 65
                    && p256::ecdsa::VerifyingKey::from_sec1_bytes(&public_key).is_ok()
            }
        };
        if !valid {
            return Err(OfflineError::DeviceKey);
        }
        Ok(DeviceKey {
            algorithm,
            public_key,
        })
    }

    /// Reads an algorithm name and key bytes (as entries and rows keep them).
    pub fn parse(algorithm: &str, public_key: &[u8]) -> Result<DeviceKey, OfflineError> {
        let algorithm = DeviceAlgorithm::parse(algorithm).ok_or(OfflineError::DeviceKey)?;
        DeviceKey::new(algorithm, public_key.to_vec())
    }

    /// Whether `signature` is this key's over exactly `message`: Ed25519
    /// strictly (RFC 8032, as vouchers), ECDSA P-256 over SHA-256 with r ‖ s.
    pub fn verifies(&self, message: &[u8], signature: &[u8; SIGNATURE_BYTES]) -> bool {
        match self.algorithm {
            DeviceAlgorithm::Ed25519 => <[u8; 32]>::try_from(self.public_key.as_slice())
                .ok()
                .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
                .is_some_and(|key| {
                    key.verify_strict(message, &Signature::from_bytes(signature))
                        .is_ok()
                }),
            DeviceAlgorithm::EcdsaP256 => {
                use p256::ecdsa::signature::Verifier;
                let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(&self.public_key) else {
                    return false;
                };
                let Ok(signature) = p256::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                key.verify(message, &signature).is_ok()
            }
        }
    }
}

/// What a holder binding says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingClaims {
    pub voucher_id: Uuid,
    pub binding_number: u32,
    pub key: DeviceKey,
    /// Unix seconds.
    pub bound_at: i64,
    /// The issuer key that signed it.
    pub key_id: String,
}

impl BindingClaims {
    fn to_payload(&self) -> Vec<u8> {
        pb::HolderBinding {
            voucher_id: self.voucher_id.as_bytes().to_vec(),
            binding_number: self.binding_number,
            algorithm: self.key.algorithm.as_str().to_string(),
            public_key: self.key.public_key.clone(),
            bound_at: self.bound_at,
            key_id: self.key_id.clone(),
        }
        .encode_to_vec()
    }

    fn from_payload(bytes: &[u8]) -> Result<BindingClaims, OfflineError> {
        let message = pb::HolderBinding::decode(bytes).map_err(|_| OfflineError::BindingInvalid)?;
        let claims = BindingClaims {
            voucher_id: Uuid::from_slice(&message.voucher_id)
                .map_err(|_| OfflineError::BindingInvalid)?,
            binding_number: message.binding_number,
            key: DeviceKey::parse(&message.algorithm, &message.public_key)
                .map_err(|_| OfflineError::BindingInvalid)?,
            bound_at: message.bound_at,
            key_id: message.key_id,
        };
        if claims.to_payload() != bytes || claims.binding_number == 0 {
            return Err(OfflineError::BindingInvalid);
        }
        Ok(claims)
    }
}

/// Seals a binding with the issuer key `issuer` (whose id `claims` names).
pub fn seal_binding(claims: &BindingClaims, issuer: &SigningKey) -> Vec<u8> {
    seal(&claims.to_payload(), issuer)
}

/// Opens and checks a sealed binding: canonical, signed by a published,
/// unrevoked issuer key.
pub fn open_binding(
    sealed: &[u8],
    lookup: &impl Fn(&str) -> Option<(VerifyingKey, KeyStatus)>,
) -> Result<BindingClaims, OfflineError> {
    let (payload, signature) =
        unseal(sealed, BINDING_BYTES_MAX).map_err(|_| OfflineError::BindingInvalid)?;
    let claims = BindingClaims::from_payload(payload)?;
    check_signature(&claims.key_id, payload, &signature, lookup).map_err(|error| match error {
        TokenError::RevokedKey => OfflineError::Token(error),
        _ => OfflineError::BindingInvalid,
    })?;
    Ok(claims)
}

/// A verified offline presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflinePresented {
    pub voucher: VoucherClaims,
    pub binding: BindingClaims,
    pub nonce: [u8; NONCE_BYTES],
    /// Unix seconds.
    pub presented_at: i64,
    pub provider_id: Uuid,
}

/// Makes an offline presentation's QR text: what the enterprise's page does
/// in JavaScript; here for tests and tools. `sign` is the holder device's
/// signature over the payload.
pub fn present_offline(
    voucher_text: &str,
    binding: &[u8],
    nonce: [u8; NONCE_BYTES],
    presented_at: i64,
    provider_id: Uuid,
    sign: impl Fn(&[u8]) -> [u8; SIGNATURE_BYTES],
) -> Result<String, TokenError> {
    let voucher_token = qr_bytes(voucher_text, super::voucher::QR_PREFIX)?;
    let payload = pb::OfflinePresentation {
        voucher_token,
        binding: binding.to_vec(),
        nonce: nonce.to_vec(),
        presented_at,
        provider_id: provider_id.as_bytes().to_vec(),
    }
    .encode_to_vec();
    let sealed = envelope(&payload, &sign(&payload));
    Ok(format!(
        "{OFFLINE_PREFIX}{}",
        super::base45::encode(&sealed)
    ))
}

/// The envelope bytes of an offline presentation's QR text.
pub fn offline_bytes(text: &str) -> Result<Vec<u8>, TokenError> {
    qr_bytes(text, OFFLINE_PREFIX)
}

/// Verifies an offline presentation (its envelope bytes) for acceptance by
/// `provider_id` at `accepted_at` (Unix seconds; `accepted_on` its date in
/// UTC+8): the voucher exactly as a voucher, the binding as the issuer's
/// for this voucher, the holder's signature under the bound key, the
/// provider it was made for, and that it was made at most 10 minutes
/// before (and not after) the acceptance.
pub fn verify_offline_presentation(
    sealed: &[u8],
    lookup: &impl Fn(&str) -> Option<(VerifyingKey, KeyStatus)>,
    provider_id: Uuid,
    accepted_at: i64,
    accepted_on: NaiveDate,
) -> Result<OfflinePresented, OfflineError> {
    let (payload, signature) = unseal(sealed, OFFLINE_PRESENTATION_BYTES_MAX)?;
    let message = pb::OfflinePresentation::decode(payload).map_err(|_| TokenError::Malformed)?;
    if message.encode_to_vec() != payload {
        return Err(TokenError::Malformed.into());
    }
    let nonce: [u8; NONCE_BYTES] = message
        .nonce
        .as_slice()
        .try_into()
        .map_err(|_| TokenError::Malformed)?;
    let presented_to = Uuid::from_slice(&message.provider_id).map_err(|_| TokenError::Malformed)?;
    let voucher = verify_token(&message.voucher_token, lookup, accepted_on)?;
    let binding = open_binding(&message.binding, lookup)?;
    if binding.voucher_id != voucher.voucher_id {
        return Err(OfflineError::BindingInvalid);
    }
    if !binding.key.verifies(payload, &signature) {
        return Err(OfflineError::HolderSignature);
    }
    if presented_to != provider_id {
        return Err(OfflineError::WrongProvider);
    }
    if message.presented_at > accepted_at + CLOCK_SKEW_SECONDS
        || message.presented_at < accepted_at - PRESENTATION_ACCEPT_SECONDS
    {
        return Err(OfflineError::PresentationStale);
    }
    Ok(OfflinePresented {
        voucher,
        binding,
        nonce,
        presented_at: message.presented_at,
        provider_id: presented_to,
    })
}

/// What an offline record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordClaims {
    /// The presentation's envelope bytes.
    pub presentation: Vec<u8>,
    pub device_id: Uuid,
    pub record_number: u64,
    /// Unix seconds.
    pub accepted_at: i64,
    pub list_number: u64,
    pub service_category: String,
    pub contract_amount: Fen,
    pub subsidy: Fen,
    pub contract_number: String,
    pub description: String,
}

impl RecordClaims {
    pub fn to_payload(&self) -> Vec<u8> {
        pb::OfflineRecord {
            presentation: self.presentation.clone(),
            device_id: self.device_id.as_bytes().to_vec(),
            record_number: self.record_number,
            accepted_at: self.accepted_at,
            list_number: self.list_number,
            service_category: self.service_category.clone(),
            contract_amount_fen: self.contract_amount.as_fen(),
            subsidy_fen: self.subsidy.as_fen(),
            contract_number: self.contract_number.clone(),
            description: self.description.clone(),
        }
        .encode_to_vec()
    }
}

/// Seals a record with the device's signature (`sign`).
pub fn seal_record(
    claims: &RecordClaims,
    sign: impl Fn(&[u8]) -> [u8; SIGNATURE_BYTES],
) -> Vec<u8> {
    let payload = claims.to_payload();
    envelope(&payload, &sign(&payload))
}

/// A sealed record, well formed, its signature not yet checked (the
/// device's key is the server's to look up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedRecord {
    pub claims: RecordClaims,
    pub payload: Vec<u8>,
    pub signature: [u8; SIGNATURE_BYTES],
}

impl OpenedRecord {
    /// Whether `key` signed it.
    pub fn signed_by(&self, key: &DeviceKey) -> bool {
        key.verifies(&self.payload, &self.signature)
    }
}

/// Opens a sealed record: canonical, a record number from 1, positive
/// amounts.
pub fn open_record(sealed: &[u8]) -> Result<OpenedRecord, OfflineError> {
    let (payload, signature) =
        unseal(sealed, RECORD_BYTES_MAX).map_err(|_| OfflineError::RecordMalformed)?;
    let message = pb::OfflineRecord::decode(payload).map_err(|_| OfflineError::RecordMalformed)?;
    let claims = RecordClaims {
        presentation: message.presentation,
        device_id: Uuid::from_slice(&message.device_id)
            .map_err(|_| OfflineError::RecordMalformed)?,
        record_number: message.record_number,
        accepted_at: message.accepted_at,
        list_number: message.list_number,
        service_category: message.service_category,
        contract_amount: Fen::new(message.contract_amount_fen),
        subsidy: Fen::new(message.subsidy_fen),
        contract_number: message.contract_number,
        description: message.description,
    };
    if claims.to_payload() != payload
        || claims.record_number == 0
        || claims.list_number == 0
        || i64::try_from(claims.record_number).is_err()
        || i64::try_from(claims.list_number).is_err()
        || !claims.contract_amount.is_positive()
        || !claims.subsidy.is_positive()
        || claims.accepted_at <= 0
    {
        return Err(OfflineError::RecordMalformed);
    }
    Ok(OpenedRecord {
        claims,
        payload: payload.to_vec(),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_id::key_id_for;
    use crate::token::voucher::sign;
    use ed25519_dalek::Signer;

    const NOW: i64 = 1_780_000_000; // 2026-05-29, UTC+8

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 29).unwrap()
    }

    fn lookup(
        issuer: &SigningKey,
        status: KeyStatus,
    ) -> impl Fn(&str) -> Option<(VerifyingKey, KeyStatus)> {
        let key = issuer.verifying_key();
        move |id| (id == key_id_for(&key)).then_some((key, status))
    }

    struct Setup {
        issuer: SigningKey,
        holder: SigningKey,
        voucher: String,
        binding: Vec<u8>,
        provider: Uuid,
    }

    fn setup() -> Setup {
        let issuer = SigningKey::from_bytes(&[1; 32]);
        let holder = SigningKey::from_bytes(&[2; 32]);
        let claims = crate::token::fixtures::claims(&issuer, 300_000, "检验检测");
        let binding = seal_binding(
            &BindingClaims {
                voucher_id: claims.voucher_id,
                binding_number: 1,
                key: DeviceKey::new(
                    DeviceAlgorithm::Ed25519,
                    holder.verifying_key().to_bytes().to_vec(),
                )
                .unwrap(),
                bound_at: NOW - 100,
                key_id: key_id_for(&issuer.verifying_key()),
            },
            &issuer,
        );
        Setup {
            voucher: sign(&claims, &issuer),
            issuer,
            holder,
            binding,
            provider: Uuid::now_v7(),
        }
    }

    fn presented(setup: &Setup, signer: &SigningKey, at: i64) -> Vec<u8> {
        let text = present_offline(
            &setup.voucher,
            &setup.binding,
            [9; 16],
            at,
            setup.provider,
            |payload| signer.sign(payload).to_bytes(),
        )
        .unwrap();
        assert!(text.starts_with(OFFLINE_PREFIX));
        offline_bytes(&text).unwrap()
    }

    #[test]
    fn a_bound_holder_presents_offline_and_only_it() {
        let setup = setup();
        let keys = lookup(&setup.issuer, KeyStatus::Active);
        let sealed = presented(&setup, &setup.holder, NOW);
        let ok =
            verify_offline_presentation(&sealed, &keys, setup.provider, NOW + 5, today()).unwrap();
        assert_eq!(ok.nonce, [9; 16]);
        assert_eq!(ok.binding.binding_number, 1);
        // Another key signing: refused.
        let forged = presented(&setup, &SigningKey::from_bytes(&[3; 32]), NOW);
        assert_eq!(
            verify_offline_presentation(&forged, &keys, setup.provider, NOW, today()),
            Err(OfflineError::HolderSignature)
        );
        // One flipped bit anywhere in the payload: refused.
        let mut flipped = sealed.clone();
        flipped[40] ^= 1;
        assert!(
            verify_offline_presentation(&flipped, &keys, setup.provider, NOW, today()).is_err()
        );
        // Another provider, a stale or future presentation, a revoked issuer.
        assert_eq!(
            verify_offline_presentation(&sealed, &keys, Uuid::now_v7(), NOW, today()),
            Err(OfflineError::WrongProvider)
        );
        assert_eq!(
            verify_offline_presentation(&sealed, &keys, setup.provider, NOW + 601, today()),
            Err(OfflineError::PresentationStale)
        );
        assert_eq!(
            verify_offline_presentation(&sealed, &keys, setup.provider, NOW - 31, today()),
            Err(OfflineError::PresentationStale)
        );
        let revoked = lookup(&setup.issuer, KeyStatus::Revoked);
        assert_eq!(
            verify_offline_presentation(&sealed, &revoked, setup.provider, NOW, today())
                .map_err(|e| e.code()),
            Err("token_key_revoked")
        );
    }

    #[test]
    fn a_binding_for_another_voucher_is_refused() {
        let setup = setup();
        let other = self::setup();
        let keys = lookup(&setup.issuer, KeyStatus::Active);
        let text = present_offline(
            &setup.voucher,
            &other.binding,
            [1; 16],
            NOW,
            setup.provider,
            |payload| setup.holder.sign(payload).to_bytes(),
        )
        .unwrap();
        assert_eq!(
            verify_offline_presentation(
                &offline_bytes(&text).unwrap(),
                &keys,
                setup.provider,
                NOW,
                today()
            ),
            Err(OfflineError::BindingInvalid)
        );
    }

    #[test]
    fn p256_device_keys_verify_webcrypto_style_signatures() {
        use p256::ecdsa::signature::Signer as _;
        let secret = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let point = secret.verifying_key().to_encoded_point(false);
        let key = DeviceKey::new(DeviceAlgorithm::EcdsaP256, point.as_bytes().to_vec()).unwrap();
        let signature: p256::ecdsa::Signature = secret.sign(b"record");
        let raw: [u8; 64] = signature.to_bytes().into();
        assert!(key.verifies(b"record", &raw));
        assert!(!key.verifies(b"recorD", &raw));
        assert_eq!(
            DeviceKey::new(DeviceAlgorithm::EcdsaP256, vec![4; 65]),
            Err(OfflineError::DeviceKey)
        );
        assert_eq!(
            DeviceKey::new(DeviceAlgorithm::Ed25519, vec![0; 32]).map(|_| ()),
            Err(OfflineError::DeviceKey),
            "a small-order Ed25519 key"
        );
    }

    #[test]
    fn records_open_only_when_canonical_and_signed_by_their_device() {
        let device = SigningKey::from_bytes(&[4; 32]);
        let key = DeviceKey::new(
            DeviceAlgorithm::Ed25519,
            device.verifying_key().to_bytes().to_vec(),
        )
        .unwrap();
        let claims = RecordClaims {
            presentation: vec![1, 2, 3],
            device_id: Uuid::now_v7(),
            record_number: 1,
            accepted_at: NOW,
            list_number: 3,
            service_category: "检验检测".into(),
            contract_amount: Fen::new(100_000),
            subsidy: Fen::new(50_000),
            contract_number: "HT-1".into(),
            description: "检测".into(),
        };
        let sealed = seal_record(&claims, |p| device.sign(p).to_bytes());
        let opened = open_record(&sealed).unwrap();
        assert_eq!(opened.claims, claims);
        assert!(opened.signed_by(&key));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 70;
        tampered[last] ^= 1;
        assert!(
            open_record(&tampered).is_err_and(|e| e == OfflineError::RecordMalformed)
                || !open_record(&tampered).unwrap().signed_by(&key)
        );
        let zero = RecordClaims {
            record_number: 0,
            ..claims
        };
        assert_eq!(
            open_record(&seal_record(&zero, |p| device.sign(p).to_bytes())),
            Err(OfflineError::RecordMalformed)
        );
    }
}
