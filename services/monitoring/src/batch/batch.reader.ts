import { createHash } from 'node:crypto';
import { sha256File } from '@modeltrail/artifacts';
import { type DataFormat, type InlineRows, ValidationError } from '@modeltrail/contracts';
import { ColumnCollector, type CurrentColumns, type FeatureSpec } from '@modeltrail/drift';
import { localPath, openTable, type ReadableRoots, rowBatches } from '@modeltrail/tabular';

/** Which columns a batch may carry besides the features. */
export type ExtraColumns = { kind: 'ANY' } | { kind: 'ONLY'; names: ReadonlySet<string> };

/** A file's format from its extension: .csv, .jsonl or .ndjson, .parquet (a trailing .gz is not read). */
export function formatOf(uri: string): DataFormat {
  const name = uri.split(/[?#]/)[0].toLowerCase();
  if (name.endsWith('.csv')) return 'CSV';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'JSONL';
  if (name.endsWith('.parquet')) return 'PARQUET';
  throw new ValidationError(`cannot tell the format of ${uri} from its extension (.csv, .jsonl, .ndjson or .parquet): give format`, { field: 'format' });
}

/**
 * Reads batches into the columns drift is measured on: a file as the datasets service reads it
 * (@modeltrail/tabular, under the same allowed roots), or rows sent inline. The batch's header
 * must hold every feature; other columns are refused unless `extra` allows them (a deployment's
 * skipped columns: its target, DATETIME columns and columns not chosen), so a batch of the
 * wrong data is named as such instead of measured.
 */
export class BatchReader {
  constructor(private readonly roots: ReadableRoots) {}

  /**
   * The features of the file at `uri`. When `digest` is given (a dataset version's file), the
   * bytes read must be the ones registered: a file changed since is refused, never measured.
   */
  async readFile(uri: string, format: DataFormat, features: ReadonlyArray<FeatureSpec>, extra: ExtraColumns, digest?: string): Promise<CurrentColumns> {
    const path = localPath(uri, 'read for monitoring');
    await this.roots.check(path);
    const hash = digest && format !== 'PARQUET' ? createHash('sha256') : null;
    if (digest && format === 'PARQUET') checkDigest(path, digest, (await sha256File(path)).digest);
    const table = await openTable(path, format, hash ? { onBytes: (chunk) => hash.update(chunk) } : {});
    const collector = this.collector(features, table.columns, extra);
    for await (const rows of rowBatches(table.rows)) for (const row of rows) collector.add(row);
    if (hash && digest) checkDigest(path, digest, hash.digest('hex'));
    return collector.finish();
  }

  /** The features of rows sent inline (their shape checked by the request's schema). */
  readInline(batch: InlineRows, features: ReadonlyArray<FeatureSpec>, extra: ExtraColumns): CurrentColumns {
    const collector = this.collector(features, batch.columns, extra);
    for (const row of batch.rows) collector.add(row);
    return collector.finish();
  }

  private collector(features: ReadonlyArray<FeatureSpec>, columns: ReadonlyArray<string>, extra: ExtraColumns): ColumnCollector {
    const featureNames = new Set(features.map((f) => f.name));
    const missing = features.filter((f) => !columns.includes(f.name)).map((f) => f.name);
    const unexpected = extra.kind === 'ANY' ? [] : columns.filter((c) => !featureNames.has(c) && !extra.names.has(c));
    if (missing.length || unexpected.length) {
      const parts = [...(missing.length ? [`features missing from the batch: ${missing.join(', ')}`] : []), ...(unexpected.length ? [`columns the reference does not know: ${unexpected.join(', ')}`] : [])];
      throw new ValidationError(`the batch's columns do not match the deployment's reference (${parts.join('; ')})`, { missingColumns: missing, extraColumns: unexpected });
    }
    const collector = new ColumnCollector(features, { ignoreExtraColumns: true });
    collector.header(columns);
    return collector;
  }
}

function checkDigest(path: string, registered: string, read: string): void {
  if (registered !== read) {
    throw new ValidationError(`${path} changed since its dataset version was registered (sha256 ${read}, registered ${registered}): register the new bytes as a new version`, { path });
  }
}
