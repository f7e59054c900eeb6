import { randomUUID } from 'node:crypto';
import { DEFAULT_MONITOR_CONFIG, type EventMap, LineageRequest, NotFoundError, platformEventCatalog, TimelineRequest, ValidationError } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { ident } from '@modeltrail/postgres';
import { migrateReadModel, ProjectionRunner } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { lineageMigrations } from '../lineage.migrations';
import { rebuildLineage } from '../rebuild';
import { aliasNodeId, artifactNodeId } from './lineage.facts';
import { lineageGraphProjection } from './lineage.projection';
import { encodeLineageCursor, LineageReader, walkFingerprint } from './lineage.reader';
import { LineageViews } from './lineage.views';

/**
 * A realistic lifecycle, every event valid against the platform's catalog, through the real
 * store and projection: the live tables equal a rebuild's (in big batches and one event at a
 * time), the causal explanation of the model version and the run's timeline read in order, and
 * bad requests are refused naming what was wrong.
 */
describe('lineage graph: rebuild, explain, timeline, bad input (valid events, real catalog)', () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  let views: LineageViews;
  const runners: ProjectionRunner[] = [];
  let clock = Date.parse('2026-11-22T10:00:00.000Z');
  const at = () => new Date((clock += 60_000)).toISOString();

  const id = () => randomUUID();
  const projectId = id();
  const datasetId = id();
  const dv = id();
  const validationId = id();
  const splitId = id();
  const parts = { train: id(), validation: id(), test: id() };
  const experimentId = id();
  const runId = id();
  const jobId = id();
  const agentId = id();
  const modelId = id();
  const mv = id();
  const requestId = id();
  const deploymentId = id();
  const monitorId = id();
  const alertId = id();
  const measurementId = id();
  const retrainId = id();
  const retrainJobId = id();
  const digest = (c: string) => c.repeat(64);
  const eventIds = new Map<string, string>();

  /** Appends one valid event (its id remembered under `name`), caused by the event named `cause`. */
  async function append<K extends keyof EventMap>(stream: string, type: K, data: EventMap[K], options: { actor?: string; name?: string; cause?: string } = {}): Promise<number> {
    const eventId = id();
    if (options.name) eventIds.set(options.name, eventId);
    const result = await store.append(stream, [
      { id: eventId, type, data, metadata: { actor: options.actor ?? 'ada@example.com', correlationId: 'corr-lineage', causationId: options.cause ? eventIds.get(options.cause)! : null, occurredAt: at() } },
    ]);
    return result.position!;
  }

  const dump = async (table: string, key: string) => (await db.pool.query(`SELECT * FROM ${ident(db.schema)}.${table} ORDER BY ${key}`)).rows;
  const dumpAll = async () => ({
    nodes: await dump('lineage_nodes', 'id'),
    edges: await dump('lineage_edges', 'from_id, type, to_id'),
    events: await dump('lineage_events', 'node_id, position'),
  });

  const job = { jobId: retrainJobId, experimentId, command: ['python', 'train.py'], env: {}, workingDir: null, resources: { gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} }, priority: 0, maxRetries: 2, timeoutSeconds: null, cancelGraceSeconds: 10, params: {}, datasetVersions: [] };
  const card = { intendedUse: 'u', limitations: 'l', evaluationData: 'e', ethicalConsiderations: 'x', caveats: 'c' };
  let head = 0;

  beforeAll(async () => {
    db = await createTestSchema('lineagerebuild', 4);
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: platformEventCatalog() });
    await store.migrate();
    // The graph's own projection and migrations (the service combines it with the OpenLineage
    // outbox in lineageReadModel; each table sees only its projection's events either way).
    await migrateReadModel(db.pool, db.schema, 'lineage', lineageMigrations);
    runner = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection: lineageGraphProjection });
    runners.push(runner);
    views = new LineageViews(new LineageReader(db.pool, db.schema), store, runner);
    await runner.start();

    // problem, data, validation, split
    await append(`project-${projectId}`, 'experiments.ProjectDefined.v1', { projectId, name: 'churn', problem: 'who leaves', taskType: 'BINARY_CLASSIFICATION', target: 'churned', successCriteria: [], definedAt: at() }, { name: 'project' });
    await append(`dataset-${datasetId}`, 'datasets.DatasetRegistered.v1', { datasetId, name: 'customers', description: 'd', projectId, registeredAt: at() });
    const version = (datasetVersionId: string) => ({ datasetVersionId, datasetId, uri: `file:///data/${datasetVersionId}.csv`, format: 'CSV' as const, digest: digest('a'), size: 100, rows: 10, schema: null, profile: null, profiled: false, registeredAt: at() });
    await append(`dataset-version-${dv}`, 'datasets.DatasetVersionRegistered.v1', version(dv), { name: 'dv' });
    await append(`dataset-version-${dv}`, 'datasets.DatasetValidated.v1', { datasetVersionId: dv, validationId, rules: [{ type: 'NOT_NULL', column: 'age' }], report: { passed: true, rowsChecked: 10, results: [] }, validatedAt: at() }, { name: 'validated', cause: 'dv' });
    const split = { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 }, stratifyBy: null };
    await append(`dataset-version-${dv}`, 'datasets.DatasetSplitCreated.v1', { datasetVersionId: dv, splitId, ...split, parts: { train: { datasetVersionId: parts.train, rows: 8 }, validation: { datasetVersionId: parts.validation, rows: 1 }, test: { datasetVersionId: parts.test, rows: 1 } }, createdAt: at() }, { name: 'split' });
    for (const part of ['train', 'validation', 'test'] as const) {
      await append(`dataset-version-${parts[part]}`, 'datasets.DatasetVersionRegistered.v1', version(parts[part]), { cause: 'split' });
      await append(`dataset-version-${parts[part]}`, 'datasets.DatasetVersionDerived.v1', { datasetVersionId: parts[part], parentVersionIds: [dv], transform: { kind: 'SPLIT', description: part, splitId, part: part.toUpperCase() as 'TRAIN' | 'VALIDATION' | 'TEST', ...split }, derivedAt: at() }, { cause: 'split' });
    }
    // training: an experiment, a job on an agent running the run on the train part
    await append(`experiment-${experimentId}`, 'experiments.ExperimentCreated.v1', { experimentId, projectId, name: 'baseline', description: '', createdAt: at() });
    await append(`agent-${agentId}`, 'scheduler.AgentRegistered.v1', { agentId, sessionId: id(), hostname: 'gpu-1', labels: {}, gpus: [{ index: 0, uuid: 'GPU-1', name: 'H100', memoryMb: 80_000, status: 'AVAILABLE' }], cpus: 8, memoryMb: 64_000, gpuProbe: { status: 'OK', message: '' }, agentVersion: '1.0.0', registeredAt: at() });
    const used = [{ datasetVersionId: parts.train, datasetId, role: 'TRAIN' as const }];
    await append(`job-${jobId}`, 'scheduler.JobQueued.v1', { ...job, jobId, projectId, runId, newRun: { params: {}, datasetVersions: [{ datasetVersionId: parts.train, role: 'TRAIN' }] }, sweep: null, queuedAt: at() }, { name: 'queued' });
    await append(`job-${jobId}`, 'scheduler.JobAssigned.v1', { jobId, agentId, gpus: [{ index: 0, uuid: 'GPU-1' }], fencingToken: 1, leaseExpiresAt: at(), attempt: 1, assignedAt: at() }, { name: 'assigned', cause: 'queued' });
    await append(`run-${runId}`, 'experiments.RunStarted.v1', { runId, experimentId, projectId, params: { lr: 0.1 }, codeRef: null, datasetVersions: used, tags: [], startedAt: at() }, { name: 'run', cause: 'assigned' });
    await append(`run-${runId}`, 'experiments.RunArtifactLogged.v1', { runId, name: 'model.pkl', uri: 'file:///a/model.pkl', digest: digest('b'), size: 10, loggedAt: at() });
    await append(`run-${runId}`, 'experiments.RunMetricsSummarized.v1', { runId, metrics: [], summarizedAt: at() });
    await append(`run-${runId}`, 'experiments.RunCompleted.v1', { runId, completedAt: at() }, { name: 'completed' });
    // the model, its promotion approved with an alias
    await append(`model-${modelId}`, 'registry.ModelRegistered.v1', { modelId, projectId, name: 'churn', description: '', registeredAt: at() });
    await append(`model-version-${mv}`, 'registry.ModelVersionCreated.v1', { modelVersionId: mv, modelId, projectId, experimentId, runId, version: 1, artifact: { name: 'model.pkl', uri: 'file:///a/model.pkl', digest: digest('b'), size: 10 }, metrics: [], params: {}, codeRef: null, datasetVersions: used, signature: { inputs: [{ name: 'age', type: 'double' }], outputs: [{ name: 'churned', type: 'long' }] }, modelCard: card, createdAt: at() }, { name: 'mv', cause: 'completed' });
    const gates = [{ gate: 'DATASET_VALIDATION' as const, passed: true, detail: 'ok', criteria: [], datasets: [{ datasetVersionId: dv, datasetId, role: 'TRAIN', validationId, validatedAt: at(), passed: true }] }];
    await append(`model-${modelId}`, 'registry.PromotionRequested.v1', { requestId, modelId, modelVersionId: mv, version: 1, alias: 'champion', justification: 'good', requestedBy: 'ada@example.com', gates, requestedAt: at() }, { name: 'requested' });
    await append(`model-${modelId}`, 'registry.PromotionApproved.v1', { requestId, modelId, modelVersionId: mv, alias: 'champion', approvedBy: 'bob@example.com', comment: 'ok', approvedAt: at() }, { actor: 'bob@example.com', name: 'approved', cause: 'requested' });
    await append(`model-${modelId}`, 'registry.AliasAssigned.v1', { modelId, alias: 'champion', modelVersionId: mv, previousModelVersionId: null, requestId, requestedBy: 'ada@example.com', approvedBy: 'bob@example.com', reason: 'good; ok', assignedAt: at() }, { actor: 'bob@example.com', name: 'alias', cause: 'approved' });
    // serving: a deployment with a monitor, an alert, a retraining
    const served = { modelId, modelVersionId: mv, projectId, experimentId, runId };
    await append(`deployment-${deploymentId}`, 'monitoring.ModelDeployed.v1', { deploymentId, monitorId, ...served, version: 1, environment: 'prod', endpoint: 'http://churn', deployedAt: at() }, { name: 'deployed', cause: 'alias' });
    await append(`monitor-${monitorId}`, 'monitoring.MonitorCreated.v1', { monitorId, deploymentId, ...served, taskType: 'BINARY_CLASSIFICATION', baseline: [], datasetVersions: used, config: { ...DEFAULT_MONITOR_CONFIG }, createdAt: at() }, { cause: 'deployed' });
    await append(`monitor-${monitorId}`, 'monitoring.AlertRaised.v1', { alertId, monitorId, deploymentId, kind: 'DRIFT', windows: [1], measurementIds: [measurementId], summary: 'drifted', raisedAt: at() }, { name: 'alert' });
    await append(`monitor-${monitorId}`, 'monitoring.RetrainRequested.v1', { retrainId, monitorId, deploymentId, modelId, modelVersionId: mv, alertId, policy: 'AUTO', job, datasetChanges: [], requestedAt: at() }, { cause: 'alert' });
    head = await store.headPosition();
    await runner.waitFor(head);
  });
  afterAll(async () => {
    for (const r of runners) await r.stop();
    await store?.close();
    await db?.drop();
  });

  it('the live tables equal a rebuild from the store, in big batches and one event at a time', async () => {
    const live = await dumpAll();
    expect(live.nodes.length).toBeGreaterThan(20);
    expect(live.edges.length).toBeGreaterThan(30);
    expect(live.events.length).toBeGreaterThan(20);

    await runner.rebuild(); // running: stops, empties, starts again from 0
    await runner.waitFor(head);
    expect(await dumpAll()).toEqual(live);

    await runner.stop();
    const single = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection: lineageGraphProjection, batchSize: 1 });
    runners.push(single);
    await single.rebuild();
    await single.start();
    await single.waitFor(head);
    expect(await dumpAll()).toEqual(live);
    await single.stop();
    await runner.start();
    await runner.waitFor(head);
  });

  it('npm run lineage:rebuild replays the store into the same graph, with the service\'s whole read model', async () => {
    const live = await dumpAll();
    await runner.stop();
    try {
      const said: string[] = [];
      const result = await rebuildLineage({ NODE_ENV: 'test', DATABASE_URL: db.url, EVENTSTORE_SCHEMA: db.schema, READ_MODEL_SCHEMA: db.schema }, (line) => said.push(line));
      expect(result.position).toBe(head);
      expect(said.join('\n')).toMatch(new RegExp(`rebuilt to position ${head} in [\\d.]+ s`));
      expect(await dumpAll()).toEqual(live);
    } finally {
      await runner.start();
      await runner.waitFor(head);
    }
  });

  it("explains the model version: steps in position order through every stage, linked to their causes", async () => {
    const reply = await views.explain({ id: mv, asOf: null });
    expect(reply.subject).toMatchObject({ id: mv, kind: 'model_version', name: 'v1' });
    const positions = reply.steps.map((s) => s.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).toBe(positions.length);
    const stages = new Set(reply.steps.map((s) => s.stage));
    for (const stage of ['problem', 'data', 'validation', 'split', 'training', 'job', 'model', 'gates', 'approval', 'alias', 'deployment', 'alert', 'retrain'] as const) expect(stages).toContain(stage);
    expect(reply.missingStages).toEqual([]);
    // every causation id that is in the chain links to the step of its cause
    const stepOf = (name: string) => reply.steps.findIndex((s) => s.eventId === eventIds.get(name));
    for (const [effect, cause] of [
      ['validated', 'dv'],
      ['run', 'assigned'],
      ['assigned', 'queued'],
      ['mv', 'completed'],
      ['approved', 'requested'],
      ['alias', 'approved'],
      ['deployed', 'alias'],
    ]) {
      expect([effect, stepOf(effect) >= 0]).toEqual([effect, true]);
      expect([effect, reply.steps[stepOf(effect)].causedByStep]).toEqual([effect, stepOf(cause)]);
    }
    for (const step of reply.steps) {
      if (step.causedByStep !== null) expect(step.causedByStep).toBeLessThan(reply.steps.indexOf(step));
      else if (step.causationId !== null) expect(reply.steps.some((s) => s.eventId === step.causationId)).toBe(false);
    }
    // as of the approval, the alias and what followed are not there yet
    const before = await views.explain({ id: mv, asOf: { position: (await eventPosition('approved'))! } });
    expect(before.steps.map((s) => s.stage)).not.toContain('alias');
    expect(before.missingStages).toEqual(['alias']);
    expect(before.steps.map((s) => s.position).every((p) => p <= before.position)).toBe(true);
  });

  async function eventPosition(name: string): Promise<number | undefined> {
    const { rows } = await db.pool.query(`SELECT position FROM ${ident(db.schema)}.lineage_events WHERE event_id = $1 LIMIT 1`, [eventIds.get(name)]);
    return rows[0] ? Number(rows[0].position) : undefined;
  }

  it("the run's timeline lists its events and its neighbours' in order, page by page", async () => {
    const all = await views.timeline(TimelineRequest.parse({ id: runId, first: 500 }));
    const types = all.items.map((i) => i.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'scheduler.JobQueued.v1',
        'scheduler.JobAssigned.v1',
        'experiments.RunStarted.v1',
        'experiments.RunArtifactLogged.v1',
        'experiments.RunCompleted.v1',
        'registry.ModelVersionCreated.v1',
        'datasets.DatasetVersionRegistered.v1',
        'experiments.ExperimentCreated.v1',
      ]),
    );
    const positions = all.items.map((i) => i.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).toBe(positions.length);
    expect(all.items.find((i) => i.type === 'experiments.RunStarted.v1')).toMatchObject({ nodeId: runId, nodeKind: 'run', actor: 'ada@example.com' });
    // an event that drew an edge to the run is listed once, as the row of the node it is about
    expect(all.items.find((i) => i.type === 'registry.ModelVersionCreated.v1')).toMatchObject({ nodeId: mv, nodeKind: 'model_version' });
    // a neighbour's own event: the train part's registration, as that version's row
    expect(all.items.find((i) => i.type === 'datasets.DatasetVersionRegistered.v1')).toMatchObject({ nodeId: parts.train, nodeKind: 'dataset_version' });
    // the agent's registration is a neighbour's (the job's) event, not the run's: not listed; people's events never are
    expect(all.items.every((i) => !i.nodeId.startsWith('actor:'))).toBe(true);

    const paged: number[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page = await views.timeline(TimelineRequest.parse({ id: runId, first: 2, after }));
      pages++;
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.items.map((i) => i.position));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(paged).toEqual(positions);
    expect(pages).toBe(Math.ceil(positions.length / 2));
  });

  it('lineage of the alias and the artifact: named ids, the upstream chain back to the data', async () => {
    const reply = await views.lineage(LineageRequest.parse({ id: aliasNodeId(modelId, 'champion'), direction: 'UPSTREAM' }));
    const ids = new Set(reply.nodes.map((n) => n.id));
    for (const upstream of [mv, runId, parts.train, splitId, dv, datasetId, projectId, artifactNodeId(runId, 'model.pkl'), requestId, 'actor:bob@example.com']) expect(ids).toContain(upstream);
    expect(reply.nodes.find((n) => n.id === dv)?.depth).toBeGreaterThan(reply.nodes.find((n) => n.id === runId)!.depth);
  });

  describe('bad input', () => {
    it('an unknown id: NotFoundError naming it', async () => {
      const unknown = id();
      const error = await views.lineage(LineageRequest.parse({ id: unknown, asOf: { position: head } })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(unknown) });
      await expect(views.explain({ id: unknown, asOf: null })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('asOf.position beyond the head of the store: ValidationError naming asOf.position', async () => {
      const error = await views.lineage(LineageRequest.parse({ id: mv, asOf: { position: head + 1_000_000 } })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ code: 'VALIDATION', message: expect.stringContaining('asOf.position'), details: expect.objectContaining({ field: 'asOf.position' }) });
    });

    it('asOf.time in the future: ValidationError', async () => {
      const error = await views.lineage(LineageRequest.parse({ id: mv, asOf: { time: new Date(Date.now() + 3_600_000).toISOString() } })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ message: expect.stringContaining('asOf.time') });
    });

    it('a cursor the service never issued: ValidationError naming after', async () => {
      for (const after of ['not-a-cursor', Buffer.from('lineage:x:1').toString('base64url')]) {
        const error = await views.lineage(LineageRequest.parse({ id: mv, after })).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect(error).toMatchObject({ details: expect.objectContaining({ field: 'after' }) });
      }
    });

    it('a cursor past the end of the lineage, or taken as of another position than asOf: ValidationError naming after', async () => {
      const first = await views.lineage(LineageRequest.parse({ id: mv, first: 1, asOf: { position: head } }));
      expect(first.pageInfo.hasNextPage).toBe(true);
      const past = await views
        .lineage(LineageRequest.parse({ id: mv, after: encodeLineageCursor(head, 100_000, walkFingerprint({ rootId: mv, direction: 'BOTH', depth: null })) }))
        .catch((e: unknown) => e);
      expect(past).toBeInstanceOf(ValidationError);
      expect(past).toMatchObject({ details: expect.objectContaining({ field: 'after' }) });
      const other = await views.lineage(LineageRequest.parse({ id: mv, after: first.pageInfo.endCursor, asOf: { position: (await eventPosition('mv'))! } })).catch((e: unknown) => e);
      expect(other).toBeInstanceOf(ValidationError);
      expect(other).toMatchObject({ details: expect.objectContaining({ field: 'after' }) });
      // a cursor of this walk is refused for another root, direction or depth
      for (const elsewhere of [{ id: runId }, { id: mv, direction: 'UPSTREAM' }, { id: mv, depth: 2 }]) {
        const refused = await views.lineage(LineageRequest.parse({ ...elsewhere, after: first.pageInfo.endCursor })).catch((e: unknown) => e);
        expect(refused).toMatchObject({ message: expect.stringMatching(/belongs to another lineage query/), details: expect.objectContaining({ field: 'after' }) });
      }
      // the cursor alone keeps the snapshot: the next page is as of the first page's position
      const second = await views.lineage(LineageRequest.parse({ id: mv, first: 1, after: first.pageInfo.endCursor }));
      expect(second.position).toBe(head);
      expect(second.nodes[0].id).not.toBe(first.nodes[0].id);
    });

    it('the timeline refuses an unknown id and a cursor it never issued', async () => {
      await expect(views.timeline(TimelineRequest.parse({ id: id() }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const error = await views.timeline(TimelineRequest.parse({ id: runId, after: 'bogus' })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ details: expect.objectContaining({ field: 'after' }) });
    });

    it('depth -1 or 5000: refused by the request schema, naming depth', () => {
      for (const depth of [-1, 5000]) {
        const parsed = LineageRequest.safeParse({ id: mv, depth });
        expect(parsed.success).toBe(false);
        expect(parsed.error!.issues.map((i) => i.path.join('.'))).toEqual(['depth']);
        expect(() => LineageRequest.parse({ id: mv, depth })).toThrow(/depth/);
      }
    });
  });
});
