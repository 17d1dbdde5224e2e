//! Reading a QR code from a photo: a provider whose camera cannot scan
//! uploads a picture of the voucher (PNG or JPEG) and the server finds the
//! code in it. Pure: bytes in, the code's text out. The image is reduced to
//! greyscale, large photos are scaled down first (a phone's 12 MP photo
//! holds the code many times over), and rqrr locates and decodes it.

use std::io::Cursor;

/// Larger images are refused (about 64 MB of pixels decoded at most).
const DECODED_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Photos are scaled down until their longer side is at most this.
const SIDE_MAX: usize = 1600;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QrReadError {
    #[error("the file is not a PNG or JPEG image")]
    NotAnImage,
    #[error("the image could not be read: {0}")]
    Unreadable(String),
    #[error("no QR code could be read in the image")]
    NotFound,
}

impl QrReadError {
    /// Stable error code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            QrReadError::NotAnImage => "image_format_unsupported",
            QrReadError::Unreadable(_) => "image_unreadable",
            QrReadError::NotFound => "qr_not_found",
        }
    }

    pub fn message_zh(&self) -> &'static str {
        match self {
            QrReadError::NotAnImage => "文件不是 PNG 或 JPEG 图片。",
            QrReadError::Unreadable(_) => "图片无法读取。",
            QrReadError::NotFound => "图片中未识别到二维码，请对准二维码重新拍摄。",
        }
    }
}

/// A greyscale raster, one byte a pixel (0 black, 255 white).
struct Grey {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

/// The text of the first QR code found in `bytes` (a PNG or JPEG file).
pub fn read_qr_image(bytes: &[u8]) -> Result<String, QrReadError> {
    let grey = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png_grey(bytes)?
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        jpeg_grey(bytes)?
    } else {
        return Err(QrReadError::NotAnImage);
    };
    let grey = scaled_down(grey);
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(grey.width, grey.height, |x, y| {
            grey.pixels[y * grey.width + x]
        });
    prepared
        .detect_grids()
        .iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .ok_or(QrReadError::NotFound)
}

fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000) as u8
}

fn png_grey(bytes: &[u8]) -> Result<Grey, QrReadError> {
    let unreadable = |e: png::DecodingError| QrReadError::Unreadable(e.to_string());
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: DECODED_BYTES_MAX,
        },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(unreadable)?;
    let size = reader
        .output_buffer_size()
        .filter(|size| *size <= DECODED_BYTES_MAX)
        .ok_or_else(|| QrReadError::Unreadable("the image is too large".into()))?;
    let mut buffer = vec![0; size];
    let info = reader.next_frame(&mut buffer).map_err(unreadable)?;
    let (width, height) = (info.width as usize, info.height as usize);
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(QrReadError::Unreadable("palette not expanded".into()));
        }
    };
    let mut pixels = Vec::with_capacity(width * height);
    for row in buffer.chunks(info.line_size).take(height) {
        for pixel in row.chunks(channels).take(width) {
            pixels.push(match channels {
                1 | 2 => pixel[0],
                _ => luma(pixel[0], pixel[1], pixel[2]),
            });
        }
    }
    Ok(Grey {
        width,
        height,
        pixels,
    })
}

fn jpeg_grey(bytes: &[u8]) -> Result<Grey, QrReadError> {
    let unreadable = |e: jpeg_decoder::Error| QrReadError::Unreadable(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(DECODED_BYTES_MAX);
    let data = decoder.decode().map_err(unreadable)?;
    let info = decoder
        .info()
        .ok_or_else(|| QrReadError::Unreadable("no image header".into()))?;
    let (width, height) = (usize::from(info.width), usize::from(info.height));
    let pixels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => data,
        jpeg_decoder::PixelFormat::L16 => data.chunks(2).map(|p| p[0]).collect(),
        jpeg_decoder::PixelFormat::RGB24 => {
            data.chunks(3).map(|p| luma(p[0], p[1], p[2])).collect()
        }
        jpeg_decoder::PixelFormat::CMYK32 => data
            .chunks(4)
            .map(|p| luma(255 - p[0], 255 - p[1], 255 - p[2]))
            .collect(),
    };
    Ok(Grey {
        width,
        height,
        pixels,
    })
}

/// Averages square blocks so that the longer side is at most `SIDE_MAX`.
fn scaled_down(grey: Grey) -> Grey {
    let factor = grey.width.max(grey.height).div_ceil(SIDE_MAX);
    if factor <= 1 {
        return grey;
    }
    let (width, height) = (grey.width / factor, grey.height / factor);
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let mut sum = 0u32;
            for dy in 0..factor {
                let row = (y * factor + dy) * grey.width;
                for dx in 0..factor {
                    sum += u32::from(grey.pixels[row + x * factor + dx]);
                }
            }
            pixels.push((sum / (factor * factor) as u32) as u8);
        }
    }
    Grey {
        width,
        height,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "VL1:6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3HSJM0";

    #[test]
    fn a_png_of_a_code_reads_back_to_its_text() {
        let png = super::super::qr::png(TEXT, 6).unwrap();
        assert_eq!(read_qr_image(&png).unwrap(), TEXT);
    }

    #[test]
    fn a_large_photo_is_scaled_down_and_still_read() {
        // A 32-pixel-module code is about 1,500 px wide; tile it into a
        // 3,400 px wide grey canvas, as a photo of a printed voucher.
        let png = super::super::qr::png(TEXT, 32).unwrap();
        let code = png_grey(&png).unwrap();
        let (width, height) = (3_400, code.height + 200);
        let mut pixels = vec![200u8; width * height];
        for y in 0..code.height {
            for x in 0..code.width {
                pixels[(y + 100) * width + x + 900] = code.pixels[y * code.width + x];
            }
        }
        let photo = scaled_down(Grey {
            width,
            height,
            pixels,
        });
        assert!(photo.width <= SIDE_MAX);
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(photo.width, photo.height, |x, y| {
                photo.pixels[y * photo.width + x]
            });
        let grids = prepared.detect_grids();
        assert_eq!(grids[0].decode().unwrap().1, TEXT);
    }

    #[test]
    fn a_jpeg_photo_in_colour_reads_back() {
        // The code on a beige page, as RGB, JPEG quality 75.
        let png = super::super::qr::png(TEXT, 8).unwrap();
        let code = png_grey(&png).unwrap();
        let (width, height) = (code.width + 300, code.height + 300);
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                let inside =
                    (150..150 + code.width).contains(&x) && (150..150 + code.height).contains(&y);
                let v = if inside {
                    code.pixels[(y - 150) * code.width + x - 150]
                } else {
                    230
                };
                rgb.extend([v, v.saturating_sub(10), v.saturating_sub(30)]);
            }
        }
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 75)
            .encode(
                &rgb,
                width as u16,
                height as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .unwrap();
        assert_eq!(read_qr_image(&jpeg).unwrap(), TEXT);
    }

    #[test]
    fn other_files_and_blank_images_are_refused_with_their_codes() {
        assert_eq!(
            read_qr_image(b"GIF89a...").unwrap_err().code(),
            "image_format_unsupported"
        );
        assert_eq!(
            read_qr_image(b"\x89PNG\r\n\x1a\nbroken")
                .unwrap_err()
                .code(),
            "image_unreadable"
        );
        let mut blank = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut blank, 64, 64);
            encoder.set_color(png::ColorType::Grayscale);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[255u8; 64 * 64]).unwrap();
        }
        assert_eq!(read_qr_image(&blank).unwrap_err(), QrReadError::NotFound);
    }
}
