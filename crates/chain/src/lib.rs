//! The chain boundary. Today: deterministic deposit addresses (`hd`). The `sim` and `evm`
//! chains of issue 4 grow here. This crate never touches the ledger or SQL.

pub mod hd;
