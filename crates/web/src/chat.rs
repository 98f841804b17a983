//! Live chat on a node: who is listening to which chat, and the nudges that tell them to look.
//!
//! A nudge carries no message: a connection that is nudged reads the messages after the last one
//! it sent from the database, so it can never skip, repeat or reorder one, whoever stored them
//! and whenever the nudge arrives (a lagging receiver simply reads once for many nudges). The
//! same read serves a client that resumes after a dropped connection. Typing and read marks are
//! ephemeral and travel in the nudge itself.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::broadcast;

/// What happened in a chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nudge {
    /// New messages are stored: read after your last one.
    Messages,
    /// One side is typing.
    Typing { agent: bool },
    /// One side has read up to `seq`.
    Read { agent: bool, seq: i64 },
    /// The chat's queue, agent or state may have changed.
    State,
}

/// The chats this node's connections listen to.
#[derive(Default)]
pub struct Hub {
    chats: Mutex<HashMap<String, broadcast::Sender<Nudge>>>,
}

impl Hub {
    pub fn new() -> Hub {
        Hub::default()
    }

    /// Listens to a chat's nudges.
    pub fn subscribe(&self, chat_id: &str) -> broadcast::Receiver<Nudge> {
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        chats
            .entry(chat_id.to_owned())
            .or_insert_with(|| broadcast::channel(64).0)
            .subscribe()
    }

    /// Nudges everyone on this node listening to `chat_id`; forgets chats nobody listens to.
    pub fn nudge(&self, chat_id: &str, nudge: Nudge) {
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = chats.get(chat_id) {
            if sender.send(nudge).is_err() {
                chats.remove(chat_id);
            }
        }
    }

    /// How many chats have listeners here.
    pub fn listened(&self) -> usize {
        self.chats.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nudges_reach_listeners_of_that_chat_only() {
        let hub = Hub::new();
        let mut a = hub.subscribe("a");
        let mut b = hub.subscribe("b");
        hub.nudge("a", Nudge::Messages);
        assert_eq!(a.recv().await.unwrap(), Nudge::Messages);
        assert!(b.try_recv().is_err());
        drop(b);
        hub.nudge("b", Nudge::State);
        assert_eq!(hub.listened(), 1, "a chat nobody listens to is forgotten");
    }
}
