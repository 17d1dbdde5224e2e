//! PDFs a finance officer signs, written with krilla (a maintained PDF
//! library that subsets and embeds fonts) in one typeface compiled into the
//! binary (`face`), so a document needs no font on the reader's machine and
//! prints the same everywhere. `layout` fits text into table cells, `flow`
//! puts content on pages (repeated table headers, kept-together blocks,
//! 第 n 页 / 共 N 页) and `draw` hands the pages to krilla. Decision 0014.

pub mod draw;
pub mod face;
pub mod flow;
pub mod layout;

/// A4 landscape, in points.
pub const PAGE_WIDTH: f32 = 842.0;
pub const PAGE_HEIGHT: f32 = 595.0;
/// Margins, in points.
pub const LEFT: f32 = 24.0;
pub const RIGHT: f32 = 24.0;
pub const TOP: f32 = 24.0;
/// The foot holds the page number.
pub const BOTTOM: f32 = 34.0;
