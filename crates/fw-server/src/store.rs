//! The embedded database: SQLite in WAL mode in the data directory. Containers are stored
//! as their wire JSON plus the columns that finders and permission checks look up.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::error::ApiError;
use crate::json::{damaged, decode_stored_object, encode_stored, stored_list};
use crate::kind::Kind;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    secret TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    parent_id TEXT,
    group_id TEXT NOT NULL,
    project_id TEXT,
    label TEXT,
    doc TEXT NOT NULL
);
-- Earlier versions of files; current versions live in their container's `files`.
CREATE TABLE IF NOT EXISTS file_versions (
    file_id TEXT NOT NULL, version INTEGER NOT NULL, container_id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (file_id, version)
);
-- Which container holds each file (by its stable file_id).
CREATE TABLE IF NOT EXISTS file_index (file_id TEXT PRIMARY KEY, container_id TEXT NOT NULL);
-- Signed-URL uploads in progress: the ticket, and the bytes received so far (in tmp/).
CREATE TABLE IF NOT EXISTS upload_tickets (
    ticket TEXT PRIMARY KEY, container_id TEXT NOT NULL, user_id TEXT NOT NULL,
    metadata TEXT NOT NULL, filenames TEXT NOT NULL, created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ticket_uploads (
    ticket TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,
    hash TEXT NOT NULL, PRIMARY KEY (ticket, name)
);
CREATE TABLE IF NOT EXISTS download_tickets (
    ticket TEXT PRIMARY KEY, container_id TEXT NOT NULL, name TEXT NOT NULL,
    version INTEGER, expires INTEGER NOT NULL
);
-- Bulk downloads: a ticket, and the archive members planned for it, in order.
CREATE TABLE IF NOT EXISTS bulk_downloads (
    ticket TEXT PRIMARY KEY, filename TEXT NOT NULL, expires INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bulk_members (
    ticket TEXT NOT NULL, seq INTEGER NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL,
    size INTEGER NOT NULL, modified INTEGER NOT NULL, PRIMARY KEY (ticket, seq)
) WITHOUT ROWID;
-- Custom roles (the three default roles are built in).
CREATE TABLE IF NOT EXISTS roles (id TEXT PRIMARY KEY, label TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
-- Finders: children of a parent, optionally by label (`project=<id>,label=x`).
CREATE INDEX IF NOT EXISTS containers_by_parent ON containers(parent_id, kind, label, id);
-- Finders over a whole project (sessions of a project, acquisitions of a project).
CREATE INDEX IF NOT EXISTS containers_by_project ON containers(project_id, kind, id);
-- Top-level finders (`fw.subjects.find(...)`), paged by id.
CREATE INDEX IF NOT EXISTS containers_by_kind ON containers(kind, id);
";

/// The database, shared by all requests: the one place SQL connections live.
///
/// SQLite in WAL mode lets any number of readers run beside one writer, each reader on a
/// snapshot of the last commit. So writes ([`Store::write`]) go through one connection
/// behind a mutex (SQLite would serialize them anyway), and reads ([`Store::run`]) take a
/// connection from a small pool, opened `query_only` so that a write sent down the read
/// path fails loudly instead of racing the writer. Work runs on tokio's blocking pool.
///
/// Reads take one of two lanes ([`Lane`]): a scan ([`Store::scan`]: a finder, a search, a
/// file list) holds its connection for as long as a whole collection takes to read (60 ms
/// for 10,000 subjects on an idle machine, many times that under load), so scans may hold
/// only half the connections ([`max_scans`]); a point read ([`Store::run`]: a get by id,
/// the key check of every request) may take any. So a point read never waits behind
/// scans, only behind other point reads (issue 16: a GET by id's p99 was a scan's
/// duration).
#[derive(Clone)]
pub(crate) struct Store {
    path: Arc<PathBuf>,
    writer: Arc<Mutex<Connection>>,
    /// Writes waiting for the next group commit ([`Store::write`]).
    queue: Arc<Mutex<Vec<QueuedWork>>>,
    readers: Arc<ReadPool>,
}

/// Read connections, opened when first needed, at most `max`.
struct ReadPool {
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Connection>,
    open: usize,
    max: usize,
    /// Connections held by scans.
    scans: usize,
}

impl PoolState {
    /// Whether a read on `lane` may take a connection now (one is idle or may be opened).
    fn admits(&self, lane: Lane) -> bool {
        let free = !self.idle.is_empty() || self.open < self.max;
        free && (lane == Lane::Point || self.scans < max_scans(self.max))
    }
}

/// How many of `max` read connections scans may hold: half (at least one). Every request
/// makes a point read (its key), so point reads need more than one connection under load;
/// and scans are CPU-bound, so more of them at once than there are cores only slows each.
fn max_scans(max: usize) -> usize {
    (max / 2).max(1)
}

/// The two kinds of read (see [`Store`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// A read of a few rows: may take any connection.
    Point,
    /// A read that may walk a whole collection: may take half the connections.
    Scan,
}

/// A read connection taken from the pool; it goes back on drop.
struct Reader<'a> {
    pool: &'a ReadPool,
    connection: Option<Connection>,
    lane: Lane,
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            if let Ok(mut state) = self.pool.state.lock() {
                state.idle.push(connection);
                if self.lane == Lane::Scan {
                    state.scans -= 1;
                }
            }
            // Waiters of both lanes wait on one condition; each checks its own rule.
            self.pool.returned.notify_all();
        }
    }
}

/// One stored container.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The `_id`.
    pub(crate) id: String,
    /// Its kind.
    pub(crate) kind: Kind,
    /// The direct parent's id.
    pub(crate) parent_id: Option<String>,
    /// The group the container belongs to.
    pub(crate) group_id: String,
    /// The project, for projects and everything below.
    pub(crate) project_id: Option<String>,
    /// The stored wire document.
    pub(crate) doc: Value,
}

impl Row {
    /// The row as messages name it: `subject 5f…`.
    pub(crate) fn what(&self) -> String {
        format!("{} {}", self.kind, self.id)
    }
}

impl Store {
    /// Opens (or creates) `fw.sqlite` in `data_dir`.
    pub(crate) fn open(data_dir: &Path) -> Result<Store, String> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let path = data_dir.join("fw.sqlite");
        let connection =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )
            .and_then(|()| connection.execute_batch(SCHEMA))
            .map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
        Ok(Store {
            path: Arc::new(path),
            writer: Arc::new(Mutex::new(connection)),
            queue: Arc::new(Mutex::new(Vec::new())),
            readers: Arc::new(ReadPool {
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                    max: DEFAULT_READERS,
                    scans: 0,
                }),
                returned: Condvar::new(),
            }),
        })
    }

    /// The same database with at most `n` read connections (at least 1).
    pub(crate) fn with_read_connections(self, n: usize) -> Store {
        if let Ok(mut state) = self.readers.state.lock() {
            state.max = n.max(1);
        }
        self
    }

    /// Runs `work` on a read connection, on the blocking pool, in one read transaction
    /// (one snapshot of the database, however many statements it runs): a point read,
    /// which never waits behind scans.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.read(Lane::Point, work).await
    }

    /// As [`Store::run`], for a read that may walk a whole collection (a finder, a
    /// search): it waits while scans hold half the connections.
    pub(crate) async fn scan<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.read(Lane::Scan, work).await
    }

    async fn read<T: Send + 'static>(
        &self,
        lane: Lane,
        work: impl FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(lane, work))
            .await
            .map_err(|e| ApiError::internal(format!("a database task failed: {e}")))?
    }

    /// Runs `work` on a read connection on this thread, which may block: a blocking
    /// thread that streams a reply reads its next page this way.
    pub(crate) fn run_blocking<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.read_blocking(Lane::Point, |c| work(c))
    }

    fn read_blocking<T>(
        &self,
        lane: Lane,
        work: impl FnOnce(&mut Connection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut reader = self.reader(lane)?;
        let connection = reader
            .connection
            .as_mut()
            .ok_or_else(|| ApiError::internal("a read connection went missing"))?;
        connection.execute_batch("BEGIN").map_err(db)?;
        let result = work(connection);
        // Nothing to keep: a read transaction only ends.
        connection.execute_batch("ROLLBACK").map_err(db)?;
        result
    }

    /// Takes a read connection for `lane`, opening one if fewer than the maximum are
    /// open, else waiting until the lane admits one.
    fn reader(&self, lane: Lane) -> Result<Reader<'_>, ApiError> {
        let pool = &*self.readers;
        let poisoned = |_| ApiError::internal("the read connection pool lock is poisoned");
        let mut state = pool.state.lock().map_err(poisoned)?;
        while !state.admits(lane) {
            state = pool.returned.wait(state).map_err(poisoned)?;
        }
        if lane == Lane::Scan {
            state.scans += 1;
        }
        let mut reader = Reader {
            pool,
            connection: None,
            lane,
        };
        if let Some(connection) = state.idle.pop() {
            reader.connection = Some(connection);
            return Ok(reader);
        }
        state.open += 1;
        drop(state);
        match open_reader(&self.path) {
            Ok(connection) => {
                reader.connection = Some(connection);
                Ok(reader)
            }
            Err(e) => {
                if let Ok(mut state) = pool.state.lock() {
                    state.open -= 1;
                    if lane == Lane::Scan {
                        state.scans -= 1;
                    }
                }
                pool.returned.notify_all();
                Err(ApiError::internal(e))
            }
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, ApiError> {
        self.writer
            .lock()
            .map_err(|_| ApiError::internal("the database lock is poisoned"))
    }

    /// Runs `work` in one transaction on this thread, which may block (the `fw-server user
    /// add` command, and `write` on the blocking pool).
    pub(crate) fn write_blocking<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction().map_err(db)?;
        let value = work(&tx)?;
        tx.commit().map_err(db)?;
        Ok(value)
    }

    /// Runs `work` atomically: all of it is written, or none; the reply comes once it is
    /// on disk.
    ///
    /// Group commit: works that arrive while another commit is under way wait in a queue,
    /// and the next writer runs all of them in one transaction, each inside its own
    /// savepoint (a work that fails is rolled back alone and gets its error), then commits
    /// once. With `synchronous = FULL` every commit is a sync of the log, so N uploads
    /// finishing together cost one sync instead of N, and a container document changed by
    /// each of them is written to the log once.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let queued: QueuedWork = Box::new(move |tx| {
            let outcome = work(tx);
            let failed = outcome.is_err();
            // Sent only after the commit: until then the reply waits in the closure.
            let deliver: Delivery = Box::new(move |committed| {
                let _ = reply.send(committed.and(outcome));
            });
            (failed, deliver)
        });
        self.queue
            .lock()
            .map_err(|_| ApiError::internal("the write queue lock is poisoned"))?
            .push(queued);
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.commit_queued())
            .await
            .map_err(|e| ApiError::internal(format!("a database task failed: {e}")))?;
        answer
            .await
            .map_err(|_| ApiError::internal("a database write was dropped"))?
    }

    /// Takes the writer and runs every queued work in one transaction (nothing, when an
    /// earlier writer took them all).
    fn commit_queued(&self) {
        let Ok(mut connection) = self.lock() else {
            return self.fail_queued("the database lock is poisoned");
        };
        let works = match self.queue.lock() {
            Ok(mut queue) => std::mem::take(&mut *queue),
            Err(_) => return,
        };
        if works.is_empty() {
            return;
        }
        let mut deliveries = Vec::with_capacity(works.len());
        let committed = (|| -> Result<(), ApiError> {
            let tx = connection.transaction().map_err(db)?;
            for work in works {
                tx.execute_batch("SAVEPOINT work").map_err(db)?;
                let (failed, deliver) = work(&tx);
                let end = if failed {
                    "ROLLBACK TO work; RELEASE work"
                } else {
                    "RELEASE work"
                };
                deliveries.push(deliver);
                tx.execute_batch(end).map_err(db)?;
            }
            tx.commit().map_err(db)
        })();
        for deliver in deliveries {
            let committed = committed
                .as_ref()
                .map(|_| ())
                .map_err(|e| ApiError::new(e.status, e.message.clone()));
            deliver(committed);
        }
    }

    /// Answers every queued work with an error.
    fn fail_queued(&self, message: &str) {
        let works = match self.queue.lock() {
            Ok(mut queue) => std::mem::take(&mut *queue),
            Err(_) => return,
        };
        drop(works); // dropping a work drops its reply: the caller sees the write dropped
        tracing::error!("{message}");
    }
}

/// A write waiting for the next commit: runs in the transaction, says whether it failed,
/// and returns how to deliver its outcome once the commit is done.
type QueuedWork = Box<dyn FnOnce(&rusqlite::Transaction<'_>) -> (bool, Delivery) + Send>;

/// Sends a work's outcome, given whether the commit succeeded.
type Delivery = Box<dyn FnOnce(Result<(), ApiError>) + Send>;

/// Read connections when the caller names no number (`Limits::read_connections`).
const DEFAULT_READERS: usize = 4;

/// Opens a read connection: `query_only`, so that a write on the read path is an error.
fn open_reader(path: &Path) -> Result<Connection, String> {
    let connection =
        Connection::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    connection
        .execute_batch("PRAGMA query_only = ON; PRAGMA busy_timeout = 5000;")
        .map_err(|e| format!("cannot set up a read connection to {}: {e}", path.display()))?;
    Ok(connection)
}

/// A database error is the server's fault: a 500 that names it, or a 507 when the disk
/// is full (`SQLITE_FULL`; the transaction is rolled back, nothing is written).
pub(crate) fn db(e: rusqlite::Error) -> ApiError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        return ApiError::new(
            axum::http::StatusCode::INSUFFICIENT_STORAGE,
            format!("the disk is full: {e}"),
        );
    }
    ApiError::internal(format!("database error: {e}"))
}

/// The first column of the row `sql` selects with `params`, if it selects one (the "one
/// value by its key" read: a user's document, a ticket's file names, a `meta` value).
///
/// # Errors
///
/// A 500 when the query fails or the column does not convert to `T`.
pub(crate) fn one_value<T: rusqlite::types::FromSql>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>, ApiError> {
    c.query_row(sql, params, |r| r.get(0))
        .optional()
        .map_err(db)
}

/// Reads a value of the `meta` table.
pub(crate) fn meta(connection: &Connection, key: &str) -> Result<Option<String>, ApiError> {
    one_value(connection, "SELECT value FROM meta WHERE key = ?1", [key])
}

/// Writes a value of the `meta` table.
pub(crate) fn set_meta(connection: &Connection, key: &str, value: &str) -> Result<(), ApiError> {
    connection
        .execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .map(|_| ())
        .map_err(db)
}

const ROW_COLUMNS: &str = "id, kind, parent_id, group_id, project_id, doc";

/// A container row as SQLite holds it, before its document is read.
type RawRow = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
);

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

/// Reads a row's document; one that does not read back is a 500, never an empty document.
fn read_row((id, kind, parent_id, group_id, project_id, doc): RawRow) -> Result<Row, ApiError> {
    let what = format!("{kind} {id}");
    let kind = Kind::from_name(&kind).ok_or_else(|| damaged(&what, "an unknown kind"))?;
    let doc = decode_stored_object(&doc, &what)?;
    Ok(Row {
        id,
        kind,
        parent_id,
        group_id,
        project_id,
        doc,
    })
}

/// The container with this id, of any kind.
pub(crate) fn container(connection: &Connection, id: &str) -> Result<Option<Row>, ApiError> {
    connection
        .query_row(
            &format!("SELECT {ROW_COLUMNS} FROM containers WHERE id = ?1"),
            [id],
            raw_row,
        )
        .optional()
        .map_err(db)?
        .map(read_row)
        .transpose()
}

/// The container with this id, of any kind, with its document read without `files`, and
/// the current entry of its file `name` (the first of that name), if any. A download needs
/// one entry of a container that may hold thousands: SQLite picks it out, and the others
/// are never parsed.
pub(crate) fn container_and_file(
    connection: &Connection,
    id: &str,
    name: &str,
) -> Result<Option<(Row, Option<Value>)>, ApiError> {
    let found = connection
        .query_row(
            "SELECT id, kind, parent_id, group_id, project_id, json_remove(doc, '$.files'),
                    (SELECT f.value FROM json_each(containers.doc, '$.files') f
                      WHERE json_type(containers.doc, '$.files') = 'array'
                        AND json_extract(f.value, '$.name') = ?2
                      ORDER BY f.key LIMIT 1)
               FROM containers WHERE id = ?1",
            params![id, name],
            |r| Ok((raw_row(r)?, r.get::<_, Option<String>>(6)?)),
        )
        .optional()
        .map_err(db)?;
    let Some((raw, entry)) = found else {
        return Ok(None);
    };
    let row = read_row(raw)?;
    let entry = entry
        .map(|text| decode_stored_object(&text, &format!("a file of {} {}", row.kind, row.id)))
        .transpose()?;
    Ok(Some((row, entry)))
}

/// Which rows a listing reads, before the finder filter runs on them.
#[derive(Debug, Clone)]
pub(crate) struct Scan {
    /// The kind listed.
    pub(crate) kind: Kind,
    /// Only children of this container.
    pub(crate) parent_id: Option<String>,
    /// Only containers of this project.
    pub(crate) project_id: Option<String>,
    /// Only containers of this group.
    pub(crate) group_id: Option<String>,
    /// Only this label.
    pub(crate) label: Option<String>,
    /// Only this id.
    pub(crate) id: Option<String>,
    /// Only ids after this one (keyset paging).
    pub(crate) after_id: Option<String>,
}

impl Scan {
    /// Every row of `kind`; narrow it with the other fields.
    pub(crate) fn of(kind: Kind) -> Scan {
        Scan {
            kind,
            parent_id: None,
            project_id: None,
            group_id: None,
            label: None,
            id: None,
            after_id: None,
        }
    }
}

/// Calls `visit` on each row the scan selects, in id order, until it returns false.
pub(crate) fn scan(
    connection: &Connection,
    scan: &Scan,
    visit: &mut dyn FnMut(Row) -> Result<bool, ApiError>,
) -> Result<(), ApiError> {
    let mut sql = format!("SELECT {ROW_COLUMNS} FROM containers WHERE kind = ?");
    let mut values: Vec<&str> = vec![scan.kind.name()];
    let optional = [
        ("parent_id = ?", &scan.parent_id),
        ("project_id = ?", &scan.project_id),
        ("group_id = ?", &scan.group_id),
        ("label = ?", &scan.label),
        ("id = ?", &scan.id),
        ("id > ?", &scan.after_id),
    ];
    for (clause, value) in optional {
        if let Some(value) = value {
            sql.push_str(" AND ");
            sql.push_str(clause);
            values.push(value);
        }
    }
    sql.push_str(" ORDER BY id");
    let mut statement = connection.prepare_cached(&sql).map_err(db)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(values))
        .map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        if !visit(read_row(raw_row(row).map_err(db)?)?)? {
            break;
        }
    }
    Ok(())
}

/// Inserts or replaces a container row.
pub(crate) fn put_container(tx: &Connection, row: &Row) -> Result<(), ApiError> {
    let label = row.doc.get("label").and_then(Value::as_str);
    let doc = encode_stored(&row.doc, &format!("{} {}", row.kind, row.id))?;
    tx.execute(
        "INSERT INTO containers (id, kind, parent_id, group_id, project_id, label, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, parent_id = excluded.parent_id,
           group_id = excluded.group_id, project_id = excluded.project_id,
           label = excluded.label, doc = excluded.doc",
        params![
            row.id,
            row.kind.name(),
            row.parent_id,
            row.group_id,
            row.project_id,
            label,
            doc
        ],
    )
    .map(|_| ())
    .map_err(db)
}

/// Every document of a table of `(id, doc)` rows (`users`, `roles`), in id order; `what`
/// names a row in messages (`user`).
pub(crate) fn documents(c: &Connection, table: &str, what: &str) -> Result<Vec<Value>, ApiError> {
    let mut statement = c
        .prepare_cached(&format!("SELECT id, doc FROM {table} ORDER BY id"))
        .map_err(db)?;
    let rows: Vec<(String, String)> = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    rows.iter()
        .map(|(id, doc)| decode_stored_object(doc, &format!("{what} {id}")))
        .collect()
}

/// Removes the items of a list field of `row`'s document (`notes`, `permissions`) whose
/// `_id` is `id`; returns whether there was one. The caller saves the row.
pub(crate) fn remove_by_id(row: &mut Row, key: &str, id: &str) -> Result<bool, ApiError> {
    let mut items = stored_list(&row.doc, key, &row.what())?;
    let before = items.len();
    items.retain(|item| item["_id"] != id);
    let removed = items.len() != before;
    row.doc[key] = Value::Array(items);
    Ok(removed)
}

/// Adds `item` to a list field of `row`'s document (`notes`, `permissions`, `roles`) unless
/// an equal item is there already, and saves the row with `modified` set to now.
pub(crate) fn add_to_list_and_save(
    c: &Connection,
    row: &mut Row,
    key: &str,
    item: Value,
) -> Result<(), ApiError> {
    let mut items = stored_list(&row.doc, key, &row.what())?;
    if !items.contains(&item) {
        items.push(item);
    }
    row.doc[key] = Value::Array(items);
    touch_and_save(c, row)
}

/// Saves a changed container with `modified` set to now.
pub(crate) fn touch_and_save(c: &Connection, row: &mut Row) -> Result<(), ApiError> {
    row.doc["modified"] = serde_json::json!(crate::ids::now());
    put_container(c, row)
}

/// The container `?1` and everything below it, as a `tree(id)` table for the query after it.
const TREE: &str = "WITH RECURSIVE tree(id) AS (
    SELECT ?1 UNION ALL SELECT c.id FROM containers c JOIN tree t ON c.parent_id = t.id)";

/// The ids of everything below a container (not the container itself).
pub(crate) fn descendants(c: &Connection, id: &str) -> Result<Vec<String>, ApiError> {
    let mut statement = c
        .prepare_cached(&format!("{TREE} SELECT id FROM tree WHERE id != ?1"))
        .map_err(db)?;
    statement
        .query_map([id], |r| r.get(0))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)
}

/// Deletes a container and everything below it; returns how many rows went.
pub(crate) fn delete_tree(tx: &Connection, id: &str) -> Result<usize, ApiError> {
    // The files of the tree go with it: their index entries and earlier versions.
    for table in ["file_index", "file_versions"] {
        tx.execute(
            &format!("{TREE} DELETE FROM {table} WHERE container_id IN (SELECT id FROM tree)"),
            [id],
        )
        .map_err(db)?;
    }
    tx.execute(
        &format!("{TREE} DELETE FROM containers WHERE id IN (SELECT id FROM tree)"),
        [id],
    )
    .map_err(db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Starts a read that holds its connection until told to finish; returns once it runs.
    fn held_read(store: &Store) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        held(store, Lane::Point)
    }

    /// Starts a read on `lane` that holds its connection until told to finish.
    fn held(store: &Store, lane: Lane) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        let (entered, inside) = mpsc::channel();
        let (finish, finished) = mpsc::channel::<()>();
        let store = store.clone();
        let thread = std::thread::spawn(move || {
            store
                .read_blocking(lane, |_| {
                    entered
                        .send(())
                        .map_err(|_| ApiError::internal("no test"))?;
                    finished
                        .recv_timeout(Duration::from_secs(10))
                        .map_err(|_| ApiError::internal("never told to finish"))
                })
                .unwrap();
        });
        inside.recv_timeout(Duration::from_secs(10)).unwrap();
        (finish, thread)
    }

    /// Whether a second read completes within `wait` while the first is held.
    fn second_read_finishes(store: &Store, wait: Duration) -> bool {
        let (done, finished) = mpsc::channel();
        let store = store.clone();
        std::thread::spawn(move || {
            let value = store.run_blocking(|c| meta(c, "answer"));
            let _ = done.send(value.map_err(|e| e.message));
        });
        match finished.recv_timeout(wait) {
            Ok(value) => {
                assert_eq!(
                    value,
                    Ok(Some("42".to_string())),
                    "a read sees the last commit"
                );
                true
            }
            Err(_) => false,
        }
    }

    #[test]
    fn reads_run_beside_each_other_up_to_the_pool_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().with_read_connections(2);
        store
            .write_blocking(|c| set_meta(c, "answer", "42"))
            .unwrap();
        let (finish, thread) = held_read(&store);
        assert!(second_read_finishes(&store, Duration::from_secs(10)));
        finish.send(()).unwrap();
        thread.join().unwrap();

        // With one read connection, the second read waits for the first.
        let single = Store::open(dir.path()).unwrap().with_read_connections(1);
        let (finish, thread) = held_read(&single);
        assert!(!second_read_finishes(&single, Duration::from_millis(300)));
        finish.send(()).unwrap();
        thread.join().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_commit_together_and_a_failed_one_is_rolled_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Hold the writer, so that the writes below queue up behind it.
        let (held, holding) = mpsc::channel::<()>();
        let (release, released) = mpsc::channel::<()>();
        let holder = {
            let store = store.clone();
            std::thread::spawn(move || {
                store.write_blocking(|c| {
                    let _ = held.send(());
                    let _ = released.recv_timeout(Duration::from_secs(10));
                    set_meta(c, "first", "1")
                })
            })
        };
        holding.recv_timeout(Duration::from_secs(10)).unwrap();
        let writes: Vec<_> = (0..6)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .write(move |c| {
                            set_meta(c, &format!("k{i}"), "v")?;
                            if i % 2 == 1 {
                                return Err(ApiError::bad_request(format!("no {i}")));
                            }
                            Ok(i)
                        })
                        .await
                })
            })
            .collect();
        while store.queue.lock().unwrap().len() < 6 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        release.send(()).unwrap();
        holder.join().unwrap().unwrap();
        for (i, write) in writes.into_iter().enumerate() {
            let result = write.await.unwrap();
            if i % 2 == 1 {
                assert_eq!(result.unwrap_err().message, format!("no {i}"));
            } else {
                assert_eq!(result.unwrap(), i);
            }
        }
        for i in 0..6 {
            let value = store.run_blocking(|c| meta(c, &format!("k{i}"))).unwrap();
            assert_eq!(value, (i % 2 == 0).then(|| "v".to_string()), "k{i}");
        }
        assert!(store.queue.lock().unwrap().is_empty());
    }

    #[test]
    fn scans_leave_a_connection_for_point_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().with_read_connections(2);
        store
            .write_blocking(|c| set_meta(c, "answer", "42"))
            .unwrap();
        let (finish, thread) = held(&store, Lane::Scan);
        // A second scan waits for the first; a point read does not.
        let (done, scanned) = mpsc::channel();
        let scanner = {
            let store = store.clone();
            std::thread::spawn(move || {
                let value = store.read_blocking(Lane::Scan, |c| meta(c, "answer"));
                let _ = done.send(value.map_err(|e| e.message));
            })
        };
        assert!(scanned.recv_timeout(Duration::from_millis(300)).is_err());
        assert!(second_read_finishes(&store, Duration::from_secs(10)));
        finish.send(()).unwrap();
        thread.join().unwrap();
        assert_eq!(
            scanned.recv_timeout(Duration::from_secs(10)).unwrap(),
            Ok(Some("42".to_string()))
        );
        scanner.join().unwrap();

        // With one connection, a scan may take it: nothing is reserved.
        let single = Store::open(dir.path()).unwrap().with_read_connections(1);
        assert_eq!(
            single
                .read_blocking(Lane::Scan, |c| meta(c, "answer"))
                .unwrap(),
            Some("42".to_string())
        );
    }

    #[test]
    fn a_write_on_the_read_path_fails_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let error = store
            .run_blocking(|c| set_meta(c, "sneaky", "1"))
            .unwrap_err();
        assert!(error.message.contains("readonly"), "{}", error.message);
        assert_eq!(store.run_blocking(|c| meta(c, "sneaky")).unwrap(), None);
    }

    #[test]
    fn container_and_file_picks_the_first_entry_of_the_name_and_reads_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let row = |id: &str, files: Value| Row {
            id: id.into(),
            kind: Kind::Acquisition,
            parent_id: Some("s1".into()),
            group_id: "g".into(),
            project_id: Some("p1".into()),
            doc: serde_json::json!({"_id": id, "label": "a", "files": files}),
        };
        let files = serde_json::json!([
            {"name": "a.nii", "size": 1},
            {"name": 7, "size": 2},
            {"name": "b.nii", "size": 3},
            {"name": "b.nii", "size": 4},
        ]);
        store
            .write_blocking(move |c| {
                put_container(c, &row("a1", files))?;
                // A damaged document whose `files` is an object: it holds no file.
                put_container(c, &row("a2", serde_json::json!({"x": {"name": "b.nii"}})))
            })
            .unwrap();
        let (found, entry) = store
            .run_blocking(|c| container_and_file(c, "a1", "b.nii"))
            .unwrap()
            .unwrap();
        assert_eq!(entry, Some(serde_json::json!({"name": "b.nii", "size": 3})));
        assert_eq!((found.id.as_str(), found.kind), ("a1", Kind::Acquisition));
        assert_eq!(found.project_id.as_deref(), Some("p1"));
        assert_eq!(found.doc, serde_json::json!({"_id": "a1", "label": "a"}));
        let missing = store
            .run_blocking(|c| container_and_file(c, "a1", "7"))
            .unwrap();
        assert_eq!(
            missing.map(|(_, entry)| entry),
            Some(None),
            "names are strings"
        );
        let damaged = store
            .run_blocking(|c| container_and_file(c, "a2", "b.nii"))
            .unwrap();
        assert_eq!(damaged.map(|(_, entry)| entry), Some(None));
        assert!(
            store
                .run_blocking(|c| container_and_file(c, "zz", "b.nii"))
                .unwrap()
                .is_none()
        );
    }
}
