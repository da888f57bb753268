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

export class JobCursor {
  readonly #init: JobCursorInit;
  #block: number;
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

  /** The ids of jobs posted in (block, head], in order, with their posted blocks remembered. */
  async next(registry: JobRegistry, head: number): Promise<string[]> {
    const out: string[] = [];
    const range = this.#init.blockRange ?? 10_000;
    const filter = registry.filters.JobPosted();
    for (let from = this.#block + 1; from <= head; from += range) {
      const to = Math.min(head, from + range - 1);
      for (const e of await registry.queryFilter(filter, from, to)) {
        const id = (e.args.jobId as bigint).toString();
        this.posted.set(id, e.blockNumber);
        out.push(id);
      }
      this.#block = to;
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
      retry: Object.fromEntries(this.retry),
    };
    const text = `${JSON.stringify(f)}\n`;
    if (text === this.#saved) return;
    await writeFileAtomic(this.#init.file, text);
    this.#saved = text;
  }
}
