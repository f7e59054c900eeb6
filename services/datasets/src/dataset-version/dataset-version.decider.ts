import {
  type ColumnSchema,
  ConflictError,
  type DataFormat,
  type DatasetProfile,
  type DatasetTransform,
  NotFoundError,
  type TypedEvent,
  type ValidationReport,
  type ValidationRule,
  type z,
  type SplitFractions,
} from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The DatasetVersion aggregate: one immutable file of a dataset (its bytes named by their SHA-256
 * digest), the validations run on it, and the splits made from it. Its id is derived from the
 * dataset and the digest, so the same bytes registered twice are one version.
 */

/** What the handler found about the owning dataset when the command was issued. */
export type OwningDataset = { status: 'Unregistered' } | { status: 'Active' | 'Archived'; name: string };

export interface VersionFacts {
  datasetVersionId: string;
  datasetId: string;
  uri: string;
  format: DataFormat;
  digest: string;
  size: number | null;
  rows: number | null;
  schema: ColumnSchema[] | null;
  profile: DatasetProfile | null;
  profiled: boolean;
}

export interface Derivation {
  parentVersionIds: string[];
  transform: DatasetTransform;
}

export interface SplitPartRef {
  datasetVersionId: string;
  rows: number;
}

export type DatasetVersionCommand =
  | { type: 'RegisterDatasetVersion'; version: VersionFacts; derivation: Derivation | null; dataset: OwningDataset; at: string }
  | { type: 'RecordValidation'; datasetVersionId: string; validationId: string; rules: ValidationRule[]; report: ValidationReport; at: string }
  | {
      type: 'RecordSplit';
      datasetVersionId: string;
      splitId: string;
      seed: number;
      fractions: z.output<typeof SplitFractions>;
      stratifyBy: string | null;
      parts: { train: SplitPartRef; validation: SplitPartRef; test: SplitPartRef };
      at: string;
    };

export type DatasetVersionEvent = TypedEvent<
  'datasets.DatasetVersionRegistered.v1' | 'datasets.DatasetVersionDerived.v1' | 'datasets.DatasetValidated.v1' | 'datasets.DatasetSplitCreated.v1'
>;

export type DatasetVersionState =
  | { status: 'Unregistered' }
  | {
      status: 'Registered';
      version: VersionFacts;
      derivation: Derivation | null;
      validationIds: ReadonlySet<string>;
      splitIds: ReadonlySet<string>;
    };

export const datasetVersionStream = (datasetVersionId: string) => `dataset-version-${datasetVersionId}`;

export const datasetVersionDecider: Decider<DatasetVersionCommand, DatasetVersionEvent, DatasetVersionState> = {
  initialState: () => ({ status: 'Unregistered' }),

  decide(command, state) {
    switch (command.type) {
      case 'RegisterDatasetVersion': {
        const { version, derivation, dataset } = command;
        // The same bytes again: the existing version is the answer, whoever registered it.
        if (state.status === 'Registered') return [];
        if (dataset.status === 'Unregistered') throw new NotFoundError(`dataset ${version.datasetId} does not exist`, { datasetId: version.datasetId });
        if (dataset.status === 'Archived') {
          throw new ConflictError(`dataset "${dataset.name}" is archived: it takes no new versions`, { datasetId: version.datasetId });
        }
        const registered: DatasetVersionEvent = { type: 'datasets.DatasetVersionRegistered.v1', data: { ...version, registeredAt: command.at } };
        if (!derivation) return [registered];
        return [registered, { type: 'datasets.DatasetVersionDerived.v1', data: { datasetVersionId: version.datasetVersionId, ...derivation, derivedAt: command.at } }];
      }
      case 'RecordValidation': {
        const registered = requireRegistered(state, command.datasetVersionId);
        if (registered.validationIds.has(command.validationId)) return [];
        const { datasetVersionId, validationId, rules, report, at } = command;
        return [{ type: 'datasets.DatasetValidated.v1', data: { datasetVersionId, validationId, rules, report, validatedAt: at } }];
      }
      case 'RecordSplit': {
        const registered = requireRegistered(state, command.datasetVersionId);
        if (registered.splitIds.has(command.splitId)) return [];
        const { datasetVersionId, splitId, seed, fractions, stratifyBy, parts, at } = command;
        return [{ type: 'datasets.DatasetSplitCreated.v1', data: { datasetVersionId, splitId, seed, fractions, stratifyBy, parts, createdAt: at } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'datasets.DatasetVersionRegistered.v1': {
        const { registeredAt: _at, ...version } = event.data;
        return { status: 'Registered', version, derivation: null, validationIds: new Set(), splitIds: new Set() };
      }
      case 'datasets.DatasetVersionDerived.v1':
        return state.status === 'Registered' ? { ...state, derivation: { parentVersionIds: event.data.parentVersionIds, transform: event.data.transform } } : state;
      case 'datasets.DatasetValidated.v1':
        return state.status === 'Registered' ? { ...state, validationIds: new Set([...state.validationIds, event.data.validationId]) } : state;
      case 'datasets.DatasetSplitCreated.v1':
        return state.status === 'Registered' ? { ...state, splitIds: new Set([...state.splitIds, event.data.splitId]) } : state;
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

function requireRegistered(state: DatasetVersionState, datasetVersionId: string): Extract<DatasetVersionState, { status: 'Registered' }> {
  if (state.status === 'Unregistered') throw new NotFoundError(`dataset version ${datasetVersionId} does not exist`, { datasetVersionId });
  return state;
}
