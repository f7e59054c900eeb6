/**
 * Splits a byte stream into lines with bounded memory.
 *
 * Lines end at `\n` (a `\r` before it is dropped). A line longer than `maxLineBytes` is cut at
 * that many bytes (at a UTF-8 character boundary, so the text never ends in half a character)
 * and emitted with `truncated: true` as soon as the limit is reached; the rest of that line, up
 * to its newline, is discarded. At most `maxLineBytes` bytes are buffered per stream.
 *
 * Splitting happens on bytes before decoding, so a multi-byte character cut between two chunks
 * is decoded whole. Invalid UTF-8 becomes U+FFFD.
 */

export interface SplitLine {
  text: string;
  /** The line was longer than the limit: `text` is its first `maxLineBytes` bytes (or fewer, at a character boundary). */
  truncated: boolean;
}

export class LineSplitter {
  private readonly parts: Buffer[] = [];
  private size = 0;
  /** Inside an over-long line whose head was already emitted: skip bytes until the next newline. */
  private skipping = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly emit: (line: SplitLine) => void,
  ) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 16) throw new Error(`maxLineBytes must be a whole number of at least 16, got ${maxLineBytes}`);
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      if (this.skipping) {
        if (newline >= 0) this.skipping = false;
      } else {
        this.append(chunk.subarray(start, end));
        if (newline >= 0 && !this.skipping) this.flushLine(false);
        else if (newline >= 0) this.skipping = false;
      }
      if (newline < 0) break;
      start = newline + 1;
    }
  }

  /** The stream ended: emits a last line that had no newline. */
  end(): void {
    if (!this.skipping && this.size > 0) this.flushLine(false);
    this.skipping = false;
    this.parts.length = 0;
    this.size = 0;
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const room = this.maxLineBytes - this.size;
    if (bytes.length <= room) {
      this.parts.push(bytes);
      // Exactly full is not yet too long: the next byte tells whether the line ends here.
      this.size += bytes.length;
      return;
    }
    this.parts.push(bytes.subarray(0, room));
    this.size += room;
    this.flushLine(true);
    this.skipping = true;
  }

  private flushLine(truncated: boolean): void {
    let bytes = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    this.parts.length = 0;
    this.size = 0;
    if (truncated) bytes = bytes.subarray(0, utf8Boundary(bytes));
    else if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    this.emit({ text: bytes.toString('utf8'), truncated });
  }
}

/** The largest length <= bytes.length that does not cut a UTF-8 sequence. */
function utf8Boundary(bytes: Buffer): number {
  let end = bytes.length;
  // Step back over continuation bytes (10xxxxxx), at most 3, to the lead byte of the last character.
  let i = end - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && (bytes[i] & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return end;
  const lead = bytes[i];
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (i + length > end) end = i;
  return end;
}
