// A hybrid logical clock: wall time when it moves forward, a counter when it does not, never behind anything seen.
import type { HlcTime } from "./record.js";

export class HybridClock {
  #ms = 0;
  #counter = 0;

  constructor(private readonly wallClock: () => number = Date.now) {}

  /** A reading later than every earlier reading and every observed one. */
  now(): HlcTime {
    const wall = this.wallClock();
    if (wall > this.#ms) {
      this.#ms = wall;
      this.#counter = 0;
    } else {
      this.#counter++;
    }
    return [this.#ms, this.#counter];
  }

  /** Moves the clock past a reading received from another device. */
  observe(time: HlcTime): void {
    if (time[0] > this.#ms || (time[0] === this.#ms && time[1] > this.#counter)) {
      this.#ms = time[0];
      this.#counter = time[1];
    }
  }

  get current(): HlcTime {
    return [this.#ms, this.#counter];
  }
}

/** Orders two readings, then log IDs: the total order every device agrees on. */
export function compareStamps(a: HlcTime, aLog: string, b: HlcTime, bLog: string): number {
  return a[0] - b[0] || a[1] - b[1] || (aLog < bLog ? -1 : aLog > bLog ? 1 : 0);
}
