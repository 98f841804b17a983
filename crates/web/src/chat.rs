//! Live chat on a node: who is listening to which chat, and the nudges that tell them to look.
//!
//! A nudge carries no message: a connection that is nudged reads the messages after the last one
//! it sent from the database, so it can never skip, repeat or reorder one, whoever stored them
//! and whenever the nudge arrives (a lagging receiver simply reads once for many nudges). The
//! same read serves a client that resumes after a dropped connection. Typing and read marks are
//! ephemeral and travel in the nudge itself.
//!
//! Several nodes on one PostgreSQL: every nudge is also sent with `NOTIFY` on
//! [`CHANNEL`], and each node's listener hands the others' nudges to its own connections. A
//! notification can be lost (a listener reconnecting); then the node nudges every chat it
//! serves once it is back, and each connection reads what it missed from the database.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::AppState;

/// PostgreSQL's notification channel for chat nudges.
pub const CHANNEL: &str = "okwallet_chat";

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
    /// New call signals are stored: read after your last one.
    Signals,
}

/// The chats this node's connections listen to.
pub struct Hub {
    chats: Mutex<HashMap<String, broadcast::Sender<Nudge>>>,
    /// This node, so that it ignores its own notifications.
    node: String,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub {
            chats: Mutex::default(),
            node: store::new_id(),
        }
    }
}

impl Hub {
    pub fn new() -> Hub {
        Hub::default()
    }

    /// The chats with listeners here.
    fn chat_ids(&self) -> Vec<String> {
        let chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        chats.keys().cloned().collect()
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

/// Nudges a chat's listeners on every node.
pub async fn nudge(state: &AppState, chat_id: &str, nudge: Nudge) {
    state.chat.nudge(chat_id, nudge);
    let payload = encode(&state.chat.node, chat_id, nudge);
    if let Err(error) = state.db.notify(CHANNEL, &payload).await {
        // The other nodes' connections catch up on their next nudge or reconnection.
        tracing::warn!(%error, "a chat nudge did not reach the other nodes");
    }
}

fn encode(node: &str, chat_id: &str, nudge: Nudge) -> String {
    let (kind, agent, seq) = match nudge {
        Nudge::Messages => ("m", false, 0),
        Nudge::Typing { agent } => ("t", agent, 0),
        Nudge::Read { agent, seq } => ("r", agent, seq),
        Nudge::State => ("s", false, 0),
        Nudge::Signals => ("g", false, 0),
    };
    format!("{node}|{chat_id}|{kind}|{}|{seq}", u8::from(agent))
}

/// (node, chat, nudge) from a notification; `None` for anything else.
fn decode(payload: &str) -> Option<(&str, &str, Nudge)> {
    let mut parts = payload.split('|');
    let node = parts.next()?;
    let chat = parts.next()?;
    let kind = parts.next()?;
    let agent = parts.next()? == "1";
    let seq: i64 = parts.next()?.parse().ok()?;
    let nudge = match kind {
        "m" => Nudge::Messages,
        "t" => Nudge::Typing { agent },
        "r" => Nudge::Read { agent, seq },
        "s" => Nudge::State,
        "g" => Nudge::Signals,
        _ => return None,
    };
    Some((node, chat, nudge))
}

/// On PostgreSQL, hands the other nodes' nudges to this node's connections, for as long as the
/// process runs (reconnecting after a failure); nothing on SQLite.
pub fn spawn_listener(state: AppState) {
    tokio::spawn(async move {
        let mut lost = false;
        loop {
            let mut listener = match state.db.listen(CHANNEL).await {
                Ok(Some(l)) => l,
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for other nodes' chat messages");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    lost = true;
                    continue;
                }
            };
            if lost {
                // What was said while we were not listening is in the database.
                for chat in state.chat.chat_ids() {
                    state.chat.nudge(&chat, Nudge::Messages);
                    state.chat.nudge(&chat, Nudge::State);
                    state.chat.nudge(&chat, Nudge::Signals);
                }
            }
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        if let Some((node, chat, nudge)) = decode(n.payload()) {
                            if node != state.chat.node {
                                state.chat.nudge(chat, nudge);
                            }
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "lost the chat notifications; listening again");
                        lost = true;
                        break;
                    }
                }
            }
        }
    });
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

    #[test]
    fn nudges_travel_as_text_and_back() {
        for n in [
            Nudge::Messages,
            Nudge::State,
            Nudge::Signals,
            Nudge::Typing { agent: true },
            Nudge::Read {
                agent: false,
                seq: 42,
            },
        ] {
            let text = encode("node1", "chat1", n);
            assert_eq!(decode(&text), Some(("node1", "chat1", n)));
        }
        assert_eq!(decode("x|y|q|0|0"), None);
        assert_eq!(decode("nonsense"), None);
    }
}
