import { resolve } from 'node:path';
import { ConfigError, DEFAULTS, DEVELOPMENT_API_TOKEN, DEVELOPMENT_REVIEWER_TOKEN, isLoopbackHost, keyBytes, loadConfig, requireActorSigningKey, requireSafeListenAddress } from './config';

describe('loadConfig', () => {
  it('gives a developer machine working defaults', () => {
    const config = loadConfig({}, { serviceName: 'datasets' });
    expect(config).toMatchObject({
      env: 'development',
      serviceName: 'datasets',
      databaseUrl: DEFAULTS.DATABASE_URL,
      natsUrl: DEFAULTS.NATS_URL,
      eventStoreUrl: undefined,
      eventStoreSchema: 'eventstore',
      eventsStream: 'MT_EVENTS',
      port: 4000,
      rpcTimeoutMs: 5000,
    });
  });

  it('reads and converts what is set', () => {
    const config = loadConfig({ SERVICE_NAME: 'gateway', NATS_NAMESPACE: 'staging.eu', PORT: '8080', DATABASE_URL: 'postgresql://u:p@db:5432/mt', EVENTSTORE_URL: 'esdb://es:2113?tls=false', DATABASE_POOL_SIZE: '25' });
    expect(config).toMatchObject({ serviceName: 'gateway', natsNamespace: 'staging.eu', port: 8080, databaseUrl: 'postgresql://u:p@db:5432/mt', eventStoreUrl: 'esdb://es:2113?tls=false', databasePoolSize: 25 });
  });

  it('lets the datasets service read the working directory by default, only what DATA_ROOTS lists when set, and nothing by default in production', () => {
    expect(loadConfig({ SERVICE_NAME: 'datasets' }).dataRoots).toEqual([process.cwd()]);
    expect(loadConfig({ SERVICE_NAME: 'datasets', DATA_ROOTS: '/srv/data, /mnt/datasets/' }).dataRoots).toEqual(['/srv/data', '/mnt/datasets']);
    expect(loadConfig({ NODE_ENV: 'production', SERVICE_NAME: 'datasets', DATABASE_URL: DEFAULTS.DATABASE_URL, NATS_URL: DEFAULTS.NATS_URL }).dataRoots).toEqual([]);
    expect(() => loadConfig({ SERVICE_NAME: 'datasets', DATA_ROOTS: 'data,/srv' })).toThrow(/DATA_ROOTS: must be absolute directories/);
  });

  it('runs the platform as NATS allows by default, and keeps local data under one directory that MODELTRAIL_DATA_DIR moves', () => {
    const defaults = loadConfig({ SERVICE_NAME: 'start' });
    expect(defaults).toMatchObject({ mode: 'auto', dataDir: resolve('data'), artifactRoot: 'data/artifacts' });
    expect(defaults.agent.dataDir).toBe(resolve('data/agent'));
    const moved = loadConfig({ SERVICE_NAME: 'start', MODELTRAIL_MODE: 'one-process', MODELTRAIL_DATA_DIR: '/var/lib/modeltrail' });
    expect(moved).toMatchObject({ mode: 'one-process', dataDir: '/var/lib/modeltrail', artifactRoot: '/var/lib/modeltrail/artifacts' });
    expect(moved.agent.dataDir).toBe('/var/lib/modeltrail/agent');
    // Set on their own, the artifact root and the agent's directory stay where they are put.
    const own = loadConfig({ SERVICE_NAME: 'start', MODELTRAIL_DATA_DIR: '/var/lib/modeltrail', ARTIFACT_ROOT: '/srv/artifacts', AGENT_DATA_DIR: '/srv/agent' });
    expect([own.artifactRoot, own.agent.dataDir]).toEqual(['/srv/artifacts', '/srv/agent']);
    expect(() => loadConfig({ SERVICE_NAME: 'start', MODELTRAIL_MODE: 'cluster' })).toThrow(/MODELTRAIL_MODE/);
  });

  it('reads the observability settings: no ops server, JSON logs and no tracing by default', () => {
    expect(loadConfig({ SERVICE_NAME: 'datasets' }).observability).toEqual({ logFormat: 'json', opsPort: undefined, opsHost: '127.0.0.1', metricsToken: undefined, otlpTracesUrl: undefined, otelServiceName: 'datasets' });
    const set = loadConfig({ SERVICE_NAME: 'datasets', OPS_PORT: '9464', OPS_HOST: '0.0.0.0', LOG_FORMAT: 'pretty', METRICS_TOKEN: 'a-long-metrics-token', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_SERVICE_NAME: 'mt-datasets' }).observability;
    expect(set).toEqual({ logFormat: 'pretty', opsPort: 9464, opsHost: '0.0.0.0', metricsToken: 'a-long-metrics-token', otlpTracesUrl: 'http://collector:4318/v1/traces', otelServiceName: 'mt-datasets' });
    // The traces endpoint is taken as it is, ahead of the general one.
    expect(loadConfig({ SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/traces' }).observability.otlpTracesUrl).toBe('https://b/traces');
    expect(loadConfig({ SERVICE_NAME: 'x', OPS_PORT: '0' }).observability.opsPort).toBe(0);
    let error: unknown;
    try {
      loadConfig({ SERVICE_NAME: 'x', OPS_PORT: '70000', LOG_FORMAT: 'xml', METRICS_TOKEN: 'short', OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://c:4317' });
    } catch (e) {
      error = e;
    }
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual(['LOG_FORMAT', 'METRICS_TOKEN', 'OPS_PORT', 'OTEL_EXPORTER_OTLP_ENDPOINT']);
    expect((error as Error).message).not.toContain('short');
  });

  it('leaves JetStream stream copies and the events stream size alone unless JETSTREAM_REPLICAS and EVENTS_STREAM_MAX_BYTES say', () => {
    const defaults = loadConfig({ SERVICE_NAME: 'relay' });
    expect([defaults.jetstreamReplicas, defaults.eventsStreamMaxBytes]).toEqual([undefined, undefined]);
    const cluster = loadConfig({ SERVICE_NAME: 'relay', JETSTREAM_REPLICAS: '3', EVENTS_STREAM_MAX_BYTES: '32212254720' });
    expect([cluster.jetstreamReplicas, cluster.eventsStreamMaxBytes]).toEqual([3, 32_212_254_720]);
    expect(() => loadConfig({ SERVICE_NAME: 'relay', JETSTREAM_REPLICAS: '7' })).toThrow(/JETSTREAM_REPLICAS/);
    expect(() => loadConfig({ SERVICE_NAME: 'relay', EVENTS_STREAM_MAX_BYTES: '10' })).toThrow(/EVENTS_STREAM_MAX_BYTES/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ EVENTSTORE_URL: '', SERVICE_NAME: 'x' }).eventStoreUrl).toBeUndefined();
  });

  it('names every bad variable and its problem, without printing secrets', () => {
    let error: unknown;
    try {
      loadConfig({ SERVICE_NAME: 'x', PORT: 'eighty', DATABASE_URL: 'mysql://root:hunter2@db/x', NATS_URL: 'http://nats', LOG_LEVEL: 'loud', NATS_NAMESPACE: 'a..b' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.variable).sort();
    expect(problems).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'NATS_NAMESPACE', 'NATS_URL', 'PORT']);
    const message = (error as Error).message;
    expect(message).toMatch(/PORT: must be a whole number/);
    expect(message).toMatch(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(message).not.toContain('hunter2');
  });

  it('requires explicit connections in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', SERVICE_NAME: 'x' })).toThrow(/DATABASE_URL: is required when NODE_ENV=production[\s\S]*NATS_URL: is required/);
  });

  it('requires a password with a NATS user, and a service name', () => {
    expect(() => loadConfig({ NATS_USER: 'datasets' })).toThrow(/NATS_PASSWORD: is required when NATS_USER is set[\s\S]*SERVICE_NAME: is required/);
  });

  describe('gateway settings', () => {
    it('reads API_TOKENS as token=user pairs; a token may contain "=" and spaces around entries are ignored', () => {
      const config = loadConfig({ SERVICE_NAME: 'gateway', API_TOKENS: ' s3cr3t=ada@example.com , dGVzdA===bob@example.com,', GRAPHQL_MAX_DEPTH: '8' });
      expect(config.apiTokens).toEqual([
        { token: 's3cr3t', user: 'ada@example.com' },
        { token: 'dGVzdA==', user: 'bob@example.com' },
      ]);
      expect(config.graphqlMaxDepth).toBe(8);
    });

    it('defaults to the development tokens (a developer and a reviewer) and a depth of 12 outside production only', () => {
      const development = loadConfig({ SERVICE_NAME: 'gateway' });
      expect(development.apiTokens).toEqual([DEVELOPMENT_API_TOKEN, DEVELOPMENT_REVIEWER_TOKEN]);
      expect(DEVELOPMENT_API_TOKEN).toEqual({ token: 'dev-token', user: 'developer@modeltrail.local' });
      expect(DEVELOPMENT_REVIEWER_TOKEN).toEqual({ token: 'reviewer-token', user: 'reviewer@modeltrail.local' });
      expect(development.graphqlMaxDepth).toBe(12);

      const production = loadConfig({ NODE_ENV: 'production', SERVICE_NAME: 'gateway', DATABASE_URL: 'postgres://db/mt', NATS_URL: 'nats://nats:4222' });
      expect(production.apiTokens).toEqual([]);
      expect(production.access.platformAdmins).toEqual([]);
    });

    it('makes every API_TOKENS user a platform admin outside production unless PLATFORM_ADMINS says who, and none in production', () => {
      expect(loadConfig({ SERVICE_NAME: 'gateway', API_TOKENS: 'a=ada@example.com,b=bob@example.com' }).access.platformAdmins).toEqual(['ada@example.com', 'bob@example.com']);
      expect(loadConfig({ SERVICE_NAME: 'gateway', API_TOKENS: 'a=ada@example.com,b=bob@example.com', PLATFORM_ADMINS: 'ops@example.com' }).access.platformAdmins).toEqual(['ops@example.com']);
      expect(loadConfig({ SERVICE_NAME: 'gateway' }).access.platformAdmins).toEqual([DEVELOPMENT_API_TOKEN.user, DEVELOPMENT_REVIEWER_TOKEN.user]);
    });
  });

  describe('access', () => {
    const production = { NODE_ENV: 'production', SERVICE_NAME: 'gateway', DATABASE_URL: 'postgres://db/mt', NATS_URL: 'nats://nats:4222' };

    it('needs ACTOR_SIGNING_KEY in production, of at least 32 bytes, base64 or hex, never printing it', () => {
      expect(() => requireActorSigningKey(loadConfig(production))).toThrow(/ACTOR_SIGNING_KEY: is required when NODE_ENV=production/);
      const key = Buffer.alloc(32, 7);
      expect(requireActorSigningKey(loadConfig({ ...production, ACTOR_SIGNING_KEY: key.toString('base64') }))).toEqual(key);
      expect(requireActorSigningKey(loadConfig({ ...production, ACTOR_SIGNING_KEY: key.toString('hex') }))).toEqual(key);
      expect(keyBytes(Buffer.alloc(31).toString('base64'))).toBeNull();
      expect(() => loadConfig({ ...production, ACTOR_SIGNING_KEY: 'short-secret' })).toThrow(/ACTOR_SIGNING_KEY: must be at least 32 random bytes.*\(got "\*\*\*"\)/);
      expect(requireActorSigningKey(loadConfig({ SERVICE_NAME: 'datasets' })).length).toBeGreaterThanOrEqual(32);
    });

    it('reads OIDC only with both issuer and audience, with an asymmetric allow-list', () => {
      expect(loadConfig(production).access.oidc).toBeUndefined();
      expect(() => loadConfig({ ...production, OIDC_ISSUER: 'https://login.example.com' })).toThrow(/OIDC_AUDIENCE: is required when the other/);
      const oidc = loadConfig({ ...production, OIDC_ISSUER: 'https://login.example.com', OIDC_AUDIENCE: 'modeltrail', OIDC_USER_CLAIM: 'email' }).access.oidc;
      expect(oidc).toEqual({ issuer: 'https://login.example.com', audience: 'modeltrail', jwksUrl: undefined, algorithms: ['RS256', 'ES256', 'EdDSA'], userClaim: 'email', clockToleranceSeconds: 30 });
      expect(() => loadConfig({ ...production, OIDC_ISSUER: 'https://login.example.com', OIDC_AUDIENCE: 'm', OIDC_ALGORITHMS: 'HS256' })).toThrow(/OIDC_ALGORITHMS: must be a comma-separated list of RS256/);
      expect(() => loadConfig({ ...production, OIDC_ISSUER: 'https://login.example.com', OIDC_AUDIENCE: 'm', OIDC_ALGORITHMS: 'none' })).toThrow(/OIDC_ALGORITHMS/);
    });

    it('turns introspection off in production unless GRAPHQL_INTROSPECTION says otherwise', () => {
      expect(loadConfig(production).access.graphqlIntrospection).toBe(false);
      expect(loadConfig({ SERVICE_NAME: 'gateway' }).access.graphqlIntrospection).toBe(true);
      expect(loadConfig({ ...production, GRAPHQL_INTROSPECTION: 'true' }).access.graphqlIntrospection).toBe(true);
      expect(loadConfig({ SERVICE_NAME: 'gateway', GRAPHQL_INTROSPECTION: 'false' }).access.graphqlIntrospection).toBe(false);
    });

    it('names API_TOKENS and the bad entry without printing any token', () => {
      const problems = (environment: Record<string, string>) => {
        try {
          loadConfig({ SERVICE_NAME: 'gateway', ...environment });
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          return (error as Error).message;
        }
        throw new Error('expected a ConfigError');
      };
      const missingUser = problems({ API_TOKENS: 'hunter2=ada@example.com,sekrit' });
      expect(missingUser).toMatch(/API_TOKENS: entry 2 must be token=user/);
      expect(missingUser).not.toMatch(/hunter2|sekrit/);
      expect(problems({ API_TOKENS: 'hunter2=ada@example.com,hunter2=bob@example.com' })).toMatch(/API_TOKENS: entry 2: the same token is listed twice/);
      expect(problems({ API_TOKENS: 'hunter 2=ada@example.com' })).toMatch(/API_TOKENS: entry 1: neither the token nor the user may contain spaces/);
      expect(problems({ API_TOKENS: ',' })).toMatch(/API_TOKENS: must list at least one token=user pair/);
      expect(problems({ GRAPHQL_MAX_DEPTH: '1' })).toMatch(/GRAPHQL_MAX_DEPTH: must be between 2 and 100/);
    });

    it('listens on 127.0.0.1 unless HOST says otherwise', () => {
      expect(loadConfig({ SERVICE_NAME: 'gateway' }).host).toBe('127.0.0.1');
      expect(loadConfig({ SERVICE_NAME: 'gateway', HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
      expect(() => loadConfig({ SERVICE_NAME: 'gateway', HOST: '0.0.0.0; rm -rf /' })).toThrow(/HOST: must be an IP address or a host name/);
    });

    it('refuses to listen beyond this machine while the development token is accepted', () => {
      const open = loadConfig({ SERVICE_NAME: 'gateway', HOST: '0.0.0.0' });
      expect(() => requireSafeListenAddress(open)).toThrow(ConfigError);
      expect(() => requireSafeListenAddress(open)).toThrow(/HOST: is 0.0.0.0, which is reachable from other machines, while the development token "dev-token" is accepted: set API_TOKENS/);
      // Listing the development token explicitly is the same hole.
      expect(() => requireSafeListenAddress(loadConfig({ SERVICE_NAME: 'gateway', HOST: '::', API_TOKENS: 'dev-token=dev@example.com' }))).toThrow(/HOST: is ::/);
      expect(() => requireSafeListenAddress(loadConfig({ SERVICE_NAME: 'gateway', HOST: '0.0.0.0', API_TOKENS: 'reviewer-token=rev@example.com' }))).toThrow(/"reviewer-token" is accepted/);
      expect(requireSafeListenAddress(loadConfig({ SERVICE_NAME: 'gateway', HOST: '0.0.0.0', API_TOKENS: 's3cr3t=ada@example.com' }))).toBe('0.0.0.0');
      expect(requireSafeListenAddress(loadConfig({ SERVICE_NAME: 'gateway' }))).toBe('127.0.0.1');
      expect(requireSafeListenAddress(loadConfig({ SERVICE_NAME: 'gateway', HOST: 'localhost' }))).toBe('localhost');
    });

    it('knows which addresses are loopback', () => {
      for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(host)).toBe(true);
      for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'gateway.internal', '128.0.0.1', '::ffff:10.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
    });
  });

  describe('training jobs', () => {
    it('has defaults that requeue the jobs of a lost agent well within 30 s', () => {
      const config = loadConfig({}, { serviceName: 'scheduler' });
      expect(config.scheduler).toMatchObject({ heartbeatMs: 3_000, leaseMs: 15_000, jobLogMaxBytes: 10 * 1024 * 1024, sweepTrialLimit: 1_000 });
      expect(config.scheduler.workingDirRoots).toContain(process.cwd());
      expect(config.agent).toMatchObject({ labels: {}, jobUser: 'nobody', nvidiaSmi: 'nvidia-smi', nvidiaSmiTimeoutMs: 5_000 });
      expect(config.telemetryStream).toBe('MT_TELEMETRY');
      expect(loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/mt', NATS_URL: 'nats://n:4222' }, { serviceName: 'scheduler' }).scheduler.workingDirRoots).toEqual([]);
    });

    it('reads agent labels and capacity, and names what is wrong', () => {
      const config = loadConfig({ AGENT_LABELS: 'gpu=a100, zone=eu-west', AGENT_CPUS: '8', AGENT_MEMORY_MB: '32000', AGENT_ID: '6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b' }, { serviceName: 'agent' });
      expect(config.agent).toMatchObject({ labels: { gpu: 'a100', zone: 'eu-west' }, cpus: 8, memoryMb: 32_000, id: '6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b' });
      expect(() => loadConfig({ AGENT_LABELS: 'gpu' }, { serviceName: 'agent' })).toThrow(/AGENT_LABELS: entry 1 must be key=value/);
      expect(() => loadConfig({ AGENT_ID: 'host-1' }, { serviceName: 'agent' })).toThrow(/AGENT_ID: must be a UUID/);
      expect(() => loadConfig({ AGENT_HEARTBEAT_MS: '5000', AGENT_LEASE_MS: '6000' }, { serviceName: 'agent' })).toThrow(/AGENT_LEASE_MS: must be at least twice AGENT_HEARTBEAT_MS/);
      expect(() => loadConfig({ JOB_WORKING_DIR_ROOTS: 'relative/dir' }, { serviceName: 'scheduler' })).toThrow(/JOB_WORKING_DIR_ROOTS: must be absolute directories/);
    });
  });
});
