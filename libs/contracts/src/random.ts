/**
 * A small seeded pseudo-random generator (mulberry32). Seeds are recorded in events (a sweep's
 * seed, a dataset sketch's), and what they expand to must be the same on every replica and at
 * every replay, so every context draws from this one function and its output never changes.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
