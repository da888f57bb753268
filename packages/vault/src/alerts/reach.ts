// The alert-reach ready job: how many people a public alert reached, in aggregate and with randomized response. Each
// vault answers one bit (its alert filter decided the alert concerns its user, and it was not cancelled), noised
// on the device; the public body learns a count, never who or where.
import { validateSpec } from "@mosaic/mapreduce";
import type { Fraction, JobSpec } from "@mosaic/protocol";

/** The string the template's program holds where the alert's key goes (a JSON string literal, quotes included). */
export const ALERT_REACH_PLACEHOLDER = '"<alert key: chainId:contract:feedId:seq>"';
/** An alert's key in the vault (alertDocKey): chain id, AlertFeeds contract (lowercase), feed id, entry seq. */
const ALERT_KEY = /^[1-9]\d{0,14}:0x[0-9a-f]{40}:[1-9]\d{0,14}:[1-9]\d{0,14}$/;
/** The output's categories, in order. */
export const ALERT_REACH_LABELS = ["reached", "not reached"] as const;

export interface AlertReachJobInit {
  /** Collection deadline, unix seconds. @default three days from now */
  collectionDeadline?: number;
  /** @default 1 */
  epsilon?: Fraction;
  /** @default 3 */
  minParticipants?: number;
  /** Seconds. @default 3600 */
  challengeWindow?: number;
  /** Wei, decimal. @default "100000000000000000" (0.1 ETH) */
  reward?: string;
  /** Wei, decimal. @default "1000000000000000000" (1 ETH) */
  minStake?: string;
  /** @default { name: "Mosaic public-health research team", contact: "research@mosaic.invalid" } */
  requester?: JobSpec["requester"];
}

/** The template: the program names no alert yet (ALERT_REACH_PLACEHOLDER); alertReachSpec fills it in. */
export function alertReachJob(init: AlertReachJobInit = {}): JobSpec {
  const source = [
    '// 1 under "reached" when this vault\'s alert filter decided the alert concerns its user and it was not',
    '// cancelled; else 1 under "not reached" (also when this vault never received the alert).',
    `const ALERT = ${ALERT_REACH_PLACEHOLDER};`,
    "function map(input) {",
    '  const alert = input["alert-filter/alerts"].find((a) => a.key === ALERT);',
    '  return alert !== undefined && alert.concerns === true && alert.state !== "cancelled" ? [1, 0] : [0, 1];',
    "}",
  ].join("\n");
  return {
    version: 1,
    title: "How many people a public alert reached",
    purpose:
      "Whether a public alert reached the people it was for: the number of people whose own device found they were in the alert's area and time, counted with randomized response so that no answer says who was there.",
    requester: init.requester ?? { name: "Mosaic public-health research team", contact: "research@mosaic.invalid" },
    reads: [{ ability: "alert-filter", collection: "alerts", fields: ["key", "concerns", "state"] }],
    program: { kind: "sandbox", language: "javascript", source, limits: { timeMs: 1000, memoryBytes: 16 * 1024 * 1024 } },
    output: { kind: "one-hot", unit: "people", entries: ALERT_REACH_LABELS.map((label) => ({ label, min: 0, max: 1 })) },
    reducer: { kind: "histogram" },
    privacy: { mechanism: "randomized-response", epsilon: init.epsilon ?? { num: 1, den: 1 } },
    minParticipants: init.minParticipants ?? 3,
    collectionDeadline: init.collectionDeadline ?? Math.floor(Date.now() / 1000) + 3 * 86_400,
    challengeWindow: init.challengeWindow ?? 3600,
    reward: init.reward ?? "100000000000000000",
    minStake: init.minStake ?? "1000000000000000000",
  };
}

/**
 * The alert-reach job for one alert: the template (jobs/alert-reach.json, or alertReachJob()) with the alert's key
 * (alertDocKey: `${chainId}:${contract}:${feedId}:${seq}`) written into its program and title, validated again
 * (validateSpec). The key comes from outside: anything but that exact form is a RangeError before it is written
 * anywhere, and it goes in as a JSON string literal. A template whose program does not hold the placeholder once
 * is a TypeError.
 */
export function alertReachSpec(template: JobSpec, key: string, options: { collectionDeadline?: number } = {}): JobSpec {
  if (typeof key !== "string" || key.length > 100 || !ALERT_KEY.test(key))
    throw new RangeError(
      `key: expected an alert key chainId:contract:feedId:seq (contract a lowercase 0x address), got ${JSON.stringify(String(key).slice(0, 100))}`,
    );
  const program = template.program;
  if (program.kind !== "sandbox" || program.source.split(ALERT_REACH_PLACEHOLDER).length !== 2)
    throw new TypeError("template: not an alert-reach template (its program must hold the alert key placeholder exactly once)");
  const source = program.source.split(ALERT_REACH_PLACEHOLDER).join(JSON.stringify(key));
  const [chainId, contract, feedId, seq] = key.split(":");
  return validateSpec({
    ...template,
    title: `How many people alert ${seq} of feed ${feedId} reached`,
    purpose: `${template.purpose} The alert: entry ${seq} of feed ${feedId} of AlertFeeds ${contract} on chain ${chainId}.`,
    program: { ...program, source },
    ...(options.collectionDeadline === undefined ? {} : { collectionDeadline: options.collectionDeadline }),
  });
}
