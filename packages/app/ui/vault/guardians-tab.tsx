// Guardians: the people who can together restore this vault if this browser is lost. Here: this vault's guardian
// key and account id, the guardians you chose and protecting the vault with them (an invitation file for each), and
// the vaults you guard: accepting an invitation and approving a recovery request, with the files the CLI writes.
import { to0xHex } from "@mosaic/protocol";
import {
  acceptInvitation,
  accountIdOf,
  addGuardian,
  approvalFileText,
  approveRecoveryRequest,
  guardianKeyOf,
  invitationFileText,
  listGuardians,
  listGuardianships,
  MIN_GUARDIANS,
  parseInvitationFile,
  parseRecoveryRequestFile,
  protectVault,
  type RecoveryRequestMessage,
  recoverySetup,
  removeGuardian,
  requestCode,
  type Vault,
} from "@mosaic/vault";
import { useState } from "react";
import { ErrorNote, Field, Progress, Section, useAction } from "../components.tsx";
import { useApp } from "../context.tsx";
import { download } from "../research/result.tsx";
import { memoryBlocks, readRecoveryFile, recoveryContractOf } from "./recover.tsx";

export function GuardiansTab({ vault }: { vault: Vault }) {
  const key = guardianKeyOf(vault);
  const [, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  const [publicKey, setPublicKey] = useState("");
  const [label, setLabel] = useState("");
  const add = useAction(async () => {
    await addGuardian(vault, { publicKey: publicKey.trim(), label: label.trim() });
    setPublicKey("");
    setLabel("");
    changed();
  });
  const remove = useAction(async (address: string) => {
    await removeGuardian(vault, address);
    changed();
  });
  const guardians = listGuardians(vault);
  const setup = recoverySetup(vault);
  const split = new Set(setup?.invitations.map((i) => i.guardian) ?? []);
  const current = setup !== undefined && split.size === guardians.length && guardians.every((g) => split.has(g.address));
  return (
    <>
      <Section title="Your guardian key">
        <p>Give this to a friend who wants you as a guardian of their vault:</p>
        <p>
          <code data-testid="guardian-key">{to0xHex(key.publicKey)}</code>
        </p>
        <p>
          Your account id: note it somewhere safe. A new browser names it to ask your guardians to recover this vault.
          <br />
          <code data-testid="account-id">{to0xHex(accountIdOf(vault.rootSeed))}</code>
        </p>
      </Section>
      <Section title="Your guardians">
        {guardians.length === 0 ? (
          <p className="muted">
            No guardians yet. Add at least {MIN_GUARDIANS + 1} people you trust, so that some of them together can restore your vault.
          </p>
        ) : (
          <ul>
            {guardians.map((g) => (
              <li key={g.address}>
                {g.label} <code>{g.address}</code>{" "}
                <button type="button" className="secondary" onClick={() => void remove.run(g.address)} disabled={remove.busy}>
                  Remove {g.label}
                </button>
              </li>
            ))}
          </ul>
        )}
        <p className="muted" data-testid="protection">
          {setup === undefined
            ? "Not protected yet: add your guardians, then protect the vault below."
            : `Protected: any ${setup.threshold} of ${setup.invitations.length} guardians can restore it.${current ? "" : " The list changed since: protect again."}`}
        </p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void add.run();
          }}
        >
          <Field label="Guardian's key" hint="the 33-byte key (0x…) their app shows under Guardians">
            <input value={publicKey} onChange={(e) => setPublicKey(e.target.value)} className="mono" />
          </Field>
          <Field label="Name">
            <input value={label} onChange={(e) => setLabel(e.target.value)} maxLength={64} />
          </Field>
          <button type="submit" disabled={add.busy}>
            Add guardian
          </button>
        </form>
        <ErrorNote error={add.error ?? remove.error} />
      </Section>
      <Protect vault={vault} changed={changed} />
      <Section title="Vaults you guard">
        <Guarding vault={vault} changed={changed} />
      </Section>
    </>
  );
}

/** Splits the seed among the listed guardians, as 'mosaic vault guardians protect' does: an invitation file each. */
function Protect({ vault, changed }: { vault: Vault; changed(): void }) {
  const { network, signer } = useApp();
  const onChain = network.file.contracts.vaultRecovery !== undefined;
  const guardians = listGuardians(vault);
  const [threshold, setThreshold] = useState(String(MIN_GUARDIANS));
  const [from, setFrom] = useState("");
  const [anchor, setAnchor] = useState(onChain);
  const [step, setStep] = useState<string>();
  const [invitations, setInvitations] = useState<{ guardian: string; label: string; text: string }[]>([]);
  const protect = useAction(async () => {
    const t = Number(threshold);
    if (!/^\d+$/.test(threshold) || t < MIN_GUARDIANS || t > guardians.length)
      throw new RangeError(
        `threshold: expected a whole number from ${MIN_GUARDIANS} to ${guardians.length} (your guardians), got ${JSON.stringify(threshold)}`,
      );
    const name = from.trim();
    if (name.length === 0 || name.length > 64)
      throw new TypeError("your name: expected the name your guardians know you by, 1..64 characters");
    if (guardians.length < MIN_GUARDIANS)
      throw new RangeError(`guardians: the list has ${guardians.length}; add at least ${MIN_GUARDIANS} first`);
    setInvitations([]);
    const blocks = memoryBlocks();
    // The guardian set's hash goes on-chain from the wallet (registering the account, or proposing the new set).
    const recovery = anchor && onChain ? recoveryContractOf(network, await signer()) : undefined;
    setStep(recovery === undefined ? "Splitting your seed" : "Splitting your seed and anchoring the guardian set with your wallet");
    const made = await protectVault(vault, { blocks, recovery }, { threshold: t, from: name });
    const labels = new Map(guardians.map((g) => [g.address, g.label]));
    const files = [];
    for (const i of made.invitations)
      files.push({ guardian: i.guardian, label: labels.get(i.guardian) ?? i.guardian, text: await invitationFileText(i, blocks) });
    setInvitations(files);
    changed();
  });
  return (
    <Section title="Protect your vault">
      <p>
        Splits your vault's seed so that any chosen number of your guardians together can restore it, and none alone can. Each guardian gets
        an invitation file: send it to them. Protecting again makes a new split that replaces the old one.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void protect.run();
        }}
      >
        <Field label="Threshold" hint={`how many guardians it takes, ${MIN_GUARDIANS} to ${Math.max(MIN_GUARDIANS, guardians.length)}`}>
          <input inputMode="numeric" value={threshold} onChange={(e) => setThreshold(e.target.value)} />
        </Field>
        <Field label="Your name" hint="the name your guardians know you by">
          <input value={from} onChange={(e) => setFrom(e.target.value)} maxLength={64} />
        </Field>
        {onChain ? (
          <label className="row">
            <input type="checkbox" checked={anchor} onChange={(e) => setAnchor(e.target.checked)} />
            Anchor the guardian set on-chain (your wallet pays), so a recovering browser can check it
          </label>
        ) : null}
        <button type="submit" disabled={protect.busy || guardians.length < MIN_GUARDIANS}>
          Protect vault
        </button>
      </form>
      {protect.busy && step !== undefined ? <Progress label={step} /> : null}
      <ErrorNote error={protect.error} />
      {invitations.length === 0 ? null : (
        <>
          <p className="ok" role="status">
            Split done. Download each invitation now and send it to its guardian; they accept it in their own vault.
          </p>
          <ul data-testid="invitations">
            {invitations.map((i) => (
              <li key={i.guardian}>
                <button type="button" onClick={() => download(`invitation-${i.guardian}.json`, "application/json", i.text)}>
                  Download invitation for {i.label}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </Section>
  );
}

/** The vaults this one guards: accepting an invitation, and approving a recovery request for one of them. */
function Guarding({ vault, changed }: { vault: Vault; changed(): void }) {
  const { network } = useApp();
  const guarding = listGuardianships(vault);
  const [accepted, setAccepted] = useState<string>();
  const accept = useAction(async (file: File) => {
    setAccepted(undefined);
    const invitation = parseInvitationFile(await readRecoveryFile(file, "invitation"), file.name);
    // The share package is kept in the vault's thread (the guardianship carries it), which is what approving reads;
    // the blockstore put the CLI also makes is for its other devices' IPFS node, which a browser vault has not.
    const g = await acceptInvitation(vault, memoryBlocks(), invitation);
    setAccepted(`You now guard ${g.from}'s vault (share ${g.index}). If they lose it, they will send you a recovery request.`);
    changed();
  });
  const [request, setRequest] = useState<{ message: RecoveryRequestMessage; file: string }>();
  const [approval, setApproval] = useState<{ name: string; text: string }>();
  const read = useAction(async (file: File) => {
    setRequest(undefined);
    setApproval(undefined);
    setRequest({ message: parseRecoveryRequestFile(await readRecoveryFile(file, "request"), file.name), file: file.name });
  });
  const approve = useAction(async (message: RecoveryRequestMessage) => {
    const blocks = memoryBlocks();
    // Signed for the chain with this vault's guardian key when the network has the recovery contract; only reads go to the chain.
    const recovery = recoveryContractOf(network, network.reader);
    const made = await approveRecoveryRequest(vault, { blocks, recovery }, message);
    setApproval({ name: `approval-${made.guardian}.json`, text: await approvalFileText(message, made, blocks) });
  });
  const owner = request === undefined ? undefined : guarding.find((g) => g.accountId === request.message.accountId);
  return (
    <>
      {guarding.length === 0 ? (
        <p className="muted">You guard no one's vault.</p>
      ) : (
        <ul data-testid="guardianships">
          {guarding.map((g) => (
            <li key={g._id}>
              share {g.index} for account <code>{g.accountId.slice(0, 18)}…</code> from {g.from}, accepted{" "}
              {new Date(g.accepted).toLocaleDateString()}
            </li>
          ))}
        </ul>
      )}
      <label className="field">
        <span>Invitation file</span>
        <input
          type="file"
          accept="application/json,.json"
          disabled={accept.busy}
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = "";
            if (file !== undefined) void accept.run(file);
          }}
        />
      </label>
      {accepted === undefined ? null : (
        <p className="ok" role="status" data-testid="accepted">
          {accepted}
        </p>
      )}
      <ErrorNote error={accept.error} />
      <h3>Approve a recovery request</h3>
      <p>Only after confirming with the person (by phone, in person) that the request is theirs and the check code matches.</p>
      <label className="field">
        <span>Recovery request file</span>
        <input
          type="file"
          accept="application/json,.json"
          disabled={read.busy || approve.busy}
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = "";
            if (file !== undefined) void read.run(file);
          }}
        />
      </label>
      <ErrorNote error={read.error} />
      {request === undefined ? null : (
        <div data-testid="request">
          <p>
            {owner === undefined ? (
              <span className="error">You do not guard account {request.message.accountId}: approving will fail.</span>
            ) : (
              <>
                A request to recover <strong>{owner.from}</strong>'s vault. Check code{" "}
                <strong data-testid="approve-code">{requestCode(request.message)}</strong>: approve only if {owner.from} reads you the same.
              </>
            )}
          </p>
          <button type="button" onClick={() => void approve.run(request.message)} disabled={approve.busy || approval !== undefined}>
            Approve: the code matches
          </button>
          {approve.busy ? <Progress label="Re-sealing your share to the new browser" /> : null}
          <ErrorNote error={approve.error} />
          {approval === undefined ? null : (
            <p className="ok" role="status">
              Approved.{" "}
              <button type="button" onClick={() => download(approval.name, "application/json", approval.text)}>
                Download the approval
              </button>{" "}
              and send it back to {owner?.from ?? "them"}.
            </p>
          )}
        </div>
      )}
    </>
  );
}
