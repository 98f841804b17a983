//! Callbacks (回电): a customer leaves a number and a time window inside a hotline's open
//! hours, and agents call them back. The rules here decide whether a window may be asked for,
//! which windows to offer, and what an attempt's outcome does: done, another try later (and
//! when), or missed after too many tries.
//!
//! The rules, precisely:
//! - A window starts at most [`Policy::start_grace_ms`] in the past (the time it takes to fill in
//!   a form), lasts from [`Policy::window_min_ms`] to [`Policy::window_max_ms`], starts at most
//!   [`Policy::ahead_max_ms`] from now, and lies wholly inside one opening of the hotline
//!   (touching periods are one opening, as in the `hours` crate). Refusals come in that order.
//! - `reached` makes the callback done; `wrong_number` makes it done too (nobody will ever
//!   answer that number), and the customer is told to fix it.
//! - `no_answer`, `busy` and `voicemail` count a try. After [`Policy::max_attempts`] tries the
//!   callback is missed. Otherwise the next try is [`Policy::retry_after_ms`] from now when
//!   that is still inside the window; if not, the window moves to the start of the hotline's
//!   next opening (the same length, cut at the opening's end). A hotline open around the
//!   clock has no openings to move to, so the window moves by whole days, keeping the time of
//!   day the customer chose.
//!
//! Never: read the clock, touch storage, or know who the agent is.

use hours::{Schedule, Status};
use jiff::Timestamp;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// What the operator decides about callbacks (`[live]` in the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Tries before a callback is missed.
    pub max_attempts: i64,
    /// The wait before trying an unanswered number again.
    pub retry_after_ms: i64,
    /// The shortest window a customer may ask for.
    pub window_min_ms: i64,
    /// The longest window a customer may ask for.
    pub window_max_ms: i64,
    /// How far ahead a window may start.
    pub ahead_max_ms: i64,
    /// How far in the past a window may start (a form takes a moment to fill in).
    pub start_grace_ms: i64,
    /// Callbacks one customer may have waiting at once.
    pub pending_max: i64,
    /// How long an agent's claim on a callback lasts.
    pub claim_ms: i64,
    /// How long before its time an agent may claim a callback.
    pub claim_early_ms: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            max_attempts: 3,
            retry_after_ms: 15 * MINUTE_MS,
            window_min_ms: 15 * MINUTE_MS,
            window_max_ms: 4 * 60 * MINUTE_MS,
            ahead_max_ms: 14 * DAY_MS,
            start_grace_ms: 5 * MINUTE_MS,
            pending_max: 3,
            claim_ms: 10 * MINUTE_MS,
            claim_early_ms: 5 * MINUTE_MS,
        }
    }
}

/// Why a window is refused, in order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowRefusal {
    /// It starts in the past.
    InPast,
    /// It is shorter than the policy's minimum (or ends before it starts).
    TooShort { min_ms: i64 },
    /// It is longer than the policy's maximum.
    TooLong { max_ms: i64 },
    /// It starts too far ahead.
    TooFar { max_ms: i64 },
    /// It is not wholly inside one opening of the hotline; `next_open_ms` is when the hotline
    /// next opens at or after the window's start (if within the look-ahead).
    Closed { next_open_ms: Option<i64> },
}

impl WindowRefusal {
    pub fn code(self) -> &'static str {
        match self {
            WindowRefusal::InPast => "callback_window_in_past",
            WindowRefusal::TooShort { .. } => "callback_window_too_short",
            WindowRefusal::TooLong { .. } => "callback_window_too_long",
            WindowRefusal::TooFar { .. } => "callback_window_too_far",
            WindowRefusal::Closed { .. } => "callback_window_closed",
        }
    }
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
}

/// When the opening around or after `at_ms` opens and closes: `(opens, closes)`, `closes`
/// `None` when it never closes; `None` when nothing opens within the look-ahead.
pub fn opening_at_or_after(schedule: &Schedule, at_ms: i64) -> Option<(i64, Option<i64>)> {
    match schedule.status_at(ts(at_ms)) {
        Status::Open { closes_at } => Some((at_ms, closes_at.map(|t| t.as_millisecond()))),
        Status::Closed { opens_at: Some(o) } => {
            let o = o.as_millisecond();
            match schedule.status_at(ts(o)) {
                Status::Open { closes_at } => Some((o, closes_at.map(|t| t.as_millisecond()))),
                Status::Closed { .. } => None,
            }
        }
        Status::Closed { opens_at: None } => None,
    }
}

/// The start of the first opening that begins after `after_ms` (not the one running then).
fn next_opening_start(schedule: &Schedule, after_ms: i64) -> Option<(i64, Option<i64>)> {
    match schedule.status_at(ts(after_ms)) {
        Status::Open {
            closes_at: Some(c), ..
        } => opening_at_or_after(schedule, c.as_millisecond()),
        Status::Open { closes_at: None } => None,
        Status::Closed { .. } => opening_at_or_after(schedule, after_ms),
    }
}

/// Whether a customer may ask for a call between `start_ms` and `end_ms` (see the rules).
pub fn check_window(
    policy: &Policy,
    schedule: &Schedule,
    now_ms: i64,
    start_ms: i64,
    end_ms: i64,
) -> Result<(), WindowRefusal> {
    if start_ms < now_ms - policy.start_grace_ms {
        return Err(WindowRefusal::InPast);
    }
    let length = end_ms - start_ms;
    if length < policy.window_min_ms {
        return Err(WindowRefusal::TooShort {
            min_ms: policy.window_min_ms,
        });
    }
    if length > policy.window_max_ms {
        return Err(WindowRefusal::TooLong {
            max_ms: policy.window_max_ms,
        });
    }
    if start_ms > now_ms + policy.ahead_max_ms {
        return Err(WindowRefusal::TooFar {
            max_ms: policy.ahead_max_ms,
        });
    }
    match schedule.status_at(ts(start_ms)) {
        Status::Open { closes_at: None } => Ok(()),
        Status::Open { closes_at: Some(c) } if c.as_millisecond() >= end_ms => Ok(()),
        Status::Open { closes_at: Some(c) } => Err(WindowRefusal::Closed {
            next_open_ms: opening_at_or_after(schedule, c.as_millisecond()).map(|(o, _)| o),
        }),
        Status::Closed { opens_at } => Err(WindowRefusal::Closed {
            next_open_ms: opens_at.map(|o| o.as_millisecond()),
        }),
    }
}

/// Up to `count` windows of `length_ms` to offer, each wholly inside an opening, starting at
/// least `lead_ms` from now on a `step_ms` grid (an opening that starts off the grid offers its
/// start), within the policy's look-ahead.
pub fn slots(
    policy: &Policy,
    schedule: &Schedule,
    now_ms: i64,
    lead_ms: i64,
    step_ms: i64,
    length_ms: i64,
    count: usize,
) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let step_ms = step_ms.max(MINUTE_MS);
    let earliest = now_ms + lead_ms;
    let mut t = earliest.div_euclid(step_ms) * step_ms;
    if t < earliest {
        t += step_ms;
    }
    let last = now_ms + policy.ahead_max_ms;
    while out.len() < count && t <= last {
        let Some((open, closes)) = opening_at_or_after(schedule, t) else {
            break;
        };
        if open > last {
            break;
        }
        match closes {
            Some(c) if open + length_ms > c => {
                // Too short an opening for a whole window: go on after it.
                t = c;
            }
            _ => {
                out.push((open, open + length_ms));
                // The next grid point after this window's start.
                t = (open.div_euclid(step_ms) + 1) * step_ms;
            }
        }
    }
    out
}

/// How a try went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Reached,
    NoAnswer,
    Busy,
    Voicemail,
    WrongNumber,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Reached,
        Outcome::NoAnswer,
        Outcome::Busy,
        Outcome::Voicemail,
        Outcome::WrongNumber,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Reached => "reached",
            Outcome::NoAnswer => "no_answer",
            Outcome::Busy => "busy",
            Outcome::Voicemail => "voicemail",
            Outcome::WrongNumber => "wrong_number",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A callback's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for (another) try.
    Requested,
    Done,
    Missed,
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Requested => "requested",
            State::Done => "done",
            State::Missed => "missed",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        [
            State::Requested,
            State::Done,
            State::Missed,
            State::Cancelled,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// A callback as the rules see it before a try is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Tries recorded so far.
    pub attempts: i64,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
}

/// What a try does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct After {
    pub state: State,
    pub attempts: i64,
    /// When to try next (for `Requested`; otherwise as it was).
    pub next_attempt_at_ms: i64,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    /// The window moved to a later opening.
    pub moved: bool,
}

/// The callback after a try with `outcome` at `now_ms` (see the rules).
pub fn after_attempt(
    policy: &Policy,
    schedule: &Schedule,
    c: &Pending,
    outcome: Outcome,
    now_ms: i64,
) -> After {
    let attempts = c.attempts + 1;
    let stay = |state| After {
        state,
        attempts,
        next_attempt_at_ms: now_ms,
        window_start_ms: c.window_start_ms,
        window_end_ms: c.window_end_ms,
        moved: false,
    };
    match outcome {
        Outcome::Reached | Outcome::WrongNumber => return stay(State::Done),
        Outcome::NoAnswer | Outcome::Busy | Outcome::Voicemail => {}
    }
    if attempts >= policy.max_attempts {
        return stay(State::Missed);
    }
    let retry = now_ms + policy.retry_after_ms;
    if retry < c.window_end_ms {
        return After {
            state: State::Requested,
            attempts,
            next_attempt_at_ms: retry.max(c.window_start_ms),
            window_start_ms: c.window_start_ms,
            window_end_ms: c.window_end_ms,
            moved: false,
        };
    }
    let length = (c.window_end_ms - c.window_start_ms).max(policy.window_min_ms);
    let moved = if schedule.always_open {
        // Whole days later, at the time of day the customer chose, after the retry wait.
        let days = (retry - c.window_start_ms).div_euclid(DAY_MS) + 1;
        let start = c.window_start_ms + days * DAY_MS;
        Some((start, start + length))
    } else {
        next_opening_start(schedule, retry.max(c.window_end_ms)).map(|(open, closes)| {
            let end = match closes {
                Some(close) => (open + length).min(close),
                None => open + length,
            };
            (open, end)
        })
    };
    match moved {
        Some((start, end)) => After {
            state: State::Requested,
            attempts,
            next_attempt_at_ms: start,
            window_start_ms: start,
            window_end_ms: end,
            moved: true,
        },
        // The hotline never opens again (within the look-ahead): nobody can call.
        None => stay(State::Missed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Time, Weekday};

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    /// Monday to Friday 09:00–18:00 in Shanghai (UTC+8, no DST): 01:00–10:00 UTC.
    fn office() -> Schedule {
        Schedule::in_zone("Asia/Shanghai").unwrap().open(
            &[
                Weekday::Monday,
                Weekday::Tuesday,
                Weekday::Wednesday,
                Weekday::Thursday,
                Weekday::Friday,
            ],
            Time::constant(9, 0, 0, 0),
            Time::constant(18, 0, 0, 0),
        )
    }

    // 2026-11-25 is a Wednesday.
    const NOW: &str = "2026-11-25T02:00:00Z"; // 10:00 in Shanghai

    #[test]
    fn windows_are_checked_in_order() {
        let p = Policy::default();
        let s = office();
        let now = ms(NOW);
        let check = |a: &str, b: &str| check_window(&p, &s, now, ms(a), ms(b));
        assert_eq!(
            check("2026-11-25T03:00:00Z", "2026-11-25T03:30:00Z"),
            Ok(())
        );
        assert_eq!(
            check("2026-11-25T01:00:00Z", "2026-11-25T01:30:00Z"),
            Err(WindowRefusal::InPast)
        );
        // A minute late is a form being filled in.
        assert_eq!(
            check("2026-11-25T01:59:00Z", "2026-11-25T02:30:00Z"),
            Ok(())
        );
        assert!(matches!(
            check("2026-11-25T03:00:00Z", "2026-11-25T03:10:00Z"),
            Err(WindowRefusal::TooShort { .. })
        ));
        assert!(matches!(
            check("2026-11-25T03:00:00Z", "2026-11-25T02:50:00Z"),
            Err(WindowRefusal::TooShort { .. })
        ));
        assert!(matches!(
            check("2026-11-25T02:00:00Z", "2026-11-25T06:01:00Z"),
            Err(WindowRefusal::TooLong { .. })
        ));
        assert!(matches!(
            check("2026-12-10T03:00:00Z", "2026-12-10T03:30:00Z"),
            Err(WindowRefusal::TooFar { .. })
        ));
        // Ends after 18:00 Shanghai: the next opening is Thursday 09:00.
        assert_eq!(
            check("2026-11-25T09:45:00Z", "2026-11-25T10:15:00Z"),
            Err(WindowRefusal::Closed {
                next_open_ms: Some(ms("2026-11-26T01:00:00Z"))
            })
        );
        // Saturday: closed until Monday 09:00.
        assert_eq!(
            check("2026-11-28T03:00:00Z", "2026-11-28T03:30:00Z"),
            Err(WindowRefusal::Closed {
                next_open_ms: Some(ms("2026-11-30T01:00:00Z"))
            })
        );
        let always = Schedule::around_the_clock("UTC").unwrap();
        assert_eq!(
            check_window(
                &p,
                &always,
                now,
                ms("2026-11-28T22:00:00Z"),
                ms("2026-11-29T01:00:00Z")
            ),
            Ok(())
        );
    }

    #[test]
    fn slots_lie_inside_openings() {
        let p = Policy::default();
        let s = office();
        // Friday 17:10 Shanghai: one slot left today? 17:30–18:00 only.
        let now = ms("2026-11-27T09:10:00Z");
        let got = slots(
            &p,
            &s,
            now,
            15 * MINUTE_MS,
            30 * MINUTE_MS,
            30 * MINUTE_MS,
            3,
        );
        assert_eq!(
            got,
            vec![
                (ms("2026-11-27T09:30:00Z"), ms("2026-11-27T10:00:00Z")),
                (ms("2026-11-30T01:00:00Z"), ms("2026-11-30T01:30:00Z")),
                (ms("2026-11-30T01:30:00Z"), ms("2026-11-30T02:00:00Z")),
            ]
        );
        for (a, b) in got {
            assert_eq!(check_window(&p, &s, now, a, b), Ok(()));
        }
    }

    #[test]
    fn unanswered_calls_are_tried_again_in_the_window_then_at_the_next_opening() {
        let p = Policy::default();
        let s = office();
        let c = Pending {
            attempts: 0,
            window_start_ms: ms("2026-11-25T09:00:00Z"),
            window_end_ms: ms("2026-11-25T10:00:00Z"),
        };
        let a = after_attempt(&p, &s, &c, Outcome::NoAnswer, ms("2026-11-25T09:05:00Z"));
        assert_eq!(a.state, State::Requested);
        assert_eq!(a.attempts, 1);
        assert_eq!(a.next_attempt_at_ms, ms("2026-11-25T09:20:00Z"));
        assert!(!a.moved);
        // Too late for another try today: Thursday 09:00 Shanghai, an hour long.
        let c = Pending { attempts: 1, ..c };
        let a = after_attempt(&p, &s, &c, Outcome::Busy, ms("2026-11-25T09:50:00Z"));
        assert_eq!((a.state, a.attempts, a.moved), (State::Requested, 2, true));
        assert_eq!(a.window_start_ms, ms("2026-11-26T01:00:00Z"));
        assert_eq!(a.window_end_ms, ms("2026-11-26T02:00:00Z"));
        assert_eq!(a.next_attempt_at_ms, a.window_start_ms);
        // The third try is the last.
        let c = Pending { attempts: 2, ..c };
        let a = after_attempt(&p, &s, &c, Outcome::Voicemail, ms("2026-11-25T09:10:00Z"));
        assert_eq!((a.state, a.attempts), (State::Missed, 3));
        for (o, st) in [
            (Outcome::Reached, State::Done),
            (Outcome::WrongNumber, State::Done),
        ] {
            assert_eq!(after_attempt(&p, &s, &c, o, ms(NOW)).state, st);
        }
    }

    #[test]
    fn around_the_clock_moves_by_whole_days() {
        let p = Policy::default();
        let s = Schedule::around_the_clock("UTC").unwrap();
        let c = Pending {
            attempts: 0,
            window_start_ms: ms("2026-11-25T14:00:00Z"),
            window_end_ms: ms("2026-11-25T14:20:00Z"),
        };
        let a = after_attempt(&p, &s, &c, Outcome::NoAnswer, ms("2026-11-25T14:10:00Z"));
        assert!(a.moved);
        assert_eq!(a.window_start_ms, ms("2026-11-26T14:00:00Z"));
        assert_eq!(a.window_end_ms, ms("2026-11-26T14:20:00Z"));
    }

    #[test]
    fn a_window_is_cut_at_a_short_opening() {
        let p = Policy::default();
        let s = office().open(
            &[Weekday::Saturday],
            Time::constant(10, 0, 0, 0),
            Time::constant(10, 30, 0, 0),
        );
        let c = Pending {
            attempts: 0,
            window_start_ms: ms("2026-11-27T08:00:00Z"),
            window_end_ms: ms("2026-11-27T10:00:00Z"),
        };
        let a = after_attempt(&p, &s, &c, Outcome::NoAnswer, ms("2026-11-27T09:50:00Z"));
        assert_eq!(a.window_start_ms, ms("2026-11-28T02:00:00Z"));
        assert_eq!(a.window_end_ms, ms("2026-11-28T02:30:00Z"));
    }
}
