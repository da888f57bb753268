// waitUntil: polls until a condition holds, treats a throwing check as "not yet", and names what timed out.
import { expect } from "chai";
import { WaitTimeoutError, waitUntil } from "../src/index.js";

describe("waitUntil", () => {
  it("resolves once the check holds, counting a throwing check as not yet", async () => {
    let calls = 0;
    await waitUntil(
      "the third call",
      () => {
        calls++;
        if (calls === 1) throw new Error("not ready");
        return calls >= 3;
      },
      { intervalMs: 1 },
    );
    expect(calls).to.equal(3);
  });

  it("times out with WaitTimeoutError naming what it waited for, with the caller's detail", async () => {
    let err: unknown;
    await waitUntil("a reducer to propose", async () => false, { timeoutMs: 20, intervalMs: 5, detail: () => "state: collecting" }).catch(
      (e) => {
        err = e;
      },
    );
    expect(err).to.be.instanceOf(WaitTimeoutError);
    expect((err as Error).message).to.match(/timed out after 20 ms waiting for a reducer to propose\nstate: collecting/);
  });
});
