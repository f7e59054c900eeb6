import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { ValidationError, type DataFormat } from '@modeltrail/contracts';
import { CsvParser, CsvSyntaxError, type CsvField } from './csv';
import { jsonCell, JsonlParser, JsonlSyntaxError, type JsonObject } from './jsonl';
import { parquetBatches, readParquetFile } from './parquet';
import type { Cell, Row, Table } from './table';

/**
 * Opening a data file as a streamed `Table`.
 *
 * Every problem with the file is a ValidationError whose message names the path and says what
 * to fix. Problems found while the rows stream (a ragged CSV row, a bad JSON line) surface from
 * the row iteration, after the rows before them; they are ValidationErrors too.
 *
 * - CSV: the first non-blank record is the header; names must be non-empty and unique. Every
 *   row must have as many fields as the header. Blank lines are skipped, except in a file with a
 *   single column, where a blank line is a row whose value is missing.
 * - JSONL: the columns are the keys of the first object, followed by keys that first appear in
 *   later objects, in order of appearance; a key absent from an object is a missing cell. To
 *   know every column before the first row is handed out, `openTable` reads a JSONL file once
 *   for its keys, and the rows are a second pass.
 * - Parquet: the top-level columns of the file schema; rows stream one row group at a time.
 *
 * The rows are read only when iterated (and are iterable once); breaking out of the iteration
 * closes the file.
 */

export interface OpenTableOptions {
  /**
   * Receives every chunk of the file's bytes, in order, as the rows are read (to hash the file
   * in the same pass). CSV and JSONL only: a Parquet file is read by ranges, not start to end.
   */
  readonly onBytes?: (chunk: Buffer) => void;
}

/** The most columns a JSONL file may have (distinct keys over all its objects). */
export const MAX_JSONL_COLUMNS = 10_000;
const MAX_COLUMN_NAME = 256;
const CHUNK = 1 << 16;

export async function openTable(path: string, format: DataFormat, options: OpenTableOptions = {}): Promise<Table> {
  await checkFile(path, format);
  switch (format) {
    case 'CSV': {
      const columns = await readCsvHeader(path);
      return { format, columns, rows: new RowStream(csvBatches(path, columns, options.onBytes)) };
    }
    case 'JSONL': {
      const columns = await readJsonlColumns(path);
      return { format, columns, rows: new RowStream(jsonlBatches(path, columns, options.onBytes)) };
    }
    case 'PARQUET': {
      if (options.onBytes) throw new Error('onBytes is not available for Parquet files: hash them with sha256File');
      const file = await guard(path, () => readParquetFile(path));
      return { format, columns: file.columns, rows: new RowStream(guardBatches(path, parquetBatches(path, file))) };
    }
    default: {
      const unknown: never = format;
      throw new ValidationError(`unknown data format ${String(unknown)}`);
    }
  }
}

/** A file-system error about `path` as a ValidationError a person can act on. */
export function fileError(path: string, error: unknown): ValidationError {
  if (error instanceof ValidationError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new ValidationError(`${path} does not exist: check the path (it must be a file on the machine that reads it)`, { path });
    case 'EACCES':
    case 'EPERM':
      return new ValidationError(`${path} cannot be read: permission denied (the file must be readable by the user the service runs as)`, { path });
    case 'EISDIR':
      return new ValidationError(`${path} is a directory, not a data file`, { path });
    case 'ELOOP':
      return new ValidationError(`${path} cannot be read: too many levels of symbolic links`, { path });
    default:
      return new ValidationError(`${path} cannot be read: ${(error as Error | undefined)?.message ?? String(error)}`, { path });
  }
}

const EMPTY_HINT: Record<DataFormat, string> = {
  CSV: 'a CSV file needs a header line naming its columns',
  JSONL: 'a JSONL file needs at least one JSON object',
  PARQUET: 'a Parquet file cannot be empty',
};

async function checkFile(path: string, format: DataFormat): Promise<void> {
  const info = await guard(path, () => stat(path));
  if (info.isDirectory()) throw new ValidationError(`${path} is a directory, not a data file`, { path });
  if (!info.isFile()) throw new ValidationError(`${path} is not a regular file`, { path });
  await guard(path, async () => (await open(path, 'r')).close());
  if (info.size === 0) throw new ValidationError(`${path} is empty: ${EMPTY_HINT[format]}`, { path });
}

async function guard<T>(path: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw fileError(path, error);
  }
}

async function* guardBatches(path: string, batches: AsyncIterable<Row[]>): AsyncGenerator<Row[]> {
  try {
    yield* batches;
  } catch (error) {
    throw fileError(path, error);
  }
}

/**
 * Rows handed out one by one from batches (the rows of a chunk of text or of a row group): a
 * queued row costs one resolved promise, not a trip through an async generator.
 */
export class RowStream implements AsyncIterableIterator<Row> {
  private batch: Row[] = [];
  private index = 0;

  constructor(private readonly batches: AsyncIterator<Row[]>) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<Row> {
    return this;
  }

  next(): Promise<IteratorResult<Row>> {
    if (this.index < this.batch.length) return Promise.resolve({ value: this.batch[this.index++], done: false });
    return this.refill();
  }

  async return(): Promise<IteratorResult<Row>> {
    this.batch = [];
    this.index = 0;
    await this.batches.return?.();
    return { value: undefined, done: true };
  }

  /** The remaining rows as batches, for consumers that loop over many rows (see `rowBatches`). */
  async *remainingBatches(): AsyncGenerator<Row[]> {
    if (this.index < this.batch.length) {
      const rest = this.index === 0 ? this.batch : this.batch.slice(this.index);
      this.batch = [];
      this.index = 0;
      yield rest;
    }
    for (;;) {
      const next = await this.batches.next();
      if (next.done) return;
      if (next.value.length > 0) yield next.value;
    }
  }

  private async refill(): Promise<IteratorResult<Row>> {
    for (;;) {
      const next = await this.batches.next();
      if (next.done) {
        this.batch = [];
        this.index = 0;
        return { value: undefined, done: true };
      }
      if (next.value.length > 0) {
        this.batch = next.value;
        this.index = 1;
        return { value: next.value[0], done: false };
      }
    }
  }
}

/**
 * The rows of a table in batches: the batches themselves for a table opened by `openTable`
 * (much faster than one `await` per row), batches of one row otherwise. Iterate either the
 * table's rows or this, not both.
 */
export async function* rowBatches(rows: AsyncIterable<Row>): AsyncGenerator<Row[]> {
  if (rows instanceof RowStream) {
    const batches = rows.remainingBatches();
    try {
      yield* batches;
    } finally {
      await rows.return();
    }
    return;
  }
  for await (const row of rows) yield [row];
}

/** The decoded text of a file, chunk by chunk, with its raw bytes passed to `onBytes` first. */
async function* textChunks(path: string, onBytes?: (chunk: Buffer) => void): AsyncGenerator<string> {
  const stream = createReadStream(path, { highWaterMark: CHUNK });
  const decoder = new TextDecoder('utf-8');
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      onBytes?.(chunk);
      yield decoder.decode(chunk, { stream: true });
    }
  } catch (error) {
    throw fileError(path, error);
  } finally {
    if (!stream.closed) {
      await new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        stream.destroy();
      });
    }
  }
  const last = decoder.decode();
  if (last.length > 0) yield last;
}

/** Thrown from a parser callback to stop parsing early; never escapes this module. */
const STOP = Symbol('stop parsing');

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

async function readCsvHeader(path: string): Promise<string[]> {
  const found: { header: CsvField[] | null } = { header: null };
  const parser = new CsvParser((fields) => {
    if (fields.length === 0) return;
    found.header = fields;
    throw STOP;
  });
  try {
    for await (const text of textChunks(path)) {
      parser.push(text);
    }
    parser.end();
  } catch (error) {
    if (error !== STOP) throw csvError(path, error);
  }
  if (found.header === null) throw new ValidationError(`${path} has no header (it holds only blank lines): ${EMPTY_HINT.CSV}`, { path });
  return checkHeader(path, found.header);
}

function checkHeader(path: string, header: CsvField[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  header.forEach((name, index) => {
    if (name === null || name.trim() === '') {
      problems.push(`column ${index + 1} has no name`);
    } else if (name.length > MAX_COLUMN_NAME) {
      problems.push(`column ${index + 1} has a name longer than ${MAX_COLUMN_NAME} characters`);
    } else {
      const first = seen.get(name);
      if (first === undefined) seen.set(name, index + 1);
      else problems.push(`columns ${first} and ${index + 1} are both named "${name}"`);
    }
  });
  if (problems.length > 0) {
    throw new ValidationError(`${path}: the header is not usable: ${problems.join('; ')} (every column needs a unique, non-empty name)`, { path });
  }
  return header as string[];
}

/**
 * Rows a push parser (CSV or JSONL) produced from the chunks fed so far, handed on a batch per
 * chunk. The parser's row callback pushes into `queue`, or sets `failure` and throws STOP to
 * end the parse at a bad row; any other parser error becomes `failure` through `describe`.
 */
class ParsedRows {
  queue: Row[] = [];
  failure: unknown = null;

  async *drain(chunks: AsyncIterable<string>, parser: { push(text: string): void; end(): void }, describe: (error: unknown) => unknown): AsyncGenerator<Row[]> {
    const feed = (action: () => void) => {
      try {
        action();
      } catch (error) {
        if (error !== STOP) this.failure = describe(error);
      }
    };
    for await (const text of chunks) {
      feed(() => parser.push(text));
      const ready = this.queue;
      this.queue = [];
      if (ready.length > 0) yield ready;
      if (this.failure !== null) throw this.failure;
    }
    feed(() => parser.end());
    if (this.queue.length > 0) yield this.queue;
    if (this.failure !== null) throw this.failure;
  }
}

async function* csvBatches(path: string, columns: readonly string[], onBytes?: (chunk: Buffer) => void): AsyncGenerator<Row[]> {
  const width = columns.length;
  let headerSeen = false;
  let row = 0;
  const out = new ParsedRows();
  const parser = new CsvParser((fields, line) => {
    if (fields.length === 0) {
      if (!headerSeen || width > 1) return;
      fields = [null];
    }
    if (!headerSeen) {
      headerSeen = true;
      return;
    }
    row++;
    if (fields.length !== width) {
      out.failure = new ValidationError(
        `${path}: row ${row} (line ${line}) has ${fields.length} ${fields.length === 1 ? 'field' : 'fields'}, the header has ${width} (quote fields that contain commas)`,
        { path, row, line },
      );
      throw STOP;
    }
    out.queue.push(fields);
  });
  yield* out.drain(textChunks(path, onBytes), parser, (error) => csvError(path, error));
}

function csvError(path: string, error: unknown): unknown {
  if (error instanceof CsvSyntaxError) return new ValidationError(`${path}: ${error.message}`, { path, line: error.line });
  return error;
}

// ---------------------------------------------------------------------------------------------
// JSONL
// ---------------------------------------------------------------------------------------------

async function readJsonlColumns(path: string): Promise<string[]> {
  const columns: string[] = [];
  const known = new Set<string>();
  let objects = 0;
  const parser = new JsonlParser((object, line) => {
    objects++;
    for (const key in object) {
      if (known.has(key)) continue;
      if (key.trim() === '') throw new JsonlSyntaxError(line, 'has an empty key ""; every column needs a name');
      if (key.length > MAX_COLUMN_NAME) throw new JsonlSyntaxError(line, `has a key longer than ${MAX_COLUMN_NAME} characters`);
      if (columns.length >= MAX_JSONL_COLUMNS) throw new JsonlSyntaxError(line, `brings the number of distinct keys over ${MAX_JSONL_COLUMNS}`);
      known.add(key);
      columns.push(key);
    }
  });
  try {
    for await (const text of textChunks(path)) parser.push(text);
    parser.end();
  } catch (error) {
    throw jsonlError(path, error);
  }
  if (objects === 0) throw new ValidationError(`${path} holds no JSON objects (only blank lines): ${EMPTY_HINT.JSONL}`, { path });
  if (columns.length === 0) throw new ValidationError(`${path} has no columns: every object in it is empty ({})`, { path });
  return columns;
}

async function* jsonlBatches(path: string, columns: readonly string[], onBytes?: (chunk: Buffer) => void): AsyncGenerator<Row[]> {
  const width = columns.length;
  const index = new Map<string, number>(columns.map((name, i) => [name, i]));
  const out = new ParsedRows();
  const parser = new JsonlParser((object: JsonObject, line) => {
    const row = new Array<Cell>(width).fill(null);
    for (const key in object) {
      const at = index.get(key);
      if (at === undefined) {
        out.failure = new ValidationError(`${path} changed while it was being read: line ${line} has a key "${key}" that was not there before`, { path, line });
        throw STOP;
      }
      row[at] = jsonCell(object[key]);
    }
    out.queue.push(row);
  });
  yield* out.drain(textChunks(path, onBytes), parser, (error) => jsonlError(path, error));
}

function jsonlError(path: string, error: unknown): unknown {
  if (error instanceof JsonlSyntaxError) return new ValidationError(`${path}: ${error.message}`, { path, line: error.line });
  return error;
}
