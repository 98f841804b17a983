//! `chain::evm` against a real anvil node, one node per test.

use chain::evm::EvmChain;
use chain::hd::{PrivateKey, Seed};
use chain::{
    Address, BroadcastError, Chain, ChainError, Hash32, Incoming, Outgoing, Rejection, Token,
};

use crate::anvil::{dev_address, Anvil, DEV_PHRASE, ETHER};

/// A deposit address of the development seed past anvil's ten funded accounts, so it starts
/// empty.
fn deposit_address(index: u32) -> Address {
    Seed::from_phrase(DEV_PHRASE)
        .unwrap()
        .eth_address(100 + index)
        .unwrap()
}

fn hot_wallet() -> PrivateKey {
    Seed::from_phrase(DEV_PHRASE)
        .unwrap()
        .hot_wallet_key()
        .unwrap()
}

/// Waits for anvil's automine, which mines a moment after the broadcast returns.
async fn mined(chain: &EvmChain, tx: Hash32) -> chain::Receipt {
    for _ in 0..200 {
        if let Some(receipt) = chain.receipt(tx).await.unwrap() {
            return receipt;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{tx} was not mined");
}

#[tokio::test]
async fn native_transfers_are_found_in_their_block_and_headers_chain() {
    let Some(anvil) = Anvil::start().await else {
        return;
    };
    let chain = anvil.chain().await;
    assert!(!chain.simulated());
    assert_eq!(chain.chain_id(), 31337, "anvil's default chain id");
    // A node on another network than the configured one is refused.
    let elsewhere = chain::evm::EvmChain::lazy(anvil.url(), Some(1)).unwrap();
    match elsewhere.head().await {
        Err(chain::ChainError::Unavailable(message)) => {
            assert!(message.contains("31337"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let right = chain::evm::EvmChain::lazy(anvil.url(), Some(31337)).unwrap();
    assert!(right.head().await.is_ok());
    assert_eq!(right.chain_id(), 31337);

    let to = deposit_address(0);
    let amount = 3 * ETHER / 2;
    let mined = anvil.send_eth(to, amount).await;

    assert_eq!(
        chain.incoming(mined.block_hash, &[]).await.unwrap(),
        vec![Incoming {
            tx_hash: mined.tx,
            log_index: None,
            from: dev_address(),
            to,
            token: Token::Native,
            amount,
        }]
    );
    assert_eq!(chain.balance(to, Token::Native).await.unwrap(), amount);

    let head = chain.head().await.unwrap();
    assert_eq!(head, mined.block_number);
    let mut parent = None;
    for number in 0..=head {
        let header = chain.header(number).await.unwrap().unwrap();
        assert_eq!(header.number, number);
        if let Some(parent) = parent {
            assert_eq!(header.parent_hash, parent, "block {number}'s parent");
        }
        parent = Some(header.hash);
    }
    assert_eq!(
        chain
            .header(mined.block_number)
            .await
            .unwrap()
            .unwrap()
            .hash,
        mined.block_hash
    );
    assert_eq!(chain.header(head + 1).await.unwrap(), None);
}

#[tokio::test]
async fn token_transfers_are_found_by_their_logs() {
    let Some(anvil) = Anvil::start().await else {
        return;
    };
    let chain = anvil.chain().await;
    let supply = 1_000_000 * 1_000_000; // A million tokens of 6 decimals.
    let token = anvil.deploy_token(supply).await;
    assert_eq!(
        chain
            .balance(dev_address(), Token::Erc20(token))
            .await
            .unwrap(),
        supply
    );

    let to = deposit_address(1);
    let amount = 250_500_000; // 250.5 tokens.
    let mined = anvil.send_token(token, to, amount).await;
    assert_eq!(
        chain.incoming(mined.block_hash, &[token]).await.unwrap(),
        vec![Incoming {
            tx_hash: mined.tx,
            log_index: Some(0),
            from: dev_address(),
            to,
            token: Token::Erc20(token),
            amount,
        }]
    );
    // Logs of contracts that were not asked about are not reported, nor is the call itself
    // (it carries no ether).
    assert_eq!(chain.incoming(mined.block_hash, &[]).await.unwrap(), vec![]);
    let other = Address([0x42; 20]);
    assert_eq!(
        chain.incoming(mined.block_hash, &[other]).await.unwrap(),
        vec![]
    );
    assert_eq!(
        chain.balance(to, Token::Erc20(token)).await.unwrap(),
        amount
    );

    anvil.mine(1).await;
    let empty = chain
        .header(chain.head().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(chain.incoming(empty.hash, &[token]).await.unwrap(), vec![]);
}

#[tokio::test]
async fn the_hot_wallet_signs_and_broadcasts_ether_and_tokens() {
    let Some(anvil) = Anvil::start().await else {
        return;
    };
    let chain = anvil.chain().await;
    let hot = hot_wallet();
    let token = anvil.deploy_token(1_000_000_000).await;
    anvil.set_balance(hot.address(), 10 * ETHER).await;
    anvil.send_token(token, hot.address(), 1_000_000).await;

    // From here on transactions wait in the mempool until mined, as on a real chain.
    anvil.set_automine(false).await;
    assert_eq!(chain.next_nonce(hot.address()).await.unwrap(), 0);
    let fees = chain.fee_bid().await.unwrap();
    assert!(fees.max_priority_fee_per_gas > 0);
    assert!(fees.max_fee_per_gas > fees.max_priority_fee_per_gas);

    let ether_to = deposit_address(2);
    let token_to = deposit_address(3);
    let ether = chain
        .sign(
            &hot,
            &Outgoing {
                to: ether_to,
                token: Token::Native,
                amount: ETHER / 4,
                nonce: 0,
                fees,
            },
        )
        .unwrap();
    let tokens = chain
        .sign(
            &hot,
            &Outgoing {
                to: token_to,
                token: Token::Erc20(token),
                amount: 100_000,
                nonce: 1,
                fees,
            },
        )
        .unwrap();
    assert_ne!(ether.hash, tokens.hash);
    chain.broadcast(&ether).await.unwrap();
    chain.broadcast(&tokens).await.unwrap();
    chain
        .broadcast(&ether)
        .await
        .expect("sending the same bytes again is a success");
    assert_eq!(chain.next_nonce(hot.address()).await.unwrap(), 2);
    assert_eq!(chain.receipt(ether.hash).await.unwrap(), None);

    anvil.mine(1).await;
    let mut fees_paid = 0;
    for tx in [&ether, &tokens] {
        let receipt = chain.receipt(tx.hash).await.unwrap().expect("mined");
        assert!(receipt.success);
        assert!(receipt.fee_paid > 0);
        assert_eq!(receipt.block_number, chain.head().await.unwrap());
        fees_paid += receipt.fee_paid;
    }
    assert_eq!(
        chain.balance(ether_to, Token::Native).await.unwrap(),
        ETHER / 4
    );
    assert_eq!(
        chain.balance(hot.address(), Token::Native).await.unwrap(),
        10 * ETHER - ETHER / 4 - fees_paid
    );
    assert_eq!(
        chain.balance(token_to, Token::Erc20(token)).await.unwrap(),
        100_000
    );
    assert_eq!(
        chain
            .balance(hot.address(), Token::Erc20(token))
            .await
            .unwrap(),
        900_000
    );
    assert_eq!(chain.next_nonce(hot.address()).await.unwrap(), 2);

    // The block holds the ether transfer (native) but not the token transfer's ether value
    // (none); the token's log is there when the token is asked about.
    let block = chain.receipt(ether.hash).await.unwrap().unwrap().block_hash;
    let found = chain.incoming(block, &[token]).await.unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].tx_hash, ether.hash);
    assert_eq!(found[0].from, hot.address());
    assert_eq!(found[1].tx_hash, tokens.hash);
    assert_eq!(found[1].token, Token::Erc20(token));
}

#[tokio::test]
async fn refusals_are_told_apart() {
    let Some(anvil) = Anvil::start().await else {
        return;
    };
    let chain = anvil.chain().await;
    let fees = chain.fee_bid().await.unwrap();
    let send = |nonce, amount| Outgoing {
        to: deposit_address(4),
        token: Token::Native,
        amount,
        nonce,
        fees,
    };

    let unfunded = PrivateKey::from_bytes([7; 32]).unwrap();
    let tx = chain.sign(&unfunded, &send(0, 1)).unwrap();
    let err = chain.broadcast(&tx).await.unwrap_err();
    println!("anvil, unfunded: {err}");
    assert!(
        matches!(
            err,
            BroadcastError::Rejected {
                kind: Rejection::InsufficientFunds,
                ..
            }
        ),
        "{err:?}"
    );

    let hot = hot_wallet();
    anvil.set_balance(hot.address(), ETHER).await;
    let first = chain.sign(&hot, &send(0, 1_000)).unwrap();
    chain.broadcast(&first).await.unwrap();
    mined(&chain, first.hash).await;
    let again = chain.sign(&hot, &send(0, 2_000)).unwrap();
    let err = chain.broadcast(&again).await.unwrap_err();
    println!("anvil, mined nonce: {err}");
    assert!(
        matches!(
            err,
            BroadcastError::Rejected {
                kind: Rejection::NonceTooLow,
                ..
            }
        ),
        "{err:?}"
    );
    // The same bytes once mined: the node calls that a low nonce too, but it knows the
    // transaction, which is what a resend asks.
    chain
        .broadcast(&first)
        .await
        .expect("resending mined bytes is a success");

    // A different transaction at a nonce waiting in the mempool, at the same price.
    anvil.set_automine(false).await;
    let waiting = chain.sign(&hot, &send(1, 1_000)).unwrap();
    chain.broadcast(&waiting).await.unwrap();
    chain.broadcast(&waiting).await.unwrap();
    let replacement = chain.sign(&hot, &send(1, 3_000)).unwrap();
    let err = chain.broadcast(&replacement).await.unwrap_err();
    println!("anvil, replacement at the same price: {err}");
    assert!(
        matches!(
            err,
            BroadcastError::Rejected {
                kind: Rejection::Underpriced,
                ..
            }
        ),
        "{err:?}"
    );

    // Bytes that are no transaction at all.
    let garbage = chain::SignedTx {
        hash: Hash32::default(),
        raw: vec![0x12, 0x34],
    };
    let err = chain.broadcast(&garbage).await.unwrap_err();
    println!("anvil, garbage: {err}");
    assert!(
        matches!(
            err,
            BroadcastError::Rejected {
                kind: Rejection::Other,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_reorganised_block_is_gone() {
    let Some(anvil) = Anvil::start().await else {
        return;
    };
    let chain = anvil.chain().await;
    let to = deposit_address(5);
    let mined = anvil.send_eth(to, ETHER).await;
    anvil.mine(1).await;
    let before = chain.header(mined.block_number).await.unwrap().unwrap();
    assert_eq!(before.hash, mined.block_hash);
    assert_eq!(
        chain.incoming(mined.block_hash, &[]).await.unwrap().len(),
        1
    );

    anvil.reorg(2).await;
    let after = chain.header(mined.block_number).await.unwrap().unwrap();
    assert_ne!(after.hash, before.hash);
    assert_eq!(
        after.parent_hash, before.parent_hash,
        "the fork starts there"
    );
    assert!(matches!(
        chain.incoming(mined.block_hash, &[]).await,
        Err(ChainError::BlockGone(hash)) if hash == mined.block_hash
    ));
    assert_eq!(chain.incoming(after.hash, &[]).await.unwrap(), vec![]);
    assert_eq!(chain.balance(to, Token::Native).await.unwrap(), 0);
    assert_eq!(chain.receipt(mined.tx).await.unwrap(), None);
}

#[tokio::test]
async fn a_node_that_is_gone_is_unavailable() {
    let Some(anvil) = Anvil::start().await else {
        return;
    };
    let chain = anvil.chain().await;
    assert!(chain.head().await.is_ok());
    let url = anvil.url().to_owned();
    drop(anvil);
    assert!(
        matches!(chain.head().await, Err(ChainError::Unavailable(_))),
        "{url} was stopped"
    );
    let tx = chain
        .sign(
            &hot_wallet(),
            &Outgoing {
                to: deposit_address(6),
                token: Token::Native,
                amount: 1,
                nonce: 0,
                fees: chain::FeeBid {
                    max_fee_per_gas: 2,
                    max_priority_fee_per_gas: 1,
                },
            },
        )
        .unwrap();
    assert!(matches!(
        chain.broadcast(&tx).await,
        Err(BroadcastError::Unavailable(_))
    ));
}
