//! Test fixtures: a fresh database per test on each backend, raw SQL for
//! tampering, and the built binary for process-level tests.

use std::sync::Arc;
use std::time::Duration;
use voucher_ledger::service::commands::{FundProgramme, Journal};

use sqlx::{Connection, PgConnection, SqliteConnection};
use voucher_ledger::domain::{Fen, ProgrammeCode};
use voucher_ledger::ledger::account::{Account, AccountKind};
use voucher_ledger::ledger::checkpoint::KeyPair;
use voucher_ledger::ledger::posting::Posting;
use voucher_ledger::service::engine::{self, publish_ledger_key};
use voucher_ledger::service::{Command, Submission, WriterConfig, WriterHandle};
use voucher_ledger::store::Store;

/// The environment variable naming a Postgres server for the suite.
pub const POSTGRES_URL_ENV: &str = "VOUCHER_TEST_DATABASE_URL";

/// A database that exists only for one test.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        url: String,
        name: String,
    },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
        TestDb::Sqlite { _dir: dir, url }
    }

    /// A fresh database on the suite's Postgres server, or `None` when no
    /// server is configured. Under CI (`CI=true`) a missing or unreachable
    /// server fails the test instead of skipping it.
    pub async fn postgres() -> Option<TestDb> {
        let required = std::env::var("CI").is_ok_and(|v| v == "true");
        let Ok(admin_url) = std::env::var(POSTGRES_URL_ENV) else {
            assert!(
                !required,
                "CI=true but {POSTGRES_URL_ENV} is not set: the Postgres suite is required"
            );
            eprintln!("skipping the Postgres half: {POSTGRES_URL_ENV} is not set");
            return None;
        };
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("{POSTGRES_URL_ENV} is set but Postgres is unreachable: {e}")
        });
        let name = format!("vl_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let url = voucher_ledger::store::postgres::url_with_database(&admin_url, &name)
            .expect("database URL");
        Some(TestDb::Postgres {
            admin_url,
            url,
            name,
        })
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    /// Runs SQL with the append-only triggers and foreign keys disabled, as
    /// someone with direct database access could. `blob` binds to `$1`.
    pub async fn tamper(&self, statements: &[&str], blob: Option<Vec<u8>>) {
        match self {
            TestDb::Sqlite { url, .. } => {
                let mut conn = SqliteConnection::connect(url).await.expect("connect");
                let triggers: Vec<(String,)> =
                    sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                        .fetch_all(&mut conn)
                        .await
                        .unwrap();
                for (name,) in triggers {
                    sqlx::query(&format!("DROP TRIGGER {name}"))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                }
                run_all!(
                    conn,
                    ["PRAGMA foreign_keys = OFF"].iter().chain(statements),
                    &blob
                );
            }
            TestDb::Postgres { url, .. } => {
                let mut conn = PgConnection::connect(url).await.expect("connect");
                // Disables user triggers and foreign-key checks for this session.
                run_all!(
                    conn,
                    ["SET session_replication_role = replica"]
                        .iter()
                        .chain(statements),
                    &blob
                );
            }
        }
    }

    /// Re-seals every entry from `from` on (prev_hash and hash recomputed,
    /// the head moved to the new last hash), drops the checkpoints from
    /// `from` on and rebuilds the Merkle tree: what someone who rewrote
    /// entry `from` behind the writer would do so that the chain and the
    /// tree hold together again.
    pub async fn rehash_from<S: Store>(&self, store: &S, from: u64) {
        let head = store.head().await.unwrap().sequence;
        let mut entries = store
            .entries(1, u32::try_from(head).unwrap())
            .await
            .unwrap();
        let mut previous = voucher_ledger::ledger::entry::GENESIS_PREV_HASH;
        for entry in &mut entries {
            if entry.sequence >= from {
                entry.prev_hash = previous;
                entry.hash = entry.compute_hash();
                let sequence = entry.sequence;
                self.tamper(
                    &[&format!(
                        "UPDATE ledger_entries SET prev_hash = $1 WHERE sequence = {sequence}"
                    )],
                    Some(entry.prev_hash.to_vec()),
                )
                .await;
                self.tamper(
                    &[&format!(
                        "UPDATE ledger_entries SET hash = $1 WHERE sequence = {sequence}"
                    )],
                    Some(entry.hash.to_vec()),
                )
                .await;
            }
            previous = entry.hash;
        }
        self.tamper(
            &["UPDATE ledger_head SET hash = $1"],
            Some(previous.to_vec()),
        )
        .await;
        self.tamper(
            &[&format!(
                "DELETE FROM ledger_checkpoints WHERE sequence >= {from}"
            )],
            None,
        )
        .await;
        // The Merkle tree is in the same database: rebuilt over the new
        // hashes (as a ledger from before the tree is, at startup).
        self.tamper(
            &[
                "DELETE FROM merkle_nodes",
                "UPDATE ledger_head SET tree_size = 0, tree_frontier = $1",
            ],
            Some(Vec::new()),
        )
        .await;
        store.migrate().await.expect("the tree rebuilt");
    }

    /// Runs one statement as an ordinary session (triggers on) and returns
    /// the database's error text, if any.
    /// Time passes for voucher `id` behind the writer's back: its last
    /// valid day becomes yesterday (UTC+8), so the expiry sweep is due.
    pub async fn age_voucher_past_its_last_day(&self, id: impl std::fmt::Display) {
        let yesterday = voucher_ledger::domain::Timestamp::now()
            .cst_date()
            .pred_opt()
            .unwrap();
        self.try_execute(&format!(
            "UPDATE vouchers SET valid_from = '2026-01-01', valid_until = '{yesterday}' \
             WHERE id = '{id}'"
        ))
        .await
        .unwrap();
    }

    pub async fn try_execute(&self, sql: &str) -> Result<u64, String> {
        let result = match self {
            TestDb::Sqlite { url, .. } => {
                let mut conn = SqliteConnection::connect(url).await.expect("connect");
                sqlx::query(sql)
                    .execute(&mut conn)
                    .await
                    .map(|r| r.rows_affected())
            }
            TestDb::Postgres { url, .. } => {
                let mut conn = PgConnection::connect(url).await.expect("connect");
                sqlx::query(sql)
                    .execute(&mut conn)
                    .await
                    .map(|r| r.rows_affected())
            }
        };
        result.map_err(|e| e.to_string())
    }

    /// Runs `change` behind the ledger's back and expects `verify` of
    /// `store` to fail naming `expected`; then, unless `undo` is empty,
    /// runs `undo` and expects `verify` to pass again.
    pub async fn expect_verify_catches<S: Store>(
        &self,
        store: &S,
        change: &str,
        undo: &str,
        expected: &str,
    ) {
        use voucher_ledger::service::verify::verify_store;
        self.try_execute(change).await.unwrap();
        let error = verify_store(store, &[]).await.unwrap_err().to_string();
        assert!(error.contains(expected), "{change}: {error}");
        if !undo.is_empty() {
            self.try_execute(undo).await.unwrap();
            verify_store(store, &[]).await.unwrap();
        }
    }
}

/// Executes each statement on `conn`, binding `blob` (if any) to `$1`;
/// panics with the statement on failure. A macro because the connection
/// types of the two backends share no object-safe trait.
macro_rules! run_all {
    ($conn:ident, $statements:expr, $blob:expr) => {
        for sql in $statements {
            let mut query = sqlx::query(sql);
            if let Some(blob) = $blob {
                query = query.bind(blob.clone());
            }
            query
                .execute(&mut $conn)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    };
}
use run_all;

/// `target/test-artefacts/<kind>/<backend>/`, emptied: where a test keeps
/// what a person should be able to look at afterwards (screenshots, PDFs).
pub fn artefacts(db: &TestDb, kind: &str) -> std::path::PathBuf {
    let backend = if db.url().starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-artefacts")
        .join(kind)
        .join(backend);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            let admin_url = admin_url.clone();
            let name = name.clone();
            // Best effort, on a thread of its own: Drop cannot be async.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async {
                        if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .execute(&mut admin)
                            .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// Runs a generic contract test on SQLite, and on Postgres when configured.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::helpers::TestDb::sqlite();
                    let store = voucher_ledger::store::SqliteStore::connect(db.url()).await.expect("connect");
                    voucher_ledger::store::Store::migrate(&store).await.expect("migrate");
                    super::$name(store, &db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::helpers::TestDb::postgres().await else { return };
                    let store = voucher_ledger::store::PostgresStore::connect(db.url()).await.expect("connect");
                    voucher_ledger::store::Store::migrate(&store).await.expect("migrate");
                    super::$name(store, &db).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

/// A writer over `store` with a fresh, published signing key.
pub async fn start_writer<S: Store>(
    store: &S,
    mut config: WriterConfig,
) -> (WriterHandle, tokio::task::JoinHandle<()>) {
    // Personal fields are sealed under a master key of the test's own.
    config
        .personal_key
        .get_or_insert_with(|| Arc::new(voucher_ledger::personal::sealed::MasterKey::generate()));
    let signer = Arc::new(KeyPair::generate());
    publish_ledger_key(store, &signer)
        .await
        .expect("publish key");
    engine::spawn(store.clone(), signer, config)
}

pub fn programme(code: &str) -> ProgrammeCode {
    ProgrammeCode::parse(code).expect("valid programme code")
}

pub fn account(kind: AccountKind, code: &str) -> Account {
    Account::programme(kind, &programme(code)).expect("programme-level account")
}

pub fn fund(code: &str, amount_fen: i64, key: &str) -> Submission {
    Submission {
        actor: "test:admin".into(),
        idempotency_key: key.into(),
        command: Command::FundProgramme(FundProgramme {
            programme: programme(code),
            amount: Fen::new(amount_fen),
            reference: "测试拨款".into(),
        }),
    }
}

/// Moves `amount_fen` from one programme-level account to another.
pub fn transfer(
    code: &str,
    from: AccountKind,
    to: AccountKind,
    amount_fen: i64,
    key: &str,
) -> Submission {
    Submission {
        actor: "test:ops".into(),
        idempotency_key: key.into(),
        command: Command::Journal(Journal {
            memo: "test transfer".into(),
            postings: vec![
                Posting::debit(account(to, code), Fen::new(amount_fen)),
                Posting::credit(account(from, code), Fen::new(amount_fen)),
            ],
        }),
    }
}

/// The projected balance of one account (0 if it has no row).
pub async fn balance<S: Store>(store: &S, account: &Account) -> i64 {
    let name = account.to_string();
    store
        .balances()
        .await
        .expect("balances")
        .into_iter()
        .find(|b| b.account == name)
        .map_or(0, |b| b.balance_fen)
}

/// Bound for waiting on a child process's output.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

/// A voucher's claims as issuance would sign them, under `key`: 5,000 元 of
/// ZS2026-01 for 91330902MA00000153, 2026-03-01 to 2026-08-31, 管理咨询 and
/// 检验检测.
pub fn sample_voucher_claims(
    key: &ed25519_dalek::SigningKey,
) -> voucher_ledger::token::voucher::VoucherClaims {
    voucher_ledger::token::voucher::VoucherClaims {
        voucher_id: uuid::Uuid::now_v7(),
        programme_code: "ZS2026-01".into(),
        enterprise_uscc: "91330902MA00000153".into(),
        face_value: Fen::new(500_000),
        valid_from: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        valid_until: chrono::NaiveDate::from_ymd_opt(2026, 8, 31).unwrap(),
        service_categories: vec!["管理咨询".into(), "检验检测".into()],
        issued_sequence: 42,
        key_id: voucher_ledger::ledger::checkpoint::key_id_for(&key.verifying_key()),
    }
}

/// Every voucher of `ids` (UUID text) is in `store`; `why` says why it
/// must be.
pub async fn assert_vouchers_present<S: Store>(store: &S, ids: &[String], why: &str) {
    for id in ids {
        let id = uuid::Uuid::parse_str(id).unwrap();
        assert!(
            store.voucher(id).await.unwrap().is_some(),
            "voucher {id}: {why}"
        );
    }
}
