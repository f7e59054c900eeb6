import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { BaseRpcContext } from '@nestjs/microservices';
import type { MsgHdrs } from 'nats';
import type { MessageHeaders } from '@modeltrail/contracts';

/** What a `@MessagePattern` handler served by NatsRpcTransport gets as its second argument (`@Ctx()`). */
export class NatsRpcContext extends BaseRpcContext<[subject: string, headers: MessageHeaders, natsHeaders: MsgHdrs | undefined]> {
  /** The subject the request arrived on. */
  getSubject(): string {
    return this.args[0];
  }

  /** Actor, correlation id and causation id of the request. */
  getHeaders(): MessageHeaders {
    return this.args[1];
  }

  /** Every NATS header of the request, as received. */
  getNatsHeaders(): MsgHdrs | undefined {
    return this.args[2];
  }
}

/** Parameter decorator: the request's MessageHeaders (`handle(@Payload() req, @RpcHeaders() headers)`). */
export const RpcHeaders = createParamDecorator((_data: unknown, ctx: ExecutionContext): MessageHeaders => ctx.switchToRpc().getContext<NatsRpcContext>().getHeaders());
