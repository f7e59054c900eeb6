import { METRIC_KEY_PATTERN, METRIC_KEY_RULE, type MetricPointInput } from '@modeltrail/contracts';
import type { OutputLine } from '../process/job-process';

/**
 * The JSON-lines protocol by which a job reports structured records on its stdout
 * (docs/training-protocol.md). A stdout line that is a JSON object with the marker field
 * `"modeltrail": 1` is a record:
 *
 *   {"modeltrail": 1, "type": "metrics", "metrics": {"loss": 0.4}, "step": 3}
 *   {"modeltrail": 1, "type": "params", "params": {"lr": 0.01, "optimizer": "sgd"}}
 *   {"modeltrail": 1, "type": "artifact", "path": "model.json", "name": "model"}
 *   {"modeltrail": 1, "type": "status", "message": "epoch 2 of 10"}
 *
 * Every other line (stderr, plain text, JSON without the marker) is a log line. A line that
 * carries the marker but cannot be read as a record (not JSON, cut for length, unknown type or
 * version, a field of the wrong kind) stays a log line and adds a warning that says why; the
 * parser never throws. In a readable metrics or params record, entries that break a limit are
 * dropped, each named in a warning, and the others are kept.
 */

export const MARKER = 'modeltrail';
export const PROTOCOL_VERSION = 1;

export const LIMITS = {
  /** Metric keys: letters, digits, spaces and `_ - . /`, 1 to 250 characters (the experiments contracts' MetricKey). */
  metricKeyLength: 250,
  metricsPerRecord: 1_000,
  /** Parameter names: 1 to 250 characters; values: a string of at most 5000 characters, a finite number or a boolean. */
  paramKeyLength: 250,
  paramValueLength: 5_000,
  paramsPerRecord: 200,
  /** Artifact names: 1 to 256 characters, no control characters (the experiments contracts' ArtifactName). */
  artifactNameLength: 256,
  artifactPathLength: 4_096,
  /** A status message is cut to this many characters. */
  statusMessageLength: 1_000,
  /** Problems named in one warning; the rest are counted. */
  problemsPerWarning: 10,
} as const;

export type ParamValue = string | number | boolean;

interface At {
  /** The `seq` of the line the event comes from. */
  seq: number;
  /** When the line was read. */
  time: string;
}

export type ProtocolEvent =
  | { type: 'log'; line: OutputLine }
  | (At & { type: 'metrics'; points: Array<Required<MetricPointInput>> })
  | (At & { type: 'params'; params: Record<string, ParamValue> })
  | (At & { type: 'artifact'; path: string; name: string | null })
  | (At & { type: 'status'; message: string })
  | (At & { type: 'warning'; message: string });

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The events one captured line makes: a log line, a record, or a log line and a warning. */
export function parseOutputLine(line: OutputLine): ProtocolEvent[] {
  const log: ProtocolEvent = { type: 'log', line };
  if (line.stream !== 'stdout') return [log];
  const text = line.text.trim();
  if (!text.startsWith('{')) return [log];
  const at: At = { seq: line.seq, time: line.time };
  const warn = (message: string): ProtocolEvent[] => [log, { ...at, type: 'warning', message: `line ${line.seq}: ${message}; kept as a log line` }];
  const mentionsMarker = text.includes(`"${MARKER}"`);

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (!mentionsMarker) return [log];
    if (line.truncated) return warn(`a ${MARKER} record was cut at the line length limit, so it is not JSON any more`);
    return warn(`a ${MARKER} record that is not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.prototype.hasOwnProperty.call(value, MARKER)) return [log];
  const record = value as Record<string, unknown>;
  if (record[MARKER] !== PROTOCOL_VERSION) return warn(`protocol version ${JSON.stringify(record[MARKER])} is not one this agent reads (it reads ${PROTOCOL_VERSION})`);

  switch (record.type) {
    case 'metrics':
      return metricsRecord(record, line, at, warn);
    case 'params':
      return paramsRecord(record, at, warn);
    case 'artifact':
      return artifactRecord(record, at, warn);
    case 'status': {
      if (typeof record.message !== 'string' || record.message.trim() === '') return warn('a status record needs a non-empty "message" string');
      return [{ ...at, type: 'status', message: record.message.slice(0, LIMITS.statusMessageLength) }];
    }
    default:
      return warn(`unknown record type ${JSON.stringify(record.type)} (metrics, params, artifact, status)`);
  }
}

type Warn = (message: string) => ProtocolEvent[];

function metricsRecord(record: Record<string, unknown>, line: OutputLine, at: At, warn: Warn): ProtocolEvent[] {
  const metrics = record.metrics;
  if (!isPlainObject(metrics)) return warn('a metrics record needs a "metrics" object of names to numbers');
  const entries = Object.entries(metrics);
  if (entries.length === 0) return warn('a metrics record needs at least one metric');
  if (entries.length > LIMITS.metricsPerRecord) return warn(`a metrics record may hold at most ${LIMITS.metricsPerRecord} metrics, this one has ${entries.length}`);
  const step = record.step ?? 0;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) return warn(`"step" must be a non-negative whole number, got ${show(step)}`);
  let timestamp = line.time;
  if (record.timestamp !== undefined && record.timestamp !== null) {
    const parsed = typeof record.timestamp === 'string' && ISO_DATE_TIME.test(record.timestamp) ? Date.parse(record.timestamp) : Number.NaN;
    if (Number.isNaN(parsed)) return warn(`"timestamp" must be an ISO-8601 date-time with a time zone, got ${show(record.timestamp)}`);
    timestamp = new Date(parsed).toISOString();
  }
  const points: Array<Required<MetricPointInput>> = [];
  const problems: string[] = [];
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > LIMITS.metricKeyLength || !METRIC_KEY_PATTERN.test(key)) problems.push(`metric name ${show(key)} ${METRIC_KEY_RULE}`);
    else if (typeof value !== 'number' || !Number.isFinite(value)) problems.push(`metric "${key}" must be a finite number, got ${show(value)}`);
    else points.push({ key, value, step, timestamp });
  }
  const events: ProtocolEvent[] = [];
  if (points.length > 0) events.push({ ...at, type: 'metrics', points });
  else events.push({ type: 'log', line });
  if (problems.length > 0) {
    const kept = points.length > 0 ? '' : '; kept as a log line';
    events.push({ ...at, type: 'warning', message: `line ${at.seq}: ${dropped(problems, 'metric')}${kept}` });
  }
  return events;
}

function paramsRecord(record: Record<string, unknown>, at: At, warn: Warn): ProtocolEvent[] {
  const params = record.params;
  if (!isPlainObject(params)) return warn('a params record needs a "params" object of names to values');
  const entries = Object.entries(params);
  if (entries.length === 0) return warn('a params record needs at least one parameter');
  if (entries.length > LIMITS.paramsPerRecord) return warn(`a params record may hold at most ${LIMITS.paramsPerRecord} parameters, this one has ${entries.length}`);
  const kept: Record<string, ParamValue> = {};
  const problems: string[] = [];
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > LIMITS.paramKeyLength) problems.push(`parameter name ${show(key)} must be 1 to ${LIMITS.paramKeyLength} characters`);
    else if (typeof value === 'string' && value.length > LIMITS.paramValueLength) problems.push(`parameter "${key}" must be at most ${LIMITS.paramValueLength} characters`);
    else if (typeof value === 'number' && !Number.isFinite(value)) problems.push(`parameter "${key}" must be a finite number, got ${show(value)}`);
    else if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') problems.push(`parameter "${key}" must be a string, a number or a boolean, got ${show(value)}`);
    else kept[key] = value;
  }
  const events: ProtocolEvent[] = [];
  if (Object.keys(kept).length > 0) events.push({ ...at, type: 'params', params: kept });
  if (problems.length > 0) events.push({ ...at, type: 'warning', message: `line ${at.seq}: ${dropped(problems, 'parameter')}` });
  return events;
}

function artifactRecord(record: Record<string, unknown>, at: At, warn: Warn): ProtocolEvent[] {
  const path = record.path;
  if (typeof path !== 'string' || path === '' || path.length > LIMITS.artifactPathLength || path.includes('\0')) {
    return warn(`an artifact record needs a "path" string of 1 to ${LIMITS.artifactPathLength} characters, got ${show(path)}`);
  }
  let name: string | null = null;
  if (record.name !== undefined && record.name !== null) {
    const problem = artifactNameProblem(record.name);
    if (problem !== null) return warn(`artifact "name" ${problem}`);
    name = (record.name as string).trim();
  }
  return [{ ...at, type: 'artifact', path, name }];
}

/** Why `name` is not an artifact name (the experiments contracts' ArtifactName), or null. */
export function artifactNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return `must be a string, got ${show(name)}`;
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > LIMITS.artifactNameLength) return `must be 1 to ${LIMITS.artifactNameLength} characters, got ${show(name)}`;
  if (CONTROL.test(trimmed)) return `must not contain control characters, got ${show(name)}`;
  return null;
}

function dropped(problems: string[], what: string): string {
  const shown = problems.slice(0, LIMITS.problemsPerWarning).join('; ');
  const more = problems.length > LIMITS.problemsPerWarning ? `; and ${problems.length - LIMITS.problemsPerWarning} more` : '';
  return `dropped ${problems.length} ${what}${problems.length === 1 ? '' : 's'}: ${shown}${more}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'a list' : `an ${typeof value}`;
}
