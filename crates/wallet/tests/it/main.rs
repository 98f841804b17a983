//! The wallet's scenarios on the simulated chain, on SQLite and PostgreSQL: deposits credited
//! once after their confirmations, reorganisations, restarts, withdrawals end to end, refusals,
//! reviews, nonces, fee bumps, and a seeded run with every fault switched on.

mod harness;
mod sim;
