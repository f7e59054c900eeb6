import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { FilterQuery, MikroORM } from '@mikro-orm/postgresql';
import {
  type CompareRunsReply,
  type ExperimentView,
  experimentsRpc,
  NotFoundError,
  type ParamValue,
  type ProjectView,
  type RpcReply,
  type RunView,
  UnavailableError,
  ValidationError,
  type z,
} from '@modeltrail/contracts';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcPattern } from '@modeltrail/messaging';
import { decodeTimeCursor, encodeTimeCursor, findCaughtUp, PROJECTION_RUNNERS, type ProjectionRunner, READ_MODEL_ORM } from '@modeltrail/readmodel';
import { MetricStore } from './metrics/metric.store';
import { type ExperimentRow, ExperimentRowSchema, type ProjectRow, ProjectRowSchema, RunArtifactRowSchema } from './read-model/experiments.entities';
import { RunReader } from './read-model/run.reader';
import { experimentStream } from './experiment/experiment.decider';
import { projectStream } from './project/project.decider';
import { runStream } from './run/run.decider';

type Req<K extends keyof typeof experimentsRpc> = z.output<(typeof experimentsRpc)[K]['request']>;
type Reply<K extends keyof typeof experimentsRpc> = RpcReply<(typeof experimentsRpc)[K]>;

/** A comparison reply stays under this many points, so that it fits in one NATS message. */
const COMPARE_POINT_BUDGET = 8_000;
/** Metrics compared at most (the first ones by name when the request names none). */
const COMPARE_MAX_KEYS = 100;

/** Request/reply queries answered from the experiments read models and metric tables. */
@Controller()
export class ExperimentsQueries {
  constructor(
    @Inject(READ_MODEL_ORM) private readonly orm: MikroORM,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PROJECTION_RUNNERS) private readonly runners: ProjectionRunner[],
    private readonly runs: RunReader,
    private readonly metrics: MetricStore,
  ) {}

  @RpcPattern(experimentsRpc.getProjects)
  async getProjects(@Payload() req: Req<'getProjects'>): Promise<Reply<'getProjects'>> {
    const find = () => this.orm.em.fork().find(ProjectRowSchema, { projectId: { $in: req.projectIds } }, { orderBy: { definedAt: 'asc', projectId: 'asc' } });
    const rows = await findCaughtUp({ ids: req.projectIds, find, idOf: (row) => row.projectId, streamOf: projectStream, store: this.store, runners: this.runners });
    return { items: rows.map(projectView) };
  }

  @RpcPattern(experimentsRpc.getExperiments)
  async getExperiments(@Payload() req: Req<'getExperiments'>): Promise<Reply<'getExperiments'>> {
    const find = () => this.orm.em.fork().find(ExperimentRowSchema, { experimentId: { $in: req.experimentIds } }, { orderBy: { createdAt: 'asc', experimentId: 'asc' } });
    const rows = await findCaughtUp({ ids: req.experimentIds, find, idOf: (row) => row.experimentId, streamOf: experimentStream, store: this.store, runners: this.runners });
    return { items: rows.map(experimentView) };
  }

  @RpcPattern(experimentsRpc.getRuns)
  async getRuns(@Payload() req: Req<'getRuns'>): Promise<Reply<'getRuns'>> {
    const views = await this.runViews(req.runIds);
    return { items: [...new Set(req.runIds)].flatMap((id) => views.get(id) ?? []) };
  }

  @RpcPattern(experimentsRpc.listProjects)
  async listProjects(@Payload() req: Req<'listProjects'>): Promise<Reply<'listProjects'>> {
    const where: FilterQuery<ProjectRow> = {};
    if (req.taskType) where.taskType = req.taskType;
    if (req.after) {
      const { at, id } = decodeTimeCursor(req.after);
      where.$or = [{ definedAt: { $gt: at } }, { definedAt: at, projectId: { $gt: id } }];
    }
    const rows = await this.orm.em.fork().find(ProjectRowSchema, where, { orderBy: { definedAt: 'asc', projectId: 'asc' }, limit: req.first + 1 });
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return { items: page.map(projectView), pageInfo: { endCursor: last ? encodeTimeCursor(last.definedAt, last.projectId) : null, hasNextPage: rows.length > req.first } };
  }

  @RpcPattern(experimentsRpc.listExperiments)
  async listExperiments(@Payload() req: Req<'listExperiments'>): Promise<Reply<'listExperiments'>> {
    const where: FilterQuery<ExperimentRow> = {};
    if (req.projectId) where.projectId = req.projectId;
    if (req.after) {
      const { at, id } = decodeTimeCursor(req.after);
      where.$or = [{ createdAt: { $gt: at } }, { createdAt: at, experimentId: { $gt: id } }];
    }
    const rows = await this.orm.em.fork().find(ExperimentRowSchema, where, { orderBy: { createdAt: 'asc', experimentId: 'asc' }, limit: req.first + 1 });
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return { items: page.map(experimentView), pageInfo: { endCursor: last ? encodeTimeCursor(last.createdAt, last.experimentId) : null, hasNextPage: rows.length > req.first } };
  }

  @RpcPattern(experimentsRpc.listRuns)
  listRuns(@Payload() req: Req<'listRuns'>): Promise<Reply<'listRuns'>> {
    return this.runs.list(req);
  }

  @RpcPattern(experimentsRpc.compareRuns)
  async compareRuns(@Payload() req: Req<'compareRuns'>): Promise<Reply<'compareRuns'>> {
    const runs = await this.visibleRuns(req.runIds);
    const keys = req.keys ?? [...new Set(runs.flatMap((run) => run.latestMetrics.map((m) => m.key)))].sort(byCodePoint).slice(0, COMPARE_MAX_KEYS);
    const perSeries = Math.min(req.maxPointsPerSeries, Math.max(2, Math.floor(COMPARE_POINT_BUDGET / Math.max(1, runs.length * keys.length))));
    const series = await this.metrics.sampled(req.runIds, keys, perSeries);
    return {
      runs,
      params: compareParams(runs),
      metrics: keys.map((key) => ({
        key,
        series: runs.map((run) => {
          const found = series.get(`${run.runId}\u0000${key}`);
          const count = found?.count ?? 0;
          const points = found?.points ?? [];
          return { runId: run.runId, count, sampled: count > points.length, points, latest: run.latestMetrics.find((m) => m.key === key) ?? null };
        }),
      })),
    };
  }

  @RpcPattern(experimentsRpc.getRunMetrics)
  async getRunMetrics(@Payload() req: Req<'getRunMetrics'>): Promise<Reply<'getRunMetrics'>> {
    await this.requireRun(req.runId);
    const [page, keys] = await Promise.all([this.metrics.series(req.runId, req.key, req.first, req.after), this.metrics.keys(req.runId)]);
    return { runId: req.runId, key: req.key, points: page.points, pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage }, keys };
  }

  @RpcPattern(experimentsRpc.listRunArtifacts)
  async listRunArtifacts(@Payload() req: Req<'listRunArtifacts'>): Promise<Reply<'listRunArtifacts'>> {
    const rows = await this.orm.em.fork().find(RunArtifactRowSchema, { runId: { $in: req.runIds } }, { orderBy: { position: 'asc' } });
    return { items: rows.map((row) => ({ runId: row.runId, name: row.name, uri: row.uri, digest: row.digest, size: row.size, loggedAt: row.loggedAt.toISOString(), loggedBy: row.loggedBy })) };
  }

  private async requireRun(runId: string): Promise<void> {
    if ((await this.store.streamRevision(runStream(runId))) === 'no_stream') throw new NotFoundError(`run ${runId} does not exist`, { runId });
  }

  /** Views of the runs that exist, by id, once the projections have caught up with any run just started. */
  private async runViews(runIds: ReadonlyArray<string>): Promise<Map<string, RunView>> {
    const find = async () => [...(await this.runs.views(runIds)).values()];
    const views = await findCaughtUp({ ids: runIds, find, idOf: (view) => view.runId, streamOf: runStream, store: this.store, runners: this.runners });
    return new Map(views.map((view) => [view.runId, view]));
  }

  /** The runs' views in request order: a run without a stream is NOT_FOUND, one the read model still lacks is UNAVAILABLE. */
  private async visibleRuns(runIds: string[]): Promise<RunView[]> {
    const views = await this.runViews(runIds);
    const missing = runIds.filter((id) => !views.has(id));
    if (missing.length > 0) {
      const revisions = await Promise.all(missing.map((id) => this.store.streamRevision(runStream(id))));
      const unknown = missing.filter((_, i) => revisions[i] === 'no_stream');
      if (unknown.length) throw new NotFoundError(`${unknown.length === 1 ? 'run' : 'runs'} ${unknown.join(', ')} ${unknown.length === 1 ? 'does' : 'do'} not exist`, { runIds: unknown });
      throw new UnavailableError(`runs ${missing.join(', ')} are not in the read model yet: try again shortly`, { runIds: missing });
    }
    return runIds.map((id) => views.get(id)!);
  }
}

/** Parameters every run has with the same value are common; the others differ (null where a run lacks one). */
export function compareParams(runs: ReadonlyArray<Pick<RunView, 'runId' | 'params'>>): CompareRunsReply['params'] {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run.params)))].sort(byCodePoint);
  const differing: CompareRunsReply['params']['differing'] = [];
  const common: CompareRunsReply['params']['common'] = [];
  for (const key of keys) {
    const values = runs.map((run) => ({ runId: run.runId, value: (Object.prototype.hasOwnProperty.call(run.params, key) ? run.params[key] : null) as ParamValue | null }));
    const first = values[0].value;
    if (first !== null && values.every((v) => v.value === first)) common.push({ key, value: first });
    else differing.push({ key, values });
  }
  return { differing, common };
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function projectView(row: ProjectRow): ProjectView {
  return {
    projectId: row.projectId,
    name: row.name,
    problem: row.problem,
    taskType: row.taskType,
    target: row.target,
    successCriteria: row.successCriteria,
    definedAt: row.definedAt.toISOString(),
    definedBy: row.definedBy,
    revision: row.revision,
  };
}

function experimentView(row: ExperimentRow): ExperimentView {
  return {
    experimentId: row.experimentId,
    projectId: row.projectId,
    name: row.name,
    description: row.description,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    revision: row.revision,
  };
}
