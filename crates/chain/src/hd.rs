//! Hierarchical deterministic deposit addresses (BIP-32 keys on BIP-44 paths, BIP-39 seeds):
//! one seed, kept sealed by the operator, gives every user their own address per chain, and
//! the same index always gives the same address, so asking again answers the same.
//!
//! Ethereum: deposit addresses at `m/44'/60'/0'/0/<index>`, the address being the last 20 bytes
//! of the Keccak-256 of the uncompressed public key, written with the EIP-55 checksum. The hot
//! wallet, which signs withdrawals, is `m/44'/60'/1'/0/0`: another BIP-44 account, so no deposit
//! index can ever collide with it.

use bip32::{DerivationPath, XPrv};
use sha3::{Digest, Keccak256};

use crate::Address;

/// Why an address could not be derived.
#[derive(Debug, thiserror::Error)]
pub enum HdError {
    #[error("the recovery phrase is not a valid BIP-39 English phrase")]
    BadPhrase,
    #[error("the seed must be 16 to 64 bytes")]
    BadSeed,
    #[error("key derivation failed")]
    Derivation,
}

/// A wallet seed (the 64 bytes a BIP-39 phrase stretches to).
pub struct Seed(Vec<u8>);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(***)")
    }
}

impl Seed {
    /// The seed of a BIP-39 English phrase with an empty passphrase.
    pub fn from_phrase(phrase: &str) -> Result<Seed, HdError> {
        let mnemonic =
            bip39::Mnemonic::parse_in_normalized(bip39::Language::English, phrase.trim())
                .map_err(|_| HdError::BadPhrase)?;
        Ok(Seed(mnemonic.to_seed("").to_vec()))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Seed, HdError> {
        if (16..=64).contains(&bytes.len()) {
            Ok(Seed(bytes.to_vec()))
        } else {
            Err(HdError::BadSeed)
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The Ethereum deposit address at `m/44'/60'/0'/0/<index>`.
    pub fn eth_address(&self, index: u32) -> Result<Address, HdError> {
        Ok(self.key_at(&format!("m/44'/60'/0'/0/{index}"))?.address())
    }

    /// The hot wallet's key, `m/44'/60'/1'/0/0`.
    pub fn hot_wallet_key(&self) -> Result<PrivateKey, HdError> {
        self.key_at("m/44'/60'/1'/0/0")
    }

    fn key_at(&self, path: &str) -> Result<PrivateKey, HdError> {
        let path: DerivationPath = path.parse().map_err(|_| HdError::Derivation)?;
        let key = XPrv::derive_from_path(&self.0, &path).map_err(|_| HdError::Derivation)?;
        Ok(PrivateKey(key.private_key().to_bytes().into()))
    }
}

/// A secp256k1 private key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct PrivateKey([u8; 32]);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey(*** for {})", self.address())
    }
}

impl PrivateKey {
    /// A key from its 32 bytes; `None` when they are not a valid secp256k1 scalar.
    pub fn from_bytes(bytes: [u8; 32]) -> Option<PrivateKey> {
        bip32::secp256k1::ecdsa::SigningKey::from_bytes(&bytes.into()).ok()?;
        Some(PrivateKey(bytes))
    }

    /// The 32 secret bytes, for a signer.
    pub fn secret_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The Ethereum address of this key.
    pub fn address(&self) -> Address {
        let key = bip32::secp256k1::ecdsa::SigningKey::from_bytes(&self.0.into())
            .expect("checked when the key was made");
        let public = key.verifying_key().to_encoded_point(false);
        // Skip the 0x04 tag of the uncompressed point.
        let hash = Keccak256::digest(&public.as_bytes()[1..]);
        Address(hash[12..].try_into().expect("20 bytes"))
    }
}

/// An address with the EIP-55 mixed-case checksum.
pub fn eip55(address: &[u8]) -> String {
    let lower = hex::encode(address);
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
        if c.is_ascii_alphabetic() && nibble >= 8 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The phrase every Hardhat and Anvil node funds; its addresses are published widely.
    const DEV_PHRASE: &str = "test test test test test test test test test test test junk";

    #[test]
    fn the_development_phrase_gives_its_well_known_addresses() {
        let seed = Seed::from_phrase(DEV_PHRASE).unwrap();
        assert_eq!(
            seed.eth_address(0).unwrap().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(
            seed.eth_address(1).unwrap().to_string(),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        );
        assert_eq!(seed.eth_address(0).unwrap(), seed.eth_address(0).unwrap());
        // The published private key of the first development account.
        let first = PrivateKey::from_bytes(
            hex::decode("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
                .unwrap()
                .try_into()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(first.address(), seed.eth_address(0).unwrap());
        let hot = seed.hot_wallet_key().unwrap();
        assert_ne!(hot.address(), seed.eth_address(0).unwrap());
        assert!(!format!("{hot:?}").contains(&hex::encode(hot.secret_bytes())));
    }

    #[test]
    fn eip55_matches_the_specification_examples() {
        for address in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let bytes = hex::decode(&address[2..]).unwrap();
            assert_eq!(eip55(&bytes), address);
        }
    }

    #[test]
    fn bad_phrases_and_seeds_are_refused() {
        assert!(matches!(
            Seed::from_phrase("test test test"),
            Err(HdError::BadPhrase)
        ));
        assert!(matches!(Seed::from_bytes(&[1; 8]), Err(HdError::BadSeed)));
        assert_eq!(
            format!("{:?}", Seed::from_bytes(&[7; 32]).unwrap()),
            "Seed(***)"
        );
    }
}
