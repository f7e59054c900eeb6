import 'reflect-metadata';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import { accessRpc, agentPrincipal, formatApiKey, type MessageHeaders, schedulerRpc, UnauthenticatedError } from '@modeltrail/contracts';
import { agentCredentials, ApiKeyCredentialVerifier, connectBus, type ManagedBus, NatsRpcTransport, RpcClient, type RpcServer, serveRpc } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { describeOnTestBus, onTestBus, TEST_ACTOR_SIGNING_KEY, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { AccessModule } from '../../../access/src/access.module';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The agent credential path end to end, with the real access service: an AGENT API key sent as
 * Mt-Credential is checked by the responder with AuthenticateApiKey (signed as the service), and
 * the handler acts as `agent:<agentId>`; other keys are refused before the handler.
 */
describeOnTestBus('agent credentials checked with the access service', () => {
  const schema = uniqueName('agentcred');
  const config = onTestBus(loadConfig({ SERVICE_NAME: 'access', DATABASE_URL: TEST_DATABASE_URL, NATS_NAMESPACE: schema, EVENTSTORE_SCHEMA: schema, READ_MODEL_SCHEMA: schema }));
  const admin = { actor: 'ada@example.com', correlationId: 'corr-agent-cred' };
  const pool = createPool(TEST_DATABASE_URL, { max: 1 });
  let access: INestMicroservice;
  let caller: ManagedBus;
  let rpc: RpcClient;
  let responder: RpcServer;
  const seen: MessageHeaders[] = [];

  async function createKey(fields: { kind: 'AGENT' | 'PERSONAL'; agentId?: string }) {
    const keyId = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const principal = fields.kind === 'AGENT' ? agentPrincipal(fields.agentId!) : 'ada@example.com';
    await rpc.request(accessRpc.createApiKey, { keyId, name: `key ${keyId}`, secretHash: sha256(secret), kind: fields.kind, principal, agentId: fields.agentId ?? null }, { headers: admin });
    return { keyId, text: formatApiKey(keyId, secret) };
  }

  const heartbeat = (client: RpcClient, agentId: string) =>
    client.request(schedulerRpc.agentHeartbeat, { agentId, sessionId: randomUUID(), running: [], gpuStatus: [], acceptAssignments: true }, { headers: { actor: 'whoever-it-claims', correlationId: 'c' } });

  beforeAll(async () => {
    access = await NestFactory.createMicroservice(AccessModule.forRoot(config), {
      strategy: new NatsRpcTransport({ nats: { url: TEST_BUS_URL, name: 'agent-cred-access' }, namespace: schema, actors: { signingKey: TEST_ACTOR_SIGNING_KEY } }),
      logger: false,
    });
    await access.listen();
    caller = await connectBus({ url: TEST_BUS_URL, name: 'agent-cred-caller' });
    rpc = new RpcClient(caller.nc, { signingKey: TEST_ACTOR_SIGNING_KEY, timeoutMs: 15_000, namespace: schema });
    // A scheduler stand-in that agents may call: it checks credentials as the scheduler's main does.
    responder = serveRpc(
      caller.nc,
      schedulerRpc.agentHeartbeat,
      (_req, headers) => {
        seen.push(headers);
        return { leaseExpiresAt: new Date().toISOString(), cancel: [], abandon: [], assignments: [], reregister: false };
      },
      { namespace: schema, actors: { signingKey: TEST_ACTOR_SIGNING_KEY, credentials: agentCredentials({ signingKey: TEST_ACTOR_SIGNING_KEY, actor: 'service:scheduler', namespace: schema }) } },
    );
    await caller.nc.flush();
  });

  afterAll(async () => {
    await responder?.stop();
    await access?.close();
    await caller?.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`).catch(() => undefined);
    await pool.end();
  });

  it('acts as the agent of an AGENT key, whatever actor the request claims', async () => {
    const agentId = randomUUID();
    const key = await createKey({ kind: 'AGENT', agentId });
    const agent = new RpcClient(caller.nc, { credential: key.text, namespace: schema, timeoutMs: 15_000 });
    await expect(heartbeat(agent, agentId)).resolves.toMatchObject({ reregister: false });
    expect(seen.at(-1)?.actor).toBe(agentPrincipal(agentId));
  });

  it('refuses a PERSONAL key, a wrong secret and a revoked key before the handler', async () => {
    const agentId = randomUUID();
    const before = seen.length;
    const personal = await createKey({ kind: 'PERSONAL' });
    await expect(heartbeat(new RpcClient(caller.nc, { credential: personal.text, namespace: schema }), agentId)).rejects.toBeInstanceOf(UnauthenticatedError);

    const key = await createKey({ kind: 'AGENT', agentId });
    const wrong = `${key.text.slice(0, -1)}${key.text.endsWith('A') ? 'B' : 'A'}`;
    await expect(heartbeat(new RpcClient(caller.nc, { credential: wrong, namespace: schema }), agentId)).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(seen).toHaveLength(before);

    // A verifier keeps a positive answer at most 30 s; one that keeps none sees the revocation at once.
    const verifier = new ApiKeyCredentialVerifier(rpc, { actor: 'service:scheduler', cacheMs: 0 });
    await expect(verifier.verify(key.text)).resolves.toEqual({ principal: agentPrincipal(agentId) });
    await rpc.request(accessRpc.revokeApiKey, { keyId: key.keyId }, { headers: admin });
    await expect(verifier.verify(key.text)).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});
