//! Pages of marks (text, rules, shaded boxes) turned into a PDF by krilla,
//! which embeds the subset of the font the document uses. Coordinates are
//! points from the page's top-left corner, y downwards.

use krilla::Document;
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};

use super::face::Face;
use super::{PAGE_HEIGHT, PAGE_WIDTH};

/// One thing drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// Text whose baseline starts at (x, baseline).
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        text: String,
    },
    /// A straight line.
    Rule {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
    },
    /// A rectangle's outline.
    Frame {
        rect: (f32, f32, f32, f32),
        width: f32,
    },
    /// A light grey rectangle behind a table's header.
    Shade { rect: (f32, f32, f32, f32) },
}

/// Writes `pages` as a PDF titled `title`.
pub fn render(pages: &[Vec<Mark>], title: &str) -> Result<Vec<u8>, String> {
    let face = Face::get();
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .language("zh-CN".to_string())
            .creator("voucher-ledger".to_string()),
    );
    for marks in pages {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).expect("A4 is a valid size");
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for mark in marks {
            match mark {
                Mark::Text {
                    x,
                    baseline,
                    size,
                    text,
                } => {
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill::default()));
                    surface.draw_glyphs(
                        Point::from_xy(*x, *baseline),
                        &face.glyphs(text),
                        face.font(),
                        text,
                        *size,
                        false,
                    );
                }
                Mark::Rule { from, to, width } => {
                    let mut path = PathBuilder::new();
                    path.move_to(from.0, from.1);
                    path.line_to(to.0, to.1);
                    stroke(&mut surface, path, *width);
                }
                Mark::Frame { rect, width } => {
                    let mut path = PathBuilder::new();
                    if let Some(rect) = to_rect(*rect) {
                        path.push_rect(rect);
                    }
                    stroke(&mut surface, path, *width);
                }
                Mark::Shade { rect } => {
                    let mut path = PathBuilder::new();
                    if let Some(rect) = to_rect(*rect) {
                        path.push_rect(rect);
                    }
                    if let Some(path) = path.finish() {
                        surface.set_stroke(None);
                        surface.set_fill(Some(Fill {
                            paint: luma::Color::new(235).into(),
                            ..Fill::default()
                        }));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|error| format!("{error:?}"))
}

fn to_rect((x, y, w, h): (f32, f32, f32, f32)) -> Option<Rect> {
    Rect::from_xywh(x, y, w, h)
}

fn stroke(surface: &mut krilla::surface::Surface<'_>, path: PathBuilder, width: f32) {
    if let Some(path) = path.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke {
            width,
            ..Stroke::default()
        }));
        surface.draw_path(&path);
    }
}
