import type { DeliveryInfo, JetStreamPublishOptions, Msg, NatsConnection, OrderedConsumerOptions, PubAck, PublishOptions, RequestOptions, ServerInfo, Status, StreamConfig, StreamState, StreamUpdateConfig, Subscription, SubscriptionOptions } from 'nats';
import { connectInProcessBus, isInProcessBusUrl } from './in-process-bus';
import { connectNats, drainAndClose, type ConnectNatsOptions } from './nats.connection';

/**
 * The messaging port: the part of a NATS connection the platform's services, agent and gateway
 * use (core publish/subscribe and request/reply with headers, and the JetStream telemetry stream
 * of live progress). Two adapters implement it: a real NATS connection (nats.js satisfies this
 * interface as it is), and the in-process bus of the one-process composition
 * (`in-process-bus.ts`). Code written against `MessageBus` runs unchanged on either; the
 * compiler keeps it to this subset. The relay and DurableConsumer use more of JetStream and stay
 * on `NatsConnection`: they exist only where there is a NATS server.
 */
export interface MessageBus {
  /** The server's limits; `max_payload` bounds one message (headers included). */
  readonly info?: Pick<ServerInfo, 'max_payload'>;
  publish(subject: string, payload?: Uint8Array, options?: PublishOptions): void;
  subscribe(subject: string, options?: SubscriptionOptions): Subscription;
  request(subject: string, payload?: Uint8Array, options?: RequestOptions): Promise<Msg>;
  /** Resolves once everything published before the call has reached the server (in process: its subscribers' queues). */
  flush(): Promise<void>;
  drain(): Promise<void>;
  close(): Promise<void>;
  closed(): Promise<void | Error>;
  isClosed(): boolean;
  isDraining(): boolean;
  status(): AsyncIterable<Status>;
  jetstream(): BusJetStream;
  jetstreamManager(): Promise<BusJetStreamManager>;
}

/** A JetStream message as a consumer of the telemetry stream reads it. */
export interface BusJsMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly info: Pick<DeliveryInfo, 'streamSequence' | 'pending'>;
}

export interface BusConsumerMessages extends AsyncIterable<BusJsMsg> {
  close(): Promise<void | Error>;
}

/** An ordered (ephemeral) consumer. */
export interface BusConsumer {
  consume(): Promise<BusConsumerMessages>;
  delete(): Promise<boolean>;
}

export interface BusJetStream {
  publish(subject: string, payload?: Uint8Array, options?: Partial<JetStreamPublishOptions>): Promise<PubAck>;
  consumers: {
    /** Without a consumer name: an ordered consumer with these options. */
    get(stream: string, options?: Partial<OrderedConsumerOptions>): Promise<BusConsumer>;
  };
}

export interface BusStreamInfo {
  config: StreamConfig;
  state: Pick<StreamState, 'messages' | 'bytes' | 'first_seq' | 'last_seq' | 'consumer_count'>;
}

export interface BusJetStreamManager {
  streams: {
    info(name: string): Promise<BusStreamInfo>;
    add(config: Partial<StreamConfig>): Promise<BusStreamInfo>;
    update(name: string, config: Partial<StreamUpdateConfig>): Promise<BusStreamInfo>;
    delete(name: string): Promise<boolean>;
  };
}

/** A bus connection plus the shutdown that does not lose in-flight messages. */
export interface ManagedBus {
  readonly nc: MessageBus;
  /** Drains every subscription, delivers what is pending and waits until the connection is closed. */
  close(): Promise<void>;
}

/**
 * Connects to the messaging port named by `options.url`: the in-process bus for
 * `in-process://<name>` (only the one-process composition sets it: NATS_URL accepts NATS URLs
 * alone), a NATS server otherwise (connectNats: reconnects for ever, fails at once naming the URL).
 */
export async function connectBus(options: ConnectNatsOptions): Promise<ManagedBus> {
  if (typeof options.url === 'string' && isInProcessBusUrl(options.url)) {
    const nc = connectInProcessBus(options.url, options.name);
    return { nc, close: () => drainAndClose(nc) };
  }
  return connectNats(options);
}

/** Compile-time proof that a nats.js connection is a MessageBus (the build fails if an upgrade breaks it). */
type Implements<T extends MessageBus> = T;
export type NatsConnectionIsMessageBus = Implements<NatsConnection>;
