/**
 * @packageDocumentation
 *
 * The vault: a person's data sealed at rest, the consent screen, the one egress gate with its audit log,
 * and answering a job through the vault's avatar.
 *
 * @example
 * ```ts
 * import { openVault, answerJob } from '@mosaic/vault'
 * const vault = await openVault(dir, rootSeed)
 * const request = await vault.review(spec, job)   // show it to the user
 * await vault.consent(request)
 * await answerJob(vault, ipfs, spec, job, group)
 * ```
 */
export * from "./answer.js";
export * from "./store.js";
export * from "./vault.js";
