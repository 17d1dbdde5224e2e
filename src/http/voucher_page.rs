//! The printable voucher: one A6 page in Chinese with the QR code, the face
//! value in figures (小写) and in capitals (大写), validity, programme and
//! service categories — what a firm without a smartphone brings to the
//! provider in `static` programmes. Plain HTML with print CSS; the browser
//! prints it (or saves it as PDF).

use crate::domain::Fen;
use crate::store::voucher::VoucherRecord;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// What the printed page says about its voucher.
pub struct PrintedVoucher<'a> {
    pub voucher: &'a VoucherRecord,
    pub programme_name: &'a str,
    /// The holder's registered name.
    pub holder_name: &'a str,
    /// The absolute address of the published issuer key set.
    pub keys_url: &'a str,
    /// The QR code as an SVG document (from `token::qr::svg`, so trusted
    /// markup) — `None` in a rotating-QR programme, where only the live
    /// code on the holder's phone is accepted and paper is a record only.
    pub qr_svg: Option<&'a str>,
}

/// The A6 page. With a QR code it is a redeemable voucher; without one it
/// is a 凭证 that says plainly it cannot be redeemed.
pub fn a6_page(printed: &PrintedVoucher<'_>) -> String {
    let voucher = printed.voucher;
    let face = Fen::new(voucher.face_value_fen);
    let categories = voucher
        .service_categories
        .iter()
        .map(|c| escape(c))
        .collect::<Vec<_>>()
        .join("、");
    let (title, code, note) = match printed.qr_svg {
        Some(svg) => {
            // The SVG document's XML declaration is not allowed inside HTML.
            let svg = svg.find("<svg").map_or(svg, |start| &svg[start..]);
            (
                "服务补贴券",
                format!(r#"<div class="qr" role="img" aria-label="补贴券二维码">{svg}</div>"#),
                format!(
                    "使用说明：请向入库服务机构出示本券二维码，由服务机构扫码核验后登记服务合同与发票。\
                     补贴券仅限持券企业在有效期内使用，不得转让、兑换现金。\
                     真伪可凭公开密钥离线核验：{}",
                    escape(printed.keys_url)
                ),
            )
        }
        None => (
            "服务补贴券凭证",
            r#"<p class="void">本凭证不能用于核销</p>"#.to_string(),
            "本项目只接受持券企业手机上实时刷新的二维码：请在服务机构现场打开“我的服务券”出示。\
             本凭证仅供留存备查，复印、截图或打印的二维码均无效。"
                .to_string(),
        ),
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} {id}</title>
<style>
@page {{ size: A6 portrait; margin: 6mm; }}
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0; color: #000; }}
.voucher {{ width: 93mm; min-height: 136mm; margin: 0 auto; border: 0.4mm solid #000; padding: 4mm; box-sizing: border-box; }}
h1 {{ font-size: 15pt; text-align: center; margin: 0 0 1mm; letter-spacing: 0.3em; }}
.programme {{ font-size: 8.5pt; text-align: center; margin: 0 0 2mm; }}
.qr {{ width: 52mm; height: 52mm; margin: 0 auto 2mm; }}
.qr svg {{ width: 100%; height: 100%; }}
.void {{ font-size: 13pt; font-weight: bold; text-align: center; border: 0.4mm solid #000; padding: 3mm; margin: 2mm 0 3mm; }}
table {{ width: 100%; border-collapse: collapse; font-size: 8.5pt; }}
th {{ text-align: left; font-weight: normal; width: 18mm; vertical-align: top; padding: 0.6mm 0; }}
td {{ padding: 0.6mm 0; word-break: break-all; }}
.amount {{ font-size: 13pt; font-weight: bold; }}
.note {{ font-size: 7pt; margin-top: 2mm; border-top: 0.2mm dashed #000; padding-top: 1.5mm; word-break: break-all; }}
@media screen {{ body {{ background: #eee; padding: 4mm; }} .voucher {{ background: #fff; }} }}
</style>
</head>
<body>
<main class="voucher">
<h1>{title}</h1>
<p class="programme">{programme}</p>
{code}
<table>
<tr><th>面额（小写）</th><td class="amount">{face_small}</td></tr>
<tr><th>面额（大写）</th><td class="amount">{face_daxie}</td></tr>
<tr><th>有效期</th><td>{valid_from} 至 {valid_until}</td></tr>
<tr><th>服务类别</th><td>{categories}</td></tr>
<tr><th>持券企业</th><td>{holder}<br>统一社会信用代码 {uscc}</td></tr>
<tr><th>项目代码</th><td>{programme_code}</td></tr>
<tr><th>券号</th><td>{id}</td></tr>
</table>
<p class="note">{note}</p>
</main>
</body>
</html>
"#,
        id = voucher.id,
        programme = escape(printed.programme_name),
        face_small = escape(&face.to_string()),
        face_daxie = escape(&face.to_daxie()),
        valid_from = voucher.valid_from,
        valid_until = voucher.valid_until,
        holder = escape(printed.holder_name),
        uscc = escape(&voucher.enterprise_uscc),
        programme_code = escape(voucher.programme_code.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
