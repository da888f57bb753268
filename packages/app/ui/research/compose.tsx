// Composing a job: a ready job from the library (with the schedule, money and mode `mosaic job new` takes), or a spec file;
// the spec checked as it is typed, its error shown beside the field it names; the cost preview; posting with the wallet.
import { describeProgram, formatSpan, isoTime, READY_JOBS, type SpecErrorField, specErrorField, validateSpec } from "@mosaic/mapreduce";
import type { JobMode, JobSpec } from "@mosaic/protocol";
import { formatEther, parseEther } from "ethers";
import { type ChangeEvent, useId, useMemo, useState } from "react";
import { ErrorNote, Field, Progress, Section, shortAddress, useAction } from "../components.tsx";
import { useApp } from "../context.tsx";
import { chainNow } from "./chain.ts";
import {
  BUILTIN_CATALOG,
  type CostPreview,
  InvalidGroupError,
  type PostStep,
  POST_STEPS,
  type Posted,
  parseGroup,
  postJob,
  previewPost,
} from "./post.ts";

/** The ready job's schedule and money as typed, `mosaic job new`'s flags. */
interface ReadyDraft {
  closesInMinutes: string;
  days: string;
  challengeWindow: string;
  minParticipants: string;
  reward: string;
  minStake: string;
}

const READY_DEFAULTS: ReadyDraft = {
  closesInMinutes: "60",
  days: "7",
  challengeWindow: "3600",
  minParticipants: "3",
  reward: "0.1",
  minStake: "1",
};

type DraftErrors = Partial<Record<keyof ReadyDraft, string>>;

/** The draft's numbers, or the errors naming each field that is not one. */
interface ReadyValues {
  /** Seconds from chain time to the collection deadline. */
  closesIn: number;
  days: number;
  challengeWindow: number;
  minParticipants: number;
  reward: string;
  minStake: string;
}

function readDraft(d: ReadyDraft): { ok: true; value: ReadyValues } | { ok: false; errors: DraftErrors } {
  const errors: DraftErrors = {};
  const int = (key: keyof ReadyDraft, label: string, min: number, max: number): number => {
    const text = d[key].trim();
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max)
      errors[key] = `${label}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(d[key])}`;
    return n;
  };
  const eth = (key: keyof ReadyDraft, label: string): string => {
    try {
      const wei = parseEther(d[key].trim());
      if (wei <= 0n) throw new RangeError("not positive");
      return wei.toString();
    } catch {
      errors[key] = `${label}: expected an amount of ETH above 0, such as 0.1; got ${JSON.stringify(d[key])}`;
      return "0";
    }
  };
  const value = {
    closesIn: int("closesInMinutes", "Closes in", 1, 525_600) * 60,
    days: int("days", "Days of data", 1, 366),
    challengeWindow: int("challengeWindow", "Challenge window", 60, 31_536_000),
    minParticipants: int("minParticipants", "Minimum participants", 1, 1_000_000),
    reward: eth("reward", "Reward"),
    minStake: eth("minStake", "Reducer stake"),
  };
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value };
}

/** The spec's top-level fields shown at a glance, each where its error appears. */
const GLANCE: { key: string; label: string }[] = [
  { key: "title", label: "Title" },
  { key: "purpose", label: "Purpose" },
  { key: "requester", label: "Requester" },
  { key: "reads", label: "Reads" },
  { key: "program", label: "Program" },
  { key: "output", label: "Output" },
  { key: "mode", label: "Mode" },
  { key: "privacy", label: "Privacy" },
  { key: "reducer", label: "Reducer" },
  { key: "minParticipants", label: "Minimum participants" },
  { key: "collectionDeadline", label: "Collection closes" },
  { key: "challengeWindow", label: "Challenge window" },
  { key: "reward", label: "Reward" },
  { key: "minStake", label: "Reducer stake" },
];

const clip = (text: string, n = 160) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** The two modes in a researcher's words, for the mode picker and the spec at a glance. */
const MODE_WORDS: Record<JobMode, string> = {
  local: "local: each vault noises its own answer before it leaves",
  shared:
    "shared: each vault splits its exact answer in two encrypted shares for two aggregators of different operators, who each add noise to the sum (far less noise; private while the two do not collude)",
};

function summarize(key: string, raw: unknown, spec: JobSpec | undefined): string {
  if (key === "mode" && (raw === undefined || raw === "local" || raw === "shared")) return MODE_WORDS[(raw ?? "local") as JobMode];
  if (raw === undefined) return "(missing)";
  try {
    if (key === "collectionDeadline" && typeof raw === "number") return `${new Date(raw * 1000).toLocaleString()} (${isoTime(raw)})`;
    if ((key === "reward" || key === "minStake") && typeof raw === "string") return `${formatEther(BigInt(raw))} ETH`;
    if (key === "challengeWindow" && typeof raw === "number") return `${formatSpan(raw)} to propose, then ${formatSpan(raw)} to challenge`;
    if (key === "program" && spec !== undefined) return describeProgram(spec).join(" ");
    if (key === "requester" && spec !== undefined) return `${spec.requester.name} (${spec.requester.contact})`;
    if (key === "reducer" && spec !== undefined) return spec.reducer.kind;
    if (key === "reads" && spec !== undefined)
      return spec.reads.map((r) => `${r.ability}/${r.collection} (${r.fields.join(", ")})`).join("; ");
    if (key === "privacy" && spec !== undefined)
      return spec.mode === "shared"
        ? `ε = ${spec.privacy.epsilon.num}/${spec.privacy.epsilon.den} for the released sum, ${spec.privacy.mechanism} added by each aggregator`
        : `ε = ${spec.privacy.epsilon.num}/${spec.privacy.epsilon.den} per answer, ${spec.privacy.mechanism}`;
    if (key === "output" && spec !== undefined)
      return `${spec.output.kind}, ${spec.output.entries.length} entries in ${spec.output.unit}: ${spec.output.entries.map((e) => e.label).join(", ")}`;
  } catch {
    // Shown raw below.
  }
  return clip(typeof raw === "string" ? raw : JSON.stringify(raw));
}

type Checked = { spec?: JobSpec; value?: unknown; error?: { field?: SpecErrorField; message: string } };

function check(text: string): Checked {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: { message: `Spec (JSON): not valid JSON (${(err as Error).message}); fix it, or start again from a ready job` } };
  }
  try {
    return { value, spec: validateSpec(value, { abilities: BUILTIN_CATALOG }) };
  } catch (err) {
    return { value, error: { field: specErrorField(err), message: (err as Error).message.replace(/^job spec: /, "") } };
  }
}

export function Composer({ onPosted }: { onPosted(posted: Posted): void }) {
  const { network, connected, signer } = useApp();
  const ids = useId();
  const [readyName, setReadyName] = useState(Object.keys(READY_JOBS)[0] ?? "");
  const [draft, setDraft] = useState<ReadyDraft>(READY_DEFAULTS);
  const [draftErrors, setDraftErrors] = useState<DraftErrors>({});
  const [mode, setMode] = useState<JobMode>("local");
  const [text, setText] = useState("");
  const [group, setGroup] = useState(network.file.openGroup === undefined ? "" : String(network.file.openGroup));
  const [groupError, setGroupError] = useState<string>();
  const [preview, setPreview] = useState<CostPreview>();
  /** A refusal found when checking against the chain (deadline past, window too long), shown like a live error. */
  const [chainCheck, setChainCheck] = useState<{ text: string; field?: SpecErrorField; message: string }>();
  const [step, setStep] = useState<PostStep>();
  const [posted, setPosted] = useState<Posted>();

  const live = useMemo(() => check(text), [text]);
  const error = live.error ?? (chainCheck?.text === text ? { field: chainCheck.field, message: chainCheck.message } : undefined);
  const raw = (live.value ?? {}) as Record<string, unknown>;
  const fieldKey = error?.field?.field;
  const glanceHas = fieldKey !== undefined && GLANCE.some((g) => g.key === fieldKey);

  const edit = (next: string) => {
    setText(next);
    setPreview(undefined);
    setPosted(undefined);
  };

  const write = useAction(async () => {
    const read = readDraft(draft);
    setDraftErrors(read.ok ? {} : read.errors);
    if (!read.ok) return;
    const build = READY_JOBS[readyName];
    if (build === undefined) throw new RangeError(`Ready job: unknown ${JSON.stringify(readyName)}`);
    const now = await chainNow(network.reader);
    const { closesIn, ...init } = read.value;
    edit(`${JSON.stringify(build({ ...init, mode, collectionDeadline: now + closesIn }), null, 2)}\n`);
  });

  const load = useAction(async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file === undefined) return;
    if (file.size > 256 * 1024) throw new RangeError(`Spec file: ${file.name} is ${file.size} bytes; a spec is at most 64 KiB`);
    edit(await file.text());
  });

  const readGroup = (): bigint | undefined => {
    try {
      const id = parseGroup(group);
      setGroupError(undefined);
      return id;
    } catch (err) {
      setGroupError((err as Error).message);
      return undefined;
    }
  };

  /** Chain refusals that name a spec field (or the group) go beside it; anything else is the action's error. */
  const asFieldError = (err: unknown): boolean => {
    if (err instanceof InvalidGroupError) {
      setGroupError(err.message);
      return true;
    }
    const field = specErrorField(err);
    if (field === undefined) return false;
    setChainCheck({ text, field, message: (err as Error).message.replace(/^job spec: /, "") });
    return true;
  };

  const previewAction = useAction(async () => {
    setPreview(undefined);
    // A new preview replaces what a failed post said: the two would contradict each other.
    post.setError(undefined);
    const groupId = readGroup();
    if (groupId === undefined || live.spec === undefined) return;
    try {
      setPreview(await previewPost(network, live.value, groupId, connected?.account));
    } catch (err) {
      if (!asFieldError(err)) throw err;
    }
  });

  const post = useAction(async () => {
    const groupId = readGroup();
    if (groupId === undefined || live.spec === undefined) return;
    try {
      const done = await postJob(network, await signer(), live.value, groupId, setStep);
      setPosted(done);
      onPosted(done);
    } catch (err) {
      if (!asFieldError(err)) throw err;
    } finally {
      setStep(undefined);
    }
  });

  const specErrorId = `${ids}-spec-error`;
  const errorNote = (where: string) => (
    <p className="error" role="alert" id={specErrorId} data-testid="spec-error" data-field={where}>
      {error?.field ? (
        <>
          <strong>{error.field.path}</strong>: {error.field.problem}
        </>
      ) : (
        error?.message
      )}
    </p>
  );

  return (
    <Section title="Compose a job" id="compose">
      <h3>Start from the ready library</h3>
      <div>
        <Field label="Ready job">
          <select value={readyName} onChange={(e) => setReadyName(e.target.value)} data-testid="ready-job" style={{ width: "100%" }}>
            {Object.entries(READY_JOBS).map(([name, build]) => (
              <option key={name} value={name}>
                {name}: {build().title}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <div className="row">
        <DraftField label="Closes in (minutes)" name="closesInMinutes" draft={draft} setDraft={setDraft} errors={draftErrors} />
        <DraftField label="Days of data" name="days" draft={draft} setDraft={setDraft} errors={draftErrors} />
        <DraftField label="Challenge window (seconds)" name="challengeWindow" draft={draft} setDraft={setDraft} errors={draftErrors} />
        <DraftField label="Minimum participants" name="minParticipants" draft={draft} setDraft={setDraft} errors={draftErrors} />
        <DraftField label="Reward (ETH)" name="reward" draft={draft} setDraft={setDraft} errors={draftErrors} />
        <DraftField label="Reducer stake (ETH)" name="minStake" draft={draft} setDraft={setDraft} errors={draftErrors} />
      </div>
      <fieldset className="modes" data-testid="mode-choice">
        <legend>Privacy mode</legend>
        {(["local", "shared"] as const).map((m) => (
          <label key={m} className="mode-option">
            <input type="radio" name={`${ids}-mode`} value={m} checked={mode === m} onChange={() => setMode(m)} data-testid={`mode-${m}`} />{" "}
            <strong>{m === "local" ? "Local" : "Shared"}</strong> — {MODE_WORDS[m].replace(/^\w+: /, "")}
          </label>
        ))}
      </fieldset>
      <button type="button" onClick={() => write.run()} disabled={write.busy}>
        Write the spec
      </button>
      <ErrorNote error={write.error} />

      <h3>Or load a spec file</h3>
      <Field label="Spec file (JSON)" hint="A file from 'mosaic job new', or one you wrote.">
        <input type="file" accept="application/json,.json" onChange={(e) => load.run(e)} data-testid="spec-file" />
      </Field>
      <ErrorNote error={load.error} />

      <h3>The spec</h3>
      <Field label="Spec (JSON)" hint="Edit it freely: it is checked as you type.">
        <textarea
          value={text}
          onChange={(e) => edit(e.target.value)}
          spellCheck={false}
          rows={14}
          aria-invalid={error !== undefined}
          aria-describedby={error !== undefined ? specErrorId : undefined}
          data-testid="spec-json"
        />
      </Field>
      <div data-testid="spec-errors" aria-live="polite">
        {text.trim() === "" ? (
          <p className="muted">Write a ready job or load a file to begin.</p>
        ) : error === undefined ? (
          <p className="ok" data-testid="spec-valid">
            The spec is valid.
          </p>
        ) : glanceHas ? (
          <p className="error">
            The spec has a problem in <strong>{error.field?.path}</strong>: see below.
          </p>
        ) : (
          errorNote(error.field?.field ?? "(json)")
        )}
      </div>
      {live.value !== undefined && typeof live.value === "object" ? (
        <dl className="facts" data-testid="spec-glance">
          {GLANCE.map(({ key, label }) => (
            <div key={key} style={{ display: "contents" }}>
              <dt>{label}</dt>
              <dd data-field={key}>
                {summarize(key, raw[key], live.spec)}
                {fieldKey === key ? errorNote(key) : null}
              </dd>
            </div>
          ))}
        </dl>
      ) : null}

      <h3>Post it</h3>
      <Field label="Group" hint="The avatar group whose members may answer (its members at posting time).">
        <input
          value={group}
          onChange={(e) => {
            setGroup(e.target.value);
            setGroupError(undefined);
          }}
          inputMode="numeric"
          aria-invalid={groupError !== undefined}
          aria-describedby={groupError !== undefined ? `${ids}-group-error` : undefined}
          data-testid="group"
        />
      </Field>
      {groupError === undefined ? null : (
        <p className="error" role="alert" id={`${ids}-group-error`}>
          {groupError}
        </p>
      )}
      <div className="row">
        <button
          type="button"
          className="secondary"
          onClick={() => previewAction.run()}
          disabled={previewAction.busy || live.spec === undefined}
          data-testid="preview-cost"
        >
          Preview cost
        </button>
        <button type="button" onClick={() => post.run()} disabled={post.busy || live.spec === undefined} data-testid="post-job">
          Post job
        </button>
      </div>
      {previewAction.busy ? <Progress label="Reading the chain for the cost" /> : null}
      <ErrorNote error={previewAction.error} />
      {preview === undefined ? null : <CostFacts preview={preview} />}
      {step === undefined ? null : (
        <div data-testid="post-progress">
          <Progress label={POST_STEPS[step]} value={Object.keys(POST_STEPS).indexOf(step) + 1} max={Object.keys(POST_STEPS).length} />
        </div>
      )}
      <ErrorNote error={post.error} />
      {posted === undefined ? null : (
        <p className="ok" role="status">
          Posted {posted.mode === "shared" ? "shared-mode " : ""}job <strong data-testid="posted-job-id">{posted.jobId}</strong>{" "}
          (transaction <span className="mono">{posted.txHash}</span>
          ), its spec held by {posted.heldBy.length} reducer{posted.heldBy.length === 1 ? "" : "s"}.
        </p>
      )}
    </Section>
  );
}

function DraftField({
  label,
  name,
  draft,
  setDraft,
  errors,
}: {
  label: string;
  name: keyof ReadyDraft;
  draft: ReadyDraft;
  setDraft(d: ReadyDraft): void;
  errors: DraftErrors;
}) {
  const id = useId();
  const error = errors[name];
  return (
    <div>
      <Field label={label}>
        <input
          value={draft[name]}
          onChange={(e) => setDraft({ ...draft, [name]: e.target.value })}
          inputMode="decimal"
          size={10}
          aria-invalid={error !== undefined}
          aria-describedby={error === undefined ? undefined : id}
          data-testid={`ready-${name}`}
        />
      </Field>
      {error === undefined ? null : (
        <p className="error" role="alert" id={id}>
          {error}
        </p>
      )}
    </div>
  );
}

function CostFacts({ preview: p }: { preview: CostPreview }) {
  const finalFrom = p.spec.collectionDeadline + 2 * p.spec.challengeWindow;
  return (
    <dl className="facts" data-testid="cost-preview" aria-label="Cost preview">
      <dt>Job</dt>
      <dd>{p.spec.title}</dd>
      <dt>Mode</dt>
      <dd data-testid="cost-mode">{p.mode === "shared" ? "shared: posted on SharedJobs" : "local: posted on the JobRegistry"}</dd>
      {p.aggregators === undefined ? null : (
        <>
          <dt>Aggregators</dt>
          <dd data-testid="cost-aggregators">
            {p.aggregators
              .map(
                (a, i) =>
                  `${i === 0 ? "leader " : ""}${shortAddress(a.operator)} (${formatEther(a.stake)} ETH staked, key ${a.fingerprint})`,
              )
              .join(", ")}
            ; the highest staked reducers of different operators with an aggregator key, never your own wallet
          </dd>
        </>
      )}
      <dt>Group</dt>
      <dd>{p.groupId.toString()}</dd>
      <dt>Closes</dt>
      <dd>
        {isoTime(p.spec.collectionDeadline)} (in {formatSpan(p.spec.collectionDeadline - p.now)}); final from {isoTime(finalFrom)}
      </dd>
      <dt>Minimum</dt>
      <dd>
        {p.spec.minParticipants} participant{p.spec.minParticipants === 1 ? "" : "s"}, or the reward is refunded
      </dd>
      <dt>Reward</dt>
      <dd data-testid="cost-reward">{formatEther(p.reward)} ETH, held in escrow</dd>
      <dt>Gas</dt>
      <dd data-testid="cost-gas">
        {p.gasEstimate === undefined
          ? "connect a wallet to estimate the gas"
          : `${p.gasEstimate.toString()} × ${formatEther(p.gasPrice)} ETH = ${formatEther(p.gasEstimate * p.gasPrice)} ETH`}
      </dd>
      <dt>Total</dt>
      <dd data-testid="cost-total">
        <strong>{formatEther(p.cost)} ETH</strong>
      </dd>
      <dt>Reducers</dt>
      <dd data-testid="cost-reducers">
        {p.reducers.length === 0
          ? "none on-chain with enough stake: the job cannot be posted until an operator starts one"
          : `${p.reducers.length} on-chain with at least ${formatEther(p.spec.minStake)} ETH staked (${p.reachable.length} reachable from this browser): ${p.reducers.map((r) => shortAddress(r.operator)).join(", ")}`}
      </dd>
      <dt>Unbonding delay</dt>
      <dd>{formatSpan(p.unbondingDelay)} (each window must be under half of it)</dd>
      <dt>Spec CID</dt>
      <dd className="mono">{p.specCid}</dd>
    </dl>
  );
}
