import { ConfigError, DEFAULTS, loadConfig } from './config';

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
});
