//! Statements over many rows, cut into chunks below SQLite's 32,766 bind
//! parameters: multi-row INSERTs and `IN (…)` lookups. Preparing a
//! statement is cheap and local in SQLite, so a VALUES or IN list sized to
//! the batch is the simple choice here; Postgres binds arrays instead.

use sqlx::query_builder::Separated;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::map_err;
use crate::store::StoreError;

/// Inserts `rows`, `per_statement` at a time: `head` is the statement up
/// to `VALUES` (e.g. `INSERT INTO t (a, b) `), `bind` pushes one row's
/// values in column order.
pub async fn insert<'r, T>(
    conn: &mut SqliteConnection,
    head: &str,
    rows: &'r [T],
    per_statement: usize,
    mut bind: impl FnMut(Separated<'_, 'r, Sqlite, &'static str>, &'r T),
) -> Result<(), StoreError> {
    for chunk in rows.chunks(per_statement) {
        let mut builder = QueryBuilder::<Sqlite>::new(head);
        builder.push_values(chunk, &mut bind);
        builder.build().execute(&mut *conn).await.map_err(map_err)?;
    }
    Ok(())
}

/// The rows a query finds for `keys`, `per_statement` keys at a time:
/// `query` writes the statement around the key list, calling `list` where
/// the `(…)` of keys goes (once or more); each row is decoded by `decode`.
pub async fn select_in<'a, K, R, T>(
    conn: &mut SqliteConnection,
    keys: &'a [K],
    per_statement: usize,
    query: impl Fn(&mut QueryBuilder<'a, Sqlite>, &dyn Fn(&mut QueryBuilder<'a, Sqlite>)),
    decode: impl Fn(R) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError>
where
    K: Clone + Send + 'a + sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite>,
    R: for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
{
    let mut found = Vec::new();
    for chunk in keys.chunks(per_statement) {
        let list = |builder: &mut QueryBuilder<'a, Sqlite>| {
            builder.push_tuples(chunk, |mut row, key| {
                row.push_bind(key.clone());
            });
        };
        let mut builder = QueryBuilder::<Sqlite>::new("");
        query(&mut builder, &list);
        let rows: Vec<R> = builder
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
        for row in rows {
            found.push(decode(row)?);
        }
    }
    Ok(found)
}
