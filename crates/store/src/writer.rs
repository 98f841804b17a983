//! Group commit: one writer per node turns many concurrent ledger requests into one database
//! transaction, and answers each request with its own results.
//!
//! Requests wait in a bounded queue. The writer takes everything waiting (up to
//! `batch_events_max` transfers), loads the state they touch, applies them with
//! [`ledger::apply_batch`], writes, commits, and only then answers. A full queue answers
//! [`SubmitError::Overloaded`] instead of growing without bound. Nothing is acknowledged before
//! its commit is durable, so a crash loses only unacknowledged requests, and a retry of one of
//! those with the same ids is applied at most once (the ids are the journal's primary key).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ledger::{EventResult, Transfer};
use tokio::sync::{mpsc, oneshot};

use crate::journal::{load_batch_state, write_batch};
use crate::movements::{self, MovementJob, MovementOutcome};
use crate::{now_ns, Backend, Db};

/// Tuning of the writer.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    /// Most transfers in one database transaction. 1 makes every request its own commit (the
    /// baseline the benchmark compares against).
    pub batch_events_max: usize,
    /// Most requests waiting; beyond it submitters are told to retry later.
    pub queue_requests_max: usize,
    /// How long a submitter waits for room in a full queue before giving up.
    pub enqueue_timeout: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            batch_events_max: 8190,
            queue_requests_max: 8192,
            enqueue_timeout: Duration::from_secs(2),
        }
    }
}

/// Why a request got no results.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The queue stayed full: retry later.
    #[error("the ledger is overloaded; retry shortly")]
    Overloaded,
    /// The database failed the batch (after retries) or the writer stopped; the request may or
    /// may not have been committed, and a retry with the same ids is safe.
    #[error("the ledger is unavailable: {0}")]
    Unavailable(String),
    /// More transfers in one request than one batch can hold.
    #[error("a request holds at most {0} transfers")]
    TooLarge(usize),
}

/// Called after each committed batch with its transfer count and duration.
pub type BatchObserver = Arc<dyn Fn(usize, Duration) + Send + Sync>;

struct Job {
    transfers: Vec<Transfer>,
    movement: Option<Box<MovementJob>>,
    reply: oneshot::Sender<Result<Answer, SubmitError>>,
}

/// What the writer answers one job.
type Answer = (Vec<EventResult>, Option<MovementOutcome>);

/// One job's part of a batch: its transfers and, for a movement, the movement.
pub(crate) struct BatchRequest {
    transfers: Vec<Transfer>,
    movement: Option<Box<MovementJob>>,
}

/// A handle to the node's ledger writer. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    queue: mpsc::Sender<Job>,
    depth: Arc<AtomicI64>,
    config: WriterConfig,
}

impl Ledger {
    /// Starts the writer task on the current runtime.
    pub async fn start(
        db: Db,
        config: WriterConfig,
        observer: Option<BatchObserver>,
    ) -> anyhow::Result<Ledger> {
        let (queue, receiver) = mpsc::channel(config.queue_requests_max.max(1));
        let depth = Arc::new(AtomicI64::new(0));
        let clock = db.last_transfer_timestamp().await?;
        let writer = Writer {
            db,
            config,
            receiver,
            depth: depth.clone(),
            clock,
            observer,
            conn: None,
        };
        tokio::spawn(writer.run());
        Ok(Ledger {
            queue,
            depth,
            config,
        })
    }

    /// Submits one request (a list of transfers, possibly linked) and waits for its results.
    pub async fn submit(&self, transfers: Vec<Transfer>) -> Result<Vec<EventResult>, SubmitError> {
        if transfers.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.enqueue(transfers, None).await?.0)
    }

    /// Submits a movement with the transfers that carry it out: guards checked, transfers
    /// applied and the movement recorded in one commit (see [`crate::movements`]). The results
    /// are empty when the movement was refused before the ledger or recorded before.
    pub async fn submit_movement(
        &self,
        transfers: Vec<Transfer>,
        movement: MovementJob,
    ) -> Result<(Vec<EventResult>, MovementOutcome), SubmitError> {
        let (results, outcome) = self.enqueue(transfers, Some(Box::new(movement))).await?;
        let outcome = outcome.ok_or_else(|| {
            SubmitError::Unavailable("the writer answered a movement without its outcome".into())
        })?;
        Ok((results, outcome))
    }

    async fn enqueue(
        &self,
        transfers: Vec<Transfer>,
        movement: Option<Box<MovementJob>>,
    ) -> Result<Answer, SubmitError> {
        if transfers.len() > self.config.batch_events_max.max(1) {
            return Err(SubmitError::TooLarge(self.config.batch_events_max.max(1)));
        }
        let (reply, answer) = oneshot::channel();
        self.depth.fetch_add(1, Ordering::Relaxed);
        let job = Job {
            transfers,
            movement,
            reply,
        };
        let sent = self
            .queue
            .send_timeout(job, self.config.enqueue_timeout)
            .await;
        if let Err(e) = sent {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            return Err(match e {
                mpsc::error::SendTimeoutError::Timeout(_) => SubmitError::Overloaded,
                mpsc::error::SendTimeoutError::Closed(_) => {
                    SubmitError::Unavailable("the ledger writer has stopped".into())
                }
            });
        }
        answer.await.unwrap_or_else(|_| {
            Err(SubmitError::Unavailable(
                "the ledger writer has stopped".into(),
            ))
        })
    }

    /// Requests waiting or being written.
    pub fn queue_depth(&self) -> i64 {
        self.depth.load(Ordering::Relaxed)
    }
}

struct Writer {
    db: Db,
    config: WriterConfig,
    receiver: mpsc::Receiver<Job>,
    depth: Arc<AtomicI64>,
    clock: i64,
    observer: Option<BatchObserver>,
    conn: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
}

/// Attempts per batch when the database reports a conflict another node caused.
const ATTEMPTS_MAX: u32 = 8;

impl Writer {
    async fn run(mut self) {
        let max = self.config.batch_events_max.max(1);
        // Submitters answered by the last commit come back a moment later, not all at once.
        // Starting the next commit with only the first of them would alternate big and tiny
        // batches; yielding a few times while the batch is much smaller than the last one lets
        // the rest catch up, at a cost of microseconds.
        let mut last_jobs = 0usize;
        while let Some(first) = self.receiver.recv().await {
            let mut events = first.transfers.len().max(1);
            let mut jobs = vec![first];
            let mut yields_left = if max > 1 { 4 } else { 0 };
            while events < max {
                match self.receiver.try_recv() {
                    Ok(job) if events + job.transfers.len().max(1) <= max => {
                        events += job.transfers.len().max(1);
                        jobs.push(job);
                    }
                    Ok(job) => {
                        // Does not fit: it opens the next batch.
                        self.commit(std::mem::take(&mut jobs), events).await;
                        events = job.transfers.len().max(1);
                        jobs.push(job);
                    }
                    Err(_) if yields_left > 0 && jobs.len() * 2 < last_jobs => {
                        yields_left -= 1;
                        tokio::task::yield_now().await;
                    }
                    Err(_) => break,
                }
            }
            last_jobs = jobs.len();
            self.commit(jobs, events).await;
        }
    }

    async fn commit(&mut self, jobs: Vec<Job>, events: usize) {
        if jobs.is_empty() {
            return;
        }
        let started = Instant::now();
        let (requests, replies): (Vec<BatchRequest>, Vec<_>) = jobs
            .into_iter()
            .map(|j| {
                (
                    BatchRequest {
                        transfers: j.transfers,
                        movement: j.movement,
                    },
                    j.reply,
                )
            })
            .unzip();
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            match self.commit_once(&requests).await {
                Ok(results) => break Ok(results),
                Err(e) if attempt < ATTEMPTS_MAX && is_conflict(&e) => {
                    tracing::debug!(attempt, error = %e, "ledger batch conflicted; retrying");
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2)).await;
                }
                Err(e) => break Err(e),
            }
        };
        self.depth
            .fetch_sub(replies.len() as i64, Ordering::Relaxed);
        match outcome {
            Ok(results) => {
                if let Some(observe) = &self.observer {
                    observe(events, started.elapsed());
                }
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(
                    error = format!("{e:#}"),
                    requests = replies.len(),
                    "ledger batch failed"
                );
                for reply in replies {
                    let _ = reply.send(Err(SubmitError::Unavailable(
                        "the database failed the batch".into(),
                    )));
                }
            }
        }
    }
}

impl Writer {
    /// Commits on the writer's own connection, (re)opened as needed. Keeping one connection
    /// keeps SQLite's page cache warm: a pooled connection that another one wrote through must
    /// drop its cache and read the pages again.
    async fn commit_once(&mut self, requests: &[BatchRequest]) -> anyhow::Result<Vec<Answer>> {
        if self.conn.is_none() {
            let conn = self
                .db
                .pool()
                .acquire()
                .await
                .context("while connecting the ledger writer")?;
            self.conn = Some(conn);
        }
        let conn = self.conn.as_mut().expect("just set");
        let outcome = commit_batch(conn, self.db.backend(), requests, &mut self.clock).await;
        if let Err(e) = &outcome {
            if !is_conflict(e) {
                // The connection may be broken: start the next attempt on a fresh one.
                self.conn = None;
            }
        }
        outcome
    }
}

/// One transaction: open the movements' accounts, lock and load, check the movements' guards,
/// apply, write, commit.
async fn commit_batch(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    requests: &[BatchRequest],
    clock: &mut i64,
) -> anyhow::Result<Vec<Answer>> {
    use sqlx::Connection;
    let begin = match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    let mut tx = conn
        .begin_with(begin)
        .await
        .context("while beginning a ledger batch")?;
    let movements: Vec<&MovementJob> = requests
        .iter()
        .filter_map(|r| r.movement.as_deref())
        .collect();
    if !movements.is_empty() {
        movements::ensure_accounts(&mut tx, backend, &movements).await?;
    }
    let transfers: Vec<Vec<Transfer>> = requests.iter().map(|r| r.transfers.clone()).collect();
    let mut state = load_batch_state(&mut tx, backend, &transfers).await?;
    let mut next_clock = *clock;
    let now = now_ns();
    let (answers, new_transfers, touched) = if movements.is_empty() {
        let applied = ledger::apply_batch(&mut state, &transfers, now, &mut next_clock);
        let answers = applied.results.into_iter().map(|r| (r, None)).collect();
        (answers, applied.new_transfers, applied.touched_accounts)
    } else {
        // Request by request, so that a guard sees exactly the movements completed before it.
        let mut guards = movements::load_guard_state(&mut tx, backend, &movements).await?;
        let mut answers = Vec::with_capacity(requests.len());
        let mut new_transfers = Vec::new();
        let mut touched = std::collections::BTreeSet::new();
        for (request, transfers) in requests.iter().zip(&transfers) {
            if let Some(job) = request.movement.as_deref() {
                if let Some(outcome) = guards.before(job) {
                    answers.push((Vec::new(), Some(outcome)));
                    continue;
                }
            }
            let applied = ledger::apply_batch(
                &mut state,
                std::slice::from_ref(transfers),
                now,
                &mut next_clock,
            );
            new_transfers.extend(applied.new_transfers);
            touched.extend(applied.touched_accounts);
            let results = applied.results.into_iter().next().unwrap_or_default();
            let outcome = request.movement.as_deref().map(|job| {
                let outcome = movements::outcome_of(job, &results);
                if outcome == MovementOutcome::Completed {
                    guards.completed(job);
                }
                outcome
            });
            answers.push((results, outcome));
        }
        (answers, new_transfers, touched.into_iter().collect())
    };
    write_batch(&mut tx, backend, &state, &new_transfers, &touched).await?;
    if !movements.is_empty() {
        let written: Vec<(&MovementJob, &MovementOutcome)> = requests
            .iter()
            .zip(&answers)
            .filter_map(|(r, (_, o))| Some((r.movement.as_deref()?, o.as_ref()?)))
            .collect();
        movements::write_movements(&mut tx, backend, &written).await?;
    }
    tx.commit()
        .await
        .context("while committing a ledger batch")?;
    *clock = next_clock;
    Ok(answers)
}

/// Conflicts another writer caused: retrying the whole batch is correct.
fn is_conflict(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let Some(sqlx::Error::Database(db)) = cause.downcast_ref::<sqlx::Error>() else {
            return false;
        };
        matches!(
            db.code().as_deref(),
            // PostgreSQL: serialization failure, deadlock, unique violation (an id committed by
            // another node between our read and our insert). SQLite: busy, locked.
            Some("40001" | "40P01" | "23505" | "5" | "6" | "517" | "262")
        )
    })
}

/// Releases pending transfers whose timeout has passed. Each expiry has the id
/// `expire:<pending id>` (or `expire#<fingerprint>` for the longest ids), so several nodes
/// sweeping at once release each hold exactly once.
pub async fn expire_due_holds(db: &Db, ledger: &Ledger) -> anyhow::Result<usize> {
    let due = db.due_pending_transfers(now_ns(), 1000).await?;
    let mut released = 0;
    for pending in due {
        // Ids near the length limit get the pending transfer's fingerprint (which covers its
        // id) instead, so every hold has an expiry id.
        let id = ledger::TransferId::parse(&format!("expire:{}", pending.id))
            .or_else(|| ledger::TransferId::parse(&format!("expire#{}", pending.fingerprint)))
            .context("an expiry id from a stored fingerprint")?;
        let transfer = Transfer {
            id,
            kind: ledger::TransferKind::Expire {
                pending_id: pending.id.clone(),
            },
            asset: pending.asset.clone(),
            code: pending.code,
            reference: pending.reference.clone(),
            linked: false,
        };
        let results = ledger
            .submit(vec![transfer])
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        if results
            .first()
            .is_some_and(|r| r.code == ledger::ResultCode::Ok && !r.replayed)
        {
            released += 1;
        }
    }
    Ok(released)
}
