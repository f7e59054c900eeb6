import { DeliverPolicy, ErrorCode, headers as natsHeaders, type JetStreamPublishOptions, type Msg, type MsgHdrs, NatsError, type OrderedConsumerOptions, type PubAck, type PublishOptions, type RequestOptions, type Status, type StreamConfig, type StreamUpdateConfig, type Subscription, type SubscriptionOptions } from 'nats';
import type { BusConsumer, BusConsumerMessages, BusJetStream, BusJetStreamManager, BusJsMsg, BusStreamInfo, MessageBus } from './bus';

/**
 * The in-process implementation of the messaging port (`MessageBus`), for the one-process
 * composition (`npm start` without a NATS server): every service, the agent and the gateway
 * connect to one broker in the same Node process, and the code that talks to NATS in the
 * services topology runs unchanged on it. It keeps NATS's semantics where the platform relies on
 * them:
 * - subjects of dot-separated tokens, `*` and `>` wildcards, queue groups (one member of each
 *   group gets a message, picked at random; plain subscribers all get it);
 * - delivery is asynchronous, in publish order per subscriber, never inside `publish()`;
 * - a request nobody subscribes to gets the 503 "no responders" status at once, and a request
 *   without a reply in time fails with TIMEOUT: the same NatsError codes, so RpcClient's typed
 *   errors (UnavailableError naming the subject) are the same on both;
 * - `max_payload` of 1 MiB, NATS's default, so an oversized request is refused the same way;
 * - JetStream for the telemetry stream of live progress: streams with subjects and limits
 *   (messages per subject, age, bytes), de-duplication by `msgID`, publishes that reach core
 *   subscribers too, and ordered consumers that replay what is stored, then follow.
 * What it does not keep is anything across a restart: the telemetry stream is memory only, at
 * most IN_PROCESS_STREAM_MAX_BYTES, oldest dropped first (the durable record of a job is the
 * event store and the metrics table), and there is no server for another process to reach.
 */

/** `in-process://<name>`: the URL the one-process composition gives every module instead of NATS_URL. */
export const IN_PROCESS_BUS_URL = 'in-process://modeltrail';
const SCHEME = 'in-process://';

export function isInProcessBusUrl(url: string): boolean {
  return url.startsWith(SCHEME);
}

/** NATS's default max_payload: what one message may carry. */
const MAX_PAYLOAD = 1024 * 1024;

const brokers = new Map<string, InProcessBroker>();

/** A new connection to the broker named by `url` (made on first use, kept until closeInProcessBus). */
export function connectInProcessBus(url: string, name = 'client'): MessageBus {
  if (!isInProcessBusUrl(url)) throw new Error(`not an in-process bus URL: ${url}`);
  const key = url.slice(SCHEME.length) || 'default';
  let broker = brokers.get(key);
  if (!broker) brokers.set(key, (broker = new InProcessBroker(key)));
  return broker.connect(name);
}

/** Closes every connection of the broker named by `url` and forgets it (its streams included). */
export async function closeInProcessBus(url: string): Promise<void> {
  const key = url.slice(SCHEME.length) || 'default';
  const broker = brokers.get(key);
  brokers.delete(key);
  await broker?.close();
}

function natsError(code: ErrorCode | string, message: string): NatsError {
  return new NatsError(message, code);
}

/** A JetStream API error as nats.js throws it (isJetStreamNotFound reads `api_error.code`). */
function apiError(code: number, errCode: number, description: string): NatsError {
  const error = natsError(String(code), description);
  error.api_error = { code, err_code: errCode, description };
  return error;
}

function checkSubject(subject: string, wildcards: boolean): string[] {
  const tokens = subject.split('.');
  const bad =
    !subject ||
    /\s/.test(subject) ||
    tokens.some((token, index) => !token || (!wildcards && (token === '*' || token === '>')) || (token === '>' && index !== tokens.length - 1));
  if (bad) throw natsError(ErrorCode.BadSubject, `bad subject "${subject}"`);
  return tokens;
}

function matches(pattern: string[], subject: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const token = pattern[i];
    if (token === '>') return subject.length > i;
    if (i >= subject.length) return false;
    if (token !== '*' && token !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}

function payloadOf(payload: Uint8Array | string | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  // A copy, as the wire would make: a publisher reusing its buffer cannot change what was sent.
  return typeof payload === 'string' ? new TextEncoder().encode(payload) : payload.slice();
}

class LocalMsg implements Msg {
  constructor(
    private readonly connection: InProcessConnection,
    readonly subject: string,
    readonly sid: number,
    readonly data: Uint8Array,
    readonly reply?: string,
    readonly headers?: MsgHdrs,
  ) {}

  respond(payload?: Uint8Array | string, options?: PublishOptions): boolean {
    if (!this.reply) return false;
    this.connection.publish(this.reply, typeof payload === 'string' ? new TextEncoder().encode(payload) : payload, options);
    return true;
  }

  json<T>(): T {
    return JSON.parse(this.string()) as T;
  }

  string(): string {
    return new TextDecoder().decode(this.data);
  }
}

class LocalSubscription implements Subscription {
  readonly closed: Promise<void>;
  readonly tokens: string[];
  private resolveClosed!: () => void;
  private received = 0;
  private processed = 0;
  private max: number | undefined;
  private draining = false;
  private done = false;
  /** Messages waiting for the iterator (subscriptions without a callback). */
  private readonly buffer: Msg[] = [];
  private readonly waiting: Array<(result: IteratorResult<Msg>) => void> = [];
  private readonly userCallback: SubscriptionOptions['callback'];

  constructor(
    readonly connection: InProcessConnection,
    readonly sid: number,
    private readonly subject: string,
    readonly queue: string | undefined,
    options: SubscriptionOptions,
  ) {
    this.tokens = checkSubject(subject, true);
    this.max = options.max;
    this.userCallback = options.callback;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Called by the broker, already asynchronously, in publish order. */
  deliver(msg: Msg): void {
    if (this.done) return;
    this.received++;
    if (this.userCallback) {
      this.processed++;
      try {
        this.userCallback(null, msg);
      } catch (error) {
        // As nats.js does with a throwing callback: the subscription survives; say so.
        console.error(`in-process bus: a subscriber of ${this.subject} threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    } else {
      const waiter = this.waiting.shift();
      if (waiter) {
        this.processed++;
        waiter({ done: false, value: msg });
      } else {
        this.buffer.push(msg);
      }
    }
    if (this.max !== undefined && this.received >= this.max) this.finish();
  }

  callback(error: NatsError | null, msg: Msg): void {
    this.userCallback?.(error, msg);
  }

  unsubscribe(max?: number): void {
    if (this.done) return;
    if (max !== undefined && max > this.received) {
      this.max = max;
      return;
    }
    this.finish();
  }

  async drain(): Promise<void> {
    if (this.done) return;
    if (this.connection.isClosed()) throw natsError(ErrorCode.ConnectionClosed, 'connection closed');
    this.draining = true;
    // Whatever was published before the drain still arrives; nothing after it.
    await this.connection.flush();
    this.finish();
  }

  isDraining(): boolean {
    return this.draining && !this.done;
  }

  isClosed(): boolean {
    return this.done;
  }

  getSubject(): string {
    return this.subject;
  }

  getReceived(): number {
    return this.received;
  }

  getProcessed(): number {
    return this.processed;
  }

  getPending(): number {
    return this.buffer.length;
  }

  getID(): number {
    return this.sid;
  }

  getMax(): number | undefined {
    return this.max;
  }

  [Symbol.asyncIterator](): AsyncIterator<Msg> {
    if (this.userCallback) throw natsError(ErrorCode.ApiError, 'a subscription with a callback cannot be iterated');
    return {
      next: () => {
        const msg = this.buffer.shift();
        if (msg) {
          this.processed++;
          return Promise.resolve({ done: false, value: msg });
        }
        if (this.done) return Promise.resolve({ done: true, value: undefined });
        return new Promise<IteratorResult<Msg>>((resolve) => this.waiting.push(resolve));
      },
      return: () => {
        this.unsubscribe();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** Stops receiving; an iterator ends once it has read what was already delivered. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.connection.forget(this);
    for (const waiter of this.waiting.splice(0)) waiter({ done: true, value: undefined });
    this.resolveClosed();
  }
}

interface StoredMessage {
  seq: number;
  subject: string;
  tokens: string[];
  data: Uint8Array;
  time: number;
}

const NANOS_PER_MS = 1_000_000;
/**
 * What one in-memory stream may hold at most, whatever its max_bytes says: a NATS server keeps
 * the telemetry stream on disk (1 GiB by default), this process would keep it in its heap.
 */
export const IN_PROCESS_STREAM_MAX_BYTES = 64 * 1024 * 1024;

/** One JetStream stream, in memory, with the limits the platform sets. */
class LocalStream {
  config: StreamConfig;
  readonly messages: StoredMessage[] = [];
  private readonly perSubject = new Map<string, number>();
  private readonly recentIds = new Map<string, { seq: number; time: number }>();
  private bytes = 0;
  private lastSeq = 0;
  readonly consumers = new Set<LocalOrderedConsumer>();
  patterns: string[][];

  constructor(config: StreamConfig) {
    this.config = config;
    this.patterns = config.subjects.map((subject) => checkSubject(subject, true));
  }

  captures(tokens: string[]): boolean {
    return this.patterns.some((pattern) => matches(pattern, tokens));
  }

  info(): BusStreamInfo {
    this.expire(Date.now());
    return {
      config: { ...this.config, subjects: [...this.config.subjects] },
      state: { messages: this.messages.length, bytes: this.bytes, first_seq: this.messages[0]?.seq ?? this.lastSeq + 1, last_seq: this.lastSeq, consumer_count: this.consumers.size },
    };
  }

  store(subject: string, tokens: string[], data: Uint8Array, msgId: string | undefined): PubAck {
    const now = Date.now();
    this.expire(now);
    const windowMs = (this.config.duplicate_window || 120_000 * NANOS_PER_MS) / NANOS_PER_MS;
    if (msgId) {
      const seen = this.recentIds.get(msgId);
      if (seen && now - seen.time < windowMs) return { stream: this.config.name, seq: seen.seq, duplicate: true } as PubAck;
    }
    const message: StoredMessage = { seq: ++this.lastSeq, subject, tokens, data, time: now };
    this.messages.push(message);
    this.bytes += data.length + subject.length;
    this.perSubject.set(subject, (this.perSubject.get(subject) ?? 0) + 1);
    if (msgId) this.recentIds.set(msgId, { seq: message.seq, time: now });
    for (const [id, seen] of this.recentIds) {
      if (now - seen.time < windowMs) break;
      this.recentIds.delete(id);
    }
    this.enforceLimits(subject);
    for (const consumer of this.consumers) consumer.offer(message);
    return { stream: this.config.name, seq: message.seq, duplicate: false } as PubAck;
  }

  private enforceLimits(subject: string): void {
    const perSubject = this.config.max_msgs_per_subject;
    if (perSubject > 0 && (this.perSubject.get(subject) ?? 0) > perSubject) {
      const index = this.messages.findIndex((message) => message.subject === subject);
      if (index >= 0) this.drop(index);
    }
    const maxBytes = Math.min(this.config.max_bytes > 0 ? this.config.max_bytes : Infinity, IN_PROCESS_STREAM_MAX_BYTES);
    while (this.bytes > maxBytes && this.messages.length > 0) this.drop(0);
    while (this.config.max_msgs > 0 && this.messages.length > this.config.max_msgs) this.drop(0);
  }

  private expire(now: number): void {
    const maxAgeMs = (this.config.max_age || 0) / NANOS_PER_MS;
    if (maxAgeMs <= 0) return;
    while (this.messages.length > 0 && now - this.messages[0].time > maxAgeMs) this.drop(0);
  }

  private drop(index: number): void {
    const [message] = this.messages.splice(index, 1);
    this.bytes -= message.data.length + message.subject.length;
    const left = (this.perSubject.get(message.subject) ?? 1) - 1;
    if (left > 0) this.perSubject.set(message.subject, left);
    else this.perSubject.delete(message.subject);
  }

  close(): void {
    for (const consumer of this.consumers) consumer.end();
    this.consumers.clear();
  }
}

/**
 * An ordered consumer: what the stream holds (DeliverPolicy.All, the default) or only what comes
 * after (DeliverPolicy.New), filtered by subject, in stream order; `info.pending` is what the
 * consumer has not delivered yet, as the server reports it.
 */
class LocalOrderedConsumer implements BusConsumer {
  private readonly queue: StoredMessage[] = [];
  private readonly waiting: Array<(result: IteratorResult<BusJsMsg>) => void> = [];
  private readonly filters: string[][];
  private consuming = false;
  private ended = false;

  constructor(
    private readonly stream: LocalStream,
    options: Partial<OrderedConsumerOptions>,
  ) {
    const filters = options.filterSubjects === undefined ? [] : Array.isArray(options.filterSubjects) ? options.filterSubjects : [options.filterSubjects];
    this.filters = filters.map((subject) => checkSubject(subject, true));
    const policy = options.deliver_policy ?? DeliverPolicy.All;
    if (policy !== DeliverPolicy.All && policy !== DeliverPolicy.New) {
      throw natsError(ErrorCode.InvalidOption, `the in-process bus supports ordered consumers that deliver all or new messages, not "${policy}"`);
    }
    if (policy === DeliverPolicy.All) this.queue.push(...stream.messages.filter((message) => this.wants(message)));
    stream.consumers.add(this);
  }

  private wants(message: StoredMessage): boolean {
    return this.filters.length === 0 || this.filters.some((filter) => matches(filter, message.tokens));
  }

  offer(message: StoredMessage): void {
    if (this.ended || !this.wants(message)) return;
    // Asynchronous, as from the server: never inside the publisher's call.
    this.queue.push(message);
    setImmediate(() => this.pump());
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.queue.length > 0) this.waiting.shift()!(this.next());
  }

  private next(): IteratorResult<BusJsMsg> {
    const message = this.queue.shift()!;
    return { done: false, value: { subject: message.subject, data: message.data, info: { streamSequence: message.seq, pending: this.queue.length } } };
  }

  async consume(): Promise<BusConsumerMessages> {
    if (this.consuming) throw natsError(ErrorCode.ApiError, 'an ordered consumer is consumed once');
    this.consuming = true;
    const iterator: AsyncIterator<BusJsMsg> = {
      next: () => {
        if (this.queue.length > 0) return Promise.resolve(this.next());
        if (this.ended) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => this.waiting.push(resolve));
      },
      return: async () => {
        this.end();
        return { done: true, value: undefined };
      },
    };
    return {
      [Symbol.asyncIterator]: () => iterator,
      close: async () => this.end(),
    };
  }

  async delete(): Promise<boolean> {
    const existed = !this.ended;
    this.end();
    return existed;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.consumers.delete(this);
    this.queue.length = 0;
    for (const waiter of this.waiting.splice(0)) waiter({ done: true, value: undefined });
  }
}

interface Delivery {
  subscription: LocalSubscription;
  msg: Msg;
}

/** The broker: subscriptions of every connection, the streams, and the delivery queue. */
class InProcessBroker {
  private readonly subscriptions = new Set<LocalSubscription>();
  private readonly connections = new Set<InProcessConnection>();
  readonly streams = new Map<string, LocalStream>();
  private pending: Delivery[] = [];
  private scheduled = false;
  /** Deliveries queued and handed over so far: a flush waits for those queued before it. */
  private enqueued = 0;
  private delivered = 0;
  private readonly flushed: Array<{ through: number; resolve: () => void }> = [];
  private nextSid = 1;

  constructor(readonly name: string) {}

  connect(clientName: string): InProcessConnection {
    const connection = new InProcessConnection(this, clientName);
    this.connections.add(connection);
    void connection.closed().then(() => this.connections.delete(connection));
    return connection;
  }

  sid(): number {
    return this.nextSid++;
  }

  add(subscription: LocalSubscription): void {
    this.subscriptions.add(subscription);
  }

  remove(subscription: LocalSubscription): void {
    this.subscriptions.delete(subscription);
  }

  /** Routes one message to its subscribers: all plain ones, one member of each queue group. */
  route(subject: string, data: Uint8Array, reply: string | undefined, headers: MsgHdrs | undefined): void {
    const tokens = checkSubject(subject, false);
    const groups = new Map<string, LocalSubscription[]>();
    let any = false;
    for (const subscription of this.subscriptions) {
      if (!matches(subscription.tokens, tokens)) continue;
      any = true;
      if (subscription.queue) {
        const members = groups.get(subscription.queue);
        if (members) members.push(subscription);
        else groups.set(subscription.queue, [subscription]);
      } else {
        this.enqueue(subscription, subject, data, reply, headers);
      }
    }
    for (const members of groups.values()) this.enqueue(members[Math.floor(Math.random() * members.length)], subject, data, reply, headers);
    // A request nobody listens to: the server answers with the 503 status at once.
    if (!any && reply) this.route(reply, new Uint8Array(0), undefined, natsHeaders(503, 'No Responders'));
  }

  private enqueue(subscription: LocalSubscription, subject: string, data: Uint8Array, reply: string | undefined, headers: MsgHdrs | undefined): void {
    this.pending.push({ subscription, msg: new LocalMsg(subscription.connection, subject, subscription.sid, data, reply, headers) });
    this.enqueued++;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (const { subscription, msg } of batch) {
      this.delivered++;
      subscription.deliver(msg);
    }
    if (this.pending.length > 0) this.schedule();
    // Messages published by the subscribers just now do not hold back a flush made before them.
    while (this.flushed.length > 0 && this.flushed[0].through <= this.delivered) this.flushed.shift()!.resolve();
  }

  /**
   * Resolves once every message published before the call has been handed to its subscribers
   * (what a NATS flush promises: the server has them), however busy the bus stays after it.
   */
  flush(): Promise<void> {
    if (this.delivered >= this.enqueued) return new Promise((resolve) => setImmediate(resolve));
    const through = this.enqueued;
    return new Promise((resolve) => this.flushed.push({ through, resolve }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections].map((connection) => connection.close()));
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
  }
}

/** One client of the broker: its own subscriptions, drained or closed on its own. */
class InProcessConnection implements MessageBus {
  readonly info = { max_payload: MAX_PAYLOAD };
  private readonly subscriptions = new Set<LocalSubscription>();
  private state: 'open' | 'draining' | 'closed' = 'open';
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly broker: InProcessBroker,
    readonly name: string,
  ) {
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  publish(subject: string, payload?: Uint8Array, options?: PublishOptions): void {
    if (this.state === 'closed') throw natsError(ErrorCode.ConnectionClosed, 'connection closed');
    const data = payloadOf(payload);
    if (data.length > MAX_PAYLOAD) throw natsError(ErrorCode.MaxPayloadExceeded, `message size exceeds maximum allowed payload of ${MAX_PAYLOAD} bytes`);
    this.broker.route(subject, data, options?.reply, options?.headers);
  }

  subscribe(subject: string, options: SubscriptionOptions = {}): Subscription {
    if (this.state === 'closed') throw natsError(ErrorCode.ConnectionClosed, 'connection closed');
    if (this.state === 'draining') throw natsError(ErrorCode.ConnectionDraining, 'connection draining');
    if (options.timeout !== undefined) throw natsError(ErrorCode.InvalidOption, 'the in-process bus does not support subscription timeouts');
    const subscription = new LocalSubscription(this, this.broker.sid(), subject, options.queue, options);
    this.subscriptions.add(subscription);
    this.broker.add(subscription);
    return subscription;
  }

  async request(subject: string, payload?: Uint8Array, options: RequestOptions = { timeout: 1000 }): Promise<Msg> {
    if (this.state === 'closed') throw natsError(ErrorCode.ConnectionClosed, 'connection closed');
    if (this.state === 'draining') throw natsError(ErrorCode.ConnectionDraining, 'connection draining');
    const inbox = `_INBOX.${this.broker.name}.${this.broker.sid().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    const replies = this.subscribe(inbox, { max: 1 });
    const iterator = replies[Symbol.asyncIterator]();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(natsError(ErrorCode.Timeout, 'TIMEOUT'));
      }, options.timeout);
    });
    try {
      this.publish(subject, payload, { reply: inbox, headers: options.headers });
      const reply = await Promise.race([iterator.next(), timeout]);
      // The inbox ends when the connection closes; a timeout is a timeout even if both came at once.
      if (reply.done) throw timedOut ? natsError(ErrorCode.Timeout, 'TIMEOUT') : natsError(ErrorCode.ConnectionClosed, 'connection closed');
      if (reply.value.data.length === 0 && reply.value.headers?.code === 503) throw natsError(ErrorCode.NoResponders, '503');
      return reply.value;
    } finally {
      clearTimeout(timer);
      replies.unsubscribe();
    }
  }

  flush(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(natsError(ErrorCode.ConnectionClosed, 'connection closed'));
    return this.broker.flush();
  }

  async drain(): Promise<void> {
    if (this.state === 'closed') throw natsError(ErrorCode.ConnectionClosed, 'connection closed');
    if (this.state === 'draining') throw natsError(ErrorCode.ConnectionDraining, 'connection draining');
    this.state = 'draining';
    await Promise.all([...this.subscriptions].map((subscription) => subscription.drain().catch(() => undefined)));
    await this.broker.flush();
    await this.close();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const subscription of [...this.subscriptions]) subscription.finish();
    this.resolveClosed();
  }

  closed(): Promise<void | Error> {
    return this.closedPromise;
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  isDraining(): boolean {
    return this.state === 'draining';
  }

  /** An in-process broker never disconnects: no status changes until the end. */
  status(): AsyncIterable<Status> {
    const closed = this.closedPromise;
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => closed.then(() => ({ done: true as const, value: undefined })),
      }),
    };
  }

  forget(subscription: LocalSubscription): void {
    this.subscriptions.delete(subscription);
    this.broker.remove(subscription);
  }

  jetstream(): BusJetStream {
    const publish = async (subject: string, payload?: Uint8Array, options?: Partial<JetStreamPublishOptions>): Promise<PubAck> => {
      if (this.state === 'closed') throw natsError(ErrorCode.ConnectionClosed, 'connection closed');
      const tokens = checkSubject(subject, false);
      const data = payloadOf(payload);
      if (data.length > MAX_PAYLOAD) throw natsError(ErrorCode.MaxPayloadExceeded, `message size exceeds maximum allowed payload of ${MAX_PAYLOAD} bytes`);
      const stream = [...this.broker.streams.values()].find((candidate) => candidate.captures(tokens));
      // As from a server: no stream captures the subject, so nobody answers the publish.
      if (!stream) throw natsError(ErrorCode.NoResponders, '503');
      const ack = stream.store(subject, tokens, data, options?.msgID);
      // Core subscribers of the subject see every publish, duplicates included, as with a server.
      this.broker.route(subject, data, undefined, options?.headers);
      return ack;
    };
    const get = async (streamName: string, options: Partial<OrderedConsumerOptions> = {}): Promise<BusConsumer> => {
      const stream = this.broker.streams.get(streamName);
      if (!stream) throw apiError(404, 10059, 'stream not found');
      return new LocalOrderedConsumer(stream, options);
    };
    return { publish, consumers: { get } };
  }

  async jetstreamManager(): Promise<BusJetStreamManager> {
    const streams = this.broker.streams;
    const existing = (name: string): LocalStream => {
      const stream = streams.get(name);
      if (!stream) throw apiError(404, 10059, 'stream not found');
      return stream;
    };
    return {
      streams: {
        info: async (name) => existing(name).info(),
        add: async (config) => {
          const full = streamConfig(config);
          const current = streams.get(full.name);
          if (current) {
            if (JSON.stringify(current.config) === JSON.stringify(full)) return current.info();
            throw apiError(400, 10058, 'stream name already in use with a different configuration');
          }
          const overlapping = [...streams.values()].find((stream) => full.subjects.some((subject) => stream.config.subjects.includes(subject)));
          if (overlapping) throw apiError(400, 10065, `subjects overlap with an existing stream (${overlapping.config.name})`);
          const stream = new LocalStream(full);
          streams.set(full.name, stream);
          return stream.info();
        },
        update: async (name, config: Partial<StreamUpdateConfig>) => {
          const stream = existing(name);
          const next = streamConfig({ ...stream.config, ...config, name });
          stream.config = next;
          stream.patterns = next.subjects.map((subject) => checkSubject(subject, true));
          return stream.info();
        },
        delete: async (name) => {
          existing(name).close();
          return streams.delete(name);
        },
      },
    };
  }
}

function streamConfig(config: Partial<StreamConfig>): StreamConfig {
  if (!config.name || /[\s.*>]/.test(config.name)) throw apiError(400, 10058, `invalid stream name "${config.name ?? ''}"`);
  if (!config.subjects?.length) throw apiError(400, 10052, 'a stream needs subjects');
  for (const subject of config.subjects) checkSubject(subject, true);
  return {
    max_msgs_per_subject: -1,
    max_msgs: -1,
    max_bytes: -1,
    max_age: 0,
    duplicate_window: 120_000 * NANOS_PER_MS,
    ...config,
    subjects: [...config.subjects],
  } as StreamConfig;
}
