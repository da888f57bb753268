/**
 * @packageDocumentation
 *
 * The `mosaic` command and the demo it runs: one whole job end to end on real parts.
 *
 * @example
 * ```ts
 * import { runDemo } from '@mosaic/cli'
 * const summary = await runDemo({ users: 4, peers: [], collectSeconds: 600, challengeSeconds: 120, concurrency: 2, seed: 1, print: console.log })
 * ```
 */
export { type DemoOptions, type DemoSummary, runDemo } from "./demo.js";
export { type ExposureDemoOptions, type ExposureDemoSummary, runExposureDemo } from "./exposure-demo.js";
export { seededRandom } from "./synthetic.js";
