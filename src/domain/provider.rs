//! Service providers (服务机构): who may redeem vouchers, validated.
//!
//! A provider's status moves 申请 applied → 入库 approved ⇄ 暂停 suspended →
//! 出库 removed; only the transitions in `ProviderStatus::can_become` exist.
//! Its declared related parties feed the 关联交易 check at redemption.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::status::status_enum;
use super::{Fen, Uscc};

status_enum! {
    #[derive(ToSchema)]
    pub enum ProviderStatus {
        /// 申请: registered, not yet approved.
        Applied = "applied",
        /// 入库: may redeem vouchers in its categories.
        Approved = "approved",
        /// 暂停: temporarily may not redeem.
        Suspended = "suspended",
        /// 出库: removed for good.
        Removed = "removed",
    }
}

impl ProviderStatus {
    pub fn name_zh(self) -> &'static str {
        match self {
            ProviderStatus::Applied => "申请",
            ProviderStatus::Approved => "入库",
            ProviderStatus::Suspended => "暂停",
            ProviderStatus::Removed => "出库",
        }
    }

    /// The allowed transitions. Removal is final.
    pub fn can_become(self, next: ProviderStatus) -> bool {
        use ProviderStatus::*;
        matches!(
            (self, next),
            (Applied, Approved)
                | (Applied, Removed)
                | (Approved, Suspended)
                | (Approved, Removed)
                | (Suspended, Approved)
                | (Suspended, Removed)
        )
    }
}

/// A related party the provider declared (same group, shared
/// representative, family ties…): redemptions for it are 关联交易.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelatedParty {
    /// The related firm's USCC, when it has one.
    pub uscc: Option<String>,
    pub name: String,
    /// e.g. 同一法定代表人, 母子公司, 亲属关系.
    pub relation: String,
}

/// A provider as the admin enters it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderFields {
    pub uscc: String,
    pub name: String,
    /// 法定代表人.
    pub legal_representative: String,
    /// Approved service categories, e.g. 管理咨询, 检验检测.
    pub categories: Vec<String>,
    /// 开户银行.
    pub bank_name: String,
    /// 户名.
    pub account_name: String,
    /// 账号.
    pub account_number: String,
    pub related_parties: Vec<RelatedParty>,
    /// Most subsidy paid to this provider per year, in 元 (Guangxi: 5,000,000).
    pub annual_cap_yuan: String,
}

/// A valid provider.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProviderInput {
    pub uscc: Uscc,
    pub fields: ProviderFields,
    pub annual_cap: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub field: &'static str,
    pub message: String,
    pub message_zh: String,
}

const SHORT_CHARS_MAX: usize = 100;
const LIST_MAX: usize = 50;

impl ProviderFields {
    /// Checks every field; returns every problem. Normalises the USCC and
    /// trims text.
    pub fn validate(mut self) -> Result<ProviderInput, Vec<ProviderError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &'static str, message: String, message_zh: String| {
            errors.push(ProviderError {
                field,
                message,
                message_zh,
            })
        };
        let short = |text: &str| {
            let chars = text.trim().chars().count();
            (1..=SHORT_CHARS_MAX).contains(&chars)
        };
        let uscc = Uscc::parse_lenient(&self.uscc);
        if let Err(problem) = &uscc {
            fail(
                "uscc",
                format!("USCC: {problem}."),
                "统一社会信用代码无效。".into(),
            );
        }
        for (field, value, zh) in [
            ("name", &self.name, "机构名称"),
            (
                "legal_representative",
                &self.legal_representative,
                "法定代表人",
            ),
            ("bank_name", &self.bank_name, "开户银行"),
            ("account_name", &self.account_name, "户名"),
        ] {
            if !short(value) {
                fail(
                    field,
                    format!("{field} is required, at most {SHORT_CHARS_MAX} characters."),
                    format!("{zh}必填，最多 {SHORT_CHARS_MAX} 个字符。"),
                );
            }
        }
        let digits: String = self
            .account_number
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if !(6..=40).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            fail(
                "account_number",
                "The account number is 6 to 40 digits.".into(),
                "银行账号须为 6 至 40 位数字。".into(),
            );
        }
        if self.categories.is_empty()
            || self.categories.len() > LIST_MAX
            || !self.categories.iter().all(|c| short(c))
        {
            fail(
                "categories",
                "Give 1 to 50 service categories.".into(),
                "须设置 1 至 50 个服务类别。".into(),
            );
        }
        if self.related_parties.len() > LIST_MAX
            || self.related_parties.iter().any(|p| {
                !short(&p.name)
                    || !short(&p.relation)
                    || p.uscc
                        .as_deref()
                        .is_some_and(|u| Uscc::parse_lenient(u).is_err())
            })
        {
            fail(
                "related_parties",
                "Each related party needs a name, a relation and (if given) a valid USCC; at most 50.".into(),
                "每个关联方须有名称、关联关系，统一社会信用代码（如有）须有效；最多 50 个。".into(),
            );
        }
        let annual_cap = match Fen::parse_yuan(&self.annual_cap_yuan) {
            Ok(cap) if cap.is_positive() => Some(cap),
            _ => {
                fail(
                    "annual_cap_yuan",
                    "The annual cap is a positive amount in 元.".into(),
                    "年度结算上限须为正的人民币金额。".into(),
                );
                None
            }
        };
        match (uscc, annual_cap) {
            (Ok(uscc), Some(annual_cap)) if errors.is_empty() => {
                self.uscc = uscc.to_string();
                self.account_number = digits;
                for text in [
                    &mut self.name,
                    &mut self.legal_representative,
                    &mut self.bank_name,
                    &mut self.account_name,
                ] {
                    *text = text.trim().to_string();
                }
                for party in &mut self.related_parties {
                    party.uscc = party
                        .uscc
                        .as_deref()
                        .and_then(|u| Uscc::parse_lenient(u).ok())
                        .map(|u| u.to_string());
                }
                Ok(ProviderInput {
                    uscc,
                    fields: self,
                    annual_cap,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn fields() -> ProviderFields {
        ProviderFields {
            uscc: "91310110666007217T".into(),
            name: "舟山管理咨询有限公司".into(),
            legal_representative: "李四".into(),
            categories: vec!["管理咨询".into(), "人才培训".into()],
            bank_name: "中国银行舟山分行".into(),
            account_name: "舟山管理咨询有限公司".into(),
            account_number: "6216 6100 0000 1234 567".into(),
            related_parties: vec![RelatedParty {
                uscc: Some("91230184MA1BUFLT44".into()),
                name: "关联企业".into(),
                relation: "同一法定代表人".into(),
            }],
            annual_cap_yuan: "5,000,000".into(),
        }
    }

    #[test]
    fn a_valid_provider_is_normalised() {
        let input = fields().validate().unwrap();
        assert_eq!(input.fields.account_number, "6216610000001234567");
        assert_eq!(input.annual_cap, Fen::new(500_000_000));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut bad = fields();
        bad.uscc = "X".into();
        bad.legal_representative = " ".into();
        bad.account_number = "12ab".into();
        bad.categories = vec![];
        bad.annual_cap_yuan = "0".into();
        let fields: Vec<_> = bad
            .validate()
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "uscc",
                "legal_representative",
                "account_number",
                "categories",
                "annual_cap_yuan"
            ]
        );
    }

    #[test]
    fn only_the_listed_status_transitions_exist() {
        use ProviderStatus::*;
        let allowed: Vec<(ProviderStatus, ProviderStatus)> = ProviderStatus::ALL
            .iter()
            .flat_map(|a| ProviderStatus::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(
            allowed,
            [
                (Applied, Approved),
                (Applied, Removed),
                (Approved, Suspended),
                (Approved, Removed),
                (Suspended, Approved),
                (Suspended, Removed)
            ]
        );
    }
}
