/**
 * Names of jobs and datasets (OpenLineage naming conventions, https://openlineage.io/docs/spec/naming).
 * See README.md for the choices.
 */

export interface DatasetName {
  namespace: string;
  name: string;
}

/** Object stores: the namespace is `<scheme>://<bucket or container>`, the name the object key (no leading slash). */
const OBJECT_STORES: Readonly<Record<string, string>> = { s3: 's3', s3a: 's3', s3n: 's3', gs: 'gs', gcs: 'gs', abfss: 'abfss', abfs: 'abfs', wasbs: 'wasbs', wasb: 'wasb' };

/**
 * The OpenLineage dataset a URI names:
 * - `file:///data/x.csv`, `file:/data/x.csv`, `file://localhost/data/x.csv`, `/data/x.csv` -> `file` + `/data/x.csv`
 * - `file://host/data/x.csv` -> `file://host` + `/data/x.csv`
 * - `s3://bucket/a/b.parquet` (also s3a, s3n) -> `s3://bucket` + `a/b.parquet`; `gs://`, `abfss://c@acct.dfs.core.windows.net/p`, `wasbs://` alike
 * - `hdfs://nn:8020/p`, `https://host/p`, any `<scheme>://<authority>/<path>` -> `<scheme>://<authority>` + `/<path>`
 * - anything else (a relative path, an opaque URI) -> `file` + the URI as given
 * Query strings and fragments are not part of the name; the scheme and host are lower-cased.
 */
export function datasetNameOfUri(uri: string): DatasetName {
  const value = uri.trim();
  if (value.startsWith('/')) return { namespace: 'file', name: value };
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/.exec(value);
  if (!m) return { namespace: 'file', name: value };
  const scheme = m[1].toLowerCase();
  const rest = m[2].replace(/[?#].*$/, '');
  if (scheme === 'file') {
    if (!rest.startsWith('//')) return { namespace: 'file', name: rest || '/' };
    const slash = rest.indexOf('/', 2);
    const host = (slash < 0 ? rest.slice(2) : rest.slice(2, slash)).toLowerCase();
    const path = slash < 0 ? '/' : rest.slice(slash);
    return host === '' || host === 'localhost' ? { namespace: 'file', name: path } : { namespace: `file://${host}`, name: path };
  }
  if (!rest.startsWith('//')) return { namespace: 'file', name: value };
  const slash = rest.indexOf('/', 2);
  const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  const store = OBJECT_STORES[scheme];
  if (store) return { namespace: `${store}://${authority}`, name: path.replace(/^\/+/, '') };
  return { namespace: `${scheme}://${authority.toLowerCase()}`, name: path || '/' };
}

/** The URI of a dataset namespace, for the `dataSource` facet (`file` -> `file:///`). */
export function dataSourceUri(namespace: string): string {
  return namespace === 'file' ? 'file:///' : namespace;
}

/**
 * Job name of an experiment's runs: `<project>.<experiment>` (names when known, else ids).
 * Every run of an experiment is a run of this one job.
 */
export function experimentJobName(project: string, experiment: string): string {
  return `${project}.${experiment}`;
}

/** Job name of a scheduler job: `job/<jobId>` (the job runs once, as OpenLineage run `<jobId>`). */
export function schedulerJobName(jobId: string): string {
  return `job/${jobId.toLowerCase()}`;
}

/** Dataset name of a model version (in the models namespace): `models/<modelId>/versions/<n>`. */
export function modelVersionDatasetName(modelId: string, version: number): string {
  return `models/${modelId.toLowerCase()}/versions/${version}`;
}
