//! Routing: which agent a new ticket goes to, and which tickets go back to the queue when an
//! agent leaves.
//!
//! The rules, precisely:
//! - An agent *qualifies* for a need when they are [`Presence::Online`] (away and offline
//!   agents get nothing new), their open load is below their capacity, they speak the ticket's
//!   language, and they have the category's skill — an agent with an empty category list takes
//!   every category.
//! - Among those who qualify, [`choose`] takes the least loaded; on equal load the least
//!   recently assigned (never assigned first), which makes equal agents take turns
//!   (round-robin); on a tie of both, the smallest id, so the answer never depends on the
//!   order of the list.
//! - Nobody qualifies: `None`, and the ticket waits in its group's queue.
//! - When an agent goes offline, the tickets on which the customer is waiting on us (`new`,
//!   `open`) go back to the queue; tickets waiting on the customer or a third party (`pending`,
//!   `on_hold`) stay with the agent who knows them, until they become `open` again while the
//!   agent is still offline ([`must_requeue`]). Going away keeps every ticket.
//! - Manual reassignment refuses only unknown and offline agents: a supervisor may knowingly
//!   exceed a capacity or a skill, but an offline agent would never see the ticket.
//!
//! Never: read the clock (the instant of an assignment is passed in) or touch storage.

use jiff::Timestamp;

use crate::ticket::{Category, TicketStatus};

/// An agent's id as stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentId(pub String);

/// A ticket's id as stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketId(pub String);

/// A language tag, compared without case (`zh`, `en`, `zh-Hant`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language(String);

impl Language {
    pub fn new(tag: &str) -> Language {
        Language(tag.trim().to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether an agent takes new work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Presence {
    Online,
    Away,
    Offline,
}

/// An agent as routing sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub presence: Presence,
    /// How many open tickets they take at most.
    pub capacity: u32,
    /// How many open tickets they have now.
    pub open_load: u32,
    pub languages: Vec<Language>,
    /// Their category skills; empty: every category.
    pub categories: Vec<Category>,
    pub last_assigned_at: Option<Timestamp>,
}

impl Agent {
    /// Whether they may be given a ticket with this need now.
    pub fn qualifies(&self, need: &Need) -> bool {
        self.presence == Presence::Online
            && self.open_load < self.capacity
            && self.languages.contains(&need.language)
            && (self.categories.is_empty() || self.categories.contains(&need.category))
    }
}

/// What a ticket needs from its agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub language: Language,
    pub category: Category,
}

/// The agent a ticket with this need goes to (see the module's rules).
pub fn choose<'a>(agents: &'a [Agent], need: &Need) -> Option<&'a AgentId> {
    agents
        .iter()
        .filter(|a| a.qualifies(need))
        // `None < Some(_)`: never assigned comes first.
        .min_by_key(|a| (a.open_load, a.last_assigned_at, &a.id))
        .map(|a| &a.id)
}

/// Chooses and records the assignment on the chosen agent (load and time), as the caller
/// would store it.
pub fn assign(agents: &mut [Agent], need: &Need, now: Timestamp) -> Option<AgentId> {
    let id = choose(agents, need)?.clone();
    let agent = agents.iter_mut().find(|a| a.id == id)?;
    agent.open_load = agent.open_load.saturating_add(1);
    agent.last_assigned_at = Some(now);
    Some(id)
}

/// Whether a ticket in `status` held by an agent with `presence` must go back to the queue.
pub fn must_requeue(status: TicketStatus, presence: Presence) -> bool {
    presence == Presence::Offline && status.awaits_agent()
}

/// A ticket and who holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub ticket: TicketId,
    pub agent: AgentId,
    pub status: TicketStatus,
}

/// The tickets to hand back to the queue when `agent` goes offline, in the given order.
pub fn hand_back<'a>(assignments: &'a [Assignment], agent: &AgentId) -> Vec<&'a TicketId> {
    assignments
        .iter()
        .filter(|a| a.agent == *agent && must_requeue(a.status, Presence::Offline))
        .map(|a| &a.ticket)
        .collect()
}

/// Why a manual reassignment is refused, in order of precedence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReassignRefusal {
    #[error("no such agent")]
    UnknownAgent,
    #[error("the agent is offline and would not see the ticket")]
    Offline,
}

/// Checks a supervisor's reassignment to `to` (see the module's rules).
pub fn check_reassign(agents: &[Agent], to: &AgentId) -> Result<(), ReassignRefusal> {
    let agent = agents
        .iter()
        .find(|a| a.id == *to)
        .ok_or(ReassignRefusal::UnknownAgent)?;
    if agent.presence == Presence::Offline {
        return Err(ReassignRefusal::Offline);
    }
    Ok(())
}

/// A support group as routing sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSkills {
    pub id: String,
    /// Empty: every language.
    pub languages: Vec<Language>,
    /// Empty: every category.
    pub categories: Vec<Category>,
}

impl GroupSkills {
    fn takes_category(&self, category: Category) -> bool {
        self.categories.is_empty() || self.categories.contains(&category)
    }

    fn takes_language(&self, language: &Language) -> bool {
        self.languages.is_empty() || self.languages.contains(language)
    }
}

/// The group a new ticket goes to: the first group (in the given order) with both the
/// category and the language; else the first with the category; else the first with the
/// language; else the first group. `None` only when there are no groups.
pub fn choose_group<'a>(groups: &'a [GroupSkills], need: &Need) -> Option<&'a str> {
    groups
        .iter()
        .find(|g| g.takes_category(need.category) && g.takes_language(&need.language))
        .or_else(|| groups.iter().find(|g| g.takes_category(need.category)))
        .or_else(|| groups.iter().find(|g| g.takes_language(&need.language)))
        .or_else(|| groups.first())
        .map(|g| g.id.as_str())
}
