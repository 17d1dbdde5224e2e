//! A reconciliation flag's detail as a reviewer reads it. The detail is
//! stored as reconciliation wrote it (`invoice 700000 < contract 800000
//! fen`: it is part of the prepared run and its digest, so it never
//! changes); here it is read back into both languages with amounts in 元
//! and statuses in words. A detail this module does not recognise is
//! shown as stored.

use super::Fen;
use super::provider::ProviderStatus;
use super::settlement::FlagCode;

/// (中文, English) of `detail` for a flag `code`.
pub fn detail_words(code: FlagCode, detail: &str) -> (String, String) {
    worded(code, detail).unwrap_or_else(|| (detail.to_string(), detail.to_string()))
}

fn yuan(fen: &str) -> Option<String> {
    fen.trim()
        .parse::<i64>()
        .ok()
        .map(|f| Fen::new(f).to_string())
}

/// The numbers between the literal pieces of `pattern` ("{}" marks one).
fn fields<'a>(text: &'a str, pattern: &str) -> Option<Vec<&'a str>> {
    let pieces: Vec<&str> = pattern.split("{}").collect();
    let mut rest = text.strip_prefix(pieces[0])?;
    let mut out = Vec::new();
    for piece in &pieces[1..] {
        let end = if piece.is_empty() {
            rest.len()
        } else {
            rest.find(piece)?
        };
        out.push(&rest[..end]);
        rest = &rest[end + piece.len()..];
    }
    rest.is_empty().then_some(out)
}

fn worded(code: FlagCode, detail: &str) -> Option<(String, String)> {
    Some(match code {
        FlagCode::InvoiceShort => {
            let f = fields(detail, "invoice {} < contract {} fen")?;
            let (invoice, contract) = (yuan(f[0])?, yuan(f[1])?);
            (
                format!("发票金额 {invoice} 低于合同金额 {contract}"),
                format!("invoice {invoice} is below the contract's {contract}"),
            )
        }
        FlagCode::InvoiceDuplicate => {
            let f = fields(detail, "invoice {} used {} times")?;
            (
                format!("发票 {} 被使用 {} 次", f[0], f[1]),
                format!("invoice {} used {} times", f[0], f[1]),
            )
        }
        FlagCode::ProviderNotApproved => {
            let zh = ProviderStatus::parse(detail).map_or("未登记", ProviderStatus::name_zh);
            (
                format!("服务机构当前状态：{zh}"),
                format!("the provider is {detail}"),
            )
        }
        FlagCode::RelatedParty => (format!("关联关系：{detail}"), format!("related: {detail}")),
        FlagCode::QuickRedemption => {
            let seconds: i64 = fields(detail, "{} s after issuance")?[0].parse().ok()?;
            let (minutes, rest) = (seconds / 60, seconds % 60);
            (
                format!("领券后 {minutes} 分 {rest} 秒即核销"),
                format!("redeemed {minutes} min {rest} s after issuance"),
            )
        }
        FlagCode::ProviderDominatesEnterprise => {
            let f = fields(detail, "{} of the firm's {} redemptions")?;
            (
                format!("该企业 {} 笔核销中有 {} 笔由此机构办理", f[1], f[0]),
                format!(
                    "{} of the firm's {} redemptions are this provider's",
                    f[0], f[1]
                ),
            )
        }
        FlagCode::ProviderDominatesProgramme => {
            let f = fields(detail, "{} of the programme's {} redemptions")?;
            (
                format!("本项目 {} 笔核销中有 {} 笔由此机构办理", f[1], f[0]),
                format!(
                    "{} of the programme's {} redemptions are this provider's",
                    f[0], f[1]
                ),
            )
        }
        FlagCode::RedemptionBurst => {
            let f = fields(detail, "≥ {} redemptions within {} minutes")?;
            (
                format!("{} 分钟内核销不少于 {} 笔", f[1], f[0]),
                format!("at least {} redemptions within {} minutes", f[0], f[1]),
            )
        }
        FlagCode::ProviderAnnualCap => {
            let f = fields(detail, "settled {} + {} > cap {} fen")?;
            let (so_far, this, cap) = (yuan(f[0])?, yuan(f[1])?, yuan(f[2])?);
            (
                format!("本年已结算 {so_far}，加本笔 {this} 超过年度上限 {cap}"),
                format!("{so_far} settled this year plus {this} passes the annual cap of {cap}"),
            )
        }
        FlagCode::InvoiceMissing | FlagCode::PaymentProofMissing | FlagCode::SubsidyAtMaximum => {
            if !detail.is_empty() {
                return None;
            }
            let (zh, en) = code.meaning();
            (zh.to_string(), en.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detail_reconciliation_writes_reads_in_both_languages_in_yuan() {
        let cases = [
            (
                FlagCode::InvoiceShort,
                "invoice 700000 < contract 800000 fen",
                "发票金额 ¥7,000.00 低于合同金额 ¥8,000.00",
                "invoice ¥7,000.00 is below the contract's ¥8,000.00",
            ),
            (
                FlagCode::ProviderAnnualCap,
                "settled 100 + 250000 > cap 200000 fen",
                "本年已结算 ¥1.00，加本笔 ¥2,500.00 超过年度上限 ¥2,000.00",
                "¥1.00 settled this year plus ¥2,500.00 passes the annual cap of ¥2,000.00",
            ),
            (
                FlagCode::ProviderNotApproved,
                "suspended",
                "服务机构当前状态：暂停",
                "the provider is suspended",
            ),
            (
                FlagCode::QuickRedemption,
                "125 s after issuance",
                "领券后 2 分 5 秒即核销",
                "redeemed 2 min 5 s after issuance",
            ),
            (
                FlagCode::InvoiceDuplicate,
                "invoice 033002600111/20260001 used 2 times",
                "发票 033002600111/20260001 被使用 2 次",
                "invoice 033002600111/20260001 used 2 times",
            ),
            (
                FlagCode::RedemptionBurst,
                "≥ 5 redemptions within 10 minutes",
                "10 分钟内核销不少于 5 笔",
                "at least 5 redemptions within 10 minutes",
            ),
            (
                FlagCode::ProviderDominatesEnterprise,
                "4 of the firm's 5 redemptions",
                "该企业 5 笔核销中有 4 笔由此机构办理",
                "4 of the firm's 5 redemptions are this provider's",
            ),
        ];
        for (code, detail, zh, en) in cases {
            assert_eq!(
                detail_words(code, detail),
                (zh.to_string(), en.to_string()),
                "{detail}"
            );
        }
        // No English fen anywhere in the Chinese.
        let (zh, _) = detail_words(FlagCode::InvoiceShort, "invoice 1 < contract 2 fen");
        assert!(!zh.contains("fen") && !zh.contains("invoice"), "{zh}");
    }

    #[test]
    fn an_unknown_detail_is_shown_as_stored() {
        assert_eq!(
            detail_words(FlagCode::InvoiceShort, "something else"),
            ("something else".to_string(), "something else".to_string())
        );
        assert_eq!(detail_words(FlagCode::InvoiceMissing, ""), {
            let (zh, en) = FlagCode::InvoiceMissing.meaning();
            (zh.to_string(), en.to_string())
        });
    }
}
