//! Business-time arithmetic over an [`hours::Schedule`]: "four business hours after this
//! instant" and "how much open time lies between these two instants".
//!
//! The rules, precisely:
//! - Business time is the time the schedule is open, with every rule of the `hours` crate:
//!   holidays, special dates, nights across midnight, and the schedule's own time zone with its
//!   daylight-saving jumps (a night that loses an hour holds an hour less business time).
//! - [`add`] answers the earliest instant at which `business` open time has passed since
//!   `start`. Starting while closed counts from the next opening; a duration that ends exactly
//!   at a closing answers the closing instant, not the next opening (a target due at 18:00 is
//!   due at 18:00). A zero or negative duration answers `start`. `None` means the schedule
//!   never opens again within the `hours` look-ahead ([`hours::LOOK_AHEAD_DAYS`] from the last
//!   instant reached), or the answer is past the end of time.
//! - [`elapsed`] answers the open time in `[from, to)`; zero when `to <= from`.
//! - A 24/7 schedule is plain arithmetic.
//!
//! Both walk the schedule run by run ("open until X", "closed until Y"), so their cost grows with
//! the number of openings crossed, never with the length of the duration in minutes.
//!
//! Never: read the clock, or compute a time zone offset by hand.

use hours::{Schedule, Status};
use jiff::{SignedDuration, Timestamp};

/// The earliest instant at which `business` open time has passed since `start`; see the
/// module's rules.
pub fn add(schedule: &Schedule, start: Timestamp, business: SignedDuration) -> Option<Timestamp> {
    if business <= SignedDuration::ZERO {
        return Some(start);
    }
    if schedule.always_open {
        return start.checked_add(business).ok();
    }
    let mut left = business;
    let mut t = start;
    loop {
        match schedule.status_at(t) {
            Status::Open { closes_at: None } => return t.checked_add(left).ok(),
            Status::Open {
                closes_at: Some(end),
            } => {
                // The hours engine promises that the next change lies after `t`; a schedule
                // that broke that promise would loop forever, so it answers "never" instead.
                if end <= t {
                    return None;
                }
                let run = end.duration_since(t);
                if left <= run {
                    return t.checked_add(left).ok();
                }
                left -= run;
                t = end;
            }
            Status::Closed {
                opens_at: Some(opens),
            } => {
                if opens <= t {
                    return None;
                }
                t = opens;
            }
            Status::Closed { opens_at: None } => return None,
        }
    }
}

/// The open time in `[from, to)`; zero when `to <= from`.
pub fn elapsed(schedule: &Schedule, from: Timestamp, to: Timestamp) -> SignedDuration {
    if to <= from {
        return SignedDuration::ZERO;
    }
    if schedule.always_open {
        return to.duration_since(from);
    }
    let mut sum = SignedDuration::ZERO;
    let mut t = from;
    while t < to {
        match schedule.status_at(t) {
            Status::Open { closes_at } => {
                let end = closes_at.map_or(to, |c| c.min(to));
                if end <= t {
                    break;
                }
                sum += end.duration_since(t);
                t = end;
            }
            Status::Closed {
                opens_at: Some(opens),
            } if opens > t => t = opens,
            Status::Closed { .. } => break,
        }
    }
    sum
}
