import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** The SHA-256 digest of a file's bytes: the identity of anything the content-addressed store holds. */

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
