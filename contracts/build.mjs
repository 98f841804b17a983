// Compiles TestToken.sol with the solc-js pinned in package.json and writes the creation
// bytecode (TestToken.bin, hex without 0x) and the ABI (TestToken.abi.json) beside it.
// Run: npm ci && node build.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const here = dirname(fileURLToPath(import.meta.url));
const source = readFileSync(join(here, "TestToken.sol"), "utf8");

const input = {
  language: "Solidity",
  sources: { "TestToken.sol": { content: source } },
  settings: {
    // Pinned so the bytecode runs on any chain past the Cancun upgrade, whatever the
    // compiler's default target.
    evmVersion: "cancun",
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const message of output.errors ?? []) console.error(message.formattedMessage);
if (errors.length > 0) process.exit(1);

const contract = output.contracts["TestToken.sol"].TestToken;
writeFileSync(join(here, "TestToken.bin"), contract.evm.bytecode.object + "\n");
writeFileSync(join(here, "TestToken.abi.json"), JSON.stringify(contract.abi, null, 2) + "\n");
console.log(`TestToken: ${contract.evm.bytecode.object.length / 2} bytes of creation code, solc ${solc.version()}`);
