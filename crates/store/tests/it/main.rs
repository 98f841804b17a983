//! The store's integration tests; every database test runs on SQLite and on PostgreSQL.

mod ledger_model;
mod ledger_writer;
mod mail;
mod passkeys;
mod schema;
mod users;
mod wallet;

use ledger::{AccountId, Amount, AssetCode, Transfer, TransferId, TransferKind};

pub fn eth() -> AssetCode {
    AssetCode::parse("ETH").unwrap()
}

pub fn tid(s: &str) -> TransferId {
    TransferId::parse(s).unwrap()
}

pub fn single(id: &str, debit: &AccountId, credit: &AccountId, amount: i64) -> Transfer {
    Transfer {
        id: tid(id),
        kind: TransferKind::Single {
            debit: debit.clone(),
            credit: credit.clone(),
            amount: Amount::from_minor(amount).unwrap(),
        },
        asset: eth(),
        code: 7,
        reference: format!("test:{id}"),
        linked: false,
    }
}
