import { datasetsRpc, experimentsRpc, type MessageHeaders, type RpcReply, type RpcRequest } from '@modeltrail/contracts';
import type { RpcClient } from '@modeltrail/messaging';

/** Injection token of the SourcesClient. */
export const SOURCES_CLIENT = Symbol('SOURCES_CLIENT');

type Call<D extends (typeof experimentsRpc)[keyof typeof experimentsRpc] | (typeof datasetsRpc)[keyof typeof datasetsRpc]> = (payload: RpcRequest<D>, headers: MessageHeaders) => Promise<RpcReply<D>>;

/**
 * What the registry reads of the contexts a model comes from: the run and its artifacts and the
 * project's success criteria (experiments), and the validations of the data the run used
 * (datasets). A port, so the handlers name what they need and the transport stays in one place.
 */
export interface SourcesClient {
  getRuns: Call<typeof experimentsRpc.getRuns>;
  listRunArtifacts: Call<typeof experimentsRpc.listRunArtifacts>;
  getProjects: Call<typeof experimentsRpc.getProjects>;
  listValidations: Call<typeof datasetsRpc.listValidations>;
}

/** Over NATS (`mt.qry.experiments.*`, `mt.qry.datasets.*`); queries never carry the command's id. */
export class NatsSourcesClient implements SourcesClient {
  constructor(private readonly rpc: RpcClient) {}

  getRuns: Call<typeof experimentsRpc.getRuns> = (payload, headers) => this.rpc.request(experimentsRpc.getRuns, payload, { headers: withoutCommandId(headers) });
  listRunArtifacts: Call<typeof experimentsRpc.listRunArtifacts> = (payload, headers) => this.rpc.request(experimentsRpc.listRunArtifacts, payload, { headers: withoutCommandId(headers) });
  getProjects: Call<typeof experimentsRpc.getProjects> = (payload, headers) => this.rpc.request(experimentsRpc.getProjects, payload, { headers: withoutCommandId(headers) });
  listValidations: Call<typeof datasetsRpc.listValidations> = (payload, headers) => this.rpc.request(datasetsRpc.listValidations, payload, { headers: withoutCommandId(headers) });
}

function withoutCommandId(headers: MessageHeaders): MessageHeaders {
  const { commandId: _commandId, ...rest } = headers;
  return rest;
}
