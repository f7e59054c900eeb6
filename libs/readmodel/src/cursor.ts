import { ValidationError } from '@modeltrail/contracts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The cursor of a keyset page ordered by a time and then an id (registered, defined, queued...):
 * opaque to callers, it holds the time and id of the last row seen.
 */
export function encodeTimeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`, 'utf8').toString('base64url');
}

/** The time and id an `encodeTimeCursor` cursor holds; anything else is a BAD_USER_INPUT naming `after`. */
export function decodeTimeCursor(cursor: string): { at: Date; id: string } {
  const [time, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const at = new Date(time);
  if (!id || !UUID.test(id) || Number.isNaN(at.getTime())) throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
  return { at, id };
}

/**
 * The cursor of a keyset page ordered by a whole number (a version, a window, a store position):
 * opaque to callers, it holds the number of the last row seen.
 */
export function encodeNumberCursor(value: number): string {
  return Buffer.from(`n:${value}`, 'utf8').toString('base64url');
}

/** The number an `encodeNumberCursor` cursor holds; anything else is a BAD_USER_INPUT naming `after`. */
export function decodeNumberCursor(cursor: string): number {
  const match = /^n:(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
  return Number(match[1]);
}
