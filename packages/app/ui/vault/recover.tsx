// Social recovery in the browser, with the files the CLI writes: a new browser asks the guardians (a request file
// and its check code), takes their approval files back, rebuilds the seed and creates the vault from it. With the
// network's recovery contract the guardian set is checked against the chain and the wallet starts the on-chain
// recovery, as 'mosaic vault recover complete' does with its chain flags.
import { attachVaultRecovery, fromHex, to0xHex } from "@mosaic/protocol";
import {
  AccountNotRegisteredError,
  type ApprovalFile,
  type approveRecoveryRequest,
  checkRecoveryFileSize,
  completeRecovery,
  type GuardianKey,
  guardianKeyFromPrivateKey,
  newRecoveryRequest,
  parseApprovalFile,
  parseRecoveryRequestFile,
  type RecoveryFileKind,
  type RecoveryRequestMessage,
  recoveryRequestFileText,
  requestCode,
  type Vault,
} from "@mosaic/vault";
import type { JsonRpcSigner, Provider } from "ethers";
import { useState } from "react";
import { ErrorNote, Field, Progress, Section, useAction } from "../components.tsx";
import { useApp } from "../context.tsx";
import type { LoadedNetwork } from "../network.ts";
import { download } from "../research/result.tsx";
import { useNewPassphrase } from "./new-passphrase.tsx";
import { createVault, workerKdf } from "./store.ts";

type Blocks = Parameters<typeof approveRecoveryRequest>[1]["blocks"];

/** A few blocks in memory: where protect puts the share packages and approve the re-sealed share before they go into files. */
export function memoryBlocks(): Blocks {
  const blocks = new Map<string, Uint8Array>();
  return {
    async *get(cid) {
      const bytes = blocks.get(cid.toString());
      if (bytes === undefined) throw new Error(`block ${cid.toString()} is not here`);
      yield bytes;
    },
    async put(cid, bytes) {
      blocks.set(cid.toString(), bytes as Uint8Array);
      return cid;
    },
  };
}

/** A picked file's text, refused unread when it is far too large to be a `kind` of recovery file (the CLI's limit). */
export async function readRecoveryFile(file: File, kind: RecoveryFileKind): Promise<string> {
  checkRecoveryFileSize(file.name, kind, file.size);
  return file.text();
}

/** The network's recovery contract on `runner` (the reader for reads, the wallet's signer for transactions), if it has one. */
export function recoveryContractOf(network: LoadedNetwork, runner: JsonRpcSigner | Provider) {
  const deployed = network.file.contracts.vaultRecovery;
  return deployed === undefined ? undefined : attachVaultRecovery(runner, deployed.address);
}

/** A recovery this browser started: kept until it completes, so the page may be left and the approvals come later. */
interface PendingRecovery {
  request: RecoveryRequestMessage;
  /**
   * The one-off device key the approvals are sealed to (the CLI keeps it in FILE.key), sealed under the passphrase
   * chosen at the start (as a vault seed is): localStorage alone, with the approvals beside it, rebuilds nothing.
   */
  sealedDeviceKey: string;
  /** The fresh wallet that owns the account on-chain afterwards, when no wallet was connected; its key sealed likewise. */
  owner?: { address: string; sealedKey: string };
  /** Whether the person downloaded `owner`'s key: completing forgets it, and it owns the account on-chain. */
  ownerSaved?: boolean;
  /** The approval files taken so far: name and text. */
  approvals: { file: string; text: string }[];
}

const pendingKey = (network: string) => `mosaic-recovery-${network}`;

/** The recovery under way in this browser, if any (a damaged entry counts as none). */
export function pendingRecovery(network: string): PendingRecovery | undefined {
  const text = localStorage.getItem(pendingKey(network));
  if (text === null) return undefined;
  try {
    const p = JSON.parse(text) as PendingRecovery;
    parseRecoveryRequestFile(recoveryRequestFileText(p.request), "the stored request");
    if (typeof p.sealedDeviceKey !== "string" || !Array.isArray(p.approvals)) return undefined;
    return p;
  } catch {
    return undefined;
  }
}

function savePending(network: string, p: PendingRecovery | undefined): void {
  if (p === undefined) localStorage.removeItem(pendingKey(network));
  else localStorage.setItem(pendingKey(network), JSON.stringify(p));
}

/**
 * The device key kept with a pending request, opened with the recovery's passphrase (WrongPassphraseError when it is
 * not the one) and checked to be the one the request names.
 */
async function deviceKeyOf(p: PendingRecovery, passphrase: string): Promise<GuardianKey> {
  const key = guardianKeyFromPrivateKey(await workerKdf.unseal(p.sealedDeviceKey, passphrase));
  if (to0xHex(key.publicKey) !== p.request.devicePublicKey)
    throw new TypeError("the stored device key is not the request's: cancel this recovery and start a new one");
  return key;
}

/** The approvals taken so far, each read against the request (one answering another request is refused by name). */
function loadedApprovals(p: PendingRecovery): ApprovalFile[] {
  return p.approvals.map((a) => parseApprovalFile(a.text, a.file, p.request));
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

/** On a browser with no vault: ask the guardians, take their approvals, and create the vault from the rebuilt seed. */
export function RecoverVault({ name, onOpen, onCancel }: { name: string; onOpen(v: Vault): void; onCancel(): void }) {
  const [pending, setPending] = useState<PendingRecovery | undefined>(() => pendingRecovery(name));
  const update = (p: PendingRecovery | undefined) => {
    savePending(name, p);
    setPending(p);
  };
  return pending === undefined ? (
    <StartRecovery onStarted={update} onCancel={onCancel} />
  ) : (
    <CompleteRecovery name={name} pending={pending} update={update} onOpen={onOpen} />
  );
}

function StartRecovery({ onStarted, onCancel }: { onStarted(p: PendingRecovery): void; onCancel(): void }) {
  const { connected } = useApp();
  const [account, setAccount] = useState("");
  const newPassphrase = useNewPassphrase();
  const start = useAction(async () => {
    const accountId = account.trim();
    if (!HEX32.test(accountId))
      throw new TypeError(
        `account id: expected 0x and 64 hex characters (the old vault's Guardians tab, or 'mosaic vault guardians whoami', shows it), got ${JSON.stringify(accountId)}`,
      );
    const passphrase = newPassphrase.checked();
    // The connected wallet owns the account on-chain afterwards; without one, a fresh wallet does (its key is offered).
    const made = newRecoveryRequest({ accountId, newOwner: connected?.account });
    const pending: PendingRecovery = {
      request: made.request,
      sealedDeviceKey: await workerKdf.seal(made.deviceKey.privateKey, passphrase),
      approvals: [],
    };
    made.deviceKey.privateKey.fill(0);
    if (made.owner !== undefined)
      pending.owner = {
        address: made.owner.address,
        sealedKey: await workerKdf.seal(fromHex(made.owner.privateKey, { length: 32, field: "owner key" }), passphrase),
      };
    onStarted(pending);
  });
  return (
    <Section title="Recover a vault">
      <p>
        Lost the browser or device your vault was on? Your guardians can restore it here. Start a request, send the file to each guardian
        and read them its check code; they send approval files back.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void start.run();
        }}
      >
        <Field label="Account id" hint="0x and 64 hex characters: the old vault's Guardians tab showed it">
          <input value={account} onChange={(e) => setAccount(e.target.value)} className="mono" />
        </Field>
        {newPassphrase.fields(
          "New passphrase",
          "at least 8 characters: it protects the recovery while approvals come, then unlocks the vault",
        )}
        <p className="muted">
          {connected === undefined
            ? "No wallet connected: a fresh wallet will own the account on-chain after recovery (you can download its key)."
            : `Your wallet ${connected.account} will own the account on-chain after recovery.`}
        </p>
        <div className="row">
          <button type="submit" disabled={start.busy}>
            Start recovery
          </button>
          <button type="button" className="secondary" onClick={onCancel}>
            Create a new vault instead
          </button>
        </div>
      </form>
      <ErrorNote error={start.error} />
    </Section>
  );
}

function CompleteRecovery({
  name,
  pending,
  update,
  onOpen,
}: {
  name: string;
  pending: PendingRecovery;
  update(p: PendingRecovery | undefined): void;
  onOpen(v: Vault): void;
}) {
  const { network, signer } = useApp();
  const onChain = network.file.contracts.vaultRecovery !== undefined;
  const [checkChain, setCheckChain] = useState(onChain);
  const [passphrase, setPassphrase] = useState("");
  const [progress, setProgress] = useState<{ step: string; fraction: number | undefined }>();
  const [warnings, setWarnings] = useState<string[]>([]);
  const code = requestCode(pending.request);
  const requestText = recoveryRequestFileText(pending.request);
  const approvals = loadedApprovals(pending);

  const upload = useAction(async (files: File[]) => {
    let next = pending;
    for (const file of files) {
      const text = await readRecoveryFile(file, "approval");
      // Checked now, so a wrong file is named when picked and never kept.
      const read = parseApprovalFile(text, file.name, pending.request);
      const others = next.approvals.filter(
        (a) => parseApprovalFile(a.text, a.file, pending.request).approval.guardian !== read.approval.guardian,
      );
      next = { ...next, approvals: [...others, { file: file.name, text }] };
    }
    update(next);
  });

  // The fresh owner's key, opened with the recovery passphrase only to be downloaded.
  const saveOwner = useAction(async () => {
    if (pending.owner === undefined) return;
    if (passphrase === "") throw new Error("enter the recovery passphrase (below) first: the owner's key is sealed under it");
    const key = await workerKdf.unseal(pending.owner.sealedKey, passphrase);
    download("recovery-request.json.owner.key", "text/plain", `${to0xHex(key)}\n`);
    key.fill(0);
    update({ ...pending, ownerSaved: true });
  });

  const complete = useAction(async () => {
    setWarnings([]);
    if (pending.owner !== undefined && pending.ownerSaved !== true)
      throw new Error(
        "download the new owner's key first (the button above): that wallet owns the account on-chain, and completing the recovery forgets it here",
      );
    setProgress({ step: "Checking the passphrase", fraction: undefined });
    const key = await deviceKeyOf(pending, passphrase);
    setProgress({ step: "Opening the approvals and rebuilding the seed", fraction: undefined });
    const deployed = network.file.contracts.vaultRecovery;
    const recovery = checkChain ? recoveryContractOf(network, await signer()) : undefined;
    const contract = recovery === undefined || deployed === undefined ? undefined : { recovery, address: deployed.address };
    if (contract !== undefined)
      setProgress({ step: "Checking the guardians on-chain and starting the recovery with your wallet", fraction: undefined });
    let completed: Awaited<ReturnType<typeof completeRecovery>>;
    try {
      completed = await completeRecovery(key, pending.request, approvals, contract);
    } catch (err) {
      if (err instanceof AccountNotRegisteredError)
        setWarnings([
          "The account has no guardian set on this network's recovery contract: untick the chain check to rebuild the vault only.",
        ]);
      throw err;
    }
    const { combined } = completed;
    try {
      const vault = await createVault(name, passphrase, (step, fraction) => setProgress({ step, fraction }), combined.seed);
      update(undefined);
      onOpen(vault);
    } finally {
      combined.seed.fill(0);
    }
  });

  return (
    <Section title="Recover a vault">
      <p>
        Send the request file to each guardian and read them the check code over the phone or in person: they see the same code when they
        approve.
      </p>
      <dl className="facts">
        <dt>Check code</dt>
        <dd>
          <strong data-testid="request-code">{code}</strong>
        </dd>
        <dt>Account</dt>
        <dd>
          <code>{pending.request.accountId}</code>
        </dd>
        <dt>New owner on-chain</dt>
        <dd>
          <code>{pending.request.newOwner}</code>
        </dd>
        <dt>Approvals valid until</dt>
        <dd>{new Date(pending.request.expiresAt * 1000).toLocaleString()}</dd>
      </dl>
      <div className="row">
        <button type="button" onClick={() => download("recovery-request.json", "application/json", requestText)}>
          Download the request
        </button>
        {pending.owner === undefined ? null : (
          <button type="button" className="secondary" onClick={() => void saveOwner.run()} disabled={saveOwner.busy}>
            Download the new owner's key
          </button>
        )}
      </div>
      <h3>Approvals</h3>
      {approvals.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <ul data-testid="approvals">
          {approvals.map((a) => (
            <li key={a.approval.guardian}>
              {a.file}: guardian <code>{a.approval.guardian}</code>
              {a.approval.signature === undefined ? " (not signed for the chain)" : ""}
            </li>
          ))}
        </ul>
      )}
      <label className="field">
        <span>Approval files</span>
        <input
          type="file"
          multiple
          accept="application/json,.json"
          disabled={upload.busy || complete.busy}
          onChange={(e) => {
            const files = [...(e.target.files ?? [])];
            e.target.value = "";
            if (files.length > 0) void upload.run(files);
          }}
        />
      </label>
      <ErrorNote error={upload.error ?? saveOwner.error} />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void complete.run();
        }}
      >
        <Field label="Recovery passphrase" hint="the one chosen when this recovery started; it unlocks the restored vault">
          <input type="password" autoComplete="current-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
        </Field>
        {onChain ? (
          <label className="row">
            <input type="checkbox" checked={checkChain} onChange={(e) => setCheckChain(e.target.checked)} />
            Check the guardians against the chain and start the on-chain recovery (your wallet pays)
          </label>
        ) : null}
        <div className="row">
          <button type="submit" disabled={complete.busy || approvals.length === 0}>
            Restore the vault
          </button>
          <button
            type="button"
            className="secondary"
            disabled={complete.busy}
            onClick={() => {
              if (window.confirm("Cancel this recovery? Approvals made for it will no longer open.")) update(undefined);
            }}
          >
            Cancel this recovery
          </button>
        </div>
      </form>
      {complete.busy && progress !== undefined ? <Progress label={progress.step} value={progress.fraction} max={1} /> : null}
      <ErrorNote error={complete.error} />
      {warnings.map((w) => (
        <p key={w} className="muted">
          {w}
        </p>
      ))}
    </Section>
  );
}
