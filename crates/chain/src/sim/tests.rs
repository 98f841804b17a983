use super::*;

fn address(n: u8) -> Address {
    Address([n; 20])
}

fn token() -> Token {
    Token::Erc20(address(0xee))
}

fn chain(seed: u64) -> SimChain {
    SimChain::new(SimConfig {
        seed,
        ..SimConfig::default()
    })
}

fn hot_key() -> hd::PrivateKey {
    hd::PrivateKey::from_bytes([7; 32]).unwrap()
}

fn send(chain: &SimChain, nonce: u64, amount: u128, fees: FeeBid) -> SignedTx {
    chain
        .sign(
            &hot_key(),
            &Outgoing {
                to: address(9),
                token: Token::Native,
                amount,
                nonce,
                fees,
            },
        )
        .unwrap()
}

const ETH: u128 = 1_000_000_000_000_000_000;

#[tokio::test]
async fn a_faucet_deposit_is_in_the_next_block_and_blocks_link_up() {
    let chain = chain(1);
    let tx = chain.faucet(address(1), Token::Native, 5 * ETH);
    let other = chain.faucet(address(2), token(), 70);
    let unlisted = chain.faucet(address(3), Token::Erc20(address(0xdd)), 1);
    assert_eq!(chain.mine(1), 1);
    let block = chain.header(1).await.unwrap().unwrap();
    assert_eq!(
        block.parent_hash,
        chain.header(0).await.unwrap().unwrap().hash
    );
    assert_eq!(chain.header(2).await.unwrap(), None);
    let found = chain.incoming(block.hash, &[address(0xee)]).await.unwrap();
    assert_eq!(
        found,
        vec![
            Incoming {
                tx_hash: tx,
                log_index: None,
                from: SimChain::faucet_address(),
                to: address(1),
                token: Token::Native,
                amount: 5 * ETH,
            },
            Incoming {
                tx_hash: other,
                log_index: Some(0),
                from: SimChain::faucet_address(),
                to: address(2),
                token: token(),
                amount: 70,
            },
        ],
        "the unlisted token's transfer {unlisted} is not reported"
    );
    assert_eq!(
        chain.balance(address(1), Token::Native).await.unwrap(),
        5 * ETH
    );
}

#[tokio::test]
async fn the_hot_wallet_sends_in_nonce_order_and_pays_gas() {
    let chain = chain(2);
    let hot = hot_key().address();
    chain.fund(hot, Token::Native, 10 * ETH);
    chain.fund(hot, token(), 1_000);
    assert_eq!(chain.next_nonce(hot).await.unwrap(), 0);
    let fees = chain.fee_bid().await.unwrap();
    let first = send(&chain, 0, ETH, fees);
    let second = chain
        .sign(
            &hot_key(),
            &Outgoing {
                to: address(9),
                token: token(),
                amount: 400,
                nonce: 1,
                fees,
            },
        )
        .unwrap();
    // Out of order on purpose: the chain still mines nonce 0 first.
    chain.broadcast(&second).await.unwrap();
    chain.broadcast(&first).await.unwrap();
    chain.broadcast(&first).await.unwrap();
    assert_eq!(
        chain.mempool_len(),
        2,
        "the same bytes twice are one transaction"
    );
    assert_eq!(chain.next_nonce(hot).await.unwrap(), 2);
    assert_eq!(chain.receipt(first.hash).await.unwrap(), None);
    chain.mine(1);
    let receipt = chain.receipt(first.hash).await.unwrap().unwrap();
    assert!(receipt.success);
    // Base fee 1 gwei + 1 gwei priority, under the cap.
    assert_eq!(receipt.fee_paid, NATIVE_GAS * 2_000_000_000);
    let token_receipt = chain.receipt(second.hash).await.unwrap().unwrap();
    assert!(token_receipt.success);
    assert_eq!(chain.balance(address(9), Token::Native).await.unwrap(), ETH);
    assert_eq!(chain.balance(address(9), token()).await.unwrap(), 400);
    assert_eq!(
        chain.balance(hot, Token::Native).await.unwrap(),
        9 * ETH - receipt.fee_paid - token_receipt.fee_paid
    );
    assert_eq!(chain.next_nonce(hot).await.unwrap(), 2);
    chain.broadcast(&first).await.unwrap();
    assert_eq!(
        chain.mempool_len(),
        0,
        "a mined transaction sent again is known"
    );
}

#[tokio::test]
async fn refusals_name_their_reason_and_leave_the_nonce_free() {
    let chain = chain(3);
    let fees = chain.fee_bid().await.unwrap();
    let unfunded = send(&chain, 0, ETH, fees);
    match chain.broadcast(&unfunded).await {
        Err(BroadcastError::Rejected {
            kind: Rejection::InsufficientFunds,
            ..
        }) => {}
        other => panic!("expected insufficient funds, got {other:?}"),
    }
    let hot = hot_key().address();
    assert_eq!(chain.next_nonce(hot).await.unwrap(), 0);
    chain.fund(hot, Token::Native, 10 * ETH);
    chain.broadcast(&send(&chain, 0, ETH, fees)).await.unwrap();
    // A replacement must bid 10 % more.
    let same_bid = send(&chain, 0, 2 * ETH, fees);
    assert!(matches!(
        chain.broadcast(&same_bid).await,
        Err(BroadcastError::Rejected {
            kind: Rejection::Underpriced,
            ..
        })
    ));
    chain.mine(1);
    let stale = send(&chain, 0, 3 * ETH, fees.bumped(50));
    assert!(matches!(
        chain.broadcast(&stale).await,
        Err(BroadcastError::Rejected {
            kind: Rejection::NonceTooLow,
            ..
        })
    ));
    let garbage = SignedTx {
        hash: Hash32::default(),
        raw: b"{}".to_vec(),
    };
    assert!(matches!(
        chain.broadcast(&garbage).await,
        Err(BroadcastError::Rejected {
            kind: Rejection::Other,
            ..
        })
    ));
}

#[tokio::test]
async fn a_stuck_transaction_is_mined_once_its_fee_is_bumped() {
    let chain = chain(4);
    let hot = hot_key().address();
    chain.fund(hot, Token::Native, 10 * ETH);
    let fees = chain.fee_bid().await.unwrap();
    let low = send(&chain, 0, ETH, fees);
    chain.broadcast(&low).await.unwrap();
    chain.set_base_fee(fees.max_fee_per_gas * 2);
    chain.mine(3);
    assert_eq!(chain.receipt(low.hash).await.unwrap(), None, "stuck");
    let bumped = send(&chain, 0, ETH, fees.bumped(150));
    chain.broadcast(&bumped).await.unwrap();
    assert_eq!(
        chain.mempool_len(),
        1,
        "the replacement took the old one's place"
    );
    chain.mine(1);
    assert!(chain.receipt(bumped.hash).await.unwrap().unwrap().success);
    assert_eq!(chain.receipt(low.hash).await.unwrap(), None);
}

#[tokio::test]
async fn a_reorganisation_replaces_blocks_and_undoes_what_they_did() {
    let chain = chain(5);
    let tx = chain.faucet(address(1), Token::Native, ETH);
    chain.mine(1);
    let old = chain.header(1).await.unwrap().unwrap();
    chain.mine(1);
    chain.reorg(2, false);
    assert_eq!(chain.head().await.unwrap(), 2, "the height stays");
    let new = chain.header(1).await.unwrap().unwrap();
    assert_ne!(new.hash, old.hash);
    assert_eq!(
        chain.header(2).await.unwrap().unwrap().parent_hash,
        new.hash
    );
    assert!(matches!(
        chain.incoming(old.hash, &[]).await,
        Err(ChainError::BlockGone(hash)) if hash == old.hash
    ));
    assert_eq!(chain.receipt(tx).await.unwrap(), None);
    assert_eq!(chain.balance(address(1), Token::Native).await.unwrap(), 0);

    // Kept transactions are mined again, in a later block, with the same hash.
    let again = chain.faucet(address(2), Token::Native, ETH);
    chain.mine(1);
    chain.reorg(1, true);
    assert_eq!(chain.receipt(again).await.unwrap(), None);
    chain.mine(1);
    let receipt = chain.receipt(again).await.unwrap().unwrap();
    assert_eq!(receipt.block_number, 4);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_chain_faults_included() {
    let faults = Faults {
        reorg_percent: 30,
        reorg_depth_max: 3,
        drop_percent: 30,
        ..Faults::default()
    };
    let run = |seed: u64| async move {
        let chain = chain(seed);
        chain.set_faults(faults);
        let hot = hot_key().address();
        chain.fund(hot, Token::Native, 100 * ETH);
        let fees = chain.fee_bid().await.unwrap();
        for n in 0..20u8 {
            chain.faucet(address(n), Token::Native, u128::from(n) + 1);
            let _ = chain
                .broadcast(&send(&chain, chain.next_nonce(hot).await.unwrap(), 1, fees))
                .await;
            chain.mine(1);
        }
        let mut hashes = Vec::new();
        for n in 0..=chain.head().await.unwrap() {
            hashes.push(chain.header(n).await.unwrap().unwrap().hash);
        }
        (hashes, chain.next_nonce(hot).await.unwrap())
    };
    let (first, nonce) = run(42).await;
    assert_eq!(run(42).await, (first.clone(), nonce));
    let (other, _) = run(43).await;
    assert_ne!(
        first[0], other[0],
        "even the start block depends on the seed"
    );
    assert_ne!(first, other, "another seed, another chain");
}

#[tokio::test]
async fn a_restarted_chain_agrees_about_the_empty_blocks_below_its_start() {
    let before = chain(6);
    before.mine(10);
    let after = SimChain::new(SimConfig {
        seed: 6,
        start_height: 10,
        ..SimConfig::default()
    });
    for n in [0, 5, 9, 10] {
        assert_eq!(
            before.header(n).await.unwrap(),
            after.header(n).await.unwrap(),
            "block {n}"
        );
    }
    after.mine(1);
    before.mine(1);
    assert_eq!(
        before.header(11).await.unwrap(),
        after.header(11).await.unwrap()
    );
}

#[tokio::test]
async fn rpc_faults_fail_calls_as_an_unreachable_node_would() {
    let chain = chain(7);
    chain.set_faults(Faults {
        rpc_error_percent: 100,
        ..Faults::default()
    });
    assert!(matches!(
        chain.head().await,
        Err(ChainError::Unavailable(_))
    ));
    let fees = FeeBid {
        max_fee_per_gas: 1,
        max_priority_fee_per_gas: 1,
    };
    assert!(matches!(
        chain.broadcast(&send(&chain, 0, 1, fees)).await,
        Err(BroadcastError::Unavailable(_))
    ));
    chain.set_faults(Faults::default());
    assert_eq!(chain.head().await.unwrap(), 0);
}
