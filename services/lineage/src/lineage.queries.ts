import { gzipSync } from 'node:zlib';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { auditRpc, lineageRpc, type RpcReply, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
import { AuditReports } from './audit/audit.report';
import { renderHtml, renderMarkdown } from './audit/audit.render';
import { LineageViews } from './graph/lineage.views';
import { OpenLineageReader } from './openlineage';

/** Documents larger than this travel gzipped (see AuditReportDocument.encoding). */
const INLINE_REPORT_BYTES = 256 * 1024;

type Req<K extends keyof typeof lineageRpc> = z.output<(typeof lineageRpc)[K]['request']>;
type Reply<K extends keyof typeof lineageRpc> = RpcReply<(typeof lineageRpc)[K]>;

/** Request/reply queries answered from the lineage graph. */
@Controller()
export class LineageQueries {
  constructor(
    private readonly views: LineageViews,
    private readonly openLineageReader: OpenLineageReader,
    private readonly audits: AuditReports,
  ) {}

  @RpcPattern(lineageRpc.lineage)
  lineage(@Payload() req: Req<'lineage'>): Promise<Reply<'lineage'>> {
    return this.views.lineage(req);
  }

  @RpcPattern(lineageRpc.timeline)
  timeline(@Payload() req: Req<'timeline'>): Promise<Reply<'timeline'>> {
    return this.views.timeline(req);
  }

  @RpcPattern(lineageRpc.explain)
  explain(@Payload() req: Req<'explain'>): Promise<Reply<'explain'>> {
    return this.views.explain(req);
  }

  @RpcPattern(lineageRpc.openLineage)
  async openLineage(@Payload() req: Req<'openLineage'>): Promise<Reply<'openLineage'>> {
    const events = await this.openLineageReader.runEvents(req.runId);
    return { events: events as unknown as Array<Record<string, unknown>> | null };
  }

  /** An audit report of a model version, as the JSON an auditor verifies offline, or rendered for reading. */
  @RpcPattern(auditRpc.auditReport)
  async auditReport(@Payload() req: z.output<(typeof auditRpc)['auditReport']['request']>): Promise<RpcReply<(typeof auditRpc)['auditReport']>> {
    const report = await this.audits.report(req.modelVersionId);
    const name = `modeltrail-audit-${req.modelVersionId}`;
    const digest = report.digest.value;
    const [contentType, extension, body] =
      req.format === 'MARKDOWN'
        ? ['text/markdown; charset=utf-8', 'md', renderMarkdown(report)]
        : req.format === 'HTML'
          ? ['text/html; charset=utf-8', 'html', renderHtml(report)]
          : ['application/json; charset=utf-8', 'json', `${JSON.stringify(report, null, 2)}\n`];
    // Large documents travel compressed, well under NATS's message limit.
    const large = Buffer.byteLength(body, 'utf8') > INLINE_REPORT_BYTES;
    return {
      format: req.format,
      contentType,
      fileName: `${name}.${extension}`,
      digest,
      body: large ? gzipSync(body).toString('base64') : body,
      encoding: large ? 'gzip+base64' : 'identity',
    };
  }
}
