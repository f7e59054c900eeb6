import {
  ConflictError,
  type JobOutcome,
  jobRunId,
  NotFoundError,
  type OptimizationDirection,
  type Params,
  type SuccessCriterion,
  type SweepBest,
  type SweepJobTemplate,
  type SweepObjective,
  type SweepSpace,
  sweepStream,
  type SweepStrategy,
  sweepTrialJobId,
  type TypedEvent,
  ValidationError,
} from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';
import type { JobCommand } from '../job/job.decider';
import { countTrials, trialParams } from './sweep-space';

/**
 * The Sweep aggregate (stream `sweep-<uuid>`): a hyper-parameter search in one experiment,
 * one training job per trial.
 *
 * The sweep is its own process manager, kept in its stream: SubmitSweep queues the first
 * `maxConcurrent` trials; each finished trial (the service sends RecordTrialFinished when a
 * trial's job ends, with the objective metric of its run) queues the next one, until every
 * trial ran; the finish of the last one completes the sweep with its best trial. A trial's
 * params come from `trialParams` (sweep-space.ts), its job id from `sweepTrialJobId`, so the
 * service reacting to SweepTrialQueued submits the job (`trialJob`) idempotently: the job's
 * stream refuses a second submit of the same id.
 *
 * The objective is the one given, else the project's first success criterion; a metric given
 * without a direction takes the direction of the project's criterion for that metric.
 *
 * A cancel stops queueing and lists the open trial jobs for the service to cancel; trials that
 * end after it are still recorded (for the audit), but the sweep stays CANCELLED.
 */

export type SweepCommand =
  | {
      type: 'SubmitSweep';
      sweepId: string;
      experimentId: string;
      /** The experiment with its project's success criteria; null when it does not exist. */
      experiment: { projectId: string; successCriteria: SuccessCriterion[] } | null;
      strategy: SweepStrategy;
      space: SweepSpace;
      maxTrials: number | null;
      maxConcurrent: number;
      seed: number;
      objective: { metric: string; direction: OptimizationDirection | null } | null;
      jobTemplate: SweepJobTemplate;
      /** The installation's limit on trials per sweep (configuration). */
      trialLimit: number;
      at: string;
    }
  | { type: 'RecordTrialFinished'; sweepId: string; trial: number; jobId: string; runId: string; outcome: JobOutcome; objectiveValue: number | null; at: string }
  | { type: 'CancelSweep'; sweepId: string; reason: string; at: string };

export type SweepEvent = TypedEvent<
  'scheduler.SweepSubmitted.v1' | 'scheduler.SweepTrialQueued.v1' | 'scheduler.SweepTrialFinished.v1' | 'scheduler.SweepCompleted.v1' | 'scheduler.SweepCancelled.v1'
>;

export interface SweepTrial {
  trial: number;
  jobId: string;
  params: Params;
  finished: { outcome: JobOutcome; objectiveValue: number | null; runId: string } | null;
}

export interface SweepFacts {
  sweepId: string;
  experimentId: string;
  projectId: string;
  strategy: SweepStrategy;
  space: SweepSpace;
  maxTrials: number;
  maxConcurrent: number;
  seed: number;
  objective: SweepObjective;
  jobTemplate: SweepJobTemplate;
  submittedAt: string;
  /** Queued so far; `trials[i].trial === i`. */
  trials: SweepTrial[];
}

export type SweepState =
  | { status: 'None' }
  | ({ status: 'RUNNING' } & SweepFacts)
  | ({ status: 'COMPLETED'; best: SweepBest | null; endedAt: string } & SweepFacts)
  | ({ status: 'CANCELLED'; reason: string; endedAt: string } & SweepFacts);
type Existing = Exclude<SweepState, { status: 'None' }>;

export { sweepStream };

export const sweepDecider: Decider<SweepCommand, SweepEvent, SweepState> = {
  initialState: () => ({ status: 'None' }),

  decide(command, state) {
    switch (command.type) {
      case 'SubmitSweep': {
        if (state.status !== 'None') throw new ConflictError(`sweep ${command.sweepId} already exists (submitted ${state.submittedAt})`, { sweepId: command.sweepId });
        if (!command.experiment) throw new NotFoundError(`experiment ${command.experimentId} does not exist`, { experimentId: command.experimentId });
        if (!Number.isInteger(command.maxConcurrent) || command.maxConcurrent < 1) throw new ValidationError(`maxConcurrent must be a whole number of at least 1, got ${command.maxConcurrent}`, { field: 'maxConcurrent' });
        const objective = resolveObjective(command.objective, command.experiment);
        const maxTrials = countTrials(command.strategy, command.space, command.maxTrials, command.trialLimit);
        const submitted: SweepEvent = {
          type: 'scheduler.SweepSubmitted.v1',
          data: {
            sweepId: command.sweepId,
            experimentId: command.experimentId,
            projectId: command.experiment.projectId,
            strategy: command.strategy,
            space: command.space,
            maxTrials,
            maxConcurrent: command.maxConcurrent,
            seed: command.seed,
            objective,
            jobTemplate: command.jobTemplate,
            submittedAt: command.at,
          },
        };
        const facts = sweepDecider.evolve(state, submitted) as Existing;
        return [submitted, ...queueMore(facts, command.at)];
      }
      case 'RecordTrialFinished': {
        const sweep = requireSweep(state, command.sweepId);
        const trial = sweep.trials[command.trial];
        if (!trial) throw new NotFoundError(`sweep ${sweep.sweepId} has no trial ${command.trial} queued`, { sweepId: sweep.sweepId, trial: command.trial });
        if (trial.jobId !== command.jobId) throw new ConflictError(`trial ${command.trial} of sweep ${sweep.sweepId} runs as job ${trial.jobId}, not ${command.jobId}`, { sweepId: sweep.sweepId, trial: command.trial });
        if (trial.finished) {
          if (trial.finished.outcome === command.outcome && trial.finished.objectiveValue === command.objectiveValue) return [];
          throw new ConflictError(`trial ${command.trial} of sweep ${sweep.sweepId} already finished ${trial.finished.outcome}`, { sweepId: sweep.sweepId, trial: command.trial });
        }
        const finished: SweepEvent = {
          type: 'scheduler.SweepTrialFinished.v1',
          data: {
            sweepId: sweep.sweepId,
            trial: command.trial,
            jobId: command.jobId,
            runId: command.runId,
            outcome: command.outcome,
            objectiveValue: command.objectiveValue,
            finishedAt: command.at,
          },
        };
        if (sweep.status !== 'RUNNING') return [finished];
        const after = sweepDecider.evolve(sweep, finished) as Existing;
        const next = queueMore(after, command.at);
        const open = after.trials.filter((t) => !t.finished).length + next.length;
        if (open > 0 || after.trials.length + next.length < after.maxTrials) return [finished, ...next];
        const succeeded = after.trials.filter((t) => t.finished?.outcome === 'SUCCEEDED').length;
        return [
          finished,
          {
            type: 'scheduler.SweepCompleted.v1',
            data: { sweepId: sweep.sweepId, best: bestTrial(after), trialsSucceeded: succeeded, trialsFailed: after.trials.length - succeeded, completedAt: command.at },
          },
        ];
      }
      case 'CancelSweep': {
        const sweep = requireSweep(state, command.sweepId);
        if (sweep.status === 'CANCELLED') return [];
        if (sweep.status === 'COMPLETED') throw new ConflictError(`sweep ${sweep.sweepId} has already completed: it cannot be cancelled`, { sweepId: sweep.sweepId });
        const openJobIds = sweep.trials.filter((t) => !t.finished).map((t) => t.jobId);
        return [{ type: 'scheduler.SweepCancelled.v1', data: { sweepId: sweep.sweepId, reason: command.reason, openJobIds, cancelledAt: command.at } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'scheduler.SweepSubmitted.v1':
        return { status: 'RUNNING', ...event.data, trials: [] };
      case 'scheduler.SweepTrialQueued.v1': {
        if (state.status === 'None') return state;
        const { trial, jobId, params } = event.data;
        return { ...state, trials: [...state.trials, { trial, jobId, params, finished: null }] };
      }
      case 'scheduler.SweepTrialFinished.v1': {
        if (state.status === 'None') return state;
        const { trial, outcome, objectiveValue, runId } = event.data;
        return { ...state, trials: state.trials.map((t) => (t.trial === trial ? { ...t, finished: { outcome, objectiveValue, runId } } : t)) };
      }
      case 'scheduler.SweepCompleted.v1':
        return state.status === 'None' ? state : { ...factsOf(state), status: 'COMPLETED', best: event.data.best, endedAt: event.data.completedAt };
      case 'scheduler.SweepCancelled.v1':
        return state.status === 'None' ? state : { ...factsOf(state), status: 'CANCELLED', reason: event.data.reason, endedAt: event.data.cancelledAt };
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

/**
 * The job a queued trial runs: the template's spec, a new run in the sweep's experiment with
 * the template's params overlaid by the trial's, and the trial's job id.
 */
export function trialJob(sweep: SweepFacts, trial: { trial: number; jobId: string; params: Params }, at: string): Extract<JobCommand, { type: 'SubmitJob' }> {
  const { params, datasetVersions, ...spec } = sweep.jobTemplate;
  return {
    type: 'SubmitJob',
    jobId: trial.jobId,
    run: {
      kind: 'NEW',
      runId: jobRunId(trial.jobId),
      experimentId: sweep.experimentId,
      experiment: { projectId: sweep.projectId },
      params: { ...params, ...trial.params },
      datasetVersions,
    },
    ...spec,
    sweep: { sweepId: sweep.sweepId, trial: trial.trial },
    at,
  };
}

/** Best succeeded trial with a value by the objective's direction; ties go to the lower trial. */
export function bestTrial(sweep: SweepFacts): SweepBest | null {
  let best: SweepBest | null = null;
  for (const t of sweep.trials) {
    if (t.finished?.outcome !== 'SUCCEEDED' || t.finished.objectiveValue === null) continue;
    const value = t.finished.objectiveValue;
    const better = best === null || (sweep.objective.direction === 'MAXIMIZE' ? value > best.value : value < best.value);
    if (better) best = { trial: t.trial, jobId: t.jobId, runId: t.finished.runId, value };
  }
  return best;
}

function queueMore(sweep: SweepFacts, at: string): SweepEvent[] {
  const open = sweep.trials.filter((t) => !t.finished).length;
  const count = Math.max(0, Math.min(sweep.maxConcurrent - open, sweep.maxTrials - sweep.trials.length));
  return Array.from({ length: count }, (_, i) => {
    const trial = sweep.trials.length + i;
    return {
      type: 'scheduler.SweepTrialQueued.v1' as const,
      data: { sweepId: sweep.sweepId, trial, params: trialParams(sweep.strategy, sweep.space, sweep.seed, trial), jobId: sweepTrialJobId(sweep.sweepId, trial), queuedAt: at },
    };
  });
}

function resolveObjective(given: { metric: string; direction: OptimizationDirection | null } | null, experiment: { projectId: string; successCriteria: SuccessCriterion[] }): SweepObjective {
  if (given?.direction) return { metric: given.metric, direction: given.direction, source: 'GIVEN' };
  if (given) {
    const criterion = experiment.successCriteria.find((c) => c.metric === given.metric);
    if (!criterion) {
      throw new ValidationError(`objective.direction is required: project ${experiment.projectId} has no success criterion for metric "${given.metric}" to take it from`, { field: 'objective.direction' });
    }
    return { metric: given.metric, direction: criterion.direction, source: 'PROJECT' };
  }
  const first = experiment.successCriteria[0];
  if (!first) throw new ValidationError(`give an objective {metric, direction}: project ${experiment.projectId} defines no success criteria to take it from`, { field: 'objective' });
  return { metric: first.metric, direction: first.direction, source: 'PROJECT' };
}

function requireSweep(state: SweepState, sweepId: string): Existing {
  if (state.status === 'None') throw new NotFoundError(`sweep ${sweepId} does not exist`, { sweepId });
  return state;
}

function factsOf(state: Existing): SweepFacts {
  const { sweepId, experimentId, projectId, strategy, space, maxTrials, maxConcurrent, seed, objective, jobTemplate, submittedAt, trials } = state;
  return { sweepId, experimentId, projectId, strategy, space, maxTrials, maxConcurrent, seed, objective, jobTemplate, submittedAt, trials };
}
