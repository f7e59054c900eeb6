import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DEFAULT_MONITOR_CONFIG, type EventMap, type EventType, LineageRequest, platformEventCatalog } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { checkpointSigner, CompactRange, generateSigningKey, hashFromHex, inclusionProof, inclusionProofPlan, leafHash, nodeKey, verifyInclusion } from '@modeltrail/merkle';
import { createPool, ident, withTransaction } from '@modeltrail/postgres';
import { DEFAULT_PROJECTION_BATCH, migrateReadModel, ProjectionRunner } from '@modeltrail/readmodel';
import type { Pool } from 'pg';
import { chainEvents, type ChainedEvent, prepareEvents } from '../libs/eventstore/src/prepare';
import { LineageReader } from '../services/lineage/src/graph/lineage.reader';
import { LineageViews } from '../services/lineage/src/graph/lineage.views';
import { lineageMigrations } from '../services/lineage/src/lineage.migrations';
import { lineageReadModel } from '../services/lineage/src/lineage.read-model';
import { MerkleLogTables } from '../services/lineage/src/log/log.store';
import { MerkleLogViews } from '../services/lineage/src/log/log.views';
import { type BenchContext, type Benchmark, figure, type Figure, percentile, timed } from './harness';
import { readEventsWithCursor } from './read-replay.bench';

const NAME = 'lineage';
/** Events per transaction while filling the store (positions: xid * 65,536 + index), and rows per INSERT. */
const FILL_TRANSACTION = 50_000;
const FILL_CHUNK = 5_000;
const READ_PAGE = 1_000;
/** Rows per INSERT while filling the Merkle log's tables. */
const LOG_CHUNK = 25_000;

// ---------------------------------------------------------------------------------------------
// A realistic lifecycle: chains of retraining generations
// ---------------------------------------------------------------------------------------------

interface GenEvent {
  id: string;
  stream: string;
  type: EventType;
  data: unknown;
  actor: string;
  causationId: string | null;
  correlationId: string;
  occurredAt: string;
}

const ADA = 'ada@example.com';
const BOB = 'bob@example.com';
const SCHEDULER = 'scheduler';
const MONITORING = 'monitoring';
const digestOf = (c: string) => c.repeat(64);

/** What the walk benchmark needs to know about a chain: its model versions, in generation order. */
interface ChainInfo {
  modelVersions: string[];
}

/**
 * One model's life over `generations` retraining generations, every event valid against the
 * platform's catalog. Generation g: a fresh ingest and a dataset version derived from the
 * previous generation's and the ingest, validated and split in three parts; a training job
 * (queued by the previous generation's retraining) on an agent, its run on the train and
 * validation parts, an artifact and a model version; a promotion with its gate, approved, and
 * the champion alias moved to the new version (every fourth generation rolled back to the
 * previous version and moved forward again: POINTS_TO edges that end and hold again); a
 * deployment with a monitor, two alerts (one resolved), and an automatic retraining whose job
 * is the next generation's. Two generations back, a model version is archived.
 */
function* lifecycle(chain: number, generations: number, clock: { t: number }, info: ChainInfo): Generator<GenEvent> {
  const at = () => new Date((clock.t += 60_000)).toISOString();
  const id = () => randomUUID();
  const correlationId = `chain-${chain}`;
  const ev = <K extends EventType>(stream: string, type: K, data: EventMap[K], actor = ADA, causationId: string | null = null): GenEvent => ({ id: id(), stream, type, data, actor, causationId, correlationId, occurredAt: new Date(clock.t).toISOString() });

  const projectId = id();
  const datasetId = id();
  const ingestDatasetId = id();
  const experimentId = id();
  const modelId = id();
  const agents = [id(), id()];
  yield ev(`project-${projectId}`, 'experiments.ProjectDefined.v1', { projectId, name: `churn-${chain}`, problem: 'who leaves', taskType: 'BINARY_CLASSIFICATION', target: 'churned', successCriteria: [], definedAt: at() });
  yield ev(`dataset-${datasetId}`, 'datasets.DatasetRegistered.v1', { datasetId, name: `customers-${chain}`, description: 'd', projectId, registeredAt: at() });
  yield ev(`dataset-${ingestDatasetId}`, 'datasets.DatasetRegistered.v1', { datasetId: ingestDatasetId, name: `customers-ingest-${chain}`, description: 'daily ingest', projectId, registeredAt: at() });
  yield ev(`experiment-${experimentId}`, 'experiments.ExperimentCreated.v1', { experimentId, projectId, name: 'retraining', description: '', createdAt: at() });
  for (const [a, agentId] of agents.entries()) {
    yield ev(`agent-${agentId}`, 'scheduler.AgentRegistered.v1', { agentId, sessionId: id(), hostname: `gpu-${chain}-${a}`, labels: {}, gpus: [{ index: 0, uuid: `GPU-${chain}-${a}`, name: 'H100', memoryMb: 80_000, status: 'AVAILABLE' }], cpus: 8, memoryMb: 64_000, gpuProbe: { status: 'OK', message: '' }, agentVersion: '1.0.0', registeredAt: at() }, SCHEDULER);
  }
  yield ev(`model-${modelId}`, 'registry.ModelRegistered.v1', { modelId, projectId, name: `churn-${chain}`, description: '', registeredAt: at() });

  const version = (datasetVersionId: string, dataset: string, rows: number) => ({ datasetVersionId, datasetId: dataset, uri: `file:///data/${datasetVersionId}.csv`, format: 'CSV' as const, digest: digestOf('a'), size: rows * 100, rows, schema: null, profile: null, profiled: false, registeredAt: at() });
  const card = { intendedUse: 'u', limitations: 'l', evaluationData: 'e', ethicalConsiderations: 'x', caveats: 'c' };
  const template = { command: ['python', 'train.py'], env: {}, workingDir: null, resources: { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} }, priority: 0, maxRetries: 2, timeoutSeconds: null, cancelGraceSeconds: 10, params: {}, datasetVersions: [] };

  let previousDv: string | null = null;
  let previousMv: string | null = null;
  let jobId = id();
  let retrainCause: string | null = null;
  type Gates = EventMap['registry.PromotionRequested.v1']['gates'];
  let previousGates: Gates | null = null;
  /** A promotion of `mv` to champion, approved, and the alias moved to it; returns the move. */
  function* promote(mv: string, version: number, previous: string | null, gates: Gates, cause: string | null, why: string): Generator<GenEvent, GenEvent> {
    const requestId = id();
    const requested = ev(`model-${modelId}`, 'registry.PromotionRequested.v1', { requestId, modelId, modelVersionId: mv, version, alias: 'champion', justification: why, requestedBy: ADA, gates, requestedAt: at() }, ADA, cause);
    yield requested;
    const approved = ev(`model-${modelId}`, 'registry.PromotionApproved.v1', { requestId, modelId, modelVersionId: mv, alias: 'champion', approvedBy: BOB, comment: 'ok', approvedAt: at() }, BOB, requested.id);
    yield approved;
    const moved = ev(`model-${modelId}`, 'registry.AliasAssigned.v1', { modelId, alias: 'champion', modelVersionId: mv, previousModelVersionId: previous, requestId, requestedBy: ADA, approvedBy: BOB, reason: `${why}; ok`, assignedAt: at() }, BOB, approved.id);
    yield moved;
    return moved;
  }
  for (let g = 0; g < generations; g++) {
    // data: ingest, derived version, validation, split into three parts
    const ingest = id();
    const dv = id();
    const validationId = id();
    const splitId = id();
    const parts = { train: id(), validation: id(), test: id() };
    yield ev(`dataset-version-${ingest}`, 'datasets.DatasetVersionRegistered.v1', version(ingest, ingestDatasetId, 1_000));
    const registered = ev(`dataset-version-${dv}`, 'datasets.DatasetVersionRegistered.v1', version(dv, datasetId, 10_000 + g));
    yield registered;
    yield ev(`dataset-version-${dv}`, 'datasets.DatasetVersionDerived.v1', { datasetVersionId: dv, parentVersionIds: previousDv ? [previousDv, ingest] : [ingest], transform: { kind: 'EXTERNAL', description: 'appended the day\'s ingest' }, derivedAt: at() });
    yield ev(`dataset-version-${dv}`, 'datasets.DatasetValidated.v1', { datasetVersionId: dv, validationId, rules: [{ type: 'NOT_NULL', column: 'age' }], report: { passed: true, rowsChecked: 10_000 + g, results: [] }, validatedAt: at() }, ADA, registered.id);
    const split = { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 }, stratifyBy: null };
    const splitEvent = ev(`dataset-version-${dv}`, 'datasets.DatasetSplitCreated.v1', { datasetVersionId: dv, splitId, ...split, parts: { train: { datasetVersionId: parts.train, rows: 8_000 }, validation: { datasetVersionId: parts.validation, rows: 1_000 }, test: { datasetVersionId: parts.test, rows: 1_000 } }, createdAt: at() });
    yield splitEvent;
    for (const part of ['train', 'validation', 'test'] as const) {
      yield ev(`dataset-version-${parts[part]}`, 'datasets.DatasetVersionRegistered.v1', version(parts[part], datasetId, 1_000), ADA, splitEvent.id);
      yield ev(`dataset-version-${parts[part]}`, 'datasets.DatasetVersionDerived.v1', { datasetVersionId: parts[part], parentVersionIds: [dv], transform: { kind: 'SPLIT', description: part, splitId, part: part.toUpperCase() as 'TRAIN' | 'VALIDATION' | 'TEST', ...split }, derivedAt: at() }, ADA, splitEvent.id);
    }
    // training: the job (queued by the last retraining), its run, an artifact
    const runId = id();
    const agentId = agents[g % agents.length];
    const used = [
      { datasetVersionId: parts.train, datasetId, role: 'TRAIN' as const },
      { datasetVersionId: parts.validation, datasetId, role: 'VALIDATION' as const },
    ];
    const queued = ev(`job-${jobId}`, 'scheduler.JobQueued.v1', { ...template, jobId, experimentId, projectId, runId, newRun: { params: { generation: g }, datasetVersions: used.map((u) => ({ datasetVersionId: u.datasetVersionId, role: u.role })) }, sweep: null, queuedAt: at() }, SCHEDULER, retrainCause);
    yield queued;
    const assigned = ev(`job-${jobId}`, 'scheduler.JobAssigned.v1', { jobId, agentId, gpus: [{ index: 0, uuid: `GPU-${chain}-${g % agents.length}` }], fencingToken: 1, leaseExpiresAt: at(), attempt: 1, assignedAt: at() }, SCHEDULER, queued.id);
    yield assigned;
    yield ev(`job-${jobId}`, 'scheduler.JobStarted.v1', { jobId, agentId, fencingToken: 1, pid: 4242, startedAt: at() }, SCHEDULER, assigned.id);
    yield ev(`run-${runId}`, 'experiments.RunStarted.v1', { runId, experimentId, projectId, params: { lr: 0.01, generation: g }, codeRef: null, datasetVersions: used, tags: ['retraining'], startedAt: at() }, ADA, assigned.id);
    yield ev(`run-${runId}`, 'experiments.RunParamsLogged.v1', { runId, params: { epochs: 10 }, loggedAt: at() });
    yield ev(`run-${runId}`, 'experiments.RunArtifactLogged.v1', { runId, name: 'model.pkl', uri: `file:///artifacts/${runId}/model.pkl`, digest: digestOf('b'), size: 10_000, loggedAt: at() });
    yield ev(`run-${runId}`, 'experiments.RunMetricsSummarized.v1', { runId, metrics: [], summarizedAt: at() });
    const completed = ev(`run-${runId}`, 'experiments.RunCompleted.v1', { runId, completedAt: at() });
    yield completed;
    yield ev(`job-${jobId}`, 'scheduler.JobSucceeded.v1', { jobId, agentId, fencingToken: 1, exitCode: 0, signal: null, durationMs: 60_000, endedAt: at() }, SCHEDULER);
    // the model version, promoted with its gate, the champion alias moved to it
    const mv = id();
    info.modelVersions.push(mv);
    const created = ev(`model-version-${mv}`, 'registry.ModelVersionCreated.v1', { modelVersionId: mv, modelId, projectId, experimentId, runId, version: g + 1, artifact: { name: 'model.pkl', uri: `file:///artifacts/${runId}/model.pkl`, digest: digestOf('b'), size: 10_000 }, metrics: [], params: {}, codeRef: null, datasetVersions: used, signature: { inputs: [{ name: 'age', type: 'double' }], outputs: [{ name: 'churned', type: 'long' }] }, modelCard: card, createdAt: at() }, ADA, completed.id);
    yield created;
    const gates = [{ gate: 'DATASET_VALIDATION' as const, passed: true, detail: 'ok', criteria: [], datasets: [{ datasetVersionId: dv, datasetId, role: 'TRAIN', validationId, validatedAt: at(), passed: true }] }];
    const alias = yield* promote(mv, g + 1, previousMv, gates, created.id, 'better');
    if (previousMv && previousGates && g % 4 === 3) {
      // rolled back to the previous version, then forward again, each move a promotion approved
      yield* promote(previousMv, g, mv, previousGates, null, 'rollback');
      yield* promote(mv, g + 1, previousMv, gates, null, 'roll forward');
    }
    if (g >= 2) {
      const old = info.modelVersions[info.modelVersions.length - 3];
      yield ev(`model-version-${old}`, 'registry.ModelVersionArchived.v1', { modelVersionId: old, modelId, version: g - 1, reason: 'superseded', archivedAt: at() });
    }
    // serving: a deployment, its monitor, two alerts (one resolved), a retraining
    const deploymentId = id();
    const monitorId = id();
    const served = { modelId, modelVersionId: mv, projectId, experimentId, runId };
    const deployed = ev(`deployment-${deploymentId}`, 'monitoring.ModelDeployed.v1', { deploymentId, monitorId, ...served, version: g + 1, environment: 'prod', endpoint: `http://churn-${chain}`, deployedAt: at() }, ADA, alias.id);
    yield deployed;
    yield ev(`monitor-${monitorId}`, 'monitoring.MonitorCreated.v1', { monitorId, deploymentId, ...served, taskType: 'BINARY_CLASSIFICATION', baseline: [], datasetVersions: used, config: { ...DEFAULT_MONITOR_CONFIG }, createdAt: at() }, MONITORING, deployed.id);
    const firstAlert = id();
    yield ev(`monitor-${monitorId}`, 'monitoring.AlertRaised.v1', { alertId: firstAlert, monitorId, deploymentId, kind: 'DRIFT', windows: [1], measurementIds: [id()], summary: 'drifted', raisedAt: at() }, MONITORING);
    yield ev(`monitor-${monitorId}`, 'monitoring.AlertResolved.v1', { alertId: firstAlert, monitorId, deploymentId, kind: 'DRIFT', windows: [2], measurementIds: [id()], resolvedAt: at() }, MONITORING);
    const alertId = id();
    const raised = ev(`monitor-${monitorId}`, 'monitoring.AlertRaised.v1', { alertId, monitorId, deploymentId, kind: 'DRIFT', windows: [3, 4], measurementIds: [id(), id()], summary: 'drifted again', raisedAt: at() }, MONITORING);
    yield raised;
    const nextJob = id();
    const retrain = ev(`monitor-${monitorId}`, 'monitoring.RetrainRequested.v1', { retrainId: id(), monitorId, deploymentId, modelId, modelVersionId: mv, alertId, policy: 'AUTO', job: { ...template, jobId: nextJob, experimentId }, datasetChanges: [], requestedAt: at() }, MONITORING, raised.id);
    yield retrain;
    previousDv = dv;
    previousMv = mv;
    previousGates = gates;
    jobId = nextJob;
    retrainCause = retrain.id;
  }
}

/**
 * Fills the store with every event of `source`, in order, as the store itself would write them:
 * validated by the platform's catalog and hash-chained per stream by the store's own code
 * (prepareEvents, chainEvents), positions of (transaction id + xid_offset) * 65,536 + index as
 * append_events gives them, stream heads kept in `streams`. Big transactions of plain INSERTs
 * instead of one append per event: a million appends would take longer than the rebuild
 * measured.
 */
async function fillStore(pool: Pool, schema: string, source: Iterable<GenEvent>): Promise<{ events: number }> {
  const s = ident(schema);
  const catalog = platformEventCatalog();
  const heads = new Map<string, { revision: number; hash: string }>();
  let total = 0;
  const iterator = source[Symbol.iterator]();
  let done = false;
  const now = () => new Date();
  while (!done) {
    const batch: ChainedEvent[] = [];
    while (batch.length < FILL_TRANSACTION) {
      const next = iterator.next();
      if (next.done) {
        done = true;
        break;
      }
      const e = next.value;
      const prepared = prepareEvents(e.stream, [{ id: e.id, type: e.type, data: e.data, metadata: { actor: e.actor, correlationId: e.correlationId, causationId: e.causationId, occurredAt: e.occurredAt } }], catalog, now);
      const head = heads.get(e.stream);
      const [chained] = chainEvents(e.stream, prepared, head ? head.revision : 'no_stream', head?.hash ?? null);
      heads.set(e.stream, { revision: chained.revision, hash: chained.hash });
      batch.push(chained);
    }
    if (batch.length === 0) break;
    await withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ base: string }>(`SELECT ((pg_current_xact_id()::text::bigint + xid_offset) * 65536)::text AS base FROM ${s}.position_clock`);
      const base = Number(rows[0].base);
      for (let from = 0; from < batch.length; from += FILL_CHUNK) {
        const chunk = batch.slice(from, from + FILL_CHUNK);
        await client.query(
          `INSERT INTO ${s}.events (position, event_id, stream_id, revision, type, data, actor, correlation_id, causation_id, occurred_at, prev_hash, hash)
           SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::jsonb[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[])`,
          [
            chunk.map((_, i) => base + from + i),
            chunk.map((e) => e.id),
            chunk.map((e) => e.stream),
            chunk.map((e) => e.revision),
            chunk.map((e) => e.type),
            chunk.map((e) => e.dataJson),
            chunk.map((e) => e.actor),
            chunk.map((e) => e.correlationId),
            chunk.map((e) => e.causationId),
            chunk.map((e) => e.occurredAt),
            chunk.map((e) => e.prevHash),
            chunk.map((e) => e.hash),
          ],
        );
      }
      const touched = new Map<string, ChainedEvent>();
      for (const e of batch) touched.set(e.stream, e);
      const last = [...touched.values()];
      await client.query(
        `INSERT INTO ${s}.streams (stream_id, revision, last_hash) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
         ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision, last_hash = EXCLUDED.last_hash, updated_at = now()`,
        [last.map((e) => e.stream), last.map((e) => e.revision), last.map((e) => e.hash)],
      );
    });
    total += batch.length;
  }
  return { events: total };
}

// ---------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------

const summary = (values: number[]) => ({ p50: percentile(values, 50), p95: percentile(values, 95), count: values.length });

/**
 * The lineage service on a realistic store (chains of retraining generations, every event valid
 * against the platform's catalog):
 *
 * 1. Lineage of a model version whose ancestry and descendants hold ~10,000 nodes (the middle
 *    generation of an 800-generation chain), BOTH directions, unlimited depth, pages of 500,
 *    through LineageViews.lineage (what the service answers per request), now and as of the
 *    middle of the chain's history. LineageReader caches a walk per (root, direction, depth,
 *    position): first pages (the walk computed, over distinct roots) and later pages (served from
 *    the cached walk) are reported apart. Baseline: the same reachability as one recursive CTE
 *    over a bare (from_id, to_id) table of the same edges (those holding at the asOf position,
 *    for the asOf figures) with the same two indexes, returning every reachable id.
 * 2. Rebuild of the service's read model (lineageReadModel: graph and OpenLineage tables) from
 *    1,000,000 stored events through ProjectionRunner, against a plain cursor over the same rows.
 * 3. Inclusion proofs at 1,000,000 leaves through MerkleLogViews.inclusionProof (PostgreSQL),
 *    against the same proof from the nodes held in a Map, and against one primary-key SELECT.
 */
export const lineageBenchmark: Benchmark = {
  name: NAME,
  async run(ctx: BenchContext) {
    const figures: Figure[] = [];
    const parameters: Record<string, unknown> = {};
    const pool = createPool(ctx.databaseUrl, { max: 4, applicationName: 'bench-lineage' });
    try {
      await graphAndRebuild(ctx, pool, parameters, figures);
      await merkleProofs(ctx, pool, parameters, figures);
    } finally {
      await pool.end();
    }
    return { parameters, figures };
  },
};

async function graphAndRebuild(ctx: BenchContext, pool: Pool, parameters: Record<string, unknown>, figures: Figure[]): Promise<void> {
  const totalEvents = ctx.n(ctx.quick ? 4_000 : 1_000_000, 1_500);
  const generations = ctx.quick ? Math.max(12, Math.round(40 * Math.min(1, ctx.scale))) : 850;
  const otherChainGenerations = ctx.quick ? 10 : 200;
  const pageSize = ctx.quick ? 20 : 500;
  const coldRoots = ctx.quick ? 3 : 15;
  const baselineRepeats = ctx.quick ? 2 : 5;
  const schema = ctx.schema('lineage');
  const s = ident(schema);
  const store = new PostgresEventStore({ pool, connectionString: ctx.databaseUrl, schema, catalog: platformEventCatalog() });
  try {
    await store.migrate();
    // lineageMigrations may already hold the OpenLineage ones: each migration once, by id.
    await migrateReadModel(pool, schema, 'lineage', lineageMigrations);

    // ---- the store: the walked chain first, then other models' chains up to totalEvents
    const clock = { t: Date.parse('2024-01-01T00:00:00.000Z') };
    const walked: ChainInfo = { modelVersions: [] };
    const others: ChainInfo = { modelVersions: [] };
    let chainEventCount = 0;
    const chainEventIds: string[] = [];
    function* everything(): Generator<GenEvent> {
      let count = 0;
      for (const e of lifecycle(0, generations, clock, walked)) {
        chainEventIds.push(e.id);
        count++;
        yield e;
      }
      chainEventCount = count;
      for (let c = 1; count < totalEvents; c++) {
        for (const e of lifecycle(c, otherChainGenerations, clock, others)) {
          if (count >= totalEvents) return;
          count++;
          yield e;
        }
      }
    }
    const filling = await timed(() => fillStore(pool, schema, everything()));
    const total = filling.value.events;
    ctx.log(`stored ${total} lifecycle events (${chainEventCount} in the walked chain of ${generations} generations) in ${filling.seconds.toFixed(1)} s (${Math.round(total / filling.seconds)} events/s)`);
    await pool.query(`VACUUM ANALYZE ${s}.events`);
    const head = await store.headPosition();
    // asOf: the position of the walked chain's middle event
    const { rows: midRows } = await pool.query<{ position: string }>(`SELECT position FROM ${s}.events WHERE event_id = $1`, [chainEventIds[Math.floor(chainEventIds.length / 2)]]);
    const midPosition = Number(midRows[0].position);

    // ---- 2. rebuild of the read model, against a plain cursor over the same rows
    const cursor = await timed(() => readEventsWithCursor(pool, s, READ_PAGE));
    const runner = new ProjectionRunner({ store, pool, schema, projection: lineageReadModel });
    const rebuild = await timed(async () => {
      await runner.start();
      await runner.waitFor(head, 60 * 60_000);
    });
    await runner.stop();
    if (cursor.value !== total) throw new Error(`the cursor read ${cursor.value} of ${total} events`);
    ctx.log(`rebuilt the lineage read model from ${total} events in ${rebuild.seconds.toFixed(1)} s (cursor: ${cursor.seconds.toFixed(1)} s)`);
    figures.push(figure(NAME, `read model rebuild (graph + OpenLineage) from ${total.toLocaleString('en-US')} events`, 'events/s', total / rebuild.seconds, total / cursor.seconds, 'higher'));
    await pool.query(`VACUUM ANALYZE ${s}.lineage_nodes, ${s}.lineage_edges, ${s}.lineage_events`);
    const { rows: sizes } = await pool.query<{ nodes: string; edges: string; events: string; reheld: string }>(
      `SELECT (SELECT count(*) FROM ${s}.lineage_nodes) AS nodes, (SELECT count(*) FROM ${s}.lineage_edges) AS edges,
              (SELECT count(*) FROM ${s}.lineage_events) AS events, (SELECT count(*) FROM ${s}.lineage_edges WHERE intervals IS NOT NULL) AS reheld`,
    );

    // ---- 1. lineage walks, page by page, now and as of the middle of the chain's history
    const views = new LineageViews(new LineageReader(pool, schema), store, runner);
    const mid = Math.floor(generations / 2);
    const quarter = Math.floor(generations / 4);
    const nowRoots = walked.modelVersions.slice(mid - Math.floor(coldRoots / 2), mid - Math.floor(coldRoots / 2) + coldRoots);
    const asOfRoots = walked.modelVersions.slice(quarter - Math.floor(coldRoots / 2), quarter - Math.floor(coldRoots / 2) + coldRoots);
    // warm-up roots: the generation before the measured ones (so they exist at the asOf position too)
    const warmRoots = [walked.modelVersions[Math.max(0, mid - Math.floor(coldRoots / 2) - 1)], walked.modelVersions[Math.max(0, quarter - Math.floor(coldRoots / 2) - 1)]];

    async function walkAll(root: string, asOf: number | null): Promise<{ first: number; later: number[]; totalNodes: number; totalEdges: number; pages: number; nodes: Set<string> }> {
      let after: string | null = null;
      let first = 0;
      const later: number[] = [];
      const nodes = new Set<string>();
      let totalNodes = 0;
      let totalEdges = 0;
      let pages = 0;
      for (;;) {
        const request = LineageRequest.parse({ id: root, direction: 'BOTH', first: pageSize, after, ...(asOf !== null ? { asOf: { position: asOf } } : {}) });
        const t0 = performance.now();
        const reply = await views.lineage(request);
        const ms = performance.now() - t0;
        if (pages === 0) first = ms;
        else later.push(ms);
        pages++;
        for (const n of reply.nodes) nodes.add(n.id);
        totalNodes = reply.totalNodes;
        totalEdges = reply.totalEdges;
        if (!reply.pageInfo.hasNextPage) break;
        after = reply.pageInfo.endCursor;
      }
      if (nodes.size !== totalNodes) throw new Error(`walked ${nodes.size} distinct nodes of ${totalNodes}`);
      return { first, later, totalNodes, totalEdges, pages, nodes };
    }

    // the bare baseline tables: every edge (now), and the edges holding at the asOf position
    for (const [table, where] of [
      ['bare_edges', 'true'],
      ['bare_edges_asof', `e.created_position <= ${midPosition} AND CASE WHEN e.intervals IS NULL THEN (e.ended_position IS NULL OR e.ended_position > ${midPosition}) ELSE ${s}.lineage_holds_at(e.intervals, ${midPosition}) END`],
    ] as const) {
      await pool.query(`CREATE TABLE ${s}.${table} AS SELECT e.from_id, e.to_id FROM ${s}.lineage_edges e WHERE ${where}`);
      await pool.query(`CREATE INDEX ON ${s}.${table} (from_id, to_id); CREATE INDEX ON ${s}.${table} (to_id, from_id); ANALYZE ${s}.${table}`);
    }
    const bareSql = (table: string) => `WITH RECURSIVE up(id) AS (SELECT $1::text UNION SELECT e.from_id FROM up JOIN ${s}.${table} e ON e.to_id = up.id),
      down(id) AS (SELECT $1::text UNION SELECT e.to_id FROM down JOIN ${s}.${table} e ON e.from_id = down.id)
      SELECT id FROM up UNION SELECT id FROM down`;

    const results: Record<string, unknown> = {};
    for (const [label, roots, asOf, table] of [
      ['now', nowRoots, null, 'bare_edges'],
      [`asOf the chain's middle (position ${midPosition})`, asOfRoots, midPosition, 'bare_edges_asof'],
    ] as const) {
      const tag = asOf === null ? 'now' : 'asOf';
      // warm-up (untimed): one walk of another root, and the baseline once
      await walkAll(asOf === null ? warmRoots[0] : warmRoots[1], asOf);
      await pool.query(bareSql(table), [roots[0]]);
      const firsts: number[] = [];
      const laters: number[] = [];
      const sizes: number[] = [];
      const pagesPerWalk: number[] = [];
      let edgesPerWalk = 0;
      const reached = new Map<string, Set<string>>();
      for (const root of roots) {
        const walk = await walkAll(root, asOf);
        firsts.push(walk.first);
        laters.push(...walk.later);
        sizes.push(walk.totalNodes);
        pagesPerWalk.push(walk.pages);
        edgesPerWalk = walk.totalEdges;
        reached.set(root, walk.nodes);
      }
      // a later pass over the cached walks (the same answers again, every page from the cache)
      const cachedFirsts: number[] = [];
      for (const root of roots) {
        const t0 = performance.now();
        await views.lineage(LineageRequest.parse({ id: root, direction: 'BOTH', first: pageSize, ...(asOf !== null ? { asOf: { position: asOf } } : {}) }));
        cachedFirsts.push(performance.now() - t0);
      }
      const bare: number[] = [];
      for (let r = 0; r < baselineRepeats; r++) {
        for (const root of roots) {
          const t0 = performance.now();
          const { rows } = await pool.query<{ id: string }>(bareSql(table), [root]);
          bare.push(performance.now() - t0);
          if (r === 0) {
            const ours = reached.get(root)!;
            if (rows.length !== ours.size || rows.some((row) => !ours.has(row.id))) throw new Error(`the bare CTE reached ${rows.length} nodes from ${root}, the service ${ours.size}`);
          }
        }
      }
      const first = summary(firsts);
      const later = summary(laters);
      const base = summary(bare);
      results[tag] = {
        label,
        roots: roots.length,
        nodesPerWalk: { min: Math.min(...sizes), max: Math.max(...sizes) },
        edgesPerWalk,
        pagesPerWalk: { min: Math.min(...pagesPerWalk), max: Math.max(...pagesPerWalk) },
        firstPageMs: first,
        laterPageMs: later,
        cachedFirstPageMs: summary(cachedFirsts),
        bareCteMs: base,
      };
      ctx.log(`lineage ${label}: ${roots.length} roots, ${Math.min(...sizes)}-${Math.max(...sizes)} nodes and ~${edgesPerWalk} edges per walk, ${Math.max(...pagesPerWalk)} pages of ${pageSize}; first page p50 ${first.p50.toFixed(1)} / p95 ${first.p95.toFixed(1)} ms, later pages p50 ${later.p50.toFixed(1)} / p95 ${later.p95.toFixed(1)} ms; bare CTE p50 ${base.p50.toFixed(1)} / p95 ${base.p95.toFixed(1)} ms`);
      const what = `lineage BOTH, unlimited depth, pages of ${pageSize}, ${tag === 'now' ? 'now' : 'asOf mid-history'}`;
      figures.push(
        figure(NAME, `${what}: first page (walk computed) p50 vs bare recursive CTE p50`, 'ms', first.p50, base.p50, 'lower'),
        figure(NAME, `${what}: first page (walk computed) p95 vs bare recursive CTE p95`, 'ms', first.p95, base.p95, 'lower'),
        figure(NAME, `${what}: later page (cached walk) p50 vs bare recursive CTE p50`, 'ms', later.p50, base.p50, 'lower'),
        figure(NAME, `${what}: later page (cached walk) p95 vs bare recursive CTE p95`, 'ms', later.p95, base.p95, 'lower'),
      );
    }
    // Where a walk's time goes: EXPLAIN ANALYZE of the reader's unlimited-depth walk statement
    // (a copy of LineageReader.walk's SQL, which is private) both ways, and of the bare CTE.
    const explain: Record<string, string[]> = {};
    const holds = `(e.created_position <= $2 AND CASE WHEN e.intervals IS NULL THEN (e.ended_position IS NULL OR e.ended_position > $2) ELSE ${s}.lineage_holds_at(e.intervals, $2) END)`;
    for (const [tag, root, position, table] of [
      ['now', nowRoots[0], head, 'bare_edges'],
      ['asOf', asOfRoots[0], midPosition, 'bare_edges_asof'],
    ] as const) {
      for (const walk of ['UPSTREAM', 'DOWNSTREAM'] as const) {
        const [near, far] = walk === 'UPSTREAM' ? ['to_id', 'from_id'] : ['from_id', 'to_id'];
        const sql = `WITH RECURSIVE reached(id) AS (
             SELECT $1::text
             UNION
             SELECT e.${far} FROM reached r JOIN ${s}.lineage_edges e ON e.${near} = r.id WHERE ${holds}
           )
           SELECT e.* FROM ${s}.lineage_edges e WHERE e.${near} = ANY (ARRAY(SELECT id FROM reached)) AND ${holds}`;
        const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, [root, position]);
        explain[`${tag} walk ${walk}`] = rows.map((r) => r['QUERY PLAN']);
      }
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${bareSql(table)}`, [root]);
      explain[`${tag} bare CTE`] = rows.map((r) => r['QUERY PLAN']);
    }
    // Where a first page's time goes, over a few roots with a fresh reader (no cached walk):
    // the two walk statements alone (rows sent and parsed by pg), the whole traverse (statements,
    // decoding, placeAll), and the rest of the first page (the page's nodes, views).
    const breakdown: Record<string, { p50: number; p95: number; count: number }> = {};
    {
      const sqlMs: number[] = [];
      const traverseMs: number[] = [];
      const rowsFetched: number[] = [];
      for (const root of nowRoots.slice(0, Math.min(5, nowRoots.length))) {
        let t0 = performance.now();
        let fetched = 0;
        for (const walk of ['UPSTREAM', 'DOWNSTREAM'] as const) {
          const [near, far] = walk === 'UPSTREAM' ? ['to_id', 'from_id'] : ['from_id', 'to_id'];
          const { rows } = await pool.query(
            `WITH RECURSIVE reached(id) AS (SELECT $1::text UNION SELECT e.${far} FROM reached r JOIN ${s}.lineage_edges e ON e.${near} = r.id WHERE ${holds})
             SELECT e.* FROM ${s}.lineage_edges e WHERE e.${near} = ANY (ARRAY(SELECT id FROM reached)) AND ${holds}`,
            [root, head],
          );
          fetched += rows.length;
        }
        sqlMs.push(performance.now() - t0);
        rowsFetched.push(fetched);
        const fresh = new LineageReader(pool, schema);
        t0 = performance.now();
        await fresh.traverse({ rootId: root, direction: 'BOTH', depth: null, position: head });
        traverseMs.push(performance.now() - t0);
      }
      breakdown['walk statements (both, rows fetched and parsed)'] = summary(sqlMs);
      breakdown['LineageReader.traverse, cold (statements, decoding, placeAll)'] = summary(traverseMs);
      breakdown['edge rows fetched per walk'] = summary(rowsFetched);
      ctx.log(`first page (now) breakdown: walk statements p50 ${percentile(sqlMs, 50).toFixed(1)} ms for ${rowsFetched[0]} edge rows; cold traverse p50 ${percentile(traverseMs, 50).toFixed(1)} ms; whole first page p50 ${(results.now as { firstPageMs: { p50: number } }).firstPageMs.p50.toFixed(1)} ms`);
    }
    for (const [what, plan] of Object.entries(explain)) {
      if (ctx.quick) ctx.log(`EXPLAIN ANALYZE ${what}: ${plan.filter((line) => /Execution Time/.test(line)).join(' ')}`);
      else ctx.log(`EXPLAIN ANALYZE ${what}:\n    ${plan.join('\n    ')}`);
    }

    parameters.graph = {
      storedEvents: total,
      fillSeconds: Number(filling.seconds.toFixed(1)),
      fillEventsPerSecond: Math.round(total / filling.seconds),
      walkedChain: { generations, events: chainEventCount, asOfPosition: midPosition, head },
      otherChains: { generations: otherChainGenerations, modelVersions: others.modelVersions.length },
      tables: { nodes: Number(sizes[0].nodes), edges: Number(sizes[0].edges), timelineRows: Number(sizes[0].events), edgesHeldMoreThanOnce: Number(sizes[0].reheld) },
      pageSize,
      projectionBatch: DEFAULT_PROJECTION_BATCH,
      rebuildSeconds: Number(rebuild.seconds.toFixed(1)),
      cursorSeconds: Number(cursor.seconds.toFixed(1)),
      walks: results,
      firstPageBreakdownMs: breakdown,
      explain,
    };
  } finally {
    await store.close();
  }
}

async function merkleProofs(ctx: BenchContext, pool: Pool, parameters: Record<string, unknown>, figures: Figure[]): Promise<void> {
  const leaves = ctx.n(ctx.quick ? 4_000 : 1_000_000, 1_000);
  const proofs = ctx.quick ? 100 : 1_000;
  const schema = ctx.schema('lineage_log');
  const s = ident(schema);
  await migrateReadModel(pool, schema, 'lineage', lineageMigrations);
  const tables = new MerkleLogTables(pool, schema);

  // The tree in memory: leaf hashes, every perfect node (CompactRange), and the event ids.
  const build = await timed(async () => {
    const range = new CompactRange();
    const map = new Map<string, Buffer>();
    const eventIds: string[] = new Array(leaves);
    const hashes: Buffer[] = new Array(leaves);
    const inner: { level: number[]; idx: number[]; hash: Buffer[] } = { level: [], idx: [], hash: [] };
    for (let i = 0; i < leaves; i++) {
      eventIds[i] = randomUUID();
      hashes[i] = leafHash(`leaf ${i} ${eventIds[i]}`);
      for (const node of range.append(hashes[i])) {
        map.set(nodeKey(node.level, node.index), node.hash);
        if (node.level > 0) {
          inner.level.push(node.level);
          inner.idx.push(node.index);
          inner.hash.push(node.hash);
        }
      }
    }
    return { range, map, eventIds, hashes, inner };
  });
  const { range, map, eventIds, hashes, inner } = build.value;
  const start = Date.parse('2025-01-01T00:00:00.000Z');
  const load = await timed(async () => {
    for (let from = 0; from < leaves; from += LOG_CHUNK) {
      const to = Math.min(leaves, from + LOG_CHUNK);
      const index = Array.from({ length: to - from }, (_, k) => from + k);
      await pool.query(
        `INSERT INTO ${s}.log_leaves (leaf_index, position, event_id, stream, revision, occurred_at, leaf_hash)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::uuid[], $4::text[], $5::bigint[], $6::timestamptz[], $7::bytea[])`,
        [index, index.map((i) => i + 1), index.map((i) => eventIds[i]), index.map((i) => `bench-${i >> 10}`), index.map((i) => i & 1023), index.map((i) => new Date(start + i * 1000).toISOString()), index.map((i) => hashes[i])],
      );
    }
    for (let from = 0; from < inner.level.length; from += LOG_CHUNK) {
      const to = from + LOG_CHUNK;
      await pool.query(`INSERT INTO ${s}.log_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`, [inner.level.slice(from, to), inner.idx.slice(from, to), inner.hash.slice(from, to)]);
    }
    await pool.query(`UPDATE ${s}.log_state SET size = $1, position = $1 WHERE id = 1`, [leaves]);
    await pool.query(`VACUUM ANALYZE ${s}.log_leaves, ${s}.log_nodes`);
  });
  ctx.log(`Merkle log of ${leaves} leaves (${inner.level.length} inner nodes) computed in ${build.seconds.toFixed(1)} s, loaded in ${load.seconds.toFixed(1)} s`);

  const signer = checkpointSigner('bench.modeltrail.local/log', generateSigningKey().seed);
  const store = new PostgresEventStore({ pool, connectionString: ctx.databaseUrl, schema: ctx.schema('lineage'), catalog: platformEventCatalog() });
  try {
    const views = new MerkleLogViews(tables, { position: leaves, waitFor: async () => undefined }, store, signer, 'bench.modeltrail.local/log');
    const checkpoint = await views.publish();
    const root = range.root();
    if (checkpoint.rootHash !== root.toString('hex')) throw new Error('the stored tree and the tree in memory have different roots');

    let seed = 12345;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const picks = Array.from({ length: proofs }, () => Math.floor(random() * leaves));
    // warm-up (untimed), both ways
    for (const i of picks.slice(0, Math.min(50, proofs))) {
      await views.inclusionProof(eventIds[i], leaves);
      await pool.query(`SELECT * FROM ${s}.log_leaves WHERE leaf_index = $1`, [i]);
    }
    const ours: number[] = [];
    for (const i of picks) {
      const t0 = performance.now();
      const proof = await views.inclusionProof(eventIds[i], leaves);
      ours.push((performance.now() - t0) * 1000);
      if (!verifyInclusion(hashes[i], proof.leafIndex, proof.treeSize, proof.proof.map(hashFromHex), root)) throw new Error(`the proof of leaf ${i} does not verify`);
    }
    const memory: number[] = [];
    const get = (level: number, index: number) => map.get(nodeKey(level, index))!;
    for (const i of picks.slice(0, Math.min(50, proofs))) inclusionProof(i, leaves, get);
    for (const i of picks) {
      const t0 = performance.now();
      const proof = inclusionProof(i, leaves, get);
      memory.push((performance.now() - t0) * 1000);
      if (!verifyInclusion(hashes[i], i, leaves, proof, root)) throw new Error(`the in-memory proof of leaf ${i} does not verify`);
    }
    const select: number[] = [];
    for (const i of picks) {
      const t0 = performance.now();
      await pool.query(`SELECT * FROM ${s}.log_leaves WHERE leaf_index = $1`, [i]);
      select.push((performance.now() - t0) * 1000);
    }
    // Where a proof's time goes: each read it makes, alone, for the first picks.
    const steps: Record<string, number[]> = { 'leafOfEvent (by event id)': [], 'state (log_state)': [], 'nodes of the proof plan (one query)': [], 'rootAt (frontier nodes)': [], 'checkpointOfSize': [] };
    for (const i of picks.slice(0, Math.min(200, proofs))) {
      const step = async (name: string, work: () => Promise<unknown>) => {
        const t0 = performance.now();
        await work();
        steps[name].push((performance.now() - t0) * 1000);
      };
      await step('leafOfEvent (by event id)', () => tables.leafOfEvent(eventIds[i]));
      await step('state (log_state)', () => tables.state());
      await step('nodes of the proof plan (one query)', () => tables.nodes(inclusionProofPlan(i, leaves).nodes));
      await step('rootAt (frontier nodes)', () => tables.rootAt(leaves));
      await step('checkpointOfSize', () => tables.checkpointOfSize(leaves));
    }
    const stepSummary = Object.fromEntries(Object.entries(steps).map(([name, values]) => [name, summary(values)]));
    ctx.log(`inclusion proof steps (p50 µs): ${Object.entries(stepSummary).map(([name, v]) => `${name} ${v.p50.toFixed(0)}`).join(', ')}`);
    const o = summary(ours);
    const m = summary(memory);
    const k = summary(select);
    ctx.log(`inclusion proofs at ${leaves} leaves: ${o.p50.toFixed(0)} / ${o.p95.toFixed(0)} µs (p50/p95); in memory ${m.p50.toFixed(1)} / ${m.p95.toFixed(1)} µs; one primary-key SELECT ${k.p50.toFixed(0)} / ${k.p95.toFixed(0)} µs`);
    const what = `inclusion proof at ${leaves.toLocaleString('en-US')} leaves (MerkleLogViews, PostgreSQL)`;
    figures.push(
      figure(NAME, `${what} p50 vs the proof from nodes in memory`, 'µs', o.p50, m.p50, 'lower'),
      figure(NAME, `${what} p95 vs the proof from nodes in memory`, 'µs', o.p95, m.p95, 'lower'),
      figure(NAME, `${what} p50 vs one primary-key SELECT`, 'µs', o.p50, k.p50, 'lower'),
      figure(NAME, `${what} p95 vs one primary-key SELECT`, 'µs', o.p95, k.p95, 'lower'),
    );
    parameters.merkle = {
      leaves,
      innerNodes: inner.level.length,
      proofs,
      proofLength: Math.ceil(Math.log2(leaves)),
      treeComputeSeconds: Number(build.seconds.toFixed(1)),
      loadSeconds: Number(load.seconds.toFixed(1)),
      filledHow: 'leaf hashes and perfect nodes computed in memory with CompactRange and INSERTed with unnest in chunks (log_state set to match); not appended through MerkleLogBuilder',
      oursUs: o,
      inMemoryUs: m,
      primaryKeySelectUs: k,
      proofStepsUs: stepSummary,
    };
  } finally {
    await store.close();
  }
}
