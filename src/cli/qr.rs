//! `voucher-ledger qr TOKEN --png FILE` (or `--svg FILE`): draws a voucher
//! token as a QR image for printing or sending. Refuses text that is not a
//! well-formed voucher token, so a mistyped token is never printed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::token::qr::{self, PNG_MODULE_PIXELS_DEFAULT};
use crate::token::voucher::parse_unverified;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("output").required(true).multiple(true).args(["png", "svg"])))]
pub struct QrArgs {
    /// The token text (`VL1:…`), as printed by `issue` or shown in the app.
    token: String,
    /// Write a PNG image here.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Write an SVG image here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// PNG pixels per QR module (1–32).
    #[arg(long, default_value_t = PNG_MODULE_PIXELS_DEFAULT)]
    module_pixels: u32,
}

pub fn run(args: QrArgs) -> anyhow::Result<ExitCode> {
    let token = args.token.trim();
    if let Err(error) = parse_unverified(token) {
        eprintln!(
            "error [{}]: not a voucher token: {error} / 不是有效的补贴券码",
            error.code()
        );
        return Ok(ExitCode::from(2));
    }
    // Only the images asked for are drawn, all before any is written.
    let mut requested = Vec::new();
    if let Some(path) = args.png {
        requested.push((path, qr::png(token, args.module_pixels)));
    }
    if let Some(path) = args.svg {
        requested.push((path, qr::svg(token).map(String::into_bytes)));
    }
    let drawn: Result<Vec<_>, _> = requested
        .into_iter()
        .map(|(path, image)| image.map(|bytes| (path, bytes)))
        .collect();
    let drawn = match drawn {
        Ok(drawn) => drawn,
        Err(error) => {
            eprintln!("error [{}]: {error}", error.code());
            return Ok(ExitCode::from(2));
        }
    };
    for (path, bytes) in drawn {
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
