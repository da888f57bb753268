// When to publish a submission: a uniformly random delay within the job's collection window, from a CSPRNG.

/** Options for choosing when to publish within a job's collection window. */
export interface PublishDelayInit {
  /** The job's collection deadline, unix seconds. */
  collectionDeadline: number;
  /** The current time on the deadline's clock (chain time), unix seconds. */
  now: number;
  /**
   * The longest delay to pick.
   * @default the whole remaining window, less the safety margin
   */
  maxDelayMs?: number;
  /**
   * Time kept free before the deadline for proving, dialling and fetching, and for clock skew.
   * @default max(60 s, 10% of the remaining window)
   */
  safetyMarginMs?: number;
  /**
   * A uniform random integer in [0, bound). Must be a CSPRNG outside tests.
   * @default WebCrypto's getRandomValues, sampled uniformly
   */
  random?: (bound: number) => number;
}

/**
 * Picks a publish delay uniformly at random in [0, min(maxDelayMs, window - safetyMargin)] ms, where window is
 * the time left until the collection deadline. `capped` says the window left no room and the delay is 0.
 */
export function pickPublishDelay(init: PublishDelayInit): { delayMs: number; boundMs: number; capped: boolean } {
  const windowMs = Math.max(0, (init.collectionDeadline - init.now) * 1000);
  const marginMs = nonNegative(init.safetyMarginMs ?? Math.max(60_000, windowMs / 10), "safetyMarginMs");
  const maxDelayMs = nonNegative(init.maxDelayMs ?? Number.POSITIVE_INFINITY, "maxDelayMs");
  const boundMs = Math.floor(Math.min(maxDelayMs, windowMs - marginMs));
  if (boundMs <= 0) return { delayMs: 0, boundMs: 0, capped: true };
  // randomInt takes bounds up to 2^48 ms (about 8900 years).
  const random = init.random ?? ((bound: number) => randomInt(bound));
  const delayMs = random(boundMs + 1);
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > boundMs) {
    throw new RangeError(`random: expected an integer in [0, ${boundMs}], got ${delayMs}`);
  }
  return { delayMs, boundMs, capped: false };
}

/**
 * A uniform integer in [0, bound), from WebCrypto's CSPRNG by rejection sampling, for bounds up to 2^48 as Node's
 * crypto.randomInt takes.
 */
function randomInt(bound: number): number {
  if (!Number.isSafeInteger(bound) || bound < 1 || bound > 2 ** 48)
    throw new RangeError(`bound: expected an integer in [1, 2^48], got ${bound}`);
  // 48 random bits; drawing again above the largest multiple of `bound` keeps every result equally likely.
  const limit = 2 ** 48 - (2 ** 48 % bound);
  const words = new Uint32Array(2);
  for (;;) {
    globalThis.crypto.getRandomValues(words);
    const x = ((words[0] as number) & 0xffff) * 2 ** 32 + (words[1] as number);
    if (x < limit) return x % bound;
  }
}

/** Checks an option is a number >= 0. */
export function nonNegative(value: number, field: string): number {
  if (!(value >= 0)) throw new RangeError(`${field}: expected a number >= 0, got ${value}`);
  return value;
}
