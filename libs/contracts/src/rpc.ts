import type { z } from 'zod';

/**
 * A request/reply exchange over NATS (docs/architecture.md: Messaging): a command (`mt.cmd.<context>.<Command>`) or a
 * query (`mt.qry.<context>.<Query>`) with the runtime schemas of its request and reply.
 * Requests are validated by the responder; replies by the caller.
 */
export interface RpcDefinition<Subject extends string = string, Req extends z.ZodType = z.ZodType, Rep extends z.ZodType = z.ZodType> {
  readonly subject: Subject;
  readonly request: Req;
  readonly reply: Rep;
  /**
   * How long a caller should wait for the reply, when the exchange is known to take longer than
   * the client's default (reading and profiling a large file, say). Absent for quick exchanges.
   */
  readonly timeoutMs?: number;
  /**
   * Callers besides the platform's own processes: `agent` means a GPU agent may call it with its
   * own credential (an AGENT API key) instead of a signed actor; the responder then acts as that
   * agent and lets it touch only its own assignments. Absent: only signed callers.
   */
  readonly callers?: ReadonlyArray<'agent'>;
}

export interface RpcOptions {
  timeoutMs?: number;
  callers?: ReadonlyArray<'agent'>;
}

export function defineRpc<const Subject extends string, Req extends z.ZodType, Rep extends z.ZodType>(
  subject: Subject,
  request: Req,
  reply: Rep,
  options: RpcOptions = {},
): RpcDefinition<Subject, Req, Rep> {
  return {
    subject,
    request,
    reply,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.callers === undefined ? {} : { callers: options.callers }),
  };
}

export type RpcRequest<R extends RpcDefinition> = z.input<R['request']>;
export type RpcReply<R extends RpcDefinition> = z.output<R['reply']>;

/** Metadata every command carries across NATS: who acts, and the flow it belongs to. */
export interface MessageHeaders {
  actor: string;
  correlationId: string;
  causationId?: string;
  /**
   * Idempotency key of a command, chosen by the caller and kept across its retries: the events
   * a command decides get ids derived from it, so a retried delivery appends nothing new.
   */
  commandId?: string;
}
