// Letting timers, I/O and aborts in between slices of a long hashing job, in Node and in the browser.

/** Lets timers, I/O and aborts in between slices of hashing: a long history is seconds of it. */
export async function yieldToEventLoop(signal: AbortSignal | undefined): Promise<void> {
  // setImmediate (Node) runs after pending I/O without the 1 ms floor a nested setTimeout can have; browsers lack it.
  await new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));
  signal?.throwIfAborted();
}
