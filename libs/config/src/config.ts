import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from '@modeltrail/contracts';

/**
 * The platform's configuration, read from the environment once at start-up (docs/architecture.md: Two ways to run).
 * Defaults suit a developer machine; in production the connection settings must be explicit.
 * Nothing else in the code base reads process.env.
 */
export interface AppConfig {
  env: 'development' | 'test' | 'production';
  /** Which process this is (datasets, gateway, ...); used in logs, NATS connection names and queue groups. */
  serviceName: string;
  databaseUrl: string;
  databasePoolSize: number;
  /**
   * How `npm start` runs the platform (MODELTRAIL_MODE): `auto` (the default) runs separate
   * processes over NATS when a NATS server answers and everything in one process on the
   * in-process bus when none does and NATS_URL is unset; `services` requires NATS; `one-process`
   * uses the in-process bus even when NATS answers.
   */
  mode: 'auto' | 'services' | 'one-process';
  /** Where local state lives (MODELTRAIL_DATA_DIR, default ./data, absolute): the embedded PostgreSQL, artifacts and the agent's directory unless set on their own. */
  dataDir: string;
  natsUrl: string;
  natsUser?: string;
  natsPassword?: string;
  /** Subject namespace inside a shared NATS (empty in production); see withNamespace. */
  natsNamespace?: string;
  /** When set, the event store is EventStoreDB at this URL; otherwise PostgreSQL. */
  eventStoreUrl?: string;
  /** PostgreSQL schema of this service's read models (default: the service name). */
  readModelSchema: string;
  /** PostgreSQL schema of the event store (PostgreSQL adapter). */
  eventStoreSchema: string;
  /** JetStream stream that carries copies of domain events. */
  eventsStream: string;
  /** Bytes the events stream keeps at most (EVENTS_STREAM_MAX_BYTES), the oldest dropped first; unset: no limit. */
  eventsStreamMaxBytes?: number;
  /**
   * Copies of each platform-owned JetStream stream (MT_EVENTS, MT_TELEMETRY) in a clustered NATS
   * (JETSTREAM_REPLICAS, 1 to 5; 3 in a three-server cluster): set when a stream is created, and
   * brought in line when it differs. Unset: streams are created with one copy, and an existing
   * stream keeps the copies it has (an operator may have raised them).
   */
  jetstreamReplicas?: number;
  rpcTimeoutMs: number;
  port: number;
  /**
   * Address the gateway listens on (HOST): 127.0.0.1 unless set. A non-loopback address is
   * refused while the development token is accepted (see requireSafeListenAddress).
   */
  host: string;
  artifactRoot: string;
  /**
   * Directories whose files the datasets service may read when a version is registered by path
   * (DATA_ROOTS), absolute. Outside production: the working directory unless set; in
   * production: none unless set (only ARTIFACT_ROOT is readable then).
   */
  dataRoots: ReadonlyArray<string>;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Logs, metrics, traces and the health endpoints (docs/observability.md). */
  observability: ObservabilityConfig;
  /**
   * Bearer tokens the GraphQL gateway accepts, each naming the user who acts with it (API_TOKENS).
   * Outside production, unset means the development tokens; in production, unset means none (the
   * gateway then takes API keys and OIDC JWTs only).
   */
  apiTokens: ReadonlyArray<ApiToken>;
  /** Deepest field nesting a GraphQL operation may have (GRAPHQL_MAX_DEPTH). */
  graphqlMaxDepth: number;
  /** JetStream stream of live job telemetry (TELEMETRY_STREAM): metrics, log lines, status changes. */
  telemetryStream: string;
  /** Training jobs: the scheduler's and the agents' settings. */
  scheduler: SchedulerConfig;
  agent: AgentConfig;
  /** The lineage service: its Merkle log's checkpoints and the OpenLineage export. */
  lineage: LineageConfig;
  /** Who may call: the signing of actors between services, OIDC, platform admins, API limits. */
  access: AccessConfig;
  /** The webhooks service's delivery of events to subscribed HTTP endpoints (docs/webhooks.md). */
  webhooks: WebhooksConfig;
}

export interface WebhooksConfig {
  /** How long one delivery's POST may take, connection to answer (WEBHOOK_TIMEOUT_MS, default 10 s). */
  timeoutMs: number;
  /** Failed tries after which a delivery is parked (WEBHOOK_MAX_ATTEMPTS, default 10). */
  maxAttempts: number;
  /** Delay before the second try (WEBHOOK_BASE_DELAY_MS, default 10 s), doubled for each later one, with up to 25% jitter... */
  baseDelayMs: number;
  /** ...up to this (WEBHOOK_MAX_DELAY_MS, default 1 h). */
  maxDelayMs: number;
  /** Hosts (names or IP addresses) a webhook may reach in production although they are loopback, private or link-local (WEBHOOK_ALLOWED_HOSTS, comma-separated). */
  allowedHosts: ReadonlyArray<string>;
  /** Bytes of a receiver's answer kept in the delivery log (WEBHOOK_MAX_RESPONSE_BYTES, default 2,048). */
  maxResponseBytes: number;
  /** POSTs in flight at once per replica (WEBHOOK_CONCURRENCY, default 8). */
  concurrency: number;
}

export interface ObservabilityConfig {
  /** How log lines are written (LOG_FORMAT): `json` (one JSON object a line, the default) or `pretty` (one readable line each). */
  logFormat: 'json' | 'pretty';
  /**
   * Port of the process's ops server, with /metrics, /health and /ready (OPS_PORT): unset means
   * none (the gateway serves them on its own PORT regardless); 0 means a free port, said in the log.
   */
  opsPort: number | undefined;
  /** Address the ops server listens on (OPS_HOST, default 127.0.0.1; 0.0.0.0 in a container). */
  opsHost: string;
  /** When set, /metrics answers only requests with `Authorization: Bearer <METRICS_TOKEN>`; /health and /ready stay open. */
  metricsToken: string | undefined;
  /**
   * Where spans go over OTLP/HTTP: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, or
   * OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. Unset: no tracing SDK (the API stays a no-op).
   */
  otlpTracesUrl: string | undefined;
  /** `service.name` of the spans (OTEL_SERVICE_NAME, default the process's service name). */
  otelServiceName: string;
}

export interface AccessConfig {
  /**
   * The HMAC-SHA256 key that signs the actor and correlation headers of every NATS request
   * (ACTOR_SIGNING_KEY, base64 or hex, at least 32 bytes). Every process but the agent holds it;
   * services refuse a request whose actor is unsigned or forged. Outside production the
   * well-known development key when unset; in production it must be set (requireActorSigningKey).
   */
  actorSigningKey: string | undefined;
  /**
   * Principals who are platform admins by configuration (PLATFORM_ADMINS, comma-separated): the
   * root of trust that grants the first roles. Outside production, unset means every API_TOKENS
   * user; in production, unset means none (platform admins are then only those granted by event).
   */
  platformAdmins: ReadonlyArray<string>;
  /** OIDC bearer JWTs (OIDC_ISSUER and OIDC_AUDIENCE set both), or undefined when not configured. */
  oidc: OidcConfig | undefined;
  /** Requests each identity may make per minute at the gateway (RATE_LIMIT_PER_MINUTE, default 600), with bursts up to RATE_LIMIT_BURST (default 120). */
  rateLimitPerMinute: number;
  rateLimitBurst: number;
  /** Aliases one GraphQL operation may use (GRAPHQL_MAX_ALIASES, default 30). */
  graphqlMaxAliases: number;
  /** Cost one GraphQL operation may have, list sizes and lineage depth counted (GRAPHQL_MAX_COST, default 50,000: a lineage page of 1,000 nodes with their fields fits, two nested pages of 200 do not). */
  graphqlMaxCost: number;
  /** Operations one batched HTTP request may carry (GRAPHQL_MAX_BATCH, default 10). */
  graphqlMaxBatch: number;
  /** Whether introspection and field suggestions are served (GRAPHQL_INTROSPECTION; default on outside production, off in production). */
  graphqlIntrospection: boolean;
}

export interface OidcConfig {
  /** The issuer every token's `iss` must equal (OIDC_ISSUER). */
  issuer: string;
  /** The audience a token's `aud` must contain (OIDC_AUDIENCE). */
  audience: string;
  /** Where the issuer's signing keys are (OIDC_JWKS_URL); by default from the issuer's /.well-known/openid-configuration. */
  jwksUrl: string | undefined;
  /** Signature algorithms accepted (OIDC_ALGORITHMS, default RS256,ES256,EdDSA); `none` and HMAC never. */
  algorithms: ReadonlyArray<string>;
  /** The claim that names the user, the actor of what they do (OIDC_USER_CLAIM, default sub). */
  userClaim: string;
  /** Seconds of clock skew tolerated on exp/nbf/iat (OIDC_CLOCK_TOLERANCE_S, default 30). */
  clockToleranceSeconds: number;
}

/**
 * The development key that signs actors between processes when ACTOR_SIGNING_KEY is unset outside
 * production. It is public (it is in the source): it keeps honest processes honest on a developer
 * machine, nothing more.
 */
export const DEVELOPMENT_ACTOR_SIGNING_KEY = 'bW9kZWx0cmFpbC1kZXZlbG9wbWVudC1hY3Rvci1zaWduaW5nLWtleSEhISE=';

/** JWS algorithms an OIDC token may be signed with: asymmetric only (never `none`, never HMAC with a public secret). */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export interface LineageConfig {
  /**
   * The Ed25519 key that signs the log's checkpoints (LOG_SIGNING_KEY): a PEM PKCS#8 private
   * key, or a base64 32-byte seed. Outside production the well-known development key when
   * unset; in production it must be set (see requireLogSigningKey).
   */
  logSigningKey: string | undefined;
  /** The log's name in its checkpoints and the signing key's name (LOG_ORIGIN, default modeltrail.local/log). */
  logOrigin: string;
  /** How often a signed checkpoint is published when the log grew (LOG_CHECKPOINT_INTERVAL_MS, default 60 s). */
  checkpointIntervalMs: number;
  /** Where OpenLineage RunEvents go: an HTTP endpoint (OPENLINEAGE_URL) or a JSONL file (OPENLINEAGE_FILE); neither: not sent. */
  openLineageUrl?: string;
  openLineageFile?: string;
  /** The OpenLineage job namespace (OPENLINEAGE_NAMESPACE, default modeltrail). */
  openLineageNamespace: string;
}

/**
 * The development key that signs checkpoints when LOG_SIGNING_KEY is unset outside production.
 * It is public (it is in the source): checkpoints it signs prove nothing to anyone else.
 */
export const DEVELOPMENT_LOG_SIGNING_KEY = 'bW9kZWx0cmFpbC1kZXZlbG9wbWVudC1sb2cta2V5ISE=';

export interface SchedulerConfig {
  /** How often an agent heartbeats (AGENT_HEARTBEAT_MS, default 3 s). */
  heartbeatMs: number;
  /**
   * How long an agent and its jobs live without a heartbeat (AGENT_LEASE_MS, default 15 s):
   * past it the agent is lost and its jobs are requeued. With the scheduler's checks every
   * second, a lost agent's jobs are requeued well within 30 s.
   */
  leaseMs: number;
  /** Directories a job's workingDir must lie under (JOB_WORKING_DIR_ROOTS); outside production the working directory and the temp directory. */
  workingDirRoots: ReadonlyArray<string>;
  /** Bytes of log lines kept per job attempt (JOB_LOG_MAX_BYTES, default 10 MiB); older lines are dropped first. */
  jobLogMaxBytes: number;
  /** Trials a sweep may have at most (SWEEP_TRIAL_LIMIT, default 1,000). */
  sweepTrialLimit: number;
}

export interface AgentConfig {
  /** Fixed agent id (AGENT_ID, a UUID); by default derived from the host name. */
  id?: string;
  /** Labels jobs can ask for (AGENT_LABELS: key=value pairs, comma-separated). */
  labels: Readonly<Record<string, string>>;
  /** CPUs and memory offered to jobs (AGENT_CPUS, AGENT_MEMORY_MB); by default what the machine has. */
  cpus?: number;
  memoryMb?: number;
  /** Where the agent keeps its state and jobs' output directories (AGENT_DATA_DIR, default ./data/agent). */
  dataDir: string;
  /** The user jobs run as when the agent runs as root (AGENT_JOB_USER, default nobody). */
  jobUser: string;
  /** The nvidia-smi to run (NVIDIA_SMI, default found on PATH) and how long it may take (NVIDIA_SMI_TIMEOUT_MS, default 5 s). */
  nvidiaSmi: string;
  nvidiaSmiTimeoutMs: number;
  /**
   * The agent's own credential (AGENT_API_KEY): an AGENT API key made for this agent id with
   * createApiKey(kind: AGENT). Its requests then act as `agent:<id>` and may touch only the
   * agent's own assignments. Required in production; outside production an agent without one
   * signs as a platform process with ACTOR_SIGNING_KEY (the local development agent).
   */
  apiKey: string | undefined;
}

/** A bearer token and the user (the events' actor) it authenticates. */
export interface ApiToken {
  token: string;
  user: string;
}

/** The token a developer machine accepts when API_TOKENS is unset; never accepted in production. */
export const DEVELOPMENT_API_TOKEN: ApiToken = { token: 'dev-token', user: 'developer@modeltrail.local' };
/**
 * A second person on a developer machine, for what one person may not do alone (approving one's
 * own promotion request): accepted, like the first, only when API_TOKENS is unset outside production.
 */
export const DEVELOPMENT_REVIEWER_TOKEN: ApiToken = { token: 'reviewer-token', user: 'reviewer@modeltrail.local' };
const DEVELOPMENT_TOKENS: ReadonlyArray<ApiToken> = [DEVELOPMENT_API_TOKEN, DEVELOPMENT_REVIEWER_TOKEN];

export const DEFAULTS = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/modeltrail',
  NATS_URL: 'nats://127.0.0.1:4222',
  PORT: '4000',
  HOST: '127.0.0.1',
  GRAPHQL_MAX_DEPTH: 12,
} as const;

const url = (protocols: string[], example: string) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL, e.g. ${example}` },
  );

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a letter or _ followed by letters, digits or _ (at most 63)');

/**
 * `token=user` pairs separated by commas (`s3cr3t=ada@example.com,t2=bob@example.com`). A token
 * may itself contain `=` (base64 padding): the user is what follows the last one. Problems name
 * the entry by its position, never the token.
 */
const apiTokens = z.string().transform((value, ctx) => {
  const entries = value.split(',').map((entry) => entry.trim());
  const tokens: ApiToken[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    if (!entry) return; // a trailing or doubled comma
    const at = `entry ${index + 1}`;
    const split = entry.lastIndexOf('=');
    const token = split < 0 ? '' : entry.slice(0, split).trim();
    const user = split < 0 ? '' : entry.slice(split + 1).trim();
    if (!token || !user) {
      ctx.addIssue({ code: 'custom', message: `${at} must be token=user (comma-separated pairs such as s3cr3t=ada@example.com)` });
    } else if (/\s/.test(token) || /\s/.test(user)) {
      ctx.addIssue({ code: 'custom', message: `${at}: neither the token nor the user may contain spaces` });
    } else if (seen.has(token)) {
      ctx.addIssue({ code: 'custom', message: `${at}: the same token is listed twice` });
    } else {
      seen.add(token);
      tokens.push({ token, user });
    }
  });
  if (tokens.length === 0 && entries.every((entry) => !entry)) ctx.addIssue({ code: 'custom', message: 'must list at least one token=user pair' });
  return tokens;
});

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  SERVICE_NAME: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes').optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:'], DEFAULTS.DATABASE_URL).optional(),
  DATABASE_POOL_SIZE: integer(1, 200).default(10),
  NATS_URL: url(['nats:', 'tls:', 'ws:', 'wss:'], DEFAULTS.NATS_URL).optional(),
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  NATS_NAMESPACE: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated tokens of letters, digits, _ and -').optional(),
  EVENTSTORE_URL: url(['esdb:', 'esdb+discover:'], 'esdb://localhost:2113?tls=false').optional(),
  EVENTSTORE_SCHEMA: identifier.default('eventstore'),
  READ_MODEL_SCHEMA: identifier.optional(),
  EVENTS_STREAM: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be letters, digits, _ or - (a JetStream stream name)').default('MT_EVENTS'),
  EVENTS_STREAM_MAX_BYTES: integer(1_048_576, Number.MAX_SAFE_INTEGER).optional(),
  JETSTREAM_REPLICAS: integer(1, 5).optional(),
  RPC_TIMEOUT_MS: integer(100, 600_000).default(5_000),
  PORT: integer(1, 65_535).optional(),
  HOST: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.:%-]+$/, 'must be an IP address or a host name to listen on, e.g. 127.0.0.1 or 0.0.0.0')
    .optional(),
  MODELTRAIL_MODE: z.enum(['auto', 'services', 'one-process']).default('auto'),
  MODELTRAIL_DATA_DIR: z.string().min(1).default('./data'),
  ARTIFACT_ROOT: z.string().min(1).optional(),
  DATA_ROOTS: z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim()).filter(Boolean))
    .refine((roots) => roots.length > 0, 'must list at least one directory')
    .refine((roots) => roots.every((root) => isAbsolute(root)), 'must be absolute directories, separated by commas (e.g. /srv/data,/mnt/datasets)')
    .optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  OPS_PORT: integer(0, 65_535).optional(),
  OPS_HOST: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.:%-]+$/, 'must be an IP address or a host name to listen on, e.g. 127.0.0.1 or 0.0.0.0')
    .optional(),
  METRICS_TOKEN: z.string().regex(/^[\x21-\x7e]{16,512}$/, 'must be 16 to 512 visible ASCII characters (e.g. the output of: openssl rand -hex 24)').optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:'], 'http://otel-collector:4318').optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(['http:', 'https:'], 'http://otel-collector:4318/v1/traces').optional(),
  OTEL_SERVICE_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be letters, digits, ., _ or - (e.g. modeltrail-datasets)').optional(),
  API_TOKENS: apiTokens.optional(),
  GRAPHQL_MAX_DEPTH: integer(2, 100).default(DEFAULTS.GRAPHQL_MAX_DEPTH),
  TELEMETRY_STREAM: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be letters, digits, _ or - (a JetStream stream name)').default('MT_TELEMETRY'),
  AGENT_HEARTBEAT_MS: integer(100, 60_000).default(3_000),
  AGENT_LEASE_MS: integer(500, 600_000).default(15_000),
  JOB_WORKING_DIR_ROOTS: z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim()).filter(Boolean))
    .refine((roots) => roots.length > 0, 'must list at least one directory')
    .refine((roots) => roots.every((root) => isAbsolute(root)), 'must be absolute directories, separated by commas (e.g. /srv/jobs,/home)')
    .optional(),
  JOB_LOG_MAX_BYTES: integer(1_024, 1_073_741_824).default(10 * 1024 * 1024),
  SWEEP_TRIAL_LIMIT: integer(1, 100_000).default(1_000),
  AGENT_ID: z.uuid({ message: 'must be a UUID' }).optional(),
  AGENT_LABELS: z
    .string()
    .transform((value, ctx) => {
      const labels: Record<string, string> = {};
      for (const [index, entry] of value.split(',').map((e) => e.trim()).filter(Boolean).entries()) {
        const at = entry.indexOf('=');
        if (at <= 0) ctx.addIssue({ code: 'custom', message: `entry ${index + 1} must be key=value (comma-separated pairs such as gpu=a100,zone=eu)` });
        else labels[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
      }
      return labels;
    })
    .optional(),
  AGENT_CPUS: integer(1, 100_000).optional(),
  AGENT_MEMORY_MB: integer(1, 1_073_741_824).optional(),
  AGENT_DATA_DIR: z.string().min(1).optional(),
  AGENT_JOB_USER: z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/, 'must be a user name such as nobody').default('nobody'),
  NVIDIA_SMI: z.string().min(1).default('nvidia-smi'),
  NVIDIA_SMI_TIMEOUT_MS: integer(100, 120_000).default(5_000),
  AGENT_API_KEY: z.string().regex(/^mtk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/, 'must be an API key as createApiKey shows it: mtk_<32 hex>_<43 characters>').optional(),
  LOG_SIGNING_KEY: z
    .string()
    .refine((v) => v.includes('-----BEGIN PRIVATE KEY-----') || /^[A-Za-z0-9+/]{43}=$/.test(v.trim()), 'must be a PEM PKCS#8 Ed25519 private key or a base64 32-byte seed')
    .optional(),
  LOG_ORIGIN: z.string().regex(/^[A-Za-z0-9._\/:-]{1,200}$/, 'must be a log name without spaces, e.g. modeltrail.example.com/log').default('modeltrail.local/log'),
  LOG_CHECKPOINT_INTERVAL_MS: integer(1_000, 86_400_000).default(60_000),
  OPENLINEAGE_URL: url(['http:', 'https:'], 'http://marquez:5000/api/v1/lineage').optional(),
  OPENLINEAGE_FILE: z.string().min(1).optional(),
  OPENLINEAGE_NAMESPACE: z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/, 'must be a namespace without spaces, e.g. modeltrail').default('modeltrail'),
  ACTOR_SIGNING_KEY: z
    .string()
    .trim()
    .refine((v) => keyBytes(v) !== null, 'must be at least 32 random bytes, base64 or hex encoded (e.g. the output of: openssl rand -base64 32)')
    .optional(),
  PLATFORM_ADMINS: z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim()).filter(Boolean))
    .refine((names) => names.every((name) => !/\s/.test(name) && name.length <= 256), 'must be comma-separated user names without spaces')
    .optional(),
  OIDC_ISSUER: url(['https:', 'http:'], 'https://login.example.com/realms/modeltrail').optional(),
  OIDC_AUDIENCE: z.string().min(1).max(512).optional(),
  OIDC_JWKS_URL: url(['https:', 'http:'], 'https://login.example.com/realms/modeltrail/protocol/openid-connect/certs').optional(),
  OIDC_ALGORITHMS: z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim()).filter(Boolean))
    .refine((algs) => algs.length > 0 && algs.every((a) => (OIDC_ALGORITHMS as readonly string[]).includes(a)), `must be a comma-separated list of ${OIDC_ALGORITHMS.join(', ')}`)
    .optional(),
  OIDC_USER_CLAIM: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/, 'must be a claim name such as sub or email').default('sub'),
  OIDC_CLOCK_TOLERANCE_S: integer(0, 600).default(30),
  RATE_LIMIT_PER_MINUTE: integer(1, 10_000_000).default(600),
  RATE_LIMIT_BURST: integer(1, 10_000_000).default(120),
  GRAPHQL_MAX_ALIASES: integer(1, 1_000).default(30),
  GRAPHQL_MAX_COST: integer(10, 100_000_000).default(50_000),
  GRAPHQL_MAX_BATCH: integer(1, 100).default(10),
  GRAPHQL_INTROSPECTION: z.enum(['true', 'false'], { message: 'must be true or false' }).optional(),
  WEBHOOK_TIMEOUT_MS: integer(100, 120_000).default(10_000),
  WEBHOOK_MAX_ATTEMPTS: integer(1, 100).default(10),
  WEBHOOK_BASE_DELAY_MS: integer(1, 3_600_000).default(10_000),
  WEBHOOK_MAX_DELAY_MS: integer(1, 86_400_000).default(3_600_000),
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim().toLowerCase().replace(/^\[|\]$/g, '')).filter(Boolean))
    .refine((hosts) => hosts.every((host) => /^[a-z0-9.:_-]{1,253}$/.test(host)), 'must be comma-separated host names or IP addresses, e.g. hooks.internal,10.0.0.7')
    .optional(),
  WEBHOOK_MAX_RESPONSE_BYTES: integer(0, 1_048_576).default(2_048),
  WEBHOOK_CONCURRENCY: integer(1, 256).default(8),
});

/** The bytes of a signing key given as base64 or hex, or null when it is neither or under 32 bytes. */
export function keyBytes(value: string): Buffer | null {
  const v = value.trim();
  let bytes: Buffer | null = null;
  if (/^[0-9a-fA-F]+$/.test(v) && v.length % 2 === 0) bytes = Buffer.from(v, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) bytes = Buffer.from(v, 'base64');
  return bytes !== null && bytes.length >= 32 ? bytes : null;
}

export class ConfigError extends Error {
  constructor(readonly problems: Array<{ variable: string; problem: string }>) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env, defaults: { serviceName?: string; port?: number } = {}): AppConfig {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const env = Object.fromEntries(Object.entries(environment).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(environment)'), problem: describe(issue, env) })));
  }
  const e = parsed.data;
  const problems: Array<{ variable: string; problem: string }> = [];
  if (e.NODE_ENV === 'production') {
    if (!e.DATABASE_URL) problems.push({ variable: 'DATABASE_URL', problem: 'is required when NODE_ENV=production (no local default in production)' });
    if (!e.NATS_URL) problems.push({ variable: 'NATS_URL', problem: 'is required when NODE_ENV=production (no local default in production)' });
  }
  if (e.AGENT_HEARTBEAT_MS * 2 > e.AGENT_LEASE_MS) problems.push({ variable: 'AGENT_LEASE_MS', problem: `must be at least twice AGENT_HEARTBEAT_MS (${e.AGENT_HEARTBEAT_MS} ms), so one lost heartbeat does not lose an agent` });
  if (Boolean(e.OIDC_ISSUER) !== Boolean(e.OIDC_AUDIENCE)) problems.push({ variable: e.OIDC_ISSUER ? 'OIDC_AUDIENCE' : 'OIDC_ISSUER', problem: 'is required when the other of OIDC_ISSUER and OIDC_AUDIENCE is set' });
  if (e.NATS_USER && !e.NATS_PASSWORD) problems.push({ variable: 'NATS_PASSWORD', problem: 'is required when NATS_USER is set' });
  const serviceName = e.SERVICE_NAME ?? defaults.serviceName;
  if (!serviceName) problems.push({ variable: 'SERVICE_NAME', problem: 'is required (which ModelTrail process this is)' });
  if (problems.length) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
    serviceName: serviceName!,
    databaseUrl: e.DATABASE_URL ?? DEFAULTS.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    mode: e.MODELTRAIL_MODE,
    dataDir: resolve(e.MODELTRAIL_DATA_DIR),
    natsUrl: e.NATS_URL ?? DEFAULTS.NATS_URL,
    natsUser: e.NATS_USER,
    natsPassword: e.NATS_PASSWORD,
    natsNamespace: e.NATS_NAMESPACE,
    eventStoreUrl: e.EVENTSTORE_URL,
    eventStoreSchema: e.EVENTSTORE_SCHEMA,
    readModelSchema: e.READ_MODEL_SCHEMA ?? serviceName!.replace(/-/g, '_'),
    eventsStream: e.EVENTS_STREAM,
    eventsStreamMaxBytes: e.EVENTS_STREAM_MAX_BYTES,
    jetstreamReplicas: e.JETSTREAM_REPLICAS,
    rpcTimeoutMs: e.RPC_TIMEOUT_MS,
    port: e.PORT ?? defaults.port ?? Number(DEFAULTS.PORT),
    host: e.HOST ?? DEFAULTS.HOST,
    artifactRoot: e.ARTIFACT_ROOT ?? join(e.MODELTRAIL_DATA_DIR, 'artifacts'),
    dataRoots: (e.DATA_ROOTS ?? (e.NODE_ENV === 'production' ? [] : [process.cwd()])).map((root) => resolve(root)),
    logLevel: e.LOG_LEVEL,
    observability: {
      logFormat: e.LOG_FORMAT,
      opsPort: e.OPS_PORT,
      opsHost: e.OPS_HOST ?? DEFAULTS.HOST,
      metricsToken: e.METRICS_TOKEN,
      otlpTracesUrl: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (e.OTEL_EXPORTER_OTLP_ENDPOINT ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined),
      otelServiceName: e.OTEL_SERVICE_NAME ?? serviceName!,
    },
    apiTokens: e.API_TOKENS ?? (e.NODE_ENV === 'production' ? [] : [...DEVELOPMENT_TOKENS]),
    graphqlMaxDepth: e.GRAPHQL_MAX_DEPTH,
    telemetryStream: e.TELEMETRY_STREAM,
    scheduler: {
      heartbeatMs: e.AGENT_HEARTBEAT_MS,
      leaseMs: e.AGENT_LEASE_MS,
      workingDirRoots: (e.JOB_WORKING_DIR_ROOTS ?? (e.NODE_ENV === 'production' ? [] : [process.cwd(), tmpdir()])).map((root) => resolve(root)),
      jobLogMaxBytes: e.JOB_LOG_MAX_BYTES,
      sweepTrialLimit: e.SWEEP_TRIAL_LIMIT,
    },
    agent: {
      id: e.AGENT_ID,
      labels: e.AGENT_LABELS ?? {},
      cpus: e.AGENT_CPUS,
      memoryMb: e.AGENT_MEMORY_MB,
      dataDir: resolve(e.AGENT_DATA_DIR ?? join(e.MODELTRAIL_DATA_DIR, 'agent')),
      jobUser: e.AGENT_JOB_USER,
      nvidiaSmi: e.NVIDIA_SMI,
      nvidiaSmiTimeoutMs: e.NVIDIA_SMI_TIMEOUT_MS,
      apiKey: e.AGENT_API_KEY,
    },
    lineage: {
      logSigningKey: e.LOG_SIGNING_KEY ?? (e.NODE_ENV === 'production' ? undefined : DEVELOPMENT_LOG_SIGNING_KEY),
      logOrigin: e.LOG_ORIGIN,
      checkpointIntervalMs: e.LOG_CHECKPOINT_INTERVAL_MS,
      openLineageUrl: e.OPENLINEAGE_URL,
      openLineageFile: e.OPENLINEAGE_FILE,
      openLineageNamespace: e.OPENLINEAGE_NAMESPACE,
    },
    access: {
      actorSigningKey: e.ACTOR_SIGNING_KEY ?? (e.NODE_ENV === 'production' ? undefined : DEVELOPMENT_ACTOR_SIGNING_KEY),
      platformAdmins: e.PLATFORM_ADMINS ?? (e.NODE_ENV === 'production' ? [] : (e.API_TOKENS ?? DEVELOPMENT_TOKENS).map((t) => t.user)),
      oidc:
        e.OIDC_ISSUER && e.OIDC_AUDIENCE
          ? {
              issuer: e.OIDC_ISSUER,
              audience: e.OIDC_AUDIENCE,
              jwksUrl: e.OIDC_JWKS_URL,
              algorithms: e.OIDC_ALGORITHMS ?? ['RS256', 'ES256', 'EdDSA'],
              userClaim: e.OIDC_USER_CLAIM,
              clockToleranceSeconds: e.OIDC_CLOCK_TOLERANCE_S,
            }
          : undefined,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      rateLimitBurst: e.RATE_LIMIT_BURST,
      graphqlMaxAliases: e.GRAPHQL_MAX_ALIASES,
      graphqlMaxCost: e.GRAPHQL_MAX_COST,
      graphqlMaxBatch: e.GRAPHQL_MAX_BATCH,
      graphqlIntrospection: e.GRAPHQL_INTROSPECTION === undefined ? e.NODE_ENV !== 'production' : e.GRAPHQL_INTROSPECTION === 'true',
    },
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      baseDelayMs: e.WEBHOOK_BASE_DELAY_MS,
      maxDelayMs: e.WEBHOOK_MAX_DELAY_MS,
      allowedHosts: e.WEBHOOK_ALLOWED_HOSTS ?? [],
      maxResponseBytes: e.WEBHOOK_MAX_RESPONSE_BYTES,
      concurrency: e.WEBHOOK_CONCURRENCY,
    },
  };
}

/**
 * The key that signs (gateway, services) and verifies (services) the actor of NATS requests: in
 * production ACTOR_SIGNING_KEY must be set. Returns the key's bytes.
 */
export function requireActorSigningKey(config: Pick<AppConfig, 'access'>): Buffer {
  const bytes = config.access.actorSigningKey === undefined ? null : keyBytes(config.access.actorSigningKey);
  if (bytes === null) {
    throw new ConfigError([{ variable: 'ACTOR_SIGNING_KEY', problem: 'is required when NODE_ENV=production: at least 32 random bytes, base64 or hex, shared by the gateway and the services (openssl rand -base64 32)' }]);
  }
  return bytes;
}

/** The checkpoint signing key of the lineage service: in production LOG_SIGNING_KEY must be set. */
export function requireLogSigningKey(config: Pick<AppConfig, 'env' | 'lineage'>): string {
  if (!config.lineage.logSigningKey) {
    throw new ConfigError([{ variable: 'LOG_SIGNING_KEY', problem: 'is required when NODE_ENV=production: an Ed25519 private key (PEM PKCS#8) or a base64 32-byte seed that signs the log checkpoints' }]);
  }
  return config.lineage.logSigningKey;
}

/** Whether `host` only ever reaches this machine: localhost, 127.0.0.0/8 or ::1 (IPv4-mapped too). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * The address a process that serves the API may listen on. Listening beyond this machine while
 * the well-known development token is accepted would let anyone on the network act (and submit
 * jobs, which run code on agents): that is refused, naming both settings.
 */
export function requireSafeListenAddress(config: Pick<AppConfig, 'host' | 'apiTokens'>): string {
  const development = config.apiTokens.find((t) => DEVELOPMENT_TOKENS.some((d) => d.token === t.token));
  if (development && !isLoopbackHost(config.host)) {
    throw new ConfigError([
      {
        variable: 'HOST',
        problem: `is ${config.host}, which is reachable from other machines, while the development token "${development.token}" is accepted: set API_TOKENS to your own token=user pairs, or listen on 127.0.0.1`,
      },
    ]);
  }
  return config.host;
}

function describe(issue: z.core.$ZodIssue, env: Record<string, string | undefined>): string {
  const variable = String(issue.path[0] ?? '');
  const value = env[variable];
  const shown = value === undefined ? '' : ` (got "${/PASSWORD|SECRET|TOKEN|KEY/.test(variable) ? '***' : redact(value)}")`;
  return `${issue.message}${shown}`;
}

/** Hides a password embedded in a URL before it is printed. */
function redact(value: string): string {
  return value.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}
