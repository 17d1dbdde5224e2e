//! QR images of a token's text, so a voucher can be shown on a phone or
//! printed. A token is `VL1:` plus base45, all within the QR alphanumeric
//! set, so the encoder packs it at 5.5 bits a character. Error correction
//! is level M (about 15 % of the symbol recoverable): a printed voucher
//! survives a crease or a smudge. Pure: returns bytes, does no I/O.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the symbol, as ISO/IEC 18004 requires for readers.
const QUIET_ZONE_MODULES: usize = 4;
/// Default pixels per module in a PNG: large enough for a phone camera.
pub const PNG_MODULE_PIXELS_DEFAULT: u32 = 8;
/// Largest pixels per module accepted, to bound the image size.
pub const PNG_MODULE_PIXELS_MAX: u32 = 32;

/// Why a text could not be drawn as a QR code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QrError {
    #[error("the text is too long for a QR code")]
    TooLong,
    #[error("module size must be 1 to {PNG_MODULE_PIXELS_MAX} pixels")]
    ModuleSize,
}

impl QrError {
    /// Stable error code for APIs and the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            QrError::TooLong => "qr_text_too_long",
            QrError::ModuleSize => "qr_module_size_invalid",
        }
    }
}

fn layout(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|_| QrError::TooLong)
}

/// The text as an SVG document (black on white, with the quiet zone).
pub fn svg(text: &str) -> Result<String, QrError> {
    let code = layout(text)?;
    Ok(code
        .render::<svg::Color>()
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .module_dimensions(PNG_MODULE_PIXELS_DEFAULT, PNG_MODULE_PIXELS_DEFAULT)
        .build())
}

/// The text as an 8-bit greyscale PNG, `module_pixels` pixels per module.
pub fn png(text: &str, module_pixels: u32) -> Result<Vec<u8>, QrError> {
    if !(1..=PNG_MODULE_PIXELS_MAX).contains(&module_pixels) {
        return Err(QrError::ModuleSize);
    }
    let code = layout(text)?;
    let modules = code.width();
    let dark = code.to_colors();
    let scale = module_pixels as usize;
    let side_modules = modules + 2 * QUIET_ZONE_MODULES;
    let side = side_modules * scale;
    let mut pixels = vec![0xFF_u8; side * side];
    for (index, color) in dark.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let x0 = (index % modules + QUIET_ZONE_MODULES) * scale;
        let y0 = (index / modules + QUIET_ZONE_MODULES) * scale;
        for y in y0..y0 + scale {
            pixels[y * side + x0..y * side + x0 + scale].fill(0);
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side).expect("a QR image side fits in u32");
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing to a Vec cannot fail, and the header matches the pixel count.
    let mut writer = encoder
        .write_header()
        .expect("PNG header for an in-memory image");
    writer
        .write_image_data(&pixels)
        .expect("PNG data sized to the header");
    writer.finish().expect("PNG trailer to memory");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "VL1:NCFOXN%TS3DH";

    #[test]
    fn png_is_a_square_greyscale_image_with_a_quiet_zone() {
        let bytes = png(TEXT, 2).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        assert_eq!(info.width, info.height);
        let modules = layout(TEXT).unwrap().width();
        assert_eq!(info.width as usize, (modules + 8) * 2);
        // The quiet zone is white; the finder pattern's corner is black.
        assert_eq!(buffer[0], 0xFF);
        let corner = 4 * 2;
        assert_eq!(buffer[corner * info.width as usize + corner], 0);
    }

    #[test]
    fn svg_draws_the_same_symbol() {
        let document = svg(TEXT).unwrap();
        let code = layout(TEXT).unwrap();
        let modules = code.width();
        let scale = PNG_MODULE_PIXELS_DEFAULT as usize;
        let side = (modules + 2 * QUIET_ZONE_MODULES) * scale;
        assert!(document.contains(&format!(r#"width="{side}" height="{side}""#)));
        // Rasterise the dark rectangles (`M{x} {y}h{w}v{h}…`) back onto the
        // module grid and compare with the layout zbarimg reads in PNG form.
        let path = document.split(r#" d=""#).nth(1).unwrap();
        let mut dark = vec![false; modules * modules];
        for rect in path.split('M').skip(1) {
            let numbers: Vec<usize> = rect
                .split(|c: char| !c.is_ascii_digit())
                .filter(|n| !n.is_empty())
                .take(4)
                .map(|n| n.parse().unwrap())
                .collect();
            let [x, y, w, h] = numbers[..] else {
                panic!("rect {rect}")
            };
            for py in (y..y + h).step_by(scale) {
                for px in (x..x + w).step_by(scale) {
                    let (mx, my) = (
                        px / scale - QUIET_ZONE_MODULES,
                        py / scale - QUIET_ZONE_MODULES,
                    );
                    dark[my * modules + mx] = true;
                }
            }
        }
        let expected: Vec<bool> = code.to_colors().iter().map(|c| *c == Color::Dark).collect();
        assert_eq!(dark, expected);
    }

    #[test]
    fn refuses_a_module_size_out_of_range_and_text_too_long() {
        assert_eq!(png(TEXT, 0), Err(QrError::ModuleSize));
        assert_eq!(png(TEXT, 33), Err(QrError::ModuleSize));
        assert_eq!(svg(&"A".repeat(5000)), Err(QrError::TooLong));
    }
}
