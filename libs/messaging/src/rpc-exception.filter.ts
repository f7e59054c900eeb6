import { Catch, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import { errorFromPayload, InternalError, ModelTrailError } from '@modeltrail/contracts';
import { defaultLogger, errorStack, type MessagingLogger } from './logger';
import { NatsRpcContext } from './nats-rpc.context';
import { isErrorPayload } from './rpc.envelope';

/**
 * Keeps ModelTrail errors typed through Nest's exception layer. Without it Nest turns every
 * error that is not an RpcException into "Internal server error" (and logs a NotFoundError as
 * a crash). Registered for you by `@RpcPattern(def)` and by `MessagingModule`.
 */
@Catch()
export class ModelTrailRpcExceptionFilter implements RpcExceptionFilter<unknown, never> {
  constructor(private readonly logger: MessagingLogger = defaultLogger('RpcExceptions')) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    if (exception instanceof ModelTrailError) return throwError(() => exception);
    if (exception instanceof RpcException) {
      const error = exception.getError();
      if (isErrorPayload(error)) return throwError(() => errorFromPayload(error));
    }
    const context = host.switchToRpc().getContext<unknown>();
    const subject = context instanceof NatsRpcContext ? context.getSubject() : 'a request';
    const message = exception instanceof Error ? exception.message : String(exception);
    this.logger.error(`unexpected error handling ${subject}: ${message}`, errorStack(exception));
    return throwError(() => new InternalError(`internal error while handling ${subject}`));
  }
}
