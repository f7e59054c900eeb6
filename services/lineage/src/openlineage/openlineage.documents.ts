import type { Pool, PoolClient } from 'pg';
import { type BuildOptions, buildRunEvent, type DatasetVersionInfo, type Emission, type LineageLookup, referencesOf, type RunEvent } from '@modeltrail/openlineage';
import { ident } from '@modeltrail/postgres';

/**
 * RunEvents from the emissions the projection stored: the names and dataset versions they
 * refer to looked up in `openlineage_names` and `openlineage_dataset_versions` (two queries
 * for any number of emissions), then `buildRunEvent`. Used by the outbox (when it copies an
 * emission) and by `OpenLineageReader`, so both give the same document.
 */
export async function loadLookup(db: Pool | PoolClient, schema: string, emissions: ReadonlyArray<Emission>): Promise<LineageLookup> {
  const s = ident(schema);
  const refs = referencesOf(emissions);
  const datasetVersions = new Map<string, DatasetVersionInfo>();
  if (refs.datasetVersions.length > 0) {
    const { rows } = await db.query<{
      dataset_version_id: string;
      dataset_id: string;
      uri: string;
      format: string;
      digest: string;
      size: string | null;
      rows: string | null;
      schema: DatasetVersionInfo['schema'];
      column_metrics: DatasetVersionInfo['columnMetrics'];
    }>(`SELECT dataset_version_id, dataset_id, uri, format, digest, size, rows, schema, column_metrics FROM ${s}.openlineage_dataset_versions WHERE dataset_version_id = ANY($1::uuid[])`, [refs.datasetVersions]);
    for (const r of rows) {
      datasetVersions.set(r.dataset_version_id, {
        datasetVersionId: r.dataset_version_id,
        datasetId: r.dataset_id,
        uri: r.uri,
        format: r.format,
        digest: r.digest,
        size: r.size === null ? null : Number(r.size),
        rows: r.rows === null ? null : Number(r.rows),
        schema: r.schema,
        columnMetrics: r.column_metrics,
      });
    }
  }
  const datasets = new Set(refs.datasets);
  for (const version of datasetVersions.values()) datasets.add(version.datasetId);
  const ids = [...new Set([...refs.projects, ...refs.experiments, ...datasets, ...refs.models])].map((id) => id.toLowerCase());
  const byKind: Record<string, Map<string, string>> = { project: new Map(), experiment: new Map(), dataset: new Map(), model: new Map() };
  if (ids.length > 0) {
    const { rows } = await db.query<{ kind: string; id: string; name: string }>(`SELECT kind, id, name FROM ${s}.openlineage_names WHERE id = ANY($1::uuid[])`, [ids]);
    for (const r of rows) byKind[r.kind]?.set(r.id, r.name);
  }
  // Ids in emissions come from events and may be in capitals; the database gives them lower-cased.
  const lower = <V>(map: Map<string, V>, wanted: Iterable<string>): Map<string, V> => {
    const out = new Map<string, V>();
    for (const id of wanted) {
      const value = map.get(id.toLowerCase());
      if (value !== undefined) out.set(id, value);
    }
    return out;
  };
  return {
    projects: lower(byKind.project, refs.projects),
    experiments: lower(byKind.experiment, refs.experiments),
    datasets: lower(byKind.dataset, datasets),
    models: lower(byKind.model, refs.models),
    datasetVersions: lower(datasetVersions, refs.datasetVersions),
  };
}

/** The RunEvents of `emissions`, in their order. */
export async function buildRunEvents(db: Pool | PoolClient, schema: string, emissions: ReadonlyArray<Emission>, options: BuildOptions = {}): Promise<RunEvent[]> {
  if (emissions.length === 0) return [];
  const lookup = await loadLookup(db, schema, emissions);
  return emissions.map((emission) => buildRunEvent(emission, lookup, options));
}
