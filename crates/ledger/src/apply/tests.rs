use super::*;
use crate::AccountFlags;
use crate::{Amount, AssetCode};

fn id(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}
fn tid(s: &str) -> TransferId {
    TransferId::parse(s).unwrap()
}
fn eth() -> AssetCode {
    AssetCode::parse("ETH").unwrap()
}
fn amt(n: i64) -> Amount {
    Amount::from_minor(n).unwrap()
}

/// A state with `alice` and `bob` (customer accounts) and `equity`, all ETH, and a BTC account.
fn state() -> BatchState {
    let mut s = BatchState::default();
    for (name, flags) in [
        ("alice", AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        ("bob", AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        ("equity", AccountFlags::NONE),
        ("vault", AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
    ] {
        s.accounts
            .insert(id(name), Account::new(id(name), eth(), flags));
    }
    s.accounts.insert(
        id("btc"),
        Account::new(
            id("btc"),
            AssetCode::parse("BTC").unwrap(),
            AccountFlags::NONE,
        ),
    );
    s
}

fn single(t: &str, debit: &str, credit: &str, amount: i64) -> Transfer {
    Transfer {
        id: tid(t),
        kind: TransferKind::Single {
            debit: id(debit),
            credit: id(credit),
            amount: amt(amount),
        },
        asset: eth(),
        code: 1,
        reference: String::new(),
        linked: false,
    }
}

fn pending(t: &str, debit: &str, credit: &str, amount: i64, timeout_s: u32) -> Transfer {
    Transfer {
        kind: TransferKind::Pending {
            debit: id(debit),
            credit: id(credit),
            amount: amt(amount),
            timeout_s,
        },
        ..single(t, debit, credit, amount)
    }
}

fn closing(t: &str, kind: TransferKind) -> Transfer {
    Transfer {
        id: tid(t),
        kind,
        asset: eth(),
        code: 2,
        reference: String::new(),
        linked: false,
    }
}

fn linked(mut t: Transfer) -> Transfer {
    t.linked = true;
    t
}

fn run(s: &mut BatchState, request: Vec<Transfer>, now: i64) -> Vec<ResultCode> {
    let mut clock = now - 1;
    let applied = apply_batch(s, &[request], now, &mut clock);
    applied.results[0].iter().map(|r| r.code).collect()
}

fn totals(s: &BatchState, name: &str) -> (i64, i64, i64, i64) {
    let a = &s.accounts[&id(name)];
    (
        a.debits_pending,
        a.debits_posted,
        a.credits_pending,
        a.credits_posted,
    )
}

#[test]
fn single_transfers_move_money_and_refuse_overdrafts() {
    let mut s = state();
    assert_eq!(
        run(&mut s, vec![single("fund", "equity", "alice", 100)], 10),
        vec![ResultCode::Ok]
    );
    assert_eq!(
        run(&mut s, vec![single("pay", "alice", "bob", 60)], 11),
        vec![ResultCode::Ok]
    );
    assert_eq!(
        run(&mut s, vec![single("over", "alice", "bob", 41)], 12),
        vec![ResultCode::InsufficientFunds]
    );
    assert_eq!(totals(&s, "alice"), (0, 60, 0, 100));
    assert_eq!(totals(&s, "bob"), (0, 0, 0, 60));
    assert_eq!(totals(&s, "equity"), (0, 100, 0, 0));
}

#[test]
fn credits_must_not_exceed_debits_is_enforced() {
    let mut s = state();
    assert_eq!(
        run(&mut s, vec![single("a", "equity", "vault", 1)], 1),
        vec![ResultCode::ExceedsDebits]
    );
    assert_eq!(
        run(&mut s, vec![single("b", "vault", "equity", 5)], 2),
        vec![ResultCode::Ok]
    );
    assert_eq!(
        run(&mut s, vec![single("c", "equity", "vault", 5)], 3),
        vec![ResultCode::Ok]
    );
}

#[test]
fn request_errors_come_before_state_errors_and_are_not_remembered() {
    let mut s = state();
    let mut bad = single("x", "alice", "alice", 5);
    assert_eq!(
        run(&mut s, vec![bad.clone()], 1),
        vec![ResultCode::AccountsMustBeDifferent]
    );
    bad.code = 0;
    assert_eq!(
        run(&mut s, vec![bad], 2),
        vec![ResultCode::AccountsMustBeDifferent]
    );
    let mut zero_code = single("x", "equity", "alice", 5);
    zero_code.code = 0;
    assert_eq!(
        run(&mut s, vec![zero_code], 3),
        vec![ResultCode::CodeMustNotBeZero]
    );
    assert_eq!(
        run(&mut s, vec![single("x", "equity", "alice", 0)], 4),
        vec![ResultCode::AmountMustNotBeZero]
    );
    let mut long = single("x", "equity", "alice", 1);
    long.reference = "r".repeat(Transfer::REFERENCE_LEN_MAX + 1);
    assert_eq!(
        run(&mut s, vec![long], 5),
        vec![ResultCode::ReferenceTooLong]
    );
    // The id was never taken: a corrected request succeeds.
    assert_eq!(
        run(&mut s, vec![single("x", "equity", "alice", 5)], 6),
        vec![ResultCode::Ok]
    );
}

#[test]
fn ids_are_idempotency_keys_for_successes_and_state_failures() {
    let mut s = state();
    let mut clock = 0;
    let first = apply_batch(
        &mut s,
        &[vec![single("t1", "equity", "alice", 5)]],
        100,
        &mut clock,
    );
    let again = apply_batch(
        &mut s,
        &[vec![single("t1", "equity", "alice", 5)]],
        200,
        &mut clock,
    );
    assert_eq!(
        again.results[0][0],
        EventResult {
            code: ResultCode::Ok,
            timestamp: first.results[0][0].timestamp,
            replayed: true
        }
    );
    assert!(again.new_transfers.is_empty());
    assert_eq!(totals(&s, "alice"), (0, 0, 0, 5));
    assert_eq!(
        run(&mut s, vec![single("t1", "equity", "alice", 6)], 300),
        vec![ResultCode::ExistsWithDifferentFields]
    );

    // A refusal for lack of funds is remembered: funding later does not change the answer.
    assert_eq!(
        run(&mut s, vec![single("t2", "alice", "bob", 50)], 400),
        vec![ResultCode::InsufficientFunds]
    );
    assert_eq!(
        run(&mut s, vec![single("t3", "equity", "alice", 100)], 500),
        vec![ResultCode::Ok]
    );
    let retry = apply_batch(
        &mut s,
        &[vec![single("t2", "alice", "bob", 50)]],
        600,
        &mut clock,
    );
    assert_eq!(retry.results[0][0].code, ResultCode::InsufficientFunds);
    assert!(retry.results[0][0].replayed);
    assert_eq!(totals(&s, "bob"), (0, 0, 0, 0));
}

#[test]
fn unknown_accounts_and_asset_mismatch_are_reported_in_order() {
    let mut s = state();
    assert_eq!(
        run(&mut s, vec![single("a", "nobody", "alsonobody", 1)], 1),
        vec![ResultCode::DebitAccountNotFound]
    );
    assert_eq!(
        run(&mut s, vec![single("b", "equity", "nobody", 1)], 2),
        vec![ResultCode::CreditAccountNotFound]
    );
    assert_eq!(
        run(&mut s, vec![single("c", "equity", "btc", 1)], 3),
        vec![ResultCode::AssetMismatch]
    );
}

#[test]
fn linked_chains_are_all_or_nothing() {
    let mut s = state();
    run(&mut s, vec![single("fund", "equity", "alice", 10)], 1);
    // Amount and fee: the fee leg fails, so the amount leg must not stay applied.
    let codes = run(
        &mut s,
        vec![
            linked(single("amt", "alice", "bob", 8)),
            single("fee", "alice", "equity", 3),
        ],
        2,
    );
    assert_eq!(
        codes,
        vec![ResultCode::LinkedEventFailed, ResultCode::InsufficientFunds]
    );
    assert_eq!(totals(&s, "alice"), (0, 0, 0, 10));
    assert_eq!(totals(&s, "bob"), (0, 0, 0, 0));
    // The whole failed chain is remembered, and replays as it was.
    let codes = run(
        &mut s,
        vec![
            linked(single("amt", "alice", "bob", 8)),
            single("fee", "alice", "equity", 3),
        ],
        3,
    );
    assert_eq!(
        codes,
        vec![ResultCode::LinkedEventFailed, ResultCode::InsufficientFunds]
    );

    let codes = run(
        &mut s,
        vec![
            linked(single("amt2", "alice", "bob", 8)),
            single("fee2", "alice", "equity", 2),
            single("solo", "equity", "bob", 1),
        ],
        4,
    );
    assert_eq!(codes, vec![ResultCode::Ok, ResultCode::Ok, ResultCode::Ok]);
    assert_eq!(totals(&s, "alice"), (0, 10, 0, 10));
    assert_eq!(totals(&s, "bob"), (0, 0, 0, 9));
}

#[test]
fn an_open_chain_fails_whole() {
    let mut s = state();
    let codes = run(
        &mut s,
        vec![
            linked(single("a", "equity", "alice", 1)),
            linked(single("b", "equity", "alice", 1)),
        ],
        1,
    );
    assert_eq!(
        codes,
        vec![
            ResultCode::LinkedEventFailed,
            ResultCode::LinkedEventChainOpen
        ]
    );
    assert_eq!(totals(&s, "alice"), (0, 0, 0, 0));
}

#[test]
fn a_chain_reusing_some_ids_is_refused() {
    let mut s = state();
    run(&mut s, vec![single("a", "equity", "alice", 1)], 1);
    let codes = run(
        &mut s,
        vec![
            single("a", "equity", "alice", 1),
            single("b", "equity", "alice", 1),
        ],
        2,
    );
    // Not linked: two chains; "a" replays, "b" applies.
    assert_eq!(codes, vec![ResultCode::Ok, ResultCode::Ok]);
    let codes = run(
        &mut s,
        vec![
            linked(single("c", "equity", "alice", 1)),
            single("a", "equity", "alice", 1),
        ],
        3,
    );
    assert_eq!(
        codes,
        vec![
            ResultCode::LinkedEventFailed,
            ResultCode::ExistsWithDifferentFields
        ]
    );
    let codes = run(
        &mut s,
        vec![
            linked(single("d", "equity", "alice", 1)),
            single("d", "equity", "alice", 1),
        ],
        4,
    );
    assert_eq!(
        codes,
        vec![
            ResultCode::LinkedEventFailed,
            ResultCode::ExistsWithDifferentFields
        ]
    );
    assert_eq!(totals(&s, "alice"), (0, 0, 0, 2));
}

#[test]
fn pending_transfers_hold_then_post_in_part() {
    let mut s = state();
    run(&mut s, vec![single("fund", "equity", "alice", 100)], 1);
    assert_eq!(
        run(&mut s, vec![pending("hold", "alice", "bob", 70, 0)], 2),
        vec![ResultCode::Ok]
    );
    assert_eq!(totals(&s, "alice"), (70, 0, 0, 100));
    assert_eq!(s.accounts[&id("alice")].available(), 30);
    // The hold counts against the balance.
    assert_eq!(
        run(&mut s, vec![single("spend", "alice", "bob", 31)], 3),
        vec![ResultCode::InsufficientFunds]
    );
    let post = |a: Option<i64>| TransferKind::Post {
        pending_id: tid("hold"),
        amount: a.map(amt),
    };
    assert_eq!(
        run(&mut s, vec![closing("p-big", post(Some(71)))], 4),
        vec![ResultCode::ExceedsPendingAmount]
    );
    assert_eq!(
        run(&mut s, vec![closing("p", post(Some(50)))], 5),
        vec![ResultCode::Ok]
    );
    assert_eq!(totals(&s, "alice"), (0, 50, 0, 100));
    assert_eq!(totals(&s, "bob"), (0, 0, 0, 50));
    assert_eq!(
        run(&mut s, vec![closing("p2", post(None))], 6),
        vec![ResultCode::PendingAlreadyPosted]
    );
    assert_eq!(
        run(
            &mut s,
            vec![closing(
                "v",
                TransferKind::Void {
                    pending_id: tid("hold")
                }
            )],
            7
        ),
        vec![ResultCode::PendingAlreadyPosted]
    );
}

#[test]
fn void_releases_and_cannot_repeat() {
    let mut s = state();
    run(&mut s, vec![single("fund", "equity", "alice", 10)], 1);
    run(&mut s, vec![pending("hold", "alice", "bob", 10, 0)], 2);
    let void = TransferKind::Void {
        pending_id: tid("hold"),
    };
    assert_eq!(
        run(&mut s, vec![closing("v", void.clone())], 3),
        vec![ResultCode::Ok]
    );
    assert_eq!(totals(&s, "alice"), (0, 0, 0, 10));
    assert_eq!(
        run(&mut s, vec![closing("v2", void)], 4),
        vec![ResultCode::PendingAlreadyVoided]
    );
}

#[test]
fn pending_lookups_fail_precisely() {
    let mut s = state();
    run(&mut s, vec![single("fund", "equity", "alice", 10)], 1);
    let post = |p: &str| TransferKind::Post {
        pending_id: tid(p),
        amount: None,
    };
    assert_eq!(
        run(&mut s, vec![closing("a", post("nope"))], 2),
        vec![ResultCode::PendingNotFound]
    );
    assert_eq!(
        run(&mut s, vec![closing("b", post("fund"))], 3),
        vec![ResultCode::PendingNotPending]
    );
    assert_eq!(
        run(&mut s, vec![closing("c", post("c"))], 4),
        vec![ResultCode::PendingIdMustBeDifferent]
    );
    run(&mut s, vec![pending("hold", "alice", "bob", 5, 0)], 5);
    let mut other_asset = closing("d", post("hold"));
    other_asset.asset = AssetCode::parse("BTC").unwrap();
    assert_eq!(
        run(&mut s, vec![other_asset], 6),
        vec![ResultCode::AssetMismatch]
    );
}

#[test]
fn holds_expire() {
    let mut s = state();
    let second = 1_000_000_000;
    run(&mut s, vec![single("fund", "equity", "alice", 10)], second);
    run(
        &mut s,
        vec![pending("hold", "alice", "bob", 10, 30)],
        2 * second,
    );
    let expire = TransferKind::Expire {
        pending_id: tid("hold"),
    };
    assert_eq!(
        run(&mut s, vec![closing("e1", expire.clone())], 31 * second),
        vec![ResultCode::PendingNotExpired]
    );
    let post = TransferKind::Post {
        pending_id: tid("hold"),
        amount: None,
    };
    assert_eq!(
        run(&mut s, vec![closing("p", post.clone())], 32 * second),
        vec![ResultCode::PendingExpired]
    );
    assert_eq!(
        run(&mut s, vec![closing("e2", expire)], 32 * second),
        vec![ResultCode::Ok]
    );
    assert_eq!(totals(&s, "alice"), (0, 0, 0, 10));
    assert_eq!(
        run(&mut s, vec![closing("p2", post)], 33 * second),
        vec![ResultCode::PendingExpired]
    );
}

#[test]
fn a_hold_and_its_post_may_share_a_chain() {
    let mut s = state();
    run(&mut s, vec![single("fund", "equity", "alice", 10)], 1);
    let codes = run(
        &mut s,
        vec![
            linked(pending("h", "alice", "bob", 10, 0)),
            closing(
                "p",
                TransferKind::Post {
                    pending_id: tid("h"),
                    amount: Some(amt(4)),
                },
            ),
        ],
        2,
    );
    assert_eq!(codes, vec![ResultCode::Ok, ResultCode::Ok]);
    assert_eq!(totals(&s, "alice"), (0, 4, 0, 10));
}

#[test]
fn overflow_is_a_result_not_a_wrap() {
    let mut s = state();
    assert_eq!(
        run(&mut s, vec![single("a", "equity", "bob", i64::MAX)], 1),
        vec![ResultCode::Ok]
    );
    assert_eq!(
        run(&mut s, vec![single("b", "equity", "bob", 1)], 2),
        vec![ResultCode::Overflow]
    );
    assert_eq!(totals(&s, "bob"), (0, 0, 0, i64::MAX));
}

#[test]
fn timestamps_increase_strictly_across_requests() {
    let mut s = state();
    let mut clock = 0;
    let applied = apply_batch(
        &mut s,
        &[
            vec![single("a", "equity", "alice", 1)],
            vec![
                single("b", "equity", "alice", 1),
                single("c", "alice", "alice", 1),
            ],
        ],
        50,
        &mut clock,
    );
    let ts: Vec<i64> = applied
        .results
        .iter()
        .flatten()
        .map(|r| r.timestamp)
        .collect();
    assert_eq!(ts, vec![50, 51, 52]);
    assert_eq!(clock, 52);
    let applied = apply_batch(
        &mut s,
        &[vec![single("d", "equity", "alice", 1)]],
        10,
        &mut clock,
    );
    assert_eq!(applied.results[0][0].timestamp, 53);
}
