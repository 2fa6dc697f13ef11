/**
 * `--shard K/N`: one machine's part of a folder too big for one machine. Every shard walks the whole input (so
 * output names, which depend on the whole list, come out as in a single run) and keeps the images whose relative
 * path hashes to K modulo N. A hash rather than a position in the list: a re-run makes the same split, and adding
 * images to the folder moves no existing image to another shard. Shards never overlap and together are the whole.
 */
import { createHash } from 'crypto';
import { UsageError } from '../util/errors';
import type { ImageJob, WalkResult } from './walk';

export interface Shard {
  /** 0-based, as Kubernetes' JOB_COMPLETION_INDEX and AWS Batch's AWS_BATCH_JOB_ARRAY_INDEX. */
  index: number;
  count: number;
}

/** What a shard's report records so that `tfjs-cam merge` can check it has every shard of the same list. */
export interface ShardInfo extends Shard {
  /** Entries of the whole list (images and unusable inputs), over all shards. */
  inputs: number;
  /** SHA-256 of the whole list (relative paths and unusable inputs, in order): equal in every shard of one run. */
  listSha256: string;
}

/** '/'-separated, so that a list walked on Windows splits as on Linux. */
const portable = (p: string) => p.split('\\').join('/');

/** The shard (0..count-1) of an image by its path relative to its input root. */
export function shardOf(rel: string, count: number): number {
  const h = createHash('sha256').update(portable(rel)).digest();
  // 48 bits of the hash: exact in a double, and uniform enough modulo any N a cluster has.
  return h.readUIntBE(0, 6) % count;
}

/** SHA-256 of the whole input list: shards of one run agree on it, shards of different lists (a folder changed) do not. */
export function listHash(walk: WalkResult): string {
  const h = createHash('sha256');
  for (const p of walk.problems) h.update(`problem\0${portable(p.input)}\n`);
  // The path as read too: the merged report names each image as the shards did, so they must agree on it.
  for (const j of walk.jobs) h.update(`image\0${portable(j.file)}\0${portable(j.rel)}\0${portable(j.stem ?? '')}\n`);
  return h.digest('hex');
}

/**
 * This shard's part of the walk, and where each of its entries stands in the whole list (problems first, then
 * images, as a single run reports them): `positions` follows this shard's problems, then its images. An unusable
 * input (a missing path) is one entry like an image, placed by the hash of its path as given, so it is reported
 * once over all shards.
 */
export function applyShard(walk: WalkResult, shard: Shard): { walk: WalkResult; info: ShardInfo; positions: number[] } {
  const positions: number[] = [];
  const problems = walk.problems.filter((p, i) => shardOf(p.input, shard.count) === shard.index && positions.push(i) > 0);
  const jobs: ImageJob[] = walk.jobs.filter((j, i) => shardOf(j.rel, shard.count) === shard.index && positions.push(walk.problems.length + i) > 0);
  return {
    walk: { jobs, problems },
    info: { ...shard, inputs: walk.jobs.length + walk.problems.length, listSha256: listHash(walk) },
    positions,
  };
}

/** Where --shard auto/N finds K, in this order. */
export const SHARD_ENV = ['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID', 'AWS_BATCH_JOB_ARRAY_INDEX'] as const;

function wholeNumber(v: string | undefined): number | null {
  return v != null && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null;
}

/**
 * `K/N` (K 0-based) or `auto/N`: K from the array job's index. Slurm's SLURM_ARRAY_TASK_ID counts from whatever
 * --array says (`--array=1-8` starts at 1, `--array=0-15:2` steps by 2): K = (ID - MIN) / STEP when Slurm gives
 * them, and SLURM_ARRAY_TASK_COUNT, when set, must equal N (a mismatch would silently skip or repeat images).
 */
export function parseShard(spec: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  if (!m) throw new UsageError(`--shard must be K/N (K from 0 to N-1) or auto/N (got '${spec}')`);
  const count = Number(m[2]);
  if (!(count >= 1)) throw new UsageError(`--shard ${spec}: N must be at least 1`);
  let index: number;
  let from = '';
  if (m[1] !== 'auto') index = Number(m[1]);
  else {
    const name = SHARD_ENV.find((n) => env[n] != null && env[n] !== '');
    if (!name) throw new UsageError(`--shard ${spec}: none of ${SHARD_ENV.join(', ')} is set; give K yourself (--shard K/${count}, K from 0)`);
    const raw = wholeNumber(env[name]);
    if (raw == null) throw new UsageError(`--shard ${spec}: ${name} is '${env[name]}', not a whole number`);
    index = raw;
    from = ` (from ${name}=${env[name]})`;
    if (name === 'SLURM_ARRAY_TASK_ID') {
      const min = wholeNumber(env.SLURM_ARRAY_TASK_MIN) ?? 0;
      const step = wholeNumber(env.SLURM_ARRAY_TASK_STEP) ?? 1;
      if (raw < min || (raw - min) % step !== 0) throw new UsageError(`--shard ${spec}: SLURM_ARRAY_TASK_ID=${raw} is not a task id of the array (first id ${min}, step ${step})`);
      index = (raw - min) / step;
      from = ` (from SLURM_ARRAY_TASK_ID=${raw}${min ? `, SLURM_ARRAY_TASK_MIN=${min}` : ''}${step !== 1 ? `, SLURM_ARRAY_TASK_STEP=${step}` : ''})`;
      const total = wholeNumber(env.SLURM_ARRAY_TASK_COUNT);
      if (total != null && total !== count) throw new UsageError(`--shard ${spec}: the Slurm array has ${total} tasks (SLURM_ARRAY_TASK_COUNT) but N is ${count}; use --shard auto/${total}`);
    }
  }
  if (index >= count) throw new UsageError(`--shard ${spec}: K is ${index}${from}, but must be from 0 to ${count - 1} (K is 0-based)`);
  return { index, count };
}
