import { createInbox, ErrorCode as NatsErrorCode, type Msg, type MsgHdrs, type NatsError, type Subscription } from 'nats';
import {
  errorFromPayload,
  formatIssuePath,
  InternalError,
  UnavailableError,
  ValidationError,
  type MessageHeaders,
  type RpcDefinition,
  type RpcRequest,
  type RpcReply,
  withNamespace,
} from '@modeltrail/contracts';
import { context, injectTraceContext, outcomeOf, rpcClientDuration, SpanKind, SpanStatusCode, trace, tracer } from '@modeltrail/observability';
import type { MessageBus } from './bus';
import { ActorSigner, HEADER_CREDENTIAL, HEADER_SIGNATURE } from './actor-auth';
import { toNatsHeaders } from './headers';
import { decodeJson, encodeJson, isErrorPayload, type RpcReplyEnvelope } from './rpc.envelope';

export interface RpcRequestOptions {
  headers: MessageHeaders;
  /** Defaults to the longer of the client's `timeoutMs` and the definition's own. */
  timeoutMs?: number;
}

export interface RpcClientOptions {
  /** Timeout of a request that names none (default 5000 ms). */
  timeoutMs?: number;
  /** Subject namespace of the installation (see withNamespace); must match the responders'. */
  namespace?: string;
  /**
   * The actor signing key (requireActorSigningKey(config)): every request then carries an
   * `Mt-Signature` over its subject, headers and body, which responders require. Every platform
   * process signs; only an agent with its own credential does not.
   */
  signingKey?: Buffer;
  /**
   * An agent's own credential (its AGENT API key), sent as `Mt-Credential` instead of a signature:
   * accepted only by definitions agents may call, which then act as the key's principal.
   */
  credential?: string;
}

/** Room left in a message for its headers (actor, correlation and command ids, reply subject). */
const HEADER_ALLOWANCE = 4_096;
const kib = (bytes: number) => Math.ceil(bytes / 1024).toLocaleString('en-US');

/**
 * The requesting side of a command or query (docs/architecture.md: Messaging). The payload goes out as JSON without
 * checks (the responder validates it); the reply is parsed with the definition's reply schema,
 * or the responder's error comes back as the same typed error (NotFoundError, ConflictError...).
 * Timeouts and "no responders" are UnavailableError naming the subject.
 */
export class RpcClient {
  private readonly defaultTimeoutMs: number;
  private readonly namespace: string | undefined;
  private readonly signer: ActorSigner | null;
  private readonly credential: string | null;

  constructor(
    private readonly nc: MessageBus,
    options: RpcClientOptions = {},
  ) {
    this.defaultTimeoutMs = options.timeoutMs ?? 5000;
    this.namespace = options.namespace;
    withNamespace(this.namespace, ''); // validates the namespace once
    if (options.signingKey && options.credential) throw new Error('an RpcClient signs with the actor signing key or sends a credential, not both');
    this.signer = options.signingKey ? new ActorSigner(options.signingKey) : null;
    if (options.credential !== undefined && (!options.credential || /[\r\n]/.test(options.credential))) throw new Error('the credential must be a non-empty single line');
    this.credential = options.credential ?? null;
  }

  /**
   * Sends one request in a CLIENT span `rpc <subject>` whose W3C trace context travels in the
   * request's headers (`traceparent`), and counts it in modeltrail_rpc_client_duration_seconds.
   */
  async request<D extends RpcDefinition>(def: D, payload: RpcRequest<D>, options: RpcRequestOptions): Promise<RpcReply<D>> {
    const started = process.hrtime.bigint();
    const span = tracer().startSpan(`rpc ${def.subject}`, { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'nats', 'rpc.method': def.subject, 'messaging.destination.name': def.subject } });
    let outcome = 'ok';
    try {
      return await this.send(def, payload, options, trace.setSpan(context.active(), span));
    } catch (error) {
      outcome = outcomeOf(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      throw error;
    } finally {
      rpcClientDuration.observe({ subject: def.subject, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      span.end();
    }
  }

  private async send<D extends RpcDefinition>(def: D, payload: RpcRequest<D>, options: RpcRequestOptions, spanContext: ReturnType<typeof context.active>): Promise<RpcReply<D>> {
    const timeoutMs = options.timeoutMs ?? Math.max(def.timeoutMs ?? 0, this.defaultTimeoutMs);
    const headers = toNatsHeaders(options.headers);
    injectTraceContext(headers, spanContext);
    let body: Uint8Array;
    try {
      body = encodeJson(payload);
    } catch (error) {
      throw new ValidationError(`request to ${def.subject} cannot be serialised as JSON: ${(error as Error).message}`);
    }
    // The server refuses a message over its max_payload; say so in the caller's terms, before sending.
    const maxPayload = this.nc.info?.max_payload;
    if (maxPayload !== undefined && body.length + HEADER_ALLOWANCE > maxPayload) {
      throw new ValidationError(
        `request to ${def.subject} is ${kib(body.length)} KiB, more than the ${kib(maxPayload - HEADER_ALLOWANCE)} KiB one message may carry (the NATS server's max_payload): send fewer items per call, or large data as a file`,
        { size: body.length, maxPayload },
      );
    }
    const subject = withNamespace(this.namespace, def.subject);
    if (this.signer) headers.set(HEADER_SIGNATURE, this.signer.sign(subject, options.headers, body));
    else if (this.credential) headers.set(HEADER_CREDENTIAL, this.credential);
    let raw: Uint8Array;
    try {
      raw = await replyInboxOf(this.nc).request(subject, body, headers, timeoutMs);
    } catch (error) {
      throw transportError(error, def.subject, timeoutMs);
    }
    const envelope = readEnvelope(raw, def.subject);
    if (!envelope.ok) throw errorFromPayload(envelope.error);
    const parsed = def.reply.safeParse(envelope.data);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ field: formatIssuePath(issue.path), message: issue.message }));
      throw new InternalError(`reply of ${def.subject} does not match its schema`, { issues });
    }
    return parsed.data as RpcReply<D>;
  }
}

/** A request in flight: settled by its reply, its timer, or the end of the connection. */
interface PendingReply {
  resolve(data: Uint8Array): void;
  reject(error: { code: string; message?: string }): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The replies of every RpcClient on one connection, on one wildcard inbox subscription
 * (`_INBOX.<id>.*`), as `nc.request` does — but without the three Error objects (and stack
 * captures) nats.js makes for every request, which cost more than the rest of a request's
 * client-side work. "No responders" (a 503 status with no payload), timeouts and a closed or
 * draining connection fail the request with the same NATS error codes as `nc.request`.
 */
class ReplyInbox {
  private readonly prefix: string;
  private readonly pending = new Map<string, PendingReply>();
  private readonly subscription: Subscription;
  private sequence = 0;

  constructor(private readonly nc: MessageBus) {
    const inboxPrefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    this.prefix = `${createInbox(inboxPrefix)}.`;
    this.subscription = nc.subscribe(`${this.prefix}*`, { callback: (error, msg) => (error ? undefined : this.receive(msg)) });
    void nc.closed().then(() => this.failAll(NatsErrorCode.ConnectionClosed));
  }

  request(subject: string, body: Uint8Array, headers: MsgHdrs, timeoutMs: number): Promise<Uint8Array> {
    if (this.nc.isClosed() || this.subscription.isClosed()) return Promise.reject({ code: NatsErrorCode.ConnectionClosed });
    if (this.nc.isDraining()) return Promise.reject({ code: NatsErrorCode.ConnectionDraining });
    const token = (this.sequence++).toString(36);
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject({ code: NatsErrorCode.Timeout });
      }, timeoutMs);
      this.pending.set(token, { resolve, reject, timer });
      try {
        this.nc.publish(subject, body, { reply: this.prefix + token, headers });
      } catch (error) {
        clearTimeout(timer);
        this.pending.delete(token);
        reject(error);
      }
    });
  }

  private receive(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const pending = this.pending.get(token);
    if (!pending) return; // timed out already
    this.pending.delete(token);
    clearTimeout(pending.timer);
    if (msg.data.length === 0 && msg.headers?.code === 503) pending.reject({ code: NatsErrorCode.NoResponders });
    else pending.resolve(msg.data);
  }

  private failAll(code: string): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject({ code });
    }
    this.pending.clear();
  }
}

const replyInboxes = new WeakMap<MessageBus, ReplyInbox>();

function replyInboxOf(nc: MessageBus): ReplyInbox {
  let inbox = replyInboxes.get(nc);
  if (!inbox) replyInboxes.set(nc, (inbox = new ReplyInbox(nc)));
  return inbox;
}

function transportError(error: unknown, subject: string, timeoutMs: number): Error {
  const code = (error as Partial<NatsError>)?.code;
  switch (code) {
    case NatsErrorCode.NoResponders:
      return new UnavailableError(`no service answers ${subject} (no responders)`, { subject });
    case NatsErrorCode.Timeout:
      return new UnavailableError(`request to ${subject} timed out after ${timeoutMs} ms`, { subject, timeoutMs });
    case NatsErrorCode.ConnectionClosed:
    case NatsErrorCode.ConnectionDraining:
    case NatsErrorCode.Disconnect:
      return new UnavailableError(`request to ${subject} failed: the NATS connection is ${code === NatsErrorCode.ConnectionDraining ? 'draining' : 'closed'}`, { subject });
    default:
      return new UnavailableError(`request to ${subject} failed: ${error instanceof Error ? error.message : String(error)}`, { subject });
  }
}

function readEnvelope(raw: Uint8Array, subject: string): RpcReplyEnvelope {
  let value: unknown;
  try {
    value = decodeJson(raw);
  } catch {
    throw new InternalError(`reply of ${subject} is not valid JSON`);
  }
  if (typeof value === 'object' && value !== null && 'ok' in value) {
    const envelope = value as { ok: unknown; data?: unknown; error?: unknown };
    if (envelope.ok === true) return { ok: true, data: envelope.data };
    if (envelope.ok === false && isErrorPayload(envelope.error)) return { ok: false, error: envelope.error };
  }
  throw new InternalError(`reply of ${subject} is not a ModelTrail reply envelope`);
}
