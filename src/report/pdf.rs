//! A small PDF writer for the settlement reports: pages of text and rules,
//! written front to back into any `Write` (so a batch of a million lines
//! streams out page by page instead of being built in memory).
//!
//! Chinese text uses the standard Adobe-GB1 font STSong-Light with the
//! UniGB-UCS2-H encoding (every conforming reader maps it to a Song/宋体
//! face it has; nothing is embedded, which keeps files small), and a
//! ToUnicode map, so text extraction (`pdftotext`, search, copy) gives the
//! exact characters back.

use std::io::{self, Write};

/// A4 landscape, in points.
pub const PAGE_WIDTH: f32 = 842.0;
pub const PAGE_HEIGHT: f32 = 595.0;

/// Writes a PDF object by object, counting bytes for the cross-reference
/// table.
pub struct PdfWriter<W: Write> {
    out: W,
    written: u64,
    /// Byte offset of each object, by object number − 1.
    offsets: Vec<u64>,
    pages: Vec<u32>,
    content: Vec<u8>,
}

/// Object numbers fixed up front: the page tree is written last.
const CATALOG: u32 = 1;
const PAGES: u32 = 2;
const FONT: u32 = 3;
const FIRST_FREE: u32 = 7;

impl<W: Write> PdfWriter<W> {
    pub fn new(out: W) -> io::Result<PdfWriter<W>> {
        let mut writer = PdfWriter {
            out,
            written: 0,
            offsets: vec![0; (FIRST_FREE - 1) as usize],
            pages: Vec::new(),
            content: Vec::new(),
        };
        writer.raw(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")?;
        writer.object(
            CATALOG,
            format!("<< /Type /Catalog /Pages {PAGES} 0 R >>").as_bytes(),
        )?;
        writer.object(
            FONT,
            b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light \
              /Encoding /UniGB-UCS2-H /DescendantFonts [4 0 R] /ToUnicode 6 0 R >>",
        )?;
        writer.object(
            4,
            b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light \
              /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> \
              /FontDescriptor 5 0 R /DW 1000 /W [1 95 500 814 939 500] >>",
        )?;
        writer.object(
            5,
            b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 \
              /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 \
              /CapHeight 880 /StemV 93 >>",
        )?;
        let cmap = to_unicode_cmap();
        writer.stream_object(6, &cmap)?;
        Ok(writer)
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn object(&mut self, number: u32, body: &[u8]) -> io::Result<()> {
        self.mark(number);
        self.raw(format!("{number} 0 obj\n").as_bytes())?;
        self.raw(body)?;
        self.raw(b"\nendobj\n")
    }

    fn stream_object(&mut self, number: u32, data: &[u8]) -> io::Result<()> {
        self.mark(number);
        self.raw(format!("{number} 0 obj\n<< /Length {} >>\nstream\n", data.len()).as_bytes())?;
        self.raw(data)?;
        self.raw(b"\nendstream\nendobj\n")
    }

    fn mark(&mut self, number: u32) {
        let index = (number - 1) as usize;
        if self.offsets.len() <= index {
            self.offsets.resize(index + 1, 0);
        }
        self.offsets[index] = self.written;
    }

    fn next_number(&self) -> u32 {
        (self.offsets.len() as u32 + 1).max(FIRST_FREE)
    }

    /// Text at (x, y) from the bottom-left, `size` points.
    pub fn text(&mut self, x: f32, y: f32, size: f32, text: &str) {
        let encoded = ucs2_hex(text);
        let _ = writeln!(
            self.content,
            "BT /F1 {size:.1} Tf {x:.2} {y:.2} Td <{encoded}> Tj ET"
        );
    }

    /// A straight rule.
    pub fn rule(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        let _ = writeln!(
            self.content,
            "{width:.2} w {x1:.2} {y1:.2} m {x2:.2} {y2:.2} l S"
        );
    }

    /// Ends the current page (what was drawn since the last one).
    pub fn end_page(&mut self) -> io::Result<()> {
        let content = std::mem::take(&mut self.content);
        let content_number = self.next_number();
        self.stream_object(content_number, &content)?;
        let page_number = self.next_number();
        self.object(
            page_number,
            format!(
                "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 {FONT} 0 R >> >> /Contents {content_number} 0 R >>"
            )
            .as_bytes(),
        )?;
        self.pages.push(page_number);
        Ok(())
    }

    /// Writes the page tree, the cross-reference table and the trailer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.content.is_empty() || self.pages.is_empty() {
            self.end_page()?;
        }
        let kids: Vec<String> = self.pages.iter().map(|n| format!("{n} 0 R")).collect();
        let count = self.pages.len();
        self.object(
            PAGES,
            format!(
                "<< /Type /Pages /Kids [{}] /Count {count} >>",
                kids.join(" ")
            )
            .as_bytes(),
        )?;
        let xref_at = self.written;
        let size = self.offsets.len() + 1;
        let mut table = format!("xref\n0 {size}\n0000000000 65535 f \n");
        for offset in &self.offsets {
            table.push_str(&format!("{offset:010} 00000 n \n"));
        }
        table.push_str(&format!(
            "trailer\n<< /Size {size} /Root {CATALOG} 0 R >>\nstartxref\n{xref_at}\n%%EOF\n"
        ));
        self.raw(table.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Width of `text` at `size` points: CJK characters are one em, the rest
/// half an em (the font's widths above).
pub fn text_width(text: &str, size: f32) -> f32 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.5 } else { 1.0 })
        .sum::<f32>()
        * size
}

/// `text` cut to fit `width` at `size`, ending in `…` when cut.
pub fn fit(text: &str, size: f32, width: f32) -> String {
    if text_width(text, size) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = size; // room for the ellipsis
    for c in text.chars() {
        let w = if c.is_ascii() { 0.5 } else { 1.0 } * size;
        if used + w > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// UCS-2 big-endian hex; characters beyond the BMP become `?`.
fn ucs2_hex(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 4);
    for c in text.chars() {
        let unit = u16::try_from(u32::from(c)).unwrap_or(u16::from(b'?'));
        out.push_str(&format!("{unit:04X}"));
    }
    out
}

/// Maps each 2-byte code to the same Unicode value (the encoding is UCS-2).
fn to_unicode_cmap() -> Vec<u8> {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    // A bfrange may only vary its last byte: one per high byte, at most
    // 100 per block.
    let highs: Vec<u32> = (0..=0xFF).filter(|h| !(0xD8..=0xDF).contains(h)).collect();
    for block in highs.chunks(100) {
        cmap.push_str(&format!("{} beginbfrange\n", block.len()));
        for high in block {
            cmap.push_str(&format!("<{high:02X}00> <{high:02X}FF> <{high:02X}00>\n"));
        }
        cmap.push_str("endbfrange\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_has_a_valid_cross_reference_table() {
        let mut pdf = PdfWriter::new(Vec::new()).unwrap();
        pdf.text(40.0, 500.0, 12.0, "合计 ¥1,234.50");
        pdf.end_page().unwrap();
        pdf.text(40.0, 500.0, 12.0, "第二页");
        let bytes = pdf.finish().unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.contains("/Count 2"));
        // Every offset in the table points at its object (offsets are in
        // bytes: read them on the bytes).
        let xref_at: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|tail| tail.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(bytes[xref_at..].starts_with(b"xref"));
        let table = String::from_utf8(bytes[xref_at..].to_vec()).unwrap();
        for (index, line) in table.lines().skip(3).enumerate() {
            if line.starts_with("trailer") {
                break;
            }
            let offset: usize = line[..10].parse().unwrap();
            assert!(
                bytes[offset..].starts_with(format!("{} 0 obj", index + 1).as_bytes()),
                "object {}",
                index + 1
            );
        }
        // "合" is U+5408.
        assert!(text.contains("<5408"));
    }

    #[test]
    fn text_is_cut_to_its_column() {
        assert_eq!(fit("abc", 10.0, 100.0), "abc");
        let cut = fit("舟山市甲咨询有限公司", 10.0, 50.0);
        assert!(cut.ends_with('…'));
        assert!(text_width(&cut, 10.0) <= 50.0);
        assert_eq!(text_width("ab中", 10.0), 20.0);
    }
}
