import { randomUUID } from 'node:crypto';
import { currentCorrelationId } from '@modeltrail/observability';
import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLResolveInfo } from 'graphql';
import { accessRpc, ID_NAMESPACES, nameBasedUuid, type PrincipalAccess, ValidationError } from '@modeltrail/contracts';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcClient } from '@modeltrail/messaging';
import { requestRefusal, unauthenticated } from '../errors/error-formatter';
import { AccessContext } from '../access/access-context';
import type { Authenticator, Identity } from './authentication';
import { Loaders } from './loaders';
import { RequestRpc } from './request-rpc';

export const TOKEN_AUTHENTICATOR = Symbol('TOKEN_AUTHENTICATOR');
/** The principals PLATFORM_ADMINS names (a ReadonlySet<string>). */
export const PLATFORM_ADMINS = Symbol('PLATFORM_ADMINS');
/** Called once per authenticated operation with the principal; throws a refusal (429) when it is over its rate. */
export const RATE_LIMIT = Symbol('RATE_LIMIT');
export type RateLimitCheck = (principal: string, operations?: number) => Promise<void>;
/** The key of redacted ids' placeholders (a Buffer derived from the configuration, the same on every replica). */
export const REDACTION_KEY = Symbol('REDACTION_KEY');

/** HTTP headers a client may send besides Authorization. */
export const CORRELATION_HEADER = 'x-correlation-id';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** What every resolver of one GraphQL operation shares. */
export interface GatewayContext {
  /** The authenticated user: the actor of every command this operation sends. */
  user: string;
  /** What the user may do (roles per project, platform admin), and how they authenticated. */
  access: AccessContext;
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
    @Inject(TOKEN_AUTHENTICATOR) private readonly authenticator: Authenticator,
    private readonly rpc: RpcClient,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PLATFORM_ADMINS) private readonly platformAdmins: ReadonlySet<string>,
    @Inject(RATE_LIMIT) private readonly rateLimit: RateLimitCheck,
    @Inject(REDACTION_KEY) private readonly redactionKey: Buffer,
  ) {}

  /** An HTTP request: Authorization, X-Correlation-Id and Idempotency-Key headers. */
  async forHttp(req: IncomingMessage, res: Pick<ServerResponse, 'setHeader'> | undefined): Promise<GatewayContext> {
    const auth = await this.authenticator.authenticate(req.headers.authorization);
    if (!auth.ok) {
      // Failed attempts count against the client's address, so guessing credentials is slowed like any caller.
      await this.rateLimit(`unauthenticated:${req.socket?.remoteAddress ?? 'unknown'}`);
      throw unauthenticated(auth.reason);
    }
    // A batch counts as the operations it carries.
    const body = (req as IncomingMessage & { body?: unknown }).body;
    await this.rateLimit(auth.identity.principal, Array.isArray(body) ? Math.max(1, body.length) : 1);
    const given = req.headers[CORRELATION_HEADER];
    const correlationId = currentCorrelationId() ?? (typeof given === 'string' && UUID.test(given) ? given.toLowerCase() : randomUUID());
    res?.setHeader('X-Correlation-Id', correlationId);
    const key = req.headers[IDEMPOTENCY_HEADER];
    if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key))) {
      throw requestRefusal(new ValidationError('the Idempotency-Key header must be 1 to 255 visible ASCII characters', { issues: [{ field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }] }), 400);
    }
    return this.create(auth.identity, correlationId, key ?? null);
  }

  /** A graphql-ws operation: the connection was authenticated in onConnect; each operation gets its own correlation id. */
  async forWebSocket(connection: WebSocketConnection): Promise<GatewayContext> {
    const auth = await this.authenticator.authenticate(authorizationParam(connection));
    if (!auth.ok) throw unauthenticated(auth.reason);
    await this.rateLimit(auth.identity.principal);
    return this.create(auth.identity, randomUUID(), null);
  }

  /** onConnect of graphql-ws: the reason to refuse the connection, or null to accept it. */
  async refuseConnection(connection: WebSocketConnection): Promise<string | null> {
    const auth = await this.authenticator.authenticate(authorizationParam(connection));
    return auth.ok ? null : auth.reason;
  }

  private async create(identity: Identity, correlationId: string, idempotencyKey: string | null): Promise<GatewayContext> {
    const user = identity.principal;
    const rpc = new RequestRpc(this.rpc, { actor: user, correlationId });
    // A platform admin by configuration may do everything: its grants need no lookup.
    const configuredAdmin = this.platformAdmins.has(user);
    const grants: PrincipalAccess = identity.access ?? (configuredAdmin ? { principal: user, platformAdmin: true, projects: [] } : await rpc.query(accessRpc.principalAccess, { principal: user }));
    const access = new AccessContext(identity, grants.platformAdmin || configuredAdmin, grants, this.redactionKey);
    return {
      user,
      access,
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
