import { ConfigError, loadConfig } from '@modeltrail/config';
import { addressPolicyOf } from './webhooks.module';

describe('webhooks configuration', () => {
  it('has defaults, and reads WEBHOOK_* when set', () => {
    expect(loadConfig({}, { serviceName: 'webhooks' }).webhooks).toEqual({ timeoutMs: 10_000, maxAttempts: 10, baseDelayMs: 10_000, maxDelayMs: 3_600_000, allowedHosts: [], maxResponseBytes: 2_048, concurrency: 8 });
    const config = loadConfig({ WEBHOOK_TIMEOUT_MS: '2500', WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_ALLOWED_HOSTS: 'Hooks.Internal, 10.0.0.7,[::1]' }, { serviceName: 'webhooks' });
    expect(config.webhooks).toMatchObject({ timeoutMs: 2_500, maxAttempts: 3, allowedHosts: ['hooks.internal', '10.0.0.7', '::1'] });
  });

  it('names a bad variable', () => {
    expect(() => loadConfig({ WEBHOOK_MAX_ATTEMPTS: 'many' }, { serviceName: 'webhooks' })).toThrow(ConfigError);
    expect(() => loadConfig({ WEBHOOK_ALLOWED_HOSTS: 'a b' }, { serviceName: 'webhooks' })).toThrow(/WEBHOOK_ALLOWED_HOSTS/);
  });

  it('blocks non-public addresses in production only', () => {
    expect(addressPolicyOf(loadConfig({}, { serviceName: 'webhooks' })).blockPrivate).toBe(false);
    const production = { ...loadConfig({}, { serviceName: 'webhooks' }), env: 'production' as const };
    expect(addressPolicyOf(production).blockPrivate).toBe(true);
  });
});
