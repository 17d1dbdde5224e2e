//! The route table: every endpoint, once — its method and path, who may
//! call it, whether it takes an idempotency key, its largest body, its
//! handler and its request and response schemas — in one row.
//!
//! `route_table!` turns the rows into `RouteId`, `ROUTES` and `bind` (the
//! handler bound to its method): the router is built from them,
//! authorisation and idempotency are enforced from them, and the OpenAPI
//! document is generated from them, so a route cannot be half-declared.
//! The test suite's allow/deny matrix, written independently, must cover
//! every row.

use axum::routing::{MethodFilter, MethodRouter, on};

use super::{
    AppState, access, fraud, health, holds, keys, ledger, log, offline, operations, personal,
    presentations, programme_guide, programmes, providers, public_notice, redemption_changes,
    redemptions, registry, registry_imports, serve_openapi_document, settlement, tokens,
    utilisation, vouchers,
};
use crate::domain::Role;
use crate::store::Store;

/// Who may call a route (before any object-level check in the handler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user; the handler limits them to their own objects.
    AnyUser,
    /// Signed-in users with one of these roles.
    Roles(&'static [Role]),
}

impl Access {
    pub fn allows(self, role: Option<Role>) -> bool {
        match (self, role) {
            (Access::Public, _) => true,
            (_, None) => false,
            (Access::AnyUser, Some(_)) => true,
            (Access::Roles(roles), Some(role)) => roles.contains(&role),
        }
    }
}

/// One endpoint.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub id: RouteId,
    pub method: &'static str,
    /// axum path syntax (`{name}` for parameters), which is also OpenAPI's.
    pub path: &'static str,
    pub access: Access,
    /// Mutating routes take an `Idempotency-Key`; login alone is exempt
    /// (each login is a new session, and its response holds a secret that
    /// must not be stored for replay).
    pub idempotency_key: bool,
    pub summary: &'static str,
    /// Largest request body (most routes: `super::REQUEST_BODY_BYTES_MAX`).
    pub body_bytes_max: usize,
    /// The request body's schema (a component of the OpenAPI document).
    pub request: Option<&'static str>,
    /// The success response's schema; `None` for no JSON body.
    pub response: Option<&'static str>,
}

impl RouteSpec {
    pub fn is_mutating(&self) -> bool {
        matches!(self.method, "POST" | "PUT" | "PATCH" | "DELETE")
    }

    /// POSTs that take no `Idempotency-Key`: login (each call is a new
    /// session, and its response holds a secret that must not be stored),
    /// and token verification (a read that takes the token in a body, so
    /// it stays out of URLs and access logs).
    pub fn is_keyless_post(&self) -> bool {
        matches!(
            self.id,
            RouteId::Login | RouteId::VerifyToken | RouteId::PreviewRedemption | RouteId::ScanPhoto
        )
    }

    /// Routes whose whole effect is one ledger command keyed by the
    /// request's key, and whose response is rebuilt from what that command
    /// recorded: a retry is answered from the ledger itself (same voucher,
    /// header `Idempotent-Replayed`), so the stored-response cache — two
    /// more writes per request — is skipped. A refusal is not stored: a
    /// retry decides again (it can never act twice).
    pub fn replays_from_ledger(&self) -> bool {
        matches!(self.id, RouteId::ClaimVoucher | RouteId::Redeem)
    }
}

const ADMIN: &[Role] = &[Role::Admin];
/// Settlement is the finance bureau's: it prepares, resolves, approves
/// and pays; the admin and the auditor read.
const FINANCE: &[Role] = &[Role::Finance];
const SETTLEMENT_READERS: &[Role] = &[Role::Admin, Role::Finance, Role::Auditor];
/// Metrics: the operators (admin) and auditors.
const METRICS_READERS: &[Role] = &[Role::Admin, Role::Auditor];
/// Who oversees personal data handling (subjects' standing, the reads).
const PERSONAL_DATA_OVERSEERS: &[Role] = &[Role::Admin, Role::Auditor];
/// A provider's statement: the bureau's staff, and that provider's own.
const STATEMENT_READERS: &[Role] = &[Role::Admin, Role::Finance, Role::Auditor, Role::Provider];
/// A bank's return file.
const BANK_FILE_BODY: usize = 16 * 1024 * 1024;
const DEFAULT_BODY: usize = super::REQUEST_BODY_BYTES_MAX;
/// A phone photo of a voucher.
const PHOTO_BODY: usize = 10 * 1024 * 1024;
/// Registry imports carry whole spreadsheets (200,000 rows fit).
const IMPORT_BODY: usize = 64 * 1024 * 1024;
/// Who reads the enterprise registry; enterprise users only their own.
/// Who reads the provider registry; provider staff only their own.
const PROVIDER_READERS: &[Role] = &[Role::Admin, Role::Finance, Role::Auditor, Role::Provider];
const ENTERPRISE_ONLY: &[Role] = &[Role::Enterprise];
const ENTERPRISE_READERS: &[Role] = &[Role::Admin, Role::Finance, Role::Auditor, Role::Enterprise];
/// Finance reads everything; the auditor reads everything; the admin
/// manages users, so reads them too.
const USER_READERS: &[Role] = &[Role::Admin, Role::Finance, Role::Auditor];
const LEDGER_READERS: &[Role] = &[Role::Finance, Role::Auditor];
/// Who reads vouchers; enterprise users only their own.
const PROVIDER_ONLY: &[Role] = &[Role::Provider];
/// Status lists: the devices of providers, and who oversees them.
const STATUS_LIST_READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Provider];
/// Redemption documents: the provider (invoice, payment proof), the
/// enterprise (its payment proof), the admin.
const DOCUMENT_ATTACHERS: &[Role] = &[Role::Admin, Role::Provider, Role::Enterprise];
/// A provider reverses its own redemptions; the admin any.
const REVERSERS: &[Role] = &[Role::Admin, Role::Provider];
/// Redemptions: providers and enterprises their own, the bureau's staff all.
const REDEMPTION_READERS: &[Role] = &[
    Role::Admin,
    Role::Finance,
    Role::Auditor,
    Role::Provider,
    Role::Enterprise,
];
const VOUCHER_READERS: &[Role] = &[Role::Admin, Role::Finance, Role::Auditor, Role::Enterprise];
/// An allocation list of 20,000 USCCs fits.
const ALLOCATION_BODY: usize = 1024 * 1024;

/// Generates, from the rows of the route table: `RouteId` (the stable
/// names), `ROUTES` (the specs) and `bind` (each route's handler on its
/// method). A row is
/// `Id: METHOD "/path", access, key|keyless, body max, handler,
/// [Request] -> [Response], "summary";` (`[]` for no JSON body).
macro_rules! route_table {
    ($($id:ident: $method:ident $path:literal, $access:expr, $key:ident, $body:expr,
        $handler:expr, [$($request:ident)?] -> [$($response:ident)?],
        $summary:literal;)*) => {
        /// Stable names of the endpoints.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RouteId {
            $($id,)*
        }

        pub const ROUTES: &[RouteSpec] = &[$(RouteSpec {
            id: RouteId::$id,
            method: stringify!($method),
            path: $path,
            access: $access,
            idempotency_key: route_table!(@key $key),
            summary: $summary,
            body_bytes_max: $body,
            request: route_table!(@schema $($request)?),
            response: route_table!(@schema $($response)?),
        },)*];

        /// The handler of route `id`, on its method.
        pub fn bind<S: Store>(id: RouteId) -> MethodRouter<AppState<S>> {
            match id {
                $(RouteId::$id => on(MethodFilter::$method, $handler),)*
            }
        }
    };
    (@key key) => { true };
    (@key keyless) => { false };
    (@schema) => { None };
    (@schema $name:ident) => { Some(stringify!($name)) };
}

route_table! {
    Healthz: GET "/healthz", Access::Public, keyless, DEFAULT_BODY,
        health::healthz::<S>, [] -> [Health],
        "Health: 200 when the database answers, 503 when not";
    Readyz: GET "/readyz", Access::Public, keyless, DEFAULT_BODY,
        operations::readyz::<S>, [] -> [Ready],
        "Readiness: 200 when this instance takes traffic (database reachable and writable, migrations current, writer running, not draining); 503 not_ready with every reason";
    Metrics: GET "/metrics", Access::Roles(METRICS_READERS), keyless, DEFAULT_BODY,
        operations::metrics::<S>, [] -> [],
        "Prometheus metrics (text format 0.0.4); also without login on --admin-listen";
    OpenApi: GET "/api/openapi.json", Access::Public, keyless, DEFAULT_BODY,
        serve_openapi_document, [] -> [],
        "This API's OpenAPI 3.1 document";
    LatestCheckpoint: GET "/api/v1/ledger/checkpoints/latest", Access::Public, keyless, DEFAULT_BODY,
        ledger::latest_checkpoint::<S>, [] -> [CheckpointView],
        "The ledger's latest signed checkpoint";
    LogInclusion: GET "/api/v1/log/inclusion", Access::Public, keyless, DEFAULT_BODY,
        log::inclusion::<S>, [] -> [InclusionView],
        "Transparency log: an entry's inclusion proof (by sequence, voucher_id, redemption_id or payout reference) in a tree size";
    LogConsistency: GET "/api/v1/log/consistency", Access::Public, keyless, DEFAULT_BODY,
        log::consistency::<S>, [] -> [ConsistencyView],
        "Transparency log: the proof that one tree size extends an older one";
    PublicProgrammes: GET "/api/v1/public/programmes", Access::Public, keyless, DEFAULT_BODY,
        public_notice::programmes::<S>, [] -> [PublicProgrammeList],
        "公示: the programmes open or closed (no login)";
    PublicNotice: GET "/api/v1/public/programmes/{code}", Access::Public, keyless, DEFAULT_BODY,
        public_notice::notice::<S>, [] -> [PublicNotice],
        "公示: a programme's approved providers, approved runs' payouts per provider with proofs, and totals (no login, nothing personal)";
    Login: POST "/api/v1/session", Access::Public, keyless, DEFAULT_BODY,
        access::login::<S>, [LoginRequest] -> [LoginResponse],
        "Log in: sets the session cookie and returns the CSRF token";
    Logout: DELETE "/api/v1/session", Access::AnyUser, key, DEFAULT_BODY,
        access::logout::<S>, [] -> [Done],
        "Log out: ends the current web session";
    Me: GET "/api/v1/me", Access::AnyUser, keyless, DEFAULT_BODY,
        access::me::<S>, [] -> [UserView],
        "The signed-in user";
    ChangePassword: PUT "/api/v1/me/password", Access::AnyUser, key, DEFAULT_BODY,
        access::change_password::<S>, [ChangePasswordRequest] -> [Done],
        "Change the signed-in user's password (ends all their sessions)";
    ListMyTokens: GET "/api/v1/me/tokens", Access::AnyUser, keyless, DEFAULT_BODY,
        access::list_my_tokens::<S>, [] -> [TokenList],
        "The signed-in user's API tokens (never their secrets)";
    CreateToken: POST "/api/v1/me/tokens", Access::AnyUser, key, DEFAULT_BODY,
        access::create_token::<S>, [CreateTokenRequest] -> [CreatedToken],
        "Issue an API token for the signed-in user; the secret is shown once";
    RevokeToken: DELETE "/api/v1/me/tokens/{token_id}", Access::AnyUser, key, DEFAULT_BODY,
        access::revoke_token::<S>, [] -> [Done],
        "Revoke one of the signed-in user's API tokens";
    ListUsers: GET "/api/v1/users", Access::Roles(USER_READERS), keyless, DEFAULT_BODY,
        access::list_users::<S>, [] -> [UserList],
        "Users, by username, with cursor pagination";
    ResetPassword: POST "/api/v1/users/{id}/password", Access::Roles(ADMIN), key, DEFAULT_BODY,
        access::reset_password::<S>, [ResetPasswordRequest] -> [Done],
        "Set a user's password; the user must change it at the next login (their sessions and tokens end)";
    CreateUser: POST "/api/v1/users", Access::Roles(ADMIN), key, DEFAULT_BODY,
        access::create_user::<S>, [CreateUserRequest] -> [UserView],
        "Create a user";
    GetUser: GET "/api/v1/users/{user_id}", Access::AnyUser, keyless, DEFAULT_BODY,
        access::get_user::<S>, [] -> [UserView],
        "One user (others than oneself: admin, finance and auditor only)";
    LedgerEntries: GET "/api/v1/ledger/entries", Access::Roles(LEDGER_READERS), keyless, DEFAULT_BODY,
        ledger::entries::<S>, [] -> [EntryList],
        "Ledger entries in sequence order, with cursor pagination";
    LedgerEntry: GET "/api/v1/ledger/entries/{sequence}", Access::Roles(LEDGER_READERS), keyless, DEFAULT_BODY,
        ledger::entry::<S>, [] -> [EntryView],
        "One ledger entry with its postings";
    LedgerBalances: GET "/api/v1/ledger/balances", Access::Roles(LEDGER_READERS), keyless, DEFAULT_BODY,
        ledger::balances::<S>, [] -> [BalanceList],
        "Every account's balance (the projection verify checks)";
    LedgerVerification: GET "/api/v1/ledger/verification", Access::Roles(LEDGER_READERS), keyless, DEFAULT_BODY,
        ledger::verification::<S>, [] -> [VerificationView],
        "Verifies the whole ledger now (what `voucher-ledger verify` checks); one run at a time";
    LedgerCheckpoints: GET "/api/v1/ledger/checkpoints", Access::Roles(LEDGER_READERS), keyless, DEFAULT_BODY,
        ledger::checkpoints::<S>, [] -> [CheckpointList],
        "Signed checkpoints, newest first, paginated by `before` = sequence";
    ListEnterprises: GET "/api/v1/enterprises", Access::Roles(USER_READERS), keyless, DEFAULT_BODY,
        registry::list::<S>, [] -> [EnterpriseList],
        "The enterprise registry, by USCC, with cursor pagination";
    RecordEnterprise: POST "/api/v1/enterprises", Access::Roles(ADMIN), key, DEFAULT_BODY,
        registry::record::<S>, [EnterpriseRequest] -> [RecordedEnterprise],
        "Register an enterprise, or update the one with the same USCC";
    GetEnterprise: GET "/api/v1/enterprises/{enterprise_id}", Access::Roles(ENTERPRISE_READERS), keyless, DEFAULT_BODY,
        registry::get::<S>, [] -> [EnterpriseDetail],
        "One enterprise with its tags and blacklist entries (enterprise users: their own)";
    TagEnterprise: POST "/api/v1/enterprises/{enterprise_id}/tags", Access::Roles(ADMIN), key, DEFAULT_BODY,
        registry::tag::<S>, [TagRequest] -> [EnterpriseDetail],
        "Tag an enterprise (e.g. 专精特新培育库) for a period";
    BlacklistEnterprise: POST "/api/v1/enterprises/{enterprise_id}/blacklist", Access::Roles(ADMIN), key, DEFAULT_BODY,
        registry::blacklist::<S>, [BlacklistRequest] -> [EnterpriseDetail],
        "Blacklist an enterprise from a date";
    ImportEnterprises: POST "/api/v1/imports/enterprises", Access::Roles(ADMIN), key, IMPORT_BODY,
        registry_imports::import::<S>, [] -> [ImportResult],
        "Import enterprises from CSV; row/column error report (JSON, or CSV with Accept: text/csv)";
    ListProgrammes: GET "/api/v1/programmes", Access::AnyUser, keyless, DEFAULT_BODY,
        programmes::list::<S>, [] -> [ProgrammeList],
        "Programmes (drafts only for admin, finance and auditor)";
    CreateProgramme: POST "/api/v1/programmes", Access::Roles(ADMIN), key, DEFAULT_BODY,
        programmes::create::<S>, [CreateProgrammeRequest] -> [ProgrammeView],
        "Create a programme in draft";
    GetProgramme: GET "/api/v1/programmes/{code}", Access::AnyUser, keyless, DEFAULT_BODY,
        programmes::get::<S>, [] -> [ProgrammeView],
        "One programme with its terms and budget";
    UpdateProgrammeDraft: PUT "/api/v1/programmes/{code}", Access::Roles(ADMIN), key, DEFAULT_BODY,
        programmes::update_draft::<S>, [ProgrammeTerms] -> [ProgrammeView],
        "Edit a draft programme (refused once open: amend instead)";
    OpenProgramme: POST "/api/v1/programmes/{code}/open", Access::Roles(ADMIN), key, DEFAULT_BODY,
        programmes::open::<S>, [] -> [ProgrammeView],
        "Open a draft programme: its terms are frozen";
    AmendProgramme: POST "/api/v1/programmes/{code}/amendments", Access::Roles(ADMIN), key, DEFAULT_BODY,
        programmes::amend::<S>, [AmendProgrammeRequest] -> [ProgrammeView],
        "Amend an open programme, with a reason recorded in the ledger";
    CloseProgramme: POST "/api/v1/programmes/{code}/close", Access::Roles(ADMIN), key, DEFAULT_BODY,
        programmes::close::<S>, [] -> [ProgrammeView],
        "Close an open programme";
    FundProgramme: POST "/api/v1/programmes/{code}/funding", Access::Roles(ADMIN), key, DEFAULT_BODY,
        programmes::fund::<S>, [FundingRequest] -> [ProgrammeView],
        "Fund or top up a programme (a ledger entry with postings)";
    MyEligibility: GET "/api/v1/me/eligibility", Access::Roles(ENTERPRISE_ONLY), keyless, DEFAULT_BODY,
        programme_guide::my_eligibility::<S>, [] -> [EligibilityList],
        "For an enterprise user: each open programme, whether it may claim and every reason not, claimed this year and left, the validity of a voucher claimed today";
    AcceptingProviders: GET "/api/v1/programmes/{code}/providers", Access::AnyUser, keyless, DEFAULT_BODY,
        programme_guide::accepting_providers::<S>, [] -> [AcceptingProviderList],
        "Approved providers that accept the programme's vouchers (categories met), by USCC, paged";
    ListProviders: GET "/api/v1/providers", Access::Roles(USER_READERS), keyless, DEFAULT_BODY,
        providers::list::<S>, [] -> [ProviderList],
        "The provider registry, by USCC, with cursor pagination";
    RecordProvider: POST "/api/v1/providers", Access::Roles(ADMIN), key, DEFAULT_BODY,
        providers::record::<S>, [ProviderFields] -> [RecordedProvider],
        "Register a provider (applied), or update the one with the same USCC";
    GetProvider: GET "/api/v1/providers/{provider_id}", Access::Roles(PROVIDER_READERS), keyless, DEFAULT_BODY,
        providers::get::<S>, [] -> [ProviderView],
        "One provider (provider staff: their own)";
    ProviderAccount: GET "/api/v1/providers/{provider_id}/account", Access::Roles(PROVIDER_READERS), keyless, DEFAULT_BODY,
        providers::account::<S>, [] -> [ProviderAccountView],
        "A provider's balances per programme (owed, in payment, paid, to recover) and payouts with their runs; provider staff their own";
    ChangeProviderStatus: POST "/api/v1/providers/{provider_id}/status", Access::Roles(ADMIN), key, DEFAULT_BODY,
        providers::change_status::<S>, [ProviderStatusRequest] -> [ProviderView],
        "Approve (入库), suspend (暂停), reinstate or remove (出库) a provider, with a reason";
    ImportTags: POST "/api/v1/imports/tags", Access::Roles(ADMIN), key, IMPORT_BODY,
        registry_imports::import_tag_list::<S>, [] -> [ImportResult],
        "Import a tag list (e.g. the 专精特新 library) from CSV or XLSX; row/column error report";
    ListZones: GET "/api/v1/zones", Access::AnyUser, keyless, DEFAULT_BODY,
        registry::zones::<S>, [] -> [ZoneList],
        "Functional zones and their parent divisions";
    DefineZone: POST "/api/v1/zones", Access::Roles(ADMIN), key, DEFAULT_BODY,
        registry::define_zone::<S>, [ZoneRequest] -> [ZoneList],
        "Define a functional zone (or move it to another parent division)";
    ImportProviders: POST "/api/v1/imports/providers", Access::Roles(ADMIN), key, IMPORT_BODY,
        registry_imports::import_providers::<S>, [] -> [ImportResult],
        "Import providers from CSV or XLSX; row/column error report";
    ImportBlacklist: POST "/api/v1/imports/blacklist", Access::Roles(ADMIN), key, IMPORT_BODY,
        registry_imports::import_blacklist::<S>, [] -> [ImportResult],
        "Import blacklist entries from CSV or XLSX; row/column error report";
    VoucherKeys: GET "/.well-known/voucher-keys.json", Access::Public, keyless, DEFAULT_BODY,
        keys::published::<S>, [] -> [PublishedKeys],
        "The issuer public keys that verify vouchers offline (docs/token-format.md)";
    RotateIssuerKey: POST "/api/v1/issuer-keys", Access::Roles(ADMIN), key, DEFAULT_BODY,
        keys::rotate::<S>, [] -> [PublishedKeys],
        "Rotate: a new issuer key in the server's key directory becomes the signing key";
    RevokeIssuerKey: POST "/api/v1/issuer-keys/{key_id}/revoke", Access::Roles(ADMIN), key, DEFAULT_BODY,
        keys::revoke::<S>, [RevokeKeyRequest] -> [PublishedKeys],
        "Revoke a compromised issuer key (its vouchers are refused)";
    VerifyToken: POST "/api/v1/tokens/verify", Access::Public, keyless, DEFAULT_BODY,
        tokens::verify::<S>, [VerifyTokenRequest] -> [VerificationReport],
        "Verify a voucher's QR text: signature, key and status, contents (no login)";
    ClaimVoucher: POST "/api/v1/programmes/{code}/claims", Access::Roles(ENTERPRISE_ONLY), key, DEFAULT_BODY,
        vouchers::claim::<S>, [ClaimRequest] -> [VoucherView],
        "Claim a voucher for my enterprise (eligibility, caps and budget checked atomically)";
    AllocateVouchers: POST "/api/v1/programmes/{code}/allocations", Access::Roles(ADMIN), key, ALLOCATION_BODY,
        vouchers::allocate::<S>, [AllocationRequest] -> [AllocationReport],
        "Issue vouchers to every eligible enterprise of a list; per-enterprise result";
    ListVouchers: GET "/api/v1/vouchers", Access::Roles(VOUCHER_READERS), keyless, DEFAULT_BODY,
        vouchers::list::<S>, [] -> [VoucherList],
        "Vouchers (an enterprise sees its own), filtered by programme, status or key";
    GetVoucher: GET "/api/v1/vouchers/{id}", Access::Roles(VOUCHER_READERS), keyless, DEFAULT_BODY,
        vouchers::get::<S>, [] -> [VoucherView],
        "One voucher with its QR text";
    VoucherReceipt: GET "/api/v1/vouchers/{id}/receipt", Access::Roles(VOUCHER_READERS), keyless, DEFAULT_BODY,
        log::voucher_receipt::<S>, [] -> [Receipt],
        "The receipt of a voucher's issue: leaf, inclusion proof and the cosigned checkpoint (docs/transparency.md)";
    VoucherQrPng: GET "/api/v1/vouchers/{id}/qr.png", Access::Roles(VOUCHER_READERS), keyless, DEFAULT_BODY,
        vouchers::qr_png::<S>, [] -> [],
        "The voucher's QR code as PNG";
    VoucherQrSvg: GET "/api/v1/vouchers/{id}/qr.svg", Access::Roles(VOUCHER_READERS), keyless, DEFAULT_BODY,
        vouchers::qr_svg::<S>, [] -> [],
        "The voucher's QR code as SVG";
    VoucherPrint: GET "/api/v1/vouchers/{id}/print", Access::Roles(VOUCHER_READERS), keyless, DEFAULT_BODY,
        vouchers::print::<S>, [] -> [],
        "A printable A6 voucher page in Chinese (HTML)";
    VoucherPresentation: GET "/api/v1/vouchers/{id}/presentation", Access::Roles(ENTERPRISE_ONLY), keyless, DEFAULT_BODY,
        presentations::presentation::<S>, [] -> [PresentationView],
        "A fresh short-lived presentation of my voucher (rotating programmes)";
    VoucherPresentationPng: GET "/api/v1/vouchers/{id}/presentation.png", Access::Roles(ENTERPRISE_ONLY), keyless, DEFAULT_BODY,
        presentations::presentation_png::<S>, [] -> [],
        "A fresh presentation as a PNG QR code";
    VoucherPresentationSvg: GET "/api/v1/vouchers/{id}/presentation.svg", Access::Roles(ENTERPRISE_ONLY), keyless, DEFAULT_BODY,
        presentations::presentation_svg::<S>, [] -> [],
        "A fresh presentation as an SVG QR code";
    ReissueIssuerKey: POST "/api/v1/issuer-keys/{key_id}/reissue", Access::Roles(ADMIN), key, DEFAULT_BODY,
        vouchers::reissue::<S>, [] -> [ReissueReport],
        "Re-issue every active voucher of a revoked key under the active key";
    BindHolderKey: POST "/api/v1/vouchers/{id}/holder-keys", Access::Roles(ENTERPRISE_ONLY), key, DEFAULT_BODY,
        offline::bind_holder_key::<S>, [DeviceKeyRequest] -> [HolderBindingList],
        "Bind this device's public key to my voucher for offline presentation (a re-binding replaces the earlier device)";
    HolderKeys: GET "/api/v1/vouchers/{id}/holder-keys", Access::Roles(VOUCHER_READERS), keyless, DEFAULT_BODY,
        offline::holder_keys::<S>, [] -> [HolderBindingList],
        "The voucher's holder bindings, oldest first, with their issuer-signed certificates";
    RegisterOfflineDevice: POST "/api/v1/offline/devices", Access::Roles(PROVIDER_ONLY), key, DEFAULT_BODY,
        offline::register_device::<S>, [DeviceKeyRequest] -> [DeviceView],
        "Register this provider device's public key: it may sign offline acceptances";
    ListOfflineDevices: GET "/api/v1/offline/devices", Access::Roles(PROVIDER_ONLY), keyless, DEFAULT_BODY,
        offline::devices::<S>, [] -> [DeviceList],
        "My provider's registered devices";
    StatusLists: GET "/api/v1/offline/status-lists", Access::Roles(STATUS_LIST_READERS), keyless, DEFAULT_BODY,
        offline::status_lists::<S>, [] -> [StatusListPage],
        "The signed status lists a device needs after list `after` (from the newest full list when one was published since)";
    PublishStatusList: POST "/api/v1/offline/status-lists", Access::Roles(ADMIN), key, DEFAULT_BODY,
        offline::publish_status_list::<S>, [PublishRequest] -> [StatusListPage],
        "Publish a status list now (`serve` also publishes one each minute the ledger moved, and hourly)";
    SyncOfflineAcceptance: POST "/api/v1/offline/acceptances", Access::Roles(PROVIDER_ONLY), key, DEFAULT_BODY,
        offline::sync::<S>, [SyncRequest] -> [AcceptanceView],
        "Sync one offline acceptance a registered device signed: redeemed, partly paid, or an offline_conflict (exactly once)";
    ListOfflineAcceptances: GET "/api/v1/offline/acceptances", Access::Roles(REDEMPTION_READERS), keyless, DEFAULT_BODY,
        offline::acceptances::<S>, [] -> [AcceptanceList],
        "Synced offline acceptances and conflicts (providers and enterprises see their own), newest first";
    RequestErasure: POST "/api/v1/personal-data/erasures", Access::Roles(ADMIN), key, DEFAULT_BODY,
        personal::request::<S>, [ErasureRequest] -> [SubjectView],
        "Record an erasure request for a subject's personal data: its key destroyed, or its data restricted to storage while a retention period runs";
    PersonalDataSubject: GET "/api/v1/personal-data/subjects/{subject}", Access::Roles(PERSONAL_DATA_OVERSEERS), keyless, DEFAULT_BODY,
        personal::subject::<S>, [] -> [SubjectView],
        "A subject's personal data standing: live, restricted, erased or none";
    PersonalDataReads: GET "/api/v1/personal-data/reads", Access::Roles(PERSONAL_DATA_OVERSEERS), keyless, DEFAULT_BODY,
        personal::reads::<S>, [] -> [ReadList],
        "Who read which subject's personal data unmasked, and when (newest first; `subject`, `before`, `limit`)";
    PreviewRedemption: POST "/api/v1/redemptions/preview", Access::Roles(PROVIDER_ONLY), keyless, DEFAULT_BODY,
        redemptions::preview::<S>, [PreviewRequest] -> [PreviewView],
        "Check a scanned voucher for a contract: subsidy, share and every reason it cannot be redeemed (records nothing)";
    HoldVoucher: POST "/api/v1/redemptions/holds", Access::Roles(PROVIDER_ONLY), key, DEFAULT_BODY,
        holds::hold::<S>, [PreviewRequest] -> [HoldView],
        "Preview a scanned code and, if it could be redeemed now, hold the voucher for this provider for the programme's hold window";
    ReleaseHold: DELETE "/api/v1/redemptions/holds/{voucher_id}", Access::Roles(PROVIDER_ONLY), key, DEFAULT_BODY,
        holds::release::<S>, [] -> [ReleasedView],
        "Let this provider's live hold on a voucher go";
    Redeem: POST "/api/v1/redemptions", Access::Roles(PROVIDER_ONLY), key, DEFAULT_BODY,
        redemptions::redeem::<S>, [RedeemRequest] -> [RedemptionView],
        "Redeem a scanned voucher against a service contract (exactly once)";
    ListRedemptions: GET "/api/v1/redemptions", Access::Roles(REDEMPTION_READERS), keyless, DEFAULT_BODY,
        redemptions::list::<S>, [] -> [RedemptionList],
        "Redemptions (providers and enterprises see their own), filtered by voucher or status";
    GetRedemption: GET "/api/v1/redemptions/{id}", Access::Roles(REDEMPTION_READERS), keyless, DEFAULT_BODY,
        redemptions::get::<S>, [] -> [RedemptionView],
        "One redemption";
    RedemptionReceipt: GET "/api/v1/redemptions/{id}/receipt", Access::Roles(REDEMPTION_READERS), keyless, DEFAULT_BODY,
        log::redemption_receipt::<S>, [] -> [Receipt],
        "The receipt of a redemption's entry: leaf, inclusion proof and the cosigned checkpoint";
    ConfirmRedemption: POST "/api/v1/redemptions/{id}/confirm", Access::Roles(ENTERPRISE_ONLY), key, DEFAULT_BODY,
        redemption_changes::confirm::<S>, [ConfirmRequest] -> [RedemptionView],
        "Confirm the service was delivered (optional 1–5 rating and comment)";
    DisputeRedemption: POST "/api/v1/redemptions/{id}/dispute", Access::Roles(ENTERPRISE_ONLY), key, DEFAULT_BODY,
        redemption_changes::dispute::<S>, [ReasonRequest] -> [RedemptionView],
        "Dispute a pending redemption, with a reason (the admin resolves it)";
    ResolveDispute: POST "/api/v1/redemptions/{id}/resolve", Access::Roles(ADMIN), key, DEFAULT_BODY,
        redemption_changes::resolve::<S>, [ResolveRequest] -> [RedemptionView],
        "Resolve a dispute: upheld reverses the redemption, rejected confirms it";
    ReverseRedemption: POST "/api/v1/redemptions/{id}/reverse", Access::Roles(REVERSERS), key, DEFAULT_BODY,
        redemption_changes::reverse::<S>, [ReasonRequest] -> [RedemptionView],
        "Reverse (冲正) an unsettled redemption with a reason: value back to the voucher or the budget";
    RevokeVoucher: POST "/api/v1/vouchers/{id}/revoke", Access::Roles(ADMIN), key, DEFAULT_BODY,
        redemption_changes::revoke_voucher::<S>, [ReasonRequest] -> [VoucherView],
        "Revoke an active voucher with a reason: its remaining value back to the budget";
    SweepExpiry: POST "/api/v1/sweeps/expiry", Access::Roles(ADMIN), key, DEFAULT_BODY,
        redemption_changes::sweep_expiry::<S>, [] -> [SweepView],
        "Expire every voucher past its last valid day now (also runs on a schedule)";
    SweepAutoConfirm: POST "/api/v1/sweeps/auto-confirm", Access::Roles(ADMIN), key, DEFAULT_BODY,
        redemption_changes::sweep_auto_confirm::<S>, [] -> [SweepView],
        "Confirm redemptions pending longer than their programme's auto_confirm_days (also scheduled)";
    AttachDocuments: POST "/api/v1/redemptions/{id}/documents", Access::Roles(DOCUMENT_ATTACHERS), key, DEFAULT_BODY,
        redemption_changes::attach_documents::<S>, [DocumentsRequest] -> [RedemptionView],
        "Add or replace the invoice (provider) and the payment proof reference (provider or enterprise), needed before settlement";
    ScanPhoto: POST "/api/v1/redemptions/scan", Access::Roles(PROVIDER_ONLY), keyless, PHOTO_BODY,
        redemption_changes::scan_photo, [] -> [ScannedView],
        "Read the QR code in an uploaded photo (PNG or JPEG body) of a voucher: its text, for the preview";
    MarkFraud: POST "/api/v1/fraud-markings", Access::Roles(ADMIN), key, DEFAULT_BODY,
        fraud::mark::<S>, [FraudMarkingRequest] -> [FraudMarkingReport],
        "Mark an enterprise or provider fraudulent: blacklist, revoke its vouchers, freeze its redemptions, remove a provider and open recovery of what it was paid";
    PrepareSettlement: POST "/api/v1/settlement-runs", Access::Roles(FINANCE), key, DEFAULT_BODY,
        settlement::prepare::<S>, [PrepareSettlementRequest] -> [SettlementRunView],
        "Prepare the settlement run of a programme for a period: every confirmed, unsettled redemption of the period becomes a line, reconciled and flagged";
    ListSettlementRuns: GET "/api/v1/settlement-runs", Access::Roles(SETTLEMENT_READERS), keyless, DEFAULT_BODY,
        settlement::list::<S>, [] -> [SettlementRunList],
        "Settlement runs, newest period first (of one programme with ?programme=)";
    GetSettlementRun: GET "/api/v1/settlement-runs/{id}", Access::Roles(SETTLEMENT_READERS), keyless, DEFAULT_BODY,
        settlement::get::<S>, [] -> [SettlementRunView],
        "A settlement run: totals per line state and its payouts";
    RunReceipt: GET "/api/v1/settlement-runs/{id}/receipt", Access::Roles(SETTLEMENT_READERS), keyless, DEFAULT_BODY,
        log::run_receipt::<S>, [] -> [Receipt],
        "The receipt of a settlement run's approval: leaf, inclusion proof and the cosigned checkpoint";
    ListSettlementLines: GET "/api/v1/settlement-runs/{id}/lines", Access::Roles(SETTLEMENT_READERS), keyless, DEFAULT_BODY,
        settlement::lines::<S>, [] -> [SettlementLineList],
        "A run's lines with their reconciliation flags, in line order";
    ResolveSettlementLine: POST "/api/v1/settlement-runs/{id}/lines/{redemption_id}/resolve", Access::Roles(FINANCE), key, DEFAULT_BODY,
        settlement::resolve::<S>, [ResolveLineRequest] -> [SettlementRunView],
        "Clear a held line's blocking flags with a note (recorded): the line joins the batch";
    ApproveSettlement: POST "/api/v1/settlement-runs/{id}/approve", Access::Roles(FINANCE), key, DEFAULT_BODY,
        settlement::approve::<S>, [] -> [SettlementRunView],
        "Approve a prepared run (a finance user other than its preparer): payouts are fixed, still-held lines released";
    PaymentFile: GET "/api/v1/settlement-runs/{id}/payment-file", Access::Roles(FINANCE), keyless, DEFAULT_BODY,
        settlement::payment_file::<S>, [] -> [],
        "The bank payment file (CSV: payee, bank, account, amount, reference) of an approved run's unpaid payouts";
    BankReturn: POST "/api/v1/settlement-runs/{id}/bank-return", Access::Roles(FINANCE), key, BANK_FILE_BODY,
        settlement::bank_return::<S>, [] -> [BankReturnReport],
        "Import the bank's return file (CSV body): lines matched by reference, account and amount mark payouts paid or failed";
    SettlementReport: GET "/api/v1/settlement-runs/{id}/report/{file}", Access::Roles(SETTLEMENT_READERS), keyless, DEFAULT_BODY,
        settlement::report::<S>, [] -> [],
        "The batch's 兑付/结算表 with 合计 in 小写 and 大写 and the signature block: file is batch.xlsx, batch.csv or batch.pdf (streamed)";
    ProviderStatement: GET "/api/v1/settlement-runs/{id}/statements/{provider_id}/{file}", Access::Roles(STATEMENT_READERS), keyless, DEFAULT_BODY,
        settlement::statement::<S>, [] -> [],
        "One provider's statement in a run (its lines, payout, offset): file is statement.xlsx, statement.csv or statement.pdf";
    PayoutReceipt: GET "/api/v1/payouts/{reference}/receipt", Access::Roles(STATEMENT_READERS), keyless, DEFAULT_BODY,
        log::payout_receipt::<S>, [] -> [Receipt],
        "The receipt of a payout's latest state (fixed at approval; paid or failed at the bank return): leaf, inclusion proof and the cosigned checkpoint; provider staff their own";
    Utilisation: GET "/api/v1/programmes/{code}/utilisation", Access::Roles(SETTLEMENT_READERS), keyless, DEFAULT_BODY,
        utilisation::get::<S>, [] -> [UtilisationView],
        "Programme utilisation: funding, available, outstanding, payable, in payment, paid, lapsed, recovered; issued/redeemed/settled/paid per district, zone, category or month";
    UtilisationChart: GET "/api/v1/programmes/{code}/utilisation.svg", Access::Roles(SETTLEMENT_READERS), keyless, DEFAULT_BODY,
        utilisation::chart::<S>, [] -> [],
        "The utilisation as an SVG bar chart (?by=district|zone|category|month)";
}

pub fn spec(id: RouteId) -> &'static RouteSpec {
    ROUTES
        .iter()
        .find(|spec| spec.id == id)
        .expect("every RouteId has a row in ROUTES")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once_and_mutations_take_idempotency_keys() {
        let mut seen = std::collections::HashSet::new();
        for route in ROUTES {
            assert!(seen.insert(route.id), "{:?} twice", route.id);
            assert!(seen.len() <= ROUTES.len());
            if route.is_mutating() && !route.is_keyless_post() {
                assert!(
                    route.idempotency_key,
                    "{:?} mutates without a key",
                    route.id
                );
            }
            if !route.is_mutating() {
                assert!(!route.idempotency_key, "{:?}", route.id);
            }
        }
        let mut pairs: Vec<_> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
        pairs.sort();
        pairs.dedup();
        assert_eq!(pairs.len(), ROUTES.len(), "a method and path appear twice");
    }
}
