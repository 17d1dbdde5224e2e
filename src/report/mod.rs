//! Reports a finance bureau files: the settlement batch table (兑付表) and
//! provider statements as CSV, XLSX and PDF, utilisation charts as SVG.
//! Renderers are pure (rows in, bytes out); `stream` connects them to the
//! database and the HTTP body without holding a whole report in memory.

pub mod batch;
pub mod chart;
pub mod pdf;
pub mod stream;
