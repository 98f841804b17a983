//! The chain crate's integration tests: one binary (faster links).

mod anvil;
mod evm;
