import 'reflect-metadata';
import { Controller, type DynamicModule, Global, Module } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Pool } from 'pg';
import { loadConfig } from '@modeltrail/config';
import { defineRpc, z } from '@modeltrail/contracts';
import { acquireOpsServer } from '@modeltrail/observability';
import { createPool, PG_POOL } from '@modeltrail/postgres';
import { freePort, signedRpcClient, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { connectBus, type ManagedBus } from './bus';
import { closeInProcessBus } from './in-process-bus';
import { RpcPattern } from './rpc.decorators';
import { createServiceApp } from './service-app';

const Ping = defineRpc(`${uniqueName('mt.qry.opstest')}.Ping`, z.object({ n: z.number() }), z.object({ n: z.number() }));

@Controller()
class PingHandlers {
  @RpcPattern(Ping)
  ping(@Payload() request: { n: number }) {
    return { n: request.n };
  }
}

/** A service module with the given pool as its PG_POOL, as PostgresModule provides it. */
function pingModule(pool: Pool): DynamicModule {
  @Global()
  @Module({ providers: [{ provide: PG_POOL, useValue: pool }], exports: [PG_POOL] })
  class PoolModule {}
  @Module({})
  class PingModule {}
  return { module: PingModule, imports: [PoolModule], controllers: [PingHandlers] };
}

/**
 * A service app made by createServiceApp serves /health, /ready and /metrics on OPS_PORT (0: a
 * free port): /ready asks its bus and its database, and names what does not answer.
 */
describe('createServiceApp: ops server, readiness and metrics', () => {
  const busUrl = `in-process://${uniqueName('ops')}`;
  let caller: ManagedBus;

  beforeAll(async () => {
    caller = await connectBus({ url: busUrl, name: 'ops-caller' });
  });
  afterAll(async () => {
    await caller.close();
    await closeInProcessBus(busUrl);
  });

  const configFor = (serviceName: string) => ({ ...loadConfig({ SERVICE_NAME: serviceName, OPS_PORT: '0', LOG_LEVEL: 'warn' }), natsUrl: busUrl });
  /** The URL of the process's ops server (shared: acquiring it again finds the running one). */
  const opsUrl = async () => {
    const ops = await acquireOpsServer({ port: 0, host: '127.0.0.1' });
    await ops!.release();
    return ops!.server.url;
  };

  it('answers /ready 503 naming the database while the pool points at a closed port', async () => {
    const closed = createPool(`postgres://postgres@127.0.0.1:${await freePort()}/nothing`, { max: 1 });
    const app = await createServiceApp(pingModule(closed), configFor('pinger'));
    try {
      await app.listen();
      const url = await opsUrl();
      expect((await fetch(`${url}/health`)).status).toBe(200);
      const ready = await fetch(`${url}/ready`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { status: string; notReady: Array<{ name: string; reason: string }>; checks: Record<string, { ok: boolean }> };
      expect(body.status).toBe('not ready');
      expect(body.notReady.map((n) => n.name)).toEqual(['pinger:database']);
      expect(body.notReady[0].reason).toMatch(/ECONNREFUSED/);
      expect(body.checks['pinger:bus']).toEqual({ ok: true });
    } finally {
      await app.close();
      await closed.end();
    }
  });

  it('answers /ready 200 when the bus and the database answer, and /metrics counts the requests it handled', async () => {
    const pool = createPool(TEST_DATABASE_URL, { max: 2 });
    const app = await createServiceApp(pingModule(pool), configFor('ponger'));
    const url = await opsUrl();
    try {
      // Not listening yet: the bus is not ready.
      const early = (await (await fetch(`${url}/ready`)).json()) as { notReady: Array<{ name: string }> };
      expect(early.notReady.map((n) => n.name)).toEqual(['ponger:bus']);
      await app.listen();
      const ready = await fetch(`${url}/ready`);
      expect([ready.status, ((await ready.json()) as { checks: unknown }).checks]).toEqual([200, { 'ponger:bus': { ok: true }, 'ponger:database': { ok: true } }]);

      const rpc = signedRpcClient(caller.nc);
      for (const n of [1, 2, 3]) await rpc.request(Ping, { n }, { headers: { actor: 'user:ada', correlationId: `ping-${n}` } });
      await expect(rpc.request(Ping, { n: 'four' } as unknown as { n: number }, { headers: { actor: 'user:ada', correlationId: 'ping-4' } })).rejects.toThrow(/n/);
      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await metrics.text();
      const sample = (labels: string) => Number(new RegExp(`^modeltrail_rpc_server_duration_seconds_count\\{[^}]*subject="${Ping.subject.replace(/\./g, '\\.')}",outcome="${labels}"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1]);
      expect(sample('ok')).toBe(3);
      expect(sample('VALIDATION')).toBe(1);
      expect(text).toMatch(/^modeltrail_process_cpu_user_seconds_total\{service="[a-z]+"\} [\d.e+-]+$/m);
      expect(text).not.toMatch(/ping-\d/); // no correlation ids in labels
    } finally {
      await app.close();
      await pool.end();
    }
    // Closed: the ops server is gone with the last app that used it.
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});
