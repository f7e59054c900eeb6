import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** A GraphQL response as the wire carries it. */
export interface GraphQLResponse<D = Record<string, any>> {
  status: number;
  headers: Headers;
  data?: D | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
  /** The raw body, to check that nothing (a stack trace) leaks. */
  text: string;
}

export interface RequestOptions {
  /** The bearer token; `null` sends no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
}

/** Drives the gateway over HTTP with fetch, as a portal would. */
export class GraphQLHttpClient {
  constructor(
    readonly url: string,
    private readonly defaultToken: string,
  ) {}

  async request<D = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, options: RequestOptions = {}): Promise<GraphQLResponse<D>> {
    const token = options.token === undefined ? this.defaultToken : options.token;
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...options.headers },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    const body = JSON.parse(text) as Omit<GraphQLResponse<D>, 'status' | 'headers' | 'text'>;
    return { status: response.status, headers: response.headers, text, ...body };
  }

  /** The data of a request that must succeed; its errors otherwise fail the test with their messages. */
  async data<D = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, options: RequestOptions = {}): Promise<D> {
    const response = await this.request<D>(query, variables, options);
    if (response.errors?.length || !response.data) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors ?? response.text)}`);
    return response.data;
  }
}

/** How a graphql-ws connection ended, when the server closed it. */
export interface Closed {
  code: number;
  reason: string;
}

/** A graphql-ws client over `ws` that does not retry, so a refusal reaches the test. */
export function webSocketClient(url: string, connectionParams: Record<string, unknown> | undefined, onClosed?: (closed: Closed) => void): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: true,
    retryAttempts: 0,
    on: {
      closed: (event) => {
        const e = event as { code?: number; reason?: string };
        onClosed?.({ code: e.code ?? 0, reason: String(e.reason ?? '') });
      },
    },
  });
}

/**
 * A subscription as a queue of its messages: `next()` waits for the next one (or fails after
 * `timeoutMs`), `error` is set when the server sent an error or closed the socket.
 */
export class SubscriptionQueue<T = Record<string, any>> {
  private readonly items: Array<{ data?: T | null; errors?: ReadonlyArray<{ message: string; extensions?: Record<string, any> }> }> = [];
  private waiters: Array<() => void> = [];
  error: unknown;
  completed = false;
  readonly dispose: () => void;

  constructor(client: Client, query: string, variables: Record<string, unknown> = {}) {
    this.dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => this.push(() => this.items.push(value as { data?: T | null; errors?: ReadonlyArray<{ message: string; extensions?: Record<string, any> }> })),
        error: (error) => this.push(() => (this.error = error)),
        complete: () => this.push(() => (this.completed = true)),
      },
    );
  }

  async next(timeoutMs = 10_000): Promise<{ data?: T | null; errors?: ReadonlyArray<{ message: string; extensions?: Record<string, any> }> }> {
    const deadline = Date.now() + timeoutMs;
    while (this.items.length === 0) {
      if (this.error !== undefined) throw new Error(`subscription failed: ${describe(this.error)}`);
      if (this.completed) throw new Error('subscription completed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no subscription message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.items.shift()!;
  }

  /** Messages received and not yet taken. */
  get pending(): number {
    return this.items.length;
  }

  /**
   * The values of `field` from every message, taken as they come, until `done(values so far)`
   * holds; fails at once on a GraphQL error in a message or a failed subscription, and after
   * `timeoutMs` otherwise.
   */
  async collectUntil<V = any>(field: string, done: (values: V[]) => boolean, timeoutMs = 30_000): Promise<V[]> {
    const values: V[] = [];
    const deadline = Date.now() + timeoutMs;
    while (!done(values)) {
      const message = await this.next(Math.max(deadline - Date.now(), 1));
      if (message.errors) throw new Error(`${field} errors: ${JSON.stringify(message.errors)}`);
      values.push((message.data as Record<string, V>)[field]);
    }
    return values;
  }

  /** Resolves when the server ended the subscription with an error or a close. */
  async failure(timeoutMs = 10_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (this.error === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the subscription did not fail within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.error;
  }

  private push(update: () => void): void {
    update();
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'code' in error) return `closed ${(error as { code: number }).code} ${(error as { reason?: string }).reason ?? ''}`;
  return JSON.stringify(error);
}
