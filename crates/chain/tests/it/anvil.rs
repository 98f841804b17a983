//! A real `anvil` node per test, and what tests do to it: fund accounts, deploy the test token,
//! send from the first development account, mine and reorganise blocks.
//!
//! anvil comes from npm (`tools/anvil`, pinned there); `OKWALLET_ANVIL` names another binary.
//! Without one the tests are skipped with a message, unless `OKWALLET_SLOW_TESTS` is set (CI
//! sets it), in which case a missing anvil fails them. The node is killed when the [`Anvil`]
//! is dropped.
//!
//! The helpers sign through alloy's own provider stack, not through `chain::evm`, so a mistake
//! in the code under test cannot hide itself in the set-up.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder, RootProvider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolValue};
use chain::evm::EvmChain;
use chain::hd::PrivateKey;
use chain::{Address, Hash32};

/// The phrase every Hardhat and Anvil node funds.
pub const DEV_PHRASE: &str = "test test test test test test test test test test test junk";
/// The published private key of the phrase's first account (`m/44'/60'/0'/0/0`).
const DEV_KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// The test token's creation code, compiled from `contracts/TestToken.sol`.
const TEST_TOKEN_BIN: &str = include_str!("../../../../contracts/TestToken.bin");
/// Where `npm ci` in `tools/anvil` puts the binary, from the repository's root.
const NPM_ANVIL: &str = "tools/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
/// One wei-denominated ether.
pub const ETHER: u128 = 1_000_000_000_000_000_000;

alloy::sol! {
    function transfer(address to, uint256 value) external returns (bool);
}

/// The first development account's key: 10 000 ether on a fresh anvil.
pub fn dev_key() -> PrivateKey {
    let bytes: [u8; 32] = hex::decode(DEV_KEY_0).unwrap().try_into().unwrap();
    PrivateKey::from_bytes(bytes).unwrap()
}

pub fn dev_address() -> Address {
    dev_key().address()
}

/// Where a transaction was mined.
#[derive(Clone, Copy, Debug)]
pub struct Mined {
    pub tx: Hash32,
    pub block_number: u64,
    pub block_hash: Hash32,
}

/// A running anvil, killed on drop.
pub struct Anvil {
    child: Child,
    url: String,
    /// Plain JSON-RPC, for anvil's own methods and reads.
    rpc: RootProvider,
    /// Signs and sends as the first development account.
    dev: DynProvider,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn anvil_binary() -> Option<PathBuf> {
    let path = match std::env::var_os("OKWALLET_ANVIL") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(NPM_ANVIL),
    };
    path.is_file().then_some(path)
}

/// A port nothing listened on a moment ago. Another process may take it before anvil does;
/// [`Anvil::start`] then tries again with another.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("binding a loopback port")
        .port()
}

impl Anvil {
    /// Starts a fresh node with the development phrase's accounts, mining each transaction as
    /// it arrives. `None` (after saying so) when anvil is not installed and slow tests are off.
    pub async fn start() -> Option<Anvil> {
        let Some(binary) = anvil_binary() else {
            if std::env::var_os("OKWALLET_SLOW_TESTS").is_some() {
                panic!(
                    "OKWALLET_SLOW_TESTS is set but anvil is missing: run `npm ci` in tools/anvil \
                     or point OKWALLET_ANVIL at an anvil binary"
                );
            }
            eprintln!(
                "skipped: anvil not found (run `npm ci` in tools/anvil, or set OKWALLET_ANVIL)"
            );
            return None;
        };
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(&binary)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--mnemonic", DEV_PHRASE, "--quiet"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .unwrap_or_else(|err| panic!("starting {}: {err}", binary.display()));
            let url = format!("http://127.0.0.1:{port}");
            let dev_signer =
                PrivateKeySigner::from_bytes(&B256::from(*dev_key().secret_bytes())).unwrap();
            let mut anvil = Anvil {
                child,
                rpc: RootProvider::new_http(url.parse().unwrap()),
                dev: ProviderBuilder::default()
                    .with_gas_estimation()
                    .with_simple_nonce_management()
                    .fetch_chain_id()
                    .wallet(EthereumWallet::from(dev_signer))
                    .connect_http(url.parse().unwrap())
                    .erased(),
                url,
            };
            if anvil.wait_until_ready().await {
                return Some(anvil);
            }
            // Dropping it kills what is left; most likely the port was taken meanwhile.
        }
        panic!("anvil did not start in five tries");
    }

    async fn wait_until_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if self.rpc.get_chain_id().await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The chain under test, connected to this node.
    pub async fn chain(&self) -> EvmChain {
        EvmChain::connect(&self.url).await.unwrap()
    }

    /// Calls any JSON-RPC method; a failure fails the test.
    pub async fn rpc<T>(&self, method: &'static str, params: serde_json::Value) -> T
    where
        T: serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + Unpin + 'static,
    {
        self.rpc
            .raw_request(method.into(), params)
            .await
            .unwrap_or_else(|err| panic!("{method}: {err}"))
    }

    /// Sets `who`'s ether balance outright.
    pub async fn set_balance(&self, who: Address, wei: u128) {
        let _: serde_json::Value = self
            .rpc(
                "anvil_setBalance",
                serde_json::json!([who.to_lowercase_hex(), format!("{:#x}", wei)]),
            )
            .await;
    }

    /// Mines `blocks` blocks now, with whatever the mempool holds.
    pub async fn mine(&self, blocks: u64) {
        let _: serde_json::Value = self.rpc("anvil_mine", serde_json::json!([blocks])).await;
    }

    /// With automine off, transactions wait in the mempool until [`Anvil::mine`].
    pub async fn set_automine(&self, on: bool) {
        let _: serde_json::Value = self.rpc("evm_setAutomine", serde_json::json!([on])).await;
    }

    /// Replaces the newest `depth` blocks with as many empty ones: their transactions are gone.
    pub async fn reorg(&self, depth: u64) {
        let _: serde_json::Value = self
            .rpc("anvil_reorg", serde_json::json!([depth, []]))
            .await;
    }

    /// Sends `wei` from the first development account and waits until it is mined.
    pub async fn send_eth(&self, to: Address, wei: u128) -> Mined {
        let request = TransactionRequest::default()
            .with_to(alloy::primitives::Address::from(to.0))
            .with_value(U256::from(wei));
        self.send(request).await
    }

    /// Deploys the test token (6 decimals) with `supply` units minted to the first development
    /// account, and returns its address.
    pub async fn deploy_token(&self, supply: u128) -> Address {
        let mut code = hex::decode(TEST_TOKEN_BIN.trim()).expect("TestToken.bin is hex");
        code.extend(
            (
                "Test Token".to_string(),
                "TT".to_string(),
                U256::from(supply),
            )
                .abi_encode_params(),
        );
        let mined = self
            .send(TransactionRequest::default().with_deploy_code(Bytes::from(code)))
            .await;
        let receipt = self
            .rpc
            .get_transaction_receipt(B256::from(mined.tx.0))
            .await
            .unwrap()
            .unwrap();
        assert!(receipt.status(), "the token's deployment reverted");
        Address(receipt.contract_address.expect("a deployment").into_array())
    }

    /// Sends `amount` of `token` from the first development account and waits until it is mined.
    pub async fn send_token(&self, token: Address, to: Address, amount: u128) -> Mined {
        let call = transferCall {
            to: alloy::primitives::Address::from(to.0),
            value: U256::from(amount),
        };
        let request = TransactionRequest::default()
            .with_to(alloy::primitives::Address::from(token.0))
            .with_input(call.abi_encode());
        self.send(request).await
    }

    async fn send(&self, request: TransactionRequest) -> Mined {
        let pending = self.dev.send_transaction(request).await.unwrap();
        let tx = *pending.tx_hash();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(receipt) = self.rpc.get_transaction_receipt(tx).await.unwrap() {
                assert!(receipt.status(), "transaction {tx} reverted");
                return Mined {
                    tx: Hash32(tx.0),
                    block_number: receipt.block_number.unwrap(),
                    block_hash: Hash32(receipt.block_hash.unwrap().0),
                };
            }
            assert!(
                Instant::now() < deadline,
                "transaction {tx} was not mined (is automine off?)"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
