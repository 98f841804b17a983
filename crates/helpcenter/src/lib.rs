//! The help center's rules, pure and tested: for now, [`official`] — whether a phone number,
//! link, domain, email address or social account is really ours.

pub mod official;
