//! Prometheus metrics (docs/operations.md, "Metrics"): every metric's name
//! and help in one place, the process's recorder, and the text the
//! scrape endpoint answers.
//!
//! Where things happen, code counts with the `metrics` crate's macros and
//! these names (`metrics::counter!(metrics::CLAIMS).increment(1)`); without
//! an installed recorder (one-shot commands, in-process tests) the macros
//! do nothing. `serve` and `demo` install the Prometheus recorder once,
//! before the service starts; `/metrics` renders it after setting the
//! gauges that are read at scrape time (the chain head, the newest
//! checkpoint's age, the pools).
//!
//! Label values are bounded sets: route templates (never raw paths),
//! methods, status codes, the refusal codes of the API, command and sweep
//! names.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "voucher_ledger_http_requests_total";
pub const HTTP_DURATION: &str = "voucher_ledger_http_request_duration_seconds";
pub const HTTP_IN_FLIGHT: &str = "voucher_ledger_http_requests_in_flight";
pub const REFUSALS: &str = "voucher_ledger_refusals_total";
pub const CLAIMS: &str = "voucher_ledger_claims_total";
pub const REDEMPTIONS: &str = "voucher_ledger_redemptions_total";
pub const COMMANDS: &str = "voucher_ledger_commands_total";
pub const REPLAYS: &str = "voucher_ledger_command_replays_total";
pub const BATCH_COMMANDS: &str = "voucher_ledger_writer_batch_commands";
pub const BATCH_DURATION: &str = "voucher_ledger_writer_batch_duration_seconds";
pub const BATCH_FAILURES: &str = "voucher_ledger_writer_batch_failures_total";
pub const WRITER_QUEUE: &str = "voucher_ledger_writer_queue_depth";
pub const HEAD_SEQUENCE: &str = "voucher_ledger_ledger_head_sequence";
pub const CHECKPOINT_AGE: &str = "voucher_ledger_checkpoint_age_seconds";
pub const IDEMPOTENCY_KEYS: &str = "voucher_ledger_idempotency_keys";
pub const IDEMPOTENCY_QUEUE: &str = "voucher_ledger_idempotency_queue_depth";
pub const POOL_CONNECTIONS: &str = "voucher_ledger_db_pool_connections";
pub const POOL_MAX: &str = "voucher_ledger_db_pool_max_connections";
pub const POOL_ACQUIRE: &str = "voucher_ledger_db_pool_acquire_seconds";
pub const SWEEPS: &str = "voucher_ledger_sweeps_total";
pub const SWEPT: &str = "voucher_ledger_swept_items_total";
pub const BUILD_INFO: &str = "voucher_ledger_build_info";

/// Request latencies: 1 ms to 30 s (the request timeout).
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Commands per writer batch: 1 to the batch limit (512).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls
/// return the same handle) and describes every metric.
pub fn install() -> &'static PrometheusHandle {
    RECORDER.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|builder| {
                builder.set_buckets_for_metric(Matcher::Full(BATCH_COMMANDS.into()), BATCH_BUCKETS)
            })
            .expect("the bucket lists are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed in this process");
        describe();
        handle
    })
}

/// The installed recorder, if this process serves metrics.
pub fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER.get()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by route template and method"
    );
    describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being answered now");
    describe_counter!(
        REFUSALS,
        "Error answers of the API, by stable error code and HTTP status"
    );
    describe_counter!(
        CLAIMS,
        "Vouchers claimed by enterprises (committed, not replays)"
    );
    describe_counter!(REDEMPTIONS, "Redemptions recorded (committed, not replays)");
    describe_counter!(COMMANDS, "Commands committed to the ledger, by command");
    describe_counter!(
        REPLAYS,
        "Commands answered from an earlier entry with the same idempotency key"
    );
    describe_histogram!(BATCH_COMMANDS, "Commands in one writer transaction");
    describe_histogram!(
        BATCH_DURATION,
        Unit::Seconds,
        "Time of one writer batch, from its first transaction to its answers"
    );
    describe_counter!(
        BATCH_FAILURES,
        "Writer transactions that failed (split to isolate a command, or the database unavailable)"
    );
    describe_gauge!(WRITER_QUEUE, "Commands waiting for the ledger writer");
    describe_gauge!(HEAD_SEQUENCE, "Sequence number of the newest ledger entry");
    describe_gauge!(
        CHECKPOINT_AGE,
        Unit::Seconds,
        "Age of the newest signed checkpoint (0 before the first)"
    );
    describe_gauge!(
        IDEMPOTENCY_KEYS,
        "Idempotency-Key responses stored (kept for the retention period)"
    );
    describe_gauge!(
        IDEMPOTENCY_QUEUE,
        "Idempotency cache writes waiting for their batch"
    );
    describe_gauge!(
        POOL_CONNECTIONS,
        "Connections of the main database pool, by state (idle, in_use)"
    );
    describe_gauge!(POOL_MAX, "Most connections the main database pool opens");
    describe_gauge!(
        POOL_ACQUIRE,
        Unit::Seconds,
        "Time the scrape waited for a connection of the main pool: above zero when requests queue for one"
    );
    describe_counter!(SWEEPS, "Scheduled sweeps run, by sweep and outcome");
    describe_counter!(
        SWEPT,
        "Vouchers expired and redemptions confirmed by scheduled sweeps, by sweep"
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1: the version and database backend as labels"
    );
}

/// The gauges read when scraped.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub backend: &'static str,
    pub head_sequence: u64,
    pub checkpoint_age_seconds: f64,
    pub writer_queue: usize,
    pub idempotency_keys: u64,
    pub idempotency_queue: usize,
    pub pool_size: u32,
    pub pool_idle: u32,
    pub pool_max: u32,
    pub pool_acquire_seconds: f64,
}

/// Sets the scrape-time gauges from `snapshot` and renders every metric
/// in the Prometheus text format (0.0.4); `None` without a recorder.
pub fn render(snapshot: &Snapshot) -> Option<String> {
    let recorder = recorder()?;
    let gauge = |name: &'static str, value: f64| metrics::gauge!(name).set(value);
    gauge(HEAD_SEQUENCE, snapshot.head_sequence as f64);
    gauge(CHECKPOINT_AGE, snapshot.checkpoint_age_seconds);
    gauge(WRITER_QUEUE, snapshot.writer_queue as f64);
    gauge(IDEMPOTENCY_KEYS, snapshot.idempotency_keys as f64);
    gauge(IDEMPOTENCY_QUEUE, snapshot.idempotency_queue as f64);
    let in_use = snapshot.pool_size.saturating_sub(snapshot.pool_idle);
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(f64::from(snapshot.pool_idle));
    metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(f64::from(in_use));
    gauge(POOL_MAX, f64::from(snapshot.pool_max));
    gauge(POOL_ACQUIRE, snapshot.pool_acquire_seconds);
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "backend" => snapshot.backend)
        .set(1.0);
    recorder.run_upkeep();
    Some(recorder.render())
}

/// Keeps the recorder's histogram buffers bounded when nobody scrapes:
/// upkeep every few seconds for the life of the process.
pub fn spawn_upkeep() -> Option<tokio::task::JoinHandle<()>> {
    let recorder = recorder()?;
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            ticker.tick().await;
            recorder.run_upkeep();
        }
    }))
}
