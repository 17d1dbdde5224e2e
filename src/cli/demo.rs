//! `voucher-ledger demo`: a realistic Zhoushan dataset, then the service.
//!
//! Idempotent: every step has a fixed idempotency key and every record is
//! an upsert, so running it again adds nothing. Users get generated
//! passwords, printed once when they are created (there are no default
//! passwords); a second run says they already exist.

use crate::domain::key_status::KeyStatus;
use crate::service::commands::Envelope;
use crate::service::written::unchanged_is_done;
use crate::service::{issuer_keys, programmes, registry};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use rand_core::{OsRng, RngCore};

use crate::app::{StoreJob, with_store};
use crate::domain::programme::{
    ProgrammeStatus, ProgrammeTerms, QrMode, Rounding, SettlementPeriod, Validity,
};
use crate::domain::provider::{ProviderFields, ProviderStatus, RelatedParty};
use crate::domain::{Fen, Password, ProgrammeCode, Role, SizeClass, Timestamp, Uscc, Username};
use crate::http::ApiConfig;
use crate::ledger::checkpoint::KeyPair;
use crate::service::commands::ProgrammeChange;
use crate::service::engine::{self, publish_ledger_key};
use crate::service::import::{
    ImportMode, ImportSettings, import_enterprises, parse_enterprise_file,
};
use crate::service::{CommandError, WriterConfig, WriterHandle, access};
use crate::store::Store;

/// The demo's enterprises: about as many as the 2017 policy's 专精特新 library.
const ENTERPRISES: usize = 700;
const PROVIDERS: usize = 30;
const ACTOR: &str = "system:demo";
use crate::domain::programme::SERVICE_CATEGORIES as CATEGORIES;

pub async fn run(
    database_url: &str,
    key_file: &Path,
    issuer_key_dir: &Path,
    listen: &str,
    api: ApiConfig,
    ops: super::OpsArgs,
) -> anyhow::Result<ExitCode> {
    let (signer, _) = crate::keyfile::load_or_create(key_file)?;
    let master_key_file = crate::personal::master_key::beside(key_file);
    let (personal_key, _) = crate::personal::master_key::load_or_create(&master_key_file)?;
    with_store(
        database_url,
        Demo {
            signer: Arc::new(signer),
            personal_key: Arc::new(personal_key),
            erasures: crate::personal::erasure_list::ErasureList::beside(&master_key_file),
            issuer_key_dir: issuer_key_dir.to_path_buf(),
            issuer_keys: api.issuer_keys.clone(),
            log_origin: api.log_origin.clone(),
        },
    )
    .await??;
    super::serve::run(database_url, key_file, listen, api, ops).await
}

struct Demo {
    signer: Arc<KeyPair>,
    personal_key: Arc<crate::personal::sealed::MasterKey>,
    erasures: crate::personal::erasure_list::ErasureList,
    issuer_key_dir: std::path::PathBuf,
    issuer_keys: Arc<crate::service::issuer_keyring::IssuerKeyring>,
    log_origin: String,
}

impl StoreJob for Demo {
    type Output = anyhow::Result<()>;

    async fn run<S: Store>(self, store: S) -> anyhow::Result<()> {
        publish_ledger_key(&store, &self.signer).await?;
        super::serve::apply_erasures(&store, &self.erasures).await?;
        let config = WriterConfig {
            issuer_keys: self.issuer_keys.clone(),
            log_origin: Some(self.log_origin.clone()),
            personal_key: Some(self.personal_key.clone()),
            ..WriterConfig::default()
        };
        let (writer, task) = engine::spawn(store.clone(), self.signer.clone(), config);
        let result = populate(&store, &writer, &self.issuer_key_dir).await;
        drop(writer);
        task.await?;
        result
    }
}

/// Who asks for demo step `key`, under a key of its own (re-running the
/// demo changes nothing).
fn by(key: &str) -> Envelope {
    Envelope::new(ACTOR, format!("demo:{key}"))
}

/// A demo step's outcome: done, or found done already.
fn done<T>(key: &str, result: Result<T, CommandError>) -> anyhow::Result<()> {
    unchanged_is_done(result).map_err(|error| anyhow::anyhow!("demo step {key}: {error}"))
}

async fn populate<S: Store>(
    store: &S,
    writer: &WriterHandle,
    issuer_key_dir: &Path,
) -> anyhow::Result<()> {
    eprintln!("demo: zones and enterprises…");
    for (name, division) in [
        ("新城", "330902"),
        ("高新区", "330902"),
        ("普陀山-朱家尖", "330903"),
    ] {
        let division = crate::domain::DivisionCode::parse(division).expect("valid demo division");
        let key = format!("zone:{name}");
        let defined = registry::define_zone(writer, by(&key), name.into(), division).await;
        done(&key, defined)?;
    }
    let zones = crate::service::import::zone_map(store).await?;
    let rows =
        parse_enterprise_file(enterprise_csv().as_bytes()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let today = Timestamp::now().cst_date();
    let report = import_enterprises(
        writer,
        ACTOR,
        "demo:enterprises",
        rows,
        &ImportSettings {
            mode: ImportMode::AllOrNothing,
            today,
            zones,
        },
        |_, _| {},
    )
    .await;
    anyhow::ensure!(
        report.errors.is_empty(),
        "demo enterprises: {:?}",
        report.errors.first()
    );
    let mut first_enterprise = None;
    for index in 0..ENTERPRISES {
        let uscc = enterprise_uscc(index);
        let Some(enterprise) = store.enterprise_by_uscc(uscc.as_str()).await? else {
            continue;
        };
        first_enterprise.get_or_insert(enterprise.id);
        let tag = match index % 7 {
            0 | 3 => Some("专精特新培育库"),
            5 if index % 5 == 0 => Some("隐形冠军"),
            _ => None,
        };
        if let Some(tag) = tag {
            let tag = registry::Tag {
                tag: tag.into(),
                valid_from: date(2026, 1, 1),
                valid_until: Some(date(2028, 12, 31)),
                source: "舟山市经信局 2026 年培育库".into(),
            };
            let key = format!("tag:{index}");
            let tagged = registry::tag_enterprise(writer, by(&key), enterprise.id, tag).await;
            done(&key, tagged)?;
        }
    }
    eprintln!("demo: providers…");
    let mut first_provider = None;
    for index in 0..PROVIDERS {
        let fields = provider_fields(index);
        let input = fields
            .validate()
            .map_err(|e| anyhow::anyhow!("demo provider {index}: {:?}", e.first()))?;
        let uscc = input.uscc.to_string();
        let key = format!("provider:{index}");
        done(
            &key,
            registry::record_provider(writer, by(&key), input).await,
        )?;
        let provider = store
            .provider_by_uscc(&uscc)
            .await?
            .ok_or_else(|| anyhow::anyhow!("provider {uscc}"))?;
        first_provider.get_or_insert(provider.id);
        if provider.status == ProviderStatus::Applied {
            let key = format!("provider-approved:{index}");
            let approved = registry::change_provider_status(
                writer,
                by(&key),
                provider.id,
                ProviderStatus::Approved,
                "经信局审核入库".into(),
            )
            .await;
            done(&key, approved)?;
        }
    }
    eprintln!("demo: programmes…");
    let open = ProgrammeCode::parse("ZS2026-01").expect("valid code");
    let upcoming = ProgrammeCode::parse("ZS2027-01").expect("valid code");
    for (code, terms) in [(&open, open_terms()), (&upcoming, upcoming_terms())] {
        if store.programme(code.as_str()).await?.is_none() {
            let key = format!("programme:{code}");
            let create = ProgrammeChange::Create(terms);
            done(
                &key,
                programmes::change(writer, by(&key), code.clone(), create).await,
            )?;
        }
    }
    let key = "funding:ZS2026-01";
    let amount = Fen::from_yuan(3_000_000)?;
    let reference = "舟财企〔2026〕12号".to_string();
    done(
        key,
        programmes::fund(writer, by(key), open.clone(), amount, reference).await,
    )?;
    if store
        .programme(open.as_str())
        .await?
        .is_some_and(|p| p.status == ProgrammeStatus::Draft)
    {
        let key = "open:ZS2026-01";
        let opened = programmes::change(writer, by(key), open.clone(), ProgrammeChange::Open);
        done(key, opened.await)?;
    }
    eprintln!("demo: issuer key and a voucher…");
    let has_active_key = store
        .issuer_keys()
        .await?
        .iter()
        .any(|k| k.status == KeyStatus::Active);
    if !has_active_key {
        let (issuer, path) = super::keys::new_issuer_key_file(issuer_key_dir)?;
        let key = format!("issuer-key:{}", issuer.key_id());
        let public_key = issuer.public_key().to_bytes();
        done(
            &key,
            issuer_keys::activate(writer, by(&key), public_key).await,
        )?;
        eprintln!("demo: issuer key {} in {}", issuer.key_id(), path.display());
    }
    // The demo enterprise user is the first firm that may hold a voucher
    // of the open programme, and holds one.
    let mut voucher_holder = None;
    for index in 0..ENTERPRISES {
        let Some(enterprise) = store
            .enterprise_by_uscc(enterprise_uscc(index).as_str())
            .await?
        else {
            continue;
        };
        let allocated = crate::service::vouchers::issue(
            store,
            writer,
            ACTOR.into(),
            format!("demo:voucher:{index}"),
            &open,
            enterprise.id,
            Fen::new(open_terms().face_values_fen[0]),
            crate::service::commands::IssueVia::Allocation,
        )
        .await;
        match allocated {
            Ok(_) => {
                voucher_holder = Some(enterprise.id);
                break;
            }
            Err(crate::service::vouchers::IssueError::Command(CommandError::NotEligible {
                ..
            })) => continue,
            Err(error) => anyhow::bail!("demo voucher: {error}"),
        }
    }
    let first_enterprise = voucher_holder.or(first_enterprise);
    eprintln!("demo: users…");
    let users = [
        ("admin", Role::Admin, None, "周建国"),
        ("finance", Role::Finance, None, "王芳"),
        ("auditor", Role::Auditor, None, "陈立"),
        ("provider", Role::Provider, first_provider, "李敏"),
        ("enterprise", Role::Enterprise, first_enterprise, "张伟"),
    ];
    let mut created = Vec::new();
    for (name, role, party, display_name) in users {
        let username = Username::parse(&format!("demo-{name}")).expect("valid demo username");
        if store.user_by_username(username.as_str()).await?.is_some() {
            continue;
        }
        let password = generated_password();
        let by = Envelope::new(ACTOR, format!("demo:user:{name}"));
        let new_user = access::NewUser {
            username: username.clone(),
            role,
            party_id: party,
            display_name: Some(display_name.into()),
        };
        let password_checked =
            Password::new(password.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
        access::create_user(store, writer, by, new_user, &password_checked)
            .await
            .map_err(|e| anyhow::anyhow!("demo user {name}: {e}"))?;
        created.push((username, role, password));
    }
    if created.is_empty() {
        println!(
            "demo: data and users already exist (their passwords were printed when they were created)"
        );
    } else {
        println!("demo users (passwords shown once; keep them):");
        for (username, role, password) in created {
            println!(
                "  {:<10} {:<16} {password}",
                role.as_str(),
                username.as_str()
            );
        }
    }
    Ok(())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid demo date")
}

fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Zhoushan's four county-level divisions (定海, 普陀, 岱山, 嵊泗).
pub(super) const DIVISIONS: [&str; 4] = ["330902", "330903", "330921", "330922"];

/// Seven sectors with different size standards (工信部联企业〔2011〕300号).
pub(super) const SECTORS: [&str; 7] = [
    "工业",
    "软件和信息技术服务业",
    "批发业",
    "零售业",
    "交通运输业",
    "仓储业",
    "其他未列明行业",
];

fn enterprise_uscc(index: usize) -> Uscc {
    let division = DIVISIONS[index % DIVISIONS.len()];
    Uscc::complete(&format!("91{division}MA{:06}", index + 1)).expect("demo codes are valid")
}

/// About 700 firms across the four districts, seven sectors and all sizes.
fn enterprise_csv() -> String {
    const TRADES: [&str; 12] = [
        "海洋科技",
        "船舶修造",
        "水产食品",
        "港航物流",
        "石化新材料",
        "渔业装备",
        "海岛旅游",
        "电子信息",
        "精密机械",
        "生物医药",
        "冷链仓储",
        "软件开发",
    ];
    const PLACES: [&str; 4] = ["定海", "普陀", "岱山", "嵊泗"];
    let mut csv = String::from(
        "统一社会信用代码,企业名称,行政区划代码,功能区,行业,从业人员,营业收入(元),联系人\n",
    );
    for index in 0..ENTERPRISES {
        let district = index % DIVISIONS.len();
        let zone = match (district, index % 5) {
            (0, 0) => "新城",
            (0, 1) => "高新区",
            (1, 0) => "普陀山-朱家尖",
            _ => "",
        };
        // Mostly small and micro firms, some medium, a few large.
        let (staff, revenue_wan) = match index % 10 {
            0..=3 => (3 + index % 15, 40 + (index * 7) % 250),
            4..=7 => (20 + index % 200, 300 + (index * 13) % 1500),
            8 => (300 + index % 500, 2_500 + (index * 17) % 20_000),
            _ => (1_200 + index % 300, 45_000 + index % 1_000),
        };
        csv.push_str(&format!(
            "{},舟山{}{}{}有限公司,{},{},{},{},{}0000,{}\n",
            enterprise_uscc(index),
            PLACES[district],
            TRADES[index % TRADES.len()],
            index + 1,
            DIVISIONS[district],
            zone,
            SECTORS[index % SECTORS.len()],
            staff,
            revenue_wan,
            demo_contact(index)
        ));
    }
    csv
}

/// The demo enterprise `index`'s contact person: a name and a mobile number
/// (personal data: sealed before it is stored, docs/personal-data.md).
pub fn demo_contact(index: usize) -> String {
    const SURNAMES: [&str; 12] = [
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙",
    ];
    const GIVEN: [&str; 10] = [
        "海燕", "建军", "晓东", "丽华", "志强", "秀英", "国平", "春梅", "立新", "晨阳",
    ];
    format!(
        "{}{} 139{:08}",
        SURNAMES[index % SURNAMES.len()],
        GIVEN[(index / SURNAMES.len()) % GIVEN.len()],
        5_800_000 + index
    )
}

fn provider_fields(index: usize) -> ProviderFields {
    let uscc =
        Uscc::complete(&format!("91330900MB{:06}", index + 1)).expect("demo codes are valid");
    let category = CATEGORIES[index % CATEGORIES.len()];
    let second = CATEGORIES[(index + 3) % CATEGORIES.len()];
    let name = format!("舟山{category}服务中心{}有限公司", index + 1);
    ProviderFields {
        uscc: uscc.to_string(),
        name: name.clone(),
        legal_representative: format!("代表人{}", index + 1),
        categories: vec![category.into(), second.into()],
        bank_name: "中国银行舟山分行".into(),
        account_name: name,
        account_number: format!("62166100{:011}", index + 1),
        // Some providers declare a related firm — never provider 0 and
        // enterprise 0, the demo provider and demo enterprise users, who
        // must be able to do business with each other.
        related_parties: if index % 10 == 5 {
            vec![RelatedParty {
                uscc: Some(enterprise_uscc(index).to_string()),
                name: format!("关联企业{}", index + 1),
                relation: "同一法定代表人".into(),
            }]
        } else {
            Vec::new()
        },
        annual_cap_yuan: "5,000,000".into(),
    }
}

fn base_terms(name: &str, fiscal_year: i32) -> ProgrammeTerms {
    ProgrammeTerms {
        name: name.into(),
        fiscal_year,
        budget_fen: 300_000_000,
        face_values_fen: vec![100_000, 500_000, 1_000_000],
        subsidy_ratio_bp: 5_000,
        rounding: Rounding::Fen,
        divisible: true,
        validity: Validity::DaysAfterIssue { days: 180 },
        ends_on: date(fiscal_year, 12, 31),
        divisions: vec!["330900".into()],
        zones: Vec::new(),
        size_classes: vec![SizeClass::Small, SizeClass::Micro],
        required_tags: Vec::new(),
        excluded_tags: vec!["低散乱危".into()],
        service_categories: CATEGORIES.iter().map(|c| c.to_string()).collect(),
        annual_cap_fen: 1_000_000,
        annual_voucher_count: 3,
        claim_opens_at: format!("{fiscal_year}-01-05T09:00:00+08:00"),
        claim_closes_at: format!("{fiscal_year}-11-30T17:00:00+08:00"),
        auto_confirm_days: 15,
        hold_minutes: crate::domain::programme::HOLD_MINUTES_DEFAULT,
        qr_mode: QrMode::Rotating,
        settlement_period: SettlementPeriod::Quarter,
        // Islands and basements: a device may accept up to ¥5,000 of one
        // voucher and ¥20,000 in ten acceptances between syncs.
        offline: crate::domain::OfflineTerms {
            voucher_cap_fen: 500_000,
            device_cap_fen: 2_000_000,
            device_cap_count: 10,
            list_max_age_minutes: crate::domain::offline::LIST_MAX_AGE_MINUTES_DEFAULT,
        },
    }
}

fn open_terms() -> ProgrammeTerms {
    let mut terms = base_terms("2026 年舟山市中小微企业服务券（第一批）", 2026);
    // Open through the end of the year so the demo is claimable today.
    terms.claim_closes_at = "2026-12-31T17:00:00+08:00".into();
    terms
}

fn upcoming_terms() -> ProgrammeTerms {
    let mut terms = base_terms("2027 年舟山市专精特新企业服务券", 2027);
    terms.required_tags = vec!["专精特新培育库".into()];
    terms.face_values_fen = vec![500_000, 2_000_000];
    terms.annual_cap_fen = 2_000_000;
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_data_is_valid() {
        let rows = parse_enterprise_file(enterprise_csv().as_bytes()).unwrap();
        assert_eq!(rows.len(), ENTERPRISES);
        let today = date(2026, 11, 25);
        let mut classes = std::collections::BTreeSet::new();
        for (_, fields) in rows {
            let zones = [
                (
                    "新城".to_string(),
                    crate::domain::DivisionCode::parse("330902").unwrap(),
                ),
                (
                    "高新区".to_string(),
                    crate::domain::DivisionCode::parse("330902").unwrap(),
                ),
                (
                    "普陀山-朱家尖".to_string(),
                    crate::domain::DivisionCode::parse("330903").unwrap(),
                ),
            ]
            .into();
            classes.insert(fields.validate(None, today, &zones).unwrap().size_class);
        }
        assert_eq!(classes.len(), 4, "every size class appears: {classes:?}");
        for index in 0..PROVIDERS {
            provider_fields(index).validate().unwrap();
        }
        assert_eq!(open_terms().validate(), Ok(()));
        assert_eq!(upcoming_terms().validate(), Ok(()));
        assert_eq!(generated_password().len(), 16);
    }
}
