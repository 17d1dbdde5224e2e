//! The route table: every endpoint, once, with who may call it.
//!
//! The router is built from this table, authorisation and idempotency are
//! enforced from it, and the OpenAPI document is generated from it; the
//! test suite's allow/deny matrix must cover every row. So a route cannot
//! exist without a policy, and cannot get a policy without a test.

use crate::domain::Role;

/// Stable names of the endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteId {
    Healthz,
    OpenApi,
    LatestCheckpoint,
    Login,
    Logout,
    Me,
    ChangePassword,
    ListMyTokens,
    CreateToken,
    RevokeToken,
    ListUsers,
    CreateUser,
    GetUser,
    LedgerEntries,
    LedgerEntry,
    LedgerBalances,
    LedgerVerification,
    LedgerCheckpoints,
    ListEnterprises,
    RecordEnterprise,
    GetEnterprise,
    TagEnterprise,
    BlacklistEnterprise,
    ImportEnterprises,
    ListProgrammes,
    CreateProgramme,
    GetProgramme,
    UpdateProgrammeDraft,
    OpenProgramme,
    AmendProgramme,
    CloseProgramme,
    FundProgramme,
    MyEligibility,
    ListProviders,
    RecordProvider,
    GetProvider,
    ProviderAccount,
    ChangeProviderStatus,
    ImportTags,
    ImportProviders,
    ImportBlacklist,
    VoucherKeys,
    RotateIssuerKey,
    RevokeIssuerKey,
    VerifyToken,
    ListZones,
    DefineZone,
    ClaimVoucher,
    AllocateVouchers,
    ListVouchers,
    GetVoucher,
    VoucherQrPng,
    VoucherQrSvg,
    VoucherPrint,
    VoucherPresentation,
    VoucherPresentationPng,
    VoucherPresentationSvg,
    ReissueIssuerKey,
    PreviewRedemption,
    Redeem,
    ListRedemptions,
    GetRedemption,
    ConfirmRedemption,
    DisputeRedemption,
    ResolveDispute,
    ReverseRedemption,
    RevokeVoucher,
    SweepExpiry,
    SweepAutoConfirm,
    MarkFraud,
    PrepareSettlement,
    ListSettlementRuns,
    GetSettlementRun,
    ListSettlementLines,
    ResolveSettlementLine,
    ApproveSettlement,
    PaymentFile,
    BankReturn,
    SettlementReport,
    ProviderStatement,
    Utilisation,
    UtilisationChart,
    AttachDocuments,
    ScanPhoto,
}

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

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        id: RouteId::Healthz,
        method: "GET",
        path: "/healthz",
        access: Access::Public,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Health: 200 when the database answers, 503 when not",
    },
    RouteSpec {
        id: RouteId::OpenApi,
        method: "GET",
        path: "/api/openapi.json",
        access: Access::Public,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "This API's OpenAPI 3.1 document",
    },
    RouteSpec {
        id: RouteId::LatestCheckpoint,
        method: "GET",
        path: "/api/v1/ledger/checkpoints/latest",
        access: Access::Public,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The ledger's latest signed checkpoint",
    },
    RouteSpec {
        id: RouteId::Login,
        method: "POST",
        path: "/api/v1/session",
        access: Access::Public,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Log in: sets the session cookie and returns the CSRF token",
    },
    RouteSpec {
        id: RouteId::Logout,
        method: "DELETE",
        path: "/api/v1/session",
        access: Access::AnyUser,
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Log out: ends the current web session",
    },
    RouteSpec {
        id: RouteId::Me,
        method: "GET",
        path: "/api/v1/me",
        access: Access::AnyUser,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The signed-in user",
    },
    RouteSpec {
        id: RouteId::ChangePassword,
        method: "PUT",
        path: "/api/v1/me/password",
        access: Access::AnyUser,
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Change the signed-in user's password (ends all their sessions)",
    },
    RouteSpec {
        id: RouteId::ListMyTokens,
        method: "GET",
        path: "/api/v1/me/tokens",
        access: Access::AnyUser,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The signed-in user's API tokens (never their secrets)",
    },
    RouteSpec {
        id: RouteId::CreateToken,
        method: "POST",
        path: "/api/v1/me/tokens",
        access: Access::AnyUser,
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Issue an API token for the signed-in user; the secret is shown once",
    },
    RouteSpec {
        id: RouteId::RevokeToken,
        method: "DELETE",
        path: "/api/v1/me/tokens/{token_id}",
        access: Access::AnyUser,
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Revoke one of the signed-in user's API tokens",
    },
    RouteSpec {
        id: RouteId::ListUsers,
        method: "GET",
        path: "/api/v1/users",
        access: Access::Roles(USER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Users, by username, with cursor pagination",
    },
    RouteSpec {
        id: RouteId::CreateUser,
        method: "POST",
        path: "/api/v1/users",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Create a user",
    },
    RouteSpec {
        id: RouteId::GetUser,
        method: "GET",
        path: "/api/v1/users/{user_id}",
        access: Access::AnyUser,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "One user (others than oneself: admin, finance and auditor only)",
    },
    RouteSpec {
        id: RouteId::LedgerEntries,
        method: "GET",
        path: "/api/v1/ledger/entries",
        access: Access::Roles(LEDGER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Ledger entries in sequence order, with cursor pagination",
    },
    RouteSpec {
        id: RouteId::LedgerEntry,
        method: "GET",
        path: "/api/v1/ledger/entries/{sequence}",
        access: Access::Roles(LEDGER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "One ledger entry with its postings",
    },
    RouteSpec {
        id: RouteId::LedgerBalances,
        method: "GET",
        path: "/api/v1/ledger/balances",
        access: Access::Roles(LEDGER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Every account's balance (the projection verify checks)",
    },
    RouteSpec {
        id: RouteId::LedgerVerification,
        method: "GET",
        path: "/api/v1/ledger/verification",
        access: Access::Roles(LEDGER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Verifies the whole ledger now (what `voucher-ledger verify` checks); one run at a time",
    },
    RouteSpec {
        id: RouteId::LedgerCheckpoints,
        method: "GET",
        path: "/api/v1/ledger/checkpoints",
        access: Access::Roles(LEDGER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Signed checkpoints, newest first, paginated by `before` = sequence",
    },
    RouteSpec {
        id: RouteId::ListEnterprises,
        method: "GET",
        path: "/api/v1/enterprises",
        access: Access::Roles(USER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The enterprise registry, by USCC, with cursor pagination",
    },
    RouteSpec {
        id: RouteId::RecordEnterprise,
        method: "POST",
        path: "/api/v1/enterprises",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Register an enterprise, or update the one with the same USCC",
    },
    RouteSpec {
        id: RouteId::GetEnterprise,
        method: "GET",
        path: "/api/v1/enterprises/{enterprise_id}",
        access: Access::Roles(ENTERPRISE_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "One enterprise with its tags and blacklist entries (enterprise users: their own)",
    },
    RouteSpec {
        id: RouteId::TagEnterprise,
        method: "POST",
        path: "/api/v1/enterprises/{enterprise_id}/tags",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Tag an enterprise (e.g. 专精特新培育库) for a period",
    },
    RouteSpec {
        id: RouteId::BlacklistEnterprise,
        method: "POST",
        path: "/api/v1/enterprises/{enterprise_id}/blacklist",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Blacklist an enterprise from a date",
    },
    RouteSpec {
        id: RouteId::ImportEnterprises,
        method: "POST",
        path: "/api/v1/imports/enterprises",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: IMPORT_BODY,
        summary: "Import enterprises from CSV; row/column error report (JSON, or CSV with Accept: text/csv)",
    },
    RouteSpec {
        id: RouteId::ListProgrammes,
        method: "GET",
        path: "/api/v1/programmes",
        access: Access::AnyUser,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Programmes (drafts only for admin, finance and auditor)",
    },
    RouteSpec {
        id: RouteId::CreateProgramme,
        method: "POST",
        path: "/api/v1/programmes",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Create a programme in draft",
    },
    RouteSpec {
        id: RouteId::GetProgramme,
        method: "GET",
        path: "/api/v1/programmes/{code}",
        access: Access::AnyUser,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "One programme with its terms and budget",
    },
    RouteSpec {
        id: RouteId::UpdateProgrammeDraft,
        method: "PUT",
        path: "/api/v1/programmes/{code}",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Edit a draft programme (refused once open: amend instead)",
    },
    RouteSpec {
        id: RouteId::OpenProgramme,
        method: "POST",
        path: "/api/v1/programmes/{code}/open",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Open a draft programme: its terms are frozen",
    },
    RouteSpec {
        id: RouteId::AmendProgramme,
        method: "POST",
        path: "/api/v1/programmes/{code}/amendments",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Amend an open programme, with a reason recorded in the ledger",
    },
    RouteSpec {
        id: RouteId::CloseProgramme,
        method: "POST",
        path: "/api/v1/programmes/{code}/close",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Close an open programme",
    },
    RouteSpec {
        id: RouteId::FundProgramme,
        method: "POST",
        path: "/api/v1/programmes/{code}/funding",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Fund or top up a programme (a ledger entry with postings)",
    },
    RouteSpec {
        id: RouteId::MyEligibility,
        method: "GET",
        path: "/api/v1/me/eligibility",
        access: Access::Roles(ENTERPRISE_ONLY),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "For an enterprise user: each open programme, whether it may claim, and every reason not",
    },
    RouteSpec {
        id: RouteId::ListProviders,
        method: "GET",
        path: "/api/v1/providers",
        access: Access::Roles(USER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The provider registry, by USCC, with cursor pagination",
    },
    RouteSpec {
        id: RouteId::RecordProvider,
        method: "POST",
        path: "/api/v1/providers",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Register a provider (applied), or update the one with the same USCC",
    },
    RouteSpec {
        id: RouteId::GetProvider,
        method: "GET",
        path: "/api/v1/providers/{provider_id}",
        access: Access::Roles(PROVIDER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "One provider (provider staff: their own)",
    },
    RouteSpec {
        id: RouteId::ProviderAccount,
        method: "GET",
        path: "/api/v1/providers/{provider_id}/account",
        access: Access::Roles(PROVIDER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "A provider's balances per programme (owed, in payment, paid, to recover) and payouts with their runs; provider staff their own",
    },
    RouteSpec {
        id: RouteId::ChangeProviderStatus,
        method: "POST",
        path: "/api/v1/providers/{provider_id}/status",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Approve (入库), suspend (暂停), reinstate or remove (出库) a provider, with a reason",
    },
    RouteSpec {
        id: RouteId::ImportTags,
        method: "POST",
        path: "/api/v1/imports/tags",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: IMPORT_BODY,
        summary: "Import a tag list (e.g. the 专精特新 library) from CSV or XLSX; row/column error report",
    },
    RouteSpec {
        id: RouteId::ListZones,
        method: "GET",
        path: "/api/v1/zones",
        access: Access::AnyUser,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Functional zones and their parent divisions",
    },
    RouteSpec {
        id: RouteId::DefineZone,
        method: "POST",
        path: "/api/v1/zones",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Define a functional zone (or move it to another parent division)",
    },
    RouteSpec {
        id: RouteId::ImportProviders,
        method: "POST",
        path: "/api/v1/imports/providers",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: IMPORT_BODY,
        summary: "Import providers from CSV or XLSX; row/column error report",
    },
    RouteSpec {
        id: RouteId::ImportBlacklist,
        method: "POST",
        path: "/api/v1/imports/blacklist",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: IMPORT_BODY,
        summary: "Import blacklist entries from CSV or XLSX; row/column error report",
    },
    RouteSpec {
        id: RouteId::VoucherKeys,
        method: "GET",
        path: "/.well-known/voucher-keys.json",
        access: Access::Public,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The issuer public keys that verify vouchers offline (docs/token-format.md)",
    },
    RouteSpec {
        id: RouteId::RotateIssuerKey,
        method: "POST",
        path: "/api/v1/issuer-keys",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Rotate: a new issuer key in the server's key directory becomes the signing key",
    },
    RouteSpec {
        id: RouteId::RevokeIssuerKey,
        method: "POST",
        path: "/api/v1/issuer-keys/{key_id}/revoke",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Revoke a compromised issuer key (its vouchers are refused)",
    },
    RouteSpec {
        id: RouteId::VerifyToken,
        method: "POST",
        path: "/api/v1/tokens/verify",
        access: Access::Public,
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Verify a voucher's QR text: signature, key and status, contents (no login)",
    },
    RouteSpec {
        id: RouteId::ClaimVoucher,
        method: "POST",
        path: "/api/v1/programmes/{code}/claims",
        access: Access::Roles(ENTERPRISE_ONLY),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Claim a voucher for my enterprise (eligibility, caps and budget checked atomically)",
    },
    RouteSpec {
        id: RouteId::AllocateVouchers,
        method: "POST",
        path: "/api/v1/programmes/{code}/allocations",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: ALLOCATION_BODY,
        summary: "Issue vouchers to every eligible enterprise of a list; per-enterprise result",
    },
    RouteSpec {
        id: RouteId::ListVouchers,
        method: "GET",
        path: "/api/v1/vouchers",
        access: Access::Roles(VOUCHER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Vouchers (an enterprise sees its own), filtered by programme, status or key",
    },
    RouteSpec {
        id: RouteId::GetVoucher,
        method: "GET",
        path: "/api/v1/vouchers/{id}",
        access: Access::Roles(VOUCHER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "One voucher with its QR text",
    },
    RouteSpec {
        id: RouteId::VoucherQrPng,
        method: "GET",
        path: "/api/v1/vouchers/{id}/qr.png",
        access: Access::Roles(VOUCHER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The voucher's QR code as PNG",
    },
    RouteSpec {
        id: RouteId::VoucherQrSvg,
        method: "GET",
        path: "/api/v1/vouchers/{id}/qr.svg",
        access: Access::Roles(VOUCHER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The voucher's QR code as SVG",
    },
    RouteSpec {
        id: RouteId::VoucherPrint,
        method: "GET",
        path: "/api/v1/vouchers/{id}/print",
        access: Access::Roles(VOUCHER_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "A printable A6 voucher page in Chinese (HTML)",
    },
    RouteSpec {
        id: RouteId::VoucherPresentation,
        method: "GET",
        path: "/api/v1/vouchers/{id}/presentation",
        access: Access::Roles(ENTERPRISE_ONLY),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "A fresh short-lived presentation of my voucher (rotating programmes)",
    },
    RouteSpec {
        id: RouteId::VoucherPresentationPng,
        method: "GET",
        path: "/api/v1/vouchers/{id}/presentation.png",
        access: Access::Roles(ENTERPRISE_ONLY),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "A fresh presentation as a PNG QR code",
    },
    RouteSpec {
        id: RouteId::VoucherPresentationSvg,
        method: "GET",
        path: "/api/v1/vouchers/{id}/presentation.svg",
        access: Access::Roles(ENTERPRISE_ONLY),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "A fresh presentation as an SVG QR code",
    },
    RouteSpec {
        id: RouteId::ReissueIssuerKey,
        method: "POST",
        path: "/api/v1/issuer-keys/{key_id}/reissue",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Re-issue every active voucher of a revoked key under the active key",
    },
    RouteSpec {
        id: RouteId::PreviewRedemption,
        method: "POST",
        path: "/api/v1/redemptions/preview",
        access: Access::Roles(PROVIDER_ONLY),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Check a scanned voucher for a contract: subsidy, share and every reason it cannot be redeemed (records nothing)",
    },
    RouteSpec {
        id: RouteId::Redeem,
        method: "POST",
        path: "/api/v1/redemptions",
        access: Access::Roles(PROVIDER_ONLY),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Redeem a scanned voucher against a service contract (exactly once)",
    },
    RouteSpec {
        id: RouteId::ListRedemptions,
        method: "GET",
        path: "/api/v1/redemptions",
        access: Access::Roles(REDEMPTION_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Redemptions (providers and enterprises see their own), filtered by voucher or status",
    },
    RouteSpec {
        id: RouteId::GetRedemption,
        method: "GET",
        path: "/api/v1/redemptions/{id}",
        access: Access::Roles(REDEMPTION_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "One redemption",
    },
    RouteSpec {
        id: RouteId::ConfirmRedemption,
        method: "POST",
        path: "/api/v1/redemptions/{id}/confirm",
        access: Access::Roles(ENTERPRISE_ONLY),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Confirm the service was delivered (optional 1–5 rating and comment)",
    },
    RouteSpec {
        id: RouteId::DisputeRedemption,
        method: "POST",
        path: "/api/v1/redemptions/{id}/dispute",
        access: Access::Roles(ENTERPRISE_ONLY),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Dispute a pending redemption, with a reason (the admin resolves it)",
    },
    RouteSpec {
        id: RouteId::ResolveDispute,
        method: "POST",
        path: "/api/v1/redemptions/{id}/resolve",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Resolve a dispute: upheld reverses the redemption, rejected confirms it",
    },
    RouteSpec {
        id: RouteId::ReverseRedemption,
        method: "POST",
        path: "/api/v1/redemptions/{id}/reverse",
        access: Access::Roles(REVERSERS),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Reverse (冲正) an unsettled redemption with a reason: value back to the voucher or the budget",
    },
    RouteSpec {
        id: RouteId::RevokeVoucher,
        method: "POST",
        path: "/api/v1/vouchers/{id}/revoke",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Revoke an active voucher with a reason: its remaining value back to the budget",
    },
    RouteSpec {
        id: RouteId::SweepExpiry,
        method: "POST",
        path: "/api/v1/sweeps/expiry",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Expire every voucher past its last valid day now (also runs on a schedule)",
    },
    RouteSpec {
        id: RouteId::SweepAutoConfirm,
        method: "POST",
        path: "/api/v1/sweeps/auto-confirm",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Confirm redemptions pending longer than their programme's auto_confirm_days (also scheduled)",
    },
    RouteSpec {
        id: RouteId::AttachDocuments,
        method: "POST",
        path: "/api/v1/redemptions/{id}/documents",
        access: Access::Roles(DOCUMENT_ATTACHERS),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Add or replace the invoice (provider) and the payment proof reference (provider or enterprise), needed before settlement",
    },
    RouteSpec {
        id: RouteId::ScanPhoto,
        method: "POST",
        path: "/api/v1/redemptions/scan",
        access: Access::Roles(PROVIDER_ONLY),
        idempotency_key: false,
        body_bytes_max: PHOTO_BODY,
        summary: "Read the QR code in an uploaded photo (PNG or JPEG body) of a voucher: its text, for the preview",
    },
    RouteSpec {
        id: RouteId::MarkFraud,
        method: "POST",
        path: "/api/v1/fraud-markings",
        access: Access::Roles(ADMIN),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Mark an enterprise or provider fraudulent: blacklist, revoke its vouchers, freeze its redemptions, remove a provider and open recovery of what it was paid",
    },
    RouteSpec {
        id: RouteId::PrepareSettlement,
        method: "POST",
        path: "/api/v1/settlement-runs",
        access: Access::Roles(FINANCE),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Prepare the settlement run of a programme for a period: every confirmed, unsettled redemption of the period becomes a line, reconciled and flagged",
    },
    RouteSpec {
        id: RouteId::ListSettlementRuns,
        method: "GET",
        path: "/api/v1/settlement-runs",
        access: Access::Roles(SETTLEMENT_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Settlement runs, newest period first (of one programme with ?programme=)",
    },
    RouteSpec {
        id: RouteId::GetSettlementRun,
        method: "GET",
        path: "/api/v1/settlement-runs/{id}",
        access: Access::Roles(SETTLEMENT_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "A settlement run: totals per line state and its payouts",
    },
    RouteSpec {
        id: RouteId::ListSettlementLines,
        method: "GET",
        path: "/api/v1/settlement-runs/{id}/lines",
        access: Access::Roles(SETTLEMENT_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "A run's lines with their reconciliation flags, in line order",
    },
    RouteSpec {
        id: RouteId::ResolveSettlementLine,
        method: "POST",
        path: "/api/v1/settlement-runs/{id}/lines/{redemption_id}/resolve",
        access: Access::Roles(FINANCE),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Clear a held line's blocking flags with a note (recorded): the line joins the batch",
    },
    RouteSpec {
        id: RouteId::ApproveSettlement,
        method: "POST",
        path: "/api/v1/settlement-runs/{id}/approve",
        access: Access::Roles(FINANCE),
        idempotency_key: true,
        body_bytes_max: DEFAULT_BODY,
        summary: "Approve a prepared run (a finance user other than its preparer): payouts are fixed, still-held lines released",
    },
    RouteSpec {
        id: RouteId::PaymentFile,
        method: "GET",
        path: "/api/v1/settlement-runs/{id}/payment-file",
        access: Access::Roles(FINANCE),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The bank payment file (CSV: payee, bank, account, amount, reference) of an approved run's unpaid payouts",
    },
    RouteSpec {
        id: RouteId::BankReturn,
        method: "POST",
        path: "/api/v1/settlement-runs/{id}/bank-return",
        access: Access::Roles(FINANCE),
        idempotency_key: true,
        body_bytes_max: BANK_FILE_BODY,
        summary: "Import the bank's return file (CSV body): lines matched by reference, account and amount mark payouts paid or failed",
    },
    RouteSpec {
        id: RouteId::SettlementReport,
        method: "GET",
        path: "/api/v1/settlement-runs/{id}/report/{file}",
        access: Access::Roles(SETTLEMENT_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The batch's 兑付/结算表 with 合计 in 小写 and 大写 and the signature block: file is batch.xlsx, batch.csv or batch.pdf (streamed)",
    },
    RouteSpec {
        id: RouteId::ProviderStatement,
        method: "GET",
        path: "/api/v1/settlement-runs/{id}/statements/{provider_id}/{file}",
        access: Access::Roles(STATEMENT_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "One provider's statement in a run (its lines, payout, offset): file is statement.xlsx, statement.csv or statement.pdf",
    },
    RouteSpec {
        id: RouteId::Utilisation,
        method: "GET",
        path: "/api/v1/programmes/{code}/utilisation",
        access: Access::Roles(SETTLEMENT_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "Programme utilisation: funding, available, outstanding, payable, in payment, paid, lapsed, recovered; issued/redeemed/settled/paid per district, zone, category or month",
    },
    RouteSpec {
        id: RouteId::UtilisationChart,
        method: "GET",
        path: "/api/v1/programmes/{code}/utilisation.svg",
        access: Access::Roles(SETTLEMENT_READERS),
        idempotency_key: false,
        body_bytes_max: DEFAULT_BODY,
        summary: "The utilisation as an SVG bar chart (?by=district|zone|category|month)",
    },
];

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
