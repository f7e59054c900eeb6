/**
 * OpenLineage 2-0-2 documents (https://openlineage.io/spec/2-0-2/OpenLineage.json), as this
 * platform writes them: RunEvents only (no DatasetEvent or JobEvent).
 */

/** `schemaURL` of every RunEvent we write: the RunEvent definition of the 2-0-2 core spec. */
export const OPENLINEAGE_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

/** `producer` of our events and `_producer` of every facet we write (standard or custom). */
export const MODELTRAIL_PRODUCER = 'https://github.com/modeltrail/modeltrail';

/** Job namespace when none is configured; also the namespace of model versions as datasets. */
export const DEFAULT_NAMESPACE = 'modeltrail';

export const RUN_EVENT_TYPES = ['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER'] as const;
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

/** BaseFacet: every facet carries `_producer` and `_schemaURL` (both URIs); more properties are allowed. */
export interface BaseFacet {
  _producer: string;
  _schemaURL: string;
  [property: string]: unknown;
}

/** Facets of an entity by key: standard keys (`parent`, `schema` ...) or custom `{prefix}_{name}` keys. */
export type Facets = Record<string, BaseFacet>;

export interface RunEventRun {
  /** A UUID: our run ids (experiment runs) and job ids (scheduler jobs) are UUIDs. */
  runId: string;
  facets?: Facets;
}

export interface RunEventJob {
  namespace: string;
  name: string;
  facets?: Facets;
}

export interface Dataset {
  namespace: string;
  name: string;
  facets?: Facets;
}

export interface InputDataset extends Dataset {
  inputFacets?: Facets;
}

export interface OutputDataset extends Dataset {
  outputFacets?: Facets;
}

/** An OpenLineage RunEvent (BaseEvent + RunEvent of the 2-0-2 core spec). */
export interface RunEvent {
  eventType?: RunEventType;
  /** RFC 3339 date-time. */
  eventTime: string;
  producer: string;
  schemaURL: string;
  run: RunEventRun;
  job: RunEventJob;
  inputs?: InputDataset[];
  outputs?: OutputDataset[];
}
