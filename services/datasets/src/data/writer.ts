import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { ColumnType, DataFormat } from '@modeltrail/contracts';
import type { ArtifactStore, StoredArtifact } from '@modeltrail/artifacts';
import { writeParquet, type Cell, type Row } from '@modeltrail/tabular';

/**
 * Streaming writers: a table's rows written to a file as they come, never held whole.
 *
 * - CSV (RFC 4180): a header line, LF line ends, comma separator. A field is quoted only when it
 *   must be: when it holds a comma, a quote, CR or LF, or starts or ends with a space or tab (or
 *   starts with a byte order mark); a quote inside is doubled. A missing cell is an empty field
 *   (written `""` in a one-column file, so that the row is not a blank line). Numbers are
 *   written in JavaScript's shortest round-trip form (`String(n)`, e.g. `0.1`, `1e+21`), so they
 *   read back equal; booleans as `true` / `false`. An empty string cannot be told apart from a
 *   missing value in CSV: it reads back as missing.
 * - JSONL: one object per line with the columns as keys, in column order; missing cells are
 *   `null`, numbers and booleans stay JSON numbers and booleans, text is a JSON string (a cell
 *   holding nested JSON text stays a string).
 * - Parquet: through `writeParquet`, which needs each column's type.
 *
 * Non-finite numbers (NaN, ±Infinity) are written as missing values in every format.
 * A writer that fails removes the file it was writing.
 */

export const FORMAT_EXTENSIONS: Readonly<Record<DataFormat, string>> = { CSV: 'csv', JSONL: 'jsonl', PARQUET: 'parquet' };

/**
 * Somewhere a stream of rows goes: a file writer, an artifact store, a test collector. It must
 * consume `rows` to the end (or fail); `types` is given when the column types are known.
 */
export type RowSink<T> = (columns: readonly string[], rows: AsyncIterable<Row>, types: readonly ColumnType[] | undefined) => Promise<T>;

/** Text is handed to the file in chunks of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Writes `rows` to `path` (created or truncated) in `format`; returns the number of rows written.
 * `types` (aligned with `columns`) is required for Parquet and unused otherwise. On failure the
 * file is removed and the error is thrown again.
 */
export async function writeTable(
  path: string,
  format: DataFormat,
  columns: readonly string[],
  rows: AsyncIterable<Row> | Iterable<Row>,
  types?: readonly ColumnType[],
): Promise<number> {
  switch (format) {
    case 'CSV':
      return writeLines(path, columns, rows, csvHeader(columns), csvEncoder(columns.length));
    case 'JSONL':
      return writeLines(path, columns, rows, '', jsonlEncoder(columns));
    case 'PARQUET': {
      if (!types) throw new Error(`cannot write ${path} as Parquet without the column types`);
      const counted = { rows: 0 };
      await writeParquet(path, [...columns], [...types], counting(rows, columns.length, path, counted));
      return counted.rows;
    }
    default: {
      const unknown: never = format;
      throw new Error(`unknown data format ${String(unknown)}`);
    }
  }
}

/** A sink that writes to `path`, returning the number of rows written. */
export function fileSink(path: string, format: DataFormat): RowSink<number> {
  return (columns, rows, types) => writeTable(path, format, columns, rows, types);
}

/**
 * A sink that writes into the artifact store, returning the stored file (content-addressed, with
 * the extension of `format`) and, as its `result`, the number of rows written.
 */
export function artifactSink(store: ArtifactStore, format: DataFormat): RowSink<StoredArtifact<number>> {
  return (columns, rows, types) => store.put((path) => writeTable(path, format, columns, rows, types), FORMAT_EXTENSIONS[format]);
}

// ---------------------------------------------------------------------------------------------
// CSV and JSONL
// ---------------------------------------------------------------------------------------------

/** Whether a CSV field must be quoted to read back as itself. */
function needsQuotes(text: string): boolean {
  if (text.length === 0) return false;
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  if (first === 32 || first === 9 || first === 0xfeff || last === 32 || last === 9) return true;
  return /[",\r\n]/.test(text);
}

function csvText(text: string): string {
  return needsQuotes(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A cell as a CSV field ('' for missing). */
export function csvField(cell: Cell): string {
  if (cell === null) return '';
  switch (typeof cell) {
    case 'number':
      return Number.isFinite(cell) ? String(cell) : '';
    case 'boolean':
      return cell ? 'true' : 'false';
    default:
      return csvText(cell);
  }
}

function csvHeader(columns: readonly string[]): string {
  return columns.map(csvText).join(',') + '\n';
}

function csvEncoder(width: number): (row: Row) => string {
  if (width === 1) {
    return (row) => {
      const field = csvField(row[0]);
      return (field === '' ? '""' : field) + '\n';
    };
  }
  return (row) => {
    let line = csvField(row[0]);
    for (let c = 1; c < width; c++) line += ',' + csvField(row[c]);
    return line + '\n';
  };
}

function jsonValue(cell: Cell): string {
  if (cell === null) return 'null';
  switch (typeof cell) {
    case 'number':
      return Number.isFinite(cell) ? String(cell) : 'null';
    case 'boolean':
      return cell ? 'true' : 'false';
    default:
      return JSON.stringify(cell);
  }
}

function jsonlEncoder(columns: readonly string[]): (row: Row) => string {
  const keys = columns.map((name, c) => (c === 0 ? '{' : ',') + JSON.stringify(name) + ':');
  return (row) => {
    let line = '';
    for (let c = 0; c < keys.length; c++) line += keys[c] + jsonValue(row[c]);
    return (keys.length === 0 ? '{' : line) + '}\n';
  };
}

function checkWidth(row: Row, width: number, number: number, path: string): void {
  if (row.length !== width) throw new Error(`cannot write ${path}: row ${number} has ${row.length} cells, the header has ${width}`);
}

async function writeLines(
  path: string,
  columns: readonly string[],
  rows: AsyncIterable<Row> | Iterable<Row>,
  header: string,
  encode: (row: Row) => string,
): Promise<number> {
  const out = new TextFile(path);
  let count = 0;
  try {
    let chunk = header;
    for await (const row of rows) {
      count++;
      checkWidth(row, columns.length, count, path);
      chunk += encode(row);
      if (chunk.length >= CHUNK_CHARS) {
        await out.write(chunk);
        chunk = '';
      }
    }
    if (chunk.length > 0) await out.write(chunk);
    await out.close();
  } catch (error) {
    await out.abort();
    throw error;
  }
  return count;
}

/** A write stream used with backpressure: each write waits for 'drain' when the stream's buffer is full. */
class TextFile {
  private readonly stream: WriteStream;
  private failure: Error | null = null;

  constructor(private readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'w' });
    // Keeps an error raised between our calls (a failed open) until the next call reports it.
    this.stream.on('error', (error) => {
      this.failure ??= error;
    });
  }

  async write(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(text, 'utf8')) await this.settle('drain');
  }

  async close(): Promise<void> {
    if (this.failure) throw this.failure;
    const closed = this.settle('close');
    this.stream.end();
    await closed;
  }

  async abort(): Promise<void> {
    if (!this.stream.closed) {
      const closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
      this.stream.destroy();
      await closed;
    }
    await rm(this.path, { force: true });
  }

  /** Waits for `event`, or fails with the stream's error (also when the stream closes first). */
  private settle(event: 'drain' | 'close'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => {
        this.stream.off(event, onEvent);
        this.stream.off('error', onError);
        this.stream.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onEvent = () => done();
      const onError = (error: Error) => done(error);
      const onClose = () => done(this.failure ?? (event === 'close' ? null : new Error(`${this.path} was closed while writing`)));
      this.stream.on(event, onEvent);
      this.stream.on('error', onError);
      if (event !== 'close') this.stream.on('close', onClose);
    });
  }
}

async function* counting(rows: AsyncIterable<Row> | Iterable<Row>, width: number, path: string, counted: { rows: number }): AsyncGenerator<Row> {
  for await (const row of rows) {
    checkWidth(row, width, counted.rows + 1, path);
    counted.rows++;
    yield row;
  }
}
