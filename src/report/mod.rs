//! Reports a finance bureau files: the settlement batch table (兑付表) and
//! provider statements as CSV, XLSX and PDF, utilisation charts as SVG.
//! Renderers are pure (rows in, bytes out); `stream` connects them to the
//! database and the HTTP body. CSV and XLSX stream row by row; a PDF is
//! laid out whole first (its pages say 共 N 页), so it has a line limit
//! (`batch_pdf::MAX_LINES`).

pub mod batch;
pub mod batch_pdf;
pub mod chart;
pub mod pdf;
pub mod stream;
mod table;
