// The reducers announced on-chain (ReducerDirectory records of staked operators): operator, stake, peer id, addresses.
import { isoTime } from "@mosaic/mapreduce";
import type { SkippedReducer } from "@mosaic/protocol";
import { formatEther } from "ethers";
import { ErrorNote, Progress, ScrollRegion, Section } from "../components.tsx";
import { useApp } from "../context.tsx";
import { reducersOnChain } from "../reducers.ts";
import { usePoll } from "../research/chain.ts";

export function ReducersOnChain() {
  const { network, connected } = useApp();
  const poll = usePoll(
    async () => {
      const skipped: SkippedReducer[] = [];
      const records = await reducersOnChain(network, { maxRecords: 100, onSkip: (s) => skipped.push(s) });
      return { records, skipped };
    },
    15_000,
    network.file.contracts.reducerDirectory.address,
  );
  const mine = connected?.account.toLowerCase();
  return (
    <Section title="Reducers on-chain" id="reducers">
      <p className="muted">Staked operators' records in the ReducerDirectory, highest stake first: what vaults and researchers dial.</p>
      <button type="button" className="secondary" onClick={poll.refresh} disabled={poll.loading}>
        Refresh reducers
      </button>
      {poll.value === undefined && poll.error === undefined ? <Progress label="Reading the ReducerDirectory" /> : null}
      <ErrorNote error={poll.error} />
      {poll.value === undefined ? null : poll.value.records.length === 0 ? (
        <p>No staked reducer has announced itself yet: an operator runs 'mosaic reducer start', which stakes and announces.</p>
      ) : (
        <ScrollRegion label="Reducers on-chain">
          <table data-testid="reducers-table">
            <thead>
              <tr>
                <th scope="col">Operator</th>
                <th scope="col">Stake</th>
                <th scope="col">Peer id</th>
                <th scope="col">Addresses</th>
                <th scope="col">Announced</th>
              </tr>
            </thead>
            <tbody>
              {poll.value.records.map((r) => (
                <tr key={r.operator} data-operator={r.operator}>
                  <th scope="row" className="mono">
                    {r.operator}
                    {r.operator.toLowerCase() === mine ? <strong> (you)</strong> : null}
                  </th>
                  <td>{formatEther(r.stake)} ETH</td>
                  <td className="mono">{r.peerId}</td>
                  <td className="mono">
                    {r.addrs.map((a) => (
                      <div key={a}>{a}</div>
                    ))}
                  </td>
                  <td>{isoTime(r.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
      {poll.value === undefined || poll.value.skipped.length === 0 ? null : (
        <details>
          <summary>{poll.value.skipped.length} record(s) or address(es) left out</summary>
          <ul>
            {poll.value.skipped.map((s, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a static list read once
              <li key={i} className="mono">
                {s.operator}
                {s.addr === undefined ? "" : ` ${s.addr}`}: {s.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
    </Section>
  );
}
