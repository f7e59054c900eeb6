import { experimentsRpc, type MessageHeaders, type RpcReply, type RpcRequest } from '@modeltrail/contracts';
import type { RpcClient } from '@modeltrail/messaging';

/** Injection token of the ExperimentsClient. */
export const EXPERIMENTS_CLIENT = Symbol('EXPERIMENTS_CLIENT');

type Call<K extends keyof typeof experimentsRpc> = (payload: RpcRequest<(typeof experimentsRpc)[K]>, headers: MessageHeaders) => Promise<RpcReply<(typeof experimentsRpc)[K]>>;

/**
 * What the scheduler asks of the experiments context: runs started for jobs, runs closed when
 * jobs end, and the projects, experiments and runs that commands check against. A port, so
 * the handlers name what they need and the transport stays in one place.
 */
export interface ExperimentsClient {
  startRun: Call<'startRun'>;
  completeRun: Call<'completeRun'>;
  failRun: Call<'failRun'>;
  getRuns: Call<'getRuns'>;
  getExperiments: Call<'getExperiments'>;
  getProjects: Call<'getProjects'>;
}

/** Over NATS (`mt.cmd.experiments.*`, `mt.qry.experiments.*`). */
export class NatsExperimentsClient implements ExperimentsClient {
  constructor(private readonly rpc: RpcClient) {}

  startRun: Call<'startRun'> = (payload, headers) => this.rpc.request(experimentsRpc.startRun, payload, { headers });
  completeRun: Call<'completeRun'> = (payload, headers) => this.rpc.request(experimentsRpc.completeRun, payload, { headers });
  failRun: Call<'failRun'> = (payload, headers) => this.rpc.request(experimentsRpc.failRun, payload, { headers });
  getRuns: Call<'getRuns'> = (payload, headers) => this.rpc.request(experimentsRpc.getRuns, payload, { headers: withoutCommandId(headers) });
  getExperiments: Call<'getExperiments'> = (payload, headers) => this.rpc.request(experimentsRpc.getExperiments, payload, { headers: withoutCommandId(headers) });
  getProjects: Call<'getProjects'> = (payload, headers) => this.rpc.request(experimentsRpc.getProjects, payload, { headers: withoutCommandId(headers) });
}

function withoutCommandId(headers: MessageHeaders): MessageHeaders {
  const { commandId: _commandId, ...rest } = headers;
  return rest;
}
