import { randomBytes } from 'node:crypto';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { defineRpc, InternalError, NotFoundError, ValidationError, z, type MessageHeaders } from '@modeltrail/contracts';
import { describeWithNats, signedRpcClient, TEST_NATS_URL, uniqueName } from '@modeltrail/testing';
import { RecordingLogger } from '../test/recording-logger';
import { MessagingModule, NATS_CONNECTION } from './messaging.module';
import { NatsRpcContext, RpcHeaders } from './nats-rpc.context';
import { NatsRpcTransport } from './nats-rpc.transport';
import { connectNats, type ManagedNatsConnection } from './nats.connection';
import { RpcClient } from './rpc.client';
import { RpcPattern } from './rpc.decorators';

const base = uniqueName('mt.cmd.nesttest');
const RegisterModel = defineRpc(`${base}.RegisterModel`, z.object({ name: z.string().min(1) }), z.object({ modelId: z.string(), registeredBy: z.string(), correlationId: z.string() }));
const FindModel = defineRpc(`${base}.FindModel`, z.object({ modelId: z.string() }), z.object({ name: z.string() }));
/** Served by a plain @MessagePattern; its definition reaches the transport through `definitions`. */
const Double = defineRpc(`${base}.Double`, z.object({ n: z.number() }), z.object({ doubled: z.number(), actor: z.string(), subject: z.string() }));
const Archive = defineRpc(`${base}.Archive`, z.object({ modelId: z.string() }), z.object({}));
const Explode = defineRpc(`${base}.Explode`, z.object({}), z.object({}));

@Controller()
class ModelsController {
  calls = 0;

  @RpcPattern(RegisterModel)
  register(@Payload() request: z.output<typeof RegisterModel.request>, @RpcHeaders() headers: MessageHeaders): z.output<typeof RegisterModel.reply> {
    this.calls += 1;
    return { modelId: `model-${request.name}`, registeredBy: headers.actor, correlationId: headers.correlationId };
  }

  @RpcPattern(FindModel)
  async find(@Payload() request: z.output<typeof FindModel.request>): Promise<z.output<typeof FindModel.reply>> {
    throw new NotFoundError(`model ${request.modelId} does not exist`, { modelId: request.modelId });
  }

  @MessagePattern(Double.subject)
  double(@Payload() data: { n: number }, @Ctx() context: NatsRpcContext): z.output<typeof Double.reply> {
    return { doubled: data.n * 2, actor: context.getHeaders().actor, subject: context.getSubject() };
  }

  /** Plain @MessagePattern: typed errors survive thanks to MessagingModule's global filter. */
  @MessagePattern(Archive.subject)
  archive(@Payload() data: { modelId: string }): never {
    throw new NotFoundError(`model ${data.modelId} does not exist`);
  }

  @MessagePattern(Explode.subject)
  explode(): never {
    throw new Error('connection string postgres://admin:secret@db');
  }
}

@Module({
  imports: [MessagingModule.forRoot({ nats: { url: TEST_NATS_URL, name: 'nest-test-app', logger: new RecordingLogger() } })],
  controllers: [ModelsController],
})
class ModelsModule {}

const who: MessageHeaders = { actor: 'user:grace', correlationId: 'corr-nest' };

describeWithNats('NatsRpcTransport (Nest custom transport)', () => {
  let app: INestMicroservice;
  let client: ManagedNatsConnection;
  let rpc: RpcClient;

  beforeAll(async () => {
    app = await NestFactory.createMicroservice(ModelsModule, {
      strategy: new NatsRpcTransport({ nats: { url: TEST_NATS_URL, name: 'nest-test-transport', logger: new RecordingLogger() }, queue: 'models', definitions: [Double], logger: new RecordingLogger() }),
      logger: false,
    });
    await app.listen();
    client = await connectNats({ url: TEST_NATS_URL, name: 'nest-test-client', logger: new RecordingLogger() });
    rpc = signedRpcClient(client.nc, { timeoutMs: 2000 });
  });

  afterAll(async () => {
    await app?.close();
    await client?.close();
  });

  it('serves an @RpcPattern handler: typed reply, headers through @RpcHeaders()', async () => {
    await expect(rpc.request(RegisterModel, { name: 'churn' }, { headers: who })).resolves.toEqual({ modelId: 'model-churn', registeredBy: 'user:grace', correlationId: 'corr-nest' });
  });

  it('refuses an unsigned or forged actor before the handler runs (it verifies with the environment key when given none)', async () => {
    const before = app.get(ModelsController).calls;
    await expect(new RpcClient(client.nc).request(RegisterModel, { name: 'forged' }, { headers: who })).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: `request to ${RegisterModel.subject} has an unsigned actor` });
    await expect(new RpcClient(client.nc, { signingKey: randomBytes(32) }).request(RegisterModel, { name: 'forged' }, { headers: who })).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: `request to ${RegisterModel.subject} has a forged actor`,
    });
    expect(app.get(ModelsController).calls).toBe(before);
  });

  it('validates the request before the handler runs', async () => {
    const before = app.get(ModelsController).calls;

    const error = await rpc.request(RegisterModel, { name: '' }, { headers: who }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toContain('field "name"');
    expect(app.get(ModelsController).calls).toBe(before);
  });

  it('keeps a thrown NotFoundError typed, from @RpcPattern and from a plain @MessagePattern', async () => {
    await expect(rpc.request(FindModel, { modelId: 'm-1' }, { headers: who })).rejects.toEqual(new NotFoundError('model m-1 does not exist', { modelId: 'm-1' }));
    const archived = await rpc.request(Archive, { modelId: 'm-2' }, { headers: who }).catch((e: unknown) => e);
    expect(archived).toBeInstanceOf(NotFoundError);
    expect(archived).toMatchObject({ code: 'NOT_FOUND', message: 'model m-2 does not exist' });
  });

  it('serves a plain @MessagePattern handler with @Payload() and @Ctx() NatsRpcContext, validated through `definitions`', async () => {
    await expect(rpc.request(Double, { n: 21 }, { headers: who })).resolves.toEqual({ doubled: 42, actor: 'user:grace', subject: Double.subject });
    await expect(rpc.request(Double, { n: 'x' } as never, { headers: who })).rejects.toBeInstanceOf(ValidationError);
  });

  it('answers an unexpected error with INTERNAL and no detail', async () => {
    const error = await rpc.request(Explode, {}, { headers: who }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InternalError);
    expect((error as InternalError).message).toBe(`internal error while handling ${Explode.subject}`);
  });

  it('unwraps to its NATS connection', () => {
    const transport = (app as unknown as { serverInstance: NatsRpcTransport }).serverInstance;
    expect(transport.unwrap<{ isClosed(): boolean }>().isClosed()).toBe(false);
  });
});

describeWithNats('NatsRpcTransport on the app connection (useFactory)', () => {
  it('serves handlers on the connection of MessagingModule, and app.close() drains it', async () => {
    const app = await NestFactory.createMicroservice(ModelsModule, {
      inject: [NATS_CONNECTION],
      useFactory: (nc: ManagedNatsConnection['nc']) => ({ strategy: new NatsRpcTransport({ connection: nc, logger: new RecordingLogger() }) }),
      logger: false,
    });
    await app.listen();
    const appConnection = app.get<ManagedNatsConnection['nc']>(NATS_CONNECTION);
    const client = await connectNats({ url: TEST_NATS_URL, name: 'nest-test-client-2', logger: new RecordingLogger() });
    try {
      await expect(signedRpcClient(client.nc).request(RegisterModel, { name: 'x' }, { headers: who })).resolves.toMatchObject({ modelId: 'model-x' });
    } finally {
      await app.close();
      await client.close();
    }
    expect(appConnection.isClosed()).toBe(true);
  });
});
