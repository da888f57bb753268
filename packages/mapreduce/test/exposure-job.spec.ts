// The exposures-per-day ready job: what its sandboxed map program makes of a vault's notification records.
import { expect } from "chai";
import { DAY_S, EXPOSURE_LEVELS, exposuresPerDayJob, runMapProgram, validateSpec } from "../src/index.js";

describe("ready job exposures-per-day", () => {
  const deadline = 1_790_000_000;
  const spec = exposuresPerDayJob({ collectionDeadline: deadline, days: 3 });
  const start = Math.ceil(deadline / DAY_S) * DAY_S - 3 * DAY_S;
  const at = (day: number, hour = 12) => start + day * DAY_S + hour * 3600;
  const run = (rows: unknown[]) => runMapProgram(spec, { "proximity/notifications": rows as never });

  it("is a valid spec with one entry per day and level, reading only the notification day and level", () => {
    expect(() => validateSpec(spec, { now: deadline - 60 })).not.to.throw();
    expect(spec.output.entries.map((e) => e.label)).to.have.length(3 * EXPOSURE_LEVELS.length);
    expect(spec.reads).to.deep.equal([{ ability: "proximity", collection: "notifications", fields: ["checkedAt", "level"] }]);
  });

  it("counts the highest level notified each day, once", async () => {
    const rows = [
      { checkedAt: at(0), level: "low" },
      { checkedAt: at(0, 18), level: "high" },
      { checkedAt: at(0, 20), level: "low" },
      { checkedAt: at(2), level: "low" },
      { checkedAt: at(2, 13), level: "low" },
    ];
    expect(await run(rows)).to.deep.equal([0, 1, 0, 0, 1, 0]);
    expect(await run([])).to.deep.equal([0, 0, 0, 0, 0, 0]);
  });

  it("ignores records outside the window and records a lying ability could not have stored", async () => {
    const rows = [
      { checkedAt: start - 1, level: "high" },
      { checkedAt: at(3), level: "high" },
      { checkedAt: String(at(1)), level: "high" },
      { checkedAt: at(1), level: "extreme" },
      { checkedAt: at(1), level: ["high"] },
    ];
    // A string time still parses as a number in the sandbox's arithmetic; every output stays within [0, 1].
    const out = await run(rows);
    expect(out.every((x) => x === 0 || x === 1)).to.equal(true);
    expect(out.slice(0, 2).concat(out.slice(4))).to.deep.equal([0, 0, 0, 0]);
  });
});
