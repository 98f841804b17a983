//! Calls from a PBX's events, in the generic CTI format open-source help desks accept
//! (`newCall`, `ringing`, `answer`, `hangup`, `transfer` with `from`, `to`, `direction`,
//! `callId`, `user`, `queue`, `answeringNumber`, `cause`), so a PBX integration written for them
//! can point at okwallet.
//!
//! # The rules
//! - A call is what its events say **in time order**, the time each event carries (a PBX's
//!   queue may deliver a `hangup` before the `answer` it follows); ties go newCall, ringing,
//!   answer, transfer, hangup. The same call, event and time twice is one event (the store
//!   keeps one), so a PBX that retries changes nothing.
//! - Direction, numbers and queue come from the `newCall`, or else from the earliest event that
//!   carries them. The call starts at its earliest event.
//! - `answer` makes it `answered` at its time; `user` names who answered (later answers keep
//!   the first time). `transfer` hands it on: its `user` becomes who has the call.
//! - `hangup` ends it with its `cause`; events after the hangup change nothing. An answered call
//!   ends `ended`; an inbound call nobody answered ends `missed` (the call log lists those to
//!   call back); an outbound one `not_answered`.
//! - A call from a blocked number is `rejected` from its first event on: the PBX was told to
//!   reject it, and whatever it reports afterwards does not make it a missed call.

use serde::Serialize;

/// One of the generic format's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum EventKind {
    #[serde(rename = "newCall")]
    NewCall,
    #[serde(rename = "ringing")]
    Ringing,
    #[serde(rename = "answer")]
    Answer,
    #[serde(rename = "transfer")]
    Transfer,
    #[serde(rename = "hangup")]
    Hangup,
}

impl EventKind {
    /// The name as the PBX sends it (exactly: `newCall`, `ringing`, `answer`, `hangup`,
    /// `transfer`).
    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "newCall" => EventKind::NewCall,
            "ringing" => EventKind::Ringing,
            "answer" => EventKind::Answer,
            "transfer" => EventKind::Transfer,
            "hangup" => EventKind::Hangup,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::NewCall => "newCall",
            EventKind::Ringing => "ringing",
            EventKind::Answer => "answer",
            EventKind::Transfer => "transfer",
            EventKind::Hangup => "hangup",
        }
    }
}

/// Which way a call goes, seen from us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    /// `in` or `out` (also `inbound`, `outbound`).
    pub fn parse(s: &str) -> Option<Direction> {
        match s.trim().to_ascii_lowercase().as_str() {
            "in" | "inbound" => Some(Direction::In),
            "out" | "outbound" => Some(Direction::Out),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// Where a call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Ringing,
    Answered,
    Ended,
    Missed,
    NotAnswered,
    Rejected,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Ringing => "ringing",
            CallState::Answered => "answered",
            CallState::Ended => "ended",
            CallState::Missed => "missed",
            CallState::NotAnswered => "not_answered",
            CallState::Rejected => "rejected",
        }
    }

    /// Still going on.
    pub fn live(self) -> bool {
        matches!(self, CallState::Ringing | CallState::Answered)
    }
}

/// One event as received (fields the PBX left out are empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub at_ms: i64,
    pub direction: Option<Direction>,
    pub from: String,
    pub to: String,
    /// Who the event is about: the agents a call rings for, who answered, who it went to.
    pub users: Vec<String>,
    pub queue: String,
    pub answering_number: String,
    pub cause: String,
}

/// A call as its events make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub direction: Direction,
    pub from: String,
    pub to: String,
    pub queue: String,
    /// Who the call rings for, or who has it once answered or transferred.
    pub users: Vec<String>,
    pub answering_number: String,
    pub state: CallState,
    pub cause: String,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
}

impl Call {
    /// The other party's number: the caller of an inbound call, the callee of an outbound one.
    pub fn remote_number(&self) -> &str {
        match self.direction {
            Direction::In => &self.from,
            Direction::Out => &self.to,
        }
    }
}

/// The call `events` make (see the module's rules); `None` without events. `blocked`: the
/// remote number is on the blocked list.
pub fn fold(events: &[Event], blocked: bool) -> Option<Call> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| (e.at_ms, e.kind));
    let first = sorted.first()?;
    let carrier = sorted
        .iter()
        .find(|e| e.kind == EventKind::NewCall)
        .or_else(|| sorted.iter().find(|e| e.direction.is_some()))
        .unwrap_or(first);
    let mut call = Call {
        direction: carrier.direction.unwrap_or(Direction::In),
        from: carrier.from.clone(),
        to: carrier.to.clone(),
        queue: carrier.queue.clone(),
        users: Vec::new(),
        answering_number: String::new(),
        state: CallState::Ringing,
        cause: String::new(),
        started_at_ms: first.at_ms,
        answered_at_ms: None,
        ended_at_ms: None,
    };
    for e in &sorted {
        if call.from.is_empty() {
            call.from.clone_from(&e.from);
        }
        if call.to.is_empty() {
            call.to.clone_from(&e.to);
        }
        if call.queue.is_empty() {
            call.queue.clone_from(&e.queue);
        }
    }
    for e in sorted {
        if call.ended_at_ms.is_some() {
            break;
        }
        match e.kind {
            EventKind::NewCall | EventKind::Ringing => {
                if call.answered_at_ms.is_none() && !e.users.is_empty() {
                    call.users.clone_from(&e.users);
                }
            }
            EventKind::Answer => {
                if call.answered_at_ms.is_none() {
                    call.answered_at_ms = Some(e.at_ms);
                    if !e.users.is_empty() {
                        call.users.clone_from(&e.users);
                    }
                    call.answering_number.clone_from(&e.answering_number);
                }
            }
            EventKind::Transfer => {
                if !e.users.is_empty() {
                    call.users.clone_from(&e.users);
                }
            }
            EventKind::Hangup => {
                call.ended_at_ms = Some(e.at_ms);
                call.cause.clone_from(&e.cause);
            }
        }
    }
    call.state = match (blocked, call.answered_at_ms, call.ended_at_ms) {
        (true, _, _) => CallState::Rejected,
        (false, Some(_), Some(_)) => CallState::Ended,
        (false, Some(_), None) => CallState::Answered,
        (false, None, None) => CallState::Ringing,
        (false, None, Some(_)) => match call.direction {
            Direction::In => CallState::Missed,
            Direction::Out => CallState::NotAnswered,
        },
    };
    Some(call)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, at_ms: i64) -> Event {
        Event {
            kind,
            at_ms,
            direction: None,
            from: String::new(),
            to: String::new(),
            users: Vec::new(),
            queue: String::new(),
            answering_number: String::new(),
            cause: String::new(),
        }
    }

    fn new_call(at_ms: i64, direction: Direction) -> Event {
        Event {
            direction: Some(direction),
            from: "+8613800138000".into(),
            to: "+864001234567".into(),
            queue: "hotline".into(),
            users: vec!["A1001".into(), "A1002".into()],
            ..ev(EventKind::NewCall, at_ms)
        }
    }

    fn with_users(mut e: Event, users: &[&str]) -> Event {
        e.users = users.iter().map(|u| (*u).to_owned()).collect();
        e
    }

    fn with_cause(mut e: Event, cause: &str) -> Event {
        e.cause = cause.to_owned();
        e
    }

    struct Case {
        name: &'static str,
        events: Vec<Event>,
        blocked: bool,
        state: CallState,
        users: &'static [&'static str],
        answered: Option<i64>,
        ended: Option<i64>,
        cause: &'static str,
    }

    #[test]
    fn calls_follow_their_events_in_time_order() {
        use EventKind::*;
        let cases = vec![
            Case {
                name: "a new call rings for its agents",
                events: vec![new_call(1_000, Direction::In)],
                blocked: false,
                state: CallState::Ringing,
                users: &["A1001", "A1002"],
                answered: None,
                ended: None,
                cause: "",
            },
            Case {
                name: "answered and hung up",
                events: vec![
                    new_call(1_000, Direction::In),
                    ev(Ringing, 1_500),
                    with_users(ev(Answer, 9_000), &["A1002"]),
                    with_cause(ev(Hangup, 60_000), "normalClearing"),
                ],
                blocked: false,
                state: CallState::Ended,
                users: &["A1002"],
                answered: Some(9_000),
                ended: Some(60_000),
                cause: "normalClearing",
            },
            Case {
                name: "hangup delivered before the answer it follows",
                events: vec![
                    with_cause(ev(Hangup, 60_000), "normalClearing"),
                    new_call(1_000, Direction::In),
                    with_users(ev(Answer, 9_000), &["A1002"]),
                ],
                blocked: false,
                state: CallState::Ended,
                users: &["A1002"],
                answered: Some(9_000),
                ended: Some(60_000),
                cause: "normalClearing",
            },
            Case {
                name: "inbound, nobody answered: missed",
                events: vec![
                    new_call(1_000, Direction::In),
                    with_cause(ev(Hangup, 30_000), "cancel"),
                ],
                blocked: false,
                state: CallState::Missed,
                users: &["A1001", "A1002"],
                answered: None,
                ended: Some(30_000),
                cause: "cancel",
            },
            Case {
                name: "outbound, the customer did not pick up",
                events: vec![
                    new_call(1_000, Direction::Out),
                    with_cause(ev(Hangup, 30_000), "noAnswer"),
                ],
                blocked: false,
                state: CallState::NotAnswered,
                users: &["A1001", "A1002"],
                answered: None,
                ended: Some(30_000),
                cause: "noAnswer",
            },
            Case {
                name: "transferred to another agent",
                events: vec![
                    new_call(1_000, Direction::In),
                    with_users(ev(Answer, 5_000), &["A1001"]),
                    with_users(ev(Transfer, 20_000), &["A1003"]),
                ],
                blocked: false,
                state: CallState::Answered,
                users: &["A1003"],
                answered: Some(5_000),
                ended: None,
                cause: "",
            },
            Case {
                name: "a second answer keeps the first time",
                events: vec![
                    new_call(1_000, Direction::In),
                    with_users(ev(Answer, 5_000), &["A1001"]),
                    with_users(ev(Answer, 7_000), &["A1002"]),
                ],
                blocked: false,
                state: CallState::Answered,
                users: &["A1001"],
                answered: Some(5_000),
                ended: None,
                cause: "",
            },
            Case {
                name: "events after the hangup change nothing",
                events: vec![
                    new_call(1_000, Direction::In),
                    with_cause(ev(Hangup, 10_000), "cancel"),
                    with_users(ev(Answer, 12_000), &["A1001"]),
                ],
                blocked: false,
                state: CallState::Missed,
                users: &["A1001", "A1002"],
                answered: None,
                ended: Some(10_000),
                cause: "cancel",
            },
            Case {
                name: "answer and hangup in the same millisecond: answered first",
                events: vec![
                    with_cause(ev(Hangup, 5_000), "normalClearing"),
                    with_users(ev(Answer, 5_000), &["A1001"]),
                    new_call(1_000, Direction::In),
                ],
                blocked: false,
                state: CallState::Ended,
                users: &["A1001"],
                answered: Some(5_000),
                ended: Some(5_000),
                cause: "normalClearing",
            },
            Case {
                name: "a blocked caller is rejected, not missed",
                events: vec![
                    new_call(1_000, Direction::In),
                    with_cause(ev(Hangup, 1_200), "busy"),
                ],
                blocked: true,
                state: CallState::Rejected,
                users: &["A1001", "A1002"],
                answered: None,
                ended: Some(1_200),
                cause: "busy",
            },
        ];
        for c in cases {
            let call = fold(&c.events, c.blocked).expect(c.name);
            assert_eq!(call.state, c.state, "{}", c.name);
            assert_eq!(call.users, c.users, "{}", c.name);
            assert_eq!(call.answered_at_ms, c.answered, "{}", c.name);
            assert_eq!(call.ended_at_ms, c.ended, "{}", c.name);
            assert_eq!(call.cause, c.cause, "{}", c.name);
            assert_eq!(call.started_at_ms, 1_000, "{}", c.name);
            assert_eq!(call.queue, "hotline", "{}", c.name);
        }
    }

    #[test]
    fn numbers_come_from_the_new_call_or_the_first_event_that_has_them() {
        let mut late = ev(EventKind::Ringing, 2_000);
        late.from = "+85230001234".into();
        late.to = "+864001234567".into();
        late.direction = Some(Direction::In);
        let call = fold(&[ev(EventKind::Answer, 3_000), late], false).unwrap();
        assert_eq!(call.from, "+85230001234");
        assert_eq!(call.remote_number(), "+85230001234");
        assert_eq!(call.started_at_ms, 2_000);
        assert_eq!(call.state, CallState::Answered);

        let out = fold(&[new_call(1, Direction::Out)], false).unwrap();
        assert_eq!(out.remote_number(), "+864001234567");
        assert!(fold(&[], false).is_none());
    }

    #[test]
    fn names_round_trip() {
        for k in [
            EventKind::NewCall,
            EventKind::Ringing,
            EventKind::Answer,
            EventKind::Transfer,
            EventKind::Hangup,
        ] {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("NewCall"), None);
        assert_eq!(Direction::parse("Inbound"), Some(Direction::In));
        assert_eq!(Direction::parse("sideways"), None);
    }
}
