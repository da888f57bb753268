// Hardhat 3 configuration: offline solc from the npm `solc` package, typed bindings for @mosaic/protocol.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatEthersChaiMatchers from "@nomicfoundation/hardhat-ethers-chai-matchers";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatTypechain from "@nomicfoundation/hardhat-typechain";
import { defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);
const root = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  plugins: [hardhatEthers, hardhatEthersChaiMatchers, hardhatNetworkHelpers, hardhatTypechain],
  solidity: {
    // The compiler download host is unreachable here; soljson.js from npm compiles offline.
    compilers: [{ version: "0.8.28", path: require.resolve("solc/soljson.js"), settings: { optimizer: { enabled: true, runs: 200 } } }],
    // JobRegistry sits near the 24,576-byte limit on deployed code (EIP-170); the IR pipeline makes it ~2 KB smaller.
    overrides: {
      "contracts/JobRegistry.sol": {
        version: "0.8.28",
        path: require.resolve("solc/soljson.js"),
        settings: { optimizer: { enabled: true, runs: 200 }, viaIR: true },
      },
    },
    // The stock Semaphore contracts and their Poseidon library get artifacts of their own.
    npmFilesToBuild: [
      "@semaphore-protocol/contracts/Semaphore.sol",
      "@semaphore-protocol/contracts/base/SemaphoreVerifier.sol",
      "poseidon-solidity/PoseidonT3.sol",
    ],
  },
  paths: { sources: "contracts" },
  typechain: { outDir: path.join(root, "packages/protocol/src/contracts/types") },
  networks: {
    // The embedded default: an in-process simulated chain.
    default: { type: "edr-simulated", chainType: "l1", allowUnlimitedContractSize: false },
  },
});
