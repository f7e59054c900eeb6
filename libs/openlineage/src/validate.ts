import { RUN_EVENT_TYPES } from './types';

/**
 * Checks a document against the OpenLineage 2-0-2 RunEvent schema
 * (https://openlineage.io/spec/2-0-2/OpenLineage.json, `#/$defs/RunEvent`) and the standard
 * facet schemas (spec/facets/*.json) of the facets it carries, by hand: no JSON-schema engine.
 * Returns one message per failed check, each starting with the JSON path of the value
 * (`$.run.runId: ...`); an empty list means valid.
 *
 * What is checked:
 * - BaseEvent: `eventTime` (required, RFC 3339 date-time), `producer` and `schemaURL`
 *   (required, absolute URIs);
 * - RunEvent: `eventType` in START|RUNNING|COMPLETE|ABORT|FAIL|OTHER when present; `run` with
 *   `runId` (required, a UUID); `job` with `namespace` and `name` (required strings);
 *   `inputs` / `outputs` arrays of datasets with `namespace` and `name`;
 * - facets (run, job, dataset, input and output facets): objects with `_producer` and
 *   `_schemaURL` (required URIs); `_deleted` a boolean on job and dataset facets;
 * - custom facets (a key that is not a standard facet of that entity): the key must be
 *   `{prefix}_{name}` in camelCase (the spec's custom facet naming; `options.customPrefix`
 *   pins the prefix) and its `_schemaURL` must point into a schema with a JSON pointer
 *   fragment (`#/$defs/<Facet>` or `#/definitions/<Facet>`);
 * - the standard facets' own required fields and types: `parent`, `errorMessage`,
 *   `nominalTime`, `tags`, `jobType`, `sourceCodeLocation`, `sourceCode`, `documentation`,
 *   `schema`, `dataSource`, `version`, `dataQualityMetrics` (input), `outputStatistics`.
 */
export function validateRunEvent(value: unknown, options: ValidateOptions = {}): string[] {
  const v = new Validator(options);
  v.runEvent(value);
  return v.errors;
}

export interface ValidateOptions {
  /** Custom facet keys must start with `<customPrefix>_` (default: any camelCase prefix). */
  customPrefix?: string;
}

type FacetOwner = 'run' | 'job' | 'dataset' | 'inputDataset' | 'outputDataset';

/** Standard facet keys per entity (spec/facets/*.json at the 2-0-2 core). */
export const STANDARD_FACETS: Readonly<Record<FacetOwner, ReadonlySet<string>>> = {
  run: new Set(['parent', 'errorMessage', 'nominalTime', 'processing_engine', 'environmentVariables', 'executionParameters', 'externalQuery', 'extractionError', 'jobDependencies', 'tags', 'test']),
  job: new Set(['jobType', 'sourceCodeLocation', 'sourceCode', 'sql', 'documentation', 'ownership', 'tags']),
  dataset: new Set([
    'schema',
    'dataSource',
    'version',
    'documentation',
    'ownership',
    'storage',
    'symlinks',
    'lifecycleStateChange',
    'columnLineage',
    'datasetType',
    'catalog',
    'hierarchy',
    'lineage',
    'tags',
    'dataQualityMetrics',
  ]),
  inputDataset: new Set(['dataQualityMetrics', 'dataQualityAssertions', 'inputStatistics']),
  outputDataset: new Set(['outputStatistics', 'subset']),
};

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** Characters RFC 3986 allows in a URI (unreserved, reserved, and % for escapes). */
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const CUSTOM_KEY = /^[a-z][A-Za-z0-9]*_[a-z][A-Za-z0-9]*$/;
const POINTER_FRAGMENT = /#\/(\$defs|definitions)\/[^/]+/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether `value` is an RFC 3339 date-time (JSON Schema `format: date-time`). */
export function isDateTime(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1])) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59)) return false;
  return true;
}

/** Whether `value` is an absolute URI (RFC 3986: a scheme, then only URI characters, `%` escapes well formed, one `#` at most). */
export function isUri(value: string): boolean {
  if (!SCHEME.test(value) || !URI_CHARS.test(value)) return false;
  if (/%(?![0-9A-Fa-f]{2})/.test(value)) return false;
  return value.indexOf('#') === value.lastIndexOf('#');
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** `$.run.facets.parent`, `$.inputs[0].facets["my key"]`. */
function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Validator {
  readonly errors: string[] = [];

  constructor(private readonly options: ValidateOptions) {}

  private fail(path: string, message: string): void {
    this.errors.push(`${path}: ${message}`);
  }

  runEvent(value: unknown): void {
    const path = '$';
    if (!this.object(path, value, 'a RunEvent')) return;
    // BaseEvent
    this.required(path, value, 'eventTime', (p, v) => this.dateTime(p, v));
    this.required(path, value, 'producer', (p, v) => this.uri(p, v));
    this.required(path, value, 'schemaURL', (p, v) => this.uri(p, v));
    // RunEvent
    if (value.eventType !== undefined && !(RUN_EVENT_TYPES as ReadonlyArray<unknown>).includes(value.eventType)) {
      this.fail(child(path, 'eventType'), `must be one of ${RUN_EVENT_TYPES.join(', ')}, got ${JSON.stringify(value.eventType)}`);
    }
    this.required(path, value, 'run', (p, run) => {
      if (!this.object(p, run, 'a Run')) return;
      this.required(p, run, 'runId', (q, id) => this.uuid(q, id));
      this.facets(child(p, 'facets'), run.facets, 'run');
    });
    this.required(path, value, 'job', (p, job) => this.job(p, job));
    for (const [key, owner] of [
      ['inputs', 'inputDataset'],
      ['outputs', 'outputDataset'],
    ] as const) {
      const list = value[key];
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        this.fail(child(path, key), `must be an array of datasets, got ${kind(list)}`);
        continue;
      }
      list.forEach((dataset, i) => this.dataset(child(child(path, key), i), dataset, owner));
    }
  }

  private job(path: string, job: unknown): void {
    if (!this.object(path, job, 'a Job')) return;
    this.required(path, job, 'namespace', (p, v) => this.string(p, v));
    this.required(path, job, 'name', (p, v) => this.string(p, v));
    this.facets(child(path, 'facets'), job.facets, 'job');
  }

  private dataset(path: string, dataset: unknown, owner: 'inputDataset' | 'outputDataset'): void {
    if (!this.object(path, dataset, owner === 'inputDataset' ? 'an InputDataset' : 'an OutputDataset')) return;
    this.required(path, dataset, 'namespace', (p, v) => this.string(p, v));
    this.required(path, dataset, 'name', (p, v) => this.string(p, v));
    this.facets(child(path, 'facets'), dataset.facets, 'dataset');
    const own = owner === 'inputDataset' ? 'inputFacets' : 'outputFacets';
    this.facets(child(path, own), dataset[own], owner);
  }

  private facets(path: string, facets: unknown, owner: FacetOwner): void {
    if (facets === undefined) return;
    if (!this.object(path, facets, 'an object of facets by name')) return;
    for (const [key, facet] of Object.entries(facets)) {
      const p = child(path, key);
      const standard = STANDARD_FACETS[owner].has(key);
      if (!standard) this.customKey(p, key);
      if (!this.object(p, facet, 'a facet')) continue;
      this.required(p, facet, '_producer', (q, v) => this.uri(q, v));
      this.required(p, facet, '_schemaURL', (q, v) => {
        if (this.uri(q, v) && !standard && !POINTER_FRAGMENT.test(v as string)) {
          this.fail(q, `a custom facet's _schemaURL must point to its schema with a JSON pointer fragment (#/$defs/<Facet>), got ${JSON.stringify(v)}`);
        }
      });
      if ((owner === 'job' || owner === 'dataset') && facet._deleted !== undefined && typeof facet._deleted !== 'boolean') {
        this.fail(child(p, '_deleted'), `must be a boolean, got ${kind(facet._deleted)}`);
      }
      if (standard) this.standardFacet(p, owner, key, facet);
    }
  }

  private customKey(path: string, key: string): void {
    const prefix = this.options.customPrefix;
    if (!CUSTOM_KEY.test(key)) {
      this.fail(path, `is not a standard facet of this entity, so it must be a custom facet named {prefix}_{name} in camelCase (e.g. ${prefix ?? 'myProject'}_statistics)`);
    } else if (prefix !== undefined && !key.startsWith(`${prefix}_`)) {
      this.fail(path, `a custom facet's name must start with the producer's prefix "${prefix}_"`);
    }
  }

  /** Required fields and types of the standard facets (spec/facets/*.json). */
  private standardFacet(path: string, owner: FacetOwner, key: string, facet: Record<string, unknown>): void {
    const opt = (name: string, check: (p: string, v: unknown) => void) => {
      if (facet[name] !== undefined) check(child(path, name), facet[name]);
    };
    switch (`${owner}.${key}`) {
      case 'run.parent': {
        this.required(path, facet, 'run', (p, run) => {
          if (this.object(p, run, 'the parent run')) this.required(p, run, 'runId', (q, id) => this.uuid(q, id));
        });
        this.required(path, facet, 'job', (p, job) => {
          if (!this.object(p, job, 'the parent job')) return;
          this.required(p, job, 'namespace', (q, v) => this.string(q, v));
          this.required(p, job, 'name', (q, v) => this.string(q, v));
        });
        opt('root', (p, root) => {
          if (!this.object(p, root, 'the root run and job')) return;
          this.required(p, root, 'run', (q, run) => {
            if (this.object(q, run, 'the root run')) this.required(q, run, 'runId', (r, id) => this.uuid(r, id));
          });
          this.required(p, root, 'job', (q, job) => {
            if (!this.object(q, job, 'the root job')) return;
            this.required(q, job, 'namespace', (r, v) => this.string(r, v));
            this.required(q, job, 'name', (r, v) => this.string(r, v));
          });
        });
        return;
      }
      case 'run.errorMessage':
        this.required(path, facet, 'message', (p, v) => this.string(p, v));
        this.required(path, facet, 'programmingLanguage', (p, v) => this.string(p, v));
        opt('stackTrace', (p, v) => this.string(p, v));
        return;
      case 'run.nominalTime':
        this.required(path, facet, 'nominalStartTime', (p, v) => this.dateTime(p, v));
        opt('nominalEndTime', (p, v) => this.dateTime(p, v));
        return;
      case 'run.tags':
      case 'job.tags':
      case 'dataset.tags':
        opt('tags', (p, tags) =>
          this.array(p, tags, (q, tag) => {
            if (!this.object(q, tag, 'a tag')) return;
            this.required(q, tag, 'key', (r, v) => this.string(r, v));
            this.required(q, tag, 'value', (r, v) => this.string(r, v));
          }),
        );
        return;
      case 'job.jobType':
        this.required(path, facet, 'processingType', (p, v) => this.string(p, v));
        this.required(path, facet, 'integration', (p, v) => this.string(p, v));
        opt('jobType', (p, v) => this.string(p, v));
        return;
      case 'job.sourceCodeLocation':
        this.required(path, facet, 'type', (p, v) => this.string(p, v));
        this.required(path, facet, 'url', (p, v) => this.uri(p, v));
        for (const name of ['repoUrl', 'path', 'version', 'tag', 'branch']) opt(name, (p, v) => this.string(p, v));
        return;
      case 'job.sourceCode':
        this.required(path, facet, 'language', (p, v) => this.string(p, v));
        this.required(path, facet, 'sourceCode', (p, v) => this.string(p, v));
        return;
      case 'job.documentation':
        this.required(path, facet, 'description', (p, v) => this.string(p, v));
        return;
      case 'dataset.schema':
        opt('fields', (p, fields) => this.schemaFields(p, fields));
        return;
      case 'dataset.dataSource':
        opt('name', (p, v) => this.string(p, v));
        opt('uri', (p, v) => this.uri(p, v));
        return;
      case 'dataset.version':
        this.required(path, facet, 'datasetVersion', (p, v) => this.string(p, v));
        return;
      case 'inputDataset.dataQualityMetrics':
        for (const name of ['rowCount', 'bytes', 'fileCount']) opt(name, (p, v) => this.integer(p, v));
        opt('lastUpdated', (p, v) => this.dateTime(p, v));
        this.required(path, facet, 'columnMetrics', (p, columns) => {
          if (!this.object(p, columns, 'an object of column metrics by column name')) return;
          for (const [column, metrics] of Object.entries(columns)) {
            const q = child(p, column);
            if (!this.object(q, metrics, 'the metrics of a column')) continue;
            for (const name of ['nullCount', 'distinctCount']) if (metrics[name] !== undefined) this.integer(child(q, name), metrics[name]);
            for (const name of ['sum', 'count', 'min', 'max']) if (metrics[name] !== undefined) this.number(child(q, name), metrics[name]);
            if (metrics.quantiles !== undefined && this.object(child(q, 'quantiles'), metrics.quantiles, 'an object of quantile values')) {
              for (const [quantile, v] of Object.entries(metrics.quantiles)) this.number(child(child(q, 'quantiles'), quantile), v);
            }
          }
        });
        return;
      case 'outputDataset.outputStatistics':
        this.required(path, facet, 'rowCount', (p, v) => this.integer(p, v));
        opt('size', (p, v) => this.integer(p, v));
        opt('fileCount', (p, v) => this.integer(p, v));
        return;
      default:
        return;
    }
  }

  private schemaFields(path: string, fields: unknown): void {
    this.array(path, fields, (p, field) => {
      if (!this.object(p, field, 'a schema field')) return;
      this.required(p, field, 'name', (q, v) => this.string(q, v));
      if (field.type !== undefined) this.string(child(p, 'type'), field.type);
      if (field.description !== undefined) this.string(child(p, 'description'), field.description);
      if (field.ordinal_position !== undefined) this.integer(child(p, 'ordinal_position'), field.ordinal_position);
      if (field.fields !== undefined) this.schemaFields(child(p, 'fields'), field.fields);
    });
  }

  // --- primitive checks ------------------------------------------------------------------

  private required(path: string, owner: Record<string, unknown>, key: string, check: (path: string, value: unknown) => void): void {
    const p = child(path, key);
    if (owner[key] === undefined) this.fail(p, 'is required');
    else check(p, owner[key]);
  }

  private object(path: string, value: unknown, what: string): value is Record<string, unknown> {
    if (isObject(value)) return true;
    this.fail(path, `must be ${what} (an object), got ${kind(value)}`);
    return false;
  }

  private array(path: string, value: unknown, each: (path: string, item: unknown) => void): void {
    if (!Array.isArray(value)) this.fail(path, `must be an array, got ${kind(value)}`);
    else value.forEach((item, i) => each(child(path, i), item));
  }

  private string(path: string, value: unknown): value is string {
    if (typeof value === 'string') return true;
    this.fail(path, `must be a string, got ${kind(value)}`);
    return false;
  }

  private integer(path: string, value: unknown): void {
    if (typeof value !== 'number' || !Number.isInteger(value)) this.fail(path, `must be an integer, got ${typeof value === 'number' ? value : kind(value)}`);
  }

  private number(path: string, value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(path, `must be a number, got ${kind(value)}`);
  }

  private dateTime(path: string, value: unknown): void {
    if (this.string(path, value) && !isDateTime(value)) this.fail(path, `must be an RFC 3339 date-time (format date-time, e.g. 2026-11-22T12:00:00.000Z), got ${JSON.stringify(value)}`);
  }

  private uri(path: string, value: unknown): boolean {
    if (!this.string(path, value)) return false;
    if (isUri(value)) return true;
    this.fail(path, `must be an absolute URI (format uri, e.g. https://example.com/x), got ${JSON.stringify(value)}`);
    return false;
  }

  private uuid(path: string, value: unknown): void {
    if (this.string(path, value) && !isUuid(value)) this.fail(path, `must be a UUID (format uuid), got ${JSON.stringify(value)}`);
  }
}
