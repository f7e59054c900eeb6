import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { ArtifactStore, StoredArtifact } from '@modeltrail/artifacts';
import { InternalError } from '@modeltrail/contracts';
import { buildReference, type CurrentColumns, decodeReference, encodeReference, type FeatureSpec, type ReferenceProfile } from '@modeltrail/drift';

/** The extension of a stored reference profile (@modeltrail/drift's binary form). */
export const REFERENCE_EXTENSION = 'mtref';

/**
 * Frozen references in the content-addressed artifact store: built once at deployment and
 * stored under their digest, read back by digest for every batch measured. Decoded profiles are
 * kept (by digest, so never stale) for the most recently used deployments.
 */
export class ReferenceStore {
  private readonly decoded = new Map<string, ReferenceProfile>();

  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly cached = 64,
  ) {}

  /** Builds the profile of the training data's features and stores it; the same data gives the same bytes, so the same digest. */
  async freeze(features: ReadonlyArray<FeatureSpec>, columns: CurrentColumns): Promise<{ stored: StoredArtifact<void>; profile: ReferenceProfile }> {
    const profile = buildReference(features, columns);
    const bytes = encodeReference(profile);
    const stored = await this.artifacts.put((tmpPath) => writeFile(tmpPath, bytes), REFERENCE_EXTENSION);
    this.keep(stored.digest, profile);
    return { stored, profile };
  }

  /** The profile stored under `digest`; a file whose bytes are not that digest any more is refused. */
  async load(digest: string): Promise<ReferenceProfile> {
    const kept = this.decoded.get(digest);
    if (kept) {
      // Most recently used last.
      this.decoded.delete(digest);
      this.decoded.set(digest, kept);
      return kept;
    }
    const path = this.artifacts.pathFor(digest, REFERENCE_EXTENSION);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new InternalError(`the reference profile ${digest} is missing from the artifact store (${path}): ${(error as Error).message}`, { digest });
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== digest) throw new InternalError(`the reference profile at ${path} was altered: its sha256 is ${actual}, not ${digest}`, { digest });
    const profile = decodeReference(bytes);
    this.keep(digest, profile);
    return profile;
  }

  private keep(digest: string, profile: ReferenceProfile): void {
    this.decoded.delete(digest);
    this.decoded.set(digest, profile);
    while (this.decoded.size > this.cached) this.decoded.delete(this.decoded.keys().next().value as string);
  }
}
