import { type MessageHeaders, type RpcDefinition, type RpcReply, type RpcRequest, UnavailableError } from '@modeltrail/contracts';
import type { RpcClient } from '@modeltrail/messaging';

/**
 * The NATS requests of one GraphQL operation: every query and command carries the operation's
 * actor and correlation id; a command also carries its command id (idempotency key).
 * A service that does not answer is SERVICE_UNAVAILABLE naming the service.
 */
export class RequestRpc {
  constructor(
    private readonly client: RpcClient,
    private readonly headers: Pick<MessageHeaders, 'actor' | 'correlationId'>,
  ) {}

  query<D extends RpcDefinition>(def: D, payload: RpcRequest<D>): Promise<RpcReply<D>> {
    return this.send(def, payload, { ...this.headers });
  }

  command<D extends RpcDefinition>(def: D, payload: RpcRequest<D>, commandId: string): Promise<RpcReply<D>> {
    return this.send(def, payload, { ...this.headers, commandId });
  }

  private async send<D extends RpcDefinition>(def: D, payload: RpcRequest<D>, headers: MessageHeaders): Promise<RpcReply<D>> {
    try {
      return await this.client.request(def, payload, { headers });
    } catch (error) {
      if (error instanceof UnavailableError) {
        const service = serviceOf(def.subject);
        throw new UnavailableError(`the ${service} service is unavailable: ${error.message}`, { ...error.details, service });
      }
      throw error;
    }
  }
}

/** `mt.qry.datasets.GetDataset` → `datasets`. */
export function serviceOf(subject: string): string {
  return subject.split('.')[2] ?? subject;
}
