// Group sync: rebuild an avatar group's Merkle tree from the registry's events.
import type { AvatarGroups } from "@mosaic/protocol";
import { Group } from "@semaphore-protocol/group";

/** Rebuilds a group from its MemberRegistered events, in chain order. */
export async function loadGroup(groups: AvatarGroups, groupId: bigint): Promise<Group> {
  const events = await groups.queryFilter(groups.filters.MemberRegistered(groupId));
  events.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  return new Group(events.map((e) => e.args.identityCommitment));
}
