import { randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { CliError, EXIT, errorFromGraphQL, errorFromNetwork, type GraphQLErrorLike } from './errors';

export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

/** Where the API is and who calls it: flags first, then MODELTRAIL_URL / MODELTRAIL_TOKEN. */
export interface Connection {
  url: string;
  token: string;
}

export function resolveConnection(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv): Connection {
  const url = flags.url ?? (env.MODELTRAIL_URL || DEFAULT_URL);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`the API URL "${url}" is not a URL (set MODELTRAIL_URL or pass --url, e.g. ${DEFAULT_URL})`, EXIT.USAGE);
  }
  if (!['http:', 'https:'].includes(parsed.protocol)) throw new CliError(`the API URL "${url}" must be http:// or https://`, EXIT.USAGE);
  const token = flags.token ?? env.MODELTRAIL_TOKEN;
  if (!token) {
    throw new CliError('no API token: set MODELTRAIL_TOKEN (export MODELTRAIL_TOKEN=<token>) or pass --token <token>', EXIT.UNAUTHORIZED, 'UNAUTHENTICATED');
  }
  return { url, token };
}

interface WireAnswer<D> {
  data?: D | null;
  errors?: GraphQLErrorLike[];
}

/**
 * The GraphQL API over HTTP (queries, mutations) and graphql-ws (subscriptions). Every failure
 * is a CliError with its exit code; the token is never part of a message.
 */
export class ApiClient {
  constructor(
    readonly connection: Connection,
    private readonly timeoutMs = 120_000,
  ) {}

  get url(): string {
    return this.connection.url;
  }

  async request<D = any>(query: string, variables: Record<string, unknown> = {}): Promise<D> {
    // One Idempotency-Key per call: a mutation sent again after a connection the server had just
    // closed (a pooled keep-alive socket) is recognised as the same command, not done twice.
    const body = JSON.stringify({ query, variables });
    const headers = { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${this.connection.token}`, 'idempotency-key': randomUUID() };
    let response: Response | undefined;
    for (let attempt = 1; response === undefined; attempt++) {
      try {
        response = await fetch(this.connection.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (error) {
        if (attempt < 2 && closedByServer(error)) continue;
        throw errorFromNetwork(error, this.connection.url);
      }
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw errorFromNetwork(error, this.connection.url);
    }
    let answer: WireAnswer<D>;
    try {
      answer = JSON.parse(text) as WireAnswer<D>;
    } catch {
      throw new CliError(`the server at ${this.connection.url} did not answer as a GraphQL API (HTTP ${response.status}, not JSON): check MODELTRAIL_URL or --url`, EXIT.UNREACHABLE);
    }
    if (answer.errors?.length) throw errorFromGraphQL(answer.errors, response.status);
    if (!answer.data) {
      throw new CliError(`the server at ${this.connection.url} answered HTTP ${response.status} without data`, response.status === 429 ? EXIT.FAILED : EXIT.UNREACHABLE);
    }
    return answer.data;
  }

  /** A graphql-ws client on the same URL (ws:// or wss://), authenticated by connectionParams; no retries. */
  webSocket(onClosed: (code: number, reason: string) => void): Client {
    return createClient({
      url: this.connection.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.connection.token}` },
      lazy: true,
      retryAttempts: 0,
      on: {
        closed: (event) => {
          const e = event as { code?: number; reason?: string };
          onClosed(e.code ?? 0, String(e.reason ?? ''));
        },
      },
    });
  }

  /**
   * Runs a subscription, handing each message's data to `onData` until it returns true (done), the
   * server completes it, or it fails: then resolves (done/complete) or rejects with a CliError.
   */
  subscribe<D = any>(query: string, variables: Record<string, unknown>, onData: (data: D) => boolean | void): { done: Promise<void>; stop: () => Promise<void> } {
    let closed: { code: number; reason: string } | undefined;
    const client = this.webSocket((code, reason) => (closed = { code, reason }));
    let unsubscribe: () => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      unsubscribe = client.subscribe<D>(
        { query, variables },
        {
          next: (message) => {
            if (message.errors?.length) {
              reject(errorFromGraphQL(message.errors as GraphQLErrorLike[]));
              return;
            }
            try {
              if (message.data && onData(message.data as D) === true) resolve();
            } catch (error) {
              reject(error);
            }
          },
          error: (error) => reject(this.subscriptionError(error, closed)),
          complete: () => resolve(),
        },
      );
    });
    const stop = async () => {
      unsubscribe();
      await client.dispose();
    };
    return { done, stop };
  }

  private subscriptionError(error: unknown, closed: { code: number; reason: string } | undefined): CliError {
    if (Array.isArray(error)) return errorFromGraphQL(error as GraphQLErrorLike[]);
    const close = error as { code?: unknown; reason?: unknown };
    const code = typeof close?.code === 'number' ? close.code : closed?.code;
    const reason = typeof close?.reason === 'string' ? close.reason : (closed?.reason ?? '');
    if (code === 4401 || code === 4403 || /^UNAUTHENTICATED|^FORBIDDEN/.test(reason)) {
      return new CliError(reason || 'UNAUTHENTICATED: the API refused the token', EXIT.UNAUTHORIZED, reason.startsWith('FORBIDDEN') ? 'FORBIDDEN' : 'UNAUTHENTICATED');
    }
    if (code !== undefined && code !== 1000 && code !== 1005 && code !== 1006) return new CliError(`the subscription ended: ${code} ${reason}`.trim(), EXIT.FAILED);
    if (error instanceof Error && !(error as { cause?: unknown }).cause && !(error as { code?: unknown }).code) {
      return errorFromNetwork(Object.assign(new Error(error.message), { code: /ECONNREFUSED/.test(error.message) ? 'ECONNREFUSED' : undefined }), this.connection.url);
    }
    return errorFromNetwork(error, this.connection.url);
  }
}

/** A pooled connection the server closed as the request went out: worth one more try. */
function closedByServer(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}
