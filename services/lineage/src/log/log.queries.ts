import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { logRpc, type RpcReply, ValidationError, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
import { decodeNumberCursor, encodeNumberCursor } from '@modeltrail/readmodel';
import { MerkleLogViews } from './log.views';

type Req<K extends keyof typeof logRpc> = z.output<(typeof logRpc)[K]['request']>;
type Reply<K extends keyof typeof logRpc> = RpcReply<(typeof logRpc)[K]>;

/** The log's checkpoints, proofs and verification over NATS. */
@Controller()
export class LogQueries {
  constructor(private readonly log: MerkleLogViews) {}

  @RpcPattern(logRpc.logKey)
  logKey(): Reply<'logKey'> {
    return this.log.publicKey();
  }

  @RpcPattern(logRpc.latestCheckpoint)
  latestCheckpoint(): Promise<Reply<'latestCheckpoint'>> {
    return this.log.current();
  }

  @RpcPattern(logRpc.listCheckpoints)
  async listCheckpoints(@Payload() req: Req<'listCheckpoints'>): Promise<Reply<'listCheckpoints'>> {
    const before = req.after ? decodeNumberCursor(req.after) : null;
    const rows = await this.log.checkpoints(before, req.first + 1);
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return { items: page, pageInfo: { endCursor: last ? encodeNumberCursor(last.treeSize) : null, hasNextPage: rows.length > req.first } };
  }

  @RpcPattern(logRpc.publishCheckpoint)
  publishCheckpoint(): Promise<Reply<'publishCheckpoint'>> {
    return this.log.publish();
  }

  @RpcPattern(logRpc.inclusionProof)
  inclusionProof(@Payload() req: Req<'inclusionProof'>): Promise<Reply<'inclusionProof'>> {
    return this.log.inclusionProof(req.eventId, req.treeSize);
  }

  @RpcPattern(logRpc.consistencyProof)
  consistencyProof(@Payload() req: Req<'consistencyProof'>): Promise<Reply<'consistencyProof'>> {
    if (req.fromSize > req.toSize) throw new ValidationError(`fromSize ${req.fromSize} is larger than toSize ${req.toSize}: a log never shrinks`, { field: 'fromSize' });
    return this.log.consistencyProof(req.fromSize, req.toSize);
  }

  @RpcPattern(logRpc.verifyLog)
  verifyLog(): Promise<Reply<'verifyLog'>> {
    return this.log.verify();
  }
}
