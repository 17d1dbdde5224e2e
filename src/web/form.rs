//! What every form carries, and reading what it sent.
//!
//! Each form of a signed-in page has two hidden fields: `csrf` (the
//! session's token, forwarded to the API as `X-CSRF-Token`) and `key` (an
//! idempotency key minted when the form was drawn, forwarded as
//! `Idempotency-Key`). A second press of the button, or a reload of the
//! POST, therefore replays the first answer instead of acting twice. A form
//! drawn again after a refusal gets a fresh key, since the user may change
//! what they send.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};

use axum::http::Method;
use serde_json::Value;

use super::backend::{ApiClient, Caller, Refusal, Sent};
use super::layout::{self, Notice, PageResult};
use crate::domain::Fen;

/// The hidden fields of a form (drawn by the page shell, which has a form
/// of its own: logout).
pub use super::layout::hidden;

/// Sends a form's request to the API and answers the browser: on success a
/// redirect to `done`'s path with its notice code (post/redirect/get); when
/// refused — by the page's own field checks or by the API — the page that
/// `redraw` draws with the refusal.
pub async fn answer(
    api: &ApiClient,
    caller: &Caller,
    (method, path, body): (Method, &str, Result<Value, Refusal>),
    fields: &Fields,
    (done_path, done_code): (&str, &str),
    redraw: impl AsyncFnOnce(Notice) -> PageResult,
) -> PageResult {
    match api
        .send_form(caller, method, path, body, fields.sent())
        .await
    {
        Ok(_) => Ok(layout::done(done_path, done_code)),
        Err(refusal) => redraw(Notice::Refused(refusal)).await,
    }
}

/// 128 random bits as hex, for one-off form tokens.
pub fn random_token() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fields a form sent, in order (a field may repeat: checkboxes).
#[derive(Debug, Default, Clone)]
pub struct Fields {
    pairs: Vec<(String, String)>,
    /// An uploaded file: field name, file name, bytes.
    pub file: Option<(String, String, Bytes)>,
}

impl Fields {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Fields {
        Fields { pairs, file: None }
    }

    /// The same fields with `name` set to `value` (replacing it).
    pub fn with(&self, name: &str, value: &str) -> Fields {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(key, _)| key != name)
            .cloned()
            .collect();
        pairs.push((name.to_string(), value.to_string()));
        Fields {
            pairs,
            file: self.file.clone(),
        }
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .unwrap_or("")
    }

    /// The value of `name`, or `None` when empty.
    pub fn optional(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    /// Every value of `name` (checkbox groups).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// What the hidden fields carry, for the API.
    pub fn sent(&self) -> Sent<'_> {
        Sent {
            csrf_token: self.get("csrf"),
            idempotency_key: self.optional("key"),
        }
    }

    /// An amount the user typed in 元 (`1,234.50`, `¥80`), as fen.
    pub fn yuan(&self, name: &str, label_en: &str, label_zh: &str) -> Result<Fen, Refusal> {
        let text = self.get(name);
        match Fen::parse_yuan(text) {
            Ok(fen) if fen.as_fen() > 0 => Ok(fen),
            Ok(_) => Err(Refusal::invalid(
                "amount_not_positive",
                &format!("{label_en} must be more than 0 元."),
                &format!("{label_zh}必须大于 0 元。"),
            )),
            Err(_) => Err(Refusal::invalid(
                "amount_invalid",
                &format!(
                    "{label_en} must be an amount in 元 with at most two decimals, e.g. 12,000.50."
                ),
                &format!("{label_zh}须为以元为单位、最多两位小数的金额，例如 12,000.50。"),
            )),
        }
    }

    /// A required text field.
    pub fn required(&self, name: &str, label_en: &str, label_zh: &str) -> Result<&str, Refusal> {
        self.optional(name).ok_or_else(|| {
            Refusal::invalid(
                "field_required",
                &format!("{label_en} is required."),
                &format!("请填写{label_zh}。"),
            )
        })
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = axum::response::Response;

    /// Reads a URL-encoded form, or a multipart form with at most one file.
    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let is_multipart = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !is_multipart {
            let axum::Form(pairs) =
                axum::Form::<Vec<(String, String)>>::from_request(request, state)
                    .await
                    .map_err(IntoResponse::into_response)?;
            return Ok(Fields::from_pairs(pairs));
        }
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let mut fields = Fields::default();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(IntoResponse::into_response)?
        {
            let name = field.name().unwrap_or_default().to_string();
            match field.file_name().map(str::to_string) {
                Some(file_name) => {
                    let bytes = field.bytes().await.map_err(IntoResponse::into_response)?;
                    if !bytes.is_empty() && fields.file.is_none() {
                        fields.file = Some((name, file_name, bytes));
                    }
                }
                None => {
                    let value = field.text().await.map_err(IntoResponse::into_response)?;
                    fields.pairs.push((name, value));
                }
            }
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn fields_are_trimmed_and_repeated_fields_are_all_kept() {
        let form = fields(&[("a", " x "), ("c", "1"), ("c", ""), ("c", "2")]);
        assert_eq!(form.get("a"), "x");
        assert_eq!(form.get("missing"), "");
        assert_eq!(form.optional("missing"), None);
        assert_eq!(form.all("c"), vec!["1", "2"]);
    }

    #[test]
    fn amounts_in_yuan_become_fen_and_bad_ones_are_refused_with_a_code() {
        let form = fields(&[("ok", "1,234.50"), ("zero", "0"), ("bad", "12.345")]);
        assert_eq!(form.yuan("ok", "A", "甲").unwrap().as_fen(), 123_450);
        assert_eq!(
            form.yuan("zero", "A", "甲").unwrap_err().code,
            "amount_not_positive"
        );
        assert_eq!(
            form.yuan("bad", "A", "甲").unwrap_err().code,
            "amount_invalid"
        );
        assert_eq!(
            form.yuan("none", "A", "甲").unwrap_err().code,
            "amount_invalid"
        );
        assert_eq!(
            form.required("none", "Name", "名称")
                .unwrap_err()
                .message_zh,
            "请填写名称。"
        );
    }
}
