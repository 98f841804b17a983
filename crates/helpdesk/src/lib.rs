//! The help desk's rules, as pure functions over plain data: how much business time a ticket
//! has used of its targets and whether it breached them ([`sla`]), the business-time
//! arithmetic those clocks stand on ([`business`]), and which agent a new ticket goes to
//! ([`routing`]); what a reply or an edit does to a ticket's status, fields and history
//! ([`change`]); when a callback may be asked for and what a try's outcome does
//! ([`callbacks`]); agents' canned replies and their actions ([`macros`]), what agents see of a
//! customer's personal data ([`masking`]), the recovery phrases, private keys, one-time codes
//! and card numbers hidden from every message before it is stored ([`secrets`]), and which
//! files a ticket accepts and how they are served ([`attachments`]); the supervisors' figures
//! — volumes, response and resolution times, SLA compliance, satisfaction, backlog by day —
//! and their CSV ([`stats`]).
//!
//! This crate never does I/O: no SQL, no HTTP, no async, and it never reads the clock — every
//! function that needs "now" takes it as an argument, so every answer can be replayed. Business
//! hours come from the `hours` crate (the help center's engine), so a group's SLA and its
//! published hours can never disagree.

pub mod attachments;
pub mod business;
pub mod callbacks;
pub mod change;
pub mod cti;
pub mod diagnose;
pub mod macros;
pub mod masking;
pub mod routing;
pub mod secrets;
pub mod sla;
pub mod stats;
pub mod ticket;
