//! The ledger's global invariants, checked over plain data.
//!
//! The store recomputes every account's totals from the journal and hands them here together with
//! the stored accounts; this module says what disagrees. `okwallet ledger verify` prints the
//! report and exits non-zero when it is not empty.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::transfer::{Account, AccountId};
use crate::AssetCode;

/// An account's four totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

impl Totals {
    pub fn of(account: &Account) -> Totals {
        Totals {
            debits_pending: account.debits_pending,
            debits_posted: account.debits_posted,
            credits_pending: account.credits_pending,
            credits_posted: account.credits_posted,
        }
    }
}

/// One thing that is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Discrepancy {
    /// The stored totals differ from what the journal adds up to.
    TotalsDiffer {
        account: AccountId,
        stored: Totals,
        journal: Totals,
    },
    /// The journal names an account that does not exist.
    UnknownAccount { account: AccountId },
    /// An account's flags do not hold.
    ConstraintViolated { account: AccountId, totals: Totals },
    /// Across an asset, debits and credits do not add up to the same amount.
    AssetUnbalanced {
        asset: AssetCode,
        debits: i128,
        credits: i128,
        pending: bool,
    },
    /// A journal row breaks a rule on its own (reported by the store's row checks).
    BadTransfer { transfer: String, problem: String },
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discrepancy::TotalsDiffer {
                account,
                stored,
                journal,
            } => write!(
                f,
                "account {account}: stored totals {stored:?} but the journal adds up to {journal:?}"
            ),
            Discrepancy::UnknownAccount { account } => {
                write!(
                    f,
                    "account {account} is named by the journal but does not exist"
                )
            }
            Discrepancy::ConstraintViolated { account, totals } => {
                write!(
                    f,
                    "account {account}: balance constraint violated by {totals:?}"
                )
            }
            Discrepancy::AssetUnbalanced {
                asset,
                debits,
                credits,
                pending,
            } => write!(
                f,
                "asset {asset}: {} debits {debits} ≠ credits {credits}",
                if *pending { "pending" } else { "posted" }
            ),
            Discrepancy::BadTransfer { transfer, problem } => {
                write!(f, "transfer {transfer}: {problem}")
            }
        }
    }
}

/// Compares stored accounts with journal totals and checks flags and per-asset balance.
pub fn check_accounts(
    accounts: &[Account],
    journal: &HashMap<AccountId, Totals>,
) -> Vec<Discrepancy> {
    let mut found = Vec::new();
    let mut per_asset: BTreeMap<&AssetCode, [i128; 4]> = BTreeMap::new();
    for account in accounts {
        let stored = Totals::of(account);
        let from_journal = journal.get(&account.id).copied().unwrap_or_default();
        if stored != from_journal {
            found.push(Discrepancy::TotalsDiffer {
                account: account.id.clone(),
                stored,
                journal: from_journal,
            });
        }
        if !account.constraints_hold() {
            found.push(Discrepancy::ConstraintViolated {
                account: account.id.clone(),
                totals: stored,
            });
        }
        let sums = per_asset.entry(&account.asset).or_default();
        sums[0] += i128::from(stored.debits_pending);
        sums[1] += i128::from(stored.credits_pending);
        sums[2] += i128::from(stored.debits_posted);
        sums[3] += i128::from(stored.credits_posted);
    }
    let known: std::collections::HashSet<&AccountId> = accounts.iter().map(|a| &a.id).collect();
    let mut unknown: Vec<&AccountId> = journal.keys().filter(|id| !known.contains(id)).collect();
    unknown.sort();
    for account in unknown {
        found.push(Discrepancy::UnknownAccount {
            account: account.clone(),
        });
    }
    for (asset, [dp, cp, dpo, cpo]) in per_asset {
        if dp != cp {
            found.push(Discrepancy::AssetUnbalanced {
                asset: asset.clone(),
                debits: dp,
                credits: cp,
                pending: true,
            });
        }
        if dpo != cpo {
            found.push(Discrepancy::AssetUnbalanced {
                asset: asset.clone(),
                debits: dpo,
                credits: cpo,
                pending: false,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AccountFlags;

    fn account(id: &str, dpo: i64, cpo: i64, flags: AccountFlags) -> Account {
        let mut a = Account::new(
            AccountId::parse(id).unwrap(),
            AssetCode::parse("ETH").unwrap(),
            flags,
        );
        a.debits_posted = dpo;
        a.credits_posted = cpo;
        a
    }

    #[test]
    fn a_consistent_ledger_has_no_discrepancy() {
        let accounts = vec![
            account("user", 0, 5, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
            account("equity", 5, 0, AccountFlags::NONE),
        ];
        let journal = accounts
            .iter()
            .map(|a| (a.id.clone(), Totals::of(a)))
            .collect();
        assert_eq!(check_accounts(&accounts, &journal), vec![]);
    }

    #[test]
    fn finds_drift_overdraft_imbalance_and_strangers() {
        let accounts = vec![
            account("user", 7, 5, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
            account("equity", 5, 0, AccountFlags::NONE),
        ];
        let mut journal: HashMap<AccountId, Totals> = accounts
            .iter()
            .map(|a| (a.id.clone(), Totals::of(a)))
            .collect();
        journal
            .get_mut(&AccountId::parse("equity").unwrap())
            .unwrap()
            .debits_posted = 4;
        journal.insert(AccountId::parse("ghost").unwrap(), Totals::default());
        let found = check_accounts(&accounts, &journal);
        assert!(
            matches!(&found[0], Discrepancy::ConstraintViolated { account, .. } if account.as_str() == "user")
        );
        assert!(
            matches!(&found[1], Discrepancy::TotalsDiffer { account, .. } if account.as_str() == "equity")
        );
        assert!(
            matches!(&found[2], Discrepancy::UnknownAccount { account } if account.as_str() == "ghost")
        );
        assert!(matches!(
            &found[3],
            Discrepancy::AssetUnbalanced {
                debits: 12,
                credits: 5,
                pending: false,
                ..
            }
        ));
        assert_eq!(found.len(), 4);
        assert!(found[3].to_string().contains("posted debits 12"));
    }
}
