//! Where log lines go and how many there are. `serve` and `demo` run for
//! hours: they log at info. A one-shot command (verify, issue, settle, …)
//! prints its own result on stdout and logs only warnings unless asked
//! (`-v` info, `-vv` debug). `VOUCHER_LOG` (a tracing filter) overrides
//! both. Colour codes only when stderr is a terminal, so a log file or a
//! pipe holds plain text. `--log-format json` writes one JSON object per
//! line instead, with the fields of the spans it is in — every line logged
//! while answering a request carries that request's `request_id`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter for a command: `long_running` ones at info, others at warn,
/// each `-v` one level more.
pub fn default_filter(long_running: bool, verbose: u8) -> &'static str {
    match (long_running, verbose) {
        (_, 2..) => "debug,sqlx=warn",
        (true, _) | (false, 1) => "info,sqlx=warn",
        (false, 0) => "warn",
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line: timestamp, level, target, fields, spans.
    Json,
}

/// Installs the process's log subscriber (once, before the command runs).
pub fn init(long_running: bool, verbose: u8, format: LogFormat) {
    let filter = EnvFilter::try_from_env("VOUCHER_LOG")
        .unwrap_or_else(|_| EnvFilter::new(default_filter(long_running, verbose)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_commands_are_quiet_unless_asked() {
        assert_eq!(default_filter(false, 0), "warn");
        assert_eq!(default_filter(false, 1), "info,sqlx=warn");
        assert_eq!(default_filter(false, 2), "debug,sqlx=warn");
        assert_eq!(default_filter(true, 0), "info,sqlx=warn");
        assert_eq!(default_filter(true, 3), "debug,sqlx=warn");
    }
}
