// Every error class a package exports is made the same way: its name, and its instances' name, is the name it is exported as.
import { expect } from "chai";

const PACKAGES = ["protocol", "threads", "avatar", "mapreduce", "vault", "worker", "cli"] as const;

type ErrorClass = new (...args: unknown[]) => Error;

function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === "function" && value.prototype instanceof Error;
}

describe("named errors", () => {
  for (const pkg of PACKAGES) {
    it(`@mosaic/${pkg}: every exported ...Error class is named as it is exported, and makes Errors of that name`, async () => {
      const entry: Record<string, unknown> = await import(`@mosaic/${pkg}`);
      const classes = Object.entries(entry).filter(([name, value]) => name.endsWith("Error") && isErrorClass(value));
      for (const [name, X] of classes as [string, ErrorClass][]) {
        expect(X.name, `${name}.name`).to.equal(name);
        let instance: Error | undefined;
        try {
          instance = new X("a message", 1, 2);
        } catch {
          // Its constructor wants real fields (e.g. a date); the class's own name was checked above.
        }
        if (instance === undefined) continue;
        expect(instance, name).to.be.instanceOf(Error).and.instanceOf(X);
        expect(instance.name, `new ${name}(...).name`).to.equal(name);
        expect(String(instance).startsWith(`${name}: `), `String(new ${name}(...))`).to.equal(true);
      }
      if (pkg !== "cli") expect(classes.length, `error classes exported by @mosaic/${pkg}`).to.be.greaterThan(0);
    });
  }
});
