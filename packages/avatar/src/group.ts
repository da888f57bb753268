// The current tree of an avatar group, rebuilt from the stock Semaphore contract's events (see group-sync/).
import type { AvatarGroups } from "@mosaic/protocol";
import type { Group } from "@semaphore-protocol/group";
import { type GroupSyncInit, openGroupSync } from "./group-sync/index.js";

/**
 * Rebuilds an avatar group's tree at the latest block from Semaphore's member events (additions, batches, updates and
 * removals), checked against the contract's root. For repeated use, keep a {@link openGroupSync} instead: it syncs
 * incrementally and can cache to disk.
 */
export async function loadGroup(
  groups: AvatarGroups,
  groupId: bigint,
  init: GroupSyncInit & { signal?: AbortSignal } = {},
): Promise<Group> {
  const provider = groups.runner?.provider;
  if (provider == null) throw new TypeError("groups: expected an AvatarGroups contract connected to a provider");
  const { signal, ...syncInit } = init;
  const members = await openGroupSync({ provider, semaphore: await groups.semaphore() }, groupId, syncInit);
  await members.sync({ signal });
  return members.group();
}
