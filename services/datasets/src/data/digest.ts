/**
 * A small non-cryptographic string hash for the sketches of `profile.ts` and the uniqueness
 * check of `validate.ts`. (The SHA-256 digest of a file is in `@modeltrail/artifacts`.)
 */

/**
 * MurmurHash3-style 32-bit hash of a string's UTF-16 code units, with a seed so that two
 * seeds give two independent hashes (together a 64-bit hash).
 */
export function hash32(text: string, seed = 0): number {
  let h = (seed ^ text.length) | 0;
  for (let i = 0; i < text.length; i++) {
    let k = Math.imul(text.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
