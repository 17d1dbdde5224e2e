//! The `voucher-ledger` command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::{DEFAULT_DATABASE_URL, DEFAULT_KEY_FILE, DEFAULT_LISTEN};

mod backup;
mod bench;
mod checkpoint;
mod config;
pub mod demo;
mod drill;
mod export;
mod import;
mod issue;
mod keys;
mod logging;
mod machine_cpu;
mod progress;
mod qr;
mod receipt;
mod report;
mod serve;
mod settle;
mod sweep;
mod token;
mod user;
mod verify;
mod witness;

#[derive(Debug, Parser)]
#[command(
    name = "voucher-ledger",
    version,
    about = "服务补贴券 — service-voucher programme on a verifiable ledger"
)]
pub struct Cli {
    /// More log lines on stderr: -v info, -vv debug (one-shot commands
    /// log only warnings by default; VOUCHER_LOG overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log lines as text (default) or JSON objects, one per line (with the
    /// request id of the request they belong to).
    #[arg(long, global = true, env = "VOUCHER_LOG_FORMAT", value_enum, default_value_t = logging::LogFormat::Text)]
    log_format: logging::LogFormat,
    /// A TOML file of settings (keys: the settings' long names); a flag
    /// or environment variable overrides it (docs/operations.md
    /// "Configuration").
    #[arg(long, global = true, env = "VOUCHER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Commands,
}

/// Options shared by every command that opens the database.
#[derive(Debug, clap::Args)]
pub struct DatabaseArgs {
    /// sqlite://PATH (embedded, created if missing) or postgres://…
    #[arg(long, env = "VOUCHER_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

/// Where the ledger signing key lives.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// File holding the ledger's Ed25519 seed (hex, mode 0600); created if
    /// missing. VOUCHER_LEDGER_KEY (hex) overrides it.
    #[arg(long, env = "VOUCHER_LEDGER_KEY_FILE", default_value = DEFAULT_KEY_FILE)]
    pub key_file: PathBuf,
}

/// Where the voucher issuer private keys live.
#[derive(Debug, clap::Args)]
pub struct IssuerKeyArgs {
    /// Directory of issuer private keys (`<key id>.key`, mode 0600), as
    /// `keys rotate` writes them; the active key signs vouchers.
    /// VOUCHER_ISSUER_KEY (hex seed) adds one from the environment.
    #[arg(long = "issuer-key-dir", env = "VOUCHER_ISSUER_KEY_DIR", default_value = keys::DEFAULT_ISSUER_KEY_DIR)]
    pub dir: PathBuf,
}

impl IssuerKeyArgs {
    pub fn keyring(
        &self,
    ) -> anyhow::Result<std::sync::Arc<crate::service::issuer_keyring::IssuerKeyring>> {
        Ok(std::sync::Arc::new(
            crate::service::issuer_keyring::IssuerKeyring::from_dir_and_env(self.dir.clone())?,
        ))
    }
}

/// What a CLI command that records entries and may sign vouchers needs:
/// the database, the ledger key and the issuer keys.
#[derive(Debug, clap::Args)]
pub struct WriterArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub ledger_key: KeyArgs,
    #[command(flatten)]
    pub issuer_keys: IssuerKeyArgs,
}

impl WriterArgs {
    /// The ledger key (created on first use) and the issuer keyring.
    pub fn keys(&self) -> anyhow::Result<WriterKeys> {
        let (ledger, _) = crate::keyfile::load_or_create(&self.ledger_key.key_file)?;
        let (personal_key, _) = crate::personal::master_key::load_or_create(
            &crate::personal::master_key::beside(&self.ledger_key.key_file),
        )?;
        Ok(WriterKeys {
            ledger: std::sync::Arc::new(ledger),
            issuer_keys: self.issuer_keys.keyring()?,
            personal_key: std::sync::Arc::new(personal_key),
        })
    }
}

/// How long the phone's rotating QR lives.
#[derive(Debug, Clone, Copy, clap::Args)]
struct PresentationArgs {
    /// Seconds a rotating presentation (the QR an enterprise shows) stays
    /// valid: shorter is harder to pass on as a screenshot, longer gives a
    /// slow scanner more time (a clerk's hold covers the typing).
    #[arg(long, env = "VOUCHER_PRESENTATION_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(i64).range(10..=120))]
    presentation_seconds: i64,
}

/// What operators run a long-lived process by.
#[derive(Debug, Clone, clap::Args)]
pub struct OpsArgs {
    /// A second address serving /metrics, /healthz and /readyz without
    /// login, for the monitoring network only (e.g. 127.0.0.1:9100).
    #[arg(long, env = "VOUCHER_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// Seconds between SIGTERM and closing the listener: /readyz answers
    /// 503 meanwhile, so a proxy stops sending new requests, and requests
    /// keep being served.
    #[arg(long, env = "VOUCHER_DRAIN_SECONDS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=300))]
    pub drain_seconds: u64,
}

/// The transparency log's name.
#[derive(Debug, Clone, clap::Args)]
struct LogArgs {
    /// The transparency log's origin: the first line of its checkpoints
    /// and the name of its key at /log/vkey (no spaces or '+'), e.g.
    /// voucher-ledger.example.gov.cn/zhoushan.
    #[arg(long, env = "VOUCHER_LOG_ORIGIN",
          default_value = crate::service::transparency::DEFAULT_LOG_ORIGIN,
          value_parser = parse_log_origin)]
    log_origin: String,
    /// A witness to send every tree checkpoint to: "<url> <its verifier
    /// key>" (what `witness serve` prints). Repeatable.
    #[arg(long = "witness", env = "VOUCHER_WITNESSES", value_delimiter = ',', value_parser = parse_witness)]
    witnesses: Vec<crate::service::witness_push::WitnessTarget>,
    /// Seconds between checkpoints while the chain moves (a checkpoint is
    /// also signed every 1,000 entries). A receipt can be had once a
    /// checkpoint covers its entry, so shorter means sooner receipts.
    #[arg(long, env = "VOUCHER_CHECKPOINT_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    checkpoint_seconds: u64,
}

fn parse_witness(text: &str) -> Result<crate::service::witness_push::WitnessTarget, String> {
    crate::service::witness_push::WitnessTarget::parse(text)
}

fn parse_log_origin(text: &str) -> Result<String, String> {
    crate::ledger::note::check_name(text)
        .map(|()| text.to_string())
        .map_err(|e| e.to_string())
}

/// The keys a CLI command's ledger writer signs with.
pub struct WriterKeys {
    pub ledger: std::sync::Arc<crate::ledger::checkpoint::KeyPair>,
    pub issuer_keys: std::sync::Arc<crate::service::issuer_keyring::IssuerKeyring>,
    /// The personal data master key beside the ledger key (created there
    /// on first use, as `serve` would).
    pub personal_key: std::sync::Arc<crate::personal::sealed::MasterKey>,
}

impl WriterKeys {
    /// Publishes the ledger key and starts a writer on `store`.
    pub async fn start_writer<S: crate::store::Store>(
        &self,
        store: &S,
    ) -> anyhow::Result<(crate::service::WriterHandle, tokio::task::JoinHandle<()>)> {
        start_writer_with(
            store,
            self.ledger.clone(),
            self.issuer_keys.clone(),
            Some(self.personal_key.clone()),
        )
        .await
    }
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run the HTTP service.
    Serve {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        issuer_keys: IssuerKeyArgs,
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, env = "VOUCHER_LISTEN", default_value = DEFAULT_LISTEN)]
        listen: String,
        /// Mark the session cookie Secure (set this when served over HTTPS).
        #[arg(long, env = "VOUCHER_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Hours an Idempotency-Key's stored response is kept.
        #[arg(long, env = "VOUCHER_IDEMPOTENCY_RETENTION_HOURS", default_value_t = 24,
              value_parser = clap::value_parser!(u64).range(1..=24 * 90))]
        idempotency_retention_hours: u64,
        #[command(flatten)]
        presentation: PresentationArgs,
        #[command(flatten)]
        log: LogArgs,
        #[command(flatten)]
        ops: OpsArgs,
    },
    /// Create (idempotently) a realistic Zhoushan demo dataset, print the
    /// demo users' passwords once, and serve.
    Demo {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        issuer_keys: IssuerKeyArgs,
        #[arg(long, env = "VOUCHER_LISTEN", default_value = DEFAULT_LISTEN)]
        listen: String,
        #[command(flatten)]
        presentation: PresentationArgs,
        #[command(flatten)]
        log: LogArgs,
        #[command(flatten)]
        ops: OpsArgs,
    },
    /// Copy an embedded (SQLite) database while it serves — a consistent
    /// snapshot — to a new file, and verify the copy.
    Backup {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The new backup file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup in place of an embedded database, if it verifies.
    Restore {
        /// The backup file.
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Replace an existing database (stop the service first).
        #[arg(long)]
        replace: bool,
        /// The erasure list beside the personal data master key, beside
        /// this key file, is applied to the restored copy.
        #[command(flatten)]
        key: KeyArgs,
    },
    /// The configuration: `config check` prints the settings `serve` would
    /// run with and where each came from (flag, environment, file,
    /// default), secrets redacted; an unknown key in the file is refused.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Recompute every hash, balance, checkpoint signature and projection.
    /// Exits 0 when all hold; otherwise non-zero, naming the first bad
    /// sequence number.
    Verify {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Verify checkpoints with this public key (hex) instead of the keys
        /// published in the database. Repeatable.
        #[arg(long = "trusted-key")]
        trusted_keys: Vec<String>,
        /// Require this witness (its verifier key, as `witness serve`
        /// prints it): every stored cosignature by it must verify and it
        /// must have cosigned the newest tree checkpoint. Repeatable.
        #[arg(long = "witness-key")]
        witness_keys: Vec<String>,
    },
    /// Sign a checkpoint of the current chain head now, and one of the
    /// Merkle tree for the transparency log (printed as its signed note).
    Checkpoint {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        log: LogArgs,
    },
    /// Users: `user create --role admin --username NAME` bootstraps the first admin.
    User {
        #[command(subcommand)]
        command: user::UserAction,
    },
    /// Export a registry as CSV or XLSX (header row; enterprises re-import unchanged).
    Export(export::ExportArgs),
    /// Voucher issuer keys: rotate, revoke, list.
    Keys {
        #[command(subcommand)]
        command: keys::KeysAction,
    },
    /// Issue vouchers as the bureau: `--enterprise USCC` prints the token;
    /// `--list FILE.csv` issues to a list with a result line per enterprise.
    Issue(issue::IssueArgs),
    /// Draw a voucher token as a QR image: `qr TOKEN --png FILE` / `--svg FILE`.
    Qr(qr::QrArgs),
    /// Voucher tokens: `token verify TOKEN` (exit 0 only for a valid voucher).
    Token {
        #[command(subcommand)]
        command: token::TokenAction,
    },
    /// Bulk imports into the registries.
    Import {
        #[command(subcommand)]
        what: import::ImportAction,
    },
    /// Benchmarks (not tests): throughput against a same-run baseline.
    Bench {
        #[command(subcommand)]
        which: bench::BenchAction,
    },
    /// Durability drill on a scratch database: appends synthetic journal
    /// entries and prints each acknowledged one. For kill -9 and
    /// multi-process drills; never point it at a production ledger.
    Drill(drill::DrillArgs),
    /// Receipts of the transparency log: `receipt verify FILE --log-key K`.
    Receipt {
        #[command(subcommand)]
        command: receipt::ReceiptAction,
    },
    /// A witness of transparency logs (C2SP tlog-witness), for outside
    /// bodies: cosigns checkpoints consistent with the last it cosigned.
    Witness {
        #[command(subcommand)]
        command: witness::WitnessAction,
    },
    /// Run a sweep now: expire vouchers past their dates, auto-confirm
    /// stale redemptions (serve runs both hourly).
    Sweep(sweep::SweepArgs),
    /// Settlement: prepare, show, resolve, approve, payment-file, bank-return.
    Settle {
        #[command(subcommand)]
        command: settle::SettleAction,
    },
    /// Reports: a run's 兑付表, a provider's statement, utilisation.
    Report {
        #[command(subcommand)]
        command: report::ReportAction,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Print the effective settings of `serve`, secrets redacted.
    Check,
}

/// Parses the command line and runs it; returns the process exit code.
pub async fn run() -> anyhow::Result<std::process::ExitCode> {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let file = config::read(&args)?;
    let command = config::command(Cli::command(), &file)?;
    let matches = command
        .clone()
        .try_get_matches_from(&args)
        .unwrap_or_else(|error| error.exit());
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let check_config = || {
        let serve_matches = command
            .clone()
            .try_get_matches_from(["voucher-ledger", "serve"])
            .unwrap_or_else(|error| error.exit());
        let serve = command
            .find_subcommand("serve")
            .expect("serve is a subcommand");
        let serve_sub = serve_matches
            .subcommand_matches("serve")
            .expect("serve was parsed");
        print!(
            "{}",
            config::describe(&[(&command, &serve_matches), (serve, serve_sub)], &file)
        );
        Ok(std::process::ExitCode::SUCCESS)
    };
    let long_running = matches!(
        cli.command,
        Commands::Serve { .. } | Commands::Demo { .. } | Commands::Witness { .. }
    );
    logging::init(long_running, cli.verbose, cli.log_format);
    match cli.command {
        Commands::Serve {
            database,
            key,
            issuer_keys,
            listen,
            secure_cookies,
            idempotency_retention_hours,
            presentation,
            log,
            ops,
        } => {
            let api = crate::http::ApiConfig {
                secure_cookies,
                idempotency_retention: std::time::Duration::from_secs(
                    idempotency_retention_hours * 3600,
                ),
                issuer_keys: issuer_keys.keyring()?,
                presentation_seconds: presentation.presentation_seconds,
                log_origin: log.log_origin,
                log_key: None,
                witnesses: log.witnesses,
                checkpoint_interval: std::time::Duration::from_secs(log.checkpoint_seconds),
                // Loaded by `serve::run`, beside the ledger key.
                personal_key: None,
                erasures: None,
            };
            serve::run(&database.database_url, &key.key_file, &listen, api, ops).await
        }
        Commands::Demo {
            database,
            key,
            issuer_keys,
            listen,
            presentation,
            log,
            ops,
        } => {
            let api = crate::http::ApiConfig {
                issuer_keys: issuer_keys.keyring()?,
                presentation_seconds: presentation.presentation_seconds,
                log_origin: log.log_origin,
                witnesses: log.witnesses,
                checkpoint_interval: std::time::Duration::from_secs(log.checkpoint_seconds),
                ..crate::http::ApiConfig::default()
            };
            demo::run(
                &database.database_url,
                &key.key_file,
                &issuer_keys.dir,
                &listen,
                api,
                ops,
            )
            .await
        }
        Commands::Migrate { database } => {
            let applied = crate::app::with_store(&database.database_url, MigrateOnly).await?;
            println!("migrations up to date (applied now: {applied:?})");
            Ok(std::process::ExitCode::SUCCESS)
        }
        Commands::Config {
            action: ConfigAction::Check,
        } => check_config(),
        Commands::Backup { database, out } => backup::backup(&database.database_url, &out).await,
        Commands::Restore {
            file,
            database,
            replace,
            key,
        } => {
            let erasures = crate::personal::erasure_list::ErasureList::beside(
                &crate::personal::master_key::beside(&key.key_file),
            );
            backup::restore(&file, &database.database_url, replace, &erasures).await
        }
        Commands::Verify {
            database,
            trusted_keys,
            witness_keys,
        } => verify::run(&database.database_url, &trusted_keys, &witness_keys).await,
        Commands::Checkpoint { database, key, log } => {
            checkpoint::run(
                &database.database_url,
                &key.key_file,
                log.log_origin,
                log.witnesses,
            )
            .await
        }
        Commands::User { command } => user::run(command).await,
        Commands::Import { what } => import::run(what).await,
        Commands::Export(args) => export::run(args).await,
        Commands::Keys { command } => keys::run(command).await,
        Commands::Issue(args) => issue::run(args).await,
        Commands::Qr(args) => qr::run(args),
        Commands::Token { command } => token::run(command).await,
        Commands::Bench { which } => bench::run(which).await,
        Commands::Drill(args) => drill::run(args).await,
        Commands::Witness { command } => witness::run(command).await,
        Commands::Receipt { command } => receipt::run(command),
        Commands::Sweep(args) => sweep::run(args).await,
        Commands::Settle { command } => settle::run(command).await,
        Commands::Report { command } => report::run(command).await,
    }
}

/// Starts a writer for a CLI command that records entries: publishes the
/// ledger key, and gives the writer the issuer keys.
pub async fn start_writer<S: crate::store::Store>(
    store: &S,
    ledger: std::sync::Arc<crate::ledger::checkpoint::KeyPair>,
    issuer_keys: std::sync::Arc<crate::service::issuer_keyring::IssuerKeyring>,
) -> anyhow::Result<(crate::service::WriterHandle, tokio::task::JoinHandle<()>)> {
    start_writer_with(store, ledger, issuer_keys, None).await
}

/// `start_writer`, with the personal data master key for commands that
/// record personal fields (imports of enterprises).
pub async fn start_writer_with<S: crate::store::Store>(
    store: &S,
    ledger: std::sync::Arc<crate::ledger::checkpoint::KeyPair>,
    issuer_keys: std::sync::Arc<crate::service::issuer_keyring::IssuerKeyring>,
    personal_key: Option<std::sync::Arc<crate::personal::sealed::MasterKey>>,
) -> anyhow::Result<(crate::service::WriterHandle, tokio::task::JoinHandle<()>)> {
    crate::service::engine::publish_ledger_key(store, &ledger).await?;
    let config = crate::service::WriterConfig {
        issuer_keys,
        personal_key,
        ..crate::service::WriterConfig::default()
    };
    Ok(crate::service::engine::spawn(store.clone(), ledger, config))
}

/// Who a CLI command acts as in the ledger: `cli:<OS user>`.
pub fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// `with_store` already migrates; this job only reports the versions.
struct MigrateOnly;

impl crate::app::StoreJob for MigrateOnly {
    type Output = Vec<u32>;
    async fn run<S: crate::store::Store>(self, _store: S) -> Vec<u32> {
        Vec::new()
    }
}
