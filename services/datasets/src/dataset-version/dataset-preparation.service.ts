import { Inject, Injectable } from '@nestjs/common';
import {
  type DatasetVersionReply,
  type datasetsRpc,
  ID_NAMESPACES,
  nameBasedUuid,
  type SplitPart,
  type SplitReply,
  type z,
} from '@modeltrail/contracts';
import type { CommandContext } from '@modeltrail/decider';
import type { ArtifactStore, StoredArtifact } from '@modeltrail/artifacts';
import { localPath, openTable } from '@modeltrail/tabular';
import { cleanTable, planCleaning, type StepCounts } from '../data/clean';
import { checkSplitOptions, SPLIT_PARTS, type SplitPartName, splitTable } from '../data/split';
import { artifactSink } from '../data/writer';
import { DatasetVersionService, readFacts, verifyUnchanged } from './dataset-version.service';

type Req<K extends keyof typeof datasetsRpc> = z.output<(typeof datasetsRpc)[K]['request']>;

/** Injection token of the service's content-addressed artifact store (ARTIFACT_ROOT). */
export const ARTIFACT_STORE = Symbol('ARTIFACT_STORE');

const PART_OF: Record<SplitPartName, SplitPart> = { train: 'TRAIN', validation: 'VALIDATION', test: 'TEST' };

/**
 * Cleaning and splitting: each writes new files into the artifact store (content-addressed, so
 * the same output is the same file) and registers them as versions derived from the input.
 * Steps and options are checked against the version's schema before any data is read.
 */
@Injectable()
export class DatasetPreparation {
  constructor(
    private readonly versions: DatasetVersionService,
    @Inject(ARTIFACT_STORE) private readonly artifacts: ArtifactStore,
  ) {}

  async clean(req: Req<'cleanDatasetVersion'>, context: CommandContext): Promise<DatasetVersionReply> {
    const [source] = await this.versions.loadVersions([req.datasetVersionId]);
    const { uri, format, digest, datasetId } = source.version;
    const path = localPath(uri, 'clean');
    await this.versions.roots.check(path);
    const schema = source.version.schema ?? [];
    const types = schema.map((column) => column.type);
    planCleaning(
      schema.map((column) => column.name),
      req.steps,
      types,
    );
    const dataset = await this.versions.owningDataset(datasetId);
    await verifyUnchanged(path, digest);
    const cleaned = await cleanTable(() => openTable(path, format), req.steps, artifactSink(this.artifacts, format), { types });
    const facts = await readFacts({ uri: cleaned.result.uri, format }, this.versions.roots);
    const description = `cleaned ${source.version.rows ?? cleaned.rowsIn} rows into ${cleaned.rowsOut}: ${cleaned.steps.map(describeStep).join('; ')}`;
    return this.versions.record(datasetId, facts, { parentVersionIds: [req.datasetVersionId], transform: { kind: 'CLEAN', description, steps: req.steps } }, dataset, context);
  }

  async split(req: Req<'splitDatasetVersion'>, context: CommandContext): Promise<SplitReply> {
    const [source] = await this.versions.loadVersions([req.datasetVersionId]);
    const { uri, format, digest, datasetId } = source.version;
    const path = localPath(uri, 'split');
    await this.versions.roots.check(path);
    const schema = source.version.schema ?? [];
    const stratifyBy = req.stratifyBy ?? null;
    const options = { train: req.train, validation: req.validation, test: req.test, seed: req.seed, stratifyBy, types: schema.map((column) => column.type) };
    checkSplitOptions(
      schema.map((column) => column.name),
      options,
    );
    const dataset = await this.versions.owningDataset(datasetId);
    await verifyUnchanged(path, digest);

    const sink = artifactSink(this.artifacts, format);
    const result = await splitTable(() => openTable(path, format), options, { train: sink, validation: sink, test: sink });
    const fractions = { train: req.train, validation: req.validation, test: req.test };
    // The same split asked again (same source, seed, fractions and strata) is the same split.
    const splitId = nameBasedUuid(ID_NAMESPACES.split, JSON.stringify([req.datasetVersionId, req.seed, fractions, stratifyBy]));

    const parts = {} as Record<SplitPartName, DatasetVersionReply>;
    for (const part of SPLIT_PARTS) {
      const stored: StoredArtifact<number> = result[part].result;
      const facts = await readFacts({ uri: stored.uri, format }, this.versions.roots);
      const share = `${Math.round(fractions[part] * 1000) / 10}%`;
      const description = `${part} part (${share}, ${result[part].rows} of ${result.rows} rows) of split ${splitId}, seed ${req.seed}${stratifyBy ? `, stratified by ${stratifyBy}` : ''}`;
      const transform = { kind: 'SPLIT' as const, description, splitId, part: PART_OF[part], seed: req.seed, fractions, stratifyBy };
      parts[part] = await this.versions.record(datasetId, facts, { parentVersionIds: [req.datasetVersionId], transform }, dataset, { ...context, commandId: context.commandId && `${context.commandId}/${part}` });
    }

    const ref = (part: SplitPartName) => ({ datasetVersionId: parts[part].datasetVersionId, rows: result[part].rows });
    const recorded = { datasetVersionId: req.datasetVersionId, splitId, seed: req.seed, fractions, stratifyBy, parts: { train: ref('train'), validation: ref('validation'), test: ref('test') } };
    await this.versions.recordSplit(recorded, context);
    return { splitId, datasetVersionId: req.datasetVersionId, seed: req.seed, fractions, stratifyBy, train: parts.train, validation: parts.validation, test: parts.test };
  }
}

function describeStep(counts: StepCounts): string {
  switch (counts.type) {
    case 'DROP_MISSING':
      return `dropped ${counts.rowsDropped} rows with missing values`;
    case 'FILL_MISSING':
      return `filled ${counts.cellsFilled} missing values with ${JSON.stringify(counts.fillValue)}`;
    case 'DROP_DUPLICATES':
      return `dropped ${counts.rowsDropped} duplicate rows`;
    case 'CAST':
      return `cast ${counts.cellsCast} values`;
    case 'DROP_COLUMNS':
      return `dropped ${counts.columnsDropped} columns`;
    default: {
      const unknown: never = counts.type;
      throw new Error(`unknown cleaning step ${String(unknown)}`);
    }
  }
}
