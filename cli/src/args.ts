import { InvalidArgumentError } from 'commander';

/**
 * Parsers of command-line arguments, pure: each returns the API's input shape or throws
 * commander's InvalidArgumentError (a usage error, exit code 2) naming what is wrong.
 */

/** For repeatable options: `.option('--x <v>', '...', collect(parse), [])`. */
export function collect<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** A command-line value as a parameter value: a finite number, true/false, or the string itself. */
export function scalar(text: string): string | number | boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim())) {
    const n = Number(text);
    if (Number.isFinite(n)) return n;
  }
  return text;
}

/** `key=value` (value as scalar() reads it). */
export function keyValue(text: string): [string, string | number | boolean] {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${text}" is not key=value`);
  return [text.slice(0, at), scalar(text.slice(at + 1))];
}

/** `NAME=value` for environment variables: the value stays a string. */
export function envPair(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${text}" is not NAME=value`);
  return [text.slice(0, at), text.slice(at + 1)];
}

const OPS: Array<[string, string]> = [
  ['>=', 'GTE'],
  ['<=', 'LTE'],
  ['!=', 'NE'],
  ['==', 'EQ'],
  ['>', 'GT'],
  ['<', 'LT'],
  ['=', 'EQ'],
];

/** `lr=0.01`, `depth>=6`, `loss!=logloss`: a ParamFilterInput. */
export function paramFilter(text: string): { key: string; op: string; value: string | number | boolean } {
  const [key, op, value] = comparison(text);
  return { key, op, value: scalar(value) };
}

/** `accuracy>0.9`: a MetricFilterInput (the value must be a number). */
export function metricFilter(text: string): { key: string; op: string; value: number } {
  const [key, op, value] = comparison(text);
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`"${text}": the metric value "${value}" is not a number`);
  return { key, op, value: n };
}

function comparison(text: string): [string, string, string] {
  for (let i = 0; i < text.length; i++) {
    for (const [symbol, op] of OPS) {
      if (text.startsWith(symbol, i) && i > 0) return [text.slice(0, i).trim(), op, text.slice(i + symbol.length).trim()];
    }
  }
  throw new InvalidArgumentError(`"${text}" is not a comparison: use key=value, key!=value, key>value, key>=value, key<value or key<=value`);
}

/** `metric:accuracy`, `param:lr`, `started_at`, `ended_at`: a RunOrder without its direction. */
export function runOrder(text: string): { field: string; key?: string } {
  const [field, ...rest] = text.split(':');
  const key = rest.join(':');
  const upper = field.toUpperCase();
  if (upper === 'METRIC' || upper === 'PARAM') {
    if (!key) throw new InvalidArgumentError(`"${text}": ${field} needs a key, e.g. ${field.toLowerCase()}:accuracy`);
    return { field: upper, key };
  }
  if ((upper === 'STARTED_AT' || upper === 'ENDED_AT') && !key) return { field: upper };
  throw new InvalidArgumentError(`"${text}" is not an order: use metric:<key>, param:<key>, started_at or ended_at`);
}

/** One of `choices`, any case, given back upper-case (GraphQL enum values). */
export function enumValue(choices: readonly string[], what: string): (text: string) => string {
  return (text) => {
    const upper = text.toUpperCase().replace(/-/g, '_');
    if (!choices.includes(upper)) throw new InvalidArgumentError(`"${text}" is not a ${what}: one of ${choices.map((c) => c.toLowerCase()).join(', ')}`);
    return upper;
  };
}

export function integer(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^[-+]?\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${text}" is not an integer`);
    if (n < min || n > max) throw new InvalidArgumentError(`${n} is out of range: ${min} to ${max}`);
    return n;
  };
}

export function decimal(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`"${text}" is not a number`);
    if (n < min || n > max) throw new InvalidArgumentError(`${n} is out of range: ${min} to ${max}`);
    return n;
  };
}

/** An ISO-8601 date-time with a date and a time (`2026-11-01T12:00:00Z`, an offset, or local time). */
export function isoTime(text: string): string {
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(text.trim()) || Number.isNaN(Date.parse(text))) {
    throw new InvalidArgumentError(`"${text}" is not an ISO-8601 date-time, e.g. 2026-11-01T12:00:00Z`);
  }
  return new Date(text).toISOString();
}

const RULE_TYPES: Record<string, string> = {
  not_null: 'NOT_NULL',
  unique: 'UNIQUE',
  range: 'RANGE',
  allowed: 'ALLOWED_VALUES',
  allowed_values: 'ALLOWED_VALUES',
  regex: 'REGEX',
  max_missing: 'MAX_MISSING_FRACTION',
  max_missing_fraction: 'MAX_MISSING_FRACTION',
};

/**
 * A validation rule: `not_null:age`, `unique:id`, `range:charges:0:500` (either bound may be
 * empty), `allowed:contract:a,b,c`, `regex:email:^.+@.+$`, `max_missing:age:0.2`.
 */
export function validationRule(text: string): Record<string, unknown> {
  const [name, column, ...rest] = text.split(':');
  const type = RULE_TYPES[name?.toLowerCase().replace(/-/g, '_') ?? ''];
  if (!type) throw new InvalidArgumentError(`"${text}": unknown rule "${name}" (one of ${Object.keys(RULE_TYPES).join(', ')})`);
  if (!column) throw new InvalidArgumentError(`"${text}": the rule needs a column, e.g. ${name}:age`);
  const rule: Record<string, unknown> = { type, column };
  const needs = (n: number, example: string) => {
    if (rest.length < n || rest.every((part) => part === '')) throw new InvalidArgumentError(`"${text}": write it as ${example}`);
  };
  switch (type) {
    case 'RANGE': {
      needs(1, 'range:<column>:<min>:<max> (one bound may be empty)');
      const [min, max] = rest;
      if (min) rule.min = decimal(-Infinity, Infinity)(min);
      if (max) rule.max = decimal(-Infinity, Infinity)(max);
      break;
    }
    case 'ALLOWED_VALUES':
      needs(1, 'allowed:<column>:<value>,<value>,...');
      rule.values = rest.join(':').split(',');
      break;
    case 'REGEX':
      needs(1, 'regex:<column>:<pattern>');
      rule.pattern = rest.join(':');
      break;
    case 'MAX_MISSING_FRACTION':
      needs(1, 'max_missing:<column>:<fraction 0..1>');
      rule.fraction = decimal(0, 1)(rest[0]);
      break;
    default:
      if (rest.length > 0) throw new InvalidArgumentError(`"${text}": ${name} takes a column only`);
  }
  return rule;
}

const STEP_TYPES: Record<string, string> = {
  drop_duplicates: 'DROP_DUPLICATES',
  drop_missing: 'DROP_MISSING',
  fill_missing: 'FILL_MISSING',
  cast: 'CAST',
  drop_columns: 'DROP_COLUMNS',
};

/**
 * A cleaning step: `drop_duplicates[:a,b]`, `drop_missing[:a,b]`, `fill_missing:age:median`,
 * `fill_missing:plan:constant:basic`, `cast:age:integer`, `drop_columns:a,b`.
 */
export function cleaningStep(text: string): Record<string, unknown> {
  const [name, ...rest] = text.split(':');
  const type = STEP_TYPES[name?.toLowerCase().replace(/-/g, '_') ?? ''];
  if (!type) throw new InvalidArgumentError(`"${text}": unknown step "${name}" (one of ${Object.keys(STEP_TYPES).join(', ')})`);
  const step: Record<string, unknown> = { type };
  switch (type) {
    case 'DROP_DUPLICATES':
    case 'DROP_MISSING':
      if (rest.length > 0 && rest[0] !== '') step.columns = rest.join(':').split(',');
      break;
    case 'DROP_COLUMNS':
      if (!rest[0]) throw new InvalidArgumentError(`"${text}": write it as drop_columns:<column>,<column>`);
      step.columns = rest.join(':').split(',');
      break;
    case 'FILL_MISSING': {
      const [column, strategy, ...value] = rest;
      if (!column || !strategy) throw new InvalidArgumentError(`"${text}": write it as fill_missing:<column>:<mean|median|mode|constant>[:<value>]`);
      step.column = column;
      step.strategy = strategy.toUpperCase();
      if (step.strategy === 'CONSTANT') {
        if (value.length === 0) throw new InvalidArgumentError(`"${text}": a constant fill needs its value: fill_missing:${column}:constant:<value>`);
        step.value = scalar(value.join(':'));
      } else if (value.length > 0) throw new InvalidArgumentError(`"${text}": only a constant fill takes a value`);
      break;
    }
    case 'CAST': {
      const [column, to] = rest;
      if (!column || !to) throw new InvalidArgumentError(`"${text}": write it as cast:<column>:<boolean|datetime|integer|number|string>`);
      step.column = column;
      step.to = to.toUpperCase();
      break;
    }
  }
  return step;
}

/** The format of a data file from its extension (`.csv`, `.jsonl`/`.ndjson`, `.parquet`), or undefined. */
export function formatOf(path: string): 'CSV' | 'JSONL' | 'PARQUET' | undefined {
  const lower = path.toLowerCase().replace(/\?.*$/, '');
  if (lower.endsWith('.csv')) return 'CSV';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'JSONL';
  if (lower.endsWith('.parquet')) return 'PARQUET';
  return undefined;
}
