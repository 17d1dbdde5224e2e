//! Several database hosts, writing only to the primary (docs/operations.md,
//! "High availability"): a libpq-style multi-host URL
//! (`postgres://user@db1:5432,db2:5432/voucher_ledger`), whose
//! `target_session_attrs` is `read-write` (the only mode a writer can use).
//!
//! At connect, the first host that answers and is not in recovery is the
//! primary. While serving, a watch task asks the current host every half
//! second whether it is still a primary; when it is not (gone, or demoted
//! to a standby), it probes the hosts until one is promoted and points
//! every pool at it: new connections go there, and connections opened
//! before the switch are closed when next taken from the pool. Meanwhile
//! requests fail with 503 and are retried by clients with their
//! idempotency keys. No write is acknowledged unless its commit returned
//! from the host that was primary, and with a synchronous standby
//! (`synchronous_commit = on`, `synchronous_standby_names`) that commit is
//! on the standby that will be promoted.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::store::StoreError;

/// How often the watch asks the current host whether it is the primary.
const WATCH_EVERY: Duration = Duration::from_millis(500);
/// How long one probe of one host may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Most hosts in one URL.
const HOSTS_MAX: usize = 8;

/// The single-host URLs of a (possibly multi-host) URL, in order.
/// `target_session_attrs` is taken out (sqlx does not know it); any value
/// but `read-write` (or `primary`) is refused.
pub fn split(url: &str) -> Result<Vec<String>, StoreError> {
    let scheme_end = url.find("://").ok_or(StoreError::UnsupportedUrl)? + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
        None => (String::new(), authority),
    };
    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    let mut kept = Vec::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            Some(("target_session_attrs", "read-write" | "primary")) => {}
            Some(("target_session_attrs", _)) => return Err(StoreError::UnsupportedUrl),
            _ if pair.is_empty() => {}
            _ => kept.push(pair),
        }
    }
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    let hosts: Vec<&str> = hosts.split(',').collect();
    if hosts.len() > HOSTS_MAX || hosts.iter().any(|host| host.is_empty()) && hosts.len() > 1 {
        return Err(StoreError::UnsupportedUrl);
    }
    Ok(hosts
        .into_iter()
        .map(|host| format!("{}{userinfo}{host}{path}{query}", &url[..scheme_end]))
        .collect())
}

/// Is the server behind `options` up and a primary (not in recovery)?
async fn is_primary(options: &PgConnectOptions) -> bool {
    let probe = async {
        let mut connection = options.connect().await?;
        let (in_recovery,): (bool,) = sqlx::query_as("SELECT pg_is_in_recovery()")
            .fetch_one(&mut connection)
            .await?;
        let _ = connection.close().await;
        Ok::<bool, sqlx::Error>(!in_recovery)
    };
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, probe).await,
        Ok(Ok(true))
    )
}

/// The hosts of one store and which of them it writes to.
pub struct Hosts {
    candidates: Vec<PgConnectOptions>,
    current: AtomicUsize,
    /// Microseconds since `epoch` when the pools last moved to another
    /// host: a connection older than that belongs to the old one.
    moved_at_us: AtomicU64,
    epoch: Instant,
    watch: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Hosts {
    /// Reads `url`'s hosts and finds the primary among them (the first
    /// host, when there is only one: it is not probed).
    pub async fn resolve(url: &str) -> Result<Arc<Hosts>, StoreError> {
        let candidates = split(url)?
            .iter()
            .map(|single| PgConnectOptions::from_str(single))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| StoreError::UnsupportedUrl)?;
        let mut current = 0;
        if candidates.len() > 1 {
            let mut found = None;
            for (index, options) in candidates.iter().enumerate() {
                if is_primary(options).await {
                    found = Some(index);
                    break;
                }
            }
            current = found.ok_or_else(|| {
                StoreError::Unavailable(sqlx::Error::Protocol(
                    "no host of the database URL is a reachable primary".into(),
                ))
            })?;
        }
        Ok(Arc::new(Hosts {
            candidates,
            current: AtomicUsize::new(current),
            moved_at_us: AtomicU64::new(0),
            epoch: Instant::now(),
            watch: Mutex::new(None),
        }))
    }

    /// The options of the host written to now.
    pub fn current(&self) -> PgConnectOptions {
        self.candidates[self.current.load(Ordering::Acquire)].clone()
    }

    pub fn is_multi_host(&self) -> bool {
        self.candidates.len() > 1
    }

    /// Was a connection of age `age` opened before the last move (so to
    /// a host that is no longer the primary)?
    pub fn is_stale(&self, age: Duration) -> bool {
        let moved = self.moved_at_us.load(Ordering::Acquire);
        if moved == 0 {
            return false;
        }
        let opened_at = self.epoch.elapsed().saturating_sub(age);
        (opened_at.as_micros() as u64) < moved
    }

    /// Starts the watch; `repoint` moves the pools to the given host's
    /// options. Only for several hosts.
    pub fn watch(self: &Arc<Self>, repoint: impl Fn(&PgConnectOptions) + Send + Sync + 'static) {
        if !self.is_multi_host() {
            return;
        }
        let hosts = Arc::clone(self);
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(WATCH_EVERY);
            loop {
                ticker.tick().await;
                if is_primary(&hosts.current()).await {
                    continue;
                }
                tracing::warn!(
                    "the database primary does not answer as one; looking for the new primary"
                );
                for (index, options) in hosts.candidates.iter().enumerate() {
                    if is_primary(options).await {
                        if index != hosts.current.load(Ordering::Acquire) {
                            repoint(options);
                            hosts.current.store(index, Ordering::Release);
                            let now = hosts.epoch.elapsed().as_micros() as u64;
                            hosts.moved_at_us.store(now.max(1), Ordering::Release);
                            tracing::warn!(
                                host = options.get_host(),
                                port = options.get_port(),
                                "writing to the new database primary"
                            );
                        }
                        break;
                    }
                }
            }
        });
        *self.watch.lock().expect("unpoisoned") = Some(task);
    }

    /// Stops the watch (the store is closing).
    pub fn stop(&self) {
        if let Some(task) = self.watch.lock().expect("unpoisoned").take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn a_multi_host_url_is_split_into_one_url_per_host() {
        assert_eq!(
            split("postgres://app:pw@db1:5432,db2:5433/ledger?target_session_attrs=read-write&sslmode=disable")
                .unwrap(),
            [
                "postgres://app:pw@db1:5432/ledger?sslmode=disable",
                "postgres://app:pw@db2:5433/ledger?sslmode=disable"
            ]
        );
        assert_eq!(
            split("postgres://root@localhost/postgres?host=/var/run/postgresql").unwrap(),
            ["postgres://root@localhost/postgres?host=/var/run/postgresql"]
        );
        assert!(split("postgres://db1,db2/x?target_session_attrs=any").is_err());
        assert!(split("postgres://db1,,db2/x").is_err());
    }
}
