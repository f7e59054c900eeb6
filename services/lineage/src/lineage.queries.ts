import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { auditRpc, lineageRpc, type RpcReply, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
import { AuditReports } from './audit/audit.report';
import { renderHtml, renderMarkdown } from './audit/audit.render';
import { LineageViews } from './graph/lineage.views';
import { OpenLineageReader } from './openlineage';

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
    switch (req.format) {
      case 'MARKDOWN':
        return { format: req.format, contentType: 'text/markdown; charset=utf-8', fileName: `${name}.md`, digest, body: renderMarkdown(report) };
      case 'HTML':
        return { format: req.format, contentType: 'text/html; charset=utf-8', fileName: `${name}.html`, digest, body: renderHtml(report) };
      default:
        return { format: 'JSON', contentType: 'application/json; charset=utf-8', fileName: `${name}.json`, digest, body: `${JSON.stringify(report, null, 2)}\n` };
    }
  }
}
