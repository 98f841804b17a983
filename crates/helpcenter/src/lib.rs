//! The help center's rules, pure and tested: [`directory`] — how a contact channel's hours are
//! written, what reaching it costs and which channel is best right now; [`official`] — whether a
//! phone number, link, domain, email address or social account is really ours;
//! [`announcements`] — kinds, states and the features an announcement affects.

pub mod announcements;
pub mod directory;
pub mod official;
