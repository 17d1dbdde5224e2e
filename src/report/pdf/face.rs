//! The one typeface of every PDF the service writes, compiled into the
//! binary (`src/report/fonts/`): Noto Sans CJK SC, so a 兑付表 looks the same
//! on every reader and needs no font on the machine. Text is measured here
//! from the same font's advance widths that krilla draws with, so what the
//! layout measured is what lands on the page.

use std::sync::LazyLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

static FONT_FILE: &[u8] = include_bytes!("../fonts/NotoSansSC-Regular.otf");

/// What a glyph is drawn with when the font has no glyph for a character
/// (an Extension A ideograph, an emoji): a white square, which the font has.
const REPLACEMENT: char = '□';

/// The parsed font: krilla's handle for drawing and skrifa's tables for
/// measuring, both over the same static bytes.
pub struct Face {
    font: Font,
    file: FontRef<'static>,
    advances: GlyphMetrics<'static>,
    units_per_em: f32,
}

static FACE: LazyLock<Face> = LazyLock::new(|| {
    let file = FontRef::new(FONT_FILE).expect("the embedded font parses");
    let font = Font::new(FONT_FILE.into(), 0).expect("krilla reads the embedded font");
    let advances = file.glyph_metrics(Size::unscaled(), LocationRef::default());
    let units_per_em = f32::from(
        file.metrics(Size::unscaled(), LocationRef::default())
            .units_per_em,
    );
    Face {
        font,
        file,
        advances,
        units_per_em,
    }
});

impl Face {
    pub fn get() -> &'static Face {
        &FACE
    }

    pub fn font(&self) -> Font {
        self.font.clone()
    }

    /// The font's glyph for `ch`, if it has one.
    pub fn covers(&self, ch: char) -> bool {
        self.file.charmap().map(ch).is_some()
    }

    /// Glyph id and advance (in ems) of `ch`, the replacement square's when
    /// the font lacks it.
    fn glyph(&self, ch: char) -> (u32, f32) {
        let charmap = self.file.charmap();
        let id = charmap
            .map(ch)
            .or_else(|| charmap.map(REPLACEMENT))
            .unwrap_or_default();
        let advance = self.advances.advance_width(id).unwrap_or_default() / self.units_per_em;
        (id.to_u32(), advance)
    }

    /// Width of `text` set at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|ch| self.glyph(ch).1).sum::<f32>() * size
    }

    /// One positioned glyph per character, each mapped back to its
    /// character so the PDF's text layer (search, copy, `pdftotext`) reads
    /// the text itself.
    pub fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(at, ch)| {
                let (id, advance) = self.glyph(ch);
                KrillaGlyph::new(
                    GlyphId::new(id),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    at..at + ch.len_utf8(),
                    None,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_covers_what_a_finance_document_prints() {
        let face = Face::get();
        let text = "服务补贴券兑付结算表 人民币壹拾贰万叁仟肆佰伍拾陆元柒角捌分 ¥1,234.50 （盖章）第 1 页 / 共 3 页 \
                    91330900MA2A0B1C2D 0192-8f3e 喆燊犇";
        for ch in text.chars() {
            assert!(face.covers(ch), "{ch} is missing from the embedded font");
        }
    }

    #[test]
    fn a_missing_character_is_measured_as_the_replacement_square() {
        let face = Face::get();
        assert!(!face.covers('😀'));
        assert_eq!(face.width("😀", 10.0), face.width("□", 10.0));
        assert!(face.width("□", 10.0) > 0.0);
    }

    #[test]
    fn ideographs_are_one_em_and_latin_is_narrower() {
        let face = Face::get();
        assert!((face.width("兑付", 10.0) - 20.0).abs() < 0.01);
        let digits = face.width("0123456789", 10.0);
        assert!(digits > 40.0 && digits < 70.0, "{digits}");
    }
}
