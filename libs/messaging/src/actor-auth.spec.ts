import { createHash, randomBytes } from 'node:crypto';
import { DEVELOPMENT_ACTOR_SIGNING_KEY, keyBytes } from '@modeltrail/config';
import { accessRpc, defineRpc, formatApiKey, type MessageHeaders, UnauthenticatedError, UnavailableError, z } from '@modeltrail/contracts';
import { describeWithNats, TEST_ACTOR_SIGNING_KEY, TEST_NATS_URL, uniqueName } from '@modeltrail/testing';
import { RecordingLogger } from '../test/recording-logger';
import { ActorSigner, actorSigningKeyFromEnvironment, type CredentialVerifier, HEADER_CREDENTIAL, HEADER_SIGNATURE, MAX_SIGNATURE_SKEW_MS, UNVERIFIED_ACTORS_FOR_TESTS } from './actor-auth';
import { ApiKeyCredentialVerifier } from './agent-credentials';
import { toNatsHeaders } from './headers';
import { connectNats, type ManagedNatsConnection } from './nats.connection';
import { RpcClient } from './rpc.client';
import { decodeJson, encodeJson, type RpcReplyEnvelope } from './rpc.envelope';
import { type RpcServer, serveRpc } from './rpc.server';

const key = randomBytes(32);
const who: MessageHeaders = { actor: 'ada@example.com', correlationId: 'corr-1', causationId: 'cause-1', commandId: 'cmd-1' };
const body = encodeJson({ name: 'x', count: 1 });
const subject = 'ns1.mt.cmd.things.CreateThing';

describe('ActorSigner', () => {
  const signer = new ActorSigner(key);
  const now = 1_800_000_000_000;
  const signature = signer.sign(subject, who, body, now);

  it('accepts its own signature of the same request', () => {
    expect(signature).toMatch(/^v1\.1800000000000\.[A-Za-z0-9_-]{43}$/);
    expect(signer.verify(subject, who, body, signature, now + 1000)).toBe(true);
  });

  it('refuses a tampered actor, correlation, causation or command id', () => {
    expect(signer.verify(subject, { ...who, actor: 'admin@example.com' }, body, signature, now)).toBe(false);
    expect(signer.verify(subject, { ...who, correlationId: 'corr-2' }, body, signature, now)).toBe(false);
    expect(signer.verify(subject, { ...who, causationId: undefined }, body, signature, now)).toBe(false);
    expect(signer.verify(subject, { ...who, commandId: 'cmd-2' }, body, signature, now)).toBe(false);
  });

  it('refuses a tampered body or subject (namespace included)', () => {
    expect(signer.verify(subject, who, encodeJson({ name: 'x', count: 2 }), signature, now)).toBe(false);
    expect(signer.verify('mt.cmd.things.CreateThing', who, body, signature, now)).toBe(false);
    expect(signer.verify('ns1.mt.cmd.things.DeleteThing', who, body, signature, now)).toBe(false);
  });

  it('refuses a signature made more than 5 minutes away, or with another key, or malformed', () => {
    expect(signer.verify(subject, who, body, signature, now + MAX_SIGNATURE_SKEW_MS)).toBe(true);
    expect(signer.verify(subject, who, body, signature, now + MAX_SIGNATURE_SKEW_MS + 1)).toBe(false);
    expect(signer.verify(subject, who, body, signature, now - MAX_SIGNATURE_SKEW_MS - 1)).toBe(false);
    expect(new ActorSigner(randomBytes(32)).verify(subject, who, body, signature, now)).toBe(false);
    // A re-timestamped signature does not verify: the timestamp is signed.
    expect(signer.verify(subject, who, body, signature.replace('1800000000000', String(now + 1)), now)).toBe(false);
    for (const bad of ['', 'v1', 'v2.1800000000000.x', `v1.abc.${signature.split('.')[2]}`, `${signature}=`]) expect(signer.verify(subject, who, body, bad, now)).toBe(false);
  });

  it('takes only keys of at least 32 bytes', () => {
    expect(() => new ActorSigner(randomBytes(16))).toThrow(/32 bytes/);
  });

  it('uses the development key outside production and requires ACTOR_SIGNING_KEY in production', () => {
    expect(actorSigningKeyFromEnvironment({ NODE_ENV: 'test' }).equals(keyBytes(DEVELOPMENT_ACTOR_SIGNING_KEY)!)).toBe(true);
    expect(actorSigningKeyFromEnvironment({ NODE_ENV: 'production', ACTOR_SIGNING_KEY: key.toString('hex') }).equals(key)).toBe(true);
    expect(() => actorSigningKeyFromEnvironment({ NODE_ENV: 'production' })).toThrow(/ACTOR_SIGNING_KEY is required/);
  });
});

describe('ApiKeyCredentialVerifier', () => {
  const agentId = '5b0c9a3e-2c1f-4d7a-9a7e-0d3f1b2c4e5f';
  const keyId = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
  const secret = 'a'.repeat(43);
  const credential = formatApiKey(keyId, secret);
  const view = (overrides: Record<string, unknown> = {}) => ({
    key: { keyId, kind: 'AGENT', principal: `agent:${agentId}`, agentId, status: 'ACTIVE', expiresAt: null as string | null, ...overrides },
    access: { principal: `agent:${agentId}`, platformAdmin: false, projects: [] },
  });

  function verifierWith(reply: () => unknown, now: { t: number }) {
    const calls: Array<{ payload: unknown; headers: MessageHeaders }> = [];
    const rpc = {
      request: jest.fn(async (def: unknown, payload: unknown, options: { headers: MessageHeaders }) => {
        expect(def).toBe(accessRpc.authenticateApiKey);
        calls.push({ payload, headers: options.headers });
        const value = reply();
        if (value instanceof Error) throw value;
        return value;
      }),
    };
    return { verifier: new ApiKeyCredentialVerifier(rpc as never, { actor: 'service:scheduler', now: () => now.t }), calls };
  }

  it('sends the key id and the SHA-256 of the secret as the service, and keeps a positive answer 30 s', async () => {
    const now = { t: 1_000_000 };
    const { verifier, calls } = verifierWith(() => view(), now);
    await expect(verifier.verify(credential)).resolves.toEqual({ principal: `agent:${agentId}` });
    expect(calls[0].payload).toEqual({ keyId, secretHash: createHash('sha256').update(secret).digest('hex') });
    expect(calls[0].headers.actor).toBe('service:scheduler');
    now.t += 29_000;
    await verifier.verify(credential);
    expect(calls).toHaveLength(1);
    now.t += 2_000;
    await verifier.verify(credential);
    expect(calls).toHaveLength(2);
  });

  it('keeps an answer no longer than the key lives', async () => {
    const now = { t: Date.parse('2026-01-01T00:00:00.000Z') };
    const { verifier, calls } = verifierWith(() => view({ expiresAt: '2026-01-01T00:00:05.000Z' }), now);
    await verifier.verify(credential);
    now.t += 6_000;
    await verifier.verify(credential).catch(() => undefined);
    expect(calls).toHaveLength(2);
  });

  it('refuses what is not an ACTIVE AGENT key of its own agent, and does not keep refusals', async () => {
    const now = { t: 1_000_000 };
    for (const overrides of [{ kind: 'PERSONAL' }, { status: 'REVOKED' }, { principal: 'agent:someone-else' }]) {
      const { verifier } = verifierWith(() => view(overrides), now);
      await expect(verifier.verify(credential)).rejects.toBeInstanceOf(UnauthenticatedError);
    }
    const { verifier } = verifierWith(() => view(), now);
    await expect(verifier.verify('not-a-key')).rejects.toBeInstanceOf(UnauthenticatedError);
    let answer: unknown = new UnauthenticatedError('unknown key');
    const second = verifierWith(() => answer, now);
    await expect(second.verifier.verify(credential)).rejects.toBeInstanceOf(UnauthenticatedError);
    answer = view();
    await expect(second.verifier.verify(credential)).resolves.toEqual({ principal: `agent:${agentId}` });
  });
});

describeWithNats('answerRpc checks who acts (real NATS)', () => {
  const base = uniqueName('mt.cmd.actortest');
  const Create = defineRpc(`${base}.Create`, z.object({ name: z.string() }), z.object({ by: z.string() }));
  const AgentReport = defineRpc(`${base}.AgentReport`, z.object({ name: z.string() }), z.object({ by: z.string() }), { callers: ['agent'] });
  const Open = defineRpc(`${base}.Open`, z.object({}), z.object({ by: z.string() }));
  const goodKey = `mtk_${'1'.repeat(32)}_${'g'.repeat(43)}`;
  let server: ManagedNatsConnection;
  let client: ManagedNatsConnection;
  const logger = new RecordingLogger();
  const handled: string[] = [];
  const responders: RpcServer[] = [];
  const verifier: CredentialVerifier = {
    async verify(credential) {
      if (credential === goodKey) return { principal: 'agent:agent-1' };
      if (credential.startsWith('down')) throw new UnavailableError('access service down');
      throw new UnauthenticatedError('unknown key');
    },
  };

  beforeAll(async () => {
    server = await connectNats({ url: TEST_NATS_URL, name: 'actor-test-server', logger });
    client = await connectNats({ url: TEST_NATS_URL, name: 'actor-test-client', logger });
    const actors = { signingKey: TEST_ACTOR_SIGNING_KEY, credentials: verifier };
    responders.push(
      serveRpc(server.nc, Create, (_req, headers) => (handled.push(`create:${headers.actor}`), { by: headers.actor }), { logger, actors }),
      serveRpc(server.nc, AgentReport, (_req, headers) => (handled.push(`report:${headers.actor}`), { by: headers.actor }), { logger, actors }),
      serveRpc(server.nc, Open, (_req, headers) => ({ by: headers.actor }), { logger, actors: UNVERIFIED_ACTORS_FOR_TESTS }),
    );
    await server.nc.flush();
  });

  afterAll(async () => {
    await Promise.all(responders.map((r) => r.stop()));
    await client.close();
    await server.close();
  });

  beforeEach(() => {
    handled.length = 0;
    logger.entries.length = 0;
  });

  async function raw(subjectName: string, headers: MessageHeaders, extra: Record<string, string> = {}, payload: unknown = { name: 'x' }): Promise<RpcReplyEnvelope> {
    const h = toNatsHeaders(headers);
    for (const [name, value] of Object.entries(extra)) h.set(name, value);
    const reply = await client.nc.request(subjectName, encodeJson(payload), { headers: h, timeout: 2000 });
    return decodeJson(reply.data) as RpcReplyEnvelope;
  }

  it('answers a request signed with the key, as its actor', async () => {
    const rpc = new RpcClient(client.nc, { signingKey: TEST_ACTOR_SIGNING_KEY });
    await expect(rpc.request(Create, { name: 'x' }, { headers: who })).resolves.toEqual({ by: who.actor });
    expect(handled).toEqual([`create:${who.actor}`]);
  });

  it('refuses an unsigned actor without calling the handler, and logs it at warn', async () => {
    await expect(raw(Create.subject, who)).resolves.toEqual({ ok: false, error: { code: 'UNAUTHENTICATED', message: `request to ${Create.subject} has an unsigned actor`, details: { subject: Create.subject } } });
    await expect(new RpcClient(client.nc).request(Create, { name: 'x' }, { headers: who })).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(handled).toEqual([]);
    const warning = logger.entries.find((e) => e.level === 'warn');
    expect(warning?.message).toContain(Create.subject);
    expect(warning?.message).toContain(who.actor);
  });

  it('refuses a forged actor: garbage, another key, a changed actor or body, an old signature', async () => {
    const signer = new ActorSigner(TEST_ACTOR_SIGNING_KEY);
    const body = encodeJson({ name: 'x' });
    const cases: Array<[MessageHeaders, Record<string, string>, unknown]> = [
      [who, { [HEADER_SIGNATURE]: 'garbage' }, { name: 'x' }],
      [who, { [HEADER_SIGNATURE]: new ActorSigner(randomBytes(32)).sign(Create.subject, who, body) }, { name: 'x' }],
      [{ ...who, actor: 'admin' }, { [HEADER_SIGNATURE]: signer.sign(Create.subject, who, body) }, { name: 'x' }],
      [who, { [HEADER_SIGNATURE]: signer.sign(Create.subject, who, body) }, { name: 'y' }],
      [who, { [HEADER_SIGNATURE]: signer.sign(AgentReport.subject, who, body) }, { name: 'x' }],
      [who, { [HEADER_SIGNATURE]: signer.sign(Create.subject, who, body, Date.now() - MAX_SIGNATURE_SKEW_MS - 10_000) }, { name: 'x' }],
    ];
    for (const [headers, extra, payload] of cases) {
      const reply = await raw(Create.subject, headers, extra, payload);
      expect(reply).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED', message: `request to ${Create.subject} has a forged actor` } });
    }
    expect(handled).toEqual([]);
    expect(logger.entries.filter((e) => e.level === 'warn')).toHaveLength(cases.length);
  });

  it('takes an agent credential only where the definition lets agents call, acting as the key principal', async () => {
    const agent = new RpcClient(client.nc, { credential: goodKey });
    await expect(agent.request(AgentReport, { name: 'x' }, { headers: { actor: 'ada@example.com', correlationId: 'c' } })).resolves.toEqual({ by: 'agent:agent-1' });
    await expect(agent.request(Create, { name: 'x' }, { headers: { actor: 'agent:agent-1', correlationId: 'c' } })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(handled).toEqual(['report:agent:agent-1']);
  });

  it('refuses an unknown credential, and passes on an unavailable access service', async () => {
    await expect(raw(AgentReport.subject, who, { [HEADER_CREDENTIAL]: `mtk_${'2'.repeat(32)}_${'g'.repeat(43)}` })).resolves.toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    await expect(raw(AgentReport.subject, who, { [HEADER_CREDENTIAL]: 'down-key' })).resolves.toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(handled).toEqual([]);
  });

  it('answers anything only where a test asked for unverified actors', async () => {
    await expect(raw(Open.subject, who, {}, {})).resolves.toEqual({ ok: true, data: { by: who.actor } });
  });
});
