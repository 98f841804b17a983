//! Live chats' rows: the chat beside its ticket, and its numbered messages. Numbers come from
//! the chat's `last_seq` under its row lock, in the same transaction as the message, so they
//! are gapless and ordered on every node; a message a client sends twice (same `client_id`) is
//! stored once.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::Db;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chat {
    pub id: String,
    pub ticket_id: String,
    pub customer_id: String,
    /// open, ended.
    pub state: String,
    pub last_seq: i64,
    pub customer_read_seq: i64,
    pub agent_read_seq: i64,
    pub created_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    /// text, voice (an in-app call).
    pub media: String,
    pub signal_seq: i64,
    /// When the agent picked up a call, and who.
    pub answered_at_ms: Option<i64>,
    pub answered_by: Option<String>,
    /// How a call ended: completed, abandoned, failed.
    pub call_outcome: Option<String>,
    pub call_notes: String,
}

/// A WebRTC signal between the two browsers of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatSignal {
    pub seq: i64,
    /// customer, agent.
    pub author_kind: String,
    pub body: String,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    pub chat_id: String,
    pub seq: i64,
    pub id: String,
    /// customer, agent, system.
    pub author_kind: String,
    pub author_id: Option<String>,
    pub client_id: String,
    pub body: String,
    pub created_at_ms: i64,
}

/// What storing a message did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Appended {
    New(ChatMessage),
    /// The same author sent this `client_id` before: the message as first stored.
    Again(ChatMessage),
    /// The chat has ended.
    Ended,
}

const CHAT_COLUMNS: &str = "id, ticket_id, customer_id, state, last_seq, customer_read_seq, \
     agent_read_seq, created_at_ms, ended_at_ms, media, signal_seq, answered_at_ms, answered_by, \
     call_outcome, call_notes";
const MESSAGE_COLUMNS: &str =
    "chat_id, seq, id, author_kind, author_id, client_id, body, created_at_ms";

fn chat_from_row(r: &AnyRow) -> anyhow::Result<Chat> {
    Ok(Chat {
        id: r.try_get("id")?,
        ticket_id: r.try_get("ticket_id")?,
        customer_id: r.try_get("customer_id")?,
        state: r.try_get("state")?,
        last_seq: r.try_get("last_seq")?,
        customer_read_seq: r.try_get("customer_read_seq")?,
        agent_read_seq: r.try_get("agent_read_seq")?,
        created_at_ms: r.try_get("created_at_ms")?,
        ended_at_ms: r.try_get("ended_at_ms")?,
        media: r.try_get("media")?,
        signal_seq: r.try_get("signal_seq")?,
        answered_at_ms: r.try_get("answered_at_ms")?,
        answered_by: r.try_get("answered_by")?,
        call_outcome: r.try_get("call_outcome")?,
        call_notes: r.try_get("call_notes")?,
    })
}

fn message_from_row(r: &AnyRow) -> anyhow::Result<ChatMessage> {
    Ok(ChatMessage {
        chat_id: r.try_get("chat_id")?,
        seq: r.try_get("seq")?,
        id: r.try_get("id")?,
        author_kind: r.try_get("author_kind")?,
        author_id: r.try_get("author_id")?,
        client_id: r.try_get("client_id")?,
        body: r.try_get("body")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

impl Db {
    pub async fn create_chat(&self, c: &Chat) -> anyhow::Result<()> {
        let sql = format!(
            "INSERT INTO chats ({CHAT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        sqlx::query(&sql)
            .bind(&c.id)
            .bind(&c.ticket_id)
            .bind(&c.customer_id)
            .bind(&c.state)
            .bind(c.last_seq)
            .bind(c.customer_read_seq)
            .bind(c.agent_read_seq)
            .bind(c.created_at_ms)
            .bind(c.ended_at_ms)
            .bind(&c.media)
            .bind(c.signal_seq)
            .bind(c.answered_at_ms)
            .bind(&c.answered_by)
            .bind(&c.call_outcome)
            .bind(&c.call_notes)
            .execute(self.pool())
            .await
            .context("while starting a chat")?;
        Ok(())
    }

    pub async fn chat(&self, id: &str) -> anyhow::Result<Option<Chat>> {
        let sql = format!("SELECT {CHAT_COLUMNS} FROM chats WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a chat")?
            .as_ref()
            .map(chat_from_row)
            .transpose()
    }

    /// A customer's chats, newest first.
    pub async fn chats_of(&self, customer_id: &str, limit: i64) -> anyhow::Result<Vec<Chat>> {
        let sql = format!(
            "SELECT {CHAT_COLUMNS} FROM chats WHERE customer_id = $1 \
             ORDER BY created_at_ms DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(customer_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while reading a customer's chats")?;
        rows.iter().map(chat_from_row).collect()
    }

    /// Open chats whose tickets `agent_id` holds, oldest first.
    pub async fn chats_held_by(&self, agent_id: &str) -> anyhow::Result<Vec<Chat>> {
        let columns = CHAT_COLUMNS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM chats c JOIN tickets t ON t.id = c.ticket_id \
             WHERE t.assignee_id = $1 AND c.state = 'open' ORDER BY c.created_at_ms, c.id LIMIT 50"
        );
        let rows = sqlx::query(&sql)
            .bind(agent_id)
            .fetch_all(self.pool())
            .await
            .context("while reading an agent's chats")?;
        rows.iter().map(chat_from_row).collect()
    }

    /// Open chats whose tickets nobody holds in `group_id` started before `before_ms` (ties
    /// by id): the people ahead in the queue.
    pub async fn chats_ahead(
        &self,
        group_id: &str,
        created_at_ms: i64,
        id: &str,
    ) -> anyhow::Result<i64> {
        let row = sqlx::query(
            "SELECT count(*) AS n FROM chats c JOIN tickets t ON t.id = c.ticket_id \
             WHERE c.state = 'open' AND t.group_id = $1 AND t.assignee_id IS NULL \
             AND (c.created_at_ms < $2 OR (c.created_at_ms = $3 AND c.id < $4))",
        )
        .bind(group_id)
        .bind(created_at_ms)
        .bind(created_at_ms)
        .bind(id)
        .fetch_one(self.pool())
        .await
        .context("while counting a chat queue")?;
        Ok(row.try_get("n")?)
    }

    /// Stores a message with the next number, once per author and `client_id`.
    pub async fn append_chat_message(
        &self,
        chat_id: &str,
        author_kind: &str,
        author_id: Option<&str>,
        client_id: &str,
        body: &str,
        now_ms: i64,
    ) -> anyhow::Result<Appended> {
        if let Some(m) = self
            .chat_message_by_client(chat_id, author_kind, client_id)
            .await?
        {
            return Ok(Appended::Again(m));
        }
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(
            "UPDATE chats SET last_seq = last_seq + 1 WHERE id = $1 AND state = 'open' \
             RETURNING last_seq",
        )
        .bind(chat_id)
        .fetch_optional(&mut *tx)
        .await
        .context("while numbering a chat message")?;
        let Some(row) = row else {
            return Ok(Appended::Ended);
        };
        let m = ChatMessage {
            chat_id: chat_id.to_owned(),
            seq: row.try_get("last_seq")?,
            id: crate::new_id(),
            author_kind: author_kind.to_owned(),
            author_id: author_id.map(str::to_owned),
            client_id: client_id.to_owned(),
            body: body.to_owned(),
            created_at_ms: now_ms,
        };
        let sql = format!(
            "INSERT INTO chat_messages ({MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        let inserted = sqlx::query(&sql)
            .bind(&m.chat_id)
            .bind(m.seq)
            .bind(&m.id)
            .bind(&m.author_kind)
            .bind(&m.author_id)
            .bind(&m.client_id)
            .bind(&m.body)
            .bind(m.created_at_ms)
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                Ok(Appended::New(m))
            }
            Err(e) => {
                drop(tx);
                // The same client id arrived twice at once: the other one was stored.
                match self
                    .chat_message_by_client(chat_id, author_kind, client_id)
                    .await?
                {
                    Some(first) => Ok(Appended::Again(first)),
                    None => Err(anyhow::Error::new(e).context("while storing a chat message")),
                }
            }
        }
    }

    async fn chat_message_by_client(
        &self,
        chat_id: &str,
        author_kind: &str,
        client_id: &str,
    ) -> anyhow::Result<Option<ChatMessage>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages \
             WHERE chat_id = $1 AND author_kind = $2 AND client_id = $3"
        );
        sqlx::query(&sql)
            .bind(chat_id)
            .bind(author_kind)
            .bind(client_id)
            .fetch_optional(self.pool())
            .await
            .context("while reading a chat message")?
            .as_ref()
            .map(message_from_row)
            .transpose()
    }

    /// Messages after `after_seq`, in order, at most `limit`.
    pub async fn chat_messages(
        &self,
        chat_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<ChatMessage>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE chat_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(chat_id)
            .bind(after_seq)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .context("while reading chat messages")?;
        rows.iter().map(message_from_row).collect()
    }

    /// One side has read up to `seq` (never backwards).
    pub async fn mark_chat_read(&self, chat_id: &str, agent: bool, seq: i64) -> anyhow::Result<()> {
        let sql = if agent {
            "UPDATE chats SET agent_read_seq = $1 WHERE id = $2 AND agent_read_seq < $3 \
             AND last_seq >= $4"
        } else {
            "UPDATE chats SET customer_read_seq = $1 WHERE id = $2 AND customer_read_seq < $3 \
             AND last_seq >= $4"
        };
        sqlx::query(sql)
            .bind(seq)
            .bind(chat_id)
            .bind(seq)
            .bind(seq)
            .execute(self.pool())
            .await
            .context("while marking a chat read")?;
        Ok(())
    }

    /// Ends an open chat; whether it was open.
    pub async fn end_chat(&self, chat_id: &str, now_ms: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE chats SET state = 'ended', ended_at_ms = $1 WHERE id = $2 AND state = 'open'",
        )
        .bind(now_ms)
        .bind(chat_id)
        .execute(self.pool())
        .await
        .context("while ending a chat")?;
        Ok(done.rows_affected() == 1)
    }

    /// The agent picks up a call; whether this was the pick-up (an ended or answered call is
    /// not picked up again).
    pub async fn answer_call(
        &self,
        chat_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE chats SET answered_at_ms = $1, answered_by = $2 \
             WHERE id = $3 AND media = 'voice' AND state = 'open' AND answered_at_ms IS NULL",
        )
        .bind(now_ms)
        .bind(agent_id)
        .bind(chat_id)
        .execute(self.pool())
        .await
        .context("while answering a call")?;
        Ok(done.rows_affected() == 1)
    }

    /// Records how a call ended, once.
    pub async fn set_call_outcome(&self, chat_id: &str, outcome: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE chats SET call_outcome = $1 \
             WHERE id = $2 AND media = 'voice' AND call_outcome IS NULL",
        )
        .bind(outcome)
        .bind(chat_id)
        .execute(self.pool())
        .await
        .context("while recording a call's outcome")?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_call_notes(&self, chat_id: &str, notes: &str) -> anyhow::Result<bool> {
        let done =
            sqlx::query("UPDATE chats SET call_notes = $1 WHERE id = $2 AND media = 'voice'")
                .bind(notes)
                .bind(chat_id)
                .execute(self.pool())
                .await
                .context("while keeping a call's notes")?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a signal with the chat's next signal number; `None` once the chat has ended or
    /// holds `max` signals already.
    pub async fn append_chat_signal(
        &self,
        chat_id: &str,
        author_kind: &str,
        body: &str,
        max: i64,
        now_ms: i64,
    ) -> anyhow::Result<Option<i64>> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(
            "UPDATE chats SET signal_seq = signal_seq + 1 \
             WHERE id = $1 AND state = 'open' AND media = 'voice' AND signal_seq < $2 \
             RETURNING signal_seq",
        )
        .bind(chat_id)
        .bind(max)
        .fetch_optional(&mut *tx)
        .await
        .context("while numbering a call signal")?;
        let Some(row) = row else {
            return Ok(None);
        };
        let seq: i64 = row.try_get("signal_seq")?;
        sqlx::query(
            "INSERT INTO chat_signals (chat_id, seq, author_kind, body, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(chat_id)
        .bind(seq)
        .bind(author_kind)
        .bind(body)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .context("while storing a call signal")?;
        tx.commit().await?;
        Ok(Some(seq))
    }

    /// Signals after `after_seq` from the side that is not `reader_kind`, in order.
    pub async fn chat_signals(
        &self,
        chat_id: &str,
        after_seq: i64,
        reader_kind: &str,
    ) -> anyhow::Result<Vec<ChatSignal>> {
        let rows = sqlx::query(
            "SELECT seq, author_kind, body, created_at_ms FROM chat_signals \
             WHERE chat_id = $1 AND seq > $2 AND author_kind <> $3 ORDER BY seq LIMIT 500",
        )
        .bind(chat_id)
        .bind(after_seq)
        .bind(reader_kind)
        .fetch_all(self.pool())
        .await
        .context("while reading call signals")?;
        rows.iter()
            .map(|r| {
                Ok(ChatSignal {
                    seq: r.try_get("seq")?,
                    author_kind: r.try_get("author_kind")?,
                    body: r.try_get("body")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                })
            })
            .collect()
    }
}
