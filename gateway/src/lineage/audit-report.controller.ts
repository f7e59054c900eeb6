import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { GraphQLError } from 'graphql';
import { auditRpc, ModelTrailError } from '@modeltrail/contracts';
import { authorize } from '../access/enforce';
import { requireWholeLineageVisible } from '../access/lineage-redaction';
import { parseId } from '../common/ids';
import { type GatewayContext, GatewayContextFactory } from '../context/gateway-context';
import { gatewayCodeOf } from '../errors/error-formatter';
import { documentBody } from './audit-document';

/** `?format=` values of the download, by the document they give. */
const FORMATS: Record<string, AuditReportFormat> = { json: 'JSON', markdown: 'MARKDOWN', md: 'MARKDOWN', html: 'HTML' };
type AuditReportFormat = 'JSON' | 'MARKDOWN' | 'HTML';

const STATUS: Record<string, number> = { BAD_USER_INPUT: 400, UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409, RATE_LIMITED: 429, SERVICE_UNAVAILABLE: 503, INTERNAL_SERVER_ERROR: 500 };

/**
 * `GET /audit-reports/<modelVersionId>?format=json|markdown|html`: an audit report as a file to
 * keep (Content-Disposition: attachment), with the same bearer token as the API. The JSON is the
 * document `npm run verify -- report.json` checks offline; `X-Report-Digest` carries its digest.
 * Errors are JSON, `{ errors: [{ message, extensions: { code } }] }`, with the HTTP status of their code.
 */
@Controller('audit-reports')
export class AuditReportController {
  constructor(private readonly contexts: GatewayContextFactory) {}

  @Get(':modelVersionId')
  async download(@Param('modelVersionId') modelVersionId: string, @Query('format') format: string | undefined, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    // The same authentication, rate limit and access rule as the auditReport query: VIEWER in the version's project.
    let ctx: GatewayContext;
    try {
      ctx = await this.contexts.forHttp(req, res);
    } catch (error) {
      if (error instanceof GraphQLError) {
        const http = error.extensions.http as { headers?: Map<string, string> } | undefined;
        for (const [name, value] of http?.headers ?? []) res.setHeader(name, value);
        return fail(res, String(error.extensions.code ?? 'UNAUTHENTICATED'), error.message);
      }
      throw error;
    }
    const chosen = FORMATS[(format ?? 'json').toLowerCase()];
    if (!chosen) return fail(res, 'BAD_USER_INPUT', `format "${format}" is not one of json, markdown, html`);
    try {
      const id = parseId(modelVersionId, 'modelVersionId');
      await authorize({ kind: 'role', role: 'VIEWER', of: [['modelVersion', 'id']], reads: [] }, { id }, ctx, 'auditReport');
      await requireWholeLineageVisible(id, ctx, 'this audit report');
      const document = await ctx.rpc.query(auditRpc.auditReport, { modelVersionId: id, format: chosen });
      res.statusCode = 200;
      res.setHeader('content-type', document.contentType);
      res.setHeader('content-disposition', `attachment; filename="${document.fileName}"`);
      res.setHeader('x-report-digest', document.digest);
      res.setHeader('x-content-type-options', 'nosniff');
      if (document.format === 'HTML') res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
      res.end(documentBody(document));
    } catch (error) {
      if (error instanceof ModelTrailError) return fail(res, gatewayCodeOf(error.code), error.message);
      return fail(res, 'INTERNAL_SERVER_ERROR', 'internal error');
    }
  }
}

function fail(res: ServerResponse, code: string, message: string): void {
  res.statusCode = STATUS[code] ?? 500;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}
