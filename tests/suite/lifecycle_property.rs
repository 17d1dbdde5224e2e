//! Property (issue 6): random sequences of claim, redeem, confirm, dispute,
//! resolve, reverse, freeze, expire and revoke, on a divisible and a single-use
//! programme, keep after every step: the chain and every entry's postings
//! valid; no voucher paying more than its face value; each programme's
//! funding equal to available + outstanding + payable + paid + lapsed;
//! and the projections agreeing with the accounts (outstanding = Σ active
//! vouchers' remaining value, each provider's payable = Σ its live
//! subsidies). Refusals are fine; a server error is not.
//!
//! Offline (issue 22): a registered device accepts vouchers offline (each
//! acceptance queued, not yet sent), status lists are published between
//! steps, and queued acceptances are synced in random order — interleaved
//! with online redemptions, reversals, expiries and revocations — under the
//! same invariants after every step.

use std::collections::HashMap;
use voucher_ledger::domain::status::{RedemptionStatus, VoucherStatus};
use voucher_ledger::service::commands::{
    ActivateIssuerKey, ChangeProgramme, ChangeProviderStatus, FundProgramme, IssueVoucher,
    RecordProvider, WithdrawVoucher,
};

use proptest::prelude::*;
use uuid::Uuid;
use voucher_ledger::domain::Timestamp;
use voucher_ledger::domain::provider::{ProviderFields, ProviderStatus};
use voucher_ledger::domain::redemption::RedemptionAction;
use voucher_ledger::domain::{Fen, ProgrammeCode};
use voucher_ledger::ledger::checkpoint::KeyPair;
use voucher_ledger::service::commands::offline::{
    BindHolderKey, PublishStatusList, RegisterOfflineDevice, SyncOfflineAcceptance,
};
use voucher_ledger::service::commands::{
    ChangedBy, Command, IssueVia, ProgrammeChange, RedeemSpec, RedemptionChange, ShownToken,
    Submission,
};
use voucher_ledger::service::issuer_keyring::IssuerKeyring;
use voucher_ledger::service::verify::verify_store;
use voucher_ledger::service::{CommandError, WriterConfig, WriterHandle};
use voucher_ledger::store::redemption::{RedemptionFilter, RedemptionRecord};
use voucher_ledger::store::voucher::{VoucherFilter, VoucherRecord};
use voucher_ledger::store::{PostgresStore, SqliteStore, Store};
use voucher_ledger::token::offline::{DeviceAlgorithm, DeviceKey};

use crate::helpers::{TestDb, start_writer};
use crate::property::runner;

/// A divisible and a single-use programme, both static QR.
const PROGRAMMES: [&str; 2] = ["PD", "PS"];
const FIRMS: usize = 3;
const FACE: i64 = 100_000;

#[derive(Debug, Clone)]
enum Step {
    Claim {
        firm: usize,
        programme: usize,
    },
    Redeem {
        voucher: usize,
        amount_fen: i64,
    },
    Change {
        redemption: usize,
        action: usize,
        by_owner: bool,
    },
    Expire {
        voucher: usize,
    },
    Revoke {
        voucher: usize,
    },
    /// A device accepts the voucher offline: queued, synced later.
    AcceptOffline {
        voucher: usize,
        amount_fen: i64,
        device: usize,
    },
    /// One queued offline acceptance is synced.
    SyncOffline {
        queued: usize,
    },
    /// A status list is published.
    Publish,
}

const ACTIONS: [RedemptionAction; 6] = [
    RedemptionAction::Confirm,
    RedemptionAction::Dispute,
    RedemptionAction::RejectDispute,
    RedemptionAction::UpholdDispute,
    RedemptionAction::Reverse,
    RedemptionAction::Freeze,
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..FIRMS, 0..2usize).prop_map(|(firm, programme)| Step::Claim { firm, programme }),
        4 => (0..8usize, 1..150_000i64).prop_map(|(voucher, amount_fen)| Step::Redeem { voucher, amount_fen }),
        4 => (0..8usize, 0..ACTIONS.len(), any::<bool>())
            .prop_map(|(redemption, action, by_owner)| Step::Change { redemption, action, by_owner }),
        1 => (0..8usize).prop_map(|voucher| Step::Expire { voucher }),
        1 => (0..8usize).prop_map(|voucher| Step::Revoke { voucher }),
        3 => (0..8usize, 1..150_000i64, 0..2usize)
            .prop_map(|(voucher, amount_fen, device)| Step::AcceptOffline { voucher, amount_fen, device }),
        3 => (0..8usize).prop_map(|queued| Step::SyncOffline { queued }),
        1 => Just(Step::Publish),
    ]
}

/// The parties of one case.
struct Scene {
    writer: WriterHandle,
    task: tokio::task::JoinHandle<()>,
    firms: Vec<Uuid>,
    provider: Uuid,
    /// The provider's two registered devices.
    devices: Vec<Uuid>,
}

async fn submit(writer: &WriterHandle, key: String, command: Command) -> Result<(), CommandError> {
    writer
        .submit(Submission {
            actor: "test:property".into(),
            idempotency_key: key,
            command,
        })
        .await
        .map(|_| ())
}

async fn scene<S: Store>(store: &S) -> Scene {
    let issuer = KeyPair::generate();
    let keyring = std::sync::Arc::new(IssuerKeyring::default());
    keyring.add(issuer.signing_key().clone());
    let config = WriterConfig {
        issuer_keys: keyring,
        ..WriterConfig::default()
    };
    let (writer, task) = start_writer(store, config).await;
    let mut commands = vec![Command::ActivateIssuerKey(ActivateIssuerKey {
        public_key: issuer.public_key().to_bytes(),
    })];
    for (n, code) in PROGRAMMES.iter().enumerate() {
        let mut terms = crate::issuance::terms(20 * FACE, &[FACE], 2, "static");
        terms["divisible"] = serde_json::json!(n == 0);
        terms["offline"] = serde_json::json!({
            "voucher_cap_fen": FACE,
            "device_cap_fen": 100 * FACE,
            "device_cap_count": 100,
            "list_max_age_minutes": 1440,
        });
        let code = ProgrammeCode::parse(code).unwrap();
        commands.push(Command::ChangeProgramme(ChangeProgramme {
            code: code.clone(),
            change: ProgrammeChange::Create(serde_json::from_value(terms).unwrap()),
        }));
        commands.push(Command::FundProgramme(FundProgramme {
            programme: code.clone(),
            amount: Fen::new(5 * FACE),
            reference: "舟财企〔2026〕14号".into(),
        }));
        commands.push(Command::ChangeProgramme(ChangeProgramme {
            code,
            change: ProgrammeChange::Open,
        }));
    }
    let provider = Uuid::now_v7();
    let fields: ProviderFields = serde_json::from_value(serde_json::json!({
        "uscc": voucher_ledger::domain::Uscc::complete("91330900MA2R0001").unwrap().to_string(),
        "name": "舟山综合服务有限公司",
        "legal_representative": "钱七",
        "categories": ["管理咨询", "检验检测"],
        "bank_name": "中国银行舟山分行",
        "account_name": "舟山综合服务有限公司",
        "account_number": "6216 6100 0000 3333 444",
        "related_parties": [],
        "annual_cap_yuan": "5000000"
    }))
    .unwrap();
    commands.push(Command::RecordProvider(RecordProvider {
        provider_id: provider,
        input: fields.validate().unwrap(),
    }));
    commands.push(Command::ChangeProviderStatus(ChangeProviderStatus {
        provider_id: provider,
        status: ProviderStatus::Approved,
        reason: "入库".into(),
    }));
    let devices: Vec<Uuid> = (0..2).map(|_| Uuid::now_v7()).collect();
    for (n, device) in devices.iter().enumerate() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[n as u8 + 1; 32]);
        commands.push(Command::RegisterOfflineDevice(RegisterOfflineDevice {
            device_id: *device,
            provider_id: provider,
            key: DeviceKey::new(
                DeviceAlgorithm::Ed25519,
                key.verifying_key().to_bytes().to_vec(),
            )
            .unwrap(),
            label: format!("设备{n}"),
        }));
    }
    commands.push(Command::PublishStatusList(PublishStatusList {
        min_interval_seconds: 0,
        idle_refresh_seconds: 0,
    }));
    for (n, command) in commands.into_iter().enumerate() {
        submit(&writer, format!("scene:{n}"), command)
            .await
            .unwrap();
    }
    let firms = crate::issuance::seed_firms(store, &writer, 8_000, FIRMS)
        .await
        .into_iter()
        .map(|firm| firm.enterprise_id)
        .collect();
    Scene {
        writer,
        task,
        firms,
        provider,
        devices,
    }
}

/// The holder key every voucher of a case is bound to.
fn holder_key() -> DeviceKey {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    DeviceKey::new(
        DeviceAlgorithm::Ed25519,
        key.verifying_key().to_bytes().to_vec(),
    )
    .unwrap()
}

/// A device's acceptance of `voucher` as its page would make it (the
/// signatures are the service's to check, before the writer): the holder
/// key is bound first, the subsidy is the programme's half of the contract
/// capped by what the voucher holds now. `None` when the device would
/// refuse.
async fn accept_offline<S: Store>(
    store: &S,
    scene: &Scene,
    voucher: &VoucherRecord,
    amount_fen: i64,
    device: usize,
    serial: u64,
) -> Option<Command> {
    if voucher.status != VoucherStatus::Active {
        return None;
    }
    let claimed = (amount_fen / 2).min(voucher.remaining_fen);
    if claimed <= 0 {
        return None;
    }
    let bound = submit(
        &scene.writer,
        format!("bind:{}", voucher.id),
        Command::BindHolderKey(BindHolderKey {
            voucher_id: voucher.id,
            enterprise_id: None,
            key: holder_key(),
        }),
    )
    .await;
    if !matches!(bound, Ok(()) | Err(CommandError::Unchanged { .. })) {
        return None;
    }
    let binding = store.holder_bindings_of(voucher.id).await.unwrap().len() as u32;
    let list = store.latest_status_list().await.unwrap()?.number;
    Some(Command::SyncOfflineAcceptance(Box::new(
        SyncOfflineAcceptance {
            id: Uuid::now_v7(),
            provider_id: scene.provider,
            device_id: scene.devices[device],
            record_number: serial,
            record_digest: [serial as u8; 32],
            accepted_at_us: Timestamp::now().as_micros(),
            list_number: list,
            voucher_id: voucher.id,
            programme: voucher.programme_code.clone(),
            nonce_hex: Uuid::now_v7().simple().to_string(),
            binding_number: binding,
            holder_key: holder_key().public_key,
            service_category: "管理咨询".into(),
            contract_number: format!("LX-{serial}"),
            description: "离线咨询".into(),
            contract_amount: Fen::new(amount_fen),
            claimed: Fen::new(claimed),
        },
    )))
}

/// Every voucher and redemption (a case makes far fewer than a page).
async fn snapshot<S: Store>(store: &S) -> (Vec<VoucherRecord>, Vec<RedemptionRecord>) {
    let vouchers = store
        .vouchers_after(&VoucherFilter::default(), None, 500)
        .await
        .unwrap();
    let redemptions = store
        .redemptions_after(&RedemptionFilter::default(), None, 500)
        .await
        .unwrap();
    (vouchers, redemptions)
}

/// The command a step stands for, given what exists so far; `None` when it
/// names nothing yet.
async fn command_of<S: Store>(
    store: &S,
    db: &TestDb,
    scene: &Scene,
    step: &Step,
) -> Option<Command> {
    let (vouchers, redemptions) = snapshot(store).await;
    let pick = |n: usize, len: usize| (len > 0).then(|| n % len);
    Some(match *step {
        Step::Claim { firm, programme } => Command::IssueVoucher(IssueVoucher {
            voucher_id: Uuid::now_v7(),
            programme: ProgrammeCode::parse(PROGRAMMES[programme]).unwrap(),
            enterprise_id: scene.firms[firm],
            face_value: Fen::new(FACE),
            via: IssueVia::Claim,
        }),
        Step::Redeem {
            voucher,
            amount_fen,
        } => {
            let voucher = &vouchers[pick(voucher, vouchers.len())?];
            Command::RedeemVoucher(Box::new(RedeemSpec {
                redemption_id: Uuid::now_v7(),
                voucher_id: voucher.id,
                programme: voucher.programme_code.clone(),
                provider_id: scene.provider,
                shown: ShownToken::Static,
                service_category: "管理咨询".into(),
                contract_number: "HT-P".into(),
                description: "咨询".into(),
                contract_amount: Fen::new(amount_fen),
                invoice: None,
                payment_proof_ref: None,
            }))
        }
        Step::Change {
            redemption,
            action,
            by_owner,
        } => {
            let redemption = &redemptions[pick(redemption, redemptions.len())?];
            let action = ACTIONS[action];
            let by = match (action, by_owner) {
                (RedemptionAction::Confirm | RedemptionAction::Dispute, true) => {
                    ChangedBy::Enterprise(redemption.enterprise_id)
                }
                (RedemptionAction::Reverse, true) => ChangedBy::Provider(scene.provider),
                _ => ChangedBy::Admin,
            };
            Command::ChangeRedemption(RedemptionChange {
                redemption_id: redemption.id,
                by,
                action,
                rating: Some(4),
                text: "理由".into(),
            })
        }
        Step::Expire { voucher } => {
            let voucher = &vouchers[pick(voucher, vouchers.len())?];
            db.age_voucher_past_its_last_day(voucher.id).await;
            Command::WithdrawVoucher(WithdrawVoucher {
                voucher_id: voucher.id,
                revoke_reason: None,
            })
        }
        Step::Revoke { voucher } => {
            let voucher = &vouchers[pick(voucher, vouchers.len())?];
            Command::WithdrawVoucher(WithdrawVoucher {
                voucher_id: voucher.id,
                revoke_reason: Some("核查撤销".into()),
            })
        }
        Step::Publish => Command::PublishStatusList(PublishStatusList {
            min_interval_seconds: 0,
            idle_refresh_seconds: 0,
        }),
        // Queued by `run_case`.
        Step::AcceptOffline { .. } | Step::SyncOffline { .. } => return None,
    })
}

async fn check_invariants<S: Store>(store: &S, index: usize) -> Result<(), TestCaseError> {
    verify_store(store, &[])
        .await
        .map_err(|e| TestCaseError::fail(format!("verify after step {index}: {e}")))?;
    let balances: HashMap<String, i64> = store
        .balances()
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.account, b.balance_fen))
        .collect();
    let (vouchers, redemptions) = snapshot(store).await;
    for code in PROGRAMMES {
        let of = |prefix: &str| -> i64 {
            balances
                .iter()
                .filter(|(account, _)| {
                    account.starts_with(&format!("{prefix}/{code}/"))
                        || **account == format!("{prefix}/{code}")
                })
                .map(|(_, balance)| *balance)
                .sum()
        };
        let funding = -of("programme_funding");
        let parts = of("budget_available")
            + of("vouchers_outstanding")
            + of("provider_payable")
            + of("paid")
            + of("lapsed")
            + of("recovery_receivable");
        prop_assert_eq!(funding, parts, "programme {} identity", code);
        let outstanding: i64 = vouchers
            .iter()
            .filter(|v| v.programme_code.as_str() == code && v.status == VoucherStatus::Active)
            .map(|v| v.remaining_fen)
            .sum();
        prop_assert_eq!(
            of("vouchers_outstanding"),
            outstanding,
            "{} outstanding",
            code
        );
        let live: i64 = redemptions
            .iter()
            .filter(|r| r.programme_code.as_str() == code && r.status != RedemptionStatus::Reversed)
            .map(|r| r.subsidy_fen)
            .sum();
        prop_assert_eq!(of("provider_payable"), live, "{} payable", code);
    }
    for voucher in &vouchers {
        let paid: i64 = redemptions
            .iter()
            .filter(|r| r.voucher_id == voucher.id && r.status != RedemptionStatus::Reversed)
            .map(|r| r.subsidy_fen)
            .sum();
        prop_assert!(
            paid <= voucher.face_value_fen,
            "voucher {} pays {}",
            voucher.id,
            paid
        );
        prop_assert!(voucher.remaining_fen >= 0);
    }
    Ok(())
}

async fn run_case<S: Store>(store: S, db: &TestDb, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let scene = scene(&store).await;
    // Offline acceptances made and not yet synced, per device a serial.
    let mut queue: Vec<Command> = Vec::new();
    let mut serial = 0;
    for (index, step) in steps.iter().enumerate() {
        let command = match *step {
            Step::AcceptOffline {
                voucher,
                amount_fen,
                device,
            } => {
                let (vouchers, _) = snapshot(&store).await;
                if vouchers.is_empty() {
                    continue;
                }
                serial += 1;
                let voucher = &vouchers[voucher % vouchers.len()];
                if let Some(accepted) =
                    accept_offline(&store, &scene, voucher, amount_fen, device, serial).await
                {
                    queue.push(accepted);
                }
                check_invariants(&store, index).await?;
                continue;
            }
            Step::SyncOffline { queued } if !queue.is_empty() => queue.remove(queued % queue.len()),
            _ => match command_of(&store, db, &scene, step).await {
                Some(command) => command,
                None => continue,
            },
        };
        match submit(&scene.writer, format!("step:{index}"), command).await {
            Ok(()) => {}
            Err(
                CommandError::Internal | CommandError::Unavailable | CommandError::ShuttingDown,
            ) => {
                prop_assert!(false, "server error at step {} ({:?})", index, step)
            }
            // Any rule refusal is fine; the invariants decide.
            Err(_) => {}
        }
        check_invariants(&store, index).await?;
    }
    let Scene { writer, task, .. } = scene;
    drop(writer);
    task.await.expect("writer task");
    Ok(())
}

#[test]
fn random_voucher_lifecycles_keep_the_sqlite_ledger_sound() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runner(48)
        .run(&proptest::collection::vec(step(), 1..40), |steps| {
            runtime.block_on(async {
                let db = TestDb::sqlite();
                let store = SqliteStore::connect(db.url()).await.expect("connect");
                store.migrate().await.expect("migrate");
                run_case(store, &db, steps).await
            })
        })
        .unwrap();
}

#[test]
fn random_voucher_lifecycles_keep_the_postgres_ledger_sound() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if runtime.block_on(TestDb::postgres()).is_none() {
        return;
    }
    runner(16)
        .run(&proptest::collection::vec(step(), 1..40), |steps| {
            runtime.block_on(async {
                let db = TestDb::postgres().await.expect("configured");
                let store = PostgresStore::connect(db.url()).await.expect("connect");
                store.migrate().await.expect("migrate");
                run_case(store, &db, steps).await
            })
        })
        .unwrap();
}
