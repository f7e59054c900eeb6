import { AlertEventResolver, AlertResolver, RetrainRequestResolver } from './alert.resolver';
import { DeploymentResolver, MonitorResolver } from './deployment.resolver';

/** The resolvers of deployments, monitors, measurements, alerts and retrainings. */
export const MONITORING_RESOLVERS = [DeploymentResolver, MonitorResolver, AlertResolver, AlertEventResolver, RetrainRequestResolver] as const;
