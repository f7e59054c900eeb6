import { SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import { collect, decimal, enumValue, envPair, integer, keyValue } from '../args';
import type { ApiClient } from '../client';
import { apiFor, emit, globalsOf, type Runtime } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { cell, details, formatNumber, paint, table } from '../render';

export const TERMINAL_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;

/** The exit code of a job's final state: 0 succeeded, 1 failed, cancelled or timed out. */
export function exitCodeForJobStatus(status: string): number {
  return status === 'SUCCEEDED' ? EXIT.OK : EXIT.FAILED;
}

export const isTerminal = (status: string): boolean => (TERMINAL_STATUSES as readonly string[]).includes(status);

const JOB_FIELDS = `id status attempt command workingDir priority queuedAt startedAt endedAt exitCode signal reason durationMs submittedBy runId experimentId projectId
  resources { cpus memoryMb gpus } agent { id hostname }`;

/** The one-line summary of a job's live state: status, step, latest metrics. */
export function statusLine(status: string, metrics: Map<string, { value: number; step: number }>, maxMetrics = 4): string {
  const step = Math.max(-1, ...[...metrics.values()].map((m) => m.step));
  const shown = [...metrics.entries()].slice(-maxMetrics).map(([k, m]) => `${k}=${formatNumber(m.value)}`);
  return [status, step >= 0 ? `step ${step}` : '', ...shown].filter(Boolean).join('  ');
}

function jobDetails(job: any, color: boolean): string {
  const status = job.status === 'SUCCEEDED' ? paint(job.status, 'green', color) : isTerminal(job.status) ? paint(job.status, 'red', color) : job.status;
  return details(
    [
      ['id', job.id],
      ['status', status],
      ['attempt', job.attempt],
      ['command', job.command.join(' ')],
      ['working dir', job.workingDir],
      ['run', job.runId],
      ['agent', job.agent ? `${job.agent.hostname} (${job.agent.id})` : null],
      ['resources', `${job.resources.cpus} cpus, ${job.resources.memoryMb} MB, ${job.resources.gpus} gpus`],
      ['queued', `${job.queuedAt} by ${job.submittedBy}`],
      ['started', job.startedAt],
      ['ended', job.endedAt],
      ['exit code', job.exitCode],
      ['signal', job.signal],
      ['reason', job.reason],
      ['duration', job.durationMs === null || job.durationMs === undefined ? null : `${(job.durationMs / 1000).toFixed(1)} s`],
    ],
    color,
  );
}

async function fetchJob(api: ApiClient, id: string, extra = ''): Promise<any> {
  const { job } = await api.request(`query($id: ID!) { job(id: $id) { ${JOB_FIELDS} ${extra} } }`, { id });
  return job;
}

/**
 * Follows a job to its end: jobProgress over graphql-ws (the last items replayed, then live),
 * with a check of the job's status every few seconds in case a message is missed. Shows a live
 * status line on a terminal, plain lines otherwise, nothing but the final JSON with --json; the
 * exit code reflects the final state.
 */
async function watchJob(command: Command, runtime: Runtime, api: ApiClient, jobId: string, options: { steps?: number; pollMs?: number }): Promise<void> {
  const { io } = runtime;
  const asJson = Boolean(globalsOf(command).json);
  const metrics = new Map<string, { value: number; step: number }>();
  let job = await fetchJob(api, jobId);
  let status: string = job.status;
  const live = !asJson && io.isTTY;
  const bar = live
    ? new SingleBar({
        format: options.steps ? `job ${jobId.slice(0, 8)} [{bar}] {value}/{total}  {line}` : `job ${jobId.slice(0, 8)}  {line}  ({duration_formatted})`,
        hideCursor: true,
        clearOnComplete: false,
        stream: process.stdout,
        barsize: 30,
      })
    : undefined;
  const plain = (text: string) => {
    if (!asJson && !live) io.out(`${text}\n`);
  };
  const update = () => {
    const step = Math.max(0, ...[...metrics.values()].map((m) => m.step));
    bar?.update(options.steps ? Math.min(step, options.steps) : 0, { line: statusLine(status, metrics) });
  };

  if (!isTerminal(status)) {
    bar?.start(options.steps ?? 1, 0, { line: statusLine(status, metrics) });
    plain(`job ${jobId}: ${status}`);
    const shown = new Set<string>([status]);
    let finish: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    const subscription = api.subscribe<{ jobProgress: any }>(
      `subscription($id: ID!) { jobProgress(jobId: $id, replayLast: 1000) { __typename seq ... on JobMetric { key value step } ... on JobStatusChange { status attempt reason exitCode } } }`,
      { id: jobId },
      ({ jobProgress: item }) => {
        if (item.__typename === 'JobMetric') {
          metrics.delete(item.key);
          metrics.set(item.key, { value: item.value, step: item.step });
        } else if (item.__typename === 'JobStatusChange' && item.status !== status) {
          status = item.status;
          // The replay may repeat a state already shown: each is printed once.
          if (!shown.has(status)) plain(`job ${jobId}: ${status}${item.reason ? ` (${item.reason})` : ''}`);
          shown.add(status);
        }
        update();
        if (isTerminal(status)) finish();
        return isTerminal(status);
      },
    );
    const poll = setInterval(() => {
      fetchJob(api, jobId)
        .then((current) => {
          if (isTerminal(current.status)) finish();
        })
        .catch(() => undefined);
    }, options.pollMs ?? 5_000);
    // A failure of the subscription after the job ended (or the poll saw it end) changes nothing.
    const followed = subscription.done.then(() => finish());
    followed.catch(() => undefined);
    try {
      await Promise.race([followed, ended]);
    } finally {
      clearInterval(poll);
      await subscription.stop().catch(() => undefined);
      bar?.stop();
    }
    // The job's read model may lag the live status change by a moment: read it until it agrees.
    for (let tries = 0; ; tries++) {
      job = await fetchJob(api, jobId);
      if (isTerminal(job.status)) break;
      if (tries >= 120) {
        job = { ...job, status };
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  const latest = job.runId
    ? ((await api.request(`query($id: ID!) { run(id: $id) { latestMetrics { key value step } } }`, { id: job.runId }).catch(() => ({ run: null }))).run?.latestMetrics ?? [])
    : [];
  emit(command, runtime, { ...job, latestMetrics: latest }, () => {
    let text = jobDetails(job, io.color);
    if (latest.length) text += table(['metric', 'latest', 'step'], latest.map((m: any) => [m.key, m.value, m.step]), io.color);
    return text;
  });
  if (job.status !== 'SUCCEEDED') throw new CliError(`job ${job.id} ended ${job.status}${job.reason ? `: ${job.reason}` : ''}`, EXIT.FAILED);
}

export function registerJobCommands(program: Command, runtime: Runtime): void {
  const color = runtime.io.color;
  const jobs = program.command('jobs').description('submit, watch, read the logs of and cancel training jobs');

  jobs
    .command('submit')
    .description('queue a training job; its command runs on an agent (argv, no shell), training into a new run of --experiment or into --run')
    .argument('<command...>', 'the program and its arguments, after --: modeltrail jobs submit --experiment <id> -- python3 train.py --epochs 2')
    .option('--experiment <experimentId>', 'the experiment of the new run')
    .option('--run <runId>', 'train into this existing run instead')
    .option('--param <key=value>', 'a parameter of the new run (repeatable)', collect(keyValue), [])
    .option('--train <versionId>', 'a TRAIN dataset version (repeatable)', collect(String), [])
    .option('--validation <versionId>', 'a VALIDATION dataset version (repeatable)', collect(String), [])
    .option('--test <versionId>', 'a TEST dataset version (repeatable)', collect(String), [])
    .option('--workdir <dir>', 'the working directory on the agent (default: this directory)')
    .option('--cpus <n>', 'CPUs (default 1)', decimal(0, 1024))
    .option('--memory-mb <n>', 'memory in MB (default 1024)', integer(1, 10_000_000))
    .option('--gpus <n>', 'GPUs (default 0)', integer(0, 64))
    .option('--gpu-memory-mb <n>', 'memory per GPU in MB', integer(0, 10_000_000))
    .option('--label <key=value>', 'an agent label the job needs (repeatable)', collect(envPair), [])
    .option('--env <NAME=value>', 'an environment variable of the process (repeatable)', collect(envPair), [])
    .option('--priority <n>', '-1000 to 1000, higher placed first', integer(-1000, 1000))
    .option('--timeout <seconds>', 'stop the process after this long', integer(1, 30 * 86400))
    .option('--max-retries <n>', 'requeues after a lost agent, 0 to 10', integer(0, 10))
    .option('--job-id <id>', 'a job id chosen by the caller')
    .option('--watch', 'then watch it to its end (exit code as jobs watch)')
    .option('--steps <n>', 'with --watch: the steps the job will report, for a progress bar', integer(1, Number.MAX_SAFE_INTEGER))
    .action(async (argv: string[], options, command: Command) => {
      if (Boolean(options.experiment) === Boolean(options.run)) throw new UsageError('give either --experiment <experimentId> (a new run) or --run <runId> (an existing run)');
      const datasets = [
        ...options.train.map((id: string) => ({ datasetVersionId: id, role: 'TRAIN' })),
        ...options.validation.map((id: string) => ({ datasetVersionId: id, role: 'VALIDATION' })),
        ...options.test.map((id: string) => ({ datasetVersionId: id, role: 'TEST' })),
      ];
      if (options.run && (options.param.length || datasets.length)) throw new UsageError('--param and dataset versions describe a new run: use them with --experiment');
      const resources = { cpus: options.cpus, memoryMb: options.memoryMb, gpus: options.gpus, gpuMemoryMb: options.gpuMemoryMb, labels: options.label.length ? Object.fromEntries(options.label) : undefined };
      const input = {
        experimentId: options.experiment,
        runId: options.run,
        jobId: options.jobId,
        command: argv,
        workingDir: options.workdir ?? process.cwd(),
        params: options.param.length ? Object.fromEntries(options.param) : undefined,
        datasetVersions: datasets.length ? datasets : undefined,
        resources: Object.values(resources).some((v) => v !== undefined) ? resources : undefined,
        env: options.env.length ? Object.fromEntries(options.env) : undefined,
        priority: options.priority,
        timeoutSeconds: options.timeout,
        maxRetries: options.maxRetries,
      };
      const api = apiFor(command, runtime);
      const { submitJob: job } = await api.request(`mutation($input: SubmitJobInput!) { submitJob(input: $input) { ${JOB_FIELDS} } }`, { input });
      if (options.watch) {
        if (!globalsOf(command).json) runtime.io.err(`submitted job ${job.id} (run ${job.runId})\n`);
        await watchJob(command, runtime, api, job.id, { steps: options.steps });
        return;
      }
      emit(command, runtime, job, () => jobDetails(job, color));
    });

  jobs
    .command('watch')
    .description('follow a job live (status and latest metrics) until it ends; exit code 0 when it succeeded, 1 when it failed, was cancelled or timed out')
    .argument('<jobId>', 'the job')
    .option('--steps <n>', 'the steps the job will report, for a progress bar', integer(1, Number.MAX_SAFE_INTEGER))
    .action(async (jobId: string, options, command: Command) => {
      await watchJob(command, runtime, apiFor(command, runtime), jobId, { steps: options.steps });
    });

  jobs
    .command('logs')
    .description('print a job\'s output lines; --follow keeps printing them until the job ends')
    .argument('<jobId>', 'the job')
    .option('--attempt <n>', 'the attempt (default: the latest)', integer(1, 1000))
    .option('-f, --follow', 'keep printing new lines until the job ends')
    .action(async (jobId: string, options, command: Command) => {
      const api = apiFor(command, runtime);
      const asJson = Boolean(globalsOf(command).json);
      let cursor: string | null = null;
      const all: any[] = [];
      // Reads every stored line after the cursor; prints (or, with --json and no --follow, keeps) them.
      const drain = async (): Promise<string> => {
        for (;;) {
          const { job }: { job: any } = await api.request(
            `query($id: ID!, $attempt: Int, $after: String) { job(id: $id) { status logs(attempt: $attempt, after: $after, first: 5000) { nodes { attempt seq stream time line } pageInfo { endCursor hasNextPage } } } }`,
            { id: jobId, attempt: options.attempt, after: cursor },
          );
          for (const line of job.logs.nodes) {
            if (asJson && !options.follow) all.push(line);
            else runtime.io.out(asJson ? `${JSON.stringify(line)}\n` : `${line.line}\n`);
          }
          cursor = job.logs.pageInfo.endCursor ?? cursor;
          if (!job.logs.pageInfo.hasNextPage) return job.status;
        }
      };
      let status = await drain();
      if (options.follow && !isTerminal(status)) {
        // Live status changes wake the reader at once; the stored log is read every second.
        let wake: () => void = () => undefined;
        const subscription = api.subscribe<{ jobProgress: any }>(`subscription($id: ID!) { jobProgress(jobId: $id, replayLast: 1) { __typename ... on JobStatusChange { status } } }`, { id: jobId }, ({ jobProgress: item }) => {
          if (item.__typename === 'JobStatusChange' && isTerminal(item.status)) wake();
        });
        let failure: unknown;
        subscription.done.catch((error) => {
          failure = error;
          wake();
        });
        try {
          while (!isTerminal(status)) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, 1_000);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            if (failure) throw failure;
            status = await drain();
          }
          // The agent's last lines may be stored just after the final status: one more read.
          await new Promise((resolve) => setTimeout(resolve, 500));
          await drain();
        } finally {
          await subscription.stop().catch(() => undefined);
        }
      }
      if (asJson && !options.follow) runtime.io.out(`${JSON.stringify(all, null, 2)}\n`);
    });

  jobs
    .command('cancel')
    .description('cancel a job: a queued one at once, a running one by stopping its process (SIGTERM, grace, SIGKILL)')
    .argument('<jobId>', 'the job')
    .option('--reason <text>', 'why', 'cancelled from the command line')
    .action(async (jobId: string, options, command: Command) => {
      const { cancelJob: job } = await apiFor(command, runtime).request(`mutation($input: CancelJobInput!) { cancelJob(input: $input) { ${JOB_FIELDS} } }`, { input: { jobId, reason: options.reason } });
      emit(command, runtime, job, () => jobDetails(job, color));
    });

  jobs
    .command('show')
    .description('one job')
    .argument('<jobId>', 'the job')
    .action(async (jobId: string, _options, command: Command) => {
      const job = await fetchJob(apiFor(command, runtime), jobId);
      emit(command, runtime, job, () => jobDetails(job, color));
    });

  jobs
    .command('list')
    .description('jobs matching a filter, newest first')
    .option('--experiment <experimentId>', 'jobs of this experiment')
    .option('--project <projectId>', 'jobs of this project')
    .addOption(new Option('--status <status>', 'queued, assigned, running, succeeded, failed, cancelled or timed_out').argParser(enumValue(['QUEUED', 'ASSIGNED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 'job status')))
    .option('--first <n>', 'jobs per page, 1 to 200', integer(1, 200), 20)
    .option('--after <cursor>', 'the page after this cursor')
    .action(async (options, command: Command) => {
      const { jobs: page } = await apiFor(command, runtime).request(
        `query($filter: JobFilter, $first: Int!, $after: String) { jobs(filter: $filter, first: $first, after: $after) { nodes { id status attempt command queuedAt endedAt exitCode runId } pageInfo { endCursor hasNextPage } } }`,
        { filter: { experimentId: options.experiment, projectId: options.project, status: options.status }, first: options.first, after: options.after },
      );
      emit(command, runtime, page, () =>
        table(['id', 'status', 'attempt', 'command', 'queued', 'ended', 'exit'], page.nodes.map((j: any) => [j.id, j.status, j.attempt, j.command.join(' '), j.queuedAt, j.endedAt, cell(j.exitCode)]), color) +
        (page.pageInfo.hasNextPage ? `more: --after ${page.pageInfo.endCursor}\n` : ''),
      );
    });
}
