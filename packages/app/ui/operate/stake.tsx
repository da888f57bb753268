// The connected wallet's stake in the JobRegistry: stake more, request an unstake (the unbonding delay starts), withdraw
// once it has passed, and withdraw rewards and bonds owed. Every amount is checked before the wallet is asked.
import { formatSpan, isoTime } from "@mosaic/mapreduce";
import { namedError } from "@mosaic/protocol";
import { formatEther, parseEther } from "ethers";
import { useId, useState } from "react";
import { ErrorNote, Field, Progress, Section, useAction } from "../components.tsx";
import { useApp } from "../context.tsx";
import { chainNow, chainOf, usePoll } from "../research/chain.ts";

/** An amount field holds something other than a positive amount of ETH, or more than there is. */
export class InvalidAmountError extends namedError("InvalidAmountError") {}

interface StakeState {
  now: number;
  staked: bigint;
  unbonding: bigint;
  releaseAt: number;
  owed: bigint;
  openProposals: bigint;
  unbondingDelay: number;
  walletBalance: bigint;
}

/** A positive amount of ETH as typed, in wei; InvalidAmountError naming the field otherwise. */
export function parseAmount(label: string, text: string, most?: { wei: bigint; what: string }): bigint {
  let wei: bigint;
  try {
    wei = parseEther(text.trim());
  } catch {
    throw new InvalidAmountError(`${label}: expected an amount of ETH such as 1.5, got ${JSON.stringify(text)}`);
  }
  if (wei <= 0n) throw new InvalidAmountError(`${label}: expected more than 0 ETH, got ${JSON.stringify(text)}`);
  if (most !== undefined && wei > most.wei)
    throw new InvalidAmountError(`${label}: ${formatEther(wei)} ETH is more than ${most.what} (${formatEther(most.wei)} ETH)`);
  return wei;
}

type TxStep = "sign" | "mine";
const TX_STEPS: Record<TxStep, string> = { sign: "Confirm in your wallet", mine: "Waiting for the transaction to be mined" };

export function StakePanel() {
  const { network, connected, signer } = useApp();
  const account = connected?.account;
  const poll = usePoll(
    async (): Promise<StakeState | undefined> => {
      if (account === undefined) return undefined;
      const { registry, provider } = chainOf(network);
      const [now, staked, [unbonding, releaseAt], owed, openProposals, delay, walletBalance] = await Promise.all([
        chainNow(provider),
        registry.stakeOf(account),
        registry.unbondingOf(account),
        registry.balanceOf(account),
        registry.openProposalsOf(account),
        registry.unbondingDelay(),
        provider.getBalance(account),
      ]);
      return { now, staked, unbonding, releaseAt: Number(releaseAt), owed, openProposals, unbondingDelay: Number(delay), walletBalance };
    },
    5000,
    account,
  );
  const s = poll.value;
  const [step, setStep] = useState<TxStep>();
  const [stakeText, setStakeText] = useState("");
  const [unstakeText, setUnstakeText] = useState("");
  const [stakeError, setStakeError] = useState<string>();
  const [unstakeError, setUnstakeError] = useState<string>();
  const [done, setDone] = useState<string>();
  const ids = useId();

  /** Sends one registry transaction from the wallet, showing its two waits, then reads the stake again. */
  const send = useAction(
    async (what: string, call: (registry: ReturnType<typeof chainOf>["registry"]) => Promise<{ wait(): Promise<unknown> }>) => {
      setDone(undefined);
      try {
        setStep("sign");
        const registry = chainOf(network).registry.connect(await signer());
        const tx = await call(registry);
        setStep("mine");
        await tx.wait();
        setDone(what);
        poll.refresh();
      } finally {
        setStep(undefined);
      }
    },
  );

  const checked = (set: (e: string | undefined) => void, read: () => bigint): bigint | undefined => {
    try {
      const wei = read();
      set(undefined);
      return wei;
    } catch (err) {
      set((err as Error).message);
      return undefined;
    }
  };

  const stake = () => {
    const wei = checked(setStakeError, () =>
      parseAmount("Stake amount", stakeText, s === undefined ? undefined : { wei: s.walletBalance, what: "your wallet holds" }),
    );
    if (wei !== undefined) void send.run(`Staked ${formatEther(wei)} ETH.`, (r) => r.stake({ value: wei }));
  };
  const unstake = () => {
    const wei = checked(setUnstakeError, () => {
      if (s !== undefined && s.openProposals > 0n)
        throw new InvalidAmountError(
          `Amount to unstake: you have ${s.openProposals} open proposal(s); unstake once they are finalised or closed (the registry refuses until then)`,
        );
      return parseAmount("Amount to unstake", unstakeText, s === undefined ? undefined : { wei: s.staked, what: "your stake" });
    });
    if (wei !== undefined)
      void send.run(`Unstake of ${formatEther(wei)} ETH requested: it is withdrawable after the unbonding delay.`, (r) =>
        r.requestUnstake(wei),
      );
  };

  if (account === undefined)
    return (
      <Section title="Your stake" id="stake">
        <p>Connect a wallet (at the top of the page) to see and change the stake of the account your reducer uses.</p>
      </Section>
    );
  const withdrawable = s !== undefined && s.unbonding > 0n && s.now >= s.releaseAt;
  return (
    <Section title="Your stake" id="stake">
      {s === undefined && poll.error === undefined ? <Progress label="Reading your stake" /> : null}
      <ErrorNote error={poll.error} />
      {s === undefined ? null : (
        <dl className="facts">
          <dt>Staked</dt>
          <dd data-testid="stake-amount">{formatEther(s.staked)} ETH</dd>
          <dt>Unbonding</dt>
          <dd data-testid="unbonding">
            {s.unbonding === 0n
              ? "nothing"
              : `${formatEther(s.unbonding)} ETH, ${withdrawable ? "withdrawable now" : `withdrawable from ${isoTime(s.releaseAt)} (in ${formatSpan(s.releaseAt - s.now)})`}`}
          </dd>
          <dt>Rewards and bonds owed</dt>
          <dd data-testid="owed">{formatEther(s.owed)} ETH</dd>
          <dt>Open proposals</dt>
          <dd>{s.openProposals.toString()}</dd>
          <dt>Unbonding delay</dt>
          <dd>{formatSpan(s.unbondingDelay)}</dd>
          <dt>Wallet balance</dt>
          <dd>{formatEther(s.walletBalance)} ETH</dd>
        </dl>
      )}

      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          stake();
        }}
      >
        <Field label="Stake amount (ETH)">
          <input
            value={stakeText}
            onChange={(e) => setStakeText(e.target.value)}
            inputMode="decimal"
            size={10}
            aria-invalid={stakeError !== undefined}
            aria-describedby={stakeError === undefined ? undefined : `${ids}-stake`}
            data-testid="stake-input"
          />
        </Field>
        <button type="submit" disabled={send.busy} data-testid="stake-button">
          Stake
        </button>
      </form>
      {stakeError === undefined ? null : (
        <p className="error" role="alert" id={`${ids}-stake`}>
          {stakeError}
        </p>
      )}

      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          unstake();
        }}
      >
        <Field label="Amount to unstake (ETH)">
          <input
            value={unstakeText}
            onChange={(e) => setUnstakeText(e.target.value)}
            inputMode="decimal"
            size={10}
            aria-invalid={unstakeError !== undefined}
            aria-describedby={unstakeError === undefined ? undefined : `${ids}-unstake`}
            data-testid="unstake-input"
          />
        </Field>
        <button type="submit" disabled={send.busy} data-testid="unstake-button">
          Unstake
        </button>
      </form>
      {unstakeError === undefined ? null : (
        <p className="error" role="alert" id={`${ids}-unstake`}>
          {unstakeError}
        </p>
      )}
      {s === undefined ? null : (
        <p className="muted">
          Unstaking starts the {formatSpan(s.unbondingDelay)} unbonding delay for everything unbonding (an earlier request's time starts
          again); a reducer with less than a job's minimum stake stops serving it.
        </p>
      )}
      <div className="row">
        <button
          type="button"
          className="secondary"
          onClick={() => send.run("Unbonded stake withdrawn to your wallet.", (r) => r.withdrawStake())}
          disabled={send.busy || !withdrawable}
          data-testid="withdraw-stake"
        >
          Withdraw unbonded stake
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => send.run("Rewards and bonds withdrawn to your wallet.", (r) => r.withdraw())}
          disabled={send.busy || s === undefined || s.owed === 0n}
          data-testid="withdraw-owed"
        >
          Withdraw rewards
        </button>
      </div>
      {step === undefined ? null : <Progress label={TX_STEPS[step]} value={step === "sign" ? 1 : 2} max={2} />}
      <ErrorNote error={send.error} />
      {done === undefined ? null : (
        <p className="ok" role="status">
          {done}
        </p>
      )}
    </Section>
  );
}
