const LINGER_EXPIRED = Symbol('linger expired');

/**
 * Groups an async stream into arrays of at most `max` items, taking whatever is already
 * available without waiting: a catch-up read yields full batches, a trickle of live events
 * yields batches of one. `lingerMs` (default 0) waits a little longer for more.
 */
export async function* batched<T>(source: AsyncIterable<T>, max: number, lingerMs = 0): AsyncGenerator<T[]> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined;
  try {
    for (;;) {
      const first = await (pending ?? iterator.next());
      pending = undefined;
      if (first.done) return;
      const batch = [first.value];
      while (batch.length < max) {
        pending = iterator.next();
        let timer: NodeJS.Timeout | undefined;
        const linger = new Promise<typeof LINGER_EXPIRED>((resolve) => {
          timer = setTimeout(() => resolve(LINGER_EXPIRED), lingerMs);
        });
        const next = await Promise.race([pending, linger]);
        clearTimeout(timer);
        if (next === LINGER_EXPIRED) break; // keep `pending` for the next batch
        pending = undefined;
        if (next.done) {
          yield batch;
          return;
        }
        batch.push(next.value);
      }
      yield batch;
    }
  } finally {
    // With a read still outstanding, a return() would queue behind it (an async generator runs
    // one step at a time), and that read may wait for ever: ask, but do not wait. Whoever owns
    // the source closes it (a subscription's close() ends the outstanding read).
    if (pending) void iterator.return?.();
    else await iterator.return?.();
  }
}
