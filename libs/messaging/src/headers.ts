import { headers as natsHeaders, type MsgHdrs } from 'nats';
import { ValidationError, type MessageHeaders } from '@modeltrail/contracts';

/** NATS header names of the metadata every request carries (docs/architecture.md: Bounded contexts: who acts, which flow, what caused it). */
export const HEADER_ACTOR = 'Mt-Actor';
export const HEADER_CORRELATION_ID = 'Mt-Correlation-Id';
export const HEADER_CAUSATION_ID = 'Mt-Causation-Id';
export const HEADER_COMMAND_ID = 'Mt-Command-Id';

export function toNatsHeaders(metadata: MessageHeaders): MsgHdrs {
  const out = natsHeaders();
  out.set(HEADER_ACTOR, headerValue(metadata.actor, HEADER_ACTOR));
  out.set(HEADER_CORRELATION_ID, headerValue(metadata.correlationId, HEADER_CORRELATION_ID));
  if (metadata.causationId) out.set(HEADER_CAUSATION_ID, headerValue(metadata.causationId, HEADER_CAUSATION_ID));
  if (metadata.commandId) out.set(HEADER_COMMAND_ID, headerValue(metadata.commandId, HEADER_COMMAND_ID));
  return out;
}

/** Reads the metadata of a request; a missing actor or correlation id is the caller's error. */
export function fromNatsHeaders(received: MsgHdrs | undefined): MessageHeaders {
  const actor = received?.get(HEADER_ACTOR) ?? '';
  const correlationId = received?.get(HEADER_CORRELATION_ID) ?? '';
  const missing = [!actor && HEADER_ACTOR, !correlationId && HEADER_CORRELATION_ID].filter((h): h is string => Boolean(h));
  if (missing.length) {
    throw new ValidationError(`request headers are missing ${missing.join(' and ')}`, { issues: missing.map((field) => ({ field, message: 'required header' })) });
  }
  const result: MessageHeaders = { actor, correlationId };
  const causationId = received?.get(HEADER_CAUSATION_ID);
  if (causationId) result.causationId = causationId;
  const commandId = received?.get(HEADER_COMMAND_ID);
  if (commandId) result.commandId = commandId;
  return result;
}

function headerValue(value: string, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`header ${name} must be a non-empty string`);
  if (/[\r\n]/.test(value)) throw new ValidationError(`header ${name} must not contain line breaks`);
  return value;
}
