/**
 * A streaming RFC 4180 CSV parser.
 *
 * Text is pushed in chunks of any size (the decoded chunks of a file stream); every complete
 * record is handed to a callback with the physical line it starts on. The common record, one
 * without quotes, is cut with native `indexOf` / `split`, so no JavaScript code runs per
 * character; only records holding a `"` go through the character-level state machine.
 *
 * Dialect: comma separator, `"` quote, doubled `""` inside quotes, fields may span lines inside
 * quotes, LF or CRLF line ends, an optional UTF-8 byte order mark, an optional final line end.
 * An empty field, quoted (`""`) or not, is a missing value (`null`). A `"` inside an unquoted
 * field is kept as an ordinary character. A blank line is reported as a record with no fields,
 * so that the caller decides what it means (see `open.ts`).
 */

export type CsvField = string | null;

/** A syntax error at a physical line of the text (1-based). */
export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line}: ${problem}`);
  }
}

export interface CsvParserOptions {
  /** A record longer than this (in characters) is refused, so that a stray quote cannot make the parser buffer the whole file. Default 64 Mi. */
  readonly maxRecordLength?: number;
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;
const NEEDS_MORE = -1;

export class CsvParser {
  private rest = '';
  private line = 0;
  private started = false;
  private readonly maxRecordLength: number;

  constructor(
    private readonly onRecord: (fields: CsvField[], line: number) => void,
    options: CsvParserOptions = {},
  ) {
    this.maxRecordLength = options.maxRecordLength ?? 64 * 1024 * 1024;
  }

  /** Physical lines consumed so far. */
  get lines(): number {
    return this.line;
  }

  /** Parses every record completed by `text`; an incomplete last record waits for the next chunk. */
  push(text: string): void {
    let buf = this.rest.length > 0 ? this.rest + text : text;
    if (!this.started && buf.length > 0) {
      this.started = true;
      if (buf.charCodeAt(0) === 0xfeff) buf = buf.slice(1);
    }
    const pos = this.consume(buf, false);
    this.rest = pos === 0 ? buf : buf.slice(pos);
    if (this.rest.length > this.maxRecordLength) {
      throw new CsvSyntaxError(
        this.line + 1,
        `a record is longer than ${this.maxRecordLength} characters (is a quote left open?)`,
      );
    }
  }

  /** Parses the last record (one without a final line end) and checks that no quote is left open. */
  end(): void {
    const buf = this.rest;
    this.rest = '';
    if (buf.length > 0) this.consume(buf, true);
  }

  /**
   * Parses complete records of `buf` from the start; returns where the unparsed rest begins.
   *
   * The text is cut into lines with one native `split` (a loop of `indexOf('\n', from)` calls
   * was found to fall off a performance cliff in optimised code on Node 20); a line without a
   * quote is a whole record, cut into fields with `split(',')`.
   */
  private consume(buf: string, final: boolean): number {
    const lines = buf.split('\n');
    const last = lines.length - 1;
    let pos = 0;
    let k = 0;
    while (k < last || (final && k === last && lines[k].length > 0)) {
      const line = lines[k];
      if (line.indexOf('"') === -1) {
        let end = line.length;
        if (end > 0 && line.charCodeAt(end - 1) === CR) end--;
        this.line++;
        if (end === 0) {
          this.onRecord([], this.line);
        } else {
          const fields: CsvField[] = (end === line.length ? line : line.slice(0, end)).split(',');
          for (let i = 0; i < fields.length; i++) if (fields[i] === '') fields[i] = null;
          this.onRecord(fields, this.line);
        }
        pos += line.length + 1;
        k++;
      } else {
        const next = this.quotedRecord(buf, pos, final);
        if (next === NEEDS_MORE) break;
        // The record ends at a line end (or at the end of the text): skip the lines it spans.
        while (pos < next && k <= last) pos += lines[k++].length + 1;
      }
    }
    return Math.min(pos, buf.length);
  }

  /**
   * Parses one record that holds a quote, starting at `start`, character by character. Returns
   * the index after its line end, or NEEDS_MORE when the record may continue in the next chunk.
   */
  private quotedRecord(buf: string, start: number, final: boolean): number {
    const n = buf.length;
    const firstLine = this.line + 1;
    const fields: CsvField[] = [];
    let extraLines = 0;
    let i = start;
    for (;;) {
      if (i < n && buf.charCodeAt(i) === QUOTE) {
        const opened = firstLine + extraLines;
        let value = '';
        let segment = i + 1;
        let j = segment;
        for (;;) {
          let c = 0;
          while (j < n) {
            c = buf.charCodeAt(j);
            if (c === QUOTE) break;
            if (c === LF) extraLines++;
            j++;
          }
          if (j >= n || (j + 1 >= n && !final)) {
            if (!final) return NEEDS_MORE;
            throw new CsvSyntaxError(opened, 'a quoted field is never closed (a " opens it and no " ends it before the end of the file)');
          }
          if (j + 1 < n && buf.charCodeAt(j + 1) === QUOTE) {
            value += buf.slice(segment, j + 1);
            j += 2;
            segment = j;
            continue;
          }
          value += buf.slice(segment, j);
          i = j + 1;
          break;
        }
        fields.push(value === '' ? null : value);
        if (i >= n) return this.finish(fields, firstLine, extraLines, n);
        const c = buf.charCodeAt(i);
        if (c === COMMA) {
          i++;
          continue;
        }
        if (c === LF) return this.finish(fields, firstLine, extraLines, i + 1);
        if (c === CR) {
          if (i + 1 < n && buf.charCodeAt(i + 1) === LF) return this.finish(fields, firstLine, extraLines, i + 2);
          if (i + 1 >= n) {
            if (!final) return NEEDS_MORE;
            return this.finish(fields, firstLine, extraLines, n);
          }
        }
        throw new CsvSyntaxError(
          firstLine + extraLines,
          `field ${fields.length} has text after its closing quote (a quoted field must be followed by a comma or the end of the line; write a quote inside quotes as "")`,
        );
      }
      let j = i;
      let c = -1;
      while (j < n) {
        c = buf.charCodeAt(j);
        if (c === COMMA || c === LF) break;
        j++;
      }
      if (j >= n) {
        if (!final) return NEEDS_MORE;
        c = -1;
      }
      let end = j;
      if (c !== COMMA && end > i && buf.charCodeAt(end - 1) === CR) end--;
      fields.push(end > i ? buf.slice(i, end) : null);
      if (c === COMMA) {
        i = j + 1;
        continue;
      }
      return this.finish(fields, firstLine, extraLines, c === LF ? j + 1 : n);
    }
  }

  private finish(fields: CsvField[], firstLine: number, extraLines: number, next: number): number {
    this.line = firstLine + extraLines;
    this.onRecord(fields, firstLine);
    return next;
  }
}

/**
 * Parses a whole CSV text into records (blank lines included, as empty arrays). For small inputs
 * and tests; files go through `openTable`, which streams.
 */
export function parseCsv(text: string): { fields: CsvField[]; line: number }[] {
  const records: { fields: CsvField[]; line: number }[] = [];
  const parser = new CsvParser((fields, line) => records.push({ fields, line }));
  parser.push(text);
  parser.end();
  return records;
}

/**
 * A copy of `text` that shares no memory with the chunk it was cut from. Fields cut from a large
 * chunk (with `slice`/`split`) may keep the whole chunk alive; anything kept beyond the current
 * row (distinct-value maps, uniqueness sets) stores a copy made here instead.
 */
export function ownedText(text: string): string {
  // Short strings are always copied by the engine; a longer one is flattened into a new string
  // by the concatenation, and the slice then points into that copy only.
  return text.length < 13 ? text : (' ' + text).slice(1);
}
