import type { Msg, MsgHdrs } from 'nats';
import { ERROR_CODES, ModelTrailError, parseWith, ValidationError, type ErrorPayload, type MessageHeaders, type z } from '@modeltrail/contracts';
import { authenticateActor, type ResolvedActorVerification } from './actor-auth';
import { fromNatsHeaders } from './headers';
import { errorStack, type MessagingLogger } from './logger';

/**
 * The reply of every request/reply exchange. The request body is the payload itself (JSON);
 * the reply says whether it worked, so a typed error crosses the wire as data, not as a
 * transport failure.
 */
export type RpcReplyEnvelope = { ok: true; data?: unknown } | { ok: false; error: ErrorPayload };

const decoder = new TextDecoder();

/**
 * JSON as UTF-8 bytes. Buffer.from, not TextEncoder: for a 1 MB batch of metric points it
 * encodes in a third of the time (1.4 ms against 4.3 ms here); a Buffer is a Uint8Array.
 */
export function encodeJson(value: unknown): Uint8Array {
  const text = JSON.stringify(value);
  return text === undefined ? new Uint8Array(0) : Buffer.from(text, 'utf8');
}

/** An empty body is `undefined`; anything else must be JSON. */
export function decodeJson(data: Uint8Array): unknown {
  if (data.length === 0) return undefined;
  return JSON.parse(decoder.decode(data)) as unknown;
}

/**
 * A ModelTrailError keeps its code, message and details; anything else is a bug on this side
 * and becomes INTERNAL with a generic message — the stack goes to the log, never to the caller.
 */
export function toErrorPayload(error: unknown, subject: string, logger: MessagingLogger): ErrorPayload {
  if (error instanceof ModelTrailError) return error.toPayload();
  logger.error(`unexpected error handling ${subject}: ${error instanceof Error ? error.message : String(error)}`, errorStack(error));
  return { code: 'INTERNAL', message: `internal error while handling ${subject}` };
}

export interface AnswerRpcOptions {
  subject: string;
  /** The request schema; absent means the payload is passed on unchecked. */
  schema?: z.ZodType;
  invoke: (request: unknown, headers: MessageHeaders, natsHeaders: MsgHdrs | undefined) => Promise<unknown>;
  logger: MessagingLogger;
  /**
   * How the actor is checked (resolveActorVerification): a signed actor, or an agent credential
   * where `callers` allow it. `null` only where a test explicitly asked for unchecked actors.
   */
  actors: ResolvedActorVerification | null;
  /** Who besides signed platform processes may call (the definition's `callers`). */
  callers?: ReadonlyArray<'agent'>;
}

/** Computes the reply envelope of one request: decode, check headers, validate, invoke, map errors. */
export async function replyFor(msg: Msg, options: AnswerRpcOptions): Promise<RpcReplyEnvelope> {
  try {
    const claimed = fromNatsHeaders(msg.headers);
    // Who acts is checked before anything else: a refused request never reaches the handler.
    const headers = options.actors ? await authenticateActor(msg, claimed, options.subject, options.callers, options.actors, options.logger) : claimed;
    let body: unknown;
    try {
      body = decodeJson(msg.data);
    } catch {
      throw new ValidationError(`request to ${options.subject} is not valid JSON`);
    }
    const request = options.schema ? parseWith(options.schema, body, `request to ${options.subject}`) : body;
    const data = await options.invoke(request, headers, msg.headers);
    return { ok: true, data };
  } catch (error) {
    return { ok: false, error: toErrorPayload(error, options.subject, options.logger) };
  }
}

/** Answers one request (and returns the reply, for metrics); a request without a reply subject (a plain publish) is handled but not answered. */
export async function answerRpc(msg: Msg, options: AnswerRpcOptions): Promise<RpcReplyEnvelope> {
  const reply = await replyFor(msg, options);
  if (!msg.reply) return reply;
  let body: Uint8Array;
  try {
    body = encodeJson(reply);
  } catch (error) {
    // e.g. a BigInt or a cycle in the handler's result.
    body = encodeJson({ ok: false, error: toErrorPayload(error, options.subject, options.logger) });
  }
  try {
    msg.respond(body);
  } catch (error) {
    options.logger.warn(`could not reply to ${options.subject}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return reply;
}

export function isErrorPayload(value: unknown): value is ErrorPayload {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { code?: unknown; message?: unknown };
  return typeof candidate.message === 'string' && (ERROR_CODES as ReadonlyArray<unknown>).includes(candidate.code);
}
