//! `voucher-ledger serve`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::app::{StoreJob, with_store};
use crate::domain::Timestamp;
use crate::http::{ApiConfig, AppState};
use crate::keyfile::{self, KeySource};
use crate::ledger::checkpoint::KeyPair;
use crate::personal::erasure_list::ErasureList;
use crate::service::WriterConfig;
use crate::service::engine::{self, publish_ledger_key};
use crate::store::Store;

pub async fn run(
    database_url: &str,
    key_file: &Path,
    listen: &str,
    api: ApiConfig,
    ops: super::OpsArgs,
) -> anyhow::Result<ExitCode> {
    let (signer, source) = keyfile::load_or_create(key_file)?;
    match source {
        KeySource::CreatedFile => tracing::info!(
            path = %key_file.display(),
            key_id = signer.key_id(),
            "created a new ledger signing key (mode 0600); back it up"
        ),
        KeySource::ExistingFile => {
            tracing::info!(path = %key_file.display(), key_id = signer.key_id(), "ledger signing key loaded")
        }
        KeySource::Environment => tracing::info!(
            key_id = signer.key_id(),
            "ledger signing key from VOUCHER_LEDGER_KEY"
        ),
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let admin_listener = match &ops.admin_listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (--admin-listen)"))?,
        ),
        None => None,
    };
    let master_key_file = crate::personal::master_key::beside(key_file);
    let (personal_key, source) = crate::personal::master_key::load_or_create(&master_key_file)?;
    if source == KeySource::CreatedFile {
        tracing::info!(
            key_id = personal_key.id(),
            "created a new personal data master key (mode 0600) beside the ledger key; back it up apart from the database"
        );
    }
    let job = Serve {
        listener,
        admin_listener,
        drain: std::time::Duration::from_secs(ops.drain_seconds),
        signer: Arc::new(signer),
        api: ApiConfig {
            personal_key: Some(Arc::new(personal_key)),
            erasures: Some(Arc::new(ErasureList::beside(&master_key_file))),
            ..api
        },
    };
    with_store(database_url, job).await??;
    Ok(ExitCode::SUCCESS)
}

/// Hourly: erases restricted subjects whose retention period ended
/// (docs/personal-data.md "Erasure and restriction").
fn spawn_retention_sweep<S: Store>(
    store: S,
    writer: crate::service::WriterHandle,
    erasures: Option<Arc<ErasureList>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            ticker.tick().await;
            let swept = crate::service::personal::erase_when_retention_ended(
                &store,
                &writer,
                erasures.as_deref(),
                Timestamp::now(),
            )
            .await;
            match swept {
                Ok(erased) if !erased.is_empty() => {
                    tracing::info!(
                        erased = erased.len(),
                        "subjects erased: their retention period ended"
                    )
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the retention sweep failed"),
            }
        }
    })
}

/// Applies the erasure list to the database before anything reads it
/// (docs/personal-data.md "Backups"); a damaged list stops the start.
pub async fn apply_erasures<S: Store>(store: &S, list: &ErasureList) -> anyhow::Result<()> {
    let applied = crate::service::personal::apply_erasure_list(store, list)
        .await
        .with_context(|| format!("cannot apply the erasure list {}", list.path().display()))?;
    if !applied.shredded.is_empty() || applied.listed > 0 {
        tracing::warn!(
            shredded = applied.shredded.len(),
            listed = applied.listed,
            "erasure list and database reconciled"
        );
    }
    Ok(())
}

struct Serve {
    listener: tokio::net::TcpListener,
    admin_listener: Option<tokio::net::TcpListener>,
    /// SIGTERM to closing the listener (`--drain-seconds`).
    drain: std::time::Duration,
    signer: Arc<KeyPair>,
    api: ApiConfig,
}

/// At start and hourly: expire vouchers past their dates and confirm stale
/// redemptions (idempotent, so several instances may all run them).
fn spawn_sweeps<S: Store>(
    store: S,
    writer: crate::service::WriterHandle,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            ticker.tick().await;
            crate::service::sweeps::run_scheduled(&store, &writer).await;
        }
    })
}

/// Every `LIST_REFRESH_SECONDS`: publishes a status list for offline devices
/// when the ledger moved since the last one, and at least hourly when it did
/// not (docs/token-format.md "Status lists"). Decided under the writer's
/// lock, so several instances publish each list once.
fn spawn_status_lists<S: Store>(
    store: S,
    writer: crate::service::WriterHandle,
) -> tokio::task::JoinHandle<()> {
    use crate::service::offline::{IDLE_REFRESH_SECONDS, LIST_REFRESH_SECONDS, publish};
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(u64::from(
            LIST_REFRESH_SECONDS,
        )));
        loop {
            ticker.tick().await;
            let minute = Timestamp::now().as_micros() / 60_000_000;
            let published = publish(
                &store,
                &writer,
                "system:status-list".into(),
                format!("status-list:{minute}"),
                LIST_REFRESH_SECONDS - 1,
                IDLE_REFRESH_SECONDS,
            )
            .await;
            if let Err(error) = published {
                tracing::warn!(%error, "status list not published");
            }
        }
    })
}

/// Hourly: forgets Idempotency-Key responses older than the retention, and
/// sessions that ended more than a day ago.
fn spawn_idempotency_purge<S: Store>(
    store: S,
    retention: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            ticker.tick().await;
            let before = Timestamp::now().as_micros() - retention.as_micros() as i64;
            match store.purge_idempotency(before).await {
                Ok(purged) if purged > 0 => {
                    tracing::info!(purged, "expired idempotency keys removed")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "idempotency purge failed"),
            }
        }
    })
}

impl StoreJob for Serve {
    type Output = anyhow::Result<()>;

    async fn run<S: Store>(self, store: S) -> anyhow::Result<()> {
        publish_ledger_key(&store, &self.signer).await?;
        if let Some(list) = &self.api.erasures {
            apply_erasures(&store, list).await?;
        }
        let config = WriterConfig {
            issuer_keys: self.api.issuer_keys.clone(),
            log_origin: Some(self.api.log_origin.clone()),
            witnesses: self.api.witnesses.clone(),
            checkpoint_interval: self.api.checkpoint_interval,
            personal_key: self.api.personal_key.clone(),
            ..WriterConfig::default()
        };
        let (writer, writer_task) = engine::spawn(store.clone(), self.signer.clone(), config);
        let sweeps = spawn_sweeps(store.clone(), writer.clone());
        let lists = spawn_status_lists(store.clone(), writer.clone());
        let retention =
            spawn_retention_sweep(store.clone(), writer.clone(), self.api.erasures.clone());
        let api = ApiConfig {
            log_key: Some(self.signer.public_key()),
            ..self.api.clone()
        };
        crate::metrics::install();
        let upkeep = crate::metrics::spawn_upkeep();
        let state = AppState::new(store.clone(), writer, api);
        let lifecycle = state.lifecycle.clone();
        // The monitoring listener stops (gracefully: its open connections
        // hold the state, and with it the writer) after the service does.
        let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
        let admin = self.admin_listener.map(|listener| {
            let router = crate::http::operations::admin_router(state.clone());
            let stopped = async move {
                let _ = admin_stopped.await;
            };
            let address = listener.local_addr();
            let server = crate::http::serve_until(listener, router, stopped);
            (address, tokio::spawn(server))
        });
        let app = crate::web::site(state);
        // The SIGTERM handler is installed now, before the address is
        // printed (see `shutdown_signal`).
        let signal = shutdown_signal();
        let address = self.listener.local_addr()?;
        // Machine-readable first line on stdout: tests and scripts read the port from it.
        println!("listening on http://{address}");
        if let Some((Ok(admin_address), _)) = &admin {
            println!("admin listening on http://{admin_address}");
            tracing::info!(%admin_address, "serving metrics, health and readiness");
        }
        tracing::info!(%address, backend = store.backend().as_str(), "serving");
        let purge = spawn_idempotency_purge(store.clone(), self.api.idempotency_retention);
        let drain = self.drain;
        let shutdown = async move {
            signal.await;
            lifecycle.start_draining();
            if !drain.is_zero() {
                tracing::info!(seconds = drain.as_secs(), "draining: /readyz answers 503");
                tokio::time::sleep(drain).await;
            }
        };
        crate::http::serve_until(self.listener, app, shutdown).await?;
        let _ = stop_admin.send(());
        if let Some((_, task)) = admin {
            let _ = task.await;
        }
        if let Some(upkeep) = upkeep {
            upkeep.abort();
        }
        // The router (and with it every WriterHandle) is gone: the writer
        // finishes the queued batches, signs a final checkpoint and stops.
        purge.abort();
        // The sweep task holds a WriterHandle: it must be gone first.
        sweeps.abort();
        let _ = sweeps.await;
        lists.abort();
        let _ = lists.await;
        retention.abort();
        let _ = retention.await;
        writer_task.await?;
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

/// Resolves on SIGTERM or Ctrl-C. The SIGTERM handler is installed here,
/// before the server accepts its first connection: a SIGTERM that arrives
/// any time after start-up is a graceful shutdown, never the default
/// action (killed), even if the serve loop has not yet polled this future
/// (it may not on its first turns while connections are already waiting).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let terminate = async {
            match terminate {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            _ = terminate => {},
            _ = tokio::signal::ctrl_c() => {},
        }
        tracing::info!("shutdown requested; finishing in-flight requests");
    }
}
