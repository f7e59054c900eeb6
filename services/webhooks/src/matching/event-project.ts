/**
 * Which project an event belongs to, for project-scoped webhooks (pure).
 *
 * Events that define something name its project (`projectId`: ProjectDefined, DatasetRegistered,
 * RunStarted, JobQueued, ModelRegistered, ModelVersionCreated, ModelDeployed, ...); the events that
 * follow in the same stream, or about things made from them, do not (RunCompleted, JobFailed,
 * PromotionApproved, AlertRaised, DatasetVersionRegistered, ...). So the matcher remembers the
 * project of every stream and of every id an event that names its project carries, and an event
 * without `projectId` takes the project of its stream, else of the first id it carries whose
 * project is known (a dataset version: its dataset's). Role grants take the project of their scope.
 *
 * Without a project (delivered to unscoped webhooks only): agents (`scheduler.Agent*`), API keys,
 * platform role grants, datasets registered outside any project and what is made from them, and
 * unscoped webhooks' own events.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STREAM_ID = /-([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

/**
 * The id fields that name project-owned things (not agents, sessions or keys, which are shared
 * or platform-wide): an event that names its project gives them that project.
 */
export const PROJECT_OWNED_ID_FIELDS = [
  'datasetId',
  'datasetVersionId',
  'validationId',
  'splitId',
  'experimentId',
  'runId',
  'jobId',
  'sweepId',
  'modelId',
  'modelVersionId',
  'requestId',
  'deploymentId',
  'monitorId',
  'measurementId',
  'alertId',
  'retrainId',
  'webhookId',
] as const;

export interface EventLike {
  type: string;
  stream: string;
  data: unknown;
}

/** The uuid at the end of a stream id (`run-<uuid>`, `access-<projectId>`), lower-case, or null. */
export function streamEntityId(stream: string): string | null {
  const match = STREAM_ID.exec(stream);
  return match ? match[1].toLowerCase() : null;
}

/** The ids of project-owned things the event's data names, in field order. */
export function ownedIdsOf(event: EventLike): string[] {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const ids: string[] = [];
  for (const field of PROJECT_OWNED_ID_FIELDS) {
    const value = data[field];
    if (typeof value === 'string' && UUID.test(value.toLowerCase())) ids.push(value.toLowerCase());
  }
  return ids;
}

/** Every id whose project the matcher may need to look up for this event. */
export function candidateIdsOf(event: EventLike): string[] {
  const stream = streamEntityId(event.stream);
  return [...(stream ? [stream] : []), ...ownedIdsOf(event)];
}

export interface EventProject {
  projectId: string | null;
  /** Ids that now have a known project (new to `known`): the stream's, and those of an event that names its project. */
  learned: Array<[string, string]>;
}

/** The event's project given the projects known so far (`known`: id -> project), and what it teaches. */
export function projectOfEvent(event: EventLike, known: ReadonlyMap<string, string>): EventProject {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const stream = streamEntityId(event.stream);
  let projectId: string | null = null;
  let named = false;
  if ('projectId' in data) {
    named = true;
    projectId = typeof data.projectId === 'string' ? data.projectId.toLowerCase() : null;
  } else if (event.type === 'access.RoleGranted.v1' || event.type === 'access.RoleRevoked.v1') {
    const scope = typeof data.scope === 'string' ? data.scope.toLowerCase() : '';
    projectId = UUID.test(scope) ? scope : null;
    return { projectId, learned: [] };
  } else {
    for (const id of candidateIdsOf(event)) {
      const project = known.get(id);
      if (project !== undefined) {
        projectId = project;
        break;
      }
    }
  }
  if (projectId === null) return { projectId, learned: [] };
  const teach = named ? candidateIdsOf(event) : stream ? [stream] : [];
  const learned: Array<[string, string]> = [];
  for (const id of new Set(teach)) if (!known.has(id)) learned.push([id, projectId]);
  return { projectId, learned };
}
