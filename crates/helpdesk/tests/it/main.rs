//! The help desk's rules from the outside: the SLA table with a fixed clock, properties of
//! business-time arithmetic over random schedules, and properties of routing.

mod attachments;
mod business;
mod change;
mod macros;
mod masking;
mod routing;
mod secrets;
mod sla;
mod stats;

use jiff::Timestamp;

pub fn at(text: &str) -> Timestamp {
    text.parse().expect("an RFC 3339 instant")
}
