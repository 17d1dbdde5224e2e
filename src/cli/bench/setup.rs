//! The scene every benchmark starts from, set through the same service
//! functions the API calls: an issuer key, an open funded programme,
//! approved providers, imported firms, token-only users.

use crate::domain::programme::ProgrammeTerms;
use crate::domain::provider::{ProviderInput, ProviderStatus};
use crate::domain::{Fen, Principal, ProgrammeCode, Role, Timestamp, Uscc, Username};
use crate::ledger::checkpoint::KeyPair;
use crate::service::access::create_token_user;
use crate::service::commands::{Envelope, ProgrammeChange};
use crate::service::import::{ImportSettings, import_enterprises, parse_enterprise_file};
use crate::service::{WriterHandle, issuer_keys, programmes, registry};
use crate::store::Store;

/// Who sets a bench scene up, under key `key`.
pub fn by(key: impl Into<String>) -> Envelope {
    Envelope::new("system:bench", key)
}

/// `issuer` signs vouchers; programme `code` is created with `terms`,
/// funded with `funding` and opened.
pub async fn open_programme(
    writer: &WriterHandle,
    issuer: &KeyPair,
    code: &ProgrammeCode,
    terms: ProgrammeTerms,
    funding: Fen,
) -> anyhow::Result<()> {
    let public_key = issuer.public_key().to_bytes();
    issuer_keys::activate(writer, by("bench:setup:key"), public_key).await?;
    let create = ProgrammeChange::Create(terms);
    programmes::change(writer, by("bench:setup:create"), code.clone(), create).await?;
    let reference = "bench".to_string();
    programmes::fund(
        writer,
        by("bench:setup:fund"),
        code.clone(),
        funding,
        reference,
    )
    .await?;
    let open = ProgrammeChange::Open;
    programmes::change(writer, by("bench:setup:open"), code.clone(), open).await?;
    Ok(())
}

/// Records provider `input` and approves it; returns its id.
pub async fn approved_provider<S: Store>(
    store: &S,
    writer: &WriterHandle,
    input: ProviderInput,
) -> anyhow::Result<uuid::Uuid> {
    let uscc = input.uscc.to_string();
    registry::record_provider(writer, by(format!("bench:provider:{uscc}")), input).await?;
    let provider = store
        .provider_by_uscc(&uscc)
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench provider {uscc} was not recorded"))?;
    registry::change_provider_status(
        writer,
        by(format!("bench:provider-approved:{uscc}")),
        provider.id,
        ProviderStatus::Approved,
        "bench".into(),
    )
    .await?;
    Ok(provider.id)
}

/// A token-only user `username` with `role` for party `party_id`, as the
/// principal its API tokens will stand for.
pub async fn token_user<S: Store>(
    store: &S,
    writer: &WriterHandle,
    username: &str,
    role: Role,
    party_id: Option<uuid::Uuid>,
) -> anyhow::Result<Principal> {
    let name = Username::parse(username).map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = format!("bench:user:{username}");
    let user = create_token_user(store, writer, by(key), name.clone(), role, party_id).await?;
    Ok(Principal {
        user_id: user.id,
        username: name,
        role,
        party_id,
        token_id: None,
    })
}

/// Imports `count` generated firms (all eligible for the bench programmes).
pub async fn import_firms(writer: &WriterHandle, count: usize) -> anyhow::Result<()> {
    let csv = generated_enterprise_csv(count);
    let rows = parse_enterprise_file(csv.as_bytes()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let settings = ImportSettings::all_or_nothing(Timestamp::now().cst_date());
    let report = import_enterprises(
        writer,
        "system:bench",
        "bench:firms",
        rows,
        &settings,
        |_, _| {},
    )
    .await;
    anyhow::ensure!(
        report.errors.is_empty(),
        "bench firms: {:?}",
        report.errors.first()
    );
    Ok(())
}

/// `rows` enterprises with valid USCCs across Zhoushan's districts and sectors.
pub fn generated_enterprise_csv(rows: usize) -> String {
    use crate::cli::demo::{DIVISIONS, SECTORS};
    let mut csv =
        String::from("统一社会信用代码,企业名称,行政区划代码,行业,从业人员,营业收入(元)\n");
    for i in 0..rows {
        let division = DIVISIONS[i % DIVISIONS.len()];
        let uscc = Uscc::complete(&format!("91{division}{:08}", i + 1))
            .expect("generated codes are valid");
        let sector = SECTORS[i % SECTORS.len()];
        let staff = (i * 7) % 500;
        let revenue_yuan = ((i * 13) % 50_000) * 1_000;
        csv.push_str(&format!(
            "{uscc},舟山测试企业{i}有限公司,{division},{sector},{staff},{revenue_yuan}.00\n"
        ));
    }
    csv
}
