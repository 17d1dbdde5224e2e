//! Registry imports over HTTP: a file (CSV or XLSX) of enterprises,
//! providers, tags or blacklist entries, validated and applied by
//! `service::import`; the report as JSON or CSV.

use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::Auth;
use super::idempotency_key::LedgerKey;
use super::json::ApiQuery;
use super::{ApiError, AppState};
use crate::domain::Timestamp;
use crate::service::import::{
    ImportMode, ImportReport, ImportSettings, import_enterprises, parse_enterprise_file,
    parse_tag_file, zone_map,
};
use crate::store::Store;

use super::registry::{ImportQuery, ImportResult};

/// Everything an import handler needs, extracted once: the caller, the
/// ledger key, the mode, whether the client wants the report as CSV, and
/// the file.
pub struct ImportCall<S: Store> {
    state: AppState<S>,
    actor: String,
    key: String,
    mode: ImportMode,
    wants_csv: bool,
    body: Bytes,
}

impl<S: Store> axum::extract::FromRequest<AppState<S>> for ImportCall<S> {
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &AppState<S>,
    ) -> Result<Self, ApiError> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = request.into_parts();
        let Auth(caller) = Auth::from_request_parts(&mut parts, state).await?;
        let LedgerKey(key) = parts
            .extensions
            .get::<LedgerKey>()
            .cloned()
            .ok_or_else(|| ApiError::internal(&"import route without a ledger key"))?;
        let ApiQuery(query) =
            ApiQuery::<ImportQuery>::from_request_parts(&mut parts, state).await?;
        let mode = import_mode(query.mode.as_deref())?;
        let wants_csv = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"));
        let request = axum::extract::Request::from_parts(parts, body);
        let body = Bytes::from_request(request, state).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "The file is too large for an import.",
                "导入文件过大。",
            )
        })?;
        Ok(ImportCall {
            state: state.clone(),
            actor: caller.principal.actor(),
            key,
            mode,
            wants_csv,
            body,
        })
    }
}

impl<S: Store> ImportCall<S> {
    /// Reads the uploaded file with `parse` on a blocking thread: reading a
    /// workbook is bounded work (service::spreadsheet) but not async work,
    /// and the request's timeout must still be able to answer.
    async fn parse<T: Send + 'static>(
        &self,
        parse: fn(&[u8]) -> Result<T, Vec<crate::service::import::RowError>>,
    ) -> Result<Result<T, Vec<crate::service::import::RowError>>, ApiError> {
        let body = self.body.clone();
        tokio::task::spawn_blocking(move || parse(&body))
            .await
            .map_err(|error| ApiError::internal(&error))
    }

    /// 200 or 422 with the report as JSON, or as CSV when the client asks.
    fn respond(&self, report: ImportReport) -> Response {
        let status = if report.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        if self.wants_csv {
            let mut response = (status, report.errors_csv()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            return response;
        }
        (status, Json(ImportResult::from(report))).into_response()
    }
}

fn import_mode(mode: Option<&str>) -> Result<ImportMode, ApiError> {
    match mode {
        None | Some("all_or_nothing") => Ok(ImportMode::AllOrNothing),
        Some("valid_rows") => Ok(ImportMode::ValidRows),
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "mode is all_or_nothing or valid_rows.",
            "mode 须为 all_or_nothing 或 valid_rows。",
        )),
    }
}

pub async fn import<S: Store>(call: ImportCall<S>) -> Result<Response, ApiError> {
    let state = &call.state;
    let report = match call.parse(parse_enterprise_file).await? {
        Ok(rows) => {
            let settings = ImportSettings {
                mode: call.mode,
                today: Timestamp::now().cst_date(),
                zones: zone_map(&state.store).await?,
            };
            import_enterprises(
                &state.writer,
                &call.actor,
                &call.key,
                rows,
                &settings,
                |_, _| {},
            )
            .await
        }
        Err(errors) => ImportReport::file_errors(errors),
    };
    Ok(call.respond(report))
}

pub async fn import_tag_list<S: Store>(call: ImportCall<S>) -> Result<Response, ApiError> {
    let state = &call.state;
    let report = match call.parse(parse_tag_file).await? {
        Ok(parsed) => {
            crate::service::import::import_tags(
                &state.store,
                &state.writer,
                &call.actor,
                &call.key,
                parsed,
                call.mode,
            )
            .await?
        }
        Err(errors) => ImportReport::file_errors(errors),
    };
    Ok(call.respond(report))
}

pub async fn import_providers<S: Store>(call: ImportCall<S>) -> Result<Response, ApiError> {
    let report = match call
        .parse(crate::service::import::parse_provider_file)
        .await?
    {
        Ok(parsed) => {
            crate::service::import::import_providers(
                &call.state.writer,
                &call.actor,
                &call.key,
                parsed,
                call.mode,
            )
            .await
        }
        Err(errors) => ImportReport::file_errors(errors),
    };
    Ok(call.respond(report))
}

pub async fn import_blacklist<S: Store>(call: ImportCall<S>) -> Result<Response, ApiError> {
    let state = &call.state;
    let report = match call
        .parse(crate::service::import::parse_blacklist_file)
        .await?
    {
        Ok(parsed) => {
            let (store, writer) = (&state.store, &state.writer);
            crate::service::import::import_blacklist(
                store,
                writer,
                &call.actor,
                &call.key,
                parsed,
                call.mode,
            )
            .await?
        }
        Err(errors) => ImportReport::file_errors(errors),
    };
    Ok(call.respond(report))
}
