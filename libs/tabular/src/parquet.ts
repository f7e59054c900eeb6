import { open, rm, type FileHandle } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { ValidationError, type ColumnType } from '@modeltrail/contracts';
import type * as Hyparquet from 'hyparquet';
import type * as HyparquetWriter from 'hyparquet-writer';
import { castCell, CastError, type Cell, type Row } from './table';

/**
 * Parquet through hyparquet (reading) and hyparquet-writer (writing), both pure JavaScript.
 *
 * Both packages are ES modules only, and this project is CommonJS. Plain Node loads them with a
 * real `import()` (built with `new Function` so that TypeScript does not turn it into
 * `require`). Under jest, whose module sandbox has no `import()`, they are loaded with
 * `require`, which works because jest.config.js compiles those two packages to CommonJS.
 *
 * Reading goes row group by row group, so memory holds one row group at a time. Cells: numbers,
 * booleans and strings are kept; 64-bit integers become numbers when they are safe integers
 * and decimal text otherwise; dates and timestamps become ISO-8601 text; binary values become
 * base64 text; nested values (lists, structs, maps) become JSON text; NaN and infinities are
 * treated as missing.
 */

type HyparquetModule = typeof Hyparquet;
type WriterModule = typeof HyparquetWriter;

const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;
const loaded = new Map<string, Promise<unknown>>();

function load<T>(name: string): Promise<T> {
  let module = loaded.get(name);
  if (!module) {
    module = loadModule(name);
    loaded.set(name, module);
    module.catch(() => loaded.delete(name));
  }
  return module as Promise<T>;
}

async function loadModule(name: string): Promise<unknown> {
  const resolved = require.resolve(name);
  try {
    return await importModule(pathToFileURL(resolved).href);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG' && code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING') throw error;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(resolved) as unknown;
  }
}

const hyparquet = (): Promise<HyparquetModule> => load<HyparquetModule>('hyparquet');
const hyparquetWriter = (): Promise<WriterModule> => load<WriterModule>('hyparquet-writer');

type FileMetaData = Hyparquet.FileMetaData;
type AsyncBuffer = Hyparquet.AsyncBuffer;

/** What `openTable` needs to stream a Parquet file. */
export interface ParquetFile {
  readonly columns: string[];
  readonly rows: number;
  readonly metadata: FileMetaData;
}

const MAGIC = Buffer.from('PAR1');

/** Reads the footer of a Parquet file. Throws ValidationError when the file is not Parquet. */
export async function readParquetFile(path: string): Promise<ParquetFile> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const notParquet = (why: string) => new ValidationError(`${path} is not a Parquet file: ${why}`, { path });
    if (size < 12) throw notParquet(`it is only ${size} bytes long`);
    const head = await readAt(handle, 0, 4);
    const tail = await readAt(handle, size - 4, 4);
    if (!MAGIC.equals(head) || !MAGIC.equals(tail)) throw notParquet('it does not start and end with the Parquet marker "PAR1"');
    const { parquetMetadataAsync, parquetSchema } = await hyparquet();
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(fileBuffer(handle, size));
    } catch (error) {
      throw notParquet(`its footer cannot be read (${(error as Error).message})`);
    }
    const columns = parquetSchema(metadata).children.map((child) => child.element.name);
    if (columns.length === 0) throw new ValidationError(`${path} is a Parquet file without columns`, { path });
    return { columns, rows: Number(metadata.num_rows), metadata };
  } finally {
    await handle.close();
  }
}

/** The rows of a Parquet file, one batch per row group. Errors are ValidationErrors naming the path. */
export async function* parquetBatches(path: string, file: ParquetFile): AsyncGenerator<Row[]> {
  const { parquetRead } = await hyparquet();
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = fileBuffer(handle, size);
    let start = 0;
    for (let group = 0; group < file.metadata.row_groups.length; group++) {
      const end = start + Number(file.metadata.row_groups[group].num_rows);
      let rows: unknown[][] = [];
      try {
        await parquetRead({
          file: buffer,
          metadata: file.metadata,
          rowStart: start,
          rowEnd: end,
          rowFormat: 'array',
          onComplete: (read) => {
            rows = read;
          },
        });
      } catch (error) {
        throw new ValidationError(`${path}: row group ${group + 1} cannot be read (${(error as Error).message})`, { path });
      }
      const batch: Row[] = new Array<Row>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const values = rows[i];
        const row: Row = new Array<Cell>(values.length);
        for (let c = 0; c < values.length; c++) row[c] = parquetCell(values[c]);
        batch[i] = row;
      }
      rows = [];
      yield batch;
      start = end;
    }
  } finally {
    await handle.close();
  }
}

/** A value read by hyparquet as a cell (see the rules at the top of this file). */
export function parquetCell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint': {
      const number = Number(value);
      return Number.isSafeInteger(number) ? number : value.toString();
    }
    case 'object':
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
      return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner));
    default:
      return String(value);
  }
}

/** Parquet physical/logical type written for each column type. */
const PARQUET_TYPES: Record<ColumnType, 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'STRING' | 'TIMESTAMP'> = {
  INTEGER: 'INT64',
  NUMBER: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  STRING: 'STRING',
  DATETIME: 'TIMESTAMP',
};

export interface WriteParquetOptions {
  /** Rows per row group (memory holds one group while writing). Default 100,000. */
  readonly rowGroupSize?: number;
}

/**
 * Writes rows to a Parquet file (snappy-compressed, every column optional). Each column is
 * written as its type: INTEGER as INT64, NUMBER as DOUBLE, BOOLEAN, STRING as UTF-8,
 * DATETIME as a millisecond timestamp. Cells are converted with `castCell`; a cell that does
 * not fit its column's type is a ValidationError naming the row and column, and no file is left
 * behind. Memory holds one row group.
 */
export async function writeParquet(
  path: string,
  columns: string[],
  types: ColumnType[],
  rows: AsyncIterable<Row> | Iterable<Row>,
  options: WriteParquetOptions = {},
): Promise<void> {
  if (columns.length === 0) throw new ValidationError(`cannot write ${path}: a Parquet file needs at least one column`, { path });
  if (types.length !== columns.length) {
    throw new ValidationError(`cannot write ${path}: ${columns.length} columns but ${types.length} column types`, { path });
  }
  const { parquetWriteRows, ByteWriter } = await hyparquetWriter();
  const handle = await open(path, 'w');
  let closed = false;
  try {
    const writer = new ByteWriter(1 << 20);
    const flush = async () => {
      if (writer.index > 0) {
        await writeAll(handle, new Uint8Array(writer.buffer, 0, writer.index));
        writer.index = 0;
      }
    };
    Object.assign(writer, { flush, finish: flush });
    await parquetWriteRows({
      writer,
      columns: columns.map((name, c) => ({ name, type: PARQUET_TYPES[types[c]], nullable: true })),
      rows: parquetRecords(path, columns, types, rows),
      rowGroupSize: options.rowGroupSize ?? 100_000,
    });
    closed = true;
    await handle.close();
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw error;
  }
}

async function* parquetRecords(
  path: string,
  columns: string[],
  types: ColumnType[],
  rows: AsyncIterable<Row> | Iterable<Row>,
): AsyncGenerator<Record<string, unknown>> {
  let number = 0;
  for await (const row of rows) {
    number++;
    if (row.length !== columns.length) {
      throw new ValidationError(`cannot write ${path}: row ${number} has ${row.length} cells, the header has ${columns.length}`, { path });
    }
    const record: Record<string, unknown> = {};
    for (let c = 0; c < columns.length; c++) {
      let value: Cell;
      try {
        value = castCell(row[c], types[c]);
      } catch (error) {
        if (!(error instanceof CastError)) throw error;
        throw new ValidationError(`cannot write ${path}: row ${number}, column "${columns[c]}": ${error.message}`, { path, row: number, column: columns[c] });
      }
      record[columns[c]] = value === null ? null : types[c] === 'INTEGER' ? BigInt(value as number) : types[c] === 'DATETIME' ? new Date(value as string) : value;
    }
    yield record;
  }
}

function fileBuffer(handle: FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? size, size);
      const bytes = await readAt(handle, start, Math.max(0, stop - start));
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      return (whole ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) as ArrayBuffer;
    },
  };
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.byteLength - written);
    written += bytesWritten;
  }
}
