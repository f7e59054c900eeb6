import { EventEmitter } from 'node:events';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { Msg, Status, Subscription } from 'nats';
import { connectBus, type ManagedBus, type MessageBus } from './bus';
import { isObservable, lastValueFrom } from 'rxjs';
import { errorFromPayload, InternalError, ModelTrailError, type RpcDefinition, withNamespace } from '@modeltrail/contracts';
import { defaultLogger, errorMessage, type MessagingLogger } from './logger';
import type { ConnectNatsOptions } from './nats.connection';
import { NatsRpcContext } from './nats-rpc.context';
import { RPC_DEFINITION_EXTRA } from './rpc.decorators';
import { answerRpc, decodeJson, isErrorPayload } from './rpc.envelope';
import { type ActorVerificationOption, actorSigningKeyFromEnvironment, resolveActorVerification, type ResolvedActorVerification } from './actor-auth';
import { HEADER_ACTOR, HEADER_CAUSATION_ID, HEADER_CORRELATION_ID } from './headers';
import { DEFAULT_QUEUE, observeRpc } from './rpc.server';

export interface NatsRpcTransportOptions {
  /** Connect with these options; the transport owns that connection and drains it on close. */
  nats?: ConnectNatsOptions;
  /** Or serve on a connection someone else owns; close then drains only the transport's subscriptions. */
  connection?: MessageBus;
  /** Queue group of every handler unless `@RpcPattern(def, { queue })` says otherwise (default `modeltrail`). */
  queue?: string;
  /** Definitions of subjects served with a plain `@MessagePattern(subject)`, so their requests are validated too. */
  definitions?: ReadonlyArray<RpcDefinition>;
  /** Subject namespace of the installation (see withNamespace): handlers listen on `<namespace>.<pattern>`. */
  namespace?: string;
  logger?: MessagingLogger;
  /** The service answering (the `service` of its log lines while it handles a request); default the queue group. */
  service?: string;
  /** Called at the end of close() (the app's close, or a shutdown signal): what the app holds besides the bus. */
  onClose?: () => Promise<void> | void;
  /**
   * How the actor of each request is checked: `{ signingKey: requireActorSigningKey(config) }`,
   * plus `credentials` where agents may call (a verifier, or a factory given this transport's
   * connection). Absent: the environment's key (actorSigningKeyFromEnvironment; required in
   * production). UNVERIFIED_ACTORS_FOR_TESTS only in tests that ask for it.
   */
  actors?: ActorVerificationOption;
}

export type NatsRpcTransportStatus = 'connected' | 'disconnected' | 'reconnecting';

/** Identifies the transport; `@MessagePattern(subject, NATS_RPC_TRANSPORT)` binds a handler to it alone. */
export const NATS_RPC_TRANSPORT = Symbol('NATS_RPC_TRANSPORT');

/**
 * Nest custom transport serving every `@MessagePattern(subject)` (and `@RpcPattern(def)`) handler
 * of the app over NATS request/reply, with the same envelope, validation and error mapping as
 * `serveRpc`: request body = JSON payload, reply = `{ ok: true, data } | { ok: false, error }`.
 * Handlers take `@Payload()` (the validated request) and `@Ctx()` (a NatsRpcContext), or
 * `@RpcHeaders()` for the MessageHeaders alone (Nest passes only the payload to undecorated parameters).
 * `@EventPattern(subject)` handlers get plain (core NATS) messages and send no reply.
 */
export class NatsRpcTransport extends Server<Record<string, Function>, NatsRpcTransportStatus> implements CustomTransportStrategy {
  override transportId = NATS_RPC_TRANSPORT;
  private readonly statusEvents = new EventEmitter();
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly definitions: Map<string, RpcDefinition>;
  private readonly log: MessagingLogger;
  private managed: ManagedBus | undefined;
  private nc: MessageBus | undefined;
  private actors: ResolvedActorVerification | null = null;
  private connected = false;

  constructor(private readonly options: NatsRpcTransportOptions) {
    super();
    if (!options.nats === !options.connection) throw new Error('NatsRpcTransport needs exactly one of `nats` (connect options) or `connection`');
    this.definitions = new Map((options.definitions ?? []).map((def) => [def.subject, def]));
    this.log = options.logger ?? defaultLogger(NatsRpcTransport.name);
    // Fail at construction (not at the first request) when no key can be had.
    if (options.actors === undefined) this.options = { ...options, actors: { signingKey: actorSigningKeyFromEnvironment() } };
  }

  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    try {
      if (this.options.connection) {
        this.nc = this.options.connection;
      } else {
        this.managed = await connectBus({ logger: this.log, ...this.options.nats! });
        this.nc = this.managed.nc;
      }
      this.actors = resolveActorVerification(this.options.actors, this.nc);
      this.followStatus(this.nc);
      this._status$.next('connected');
      this.connected = true;
      this.subscribeHandlers(this.nc);
      // A round trip to the server: once listen() resolves, the server has every subscription,
      // so a request sent right after from another connection finds its responder.
      await this.nc.flush();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Stops taking requests, lets the ones in progress answer, then drains the owned connection. */
  async close(): Promise<void> {
    const subscriptions = this.subscriptions.splice(0);
    await Promise.all(subscriptions.map((sub) => (sub.isClosed() ? undefined : sub.drain().catch(() => undefined))));
    await Promise.allSettled([...this.inFlight]);
    const managed = this.managed;
    this.managed = undefined;
    this.nc = undefined;
    this.connected = false;
    try {
      await managed?.close();
    } finally {
      this._status$.next('disconnected');
      this.statusEvents.removeAllListeners();
      await this.options.onClose?.();
    }
  }

  /** Listens to NATS status events of the connection (`disconnect`, `reconnect`, `error`, ...). */
  on<EventKey extends string = string, EventCallback extends Function = Function>(event: EventKey, callback: EventCallback): void {
    this.statusEvents.on(event, callback as unknown as (...args: unknown[]) => void);
  }

  /** For /ready: throws saying why the transport cannot answer requests now (not listening, or its connection is down). */
  assertConnected(): void {
    if (!this.nc || !this.connected) throw new Error(this.nc ? 'the bus connection is down (reconnecting)' : 'not listening on the bus');
    if (this.nc.isClosed() || this.nc.isDraining()) throw new Error('the bus connection is closed');
  }

  unwrap<T>(): T {
    if (!this.nc) throw new Error('NatsRpcTransport is not listening: call listen() (app.listen()) first');
    return this.nc as T;
  }

  private subscribeHandlers(nc: MessageBus): void {
    for (const [subject, handler] of this.messageHandlers) {
      if (subject.startsWith('{')) {
        this.log.warn(`pattern ${subject} is not a NATS subject; NatsRpcTransport serves string patterns only`);
        continue;
      }
      const queue = (handler.extras?.queue as string | undefined) ?? this.options.queue ?? DEFAULT_QUEUE;
      const callback = handler.isEventHandler ? this.eventCallback(subject) : this.requestCallback(subject, handler);
      this.subscriptions.push(
        nc.subscribe(withNamespace(this.options.namespace, subject), {
          queue,
          callback: (error, msg) => {
            if (error) return this.log.error(`subscription to ${subject} failed: ${error.message}`);
            const work = callback(msg).finally(() => this.inFlight.delete(work));
            this.inFlight.add(work);
          },
        }),
      );
    }
  }

  private requestCallback(subject: string, handler: MessageHandler): (msg: Msg) => Promise<void> {
    const def = (handler.extras?.[RPC_DEFINITION_EXTRA] as RpcDefinition | undefined) ?? this.definitions.get(subject);
    if (!def) this.log.warn(`${subject} has no RpcDefinition (use @RpcPattern(def) or the definitions option): its requests are not validated`);
    const service = this.options.service ?? this.options.queue ?? DEFAULT_QUEUE;
    return (msg) =>
      observeRpc(msg, subject, service, () => answerRpc(msg, {
        subject,
        schema: def?.request,
        logger: this.log,
        actors: this.actors,
        callers: def?.callers,
        invoke: async (request, headers, natsHeaders) => {
          const context = new NatsRpcContext([msg.subject, headers, natsHeaders]);
          try {
            // Nest's handler resolves to the value, or to an Observable (interceptors, or the
            // exception filter's throwError): only the latter needs subscribing to.
            const result: unknown = await handler(request, context);
            return isObservable(result) ? await lastValueFrom(result, { defaultValue: undefined }) : result;
          } catch (error) {
            throw fromNestError(error, subject);
          }
        },
      }));
  }

  private eventCallback(subject: string): (msg: Msg) => Promise<void> {
    return async (msg) => {
      try {
        const data = decodeJson(msg.data);
        const headers = { actor: msg.headers?.get(HEADER_ACTOR) ?? '', correlationId: msg.headers?.get(HEADER_CORRELATION_ID) ?? '', causationId: msg.headers?.get(HEADER_CAUSATION_ID) || undefined };
        const context = new NatsRpcContext([msg.subject, headers, msg.headers]);
        await this.handleEvent(subject, { pattern: subject, data }, context);
      } catch (error) {
        this.log.error(`event handler for ${subject} failed: ${errorMessage(error)}`);
      }
    };
  }

  private followStatus(nc: MessageBus): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') this._status$.next('disconnected');
        else if (status.type === 'reconnecting') this._status$.next('reconnecting');
        else if (status.type === 'reconnect') this._status$.next('connected');
        if (status.type === 'disconnect' || status.type === 'reconnecting') this.connected = false;
        else if (status.type === 'reconnect') this.connected = true;
        this.statusEvents.emit(status.type, status.data, status satisfies Status);
      }
    })().catch(() => undefined);
  }
}

/**
 * What Nest's exception layer hands back: our filter rethrows ModelTrailErrors (and turns the
 * rest into InternalError); without it, Nest's default filter yields `{ status: 'error', message }`.
 */
function fromNestError(error: unknown, subject: string): unknown {
  if (error instanceof ModelTrailError) return error;
  if (isErrorPayload(error)) return errorFromPayload(error);
  if (typeof error === 'object' && error !== null && (error as { status?: unknown }).status === 'error') {
    // Already logged by Nest's BaseRpcExceptionFilter.
    return new InternalError(`internal error while handling ${subject}`);
  }
  return error;
}
