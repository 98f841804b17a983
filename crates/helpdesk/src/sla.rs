//! SLA clocks: how much of its first-response and resolution targets a ticket has used, in its
//! group's business hours, and whether it breached them — computed from the ticket's event
//! list and an instant `now`, nothing else.
//!
//! # Targets
//! A [`Policy`] holds targets per priority, and optionally per (priority, category); each clock
//! falls back on its own from the (priority, category) row to the priority row (a row may set
//! only the resolution target and keep the priority's first-response target). A clock without a
//! target is still measured but never breaches. Targets are business durations, counted in the
//! group's [`hours::Schedule`] (see [`crate::business`]).
//!
//! # The clocks
//! Events are read in time order (ties keep their given order); events after `now` are not
//! read. Each clock is, at every instant, *running*, *paused* or *stopped*; it uses business
//! time only while running. "Used" is therefore the business time since creation minus the
//! business time spent paused.
//!
//! **First response** starts at creation and runs until the first public reply by an agent.
//! - An internal note is not a response: the customer hears nothing.
//! - An automatic acknowledgement ([`EventKind::AutoReply`]) is not a response: it promises an
//!   answer, it is not one.
//! - A public agent reply counts whatever the status, `pending` included.
//! - It is never paused. `pending` means "waiting on the customer", which cannot honestly
//!   precede our first answer; if an agent sets `pending` without replying, the customer has
//!   still heard nothing and the clock keeps running (otherwise a status change alone could
//!   stop it).
//! - Solving or closing a ticket before any agent reply stops it as *cancelled* (neither met nor
//!   breached; a solve notice is automatic, so it is not a response either). Reopening never
//!   gives a ticket a new first-response target.
//!
//! **Resolution** starts at creation; it runs in `new`, `open` and `on_hold`, is paused in
//! `pending`, and stops in `solved` and `closed`.
//! - `on_hold` (waiting on a third party or another team) does not pause it: the customer is
//!   still waiting on *us*, and whom we wait on is our business. [`Policy::on_hold_pauses`]
//!   turns that into a pause for desks that agree otherwise with their customers.
//! - Reopening — a customer's public reply to a `solved` ticket, [`EventKind::Reopened`], or a
//!   status change from `solved` to any open status — resumes it where it stopped: business time
//!   already used stays used.
//! - A customer's public reply to a `pending` ticket makes it `open` again (the clock resumes).
//!   Status changes to the status a ticket already has change nothing, so a store that also
//!   records that automatic change does not count it twice.
//!
//! **Re-targeting.** A priority or category change takes effect at its instant with the new
//! row's targets, measured from creation as ever (used time is kept). A new target already
//! below the used time breaches at the change.
//!
//! **`closed` is final**: later events are ignored. **Merging** a ticket into another closes
//! it; its clocks stop as *cancelled* (the surviving ticket carries the obligation), unless
//! they had already breached.
//!
//! # Breaches
//! A clock breaches at the earliest instant at which it is not stopped and its used time has
//! reached its target: `due_at` is inclusive (a reply at exactly `due_at` meets the target; one
//! second later breaches). A breach is never undone: meeting the target late, lowering the
//! priority or reopening leaves `breached_at` as it was, and the state says `breached`. A clock
//! is near a breach from the instant its used time reaches the policy's fraction of its target
//! (inclusive), under the same conditions.
//!
//! # Projections
//! For a clock that is not stopped, `due_at` and `near_breach_at` are projected from `now`: the
//! instants the thresholds would be reached if the clock ran from `now` on (for a paused clock,
//! as if it resumed at `now`). For a stopped clock `due_at` is where the deadline stood when it
//! stopped. A breached clock's `due_at` is its `breached_at`.
//!
//! Never: read the clock, touch storage, or guess an event that is not in the list.

use hours::Schedule;
use jiff::{SignedDuration, Timestamp};

use crate::business;
use crate::ticket::{Category, Priority, TicketStatus};

/// One clock's targets; `None` means the clock has no target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    pub first_response: Option<SignedDuration>,
    pub resolution: Option<SignedDuration>,
}

/// Targets by priority, overridden per (priority, category), and when to warn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub by_priority: Vec<(Priority, Targets)>,
    /// Overrides, clock by clock: a `None` here falls back on the priority's target.
    pub by_category: Vec<(Priority, Category, Targets)>,
    /// Near a breach once this many thousandths of the target are used (800: at 80 %).
    pub near_breach_permille: u16,
    /// Whether `on_hold` pauses the resolution clock (by default it does not).
    pub on_hold_pauses: bool,
}

impl Policy {
    /// The targets in force for a ticket of this priority and category.
    pub fn targets(&self, priority: Priority, category: Category) -> Targets {
        let base = self
            .by_priority
            .iter()
            .find(|(p, _)| *p == priority)
            .map(|(_, t)| *t)
            .unwrap_or_default();
        match self
            .by_category
            .iter()
            .find(|(p, c, _)| *p == priority && *c == category)
        {
            Some((_, _, special)) => Targets {
                first_response: special.first_response.or(base.first_response),
                resolution: special.resolution.or(base.resolution),
            },
            None => base,
        }
    }
}

/// Something that happened to a ticket, at an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub at: Timestamp,
    pub kind: EventKind,
}

/// What happened; see the module's rules for what each one does to the clocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The ticket was created (status `new`); exactly one, the earliest event.
    Created {
        priority: Priority,
        category: Category,
    },
    /// A reply the customer sees, by an agent or by the customer.
    PublicReply {
        by_agent: bool,
    },
    /// An automatic message (acknowledgement, solve notice): not a response.
    AutoReply,
    /// A note only agents see: changes no clock.
    InternalNote,
    StatusChanged {
        to: TicketStatus,
    },
    PriorityChanged {
        to: Priority,
    },
    CategoryChanged {
        to: Category,
    },
    /// Explicitly reopened: status `open`.
    Reopened,
    /// Merged into another ticket: closed, clocks cancelled.
    Merged,
}

/// Why an event list cannot be evaluated, in order of precedence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    #[error("the events do not start with the ticket's creation")]
    NotCreatedFirst,
    #[error("the ticket is created twice")]
    CreatedTwice,
    #[error("the ticket is created after now")]
    CreatedAfterNow,
}

/// A clock's state at `now`, one of, in precedence order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClockState {
    /// The target was passed while the clock had not stopped (also when met late).
    Breached,
    /// Stopped by what it measures, in time (or without a target).
    Met,
    /// Stopped without what it measures (solved without a reply, merged).
    Cancelled,
    /// Not counting (waiting on the customer).
    Paused,
    /// Running, with at least the policy's fraction of the target used.
    NearBreach,
    Running,
}

impl ClockState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockState::Breached => "breached",
            ClockState::Met => "met",
            ClockState::Cancelled => "cancelled",
            ClockState::Paused => "paused",
            ClockState::NearBreach => "near_breach",
            ClockState::Running => "running",
        }
    }
}

/// One clock at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clock {
    pub state: ClockState,
    /// The target in force at `now`.
    pub target: Option<SignedDuration>,
    /// Business time used (running time only).
    pub used: SignedDuration,
    /// `target - used`; negative once the target is passed.
    pub remaining: Option<SignedDuration>,
    pub due_at: Option<Timestamp>,
    pub near_breach_at: Option<Timestamp>,
    pub breached_at: Option<Timestamp>,
    /// When it stopped, if it is stopped at `now`.
    pub stopped_at: Option<Timestamp>,
}

/// Which clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClockKind {
    FirstResponse,
    Resolution,
}

/// A ticket's clocks at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketSla {
    /// The `now` it was evaluated at.
    pub evaluated_at: Timestamp,
    pub status: TicketStatus,
    pub priority: Priority,
    pub category: Category,
    pub first_response: Clock,
    pub resolution: Clock,
}

/// A threshold crossed, to notify once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    pub clock: ClockKind,
    pub breached: bool,
    pub at: Timestamp,
}

impl TicketSla {
    pub fn clock(&self, kind: ClockKind) -> &Clock {
        match kind {
            ClockKind::FirstResponse => &self.first_response,
            ClockKind::Resolution => &self.resolution,
        }
    }

    /// The near-breaches and breaches reached in `(after, until]` (`until` no later than the
    /// evaluation's `now`, since projections are not events yet): a notifier that runs every
    /// minute with `after` = its previous run sends each alert exactly once.
    pub fn alerts(&self, after: Timestamp, until: Timestamp) -> Vec<Alert> {
        let until = until.min(self.evaluated_at);
        let mut out = Vec::new();
        for kind in [ClockKind::FirstResponse, ClockKind::Resolution] {
            let clock = self.clock(kind);
            for (breached, at) in [(false, clock.near_breach_at), (true, clock.breached_at)] {
                if let Some(at) = at.filter(|at| after < *at && *at <= until) {
                    out.push(Alert {
                        clock: kind,
                        breached,
                        at,
                    });
                }
            }
        }
        out.sort_by_key(|a| a.at);
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Running,
    Paused,
    Stopped,
}

/// One clock while the events are read.
#[derive(Clone, Debug)]
struct Tracker {
    mode: Mode,
    used: SignedDuration,
    /// Where the segment being measured starts.
    since: Timestamp,
    near_at: Option<Timestamp>,
    breached_at: Option<Timestamp>,
    stopped_at: Option<Timestamp>,
    cancelled: bool,
}

/// `target × permille / 1000`, exactly (in nanoseconds).
fn fraction(target: SignedDuration, permille: u16) -> SignedDuration {
    SignedDuration::from_nanos_i128(target.as_nanos() * i128::from(permille) / 1000)
}

impl Tracker {
    fn new(at: Timestamp) -> Tracker {
        Tracker {
            mode: Mode::Running,
            used: SignedDuration::ZERO,
            since: at,
            near_at: None,
            breached_at: None,
            stopped_at: None,
            cancelled: false,
        }
    }

    /// Measures `[since, to)` (or `[since, to]` when `inclusive`, for the last segment up to
    /// `now`) under `target`, noting thresholds reached.
    fn advance(
        &mut self,
        schedule: &Schedule,
        target: Option<SignedDuration>,
        permille: u16,
        to: Timestamp,
        inclusive: bool,
    ) {
        if let (Some(target), true) = (target, self.mode != Mode::Stopped) {
            let near = fraction(target, permille);
            for (threshold, slot) in [(near, &mut self.near_at), (target, &mut self.breached_at)] {
                if slot.is_some() {
                    continue;
                }
                if self.used >= threshold {
                    // Reached before this segment (a re-target, or exactly at its start).
                    *slot = Some(self.since);
                } else if self.mode == Mode::Running {
                    // A crossing exactly at `to` belongs to the next segment, whose mode may
                    // be "stopped" (a reply exactly at the deadline meets it).
                    if let Some(at) = business::add(schedule, self.since, threshold - self.used)
                        .filter(|at| *at < to || (inclusive && *at == to))
                    {
                        *slot = Some(at);
                    }
                }
            }
        }
        if self.mode == Mode::Running {
            self.used += business::elapsed(schedule, self.since, to);
        }
        self.since = to;
    }

    fn set_mode(&mut self, mode: Mode, at: Timestamp) {
        if mode == self.mode {
            return;
        }
        self.stopped_at = (mode == Mode::Stopped).then_some(at);
        if mode != Mode::Stopped {
            self.cancelled = false;
        }
        self.mode = mode;
    }

    fn stop(&mut self, at: Timestamp, cancelled: bool) {
        if self.mode != Mode::Stopped {
            self.set_mode(Mode::Stopped, at);
            self.cancelled = cancelled;
        }
    }

    fn report(
        &self,
        schedule: &Schedule,
        target: Option<SignedDuration>,
        permille: u16,
        now: Timestamp,
    ) -> Clock {
        let state = if self.breached_at.is_some() {
            ClockState::Breached
        } else {
            match self.mode {
                Mode::Stopped if self.cancelled => ClockState::Cancelled,
                Mode::Stopped => ClockState::Met,
                Mode::Paused => ClockState::Paused,
                Mode::Running if self.near_at.is_some() => ClockState::NearBreach,
                Mode::Running => ClockState::Running,
            }
        };
        let from = self.stopped_at.unwrap_or(now);
        let remaining = target.map(|t| t - self.used);
        let due_at = match (self.breached_at, remaining) {
            (Some(at), _) => Some(at),
            (None, Some(left)) => business::add(schedule, from, left),
            (None, None) => None,
        };
        let near_breach_at = match (self.near_at, target) {
            (Some(at), _) => Some(at),
            (None, Some(t)) if self.mode != Mode::Stopped => {
                business::add(schedule, now, fraction(t, permille) - self.used)
            }
            _ => None,
        };
        Clock {
            state,
            target,
            used: self.used,
            remaining,
            due_at,
            near_breach_at,
            breached_at: self.breached_at,
            stopped_at: self.stopped_at,
        }
    }
}

/// The resolution clock's mode in a status.
fn resolution_mode(status: TicketStatus, policy: &Policy) -> Mode {
    match status {
        TicketStatus::New | TicketStatus::Open => Mode::Running,
        TicketStatus::OnHold if policy.on_hold_pauses => Mode::Paused,
        TicketStatus::OnHold => Mode::Running,
        TicketStatus::Pending => Mode::Paused,
        TicketStatus::Solved | TicketStatus::Closed => Mode::Stopped,
    }
}

/// A ticket's SLA clocks at `now`, from its events, its group's business hours and the policy.
pub fn evaluate(
    policy: &Policy,
    schedule: &Schedule,
    events: &[Event],
    now: Timestamp,
) -> Result<TicketSla, SlaError> {
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by_key(|e| e.at);
    let (created_at, mut priority, mut category) = match ordered.first() {
        Some(Event {
            at,
            kind: EventKind::Created { priority, category },
        }) => (*at, *priority, *category),
        _ => return Err(SlaError::NotCreatedFirst),
    };
    if ordered[1..]
        .iter()
        .any(|e| matches!(e.kind, EventKind::Created { .. }))
    {
        return Err(SlaError::CreatedTwice);
    }
    if created_at > now {
        return Err(SlaError::CreatedAfterNow);
    }
    let permille = policy.near_breach_permille;
    let mut status = TicketStatus::New;
    let mut first = Tracker::new(created_at);
    let mut resolution = Tracker::new(created_at);
    for event in ordered[1..].iter().take_while(|e| e.at <= now) {
        if status == TicketStatus::Closed {
            break;
        }
        let at = event.at;
        let targets = policy.targets(priority, category);
        first.advance(schedule, targets.first_response, permille, at, false);
        resolution.advance(schedule, targets.resolution, permille, at, false);
        let to = match event.kind {
            EventKind::Created { .. } | EventKind::AutoReply | EventKind::InternalNote => None,
            EventKind::PublicReply { by_agent: true } => {
                first.stop(at, false);
                None
            }
            EventKind::PublicReply { by_agent: false } => {
                matches!(status, TicketStatus::Pending | TicketStatus::Solved)
                    .then_some(TicketStatus::Open)
            }
            EventKind::StatusChanged { to } => Some(to),
            EventKind::PriorityChanged { to } => {
                priority = to;
                None
            }
            EventKind::CategoryChanged { to } => {
                category = to;
                None
            }
            EventKind::Reopened => Some(TicketStatus::Open),
            EventKind::Merged => {
                first.stop(at, true);
                resolution.stop(at, true);
                status = TicketStatus::Closed;
                None
            }
        };
        if let Some(to) = to {
            status = to;
            resolution.set_mode(resolution_mode(to, policy), at);
            if matches!(to, TicketStatus::Solved | TicketStatus::Closed) {
                first.stop(at, true);
            }
        }
    }
    let targets = policy.targets(priority, category);
    first.advance(schedule, targets.first_response, permille, now, true);
    resolution.advance(schedule, targets.resolution, permille, now, true);
    Ok(TicketSla {
        evaluated_at: now,
        status,
        priority,
        category,
        first_response: first.report(schedule, targets.first_response, permille, now),
        resolution: resolution.report(schedule, targets.resolution, permille, now),
    })
}
