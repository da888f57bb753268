// Text quoted from an alert or a feed (a headline, a gap's reason quoting the bytes an editor anchored) made safe to
// show, in a terminal or on a page.

/**
 * `text` with every control character (CR, ESC, …, even a newline), Unicode's bidirectional overrides and invisible
 * format characters written as escapes (`\r`, `\x1b`, `\u{202e}`), so what it quotes cannot print over, reorder or
 * hide what is shown around it; then, when `max` is given and the result is longer, cut to `max` characters, the last
 * one "…".
 *
 * @param max - the most characters (code points) returned, at least 1; @default no limit
 * @throws RangeError when `max` is not a whole number from 1
 *
 * @example
 * ```ts
 * printableText("Evacuate\r\u202enow") // 'Evacuate\\r\\u{202e}now'
 * printableText("a long reason", 6) // 'a lon…'
 * ```
 */
export function printableText(text: string, max?: number): string {
  if (max !== undefined && !(Number.isSafeInteger(max) && max >= 1))
    throw new RangeError(`max: expected a whole number from 1, got ${max}`);
  const escaped = text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, (c) => {
    const code = c.codePointAt(0) as number;
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
  if (max === undefined) return escaped;
  const chars = [...escaped];
  return chars.length <= max ? escaped : `${chars.slice(0, max - 1).join("")}…`;
}
