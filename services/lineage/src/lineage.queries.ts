import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { lineageRpc, type RpcReply, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
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
}
