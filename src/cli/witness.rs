//! `voucher-ledger witness serve`: a C2SP tlog-witness for outside bodies.
//! One endpoint, `POST /add-checkpoint`; the decision and the state files
//! are `service::witness`. It needs no database: only its key, its state
//! directory and the logs it accepts.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::Mutex;

use crate::domain::Timestamp;
use crate::ledger::checkpoint::KeyPair;
use crate::ledger::cosignature;
use crate::ledger::note;
use crate::service::witness::{self, KnownLog, REQUEST_BYTES_MAX, Refusal, StateDir};

#[derive(Debug, clap::Subcommand)]
pub enum WitnessAction {
    /// Serve POST /add-checkpoint. Prints its verifier key, then
    /// `listening on http://…`.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The witness's name (its key's name in cosignatures), e.g.
    /// audit.zhoushan.example/witness.
    #[arg(long, value_parser = parse_name)]
    name: String,
    /// Its Ed25519 key (created 0600 if absent; never read from the
    /// environment).
    #[arg(long, default_value = "./witness/witness.key")]
    key_file: PathBuf,
    /// Where it keeps, per log, the last checkpoint it cosigned.
    #[arg(long, default_value = "./witness/state")]
    state_dir: PathBuf,
    /// A log it accepts: the log's verifier key (its /log/vkey).
    /// Repeatable.
    #[arg(long = "log", required = true)]
    logs: Vec<String>,
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: String,
}

fn parse_name(text: &str) -> Result<String, String> {
    note::check_name(text)
        .map(|()| text.to_string())
        .map_err(|e| e.to_string())
}

struct Witness {
    name: String,
    key: KeyPair,
    logs: Vec<KnownLog>,
    /// Held from reading a log's state to saving the new one.
    states: Mutex<StateDir>,
}

pub async fn run(action: WitnessAction) -> anyhow::Result<ExitCode> {
    let WitnessAction::Serve(args) = action;
    let logs = args
        .logs
        .iter()
        .map(|vkey| {
            let (origin, key) = note::parse_vkey(vkey).with_context(|| format!("--log {vkey}"))?;
            Ok(KnownLog { origin, key })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(parent) = args.key_file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let (key, _) = crate::keyfile::load_or_create_file(&args.key_file)?;
    let states = StateDir::open(&args.state_dir)
        .with_context(|| format!("--state-dir {}", args.state_dir.display()))?;
    println!(
        "witness {}",
        cosignature::witness_vkey(&args.name, &key.public_key())
    );
    let witness = Arc::new(Witness {
        name: args.name,
        key,
        logs,
        states: Mutex::new(states),
    });
    let app = Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(REQUEST_BYTES_MAX))
        .with_state(witness);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: String) -> Response {
    let request = match witness::parse_request(&body) {
        Ok(request) => request,
        Err(refusal) => return refused(&refusal),
    };
    let states = witness.states.lock().await;
    let origin = request.head.origin.clone();
    let known = match states.load(&origin) {
        Ok(known) => known,
        Err(error) => {
            tracing::error!(%error, %origin, "cannot read the witness state");
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "state unreadable\n".into(),
            );
        }
    };
    let next = match witness::decide(&witness.logs, known, &request) {
        Ok(next) => next,
        Err(refusal) => {
            tracing::info!(%origin, %refusal, "checkpoint refused");
            return refused(&refusal);
        }
    };
    // Durable before the cosignature leaves: a crash after it would
    // otherwise let the witness cosign a fork of what it already signed.
    if let Err(error) = states.save(&origin, next) {
        tracing::error!(%error, %origin, "cannot save the witness state");
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "state unwritable\n".into(),
        );
    }
    drop(states);
    let time = u64::try_from(Timestamp::now().as_micros() / 1_000_000).unwrap_or(0);
    let line = cosignature::cosign(
        &request.note.text,
        &witness.name,
        witness.key.signing_key(),
        time,
    );
    let signed = note::SignedNote {
        text: request.note.text.clone(),
        signatures: vec![line],
    };
    // The response is the cosignature line alone.
    let rendered = signed.render();
    let line = rendered
        .trim_start_matches(&signed.text)
        .trim_start_matches('\n');
    tracing::info!(%origin, size = next.size, "checkpoint cosigned");
    text(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        line.to_string(),
    )
}

fn refused(refusal: &Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status()).expect("a protocol status");
    match refusal {
        Refusal::Conflict(size) => text(status, "text/x.tlog.size", format!("{size}\n")),
        other => text(status, "text/plain; charset=utf-8", format!("{other}\n")),
    }
}
