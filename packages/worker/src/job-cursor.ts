// Where a reducer stopped reading the registry's JobPosted logs, kept in <dataDir>/chain.json: each poll reads only
// the blocks since, so its cost does not grow with the chain's history. Jobs seen but not yet decided (their spec not
// reachable yet) are kept too, and every job's posted block, where its own log reads start.
import { readFileSync } from "node:fs";
import type { JobRegistry, Logger } from "@mosaic/protocol";
import { writeFileAtomic } from "@mosaic/protocol";

interface CursorFile {
  v: 1;
  chainId: string;
  registry: string;
  /** The last block whose JobPosted logs were read. */
  block: number;
  /** That block's hash, read before its logs: when the chain no longer has it, reads go back REWIND_BLOCKS. */
  hash?: string;
  /** Jobs seen and not decided yet, with their posted blocks. */
  retry: Record<string, number>;
}

export interface JobCursorInit {
  file: string;
  chainId: bigint;
  registry: string;
  /** The registry's deploy block: reads start here when there is no cursor file. */
  fromBlock: number;
  log: Logger;
  /**
   * Blocks read per getLogs call.
   * @default 10000
   */
  blockRange?: number;
}

/** How far back reads start again when the last block read is no longer on the chain (a reorg). */
export const REWIND_BLOCKS = 64;

export class JobCursor {
  readonly #init: JobCursorInit;
  #block: number;
  #hash: string | undefined;
  /** Undecided jobs' posted blocks, by id. */
  readonly retry = new Map<string, number>();
  /** Posted blocks of the jobs seen in this process (and retried ones), by id. */
  readonly posted = new Map<string, number>();
  #saved = "";

  constructor(init: JobCursorInit) {
    this.#init = init;
    this.#block = init.fromBlock - 1;
    let text: string | undefined;
    try {
      text = readFileSync(init.file, "utf8");
    } catch {
      return;
    }
    try {
      const f = JSON.parse(text) as CursorFile;
      if (f.v !== 1 || f.chainId !== init.chainId.toString() || f.registry.toLowerCase() !== init.registry.toLowerCase())
        throw new TypeError(`it is for chain ${f.chainId}, registry ${f.registry}`);
      if (!Number.isSafeInteger(f.block) || f.block < init.fromBlock - 1) throw new TypeError(`block ${f.block} is before fromBlock`);
      this.#block = f.block;
      this.#hash = typeof f.hash === "string" ? f.hash : undefined;
      for (const [id, block] of Object.entries(f.retry ?? {})) {
        if (!/^[1-9][0-9]*$/.test(id) || !Number.isSafeInteger(block)) throw new TypeError(`retry entry ${id}`);
        this.retry.set(id, block);
        this.posted.set(id, block);
      }
      this.#saved = text;
    } catch (err) {
      // A cursor is only a shortcut: read from fromBlock again rather than trust a damaged or foreign one.
      init.log("warn", "chain:cursor-reset", { file: init.file, message: (err as Error).message, fromBlock: init.fromBlock });
      this.#block = init.fromBlock - 1;
      this.retry.clear();
    }
  }

  /** The last block read. */
  get block(): number {
    return this.#block;
  }

  /**
   * The ids of jobs posted in (block, head], in order, with their posted blocks remembered. When the last block read
   * is no longer on the chain (a reorg), reads start REWIND_BLOCKS earlier (ids seen again are the caller's to skip).
   * A read that fails after some ranges returns what those ranges held (the cursor stays at the last range read);
   * one that fails before any throws and leaves the cursor where it was.
   */
  async next(registry: JobRegistry, head: number): Promise<string[]> {
    const out: string[] = [];
    const range = this.#init.blockRange ?? 10_000;
    const filter = registry.filters.JobPosted();
    const provider = registry.runner?.provider;
    if (this.#hash !== undefined && provider != null && this.#block >= 0) {
      const block = await provider.getBlock(this.#block);
      if (block === null || block.hash !== this.#hash) {
        const back = Math.max(this.#init.fromBlock - 1, this.#block - REWIND_BLOCKS);
        this.#init.log("warn", "chain:reorg", { block: this.#block, rewoundTo: back });
        this.#block = back;
        this.#hash = undefined;
      }
    }
    const start = this.#block;
    try {
      for (let from = this.#block + 1; from <= head; from += range) {
        const to = Math.min(head, from + range - 1);
        // The hash before the logs: a reorg between the two is then seen on the next read.
        const hash = provider == null ? undefined : ((await provider.getBlock(to))?.hash ?? undefined);
        const found: Array<[string, number]> = [];
        for (const e of await registry.queryFilter(filter, from, to)) found.push([(e.args.jobId as bigint).toString(), e.blockNumber]);
        for (const [id, block] of found) {
          this.posted.set(id, block);
          out.push(id);
        }
        this.#block = to;
        this.#hash = hash;
      }
    } catch (err) {
      if (this.#block === start) throw err;
      this.#init.log("warn", "chain:read-partial", { block: this.#block, head, message: (err as Error).message });
    }
    return out;
  }

  /** Writes the cursor if it changed. */
  async save(): Promise<void> {
    const f: CursorFile = {
      v: 1,
      chainId: this.#init.chainId.toString(),
      registry: this.#init.registry,
      block: this.#block,
      ...(this.#hash === undefined ? {} : { hash: this.#hash }),
      retry: Object.fromEntries(this.retry),
    };
    const text = `${JSON.stringify(f)}\n`;
    if (text === this.#saved) return;
    await writeFileAtomic(this.#init.file, text);
    this.#saved = text;
  }
}
