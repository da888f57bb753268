// The in-process Hardhat network, for the demo, tests and benches only: production code connects by JSON-RPC.
import { NonceManager } from "ethers";
import { network } from "hardhat";
import type { ChainConnection } from "./chain.node.js";

/**
 * Starts Hardhat's simulated network in this process, with its funded accounts; time can be moved forward.
 * Imported through `@mosaic/protocol/in-process-chain` so that nothing else loads Hardhat.
 */
export async function connectInProcessChain(): Promise<ChainConnection> {
  const connection = await network.connect();
  const { ethers } = connection;
  const provider = ethers.provider;
  const signers = await ethers.getSigners();
  const { chainId } = await provider.getNetwork();
  return {
    provider,
    chainId,
    accounts: signers.map((s) => new NonceManager(s)),
    simulated: true,
    now: async () => (await provider.getBlock("latest"))?.timestamp ?? 0,
    increaseTime: async (seconds: number) => {
      await provider.send("evm_increaseTime", [seconds]);
      await provider.send("evm_mine", []);
    },
    close: async () => connection.close(),
  };
}
