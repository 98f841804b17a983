//! A real `anvil` node per test, mining only when told to, and what the wallet's tests do to it:
//! send ether and test tokens from the first development account, set balances, mine and
//! reorganise blocks, read balances and nonces.
//!
//! A lean copy of the chain crate's harness (`crates/chain/tests/it/anvil.rs`; test crates cannot
//! share modules). This crate has no alloy, so it speaks JSON-RPC over a plain HTTP/1.1
//! connection and sends as the development account through anvil's unlocked
//! `eth_sendTransaction`: the set-up never goes through `chain::evm`, the code under test.
//!
//! anvil comes from npm (`tools/anvil`); `OKWALLET_ANVIL` names another binary. Without one the
//! tests are skipped with a message, unless `OKWALLET_SLOW_TESTS` is set, in which case a missing
//! anvil fails them. The node is killed when the [`Anvil`] is dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chain::{Address, Hash32};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The phrase every Hardhat and Anvil node funds.
const DEV_PHRASE: &str = "test test test test test test test test test test test junk";
/// The phrase's first account (10 000 ether on a fresh anvil, unlocked for sending).
const DEV_ADDRESS: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
/// The test token's creation code, compiled from `contracts/TestToken.sol`.
const TEST_TOKEN_BIN: &str = include_str!("../../../../contracts/TestToken.bin");
/// Where `npm ci` in `tools/anvil` puts the binary, from the repository's root.
const NPM_ANVIL: &str = "tools/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
/// `transfer(address,uint256)` and `balanceOf(address)`.
const TRANSFER_SELECTOR: &str = "a9059cbb";
const BALANCE_OF_SELECTOR: &str = "70a08231";

pub fn dev_address() -> Address {
    Address::parse(DEV_ADDRESS).unwrap()
}

/// A running anvil, killed on drop.
pub struct Anvil {
    child: Child,
    port: u16,
    url: String,
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

/// A port nothing listened on a moment ago; [`Anvil::start`] tries another if anvil lost it.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("binding a loopback port")
        .port()
}

/// One 32-byte ABI word holding `n`.
fn word(n: u128) -> String {
    format!("{n:064x}")
}

fn address_word(address: Address) -> String {
    format!("{:0>64}", hex::encode(address.0))
}

/// ABI encoding of a `string` in a tail: its length, then its bytes padded to whole words.
fn string_tail(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes.resize(text.len().div_ceil(32) * 32, 0);
    format!("{}{}", word(text.len() as u128), hex::encode(bytes))
}

fn hex_u128(value: &Value) -> u128 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a hex number: {value}"));
    u128::from_str_radix(text.trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("not a hex number: {text}"))
}

/// Decodes an HTTP/1.1 chunked body.
fn unchunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size_text = std::str::from_utf8(&body[..end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("a chunk size");
        body = &body[end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

impl Anvil {
    /// Starts a fresh node with the development phrase's accounts that mines only on
    /// [`Anvil::mine`]. `None` (after saying so) when anvil is not installed and slow tests are
    /// off.
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
                .args(["--mnemonic", DEV_PHRASE, "--quiet", "--no-mining"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .unwrap_or_else(|err| panic!("starting {}: {err}", binary.display()));
            let mut anvil = Anvil {
                child,
                port,
                url: format!("http://127.0.0.1:{port}"),
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
            if self.try_rpc("eth_chainId", json!([])).await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// One JSON-RPC call: its result, or the error (transport or the node's) as text.
    async fn try_rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .map_err(|e| e.to_string())?;
            let request = format!(
                "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                self.port,
                body.len()
            );
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            let mut response = Vec::new();
            stream
                .read_to_end(&mut response)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(response)
        };
        let response = tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .map_err(|_| format!("{method}: no answer in 10 s"))??;
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| format!("{method}: no HTTP header in the answer"))?;
        let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
        let raw = &response[split + 4..];
        let body = if head.contains("transfer-encoding: chunked") {
            unchunk(raw)
        } else {
            raw.to_vec()
        };
        let answer: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("{method}: {e}: {}", String::from_utf8_lossy(&body)))?;
        if let Some(error) = answer.get("error") {
            return Err(format!("{method}: {error}"));
        }
        Ok(answer.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Calls any JSON-RPC method; a failure fails the test.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .await
            .unwrap_or_else(|err| panic!("{err}"))
    }

    /// Mines `blocks` blocks now, with whatever the mempool holds.
    pub async fn mine(&self, blocks: u64) {
        self.rpc("anvil_mine", json!([blocks])).await;
    }

    /// Replaces the newest `depth` blocks with as many empty ones.
    pub async fn reorg(&self, depth: u64) {
        self.rpc("anvil_reorg", json!([depth, []])).await;
    }

    /// Sets `who`'s ether balance outright.
    pub async fn set_balance(&self, who: Address, wei: u128) {
        self.rpc(
            "anvil_setBalance",
            json!([who.to_lowercase_hex(), format!("{wei:#x}")]),
        )
        .await;
    }

    pub async fn head(&self) -> u64 {
        hex_u128(&self.rpc("eth_blockNumber", json!([])).await) as u64
    }

    /// Transactions waiting in the mempool.
    pub async fn pending_count(&self) -> u64 {
        let status = self.rpc("txpool_status", json!([])).await;
        hex_u128(&status["pending"]) as u64
    }

    /// Ether held by `who` at the newest block.
    pub async fn balance(&self, who: Address) -> u128 {
        hex_u128(
            &self
                .rpc("eth_getBalance", json!([who.to_lowercase_hex(), "latest"]))
                .await,
        )
    }

    /// `token`'s `balanceOf(who)` at the newest block.
    pub async fn token_balance(&self, token: Address, who: Address) -> u128 {
        let data = format!("0x{BALANCE_OF_SELECTOR}{}", address_word(who));
        let answer = self
            .rpc(
                "eth_call",
                json!([{"to": token.to_lowercase_hex(), "data": data}, "latest"]),
            )
            .await;
        hex_u128(&answer)
    }

    /// Transactions `who` has had mined (its next nonce, not counting the mempool).
    pub async fn mined_nonce(&self, who: Address) -> u64 {
        hex_u128(
            &self
                .rpc(
                    "eth_getTransactionCount",
                    json!([who.to_lowercase_hex(), "latest"]),
                )
                .await,
        ) as u64
    }

    /// The receipt of `tx`, `Null` while it is not mined on the current chain.
    pub async fn receipt(&self, tx: Hash32) -> Value {
        self.rpc("eth_getTransactionReceipt", json!([tx.to_string()]))
            .await
    }

    /// Sends a transaction from the first development account into the mempool (not mined).
    async fn send(&self, tx: Value) -> Hash32 {
        let hash = self.rpc("eth_sendTransaction", json!([tx])).await;
        Hash32::parse(hash.as_str().unwrap()).unwrap()
    }

    /// Sends `wei` from the first development account; it waits in the mempool until mined.
    pub async fn send_eth(&self, to: Address, wei: u128) -> Hash32 {
        self.send(json!({
            "from": DEV_ADDRESS,
            "to": to.to_lowercase_hex(),
            "value": format!("{wei:#x}"),
            "gas": "0x5208",
        }))
        .await
    }

    /// Sends `amount` of `token` from the first development account; it waits in the mempool.
    pub async fn send_token(&self, token: Address, to: Address, amount: u128) -> Hash32 {
        let data = format!("0x{TRANSFER_SELECTOR}{}{}", address_word(to), word(amount));
        self.send(json!({
            "from": DEV_ADDRESS,
            "to": token.to_lowercase_hex(),
            "data": data,
            "gas": format!("{:#x}", 100_000),
        }))
        .await
    }

    /// Deploys the test token (6 decimals) with `supply` units minted to the first development
    /// account, mines it, and returns its address.
    pub async fn deploy_token(&self, supply: u128) -> Address {
        let (name, symbol) = ("Test Token", "TT");
        let name_tail = string_tail(name);
        let args = format!(
            "{}{}{}{name_tail}{}",
            word(0x60),
            word(0x60 + name_tail.len() as u128 / 2),
            word(supply),
            string_tail(symbol)
        );
        let data = format!("0x{}{args}", TEST_TOKEN_BIN.trim());
        let tx = self
            .send(json!({
                "from": DEV_ADDRESS,
                "data": data,
                "gas": format!("{:#x}", 3_000_000),
            }))
            .await;
        self.mine(1).await;
        let receipt = self.receipt(tx).await;
        assert_eq!(
            receipt["status"], "0x1",
            "the token's deployment: {receipt}"
        );
        Address::parse(receipt["contractAddress"].as_str().expect("a deployment")).unwrap()
    }
}
