import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { type DocumentNode, type ExecutionResult, type FormattedExecutionResult, GraphQLError, type GraphQLSchema, parse } from 'graphql';
import type { Context as WsContext, ServerOptions } from 'graphql-ws';
import { createHash, randomUUID } from 'node:crypto';
import { type AppConfig, ConfigModule, DEVELOPMENT_API_TOKEN, DEVELOPMENT_REVIEWER_TOKEN, requireActorSigningKey } from '@modeltrail/config';
import { accessRpc } from '@modeltrail/contracts';
import { EventStoreModule } from '@modeltrail/eventstore';
import { connectBus, type ManagedBus, type MessageBus, RpcClient } from '@modeltrail/messaging';
import { PostgresModule } from '@modeltrail/postgres';
import { enforceAccess } from './access/enforce';
import { type ApiKeyCheck, Authenticator, TokenAuthenticator, tokenDigests } from './context/authentication';
import { type GatewayContext, GatewayContextFactory, PLATFORM_ADMINS, RATE_LIMIT, type RateLimitCheck, REDACTION_KEY, TOKEN_AUTHENTICATOR } from './context/gateway-context';
import { OidcVerifier } from './context/oidc';
import { ErrorFormatter, PassErrorsToGraphQL } from './errors/error-formatter';
import { GATEWAY_NATS, RunTelemetry } from './experiments/run-telemetry';
import { GATEWAY_RESOLVERS } from './gateway.resolvers';
import { depthLimitRule, depthProblem } from './limits/depth-limit';
import { hardeningParseOptions, hardeningPlugins, hardeningProblems, hardeningValidationRules, introspectionEnabled, tokenLimitError } from './limits/hardening';
import { IdentityRateLimiter, rateLimitedError } from './limits/rate-limit';
import { AuditReportController } from './lineage/audit-report.controller';
import { JobTelemetry } from './scheduler/job-telemetry';

/** Where the API is served, over HTTP and WebSocket (graphql-ws) alike. */
export const GRAPHQL_PATH = '/graphql';

/** WebSocket close code of a refused connection (graphql-ws's "Unauthorized"). */
export const WS_UNAUTHENTICATED = 4401;

const MANAGED_NATS = Symbol('GATEWAY_MANAGED_NATS');

class NatsShutdown implements OnApplicationShutdown {
  constructor(@Inject(MANAGED_NATS) private readonly managed: ManagedBus) {}

  async onApplicationShutdown(): Promise<void> {
    await this.managed.close();
  }
}

/** The NATS connection, RPC client, authentication and per-operation context the GraphQL module is built with. */
@Module({})
class GatewayCoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: GatewayCoreModule,
      global: true,
      providers: [
        {
          provide: MANAGED_NATS,
          useFactory: () => connectBus({ url: config.natsUrl, name: config.serviceName, user: config.natsUser, pass: config.natsPassword }),
        },
        { provide: GATEWAY_NATS, inject: [MANAGED_NATS], useFactory: (managed: ManagedBus): MessageBus => managed.nc },
        { provide: RpcClient, inject: [GATEWAY_NATS], useFactory: (nc: MessageBus) => new RpcClient(nc, { timeoutMs: config.rpcTimeoutMs, namespace: config.natsNamespace, signingKey: requireActorSigningKey(config) }) },
        {
          provide: TOKEN_AUTHENTICATOR,
          inject: [RpcClient],
          useFactory: (rpc: RpcClient) => {
            const apiKeys: ApiKeyCheck = (keyId, secretHash) => rpc.request(accessRpc.authenticateApiKey, { keyId, secretHash }, { headers: { actor: 'system:gateway', correlationId: randomUUID() } });
            return new Authenticator(
              config.apiTokens.length ? new TokenAuthenticator(config.apiTokens) : null,
              tokenDigests([DEVELOPMENT_API_TOKEN, DEVELOPMENT_REVIEWER_TOKEN]),
              apiKeys,
              config.access.oidc ? new OidcVerifier(config.access.oidc) : null,
            );
          },
        },
        { provide: PLATFORM_ADMINS, useValue: new Set(config.access.platformAdmins) },
        // Placeholders of redacted lineage ids: keyed by the actor signing key, which every replica shares.
        { provide: REDACTION_KEY, useValue: createHash('sha256').update('modeltrail redacted ids\n').update(requireActorSigningKey(config)).digest() },
        { provide: RATE_LIMIT, useValue: rateLimitCheck(IdentityRateLimiter.fromConfig(config)) },
        GatewayContextFactory,
        ErrorFormatter,
        NatsShutdown,
      ],
      exports: [GATEWAY_NATS, RpcClient, TOKEN_AUTHENTICATOR, PLATFORM_ADMINS, RATE_LIMIT, REDACTION_KEY, GatewayContextFactory, ErrorFormatter],
    };
  }
}

/**
 * The GraphQL gateway (docs/architecture.md: Gateway): `GatewayModule.forRoot(config)` serves the API at /graphql
 * (HTTP and graphql-ws) over the configured NATS, PostgreSQL and event store. It owns no domain
 * state: mutations are NATS commands, queries NATS requests, history reads the event store.
 * Throws a ConfigError when the configuration cannot serve (API_TOKENS missing in production).
 */
@Module({})
export class GatewayModule {
  static forRoot(config: AppConfig): DynamicModule {
    const core = GatewayCoreModule.forRoot(config);
    return {
      module: GatewayModule,
      imports: [
        ConfigModule.forRoot(config),
        PostgresModule.forRoot(),
        EventStoreModule.forRoot(),
        core,
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          imports: [core],
          inject: [GatewayContextFactory, ErrorFormatter],
          useFactory: (contexts: GatewayContextFactory, errors: ErrorFormatter) => graphqlOptions(config, contexts, errors),
        }),
      ],
      controllers: [AuditReportController],
      providers: [...GATEWAY_RESOLVERS, RunTelemetry, JobTelemetry, { provide: APP_FILTER, useClass: PassErrorsToGraphQL }],
    };
  }
}

type HttpContextArgument = { req: IncomingMessage; res?: ServerResponse };
type WsConnection = WsContext<Record<string, unknown>, { socket: { close(code: number, reason: string): void } }>;

/** RATE_LIMIT_PER_MINUTE and RATE_LIMIT_BURST per authenticated principal: over them, 429 with Retry-After. */
function rateLimitCheck(limiter: IdentityRateLimiter): RateLimitCheck {
  return async (principal, operations = 1) => {
    const decision = await limiter.consume(principal, operations);
    if (!decision.ok) throw rateLimitedError(decision.retryAfterSeconds);
  };
}

function graphqlOptions(config: AppConfig, contexts: GatewayContextFactory, errors: ErrorFormatter): ApolloDriverConfig {
  // The served schema, with access enforced: graphql-ws's onSubscribe measures operations against it.
  let served: GraphQLSchema | undefined;
  const context = (argument: HttpContextArgument | WsConnection): Promise<GatewayContext> =>
    'extra' in argument ? contexts.forWebSocket(argument) : contexts.forHttp(argument.req, argument.res);
  return {
    path: GRAPHQL_PATH,
    autoSchemaFile: true,
    sortSchema: true,
    // Every root field's access policy is checked, every project-owned result filtered (access/enforce.ts).
    transformSchema: (schema) => (served = enforceAccess(schema)),
    playground: false,
    // OWASP's GraphQL cheat sheet (gateway/src/limits): no introspection or suggestions in production,
    // depth, aliases, directives, tokens and cost limited, batches capped (gateway.app.ts).
    introspection: introspectionEnabled(config),
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: true,
    parseOptions: hardeningParseOptions(),
    validationRules: [depthLimitRule(config.graphqlMaxDepth), ...hardeningValidationRules(config)],
    formatError: errors.formatError,
    plugins: [errors.plugin(), ...hardeningPlugins(config)],
    context,
    // Nest's type lists a subset of graphql-ws's options; `context` and `onError` are passed on too.
    subscriptions: { 'graphql-ws': webSocketOptions(config, contexts, errors, () => served) as never },
  };
}

/**
 * graphql-ws: the connection is authenticated once, from `connectionParams.authorization`, and
 * refused with close code 4401 and the reason; every operation then gets its own context, the
 * same depth limit as HTTP, and errors formatted as over HTTP.
 */
function webSocketOptions(config: AppConfig, contexts: GatewayContextFactory, errors: ErrorFormatter, schema: () => GraphQLSchema | undefined): Partial<ServerOptions<Record<string, unknown>, { socket: { close(code: number, reason: string): void } }>> {
  return {
    onConnect: async (connection) => {
      const refusal = await contexts.refuseConnection(connection);
      if (refusal === null) return true;
      connection.extra.socket.close(WS_UNAUTHENTICATED, closeReason(`UNAUTHENTICATED: ${refusal}`));
      return false;
    },
    context: (connection) => contexts.forWebSocket(connection),
    onSubscribe: (_connection, _id, payload) => {
      let document: DocumentNode;
      try {
        document = parse(payload.query, hardeningParseOptions());
      } catch (error) {
        const syntax = error instanceof GraphQLError ? error : new GraphQLError(String(error));
        const tooLong = tokenLimitError(syntax.message);
        if (tooLong) return [tooLong];
        return [new GraphQLError(syntax.message, { source: syntax.source, positions: syntax.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
      }
      const served = schema();
      const problems = [...depthProblem(document, config.graphqlMaxDepth), ...(served ? hardeningProblems(document, served, payload.variables, config) : [])];
      return problems.length ? problems.map((problem) => new GraphQLError(problem.message, { nodes: problem.nodes, extensions: { ...problem.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } })) : undefined;
    },
    onNext: (_connection, _id, _payload, args, result) => {
      if (!result.errors?.length) return undefined;
      const scope = { correlationId: (args.contextValue as GatewayContext | undefined)?.correlationId ?? 'unknown' };
      return { ...(result as FormattedExecutionResult), errors: (result as ExecutionResult).errors!.map((error) => errors.format(error.toJSON(), error, scope)) };
    },
    onError: (_connection, _id, _payload, problems) =>
      problems.map((problem) => errors.format({ ...problem.toJSON(), extensions: { code: 'GRAPHQL_VALIDATION_FAILED', ...problem.extensions } }, problem, undefined)),
  };
}

/** A WebSocket close reason is at most 123 bytes. */
function closeReason(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8');
  return bytes.length <= 123 ? reason : `${bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '')}...`;
}
