import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { type DriftMeasurementView, monitoringRpc, type PerformanceMeasurementView, type RpcReply, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
import { MonitoringViews } from './read-model/monitoring.views';

type Req<K extends keyof typeof monitoringRpc> = z.output<(typeof monitoringRpc)[K]['request']>;
type Reply<K extends keyof typeof monitoringRpc> = RpcReply<(typeof monitoringRpc)[K]>;

/** Request/reply queries answered from the monitoring read model. */
@Controller()
export class MonitoringQueries {
  constructor(private readonly views: MonitoringViews) {}

  @RpcPattern(monitoringRpc.getDeployments)
  async getDeployments(@Payload() req: Req<'getDeployments'>): Promise<Reply<'getDeployments'>> {
    return { items: await this.views.deployments(req.deploymentIds) };
  }

  @RpcPattern(monitoringRpc.getMonitors)
  async getMonitors(@Payload() req: Req<'getMonitors'>): Promise<Reply<'getMonitors'>> {
    return { items: await this.views.monitors(req.deploymentIds) };
  }

  @RpcPattern(monitoringRpc.getAlerts)
  async getAlerts(@Payload() req: Req<'getAlerts'>): Promise<Reply<'getAlerts'>> {
    return { items: await this.views.alerts(req.alertIds) };
  }

  @RpcPattern(monitoringRpc.getRetrains)
  async getRetrains(@Payload() req: Req<'getRetrains'>): Promise<Reply<'getRetrains'>> {
    return { items: await this.views.retrains(req.retrainIds) };
  }

  @RpcPattern(monitoringRpc.listDeployments)
  listDeployments(@Payload() req: Req<'listDeployments'>): Promise<Reply<'listDeployments'>> {
    const { first, after, ...filter } = req;
    return this.views.reader.listDeployments(filter, first, after);
  }

  @RpcPattern(monitoringRpc.listDriftMeasurements)
  listDriftMeasurements(@Payload() req: Req<'listDriftMeasurements'>): Promise<Reply<'listDriftMeasurements'>> {
    return this.views.reader.listMeasurements<DriftMeasurementView>('drift_measurements', req.deploymentId, req.first, req.after);
  }

  @RpcPattern(monitoringRpc.listPerformanceMeasurements)
  listPerformanceMeasurements(@Payload() req: Req<'listPerformanceMeasurements'>): Promise<Reply<'listPerformanceMeasurements'>> {
    return this.views.reader.listMeasurements<PerformanceMeasurementView>('performance_measurements', req.deploymentId, req.first, req.after);
  }

  @RpcPattern(monitoringRpc.listAlerts)
  listAlerts(@Payload() req: Req<'listAlerts'>): Promise<Reply<'listAlerts'>> {
    return this.views.reader.listAlerts(req.filter, req.first, req.after);
  }

  @RpcPattern(monitoringRpc.listRetrains)
  listRetrains(@Payload() req: Req<'listRetrains'>): Promise<Reply<'listRetrains'>> {
    return this.views.reader.listRetrains(req.filter, req.first, req.after);
  }
}
