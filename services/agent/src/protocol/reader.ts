import type { MetricPointInput } from '@modeltrail/contracts';
import type { OutputLine } from '../process/job-process';
import { parseOutputLine, type ParamValue } from './parser';

/**
 * Reads one job's output: pass `reader.onLine` as the `onLine` of startJobProcess. Metric
 * points go to `metrics` (a MetricBatcher), log lines, statuses and warnings to the callbacks;
 * parameters are merged (a later value for a name replaces the earlier one) and the artifacts
 * the script named are kept for collectOutputs once the job has ended.
 *
 * Run-wide limits: at most 200 parameters (the experiments contracts' Params) and 1000 named
 * artifacts; records beyond them are dropped with a warning.
 */

export interface DeclaredArtifact {
  /** As the script wrote it: relative to the output directory, or absolute. */
  path: string;
  name: string | null;
  /** The line it came from. */
  seq: number;
}

export interface ProtocolWarning {
  seq: number;
  time: string;
  message: string;
}

export interface JobOutputReaderOptions {
  metrics: { add(points: MetricPointInput[]): void };
  onLog?: (line: OutputLine) => void;
  onStatus?: (status: { seq: number; time: string; message: string }) => void;
  onWarning?: (warning: ProtocolWarning) => void;
  /** Called with the parameters a record added or changed. */
  onParams?: (params: Record<string, ParamValue>) => void;
}

export const MAX_RUN_PARAMS = 200;
export const MAX_DECLARED_ARTIFACTS = 1_000;

export class JobOutputReader {
  private readonly mergedParams: Record<string, ParamValue> = {};
  private readonly artifacts: DeclaredArtifact[] = [];
  private readonly tally = { lines: 0, logLines: 0, records: 0, metricPoints: 0, warnings: 0 };

  constructor(private readonly options: JobOutputReaderOptions) {}

  /** Handles one captured line. */
  readonly onLine = (line: OutputLine): void => {
    this.tally.lines += 1;
    for (const event of parseOutputLine(line)) {
      switch (event.type) {
        case 'log':
          this.tally.logLines += 1;
          this.options.onLog?.(event.line);
          break;
        case 'metrics':
          this.tally.records += 1;
          this.tally.metricPoints += event.points.length;
          this.options.metrics.add(event.points);
          break;
        case 'params':
          this.tally.records += 1;
          this.addParams(event.params, event);
          break;
        case 'artifact':
          this.tally.records += 1;
          if (this.artifacts.length >= MAX_DECLARED_ARTIFACTS) this.warn({ ...event, message: `line ${event.seq}: more than ${MAX_DECLARED_ARTIFACTS} artifacts named: ${JSON.stringify(event.path)} dropped` });
          else this.artifacts.push({ path: event.path, name: event.name, seq: event.seq });
          break;
        case 'status':
          this.tally.records += 1;
          this.options.onStatus?.({ seq: event.seq, time: event.time, message: event.message });
          break;
        case 'warning':
          this.warn(event);
          break;
        default: {
          const unreachable: never = event;
          throw new Error(`unknown protocol event ${JSON.stringify(unreachable)}`);
        }
      }
    }
  };

  /** The run's parameters so far, merged. */
  get params(): Readonly<Record<string, ParamValue>> {
    return this.mergedParams;
  }

  /** The artifacts the script named, in order. */
  get declaredArtifacts(): readonly DeclaredArtifact[] {
    return this.artifacts;
  }

  get counts(): Readonly<typeof this.tally> {
    return this.tally;
  }

  private addParams(params: Record<string, ParamValue>, at: { seq: number; time: string }): void {
    const changed: Record<string, ParamValue> = {};
    const refused: string[] = [];
    for (const [key, value] of Object.entries(params)) {
      if (!(key in this.mergedParams) && Object.keys(this.mergedParams).length >= MAX_RUN_PARAMS) {
        refused.push(key);
        continue;
      }
      this.mergedParams[key] = value;
      changed[key] = value;
    }
    if (Object.keys(changed).length > 0) this.options.onParams?.(changed);
    if (refused.length > 0) {
      this.warn({ ...at, message: `line ${at.seq}: a run has at most ${MAX_RUN_PARAMS} parameters: ${refused.slice(0, 10).map((k) => JSON.stringify(k)).join(', ')}${refused.length > 10 ? ` and ${refused.length - 10} more` : ''} dropped` });
    }
  }

  private warn(warning: ProtocolWarning): void {
    this.tally.warnings += 1;
    this.options.onWarning?.({ seq: warning.seq, time: warning.time, message: warning.message });
  }
}
