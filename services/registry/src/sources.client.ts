import { datasetsRpc, experimentsRpc, type MessageHeaders, type RpcReply, type RpcRequest, type RunView, streamId, type ValidationReply } from '@modeltrail/contracts';
import type { EventStore } from '@modeltrail/eventstore';
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

/** How long a read waits at most for another service's read model to show what the store holds. */
const CATCH_UP_MS = 5_000;

/**
 * The run as of its latest event. The experiments service answers from its read model, which
 * may not show a change its caller made a moment ago (a run completed just before its version
 * is created). The run's stream revision in the store says how far that view must be, so a view
 * behind it is asked for again, with a growing pause, a few seconds at most. Undefined: no such run.
 */
export async function currentRun(sources: SourcesClient, store: Pick<EventStore, 'streamRevision'>, runId: string, headers: MessageHeaders): Promise<RunView | undefined> {
  const head = await store.streamRevision(streamId('run', runId));
  const deadline = Date.now() + CATCH_UP_MS;
  for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
    const run = (await sources.getRuns({ runIds: [runId] }, headers)).items.find((r) => r.runId === runId);
    if (head === 'no_stream' || (run && run.revision >= head) || Date.now() >= deadline) return run;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/**
 * Every validation of the dataset versions, as the datasets service reports them, once its read
 * model shows each validation their streams hold (a validation made a moment before a
 * promotion request counts). The store says which validation ids exist; a reply missing one is
 * asked for again, with a growing pause, a few seconds at most.
 */
export async function currentValidations(
  sources: SourcesClient,
  store: Pick<EventStore, 'readStream'>,
  datasetVersionIds: ReadonlyArray<string>,
  headers: MessageHeaders,
): Promise<ValidationReply[]> {
  if (datasetVersionIds.length === 0) return [];
  const streams = await Promise.all(datasetVersionIds.map((id) => store.readStream(streamId('dataset-version', id))));
  const expected = streams.flat().flatMap((event) => (event.type === 'datasets.DatasetValidated.v1' ? [(event.data as { validationId: string }).validationId] : []));
  const deadline = Date.now() + CATCH_UP_MS;
  for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
    const { items } = await sources.listValidations({ datasetVersionIds: [...datasetVersionIds] }, headers);
    const seen = new Set(items.map((v) => v.validationId));
    if (expected.every((id) => seen.has(id)) || Date.now() >= deadline) return items;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
