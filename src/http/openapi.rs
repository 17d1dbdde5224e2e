//! The OpenAPI 3.1 document, generated from the route table (paths,
//! methods, security, idempotency header) and from the request and response
//! types (schemas, derived with utoipa). Served at `GET /api/openapi.json`.

use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, Ref,
    Required, ResponseBuilder, Type,
};

use super::access::{
    ChangePasswordRequest, CreateTokenRequest, CreateUserRequest, CreatedToken, Done, LoginRequest,
    LoginResponse, TokenList, TokenView, UserList, UserView,
};
use super::ledger::{
    BalanceList, BalanceView, CheckpointList, CheckpointView, EntryList, EntryView, PostingView,
    VerificationView,
};
use super::programme_guide::{
    AcceptingProvider, AcceptingProviderList, CheckView, EligibilityList, ProgrammeEligibility,
};
use super::programmes::{
    AmendProgrammeRequest, CreateProgrammeRequest, FundingRequest, ProgrammeList, ProgrammeView,
};
use super::registry::{
    BlacklistRequest, BlacklistView, EnterpriseDetail, EnterpriseList, EnterpriseRequest,
    EnterpriseView, ImportResult, ImportRowError, RecordedEnterprise, TagRequest, TagView,
};
use super::routes::{Access, ROUTES, RouteId};
use crate::domain::programme::{ProgrammeTerms, QrMode, Rounding, SettlementPeriod, Validity};
use crate::domain::status::{RedemptionStatus, VoucherStatus};

/// The media type of routes that answer something other than JSON.
fn media_type(id: RouteId) -> Option<&'static str> {
    match id {
        RouteId::VoucherQrPng | RouteId::VoucherPresentationPng => Some("image/png"),
        RouteId::VoucherQrSvg | RouteId::VoucherPresentationSvg => Some("image/svg+xml"),
        RouteId::VoucherPrint => Some("text/html"),
        RouteId::PaymentFile => Some("text/csv"),
        RouteId::UtilisationChart => Some("image/svg+xml"),
        RouteId::SettlementReport | RouteId::ProviderStatement => Some("application/octet-stream"),
        _ => None,
    }
}

/// The success statuses a route answers: 201 where it always creates,
/// 201 or 200 where it records a new object or updates the one that
/// exists, else 200. (Each answer is checked against this document by
/// schemathesis in CI.)
fn success_statuses(id: RouteId) -> &'static [&'static str] {
    match id {
        RouteId::CreateToken
        | RouteId::CreateUser
        | RouteId::RotateIssuerKey
        | RouteId::CreateProgramme
        | RouteId::ClaimVoucher
        | RouteId::Redeem
        | RouteId::PrepareSettlement => &["201"],
        RouteId::RecordEnterprise | RouteId::RecordProvider => &["201", "200"],
        _ => &["200"],
    }
}

/// Routes whose refusal of some rows is a report, not an error body.
fn reports_refusals(id: RouteId) -> bool {
    matches!(
        id,
        RouteId::ImportEnterprises
            | RouteId::ImportTags
            | RouteId::ImportProviders
            | RouteId::ImportBlacklist
    )
}

/// The schema of one query parameter.
#[derive(Clone, Copy)]
enum Param {
    /// Free text (a cursor, a code, an id).
    Text,
    /// An integer within bounds.
    Int { min: i64, max: i64 },
    /// One of these words.
    OneOf(&'static [&'static str]),
}

/// A page size: 1–`max` (values outside are clamped).
const fn limit(max: i64) -> Param {
    Param::Int { min: 1, max }
}

const PAGE_LIMIT: Param = limit(super::page::PAGE_MAX as i64);
/// A sequence number (from 1) and a tree size (from 0).
const SEQUENCE: Param = Param::Int {
    min: 1,
    max: i64::MAX,
};
const SIZE: Param = Param::Int {
    min: 0,
    max: i64::MAX,
};
const LINES_LIMIT: Param = limit(1000);
const KEY_PAGE: &[(&str, &str, Param)] = &[
    (
        "after",
        "cursor: the last key of the previous page",
        Param::Text,
    ),
    ("limit", "rows per page, 1–200, default 50", PAGE_LIMIT),
];

/// Query parameters per route: (name, description, schema). Every other
/// parameter is refused with 400 `invalid_query`.
fn query_parameters(id: RouteId) -> &'static [(&'static str, &'static str, Param)] {
    match id {
        RouteId::ListUsers
        | RouteId::LedgerBalances
        | RouteId::ListProgrammes
        | RouteId::ListProviders
        | RouteId::ListEnterprises => KEY_PAGE,
        RouteId::LedgerEntries => &[
            (
                "after",
                "cursor: the last sequence of the previous page (0: from the start)",
                Param::Int {
                    min: 0,
                    max: i64::MAX,
                },
            ),
            (
                "before",
                "newest first: entries below this sequence (a number past the head for the newest page)",
                Param::Int {
                    min: 0,
                    max: i64::MAX,
                },
            ),
            (
                "kind",
                "only entries of this kind",
                Param::OneOf(crate::ledger::body::EntryKind::NAMES),
            ),
            (
                "from",
                "only entries recorded on or after this day (YYYY-MM-DD, UTC+8)",
                Param::Text,
            ),
            (
                "until",
                "only entries recorded on or before this day (YYYY-MM-DD, UTC+8)",
                Param::Text,
            ),
            ("limit", "entries per page, 1–200, default 50", PAGE_LIMIT),
        ],
        RouteId::LedgerCheckpoints => &[
            (
                "before",
                "cursor: checkpoints below this sequence (absent: the newest)",
                Param::Int {
                    min: 0,
                    max: i64::MAX,
                },
            ),
            (
                "limit",
                "checkpoints per page, 1–200, default 50",
                PAGE_LIMIT,
            ),
        ],
        RouteId::StatusLists => &[(
            "after",
            "the newest list the device holds (0 or absent: none)",
            SIZE,
        )],
        RouteId::ListOfflineAcceptances => &[
            (
                "conflicts",
                "true: only acceptances with an unpaid (conflict) part",
                Param::OneOf(&["true", "false"]),
            ),
            ("voucher_id", "voucher id", Param::Text),
            (
                "before",
                "cursor: acceptances synced below this sequence (the previous page's next_before)",
                SIZE,
            ),
            ("limit", "rows per page, 1–200, default 50", PAGE_LIMIT),
        ],
        RouteId::ListRedemptions => &[
            ("voucher_id", "voucher id", Param::Text),
            (
                "status",
                "redemption status",
                Param::OneOf(RedemptionStatus::NAMES),
            ),
            (
                "after",
                "cursor: the last redemption id of the previous page",
                Param::Text,
            ),
            ("limit", "rows per page, 1–200, default 50", PAGE_LIMIT),
        ],
        RouteId::ListVouchers => &[
            ("programme", "programme code", Param::Text),
            (
                "status",
                "voucher status",
                Param::OneOf(VoucherStatus::NAMES),
            ),
            ("key_id", "issuer key id", Param::Text),
            (
                "after",
                "cursor: the last voucher id of the previous page",
                Param::Text,
            ),
            ("limit", "rows per page, 1–200, default 50", PAGE_LIMIT),
        ],
        RouteId::ListSettlementRuns => &[("programme", "programme code", Param::Text)],
        RouteId::ListSettlementLines => &[
            (
                "after",
                "cursor: the last line number of the previous page",
                Param::Int {
                    min: 0,
                    max: u32::MAX as i64,
                },
            ),
            ("limit", "lines per page, 1–1000, default 100", LINES_LIMIT),
        ],
        RouteId::Utilisation | RouteId::UtilisationChart => &[(
            "by",
            "grouping, default district",
            Param::OneOf(&["district", "zone", "category", "month"]),
        )],
        RouteId::VoucherQrPng | RouteId::VoucherPresentationPng => &[(
            "module_pixels",
            "pixels per QR module, 1–32, default 8",
            Param::Int { min: 1, max: 32 },
        )],
        RouteId::ImportEnterprises
        | RouteId::ImportTags
        | RouteId::ImportProviders
        | RouteId::ImportBlacklist => &[(
            "mode",
            "all_or_nothing (default: any bad row writes nothing) or valid_rows",
            Param::OneOf(&["all_or_nothing", "valid_rows"]),
        )],
        RouteId::LogInclusion => &[
            ("sequence", "the entry's sequence number", SEQUENCE),
            (
                "voucher_id",
                "or: the voucher whose issue entry to prove",
                Param::Text,
            ),
            (
                "redemption_id",
                "or: the redemption whose entry to prove",
                Param::Text,
            ),
            (
                "payout",
                "or: a payout's bank reference (VL…): the entry that last changed it",
                Param::Text,
            ),
            (
                "tree_size",
                "the tree size to prove against (default: the published checkpoint's)",
                SEQUENCE,
            ),
        ],
        RouteId::LogConsistency => &[
            ("from", "the older tree size (0 allowed)", SIZE),
            (
                "to",
                "the newer tree size (default: the published checkpoint's)",
                SIZE,
            ),
        ],
        _ => &[],
    }
}

fn parameter_schema(param: Param) -> ObjectBuilder {
    match param {
        Param::Text => ObjectBuilder::new().schema_type(Type::String),
        Param::Int { min, max } => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(min as f64))
            .maximum(Some(max as f64)),
        Param::OneOf(words) => ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(words.iter().copied())),
    }
}

fn json_ref(name: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(name)))
        .build()
}

pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new().build();
    for route in ROUTES {
        let (request, response) = (route.request, route.response);
        let mut operation = OperationBuilder::new()
            .operation_id(Some(format!("{:?}", route.id)))
            .summary(Some(route.summary));
        for (name, description, param) in query_parameters(route.id) {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(*description))
                    .schema(Some(parameter_schema(*param))),
            );
        }
        for segment in route.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                operation = operation.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
                );
            }
        }
        if route.idempotency_key {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::True)
                    .description(Some(
                        "1–255 visible ASCII characters, unique per intended change",
                    ))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        if matches!(
            route.id,
            RouteId::ImportEnterprises
                | RouteId::ImportTags
                | RouteId::ImportProviders
                | RouteId::ImportBlacklist
        ) {
            let csv = ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build();
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .content("text/csv", csv)
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        if let Some(request) = request {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json_ref(request))
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        let ok = ResponseBuilder::new().description("Success");
        let ok = match (response, media_type(route.id)) {
            (Some(name), _) => ok.content("application/json", json_ref(name)),
            (None, Some(media)) => ok.content(
                media,
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            ),
            (None, None) => ok,
        };
        let ok = ok.build();
        for status in success_statuses(route.id) {
            operation = operation.response(*status, ok.clone());
        }
        if reports_refusals(route.id) {
            operation = operation.response(
                "422",
                ResponseBuilder::new()
                    .description(
                        "Refused rows, each with its code (nothing written unless mode=valid_rows); \
                         or an error body for a refusal of the request itself",
                    )
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(
                                utoipa::openapi::schema::AnyOfBuilder::new()
                                    .item(Ref::from_schema_name("ImportResult"))
                                    .item(Ref::from_schema_name("ErrorBody")),
                            ))
                            .build(),
                    ),
            );
        }
        operation = operation.response(
            "default",
            ResponseBuilder::new()
                .description("Error: {\"error\":{\"code\",\"message\",\"message_zh\"}}")
                .content("application/json", json_ref("ErrorBody")),
        );
        if route.access != Access::Public {
            operation = operation
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .security(SecurityRequirement::new("session", Vec::<String>::new()));
        }
        let method = match route.method {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "PATCH" => HttpMethod::Patch,
            _ => HttpMethod::Delete,
        };
        paths.add_path_operation(route.path, vec![method], operation.build());
    }
    let error_body = ObjectBuilder::new()
        .property(
            "error",
            ObjectBuilder::new()
                .property("code", ObjectBuilder::new().schema_type(Type::String))
                .property("message", ObjectBuilder::new().schema_type(Type::String))
                .property("message_zh", ObjectBuilder::new().schema_type(Type::String))
                .property(
                    "reasons",
                    utoipa::openapi::ArrayBuilder::new()
                        .items(Ref::from_schema_name("ErrorReason")),
                )
                .required("code")
                .required("message")
                .required("message_zh"),
        )
        .required("error");
    let health = ObjectBuilder::new()
        .property("status", ObjectBuilder::new().schema_type(Type::String))
        .property("database", ObjectBuilder::new().schema_type(Type::String));
    let components = ComponentsBuilder::new()
        .schema("ErrorBody", error_body)
        .schema("Health", health)
        .schema_from::<super::operations::Ready>()
        .schema_from::<LoginRequest>()
        .schema_from::<LoginResponse>()
        .schema_from::<UserView>()
        .schema_from::<ChangePasswordRequest>()
        .schema_from::<CreateTokenRequest>()
        .schema_from::<CreatedToken>()
        .schema_from::<TokenView>()
        .schema_from::<TokenList>()
        .schema_from::<CreateUserRequest>()
        .schema_from::<super::access::ResetPasswordRequest>()
        .schema_from::<UserList>()
        .schema_from::<Done>()
        .schema_from::<CheckpointView>()
        .schema_from::<super::log::InclusionView>()
        .schema_from::<crate::ledger::receipt::Receipt>()
        .schema_from::<super::public_notice::PublicProgrammeList>()
        .schema_from::<super::public_notice::PublicProgramme>()
        .schema_from::<super::public_notice::PublicNotice>()
        .schema_from::<super::public_notice::PublicRun>()
        .schema_from::<super::public_notice::PublicPayout>()
        .schema_from::<super::public_notice::PublicTotals>()
        .schema_from::<super::log::ConsistencyView>()
        .schema_from::<VerificationView>()
        .schema_from::<CheckpointList>()
        .schema_from::<EntryList>()
        .schema_from::<EntryView>()
        .schema_from::<PostingView>()
        .schema_from::<BalanceList>()
        .schema_from::<BalanceView>()
        .schema_from::<EnterpriseRequest>()
        .schema_from::<RecordedEnterprise>()
        .schema_from::<EnterpriseView>()
        .schema_from::<EnterpriseDetail>()
        .schema_from::<EnterpriseList>()
        .schema_from::<TagView>()
        .schema_from::<BlacklistView>()
        .schema_from::<TagRequest>()
        .schema_from::<BlacklistRequest>()
        .schema_from::<ImportResult>()
        .schema_from::<ImportRowError>()
        .schema_from::<CreateProgrammeRequest>()
        .schema_from::<AmendProgrammeRequest>()
        .schema_from::<FundingRequest>()
        .schema_from::<ProgrammeView>()
        .schema_from::<ProgrammeList>()
        .schema_from::<ProgrammeTerms>()
        .schema_from::<EligibilityList>()
        .schema_from::<ProgrammeEligibility>()
        .schema_from::<CheckView>()
        .schema_from::<AcceptingProviderList>()
        .schema_from::<AcceptingProvider>()
        .schema_from::<Validity>()
        .schema_from::<Rounding>()
        .schema_from::<QrMode>()
        .schema_from::<SettlementPeriod>()
        .schema_from::<crate::domain::SizeClass>()
        .schema_from::<crate::domain::provider::ProviderFields>()
        .schema_from::<crate::domain::provider::RelatedParty>()
        .schema_from::<crate::domain::provider::ProviderStatus>()
        .schema_from::<super::providers::ProviderView>()
        .schema_from::<super::providers::ProviderAccountView>()
        .schema_from::<super::providers::ProviderBalancesView>()
        .schema_from::<super::providers::ProviderPayoutView>()
        .schema_from::<super::providers::RecordedProvider>()
        .schema_from::<super::providers::ProviderList>()
        .schema_from::<super::providers::ProviderStatusRequest>()
        .schema_from::<super::registry::ZoneRequest>()
        .schema_from::<super::registry::ZoneView>()
        .schema_from::<super::registry::ZoneList>()
        .schema_from::<super::keys::PublishedKey>()
        .schema_from::<super::keys::PublishedKeys>()
        .schema_from::<super::keys::RevokeKeyRequest>()
        .schema_from::<super::tokens::VerifyTokenRequest>()
        .schema_from::<crate::token::report::VerificationReport>()
        .schema_from::<crate::token::report::VoucherFacts>()
        .schema_from::<super::error::ErrorReason>()
        .schema_from::<super::vouchers::ClaimRequest>()
        .schema_from::<super::vouchers::AllocationRequest>()
        .schema_from::<super::vouchers::AllocationReport>()
        .schema_from::<super::vouchers::AllocationResult>()
        .schema_from::<super::vouchers::AllocationRefusal>()
        .schema_from::<super::vouchers::VoucherView>()
        .schema_from::<super::vouchers::VoucherList>()
        .schema_from::<super::presentations::PresentationView>()
        .schema_from::<super::vouchers::ReissueReport>()
        .schema_from::<super::vouchers::ReissuedVoucher>()
        .schema_from::<super::redemptions::PreviewRequest>()
        .schema_from::<super::redemptions::PreviewView>()
        .schema_from::<super::holds::HoldView>()
        .schema_from::<super::redemption_views::SettlementWarning>()
        .schema_from::<crate::domain::redemption_timeline::Step>()
        .schema_from::<crate::domain::redemption_timeline::StepState>()
        .schema_from::<super::holds::ReleasedView>()
        .schema_from::<super::offline::DeviceKeyRequest>()
        .schema_from::<super::offline::PublishRequest>()
        .schema_from::<crate::domain::offline::OfflineTerms>()
        .schema_from::<super::offline::HolderBindingView>()
        .schema_from::<super::offline::HolderBindingList>()
        .schema_from::<super::offline::DeviceView>()
        .schema_from::<super::offline::DeviceList>()
        .schema_from::<super::offline::StatusListView>()
        .schema_from::<super::offline::StatusListPage>()
        .schema_from::<super::offline::SyncRequest>()
        .schema_from::<super::offline::AcceptanceView>()
        .schema_from::<super::offline::AcceptanceList>()
        .schema_from::<super::personal::ErasureRequest>()
        .schema_from::<super::personal::SubjectView>()
        .schema_from::<super::personal::ReadView>()
        .schema_from::<super::personal::ReadList>()
        .schema_from::<super::redemptions::RedeemRequest>()
        .schema_from::<super::redemptions::InvoiceInput>()
        .schema_from::<super::redemptions::RedemptionView>()
        .schema_from::<super::redemptions::InvoiceView>()
        .schema_from::<super::redemptions::RedemptionList>()
        .schema_from::<super::redemption_changes::ConfirmRequest>()
        .schema_from::<super::redemption_changes::ReasonRequest>()
        .schema_from::<super::redemption_changes::ResolveRequest>()
        .schema_from::<super::redemption_changes::SweepView>()
        .schema_from::<super::redemption_changes::DocumentsRequest>()
        .schema_from::<super::redemption_changes::ScannedView>()
        .schema_from::<super::fraud::FraudMarkingRequest>()
        .schema_from::<super::fraud::FraudMarkingReport>()
        .schema_from::<super::settlement::PrepareSettlementRequest>()
        .schema_from::<super::settlement::SettlementRunView>()
        .schema_from::<super::settlement::SettlementRunList>()
        .schema_from::<super::settlement::PayoutView>()
        .schema_from::<super::settlement::ResolutionView>()
        .schema_from::<super::settlement::SettlementLineList>()
        .schema_from::<super::settlement::SettlementLineView>()
        .schema_from::<super::settlement::FlagView>()
        .schema_from::<super::settlement::ResolveLineRequest>()
        .schema_from::<super::settlement::BankReturnReport>()
        .schema_from::<super::settlement::BankReturnLineView>()
        .schema_from::<super::settlement::BankReturnErrorView>()
        .schema_from::<super::utilisation::UtilisationView>()
        .schema_from::<crate::service::utilisation::Utilisation>()
        .schema_from::<crate::service::utilisation::GroupTotals>()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        )
        .security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                super::auth::SESSION_COOKIE,
            ))),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("voucher-ledger")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "服务补贴券 service-voucher programme API. Conventions: docs/api.md.",
                )),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}
