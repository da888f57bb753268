/**
 * @packageDocumentation
 *
 * The vault: a person's data in an encrypted thread, the data abilities that collect and use it (each confined
 * to its manifest), the consent screen, the one egress gate with its audit log, the privacy budget, and social
 * recovery through guardians.
 *
 * @example
 * ```ts
 * import { openVault, answerJob } from '@mosaic/vault'
 * const vault = await openVault(dir, { rootSeed })
 * await vault.importLocations(await readFile('Records.json'))
 * const request = await vault.review(spec, job)   // show it to the user
 * await vault.consent(spec, request)
 * await answerJob(vault, job, group, { peers, collectionDeadline, now })
 * ```
 */
export * from "./abilities/index.js";
export * from "./ability.js";
export * from "./answer.js";
export * from "./budget.js";
export * from "./errors.js";
export * from "./guardians.js";
export * from "./recovery.js";
export * from "./vault.js";
