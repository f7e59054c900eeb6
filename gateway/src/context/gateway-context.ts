import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLResolveInfo } from 'graphql';
import { ID_NAMESPACES, nameBasedUuid, ValidationError } from '@modeltrail/contracts';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcClient } from '@modeltrail/messaging';
import { requestRefusal, unauthenticated } from '../errors/error-formatter';
import type { TokenAuthenticator } from './authentication';
import { Loaders } from './loaders';
import { RequestRpc } from './request-rpc';

export const TOKEN_AUTHENTICATOR = Symbol('TOKEN_AUTHENTICATOR');

/** HTTP headers a client may send besides Authorization. */
export const CORRELATION_HEADER = 'x-correlation-id';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** What every resolver of one GraphQL operation shares. */
export interface GatewayContext {
  /** The authenticated user: the actor of every command this operation sends. */
  user: string;
  correlationId: string;
  /** The client's Idempotency-Key (HTTP only), or null. */
  idempotencyKey: string | null;
  rpc: RequestRpc;
  loaders: Loaders;
  store: EventStore;
  /** The command id of a mutation field: derived from the Idempotency-Key when there is one, else fresh. */
  commandIdFor(info: Pick<GraphQLResolveInfo, 'path'>): string;
}

/** The parts of a graphql-ws connection context the gateway reads. */
export interface WebSocketConnection {
  connectionParams?: Readonly<Record<string, unknown>>;
}

/** Builds the per-operation context: authenticates, assigns the correlation id, makes the loaders. */
@Injectable()
export class GatewayContextFactory {
  constructor(
    @Inject(TOKEN_AUTHENTICATOR) private readonly authenticator: TokenAuthenticator,
    private readonly rpc: RpcClient,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  /** An HTTP request: Authorization, X-Correlation-Id and Idempotency-Key headers. */
  forHttp(req: IncomingMessage, res: Pick<ServerResponse, 'setHeader'> | undefined): GatewayContext {
    const auth = this.authenticator.authenticate(req.headers.authorization);
    if (!auth.ok) throw unauthenticated(auth.reason);
    const given = req.headers[CORRELATION_HEADER];
    const correlationId = typeof given === 'string' && UUID.test(given) ? given.toLowerCase() : randomUUID();
    res?.setHeader('X-Correlation-Id', correlationId);
    const key = req.headers[IDEMPOTENCY_HEADER];
    if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key))) {
      throw requestRefusal(new ValidationError('the Idempotency-Key header must be 1 to 255 visible ASCII characters', { issues: [{ field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }] }), 400);
    }
    return this.create(auth.user, correlationId, key ?? null);
  }

  /** A graphql-ws operation: the connection was authenticated in onConnect; each operation gets its own correlation id. */
  forWebSocket(connection: WebSocketConnection): GatewayContext {
    const auth = this.authenticator.authenticate(authorizationParam(connection));
    if (!auth.ok) throw unauthenticated(auth.reason);
    return this.create(auth.user, randomUUID(), null);
  }

  /** onConnect of graphql-ws: the reason to refuse the connection, or null to accept it. */
  refuseConnection(connection: WebSocketConnection): string | null {
    const auth = this.authenticator.authenticate(authorizationParam(connection));
    return auth.ok ? null : auth.reason;
  }

  private create(user: string, correlationId: string, idempotencyKey: string | null): GatewayContext {
    const rpc = new RequestRpc(this.rpc, { actor: user, correlationId });
    return {
      user,
      correlationId,
      idempotencyKey,
      rpc,
      loaders: new Loaders(rpc, this.store),
      store: this.store,
      commandIdFor: (info) => (idempotencyKey === null ? randomUUID() : nameBasedUuid(ID_NAMESPACES.idempotencyKey, `${user}\n${idempotencyKey}\n${String(info.path.key)}`)),
    };
  }
}

/** `{ authorization: 'Bearer …' }` (any case of the key) in the connection_init payload. */
function authorizationParam(connection: WebSocketConnection): unknown {
  const params = connection.connectionParams ?? {};
  const key = Object.keys(params).find((k) => k.toLowerCase() === 'authorization');
  return key === undefined ? undefined : params[key];
}
