import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Hashing for the data engine: the SHA-256 digest of a file's bytes (the identity of a dataset
 * version), and a small non-cryptographic string hash for the sketches of `profile.ts` and the
 * uniqueness check of `validate.ts`.
 */

export interface ByteDigest {
  /** SHA-256 of the bytes, 64 lowercase hexadecimal characters. */
  readonly digest: string;
  /** Number of bytes. */
  readonly size: number;
}

/** Accumulates the SHA-256 digest and size of bytes as they stream by. */
export class DigestTap {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
  }

  /** Finishes the digest; the tap cannot be updated afterwards. */
  result(): ByteDigest {
    return { digest: this.hash.digest('hex'), size: this.bytes };
  }
}

/** SHA-256 and size of a file, read as a stream. */
export async function sha256File(path: string): Promise<ByteDigest> {
  const tap = new DigestTap();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) tap.update(chunk as Buffer);
  return tap.result();
}

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
