/**
 * Profiling a large CSV in bounded memory.
 *
 * Generates a CSV of about `--size-mb` megabytes (default 1024) in a temporary directory
 * (streamed to disk, never held in memory): 10 columns mixing sequential and random integers,
 * floats, categories, dates and a high-cardinality code, with missing values. Then, each in a
 * child process started with `node --max-old-space-size=256` (and under `/usr/bin/time -v` when
 * it exists), it
 *   1. parses the file (`openTable` and a loop over the rows): the raw CSV parse speed;
 *   2. profiles it (`profileFile`: SHA-256, schema, column profiles in one pass);
 * and prints rows, seconds, MB/s and peak RSS (sampled every 20 ms with
 * `process.memoryUsage().rss`, and the kernel's figure from `/usr/bin/time -v`). The file is
 * deleted at the end unless `--keep` is given.
 *
 *   npm run build && node dist/bench/dataset-profile-memory.js [--size-mb 1024] [--keep]
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { mulberry32 } from '@modeltrail/contracts';
import { openTable } from '@modeltrail/tabular';
import { profileFile } from '../services/datasets/src/data/profile';

const MB = 1024 * 1024;
const HEAP_LIMIT_MB = 256;

interface ChildResult {
  mode: 'parse' | 'profile';
  rows: number;
  seconds: number;
  mbPerSecond: number;
  peakRssMb: number;
  summary?: unknown;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1] as 'parse' | 'profile', args[2]);
  const sizeMb = Number(valueOf(args, '--size-mb') ?? 1024);
  const keep = args.includes('--keep');
  const dir = await mkdtemp(join(tmpdir(), 'modeltrail-profile-bench-'));
  const file = join(dir, 'large.csv');
  try {
    const started = Date.now();
    const rows = await generate(file, sizeMb * MB);
    const { size } = await stat(file);
    console.log(`generated ${file}: ${rows} rows, ${(size / MB).toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const mode of ['parse', 'profile'] as const) {
      const { result, maxRssKb } = await runChild(mode, file);
      const kernel = maxRssKb === null ? 'n/a' : `${(maxRssKb / 1024).toFixed(1)} MiB`;
      console.log(
        `${mode}: ${result.rows} rows in ${result.seconds.toFixed(2)} s = ${result.mbPerSecond.toFixed(1)} MiB/s; ` +
          `peak RSS sampled ${result.peakRssMb.toFixed(1)} MiB, /usr/bin/time max RSS ${kernel} (node --max-old-space-size=${HEAP_LIMIT_MB})`,
      );
      if (result.summary) console.log(JSON.stringify(result.summary, null, 1));
    }
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
    else console.log(`kept ${file}`);
  }
}

function valueOf(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at === -1 ? undefined : args[at + 1];
}

const CATEGORIES = ['retail', 'wholesale', 'online', 'partner', 'direct', 'enterprise', 'education', 'government', 'health', 'media', 'travel', 'other'];
const COUNTRIES = Array.from({ length: 30 }, (_unused, i) => `country_${String.fromCharCode(65 + (i % 26))}${i}`);

/** Writes rows until the file reaches `bytes`; returns the number of data rows. */
async function generate(path: string, bytes: number): Promise<number> {
  const random = mulberry32(20240601);
  const out = createWriteStream(path, { highWaterMark: 4 * MB });
  out.write('id,age,income,score,segment,country,active,signup_date,code,balance\n');
  let written = 0;
  let rows = 0;
  while (written < bytes) {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      rows++;
      const age = random() < 0.05 ? '' : String(18 + Math.floor(random() * 70));
      const income = (20_000 + random() * 180_000).toFixed(2);
      const score = (Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random())).toFixed(6);
      const segment = CATEGORIES[Math.floor(random() ** 2 * CATEGORIES.length)];
      const country = random() < 0.02 ? '' : COUNTRIES[Math.floor(random() * COUNTRIES.length)];
      const active = random() < 0.7 ? 'true' : 'false';
      const day = 1 + Math.floor(random() * 28);
      const month = 1 + Math.floor(random() * 12);
      const date = `20${10 + Math.floor(random() * 15)}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
      const code = `C${Math.floor(random() * 0xffffffff).toString(16).padStart(8, '0')}`;
      const balance = random() < 0.1 ? '' : ((random() - 0.3) * 10_000).toFixed(2);
      lines.push(`${rows},${age},${income},${score},${segment},${country},${active},${date},${code},${balance}\n`);
    }
    const chunk = lines.join('');
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return rows;
}

async function runChild(mode: 'parse' | 'profile', file: string): Promise<{ result: ChildResult; maxRssKb: number | null }> {
  const node = [`--max-old-space-size=${HEAP_LIMIT_MB}`, __filename, '--child', mode, file];
  const timed = existsSync('/usr/bin/time');
  const child = timed ? spawn('/usr/bin/time', ['-v', process.execPath, ...node]) : spawn(process.execPath, node);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number];
  if (code !== 0) throw new Error(`the ${mode} run failed (exit ${code}):\n${stderr}`);
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
  const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { result, maxRssKb: match ? Number(match[1]) : null };
}

async function child(mode: 'parse' | 'profile', file: string): Promise<void> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const { size } = await stat(file);
  const started = process.hrtime.bigint();
  let rows = 0;
  let summary: unknown;
  if (mode === 'parse') {
    const table = await openTable(file, 'CSV');
    for await (const row of table.rows) if (row.length > 0) rows++;
  } else {
    const profile = await profileFile(file, 'CSV');
    rows = profile.rows;
    summary = {
      digest: profile.digest,
      size: profile.size,
      schema: profile.schema,
      columns: profile.profile.columns.map((c) => ({
        name: c.name,
        type: c.type,
        count: c.count,
        missing: c.missing,
        distinct: c.distinct,
        distinctExact: c.distinctExact,
        median: c.numeric?.quantiles.find((q) => q.q === 0.5)?.value,
        top: c.categorical?.topValues.slice(0, 3),
      })),
    };
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const result: ChildResult = { mode, rows, seconds, mbPerSecond: size / MB / seconds, peakRssMb: peak / MB, summary };
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
