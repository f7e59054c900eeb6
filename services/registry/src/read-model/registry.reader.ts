import type { Pool } from 'pg';
import type { AliasAssignmentView, ModelVersionStatus, ModelVersionView, ModelView, PromotionRequestView, PromotionStatus } from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';
import { rowDecoder } from '@modeltrail/readmodel';
import { type ModelRow, modelsTable, type ModelVersionRow, modelVersionsTable, type PromotionRequestRow, promotionRequestsTable } from './registry.entities';

/** A moment to answer an alias for: a time, a global position, or now. */
export type AsOf = { at: Date } | { position: number } | null;

/** The version holding an alias now. */
type Holder = { modelVersionId: string; version: number };

/**
 * Reads the registry's read model with plain SQL. Which version holds an alias is found from
 * the assignments (the latest one of each alias), and when an assignment ended from the next
 * one of the same alias (a window over the rows), so each assignment is written once.
 */
export class RegistryReader {
  private readonly s: string;
  private readonly modelRow = rowDecoder(modelsTable);
  private readonly versionRow = rowDecoder(modelVersionsTable);
  private readonly requestRow = rowDecoder(promotionRequestsTable);

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.s = ident(schema);
  }

  async models(modelIds: ReadonlyArray<string>): Promise<ModelView[]> {
    if (modelIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.models WHERE model_id = ANY($1::uuid[])`, [modelIds]);
    return this.modelViews(rows.map(this.modelRow));
  }

  /** Models oldest first (registration time, then id), of one project or all. */
  async modelPage(projectId: string | undefined, after: { at: Date; id: string } | null, limit: number): Promise<ModelView[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (projectId) where.push(`project_id = $${params.push(projectId)}`);
    if (after) where.push(`(registered_at, model_id) > ($${params.push(after.at)}, $${params.push(after.id)}::uuid)`);
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.s}.models ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY registered_at, model_id LIMIT $${params.push(limit)}`,
      params,
    );
    return this.modelViews(rows.map(this.modelRow));
  }

  async versions(modelVersionIds: ReadonlyArray<string>): Promise<ModelVersionView[]> {
    if (modelVersionIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.model_versions WHERE model_version_id = ANY($1::uuid[])`, [modelVersionIds]);
    return this.versionViews(rows.map(this.versionRow));
  }

  /** Versions made from the given runs, oldest first. */
  async versionsOfRuns(runIds: ReadonlyArray<string>): Promise<ModelVersionView[]> {
    if (runIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.model_versions WHERE run_id = ANY($1::uuid[]) ORDER BY created_at, model_version_id`, [runIds]);
    return this.versionViews(rows.map(this.versionRow));
  }

  /** A model's versions, newest (highest number) first, optionally of one status, below a version number. */
  async versionPage(modelId: string, status: ModelVersionStatus | undefined, belowVersion: number | null, limit: number): Promise<ModelVersionView[]> {
    const params: unknown[] = [modelId];
    const where = ['model_id = $1'];
    if (status) where.push(`status = $${params.push(status)}`);
    if (belowVersion !== null) where.push(`version < $${params.push(belowVersion)}`);
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.model_versions WHERE ${where.join(' AND ')} ORDER BY version DESC LIMIT $${params.push(limit)}`, params);
    return this.versionViews(rows.map(this.versionRow));
  }

  /** The highest version number of a model the read model has (0 for none). */
  async latestVersion(modelId: string): Promise<number> {
    const { rows } = await this.pool.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${this.s}.model_versions WHERE model_id = $1`, [modelId]);
    return rows[0]?.v ?? 0;
  }

  async requests(requestIds: ReadonlyArray<string>): Promise<PromotionRequestView[]> {
    if (requestIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.promotion_requests WHERE request_id = ANY($1::uuid[])`, [requestIds]);
    return rows.map(this.requestRow).map(requestView);
  }

  /** Requests newest first (request time, then id), filtered. */
  async requestPage(
    filter: { modelId?: string; modelVersionId?: string; status?: PromotionStatus },
    after: { at: Date; id: string } | null,
    limit: number,
  ): Promise<PromotionRequestView[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.modelId) where.push(`model_id = $${params.push(filter.modelId)}`);
    if (filter.modelVersionId) where.push(`model_version_id = $${params.push(filter.modelVersionId)}`);
    if (filter.status) where.push(`status = $${params.push(filter.status)}`);
    if (after) where.push(`(requested_at, request_id) < ($${params.push(after.at)}, $${params.push(after.id)}::uuid)`);
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.s}.promotion_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, request_id DESC LIMIT $${params.push(limit)}`,
      params,
    );
    return rows.map(this.requestRow).map(requestView);
  }

  /** Every assignment of an alias, newest first, each with when it ended (null: it holds now). */
  async aliasHistory(modelId: string, alias: string): Promise<AliasAssignmentView[]> {
    const { rows } = await this.pool.query(
      `SELECT a.*, v.version,
              lead(a.valid_from) OVER w AS valid_to,
              lead(a.valid_from_position) OVER w AS valid_to_position
         FROM ${this.s}.alias_assignments a JOIN ${this.s}.model_versions v ON v.model_version_id = a.model_version_id
        WHERE a.model_id = $1 AND a.alias = $2
       WINDOW w AS (ORDER BY a.valid_from_position)
        ORDER BY a.valid_from_position DESC`,
      [modelId, alias],
    );
    return rows.map(assignmentView);
  }

  /** The assignment in force at a moment (the latest at or before it), or null before the first one. */
  async aliasAt(modelId: string, alias: string, asOf: AsOf): Promise<AliasAssignmentView | null> {
    const history = await this.aliasHistory(modelId, alias);
    if (asOf === null) return history[0] ?? null;
    if ('position' in asOf) return history.find((a) => a.validFromPosition <= asOf.position) ?? null;
    return history.find((a) => new Date(a.validFrom).getTime() <= asOf.at.getTime()) ?? null;
  }

  /** The model a promotion request belongs to, or null when the read model does not have it. */
  async requestModel(requestId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ model_id: string }>(`SELECT model_id FROM ${this.s}.promotion_requests WHERE request_id = $1`, [requestId]);
    return rows[0]?.model_id ?? null;
  }

  /** Alias holders now of the given models, with their version numbers: model id -> alias -> holder. */
  private async holders(modelIds: ReadonlyArray<string>): Promise<Map<string, Map<string, Holder>>> {
    const out = new Map<string, Map<string, Holder>>();
    if (modelIds.length === 0) return out;
    const { rows } = await this.pool.query<{ model_id: string; alias: string; model_version_id: string; version: number }>(
      `SELECT h.model_id, h.alias, h.model_version_id, coalesce(v.version, 0) AS version
         FROM (SELECT DISTINCT ON (model_id, alias) model_id, alias, model_version_id
                 FROM ${this.s}.alias_assignments WHERE model_id = ANY($1::uuid[])
                ORDER BY model_id, alias, valid_from_position DESC) h
    LEFT JOIN ${this.s}.model_versions v ON v.model_version_id = h.model_version_id`,
      [[...new Set(modelIds)]],
    );
    for (const r of rows) {
      if (!out.has(r.model_id)) out.set(r.model_id, new Map());
      out.get(r.model_id)!.set(r.alias, { modelVersionId: r.model_version_id, version: r.version });
    }
    return out;
  }

  private async modelViews(rows: ReadonlyArray<ModelRow>): Promise<ModelView[]> {
    if (rows.length === 0) return [];
    const holders = await this.holders(rows.map((r) => r.modelId));
    return rows.map((row) => ({
      modelId: row.modelId,
      projectId: row.projectId,
      name: row.name,
      description: row.description,
      latestVersion: row.latestVersion,
      aliases: [...(holders.get(row.modelId) ?? new Map<string, Holder>()).entries()].sort(([a], [b]) => a.localeCompare(b)).map(([alias, holder]) => ({ alias, ...holder })),
      registeredAt: row.registeredAt.toISOString(),
      registeredBy: row.registeredBy,
      revision: row.revision,
    }));
  }

  private async versionViews(rows: ReadonlyArray<ModelVersionRow>): Promise<ModelVersionView[]> {
    if (rows.length === 0) return [];
    const holders = await this.holders(rows.map((r) => r.modelId));
    return rows.map((row) => ({
      modelVersionId: row.modelVersionId,
      modelId: row.modelId,
      projectId: row.projectId,
      experimentId: row.experimentId,
      runId: row.runId,
      version: row.version,
      status: row.status,
      artifact: row.artifact,
      metrics: row.metrics,
      params: row.params,
      codeRef: row.codeRef,
      datasetVersions: row.datasetVersions,
      signature: row.signature,
      modelCard: row.modelCard,
      aliases: [...(holders.get(row.modelId) ?? new Map<string, Holder>()).entries()]
        .filter(([, holder]) => holder.modelVersionId === row.modelVersionId)
        .map(([alias]) => alias)
        .sort(),
      createdAt: row.createdAt.toISOString(),
      createdBy: row.createdBy,
      archivedAt: row.archivedAt ? row.archivedAt.toISOString() : null,
      archiveReason: row.archiveReason,
      revision: row.revision,
    }));
  }
}

function requestView(row: PromotionRequestRow): PromotionRequestView {
  return {
    requestId: row.requestId,
    modelId: row.modelId,
    modelVersionId: row.modelVersionId,
    version: row.version,
    alias: row.alias,
    justification: row.justification,
    status: row.status,
    gates: row.gates,
    gatesPassed: row.gatesPassed,
    requestedBy: row.requestedBy,
    requestedAt: row.requestedAt.toISOString(),
    decidedBy: row.decidedBy,
    decidedAt: row.decidedAt ? row.decidedAt.toISOString() : null,
    decisionNote: row.decisionNote,
  };
}

function assignmentView(r: Record<string, any>): AliasAssignmentView {
  return {
    modelId: r.model_id,
    alias: r.alias,
    modelVersionId: r.model_version_id,
    version: r.version,
    previousModelVersionId: r.previous_model_version_id,
    requestId: r.request_id,
    requestedBy: r.requested_by,
    approvedBy: r.approved_by,
    reason: r.reason,
    validFrom: (r.valid_from as Date).toISOString(),
    validFromPosition: Number(r.valid_from_position),
    validTo: r.valid_to ? (r.valid_to as Date).toISOString() : null,
    validToPosition: r.valid_to_position === null ? null : Number(r.valid_to_position),
  };
}

