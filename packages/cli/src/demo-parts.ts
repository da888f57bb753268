// What both demos (a job, and --exposure) start from: their chain and their phase timer.
import { type ChainConnection, connectChain } from "@mosaic/protocol";

/**
 * The demo's chain: the in-process Hardhat network, or `rpcUrl`'s. Hardhat is loaded only here and only for the
 * in-process network, never when a demo runs against an external chain (test/hardhat-scope.spec.ts holds this).
 */
export async function connectDemoChain(rpcUrl: string | undefined): Promise<ChainConnection> {
  return rpcUrl === undefined ? (await import("@mosaic/protocol/in-process-chain")).connectInProcessChain() : connectChain({ rpcUrl });
}

/** A demo's phases: each printed as it starts and ends, with its time, which `phases` keeps (seconds). */
export function phaseTimer(print: (line: string) => void) {
  const phases: Record<string, number> = {};
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    print(`▶ ${name}`);
    const out = await fn();
    phases[name] = Math.round(performance.now() - t0) / 1000;
    print(`  ✓ ${name} (${phases[name].toFixed(2)} s)`);
    return out;
  };
  return { phases, phase };
}
