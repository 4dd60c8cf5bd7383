//! One SQLite file: a single writer thread that commits many callers' work in one
//! transaction (group commit), and a small pool of readers.
//!
//! Why a writer thread: SQLite allows one writer at a time; funnelling every write
//! through one thread turns contention into batching. Each caller's work runs inside
//! its own savepoint, so one failing job does not undo the others in its batch, and the
//! batch shares one `COMMIT` — one fsync for many executions' steps.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::store::{Migration, StoreError};
use rusqlite::{Connection, OpenFlags, Transaction};
use tokio::sync::oneshot;

mod migrations;

/// How many jobs one transaction may carry at most.
pub const MAX_BATCH_JOBS: usize = 4_096;

/// Reader connections kept open.
const READERS: usize = 4;

/// A caller's work: runs inside the batch transaction and returns how to answer the
/// caller once the batch's fate (committed or not) is known.
type Job = Box<dyn FnOnce(&Transaction<'_>) -> Reply + Send>;

/// Answers a caller: `true` if the batch committed.
type Reply = Box<dyn FnOnce(bool) + Send>;

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    /// Sends work to the writer thread. Dropping the last sender stops the thread.
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    /// Idle read-only connections; a read takes one and returns it.
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
    /// The writer thread, joined on shutdown so the last batch is committed.
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Database {
    /// Opens (creating if needed) the database file and applies the platform's and the
    /// given services' migrations that have not been applied yet.
    pub fn open(path: &Path, services: &[&'static [Migration]]) -> Result<Database, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
        }
        let mut conn = Connection::open(path).map_err(StoreError::backend)?;
        configure(&conn)?;
        migrations::apply(&mut conn, services)?;

        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(StoreError::backend)?;
            r.busy_timeout(Duration::from_secs(10))
                .map_err(StoreError::backend)?;
            readers.push(r);
        }

        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("baton-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(StoreError::backend)?;
        Ok(Database {
            inner: Arc::new(Inner {
                writer: Mutex::new(Some(tx)),
                readers: Mutex::new(readers),
                path: path.to_path_buf(),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` inside the next write transaction and waits until it is committed.
    ///
    /// # Contract
    /// When this returns `Ok`, the work is durable (committed, fsynced). When `f` returns
    /// `Err`, none of its changes are kept, and other callers' work in the same batch is
    /// unaffected.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |tx| {
            let result = run_in_savepoint(tx, f);
            // Answer only after COMMIT: Ok must mean durable.
            Box::new(move |committed: bool| {
                let answer = if committed {
                    result
                } else {
                    Err(StoreError::Backend("the transaction did not commit".into()))
                };
                let _ = reply.send(answer);
            })
        });
        self.send(job)?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the writer thread stopped".into()))?
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        let guard = self
            .inner
            .writer
            .lock()
            .map_err(|_| StoreError::Backend("writer lock poisoned".into()))?;
        match guard.as_ref() {
            Some(tx) => tx
                .send(job)
                .map_err(|_| StoreError::Backend("the writer thread stopped".into())),
            None => Err(StoreError::Backend("the database is closed".into())),
        }
    }

    /// Runs a read on a pooled read-only connection, off the async executor.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner
                .readers
                .lock()
                .map_err(|_| StoreError::Backend("reader pool poisoned".into()))?
                .pop();
            let conn = match conn {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(StoreError::backend)?;
                    c.busy_timeout(Duration::from_secs(10))
                        .map_err(StoreError::backend)?;
                    c
                }
            };
            let result = f(&conn);
            if let Ok(mut pool) = inner.readers.lock()
                && pool.len() < READERS
            {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(StoreError::backend)?
    }

    /// Stops the writer after it has committed everything already sent.
    pub fn close(&self) {
        if let Ok(mut w) = self.inner.writer.lock() {
            w.take();
        }
        if let Ok(mut t) = self.inner.thread.lock()
            && let Some(handle) = t.take()
        {
            let _ = handle.join();
        }
    }
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    // WAL: readers never block the writer. synchronous=FULL: a commit survives power
    // loss, not just a crash; group commit pays for it once per batch.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;",
    )
    .map_err(StoreError::backend)
}

fn run_in_savepoint<T>(
    tx: &Transaction<'_>,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    tx.execute_batch("SAVEPOINT job")
        .map_err(StoreError::backend)?;
    match f(tx) {
        Ok(v) => {
            tx.execute_batch("RELEASE job")
                .map_err(StoreError::backend)?;
            Ok(v)
        }
        Err(e) => {
            // Undo this job only; the rest of the batch goes on.
            let _ = tx.execute_batch("ROLLBACK TO job; RELEASE job");
            Err(e)
        }
    }
}

/// Takes the first job, then whatever else is already waiting (up to the cap), and
/// commits them together.
fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(64);
        batch.push(first);
        while batch.len() < MAX_BATCH_JOBS {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, "could not begin a write transaction");
                // Dropping the jobs drops their reply channels: callers see an error.
                continue;
            }
        };
        let replies: Vec<Reply> = batch.into_iter().map(|job| job(&tx)).collect();
        let committed = match tx.commit() {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "COMMIT failed");
                false
            }
        };
        for reply in replies {
            reply(committed);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_are_batched_and_a_failing_job_does_not_undo_others() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("baton.db"), &[]).unwrap();
        db.write(|tx| {
            tx.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
                .map_err(StoreError::backend)
        })
        .await
        .unwrap();

        let mut handles = Vec::new();
        for k in 0..200i64 {
            let db = db.clone();
            handles.push(tokio::spawn(async move {
                db.write(move |tx| {
                    tx.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", [k])
                        .map_err(StoreError::backend)?;
                    if k % 10 == 0 {
                        return Err(StoreError::Conflict(format!("job {k}")));
                    }
                    Ok(k)
                })
                .await
            }));
        }
        let mut ok = 0;
        for h in handles {
            if h.await.unwrap().is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 180);
        let count: i64 = db
            .read(|c| {
                c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                    .map_err(StoreError::backend)
            })
            .await
            .unwrap();
        assert_eq!(count, 180, "failed jobs are rolled back, the rest kept");
        db.close();

        // Reopening applies no migration twice and sees the committed rows.
        let db = Database::open(&dir.path().join("baton.db"), &[]).unwrap();
        let count: i64 = db
            .read(|c| {
                c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                    .map_err(StoreError::backend)
            })
            .await
            .unwrap();
        assert_eq!(count, 180);
        db.close();
    }
}
