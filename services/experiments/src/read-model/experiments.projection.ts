import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventMap } from '@modeltrail/contracts';
import type { RecordedEvent } from '@modeltrail/eventstore';
import type { Projection } from '@modeltrail/readmodel';
import { ExperimentRowSchema, ProjectRowSchema, RunArtifactRowSchema, type RunRow, RunRowSchema } from './experiments.entities';

const HANDLED = [
  'experiments.ProjectDefined.v1',
  'experiments.ExperimentCreated.v1',
  'experiments.RunStarted.v1',
  'experiments.RunArtifactLogged.v1',
  'experiments.RunMetricsSummarized.v1',
  'experiments.RunCompleted.v1',
  'experiments.RunFailed.v1',
] as const;

type ExperimentsRecorded = { [K in keyof EventMap]: RecordedEvent<K, EventMap[K]> }[(typeof HANDLED)[number]];

/**
 * Keeps `projects`, `experiments`, `runs` and `run_artifacts` in step with the experiments
 * context's streams. The metric tables are not its: LogMetrics writes them directly.
 */
export const experimentsProjection: Projection = {
  name: 'experiments.read-model.v1',
  handles: new Set<string>(HANDLED),
  tables: ['projects', 'experiments', 'runs', 'run_artifacts'],

  async apply(em: EntityManager, recorded: RecordedEvent): Promise<void> {
    const event = recorded as ExperimentsRecorded;
    const moved = { revision: event.revision, position: event.position };
    switch (event.type) {
      case 'experiments.ProjectDefined.v1': {
        const { definedAt, ...facts } = event.data;
        em.create(ProjectRowSchema, { ...facts, definedAt: new Date(definedAt), definedBy: event.metadata.actor, ...moved });
        return;
      }
      case 'experiments.ExperimentCreated.v1': {
        const { createdAt, ...facts } = event.data;
        em.create(ExperimentRowSchema, { ...facts, createdAt: new Date(createdAt), createdBy: event.metadata.actor, ...moved });
        return;
      }
      case 'experiments.RunStarted.v1': {
        const { startedAt, ...facts } = event.data;
        em.create(RunRowSchema, {
          ...facts,
          status: 'Running',
          startedAt: new Date(startedAt),
          startedBy: event.metadata.actor,
          endedAt: null,
          failureReason: null,
          summary: null,
          ...moved,
        });
        return;
      }
      case 'experiments.RunArtifactLogged.v1': {
        const { runId, name, uri, digest, size, loggedAt } = event.data;
        em.create(RunArtifactRowSchema, { runId, name, uri, digest, size, loggedAt: new Date(loggedAt), loggedBy: event.metadata.actor, position: event.position });
        Object.assign(await run(em, runId), moved);
        return;
      }
      case 'experiments.RunMetricsSummarized.v1':
        Object.assign(await run(em, event.data.runId), { summary: event.data.metrics, ...moved });
        return;
      case 'experiments.RunCompleted.v1':
        Object.assign(await run(em, event.data.runId), { status: 'Completed', endedAt: new Date(event.data.completedAt), ...moved });
        return;
      case 'experiments.RunFailed.v1':
        Object.assign(await run(em, event.data.runId), { status: 'Failed', endedAt: new Date(event.data.failedAt), failureReason: event.data.reason, ...moved });
        return;
      default: {
        const unknown: never = event;
        throw new Error(`experiments projection cannot apply ${(unknown as RecordedEvent).type}`);
      }
    }
  },
};

function run(em: EntityManager, runId: string): Promise<RunRow> {
  return em.findOneOrFail(RunRowSchema, { runId });
}
