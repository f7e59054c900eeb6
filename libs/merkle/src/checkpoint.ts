/**
 * Checkpoints (c2sp.org/tlog-checkpoint): the signed statement "the log <origin> had <size>
 * leaves with root <root>", in a signed note. ModelTrail adds one extension line, `time <RFC 3339
 * UTC>`, the moment the checkpoint was made, so that an auditor can tell a stale one.
 */
import { HASH_SIZE } from './hash';
import { MAX_SIZE } from './nodes';
import { type NoteSigner, type NoteVerifier, openNote, parseVerifierKey, signNote, strictBase64 } from './note';

export interface Checkpoint {
  /** The log's identity, first line of the body: e.g. `modeltrail.example.com/events`. */
  readonly origin: string;
  /** Number of leaves (events) in the tree. */
  readonly size: number;
  /** The 32-byte root hash of the tree of `size` leaves. */
  readonly root: Buffer;
  /** When the checkpoint was made (millisecond precision on the wire). */
  readonly time: Date;
}

/** The extension line's keyword: `time 2026-12-02T05:40:00.000Z`. */
const TIME_PREFIX = 'time ';
/** RFC 3339 in UTC, as Date.toISOString writes it (fraction optional when reading). */
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/**
 * The checkpoint body: `<origin>\n<size>\n<base64 root>\ntime <RFC 3339 UTC>\n`. Throws for an
 * origin that is empty or has a newline, a size that is not a non-negative safe integer, a root
 * that is not 32 bytes, or an invalid time.
 */
export function checkpointBody(checkpoint: Checkpoint): string {
  const { origin, size, root, time } = checkpoint;
  if (typeof origin !== 'string' || origin.length === 0 || /[\u0000-\u001f\u007f]/.test(origin)) throw new Error(`the checkpoint origin must be a non-empty line, got ${JSON.stringify(origin)}`);
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`the checkpoint size must be an integer in [0, ${MAX_SIZE}], got ${size}`);
  if (!Buffer.isBuffer(root) || root.length !== HASH_SIZE) throw new RangeError(`the checkpoint root must be a ${HASH_SIZE}-byte hash`);
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) throw new RangeError('the checkpoint time must be a valid Date');
  const stamp = time.toISOString();
  // years outside 0000–9999 come out as ±YYYYYY, which RFC 3339 (and so openCheckpoint) refuses
  if (!RFC3339_UTC.test(stamp)) throw new RangeError(`the checkpoint time ${stamp} is outside the years RFC 3339 can write`);
  return `${origin}\n${size}\n${root.toString('base64')}\n${TIME_PREFIX}${stamp}\n`;
}

/** The signed note of the checkpoint: body, blank line, the signer's signature line. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  return signNote(checkpointBody(checkpoint), signer);
}

/**
 * Verifies the signature of `verifierKey` on a checkpoint note and parses its body strictly.
 * Throws an Error that names the problem: malformed note, unknown key, bad signature, then
 * malformed origin, size (decimal, no leading zero, at most 2^53 − 1), root (base64 of 32
 * bytes), or a time line that is missing, repeated or not RFC 3339 UTC. Other extension lines are
 * allowed (tlog-checkpoint) and ignored.
 */
export function openCheckpoint(note: string, verifierKey: string | NoteVerifier): Checkpoint {
  const verifier = typeof verifierKey === 'string' ? parseVerifierKey(verifierKey) : verifierKey;
  const text = openNote(note, verifier);
  return parseCheckpointBody(text);
}

/** Parses a checkpoint body without looking at any signature: for tests and for already verified text. */
export function parseCheckpointBody(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new Error('malformed checkpoint: the body must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new Error(`malformed checkpoint: the body has ${lines.length} line(s), at least 3 are needed (origin, size, root)`);
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin.length === 0) throw new Error('malformed checkpoint: the origin line is empty');
  if (!/^(?:0|[1-9][0-9]*)$/.test(sizeLine)) throw new Error(`malformed checkpoint: the size ${JSON.stringify(sizeLine)} is not a decimal integer without leading zeros`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw new Error(`malformed checkpoint: the size ${sizeLine} is beyond ${MAX_SIZE}`);
  const root = strictBase64(rootLine);
  if (root === undefined) throw new Error(`malformed checkpoint: the root ${JSON.stringify(rootLine)} is not standard base64`);
  if (root.length !== HASH_SIZE) throw new Error(`malformed checkpoint: the root is ${root.length} bytes, not ${HASH_SIZE}`);
  if (extensions.some((line) => line.length === 0)) throw new Error('malformed checkpoint: an extension line is empty');
  const times = extensions.filter((line) => line.startsWith(TIME_PREFIX));
  if (times.length === 0) throw new Error('malformed checkpoint: no "time <RFC 3339 UTC>" line');
  if (times.length > 1) throw new Error(`malformed checkpoint: ${times.length} time lines, one is allowed`);
  const stamp = times[0].slice(TIME_PREFIX.length);
  const time = new Date(stamp);
  if (!RFC3339_UTC.test(stamp) || Number.isNaN(time.getTime())) throw new Error(`malformed checkpoint: the time ${JSON.stringify(stamp)} is not RFC 3339 in UTC (e.g. 2026-12-02T05:40:00.000Z)`);
  return { origin, size, root, time };
}
