//! The wallet's scenarios on the simulated chain and against a real anvil node, on SQLite and PostgreSQL: deposits credited
//! once after their confirmations, reorganisations, restarts, withdrawals end to end, refusals,
//! reviews, nonces, fee bumps, and a seeded run with every fault switched on.

mod anvil;
mod anvil_node;
mod harness;
mod sim;
