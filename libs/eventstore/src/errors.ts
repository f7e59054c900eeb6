import { ConflictError, ValidationError } from '@modeltrail/contracts';
import type { ExpectedRevision, StreamRevision } from './types';

/** The expected revision of an append did not match the stream. */
export class WrongExpectedRevisionError extends ConflictError {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: StreamRevision,
  ) {
    super(`stream "${stream}" is at revision ${String(actual)}, expected ${String(expected)}`, { stream, expected, actual });
  }
}

/** An event id was appended before at a different place (another stream or revision). */
export class DuplicateEventIdError extends ConflictError {
  constructor(
    readonly eventId: string,
    readonly stream: string,
  ) {
    super(`event id ${eventId} already exists elsewhere than stream "${stream}" at the requested revision`, { eventId, stream });
  }
}

export class InvalidAppendError extends ValidationError {}
