//! Random request sequences, submitted concurrently, checked against a simple model.
//!
//! Seeded and reproducible: `OKWALLET_PROPTEST_SEED=<n>` replays one seed, and
//! `OKWALLET_PROPTEST_CASES=<n>` sets how many seeds run (CI sets more). The model below is a
//! deliberately naive second implementation of the ledger's rules — whole-state clones per
//! chain, linear scans — written from the rules in `ledger::apply`'s documentation, not from
//! its code. Requests run concurrently, so the order they were applied in is only known
//! afterwards: every result carries the ledger's timestamp, and the model replays chains in
//! timestamp order and must reproduce every result exactly, then every balance.

use std::collections::HashMap;

use ledger::{AccountId, Amount, ResultCode, Transfer, TransferKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::accounts::equity_account_id;
use store::writer::{Ledger, WriterConfig};
use testkit::{both_backends, TestDb};

use crate::{eth, tid};

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Balance {
    dp: i64,
    dpo: i64,
    cp: i64,
    cpo: i64,
    customer: bool,
}

#[derive(Clone, Debug)]
struct Remembered {
    request: Transfer,
    code: ResultCode,
    timestamp: i64,
    /// For successful pendings: debit, credit, amount.
    hold: Option<(String, String, i64)>,
    closed_by: Option<&'static str>,
}

#[derive(Clone, Default)]
struct Model {
    balances: HashMap<String, Balance>,
    ids: HashMap<String, Remembered>,
}

impl Model {
    fn run_chain(&mut self, chain: &[Transfer], timestamps: &[i64]) -> Vec<ResultCode> {
        let n = chain.len();
        let fail_at = |i: usize, code: ResultCode| -> Vec<ResultCode> {
            (0..n)
                .map(|j| {
                    if j == i {
                        code
                    } else {
                        ResultCode::LinkedEventFailed
                    }
                })
                .collect()
        };
        for (i, t) in chain.iter().enumerate() {
            if chain[..i].iter().any(|u| u.id == t.id) {
                return fail_at(i, ResultCode::ExistsWithDifferentFields);
            }
            if let Some(code) = request_error(t) {
                return fail_at(i, code);
            }
        }
        if chain[n - 1].linked {
            return fail_at(n - 1, ResultCode::LinkedEventChainOpen);
        }
        let known: Vec<Option<&Remembered>> =
            chain.iter().map(|t| self.ids.get(t.id.as_str())).collect();
        if known.iter().any(Option::is_some) {
            if known
                .iter()
                .zip(chain)
                .all(|(k, t)| k.is_some_and(|k| &k.request == t))
            {
                return known.iter().map(|k| k.unwrap().code).collect();
            }
            let first = known.iter().position(Option::is_some).unwrap();
            return fail_at(first, ResultCode::ExistsWithDifferentFields);
        }
        let mut next = self.clone();
        for (i, t) in chain.iter().enumerate() {
            if let Err(code) = next.apply(t, timestamps[i]) {
                let codes = fail_at(i, code);
                for ((t, c), ts) in chain.iter().zip(&codes).zip(timestamps) {
                    self.ids.insert(
                        t.id.to_string(),
                        Remembered {
                            request: t.clone(),
                            code: *c,
                            timestamp: *ts,
                            hold: None,
                            closed_by: None,
                        },
                    );
                }
                return codes;
            }
        }
        *self = next;
        vec![ResultCode::Ok; n]
    }

    fn apply(&mut self, t: &Transfer, ts: i64) -> Result<(), ResultCode> {
        let mut remembered = Remembered {
            request: t.clone(),
            code: ResultCode::Ok,
            timestamp: ts,
            hold: None,
            closed_by: None,
        };
        match &t.kind {
            TransferKind::Single {
                debit,
                credit,
                amount,
            }
            | TransferKind::Pending {
                debit,
                credit,
                amount,
                ..
            } => {
                let pending = matches!(t.kind, TransferKind::Pending { .. });
                let (d, c) = (debit.to_string(), credit.to_string());
                let mut db = *self
                    .balances
                    .get(&d)
                    .ok_or(ResultCode::DebitAccountNotFound)?;
                let mut cr = *self
                    .balances
                    .get(&c)
                    .ok_or(ResultCode::CreditAccountNotFound)?;
                let a = amount.minor();
                if pending {
                    db.dp = db.dp.checked_add(a).ok_or(ResultCode::Overflow)?;
                    cr.cp = cr.cp.checked_add(a).ok_or(ResultCode::Overflow)?;
                    remembered.hold = Some((d.clone(), c.clone(), a));
                } else {
                    db.dpo = db.dpo.checked_add(a).ok_or(ResultCode::Overflow)?;
                    cr.cpo = cr.cpo.checked_add(a).ok_or(ResultCode::Overflow)?;
                }
                if db.customer && db.dp + db.dpo > db.cpo {
                    return Err(ResultCode::InsufficientFunds);
                }
                self.balances.insert(d, db);
                self.balances.insert(c, cr);
            }
            TransferKind::Post { pending_id, .. }
            | TransferKind::Void { pending_id }
            | TransferKind::Expire { pending_id } => {
                let p = self
                    .ids
                    .get(pending_id.as_str())
                    .filter(|p| p.code == ResultCode::Ok)
                    .ok_or(ResultCode::PendingNotFound)?;
                let (d, c, held) = p.hold.clone().ok_or(ResultCode::PendingNotPending)?;
                match p.closed_by {
                    Some("post") => return Err(ResultCode::PendingAlreadyPosted),
                    Some(_) => return Err(ResultCode::PendingAlreadyVoided),
                    None => {}
                }
                let moved = match &t.kind {
                    TransferKind::Post {
                        amount: Some(a), ..
                    } if a.minor() > held => return Err(ResultCode::ExceedsPendingAmount),
                    TransferKind::Post {
                        amount: Some(a), ..
                    } => a.minor(),
                    TransferKind::Post { amount: None, .. } => held,
                    _ => 0,
                };
                let db = self.balances.get_mut(&d).unwrap();
                db.dp -= held;
                db.dpo += moved;
                let cr = self.balances.get_mut(&c).unwrap();
                cr.cp -= held;
                cr.cpo += moved;
                let kind = if matches!(t.kind, TransferKind::Post { .. }) {
                    "post"
                } else {
                    "void"
                };
                self.ids.get_mut(pending_id.as_str()).unwrap().closed_by = Some(kind);
            }
        }
        self.ids.insert(t.id.to_string(), remembered);
        Ok(())
    }
}

fn request_error(t: &Transfer) -> Option<ResultCode> {
    match &t.kind {
        TransferKind::Single { debit, credit, .. }
        | TransferKind::Pending { debit, credit, .. }
            if debit == credit =>
        {
            return Some(ResultCode::AccountsMustBeDifferent)
        }
        TransferKind::Post { pending_id, .. } | TransferKind::Void { pending_id }
            if pending_id == &t.id =>
        {
            return Some(ResultCode::PendingIdMustBeDifferent)
        }
        _ => {}
    }
    let zero = match &t.kind {
        TransferKind::Single { amount, .. } | TransferKind::Pending { amount, .. } => {
            amount.is_zero()
        }
        TransferKind::Post {
            amount: Some(a), ..
        } => a.is_zero(),
        _ => false,
    };
    zero.then_some(ResultCode::AmountMustNotBeZero)
}

/// Builds a random request from what was generated so far.
fn random_request(
    rng: &mut StdRng,
    n: usize,
    accounts: &[AccountId],
    history: &[Vec<Transfer>],
) -> Vec<Transfer> {
    let pick = |rng: &mut StdRng| -> AccountId {
        if rng.gen_ratio(1, 40) {
            AccountId::parse("ghost").unwrap()
        } else {
            accounts[rng.gen_range(0..accounts.len())].clone()
        }
    };
    let amount = |rng: &mut StdRng| {
        Amount::from_minor(if rng.gen_ratio(1, 30) {
            0
        } else {
            rng.gen_range(1..400)
        })
        .unwrap()
    };
    let base = |id: String, kind| Transfer {
        id: tid(&id),
        kind,
        asset: eth(),
        code: 3,
        reference: String::new(),
        linked: false,
    };
    let pendings: Vec<&Transfer> = history
        .iter()
        .flatten()
        .filter(|t| matches!(t.kind, TransferKind::Pending { .. }))
        .collect();
    match rng.gen_range(0..100) {
        0..=39 => vec![base(
            format!("s{n}"),
            TransferKind::Single {
                debit: pick(rng),
                credit: pick(rng),
                amount: amount(rng),
            },
        )],
        40..=54 => {
            let (d, c) = (pick(rng), pick(rng));
            let mut first = base(
                format!("l{n}a"),
                TransferKind::Single {
                    debit: d.clone(),
                    credit: c,
                    amount: amount(rng),
                },
            );
            first.linked = true;
            let mut legs = vec![
                first,
                base(
                    format!("l{n}b"),
                    TransferKind::Single {
                        debit: d,
                        credit: pick(rng),
                        amount: amount(rng),
                    },
                ),
            ];
            if rng.gen_ratio(1, 10) {
                legs[1].linked = true; // an open chain
            }
            legs
        }
        55..=69 => vec![base(
            format!("h{n}"),
            TransferKind::Pending {
                debit: pick(rng),
                credit: pick(rng),
                amount: amount(rng),
                timeout_s: 0,
            },
        )],
        70..=84 if !pendings.is_empty() => {
            let p = pendings[rng.gen_range(0..pendings.len())].id.clone();
            let kind = if rng.gen_bool(0.6) {
                let a = if rng.gen_bool(0.5) {
                    None
                } else {
                    Some(amount(rng))
                };
                TransferKind::Post {
                    pending_id: p,
                    amount: a,
                }
            } else {
                TransferKind::Void { pending_id: p }
            };
            vec![base(format!("c{n}"), kind)]
        }
        85..=99 if !history.is_empty() => {
            // A retry: the same request again, or the same ids with other fields.
            let mut again = history[rng.gen_range(0..history.len())].clone();
            if rng.gen_bool(0.3) {
                again[0].code = 4;
            }
            again
        }
        _ => vec![base(
            format!("s{n}"),
            TransferKind::Single {
                debit: pick(rng),
                credit: pick(rng),
                amount: amount(rng),
            },
        )],
    }
}

fn split_chains(request: &[Transfer]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, t) in request.iter().enumerate() {
        if !t.linked || i == request.len() - 1 {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    out
}

async fn run_seed(backend: testkit::Backend, seed: u64) {
    let t = TestDb::new(backend).await;
    let mut rng = StdRng::seed_from_u64(seed);
    let customers =
        t.db.create_synthetic_accounts("c", 6, &eth())
            .await
            .unwrap();
    let equity = equity_account_id(&eth());
    let mut model = Model::default();
    for c in &customers {
        model.balances.insert(
            c.to_string(),
            Balance {
                customer: true,
                ..Balance::default()
            },
        );
    }
    model
        .balances
        .insert(equity.to_string(), Balance::default());
    let mut accounts = customers.clone();
    accounts.push(equity.clone());

    // Fund, so that most transfers can succeed.
    let ledger = Ledger::start(t.db.clone(), WriterConfig::default(), None)
        .await
        .unwrap();
    let mut requests: Vec<Vec<Transfer>> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| vec![crate::single(&format!("fund{i}"), &equity, c, 1_200)])
        .collect();
    for n in 0..250 {
        let request = random_request(&mut rng, n, &accounts, &requests);
        requests.push(request);
    }

    // Submit concurrently from 8 tasks, funding first.
    let mut results: Vec<Option<Vec<ledger::EventResult>>> = vec![None; requests.len()];
    for (i, r) in requests.iter().enumerate().take(customers.len()) {
        results[i] = Some(ledger.submit(r.clone()).await.unwrap());
    }
    let queue = std::sync::Arc::new(std::sync::Mutex::new(
        (customers.len()..requests.len()).rev().collect::<Vec<_>>(),
    ));
    let shared = std::sync::Arc::new(requests.clone());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (queue, shared, ledger) = (queue.clone(), shared.clone(), ledger.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let next = queue.lock().unwrap().pop();
                let Some(i) = next else { return mine };
                mine.push((i, ledger.submit(shared[i].clone()).await.unwrap()));
            }
        }));
    }
    for task in tasks {
        for (i, r) in task.await.unwrap() {
            results[i] = Some(r);
        }
    }

    // Replay in the order the ledger applied them: chain by chain, by timestamp (a replayed
    // chain carries its original's timestamps and sorts right after it).
    let mut chains = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        let got = results[i].as_ref().unwrap();
        assert_eq!(got.len(), request.len());
        for range in split_chains(request) {
            let first = got[range.start];
            chains.push((first.timestamp, first.replayed, i, range));
        }
    }
    chains.sort_by_key(|(ts, replayed, _, _)| (*ts, *replayed));
    // The generator must reach the interesting cases, or the comparison proves little.
    let all: Vec<&ledger::EventResult> = results.iter().flatten().flatten().collect();
    let seen = |code: ResultCode| all.iter().filter(|r| r.code == code).count();
    let replays = all.iter().filter(|r| r.replayed).count();
    if std::env::var("OKWALLET_PROPTEST_VERBOSE").is_ok() {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for r in &all {
            *counts.entry(r.code.as_str()).or_default() += 1;
        }
        eprintln!("seed {seed}: {counts:?}, {replays} replayed");
    }
    assert!(
        seen(ResultCode::Ok) > 50
            && replays > 0
            && seen(ResultCode::LinkedEventFailed) > 0
            && seen(ResultCode::InsufficientFunds) > 0,
        "seed {seed}: weak coverage"
    );
    for (_, _, i, range) in chains {
        let chain = &requests[i][range.clone()];
        let got = &results[i].as_ref().unwrap()[range];
        let timestamps: Vec<i64> = got.iter().map(|r| r.timestamp).collect();
        let expected = model.run_chain(chain, &timestamps);
        let codes: Vec<ResultCode> = got.iter().map(|r| r.code).collect();
        assert_eq!(codes, expected, "seed {seed}: request {i} {chain:?}");
        for r in got.iter().filter(|r| r.replayed) {
            assert!(
                model.ids.values().any(|m| m.timestamp == r.timestamp),
                "seed {seed}: a replay carries its original's timestamp"
            );
        }
    }

    for account in t.db.all_accounts().await.unwrap() {
        let Some(m) = model.balances.get(account.id.as_str()) else {
            continue;
        };
        assert_eq!(
            (
                account.debits_pending,
                account.debits_posted,
                account.credits_pending,
                account.credits_posted
            ),
            (m.dp, m.dpo, m.cp, m.cpo),
            "seed {seed}: account {}",
            account.id
        );
    }
    let report = t.db.verify_ledger().await.unwrap();
    assert_eq!(report.discrepancies, vec![], "seed {seed}");
}

fn seeds() -> Vec<u64> {
    if let Ok(seed) = std::env::var("OKWALLET_PROPTEST_SEED") {
        return vec![seed.parse().expect("OKWALLET_PROPTEST_SEED is a number")];
    }
    let cases: u64 = std::env::var("OKWALLET_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    (1..=cases).collect()
}

both_backends!(
    concurrent_random_requests_match_the_model,
    |backend| async move {
        for seed in seeds() {
            run_seed(backend, seed).await;
        }
    }
);
