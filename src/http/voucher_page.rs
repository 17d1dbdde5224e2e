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

/// The page for `voucher` of programme `programme_name`, with its QR code
/// as an SVG document (from `token::qr::svg`, so trusted markup).
pub fn a6_page(voucher: &VoucherRecord, programme_name: &str, qr_svg: &str) -> String {
    let face = Fen::new(voucher.face_value_fen);
    // The SVG document's XML declaration is not allowed inside HTML.
    let qr_svg = qr_svg.find("<svg").map_or(qr_svg, |start| &qr_svg[start..]);
    let categories = voucher
        .service_categories
        .iter()
        .map(|c| escape(c))
        .collect::<Vec<_>>()
        .join("、");
    format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>服务补贴券 {id}</title>
<style>
@page {{ size: A6 portrait; margin: 6mm; }}
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0; color: #000; }}
.voucher {{ width: 93mm; min-height: 136mm; margin: 0 auto; border: 0.4mm solid #000; padding: 4mm; box-sizing: border-box; }}
h1 {{ font-size: 15pt; text-align: center; margin: 0 0 1mm; letter-spacing: 0.3em; }}
.programme {{ font-size: 8.5pt; text-align: center; margin: 0 0 2mm; }}
.qr {{ width: 52mm; height: 52mm; margin: 0 auto 2mm; }}
.qr svg {{ width: 100%; height: 100%; }}
table {{ width: 100%; border-collapse: collapse; font-size: 8.5pt; }}
th {{ text-align: left; font-weight: normal; width: 18mm; vertical-align: top; padding: 0.6mm 0; }}
td {{ padding: 0.6mm 0; word-break: break-all; }}
.amount {{ font-size: 13pt; font-weight: bold; }}
.note {{ font-size: 7pt; margin-top: 2mm; border-top: 0.2mm dashed #000; padding-top: 1.5mm; }}
@media screen {{ body {{ background: #eee; padding: 4mm; }} .voucher {{ background: #fff; }} }}
</style>
</head>
<body>
<main class="voucher">
<h1>服务补贴券</h1>
<p class="programme">{programme}</p>
<div class="qr" role="img" aria-label="补贴券二维码">{qr_svg}</div>
<table>
<tr><th>面额（小写）</th><td class="amount">{face_small}</td></tr>
<tr><th>面额（大写）</th><td class="amount">{face_daxie}</td></tr>
<tr><th>有效期</th><td>{valid_from} 至 {valid_until}</td></tr>
<tr><th>服务类别</th><td>{categories}</td></tr>
<tr><th>持券企业</th><td>{uscc}</td></tr>
<tr><th>项目代码</th><td>{programme_code}</td></tr>
<tr><th>券号</th><td>{id}</td></tr>
<tr><th>签发</th><td>账本序号 {sequence} · 密钥 {key_id}</td></tr>
</table>
<p class="note">使用说明：请向入库服务机构出示本券二维码，由服务机构扫码核验后登记服务合同与发票。补贴券仅限持券企业在有效期内使用，不得转让、兑换现金。真伪可凭公开密钥离线核验（/.well-known/voucher-keys.json）。</p>
</main>
</body>
</html>
"#,
        id = voucher.id,
        programme = escape(programme_name),
        qr_svg = qr_svg,
        face_small = escape(&face.to_string()),
        face_daxie = escape(&face.to_daxie()),
        valid_from = voucher.valid_from,
        valid_until = voucher.valid_until,
        categories = categories,
        uscc = escape(&voucher.enterprise_uscc),
        programme_code = escape(voucher.programme_code.as_str()),
        sequence = voucher.issued_sequence,
        key_id = escape(&voucher.key_id),
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
