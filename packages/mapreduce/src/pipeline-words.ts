// The plain words the consent screen shows for a declarative map program (semantics in pipeline.ts).
import type { Expr, PipelineProgram, ReadSpec } from "@mosaic/protocol";
import { DAY_S } from "./kmPerDay.js";
import { type AggregateStep, analyse, COMPARE_OPS, type GroupStep, LOGIC_OPS, readFields, type Scalar, truthy } from "./pipeline-check.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The program in plain words for the consent screen, one sentence per line: one line per collection read,
 * one per step, and one on the result's size. Dates are UTC; a time of day is shown only when a boundary
 * is not at midnight. By convention a field named `t` holds unix seconds. Throws InvalidJobSpecError for a
 * program `validatePipeline` rejects, so nothing unchecked is ever shown as if it were fine.
 */
export function describePipeline(program: PipelineProgram, reads: readonly ReadSpec[]): string[] {
  const { outputLength, group, output } = analyse(program, readFields(reads));
  const lines: string[] = [];
  const ordered = [
    ...reads.filter((r) => `${r.ability}/${r.collection}` === program.from),
    ...reads.filter((r) => `${r.ability}/${r.collection}` !== program.from),
  ];
  for (const r of ordered) lines.push(`Reads your ${r.ability.replace(/[-_]+/g, " ")} (${r.collection}: ${r.fields.join(", ")}).`);

  const unit = groupUnit(group);
  for (const step of program.steps) {
    switch (step.op) {
      case "window":
        lines.push(
          step.field === "t"
            ? `Keeps records ${span(step.from, step.to)}.`
            : `Keeps only records where ${step.field} is at least ${step.from} and below ${step.to}.`,
        );
        break;
      case "filter":
        lines.push(`Keeps only records where ${condition(step.where).text}.`);
        break;
      case "derive":
        lines.push(`Works out ${step.as} for each record: ${value(step.value).text}.`);
        break;
      case "place":
        lines.push(
          `Looks up which of your places (${step.places}) each record's position (${step.lat}, ${step.lon}) falls within, ` +
            `and notes that place's category as ${step.as} (none when outside all of them).`,
        );
        break;
      case "group":
        lines.push(describeGroup(step, unit));
        break;
      case "aggregate":
        lines.push(describeAggregate(step, group === null ? "" : unit.each));
        break;
      case "bucket":
        lines.push(
          group === null
            ? `Reports only which range the result falls in: ${ranges(step.edges)}.`
            : `Counts how many ${unit.plural} fall in each range: ${ranges(step.edges)}.`,
        );
        break;
      case "one-hot":
        lines.push(`Reports only which one of these the result is: ${step.values.slice(0, -1).join(", ")}, or “other / no data”.`);
        break;
    }
  }
  lines.push(
    output?.op === "one-hot"
      ? `The result is ${outputLength} numbers: a single 1 marking the answer, and 0 for the others.`
      : `The result is ${outputLength === 1 ? "1 whole number" : `${outputLength} whole numbers`}.`,
  );
  return lines;
}

function when(s: number): string {
  if (Math.abs(s) > 8.64e12) return `second ${s} of the unix clock`;
  const d = new Date(s * 1000);
  const day = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  if (s % DAY_S === 0) return day;
  return `${day} ${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")} UTC`;
}

/** [from, to) as days when both are midnights ("from 14 Nov 2026 through 20 Nov 2026"), else with times. */
function span(from: number, to: number): string {
  if (from % DAY_S === 0 && to % DAY_S === 0) {
    return to - from === DAY_S ? `on ${when(from)}` : `from ${when(from)} through ${when(to - DAY_S)}`;
  }
  return `from ${when(from)} until ${when(to)}`;
}

function duration(s: number): string {
  for (const [size, name] of [
    [DAY_S, "day"],
    [3600, "hour"],
    [60, "minute"],
  ] as const) {
    if (s >= size && s % size === 0) return `${s / size} ${name}${s === size ? "" : "s"}`;
  }
  return `${s} second${s === 1 ? "" : "s"}`;
}

interface GroupUnit {
  plural: string;
  each: string;
}

function groupUnit(group: GroupStep | null): GroupUnit {
  if (group === null) return { plural: "", each: "" };
  const by = group.by;
  if ("values" in by) return { plural: "groups", each: ` for each ${by.field}` };
  if (by.field !== "t") return { plural: "ranges", each: " in each range" };
  const named: Record<number, string> = { [DAY_S]: "day", [7 * DAY_S]: "week", 3600: "hour", 60: "minute" };
  const name = named[by.every];
  return name ? { plural: `${name}s`, each: ` in each ${name}` } : { plural: "periods", each: " in each period" };
}

function describeGroup(step: GroupStep, unit: GroupUnit): string {
  const by = step.by;
  if ("values" in by) {
    return `Splits them by ${by.field} into ${by.values.length} group${by.values.length === 1 ? "" : "s"}: ${by.values.map(literalText).join(", ")}; records with any other ${by.field} are left out.`;
  }
  const end = by.from + by.every * by.count;
  if (by.field === "t") {
    const count = by.count === 1 ? unit.plural.replace(/s$/, "") : unit.plural;
    const size = unit.plural === "periods" ? ` of ${duration(by.every)}` : "";
    return `Splits them into ${by.count} ${count}${size}, ${span(by.from, end)}.`;
  }
  return `Splits them by ${by.field} into ${by.count} range${by.count === 1 ? "" : "s"} of width ${by.every}, from ${by.from} up to ${end}; records outside are left out.`;
}

function describeAggregate(step: AggregateStep, each: string): string {
  const rounded = step.scale ? `, multiplied by ${step.scale.num}/${step.scale.den} and rounded down` : ", rounded to a whole number";
  switch (step.fn) {
    case "count":
      return `Counts the records${each}${step.scale ? rounded : ""}.`;
    case "sum":
      return `Adds up ${step.field}${each}${rounded}.`;
    case "min":
      return `Finds the smallest ${step.field}${each}${rounded}.`;
    case "max":
      return `Finds the largest ${step.field}${each}${rounded}.`;
    case "mean":
      return `Works out the average ${step.field}${each}${rounded}.`;
    case "any":
      return `Notes whether ${step.field} is true for any record${each} (1 = yes, 0 = no)${step.scale ? rounded : ""}.`;
    case "distinct":
      return `Counts how many different values of ${step.field} appear${each}${step.scale ? rounded : ""}.`;
    case "distance-km":
      return `Works out the distance you travelled (km)${each}, adding up straight lines between consecutive records${rounded}.`;
    case "dwell-s": {
      const units: Record<number, string> = { 1: "seconds", 60: "minutes", 3600: "hours", [DAY_S]: "days" };
      const unit = step.scale?.num === 1 ? units[step.scale.den] : step.scale ? undefined : "seconds";
      const where = step.where === undefined ? "" : ` where ${condition(step.where).text}`;
      const gap = `a gap of more than ${duration(step.maxGapS as number)} between records is not counted`;
      return unit
        ? `Works out how many ${unit} you spent${where}${each} (${step.scale ? "rounded down" : "to the second"}; ${gap}).`
        : `Works out how many seconds you spent${where}${each} (${gap})${rounded}.`;
    }
    case "entries":
      return step.where === undefined
        ? `Counts the separate unbroken runs of records${each}${step.scale ? rounded : ""}.`
        : `Counts how many times you arrived where ${condition(step.where).text}${each}${step.scale ? rounded : ""}.`;
  }
}

/** Integer bucket ranges as a person reads them: "under 1, 1–4, 5–9, 10 or more". */
function ranges(edges: readonly number[]): string {
  const parts = [`under ${edges[0]}`];
  for (let i = 1; i < edges.length; i++) {
    const lo = edges[i - 1] as number;
    const hi = (edges[i] as number) - 1;
    parts.push(lo === hi ? `${lo}` : `${lo}–${hi}`);
  }
  parts.push(`${edges[edges.length - 1]} or more`);
  return parts.join(", ");
}

// Expressions. `prec` orders how tightly a rendering binds; a child binding looser than its place needs is
// put in brackets. Wordy forms ("the larger of …", "… rounded down") get 0 so they are always bracketed.
interface Text {
  text: string;
  prec: number;
}
const PREC = { or: 1, and: 2, not: 3, compare: 4, add: 5, mul: 6, atom: 9 } as const;

function bracket(t: Text, min: number): string {
  return t.prec >= min ? t.text : `(${t.text})`;
}

function literalText(v: Scalar): string {
  if (v === null) return "no value";
  if (typeof v === "string") return `“${v}”`;
  return String(v);
}

function isCondition(e: Expr): boolean {
  return "op" in e && (COMPARE_OPS.has(e.op) || LOGIC_OPS.has(e.op) || e.op === "not" || e.op === "in");
}

/** An expression read as a yes/no condition. */
function condition(e: Expr): Text {
  if ("field" in e) return { text: `${e.field} is true`, prec: PREC.compare };
  if ("const" in e) return { text: truthy(e.const) ? "(always)" : "(never)", prec: PREC.atom };
  if (!isCondition(e)) return { text: `${bracket(value(e), PREC.add)} is not 0`, prec: PREC.compare };
  const args = e.args as Expr[];
  switch (e.op) {
    case "and":
      return { text: args.map((a) => bracket(condition(a), PREC.and)).join(" and "), prec: PREC.and };
    case "or":
      return { text: args.map((a) => bracket(condition(a), PREC.not)).join(" or "), prec: PREC.or };
    case "not": {
      const a = args[0] as Expr;
      if ("field" in a) return { text: `${a.field} is not true`, prec: PREC.compare };
      return { text: `not (${condition(a).text})`, prec: PREC.not };
    }
    case "in": {
      const values = "values" in e ? e.values : [];
      const subject = bracket(value(args[0] as Expr), PREC.add);
      return values.length === 1
        ? { text: `${subject} is ${literalText(values[0] as number | string)}`, prec: PREC.compare }
        : { text: `${subject} is one of ${values.map(literalText).join(", ")}`, prec: PREC.compare };
    }
    default: {
      const phrase = { eq: "is", ne: "is not", lt: "is below", lte: "is at most", gt: "is above", gte: "is at least" }[e.op as "eq"];
      const [a, b] = args as [Expr, Expr];
      // A time compared with a constant reads as a date.
      const time = ("field" in a && a.field === "t") || ("field" in b && b.field === "t");
      return { text: `${bracket(value(a, time), PREC.add)} ${phrase} ${bracket(value(b, time), PREC.add)}`, prec: PREC.compare };
    }
  }
}

/** An expression read as a value. */
function value(e: Expr, time = false): Text {
  if ("field" in e) return { text: e.field, prec: PREC.atom };
  if ("const" in e) return { text: time && typeof e.const === "number" ? when(e.const) : literalText(e.const), prec: PREC.atom };
  if (isCondition(e)) return { text: `1 if ${condition(e).text}, else 0`, prec: 0 };
  const args = e.args as Expr[];
  const infix = (symbol: string, prec: number, associative: boolean): Text => ({
    text: args.map((a, i) => bracket(value(a), i === 0 || associative ? prec : prec + 1)).join(` ${symbol} `),
    prec,
  });
  const listed = (items: string[]) => (items.length === 2 ? items.join(" and ") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`);
  switch (e.op) {
    case "add":
      return infix("+", PREC.add, true);
    case "sub":
      return infix("−", PREC.add, false);
    case "mul":
      return infix("×", PREC.mul, true);
    case "div":
      return infix("÷", PREC.mul, false);
    case "min":
    case "max": {
      const word = args.length === 2 ? (e.op === "min" ? "smaller" : "larger") : e.op === "min" ? "smallest" : "largest";
      return { text: `the ${word} of ${listed(args.map((a) => bracket(value(a), PREC.atom)))}`, prec: 0 };
    }
    case "floor":
      return { text: `${bracket(value(args[0] as Expr), PREC.atom)} rounded down`, prec: 0 };
    case "round":
      return { text: `${bracket(value(args[0] as Expr), PREC.atom)} rounded to a whole number`, prec: 0 };
    default:
      return { text: `${bracket(value(args[0] as Expr), PREC.atom)} without its minus sign`, prec: 0 };
  }
}
