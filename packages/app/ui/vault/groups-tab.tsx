// The groups the vault's avatar answers for. Joining is public (the wallet pays and the chain shows which wallet
// joined); what the avatar later answers carries only a zero-knowledge proof of membership.
import { AvatarGroups__factory } from "@mosaic/protocol";
import { type GroupInfo, groupInfo, openGroupSync, registerAvatar } from "@mosaic/avatar";
import type { Vault } from "@mosaic/vault";
import { useCallback, useEffect, useState } from "react";
import { ErrorNote, Field, Progress, ScrollRegion, Section, useAction } from "../components.tsx";
import { useApp } from "../context.tsx";

interface GroupView {
  info: GroupInfo;
  member: boolean;
  members: number;
}

export function GroupsTab({ vault }: { vault: Vault }) {
  const { network, connected, signer } = useApp();
  const { file, reader } = network;
  const [groupIds, setGroupIds] = useState<bigint[]>(() => (file.openGroup === undefined ? [] : [BigInt(file.openGroup)]));
  const [views, setViews] = useState<Map<bigint, GroupView>>(new Map());
  const [sync, setSync] = useState<{ block: number; head: number }>();
  const [extra, setExtra] = useState("");
  const commitment = vault.avatar.commitment;
  const load = useAction(
    useCallback(async () => {
      const groups = AvatarGroups__factory.connect(file.contracts.avatarGroups.address, reader);
      const next = new Map<bigint, GroupView>();
      for (const id of groupIds) {
        const info = await groupInfo(groups, id);
        const s = await openGroupSync({ provider: reader, semaphore: file.contracts.semaphore.address }, id, {
          fromBlock: file.contracts.semaphore.deployBlock,
          onProgress: (p) => setSync({ block: p.block, head: p.head }),
        });
        await s.sync();
        next.set(id, { info, member: s.indexOf(commitment) >= 0, members: s.size });
      }
      setViews(next);
    }, [file, reader, groupIds, commitment]),
  );
  const { run: reload } = load;
  useEffect(() => {
    void reload();
  }, [reload]);
  const join = useAction(async (groupId: bigint) => {
    const groups = AvatarGroups__factory.connect(file.contracts.avatarGroups.address, await signer());
    await registerAvatar(groups, groupId, commitment);
    await reload();
  });
  return (
    <Section title="Groups">
      <p>
        Your avatar <code data-testid="commitment">{commitment.toString()}</code> answers jobs for the groups it belongs to. Joining is a
        transaction from your wallet; answering never is.
      </p>
      {load.busy && sync !== undefined ? <Progress label="Reading the group from the chain" value={sync.block} max={sync.head} /> : null}
      <ErrorNote error={load.error} />
      <ScrollRegion label="Groups">
        <table>
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">Admission</th>
              <th scope="col">Members</th>
              <th scope="col">You</th>
            </tr>
          </thead>
          <tbody>
            {[...views.values()].map(({ info, member, members }) => (
              <tr key={info.groupId.toString()} data-testid={`group-${info.groupId}`}>
                <th scope="row">
                  {info.groupId.toString()} · {info.name}
                </th>
                <td>{info.kind}</td>
                <td>{members}</td>
                <td>
                  {member ? (
                    <span className="ok">member</span>
                  ) : info.kind === "open" ? (
                    <button
                      type="button"
                      disabled={join.busy || connected === undefined}
                      onClick={() => void join.run(info.groupId)}
                      title={connected === undefined ? "connect a wallet first" : undefined}
                    >
                      {join.busy ? "Joining…" : `Join group ${info.groupId}`}
                    </button>
                  ) : (
                    <span className="muted">ask its registrar for an attestation ('mosaic avatar register --attestation')</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      {connected === undefined ? <p className="muted">Connect a wallet (top of the page) to join a group.</p> : null}
      <ErrorNote error={join.error} />
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!/^[0-9]{1,20}$/.test(extra.trim()))
            return load.setError(new RangeError(`group id: expected a whole number, got ${JSON.stringify(extra)}`));
          setGroupIds((ids) => [...new Set([...ids, BigInt(extra.trim())])]);
          setExtra("");
        }}
      >
        <Field label="Another group id">
          <input inputMode="numeric" value={extra} onChange={(e) => setExtra(e.target.value)} />
        </Field>
        <button type="submit" className="secondary">
          Show group
        </button>
      </form>
    </Section>
  );
}
