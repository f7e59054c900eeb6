import { EventCatalog, LineageRequest, NotFoundError } from '@modeltrail/contracts';
import { type NewEvent, PostgresEventStore, type RecordedEvent } from '@modeltrail/eventstore';
import { migrateReadModel, ProjectionRunner } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { Pool } from 'pg';
import { lineageMigrations } from '../lineage.migrations';
import { lineageFacts } from './lineage.facts';
import { lineageGraphProjection } from './lineage.projection';
import { LineageReader } from './lineage.reader';
import { LineageViews } from './lineage.views';

/**
 * The property of the lineage graph: for 1,000 random lifecycle histories appended to one real
 * PostgreSQL event store (some interleaved, so their positions mix) and projected by the real
 * runner, `lineage(asOf: T)` — every page of it — equals a naive replay of `lineageFacts` of
 * the events up to T into plain Maps, walked by a plain breadth-first search.
 *
 * The store runs with a relaxed catalog (`new EventCatalog({}, { strict: false })`): the
 * generated events carry only the fields `lineageFacts` reads, not every field their contract
 * requires (lineage.rebuild.spec.ts uses fully valid events and the real catalog).
 *
 * Replay a failure: the seed is in the test name and in every failure message; run with
 * LINEAGE_PROPERTY_SEED=<seed> (and LINEAGE_PROPERTY_HISTORIES=<n> for a smaller store).
 */

const SEED = Number(process.env.LINEAGE_PROPERTY_SEED ?? 20261202);
const HISTORIES = Number(process.env.LINEAGE_PROPERTY_HISTORIES ?? 1000);
const ACTORS = ['ada', 'bob', 'cyd'];

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1)); // inclusive
  const chance = (p: number): boolean => next() < p;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const some = <T>(xs: readonly T[], n: number): T[] => {
    const copy = [...xs];
    const out: T[] = [];
    while (out.length < n && copy.length > 0) out.push(copy.splice(Math.floor(next() * copy.length), 1)[0]);
    return out;
  };
  return { next, int, chance, pick, some };
}
type Rng = ReturnType<typeof prng>;

interface GenEvent {
  type: string;
  data: Record<string, unknown>;
  actor: string;
}

/** One random lifecycle history; every id starts with `h<n>-` so a history's nodes are its own. */
function generateHistory(h: number, rng: Rng): GenEvent[] {
  const out: GenEvent[] = [];
  const actor = () => rng.pick(ACTORS);
  const emit = (type: string, data: Record<string, unknown>, by = actor()) => out.push({ type, data, actor: by });
  let counter = 0;
  const id = (kind: string) => `h${h}-${kind}${++counter}`;

  const projectId = id('project');
  emit('experiments.ProjectDefined.v1', { projectId, name: `p${h}`, taskType: 'classification', target: 'y', successCriteria: [] });

  // Data: datasets, versions, derived versions (some named by the derivation before they are registered).
  const versions: string[] = [];
  const datasets: string[] = [];
  const registerVersion = (datasetId: string, dv: string) => emit('datasets.DatasetVersionRegistered.v1', { datasetVersionId: dv, datasetId, uri: `s3://${dv}`, format: 'csv', digest: `d-${dv}`, size: 10, rows: 5 });
  for (let d = rng.int(1, 2); d > 0; d--) {
    const datasetId = id('dataset');
    datasets.push(datasetId);
    emit('datasets.DatasetRegistered.v1', { datasetId, name: datasetId, projectId: rng.chance(0.8) ? projectId : null });
    for (let v = rng.int(1, 2); v > 0; v--) {
      const dv = id('dv');
      registerVersion(datasetId, dv);
      versions.push(dv);
    }
  }
  for (let n = rng.int(0, 2); n > 0; n--) {
    const dv = id('dv');
    const parents = rng.some(versions, rng.int(1, 2));
    const before = rng.chance(0.5);
    if (before) registerVersion(rng.pick(datasets), dv);
    emit('datasets.DatasetVersionDerived.v1', { datasetVersionId: dv, parentVersionIds: parents, transform: 'clean' });
    if (!before) registerVersion(rng.pick(datasets), dv);
    versions.push(dv);
  }
  const validations: Array<{ validationId: string; datasetVersionId: string }> = [];
  for (let n = rng.int(0, 2); n > 0; n--) {
    const v = { validationId: id('validation'), datasetVersionId: rng.pick(versions) };
    validations.push(v);
    emit('datasets.DatasetValidated.v1', { ...v, report: { passed: rng.chance(0.8), rowsChecked: 5 }, rules: [] });
  }
  if (rng.chance(0.5)) {
    const splitId = id('split');
    const parts = { train: id('dv'), validation: id('dv'), test: id('dv') };
    const partsFirst = rng.chance(0.5);
    const registerParts = () => Object.values(parts).forEach((dv) => registerVersion(rng.pick(datasets), dv));
    if (partsFirst) registerParts();
    emit('datasets.DatasetSplitCreated.v1', {
      splitId,
      datasetVersionId: rng.pick(versions),
      seed: 1,
      fractions: { train: 0.8, validation: 0.1, test: 0.1 },
      stratifyBy: null,
      parts: { train: { datasetVersionId: parts.train, rows: 4 }, validation: { datasetVersionId: parts.validation, rows: 1 }, test: { datasetVersionId: parts.test, rows: 1 } },
    });
    if (!partsFirst) registerParts();
    versions.push(...Object.values(parts));
  }

  // Training: an experiment, agents, runs trained on random versions, jobs executing them.
  const experimentId = id('experiment');
  emit('experiments.ExperimentCreated.v1', { experimentId, name: 'e', projectId });
  const agents = [id('agent'), id('agent')];
  for (const agentId of agents) emit('scheduler.AgentRegistered.v1', { agentId, hostname: agentId, gpus: [{ uuid: `${agentId}-gpu`, name: 'H100', memoryMb: 1 }] });
  const runs: Array<{ runId: string; artifact: string | null }> = [];
  const job = (runId: string, jobId = id('job')) => {
    emit('scheduler.JobQueued.v1', { jobId, runId, projectId, command: ['train'], resources: { gpus: 1 }, newRun: true });
    const first = rng.pick(agents);
    emit('scheduler.JobAssigned.v1', { jobId, agentId: first, gpus: [{ uuid: `${first}-gpu` }] });
    if (rng.chance(0.3)) {
      const second = agents.find((a) => a !== first)!;
      emit('scheduler.JobAssigned.v1', { jobId, agentId: second, gpus: [{ uuid: `${second}-gpu` }] });
    }
    emit('scheduler.JobStarted.v1', { jobId, agentId: first });
  };
  for (let n = rng.int(1, 3); n > 0; n--) {
    const runId = id('run');
    const queuedFirst = rng.chance(0.4); // the job names the run before the run starts
    if (queuedFirst) job(runId);
    const used = rng.some(versions, rng.int(1, 2)).map((datasetVersionId, i) => ({ datasetVersionId, role: i === 0 ? 'train' : 'validation' }));
    emit('experiments.RunStarted.v1', { runId, projectId, experimentId, codeRef: null, datasetVersions: used });
    if (!queuedFirst && rng.chance(0.6)) job(runId);
    let artifact: string | null = null;
    if (rng.chance(0.8)) {
      artifact = 'model.pkl';
      emit('experiments.RunArtifactLogged.v1', { runId, name: artifact, uri: `s3://${runId}/m`, digest: `a-${runId}`, size: 1 });
    }
    emit('experiments.RunCompleted.v1', { runId });
    runs.push({ runId, artifact });
  }

  // The registry: a model, versions from runs, promotions, aliases moving (and back), archiving.
  const modelId = id('model');
  emit('registry.ModelRegistered.v1', { modelId, name: 'm', projectId });
  const modelVersions: string[] = [];
  for (let n = rng.int(1, 3); n > 0; n--) {
    const run = rng.pick(runs);
    const modelVersionId = id('mv');
    modelVersions.push(modelVersionId);
    // An artifact never logged is named by PACKAGES before anything declares it.
    emit('registry.ModelVersionCreated.v1', { modelVersionId, modelId, projectId, version: modelVersions.length, runId: run.runId, artifact: { name: run.artifact ?? 'unlogged.bin', digest: 'x' } });
  }
  const aliases = new Map<string, string>();
  const promote = (modelVersionId: string) => {
    const requestId = id('promotion');
    const alias = rng.pick(['champion', 'challenger']);
    const gates = validations.length && rng.chance(0.7) ? [{ passed: true, datasets: rng.some(validations, rng.int(1, validations.length)).map((v) => ({ ...v, passed: true })) }] : [];
    emit('registry.PromotionRequested.v1', { requestId, alias, modelId, version: 1, modelVersionId, requestedBy: actor(), gates });
    if (rng.chance(0.8)) {
      const approver = actor();
      emit('registry.PromotionApproved.v1', { requestId, approvedBy: approver }, approver);
      emit('registry.AliasAssigned.v1', { modelId, alias, modelVersionId, previousModelVersionId: aliases.get(alias) ?? null, requestId: rng.chance(0.9) ? requestId : null });
      aliases.set(alias, modelVersionId);
    } else {
      emit('registry.PromotionRejected.v1', { requestId, rejectedBy: actor(), reason: 'no' });
    }
  };
  for (let n = rng.int(0, 4); n > 0; n--) promote(rng.pick(modelVersions));
  if (modelVersions.length > 1 && rng.chance(0.5)) {
    // An alias moving v1 -> v2 -> v1: its POINTS_TO edge to v1 ends and holds again.
    const [a, b] = modelVersions;
    for (const mv of [a, b, a]) {
      emit('registry.AliasAssigned.v1', { modelId, alias: 'stable', modelVersionId: mv, previousModelVersionId: aliases.get('stable') ?? null, requestId: null });
      aliases.set('stable', mv);
    }
  }
  if (rng.chance(0.3)) emit('registry.ModelCardUpdated.v1', { modelVersionId: rng.pick(modelVersions) });

  // Serving: deployments, monitors, alerts, retrainings.
  if (rng.chance(0.7)) {
    const deploymentId = id('deployment');
    const modelVersionId = rng.pick(modelVersions);
    emit('monitoring.ModelDeployed.v1', { deploymentId, environment: 'prod', projectId, endpoint: 'http://x', modelId, version: 1, modelVersionId });
    if (rng.chance(0.6)) emit('monitoring.ReferenceProfileSet.v1', { deploymentId, datasetVersionId: rng.pick(versions), digest: 'r' });
    const monitorId = id('monitor');
    emit('monitoring.MonitorCreated.v1', { monitorId, deploymentId, projectId });
    for (let n = rng.int(0, 2); n > 0; n--) {
      const alertId = id('alert');
      emit('monitoring.AlertRaised.v1', { alertId, monitorId, kind: 'drift', windows: [], summary: 's' });
      if (rng.chance(0.5)) emit('monitoring.AlertResolved.v1', { alertId, monitorId });
      const retrainId = id('retrain');
      const proposal = { retrainId, monitorId, alertId: rng.chance(0.7) ? alertId : null, modelVersionId, datasetChanges: [] };
      const outcome = rng.int(0, 3);
      if (outcome === 0) continue;
      if (outcome === 3) {
        emit('monitoring.RetrainRequested.v1', { ...proposal, policy: 'AUTO', job: { jobId: id('job') } });
        continue;
      }
      emit('monitoring.RetrainProposed.v1', proposal);
      if (outcome === 1) {
        emit('monitoring.RetrainDeclined.v1', { retrainId, declinedBy: actor(), reason: 'not now' });
      } else {
        emit('monitoring.RetrainApproved.v1', { retrainId, approvedBy: actor() });
        const jobId = id('job');
        emit('monitoring.RetrainRequested.v1', { ...proposal, policy: 'APPROVAL', job: { jobId } });
        if (rng.chance(0.5)) job(id('run'), jobId); // the retraining's job, executing a run never started
      }
    }
  }
  if (rng.chance(0.3)) emit('registry.ModelVersionArchived.v1', { modelVersionId: rng.pick(modelVersions), reason: 'old' });
  if (rng.chance(0.2)) emit('datasets.DatasetArchived.v1', { datasetId: rng.pick(datasets), reason: 'gone' });
  return out;
}

// ---- the oracle: plain Maps, a plain breadth-first search ----
interface OracleNode {
  kind: string;
  createdPosition: number;
  endedPosition: number | null;
  /** What its first declaration said (a node only named by edges so far has none of it). */
  name: string | null;
  projectId: string | null;
  attributes: Record<string, unknown>;
}
interface Oracle {
  nodes: Map<string, OracleNode>;
  /** key -> whether it holds now. */
  edges: Map<string, { from: string; type: string; to: string; holds: boolean; reheld: boolean }>;
  /** node -> keys of the edges leaving it (downstream) / entering it (upstream), holding or not. */
  out: Map<string, string[]>;
  in: Map<string, string[]>;
  /** history number -> its nodes (people excepted), in order of appearance. */
  byHistory: Map<number, string[]>;
}
const edgeKey = (from: string, type: string, to: string) => `${from}|${type}|${to}`;

const declared = new Set<string>();
function replay(oracle: Oracle, event: RecordedEvent): void {
  const facts = lineageFacts(event);
  const appear = (nodeId: string, kind: string) => {
    if (oracle.nodes.has(nodeId)) return;
    oracle.nodes.set(nodeId, { kind, createdPosition: event.position, endedPosition: null, name: kind === 'actor' ? nodeId.slice('actor:'.length) : null, projectId: null, attributes: {} });
    const history = /^(?:alias:|artifact:)?h(\d+)-/.exec(nodeId);
    if (history) oracle.byHistory.set(Number(history[1]), [...(oracle.byHistory.get(Number(history[1])) ?? []), nodeId]);
  };
  for (const n of facts.nodes) {
    appear(n.id, n.kind);
    const node = oracle.nodes.get(n.id)!;
    node.kind = n.kind;
    if (!declared.has(n.id)) {
      declared.add(n.id);
      Object.assign(node, { name: n.name, projectId: n.projectId, attributes: JSON.parse(JSON.stringify(n.attributes)) });
    }
  }
  for (const e of facts.ends) {
    const edge = oracle.edges.get(edgeKey(e.fromId, e.type, e.toId));
    if (edge) edge.holds = false;
  }
  for (const e of facts.edges) {
    appear(e.from.id, e.from.kind);
    appear(e.to.id, e.to.kind);
    const key = edgeKey(e.from.id, e.type, e.to.id);
    const edge = oracle.edges.get(key);
    if (edge) {
      if (!edge.holds) edge.reheld = true;
      edge.holds = true;
      continue;
    }
    oracle.edges.set(key, { from: e.from.id, type: e.type, to: e.to.id, holds: true, reheld: false });
    for (const [index, nodeId] of [[oracle.out, e.from.id], [oracle.in, e.to.id]] as const) {
      const list = index.get(nodeId);
      if (list) list.push(key);
      else index.set(nodeId, [key]);
    }
  }
  for (const n of facts.endsNodes) {
    const node = oracle.nodes.get(n.id);
    if (node && node.endedPosition === null) node.endedPosition = event.position;
  }
}

/** How often the answers met the cases the property is about (asserted at the end). */
const coverage = { endedEdgesPassedBy: 0, reheldEdges: 0, endedNodes: 0, namedOnlyByEdges: 0 };

interface NodeSeen {
  depth: number;
  direction: string;
  endedPosition: number | null;
  createdPosition: number;
  kind: string;
  name: string | null;
  projectId: string | null;
  attributes: Record<string, unknown>;
}
interface Expected {
  nodes: Map<string, NodeSeen>;
  edges: Set<string>;
}

function expectedAnswer(oracle: Oracle, rootId: string, direction: string, limit: number | null): Expected {
  const placed = new Map<string, { depth: number; direction: string }>([[rootId, { depth: 0, direction: 'ROOT' }]]);
  const edges = new Set<string>();
  for (const walk of ['UPSTREAM', 'DOWNSTREAM']) {
    if (direction !== 'BOTH' && direction !== walk) continue;
    const index = walk === 'UPSTREAM' ? oracle.in : oracle.out;
    const dist = new Map<string, number>([[rootId, 0]]);
    const queue = [rootId];
    while (queue.length > 0) {
      const near = queue.shift()!;
      const d = dist.get(near)!;
      if (limit !== null && d >= limit) continue;
      for (const key of index.get(near) ?? []) {
        const e = oracle.edges.get(key)!;
        if (!e.holds) {
          coverage.endedEdgesPassedBy++;
          continue;
        }
        if (e.reheld) coverage.reheldEdges++;
        const far = walk === 'UPSTREAM' ? e.from : e.to;
        edges.add(key);
        if (dist.has(far)) continue;
        dist.set(far, d + 1);
        queue.push(far);
      }
    }
    for (const [id, d] of dist) {
      const had = placed.get(id);
      if (!had || had.depth > d) placed.set(id, { depth: d, direction: walk });
    }
  }
  const nodes: Expected['nodes'] = new Map();
  for (const [id, p] of placed) {
    const n = oracle.nodes.get(id)!;
    if (n.endedPosition !== null) coverage.endedNodes++;
    if (n.kind !== 'actor' && n.kind !== 'alias' && !n.name && Object.keys(n.attributes).length === 0) coverage.namedOnlyByEdges++;
    nodes.set(id, { ...p, endedPosition: n.endedPosition, createdPosition: n.createdPosition, kind: n.kind, name: n.name, projectId: n.projectId, attributes: n.attributes });
  }
  return { nodes, edges };
}

describe(`lineage as of T equals a naive replay (seed ${SEED}, ${HISTORIES} histories)`, () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  let views: LineageViews;
  // The store's own connections commit without waiting for the WAL flush (a test's store need
  // not survive a crash): 40,000 events in ~10,000 appends cost a flush each otherwise.
  let storePool: Pool;
  const runnerErrors: unknown[] = [];

  beforeAll(async () => {
    db = await createTestSchema('lineageprop', 6);
    storePool = new Pool({ connectionString: db.url, max: 4, options: '-c synchronous_commit=off' });
    store = new PostgresEventStore({ pool: storePool, connectionString: db.url, schema: db.schema, catalog: new EventCatalog({}, { strict: false }) });
    await store.migrate();
    // The graph's own projection and migrations (the service combines it with the OpenLineage
    // outbox in lineageReadModel; each table sees only its projection's events either way).
    await migrateReadModel(db.pool, db.schema, 'lineage', lineageMigrations);
    runner = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection: lineageGraphProjection, retryDelayMs: 100, onError: (error) => runnerErrors.push(error) });
    views = new LineageViews(new LineageReader(db.pool, db.schema, 16), store, runner);
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await storePool?.end();
    await db?.drop();
  });

  it('every page of lineage(asOf: T) matches the oracle for a random root, direction, depth and T per history', async () => {
    const started = Date.now();
    const rng = prng(SEED);
    const histories = Array.from({ length: HISTORIES }, (_, h) => generateHistory(h, rng));

    // Append: groups of 1-3 histories appended in alternating chunks of 1-12 events, so positions mix.
    const positions: number[][] = histories.map(() => []);
    let h = 0;
    let clock = Date.parse('2026-01-01T00:00:00.000Z');
    while (h < HISTORIES) {
      const group = Array.from({ length: Math.min(rng.int(1, 3), HISTORIES - h) }, (_, i) => h + i);
      h += group.length;
      const cursor = new Map(group.map((g) => [g, 0]));
      while (cursor.size > 0) {
        const g = rng.pick([...cursor.keys()]);
        const at = cursor.get(g)!;
        const chunk = histories[g].slice(at, at + rng.int(1, 12));
        // One append per actor run: an append's events share nothing but the stream.
        const events: NewEvent[] = chunk.map((e) => ({ type: e.type, data: e.data, metadata: { actor: e.actor, correlationId: `h${g}`, occurredAt: new Date((clock += 1000)).toISOString() } }));
        await store.append(`lineage-history-${g}`, events);
        if (at + chunk.length >= histories[g].length) cursor.delete(g);
        else cursor.set(g, at + chunk.length);
      }
    }
    const appendedMs = Date.now() - started;
    if (process.env.LINEAGE_PROPERTY_TRACE) process.stderr.write(`appended ${appendedMs}\n`);

    // The real projection, to the end of the store.
    const head = await store.headPosition();
    await runner.start();
    await runner.waitFor(head, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}; the runner's errors: ${runnerErrors.slice(0, 3).map(String).join(' | ')}`);
    });
    expect(runnerErrors).toEqual([]);
    const projectedMs = Date.now() - started - appendedMs;
    if (process.env.LINEAGE_PROPERTY_TRACE) process.stderr.write(`projected ${projectedMs}\n`);

    // Every event, in position order (the oracle's input); each history's positions.
    const all: RecordedEvent[] = [];
    for (let from = 1; ; ) {
      const page = await store.readAll({ fromPosition: from, limit: 10_000 });
      if (page.length === 0) break;
      all.push(...page);
      from = page[page.length - 1].position + 1;
    }
    for (const e of all) positions[Number(e.stream.slice('lineage-history-'.length))].push(e.position);
    expect(all.length).toBe(histories.reduce((n, x) => n + x.length, 0));

    // One query per history: a random moment, direction and depth (the root is chosen at T).
    const queries = histories.map((_, g) => {
      const own = positions[g];
      const roll = rng.next();
      const T = roll < 0.08 ? 0 : roll < 0.16 ? head : roll < 0.36 ? rng.pick(own) - 1 : rng.pick(own);
      const depthRoll = rng.int(-1, 5);
      return { g, T, direction: rng.pick(['UPSTREAM', 'DOWNSTREAM', 'BOTH'] as const), depth: depthRoll < 0 ? null : depthRoll, first: rng.int(1, 9), rootPick: rng.next(), expected: undefined as Expected | undefined, rootId: '' };
    });

    // The oracle: replay events up to each query's T (queries in T order), answer by BFS.
    const oracle: Oracle = { nodes: new Map(), edges: new Map(), out: new Map(), in: new Map(), byHistory: new Map() };
    let next = 0;
    for (const q of [...queries].sort((a, b) => a.T - b.T)) {
      while (next < all.length && all[next].position <= q.T) replay(oracle, all[next++]);
      // Roots: the history's own nodes (people excepted: a person's downstream is everything they did).
      const candidates = [...(oracle.byHistory.get(q.g) ?? [])].sort();
      if (candidates.length === 0) {
        q.rootId = `h${q.g}-project1`;
        continue;
      }
      q.rootId = candidates[Math.floor(q.rootPick * candidates.length)];
      q.expected = expectedAnswer(oracle, q.rootId, q.direction, q.depth);
    }
    const oracleMs = Date.now() - started - appendedMs - projectedMs;
    if (process.env.LINEAGE_PROPERTY_TRACE) process.stderr.write(`oracle ${oracleMs}\n`);

    // Ask the views for every page and compare.
    let pages = 0;
    let compared = 0;
    for (const q of queries) {
      const where = `seed ${SEED}, history ${q.g}: root ${q.rootId}, ${q.direction}, depth ${q.depth}, asOf position ${q.T}, first ${q.first}`;
      const request = { id: q.rootId, direction: q.direction, depth: q.depth, asOf: { position: q.T }, first: q.first };
      if (!q.expected) {
        await expect(views.lineage(LineageRequest.parse(request))).rejects.toBeInstanceOf(NotFoundError);
        continue;
      }
      const delivered = new Map<string, NodeSeen>();
      const edges = new Set<string>();
      let after: string | null = null;
      for (;;) {
        const page = await views.lineage(LineageRequest.parse({ ...request, after }));
        pages++;
        try {
          expect(page.position).toBe(q.T);
          expect(page.totalNodes).toBe(q.expected.nodes.size);
          expect(page.totalEdges).toBe(q.expected.edges.size);
          expect(page.nodes.length).toBeLessThanOrEqual(q.first);
          for (const n of page.nodes) {
            expect(delivered.has(n.id)).toBe(false); // pages never repeat a node
            delivered.set(n.id, { depth: n.depth, direction: n.direction, endedPosition: n.endedPosition, createdPosition: n.createdPosition, kind: n.kind, name: n.name, projectId: n.projectId, attributes: n.attributes });
          }
          for (const e of page.edges) {
            const key = edgeKey(e.from, e.type, e.to);
            expect(edges.has(key)).toBe(false);
            edges.add(key);
            // both ends delivered at or before the edge's page; the edge holds as of T
            expect([delivered.has(e.from), delivered.has(e.to)]).toEqual([true, true]);
            expect(e.endedPosition).toBeNull();
          }
        } catch (error) {
          throw new Error(`${where}, page ${after ?? 'first'}: ${(error as Error).message}`);
        }
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      try {
        expect(Object.fromEntries([...delivered].sort(([a], [b]) => (a < b ? -1 : 1)))).toEqual(Object.fromEntries([...q.expected.nodes].sort(([a], [b]) => (a < b ? -1 : 1))));
        expect([...edges].sort()).toEqual([...q.expected.edges].sort());
      } catch (error) {
        throw new Error(`${where}: ${(error as Error).message}`);
      }
      compared++;
    }
    // The property is only as good as its coverage: most queries found a root and several pages.
    expect(compared).toBeGreaterThan(HISTORIES * 0.8);
    expect(pages).toBeGreaterThan(HISTORIES);
    if (HISTORIES >= 500) {
      for (const [what, count] of Object.entries(coverage)) expect([what, count > 5]).toEqual([what, true]);
    }
    // eslint-disable-next-line no-console
    console.log(
      `lineage property (seed ${SEED}): ${all.length} events in ${HISTORIES} histories; append ${appendedMs} ms, projection ${projectedMs} ms, oracle ${oracleMs} ms, coverage ${JSON.stringify(coverage)}, ${pages} pages of ${compared} answers compared in ${Date.now() - started - appendedMs - projectedMs - oracleMs} ms`,
    );
  }, 180_000);
});
