//! What a reply or an edit does to a ticket: the new status, priority, category, assignee,
//! group and tags, and the events that record it — or why it is refused.
//!
//! # Who may do what
//! - The **requester** may only reply publicly. Their reply to a `pending` ticket (we were
//!   waiting on them) or a `solved` one makes it `open` again; a reply to a `solved` ticket is
//!   also a reopening.
//! - An **agent** (any staff member) may reply publicly, write an internal note, and set the
//!   status, priority, category, assignee, group and tags, alone or together with a reply.
//!   - A public reply to a `new` ticket makes it `open` unless a status is asked for: the
//!     customer has heard from us, the next move is still ours.
//!   - An internal note changes nothing by itself: the customer hears nothing.
//!   - An agent may set `open`, `pending`, `on_hold` and `solved`. Never `new` (a ticket is
//!     new only until someone touches it) and never `closed`: closing is the system's, some
//!     days after a solve, so that the customer can still reopen by replying meanwhile.
//!   - Answering (publicly) or solving a ticket nobody holds gives it to that agent: the
//!     customer now talks to them, and every solve has an owner in the figures.
//!   - Reopening a solved ticket by status (`open`, `pending`, `on_hold`) is a reopening too.
//! - The **system** may close a solved ticket, and do what an agent may.
//! - A `closed` ticket refuses every change: a later message starts a follow-up ticket.
//! - A request that changes nothing (no message, and every field as it already is) is refused,
//!   so that a mistaken empty form does not pretend to have done something.
//!
//! Tags are lowercase `[a-z0-9_-]{1,30}` ([`crate::macros::is_valid_tag`]); adding one that is
//! there or removing one that is not is not a change.
//!
//! Never: read the clock, touch storage, or decide whether an assignee exists (the caller
//! checks agents; see [`crate::routing::check_reassign`]).

use std::collections::BTreeSet;

use crate::macros::is_valid_tag;
use crate::ticket::{Category, Priority, TicketStatus};

/// The parts of a ticket a change can touch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub status: TicketStatus,
    pub priority: Priority,
    pub category: Category,
    pub assignee: Option<String>,
    pub group: Option<String>,
    pub tags: BTreeSet<String>,
}

/// Who asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Requester,
    /// A staff member, by user id.
    Agent(String),
    System,
}

/// A message that comes with the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    Public,
    Internal,
}

/// What is asked for; `None` and empty lists leave a part as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub message: Option<Message>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub category: Option<Category>,
    /// `Some(None)` gives the ticket back to its group's queue.
    pub assignee: Option<Option<String>>,
    pub group: Option<String>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
}

/// What happened, in the order it is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Emitted {
    PublicReply {
        by_agent: bool,
    },
    InternalNote,
    Reopened,
    StatusChanged {
        from: TicketStatus,
        to: TicketStatus,
    },
    PriorityChanged {
        from: Priority,
        to: Priority,
    },
    CategoryChanged {
        from: Category,
        to: Category,
    },
    Assigned {
        from: Option<String>,
        to: Option<String>,
    },
    GroupChanged {
        from: Option<String>,
        to: String,
    },
    Tagged {
        added: Vec<String>,
        removed: Vec<String>,
    },
}

/// Why a change is refused, in order of precedence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the ticket is closed; open a new one")]
    Closed,
    #[error("only staff may write internal notes or change a ticket's fields")]
    RequesterMayOnlyReply,
    #[error("the status {0} cannot be set by hand")]
    StatusNotSettable(&'static str),
    #[error("invalid tag {0:?}")]
    InvalidTag(String),
    #[error("nothing to change")]
    Nothing,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Closed => "ticket_closed",
            Refusal::RequesterMayOnlyReply => "forbidden",
            Refusal::StatusNotSettable(_) => "status_not_settable",
            Refusal::InvalidTag(_) => "invalid_tag",
            Refusal::Nothing => "nothing_to_change",
        }
    }
}

/// The state after `request` by `actor`, and what to record (see the module's rules).
pub fn plan(
    state: &State,
    actor: &Actor,
    request: &Request,
) -> Result<(State, Vec<Emitted>), Refusal> {
    if state.status == TicketStatus::Closed {
        return Err(Refusal::Closed);
    }
    let requester = *actor == Actor::Requester;
    if requester
        && (request.message == Some(Message::Internal)
            || request.status.is_some()
            || request.priority.is_some()
            || request.category.is_some()
            || request.assignee.is_some()
            || request.group.is_some()
            || !request.add_tags.is_empty()
            || !request.remove_tags.is_empty())
    {
        return Err(Refusal::RequesterMayOnlyReply);
    }
    if let Some(status) = request.status {
        let settable = match status {
            TicketStatus::New => false,
            TicketStatus::Closed => *actor == Actor::System && state.status == TicketStatus::Solved,
            _ => true,
        };
        if !settable {
            return Err(Refusal::StatusNotSettable(status.as_str()));
        }
    }
    if let Some(bad) = request
        .add_tags
        .iter()
        .chain(&request.remove_tags)
        .find(|t| !is_valid_tag(t))
    {
        return Err(Refusal::InvalidTag(bad.clone()));
    }

    let mut next = state.clone();
    let mut emitted = Vec::new();
    match request.message {
        Some(Message::Public) => emitted.push(Emitted::PublicReply {
            by_agent: !requester,
        }),
        Some(Message::Internal) => emitted.push(Emitted::InternalNote),
        None => {}
    }

    let status = match (request.status, request.message, requester) {
        (Some(s), _, _) => s,
        (None, Some(Message::Public), true) => match state.status {
            TicketStatus::Pending | TicketStatus::Solved => TicketStatus::Open,
            s => s,
        },
        (None, Some(Message::Public), false) if state.status == TicketStatus::New => {
            TicketStatus::Open
        }
        _ => state.status,
    };
    if status != state.status {
        if state.status == TicketStatus::Solved && status != TicketStatus::Closed {
            emitted.push(Emitted::Reopened);
        }
        emitted.push(Emitted::StatusChanged {
            from: state.status,
            to: status,
        });
        next.status = status;
    }
    if let Some(p) = request.priority.filter(|p| *p != state.priority) {
        emitted.push(Emitted::PriorityChanged {
            from: state.priority,
            to: p,
        });
        next.priority = p;
    }
    if let Some(c) = request.category.filter(|c| *c != state.category) {
        emitted.push(Emitted::CategoryChanged {
            from: state.category,
            to: c,
        });
        next.category = c;
    }
    if let Some(g) = request
        .group
        .as_ref()
        .filter(|g| state.group.as_ref() != Some(*g))
    {
        emitted.push(Emitted::GroupChanged {
            from: state.group.clone(),
            to: g.clone(),
        });
        next.group = Some(g.clone());
    }
    let mut assignee = match &request.assignee {
        Some(a) => a.clone(),
        None => state.assignee.clone(),
    };
    let answers = request.message == Some(Message::Public);
    if (next.status == TicketStatus::Solved || answers)
        && assignee.is_none()
        && request.assignee.is_none()
    {
        if let Actor::Agent(id) = actor {
            assignee = Some(id.clone());
        }
    }
    if assignee != state.assignee {
        emitted.push(Emitted::Assigned {
            from: state.assignee.clone(),
            to: assignee.clone(),
        });
        next.assignee = assignee;
    }
    let added: Vec<String> = request
        .add_tags
        .iter()
        .filter(|t| !state.tags.contains(*t))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let removed: Vec<String> = request
        .remove_tags
        .iter()
        .filter(|t| state.tags.contains(*t))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        next.tags.extend(added.iter().cloned());
        for t in &removed {
            next.tags.remove(t);
        }
        emitted.push(Emitted::Tagged { added, removed });
    }
    if emitted.is_empty() {
        return Err(Refusal::Nothing);
    }
    Ok((next, emitted))
}
