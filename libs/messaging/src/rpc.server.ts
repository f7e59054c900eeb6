import type { Msg, Subscription } from 'nats';
import { context, extractTraceContext, rootLogger, rpcServerDuration, SpanKind, SpanStatusCode, trace, tracer, withRequestScope } from '@modeltrail/observability';
import type { MessageBus } from './bus';
import { type MessageHeaders, type RpcDefinition, type RpcReply, withNamespace, type z } from '@modeltrail/contracts';
import { defaultLogger, type MessagingLogger } from './logger';
import { type ActorVerificationOption, resolveActorVerification } from './actor-auth';
import { answerRpc, type RpcReplyEnvelope } from './rpc.envelope';
import { HEADER_CORRELATION_ID } from './headers';

export type RpcHandler<D extends RpcDefinition> = (request: z.output<D['request']>, headers: MessageHeaders) => Promise<RpcReply<D>> | RpcReply<D>;

export interface ServeRpcOptions {
  /** Queue group: replicas of a service share the requests (default `modeltrail`). */
  queue?: string;
  /** Subject namespace of the installation (see withNamespace). */
  namespace?: string;
  logger?: MessagingLogger;
  /** The service answering (the `service` of its log lines); default the queue group. */
  service?: string;
  /**
   * How the actor of each request is checked: the signing key (and the agent credential
   * verifier, for definitions agents may call). Absent: the environment's key
   * (actorSigningKeyFromEnvironment). UNVERIFIED_ACTORS_FOR_TESTS only in tests that ask for it.
   */
  actors?: ActorVerificationOption;
}

/** A running responder; `stop()` stops taking requests and waits for the ones being handled. */
export interface RpcServer {
  readonly subject: string;
  readonly subscription: Subscription;
  stop(): Promise<void>;
}

export const DEFAULT_QUEUE = 'modeltrail';

/**
 * Answers `def.subject`: the request is parsed with `def.request` (invalid input is a VALIDATION
 * reply naming the field, and the handler is not called), the handler's result is the reply, and
 * its errors are mapped (ModelTrailError as is, anything else as INTERNAL).
 */
export function serveRpc<D extends RpcDefinition>(nc: MessageBus, def: D, handler: RpcHandler<D>, options: ServeRpcOptions = {}): RpcServer {
  const logger = options.logger ?? defaultLogger(`Rpc(${def.subject})`);
  const inFlight = new Set<Promise<void>>();
  const actors = resolveActorVerification(options.actors, nc);
  const subscription = nc.subscribe(withNamespace(options.namespace, def.subject), {
    queue: options.queue ?? DEFAULT_QUEUE,
    callback: (error, msg) => {
      if (error) {
        logger.error(`subscription to ${def.subject} failed: ${error.message}`);
        return;
      }
      const work = observeRpc(msg, def.subject, options.service ?? options.queue ?? DEFAULT_QUEUE, () =>
        answerRpc(msg, {
          subject: def.subject,
          schema: def.request,
          invoke: async (request, headers) => handler(request as z.output<D['request']>, headers),
          logger,
          actors,
          callers: def.callers,
        }),
      ).finally(() => inFlight.delete(work));
      inFlight.add(work);
    },
  });
  return {
    subject: def.subject,
    subscription,
    async stop() {
      if (!subscription.isClosed()) await subscription.drain().catch(() => undefined);
      await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * Handles one request observed (docs/observability.md): a SERVER span `rpc <subject>`, child of
 * the W3C trace context in the request's headers; the request's correlation id (and the
 * answering service) as the scope of every log line written while it is handled; its latency
 * and outcome (ok or the reply's error code) in modeltrail_rpc_server_duration_seconds.
 */
export async function observeRpc(msg: Msg, subject: string, service: string, answer: () => Promise<RpcReplyEnvelope>): Promise<void> {
  const started = process.hrtime.bigint();
  const parent = extractTraceContext(msg.headers);
  const span = tracer().startSpan(`rpc ${subject}`, { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'nats', 'rpc.method': subject, 'messaging.destination.name': subject } }, parent);
  const correlationId = msg.headers?.get(HEADER_CORRELATION_ID)?.slice(0, 200);
  const handle = () => context.with(trace.setSpan(parent, span), answer);
  let outcome = 'error';
  try {
    const reply = await (correlationId ? withRequestScope({ correlationId, service }, handle) : handle());
    outcome = reply.ok ? 'ok' : reply.error.code;
    if (!reply.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: reply.error.code });
  } finally {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rpcServerDuration.observe({ subject, outcome }, seconds);
    span.end();
    // Inside the request's scope, so the line carries its correlation id (LOG_LEVEL=debug).
    const line = () => rootLogger().debug({ context: 'Rpc', subject, outcome, ms: Math.round(seconds * 1000) }, `handled ${subject}: ${outcome}`);
    if (rootLogger().isLevelEnabled('debug')) {
      if (correlationId) withRequestScope({ correlationId, service }, line);
      else line();
    }
  }
}
