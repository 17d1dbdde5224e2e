//! The offline family's cases for the command-digest test
//! (`commands/tests.rs`): every asked field changes the digest, no
//! generated one does.

use super::{BindHolderKey, PublishStatusList, RegisterOfflineDevice, SyncOfflineAcceptance};
use crate::domain::Fen;
use crate::service::commands::digest_case::{Case, case, code, id};

pub(in crate::service::commands) fn cases() -> Vec<Case> {
    vec![
        case(
            BindHolderKey {
                voucher_id: id(1),
                enterprise_id: Some(id(2)),
                key: device_key(1),
            },
            &[
                ("voucher_id", |c| c.voucher_id = id(3)),
                ("enterprise_id", |c| c.enterprise_id = None),
                ("key", |c| c.key = device_key(2)),
            ],
            &[],
        ),
        case(
            RegisterOfflineDevice {
                device_id: id(1),
                provider_id: id(2),
                key: device_key(1),
                label: "a".into(),
            },
            &[
                ("provider_id", |c| c.provider_id = id(3)),
                ("key", |c| c.key = device_key(2)),
                ("label", |c| c.label = "b".into()),
            ],
            &[("device_id", |c| c.device_id = id(4))],
        ),
        case(
            PublishStatusList {
                min_interval_seconds: 60,
                idle_refresh_seconds: 3600,
            },
            &[
                ("min_interval_seconds", |c| c.min_interval_seconds = 0),
                ("idle_refresh_seconds", |c| c.idle_refresh_seconds = 0),
            ],
            &[],
        ),
        case(
            Box::new(sync_offline()),
            &[
                ("provider_id", |c| c.provider_id = id(9)),
                ("device_id", |c| c.device_id = id(9)),
                ("record_number", |c| c.record_number = 2),
                ("record_digest", |c| c.record_digest = [2; 32]),
                ("accepted_at_us", |c| c.accepted_at_us += 1),
                ("list_number", |c| c.list_number = 2),
                ("voucher_id", |c| c.voucher_id = id(9)),
                ("programme", |c| c.programme = code("ZS2026-02")),
                ("nonce_hex", |c| c.nonce_hex = "ff".into()),
                ("binding_number", |c| c.binding_number = 2),
                ("holder_key", |c| c.holder_key = vec![2; 32]),
                ("service_category", |c| c.service_category = "法律".into()),
                ("contract_number", |c| c.contract_number = "2".into()),
                ("description", |c| c.description = "e".into()),
                ("contract_amount", |c| c.contract_amount = Fen::new(3)),
                ("claimed", |c| c.claimed = Fen::new(2)),
            ],
            &[("id", |c| c.id = id(8))],
        ),
    ]
}

fn device_key(seed: u8) -> crate::token::offline::DeviceKey {
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    crate::token::offline::DeviceKey::new(
        crate::token::offline::DeviceAlgorithm::Ed25519,
        key.verifying_key().to_bytes().to_vec(),
    )
    .unwrap()
}

fn sync_offline() -> SyncOfflineAcceptance {
    SyncOfflineAcceptance {
        id: id(1),
        provider_id: id(2),
        device_id: id(3),
        record_number: 1,
        record_digest: [1; 32],
        accepted_at_us: 1_780_000_000_000_000,
        list_number: 1,
        voucher_id: id(4),
        programme: code("ZS2026-01"),
        nonce_hex: "00".into(),
        binding_number: 1,
        holder_key: vec![1; 32],
        service_category: "管理咨询".into(),
        contract_number: "1".into(),
        description: "d".into(),
        contract_amount: Fen::new(2),
        claimed: Fen::new(1),
    }
}
