// The --shard split: stable, disjoint, covering, roughly balanced; K from the array-job variables.
import { applyShard, listHash, parseShard, shardOf } from '../../src/batch/shard';
import type { WalkResult } from '../../src/batch/walk';
import { uniqueStems } from '../../src/batch/walk';

/** A walk of `n` images in a tree, as collectImages makes it (stems from the whole list). */
function walk(n: number, problems: string[] = []): WalkResult {
  const jobs = Array.from({ length: n }, (_, i) => {
    const rel = `class-${i % 7}/img-${String(i).padStart(6, '0')}.jpg`;
    return { file: `/data/images/${rel}`, rel };
  });
  uniqueStems(jobs);
  return { jobs, problems: problems.map((input) => ({ input, message: 'no such file or folder' })) };
}

test('every entry lands in exactly one shard; the union, in positions order, is the whole list', () => {
  const w = walk(500, ['missing-a.png', 'missing-b']);
  for (const n of [1, 2, 3, 7]) {
    const seen = new Array(502).fill(0);
    for (let k = 0; k < n; k++) {
      const { walk: part, positions, info } = applyShard(w, { index: k, count: n });
      expect(info).toEqual({ index: k, count: n, inputs: 502, listSha256: listHash(w) });
      expect(positions).toHaveLength(part.problems.length + part.jobs.length);
      // positions point at the very entries kept, problems first
      part.problems.forEach((p, i) => expect(w.problems[positions[i]]).toBe(w.problems.find((q) => q === p)));
      part.jobs.forEach((j, i) => expect(w.jobs[positions[part.problems.length + i] - w.problems.length]).toBe(j));
      // input order is kept inside a shard
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      for (const p of positions) seen[p]++;
      // stems are those of the whole list, untouched by the split
      for (const j of part.jobs) expect(j.stem).toBe(j.rel.replace(/\.jpg$/, ''));
    }
    expect(seen.every((c) => c === 1)).toBe(true);
  }
});

test('the split is stable: a re-run, another order of the list or added files move no image', () => {
  const w = walk(300);
  const a = applyShard(w, { index: 1, count: 4 }).walk.jobs.map((j) => j.rel);
  expect(applyShard(walk(300), { index: 1, count: 4 }).walk.jobs.map((j) => j.rel)).toEqual(a);
  const bigger = applyShard(walk(400), { index: 1, count: 4 }).walk.jobs.map((j) => j.rel);
  expect(bigger.slice(0, a.length)).toEqual(a); // the first 300 images keep their shard
  expect(listHash(walk(400))).not.toBe(listHash(w)); // but merge can tell the lists apart
  // Windows separators split as '/' does
  expect(shardOf('a\\b\\c.png', 5)).toBe(shardOf('a/b/c.png', 5));
  // a fixed value, so that a change of the hash (which would re-split every folder) is a visible decision
  expect([0, 1, 2, 3, 4, 5].map((i) => shardOf(`img-${i}.png`, 3))).toEqual([0, 2, 0, 0, 2, 2]);
});

test('shards are roughly balanced', () => {
  const w = walk(12000);
  for (const n of [3, 8, 16]) {
    const sizes = Array.from({ length: n }, (_, k) => applyShard(w, { index: k, count: n }).walk.jobs.length);
    const mean = 12000 / n;
    // binomial spread: sd = sqrt(mean) <= 64 here; 5 sd is far from a skewed hash
    for (const s of sizes) expect(Math.abs(s - mean)).toBeLessThan(5 * Math.sqrt(mean));
  }
});

describe('parseShard', () => {
  const none = { JOB_COMPLETION_INDEX: '', SLURM_ARRAY_TASK_ID: '', AWS_BATCH_JOB_ARRAY_INDEX: '' };

  test('K/N, 0-based', () => {
    expect(parseShard('0/3', none)).toEqual({ index: 0, count: 3 });
    expect(parseShard(' 2 / 3 ', none)).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('3/3', none)).toThrow('--shard 3/3: K is 3, but must be from 0 to 2 (K is 0-based)');
    for (const bad of ['1', '1/0', '-1/3', 'a/3', '1/3/4', '']) expect(() => parseShard(bad, none)).toThrow(/^--shard /);
  });

  test('auto/N reads Kubernetes, Slurm and AWS Batch indices', () => {
    expect(parseShard('auto/4', { ...none, JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(parseShard('auto/4', { ...none, AWS_BATCH_JOB_ARRAY_INDEX: '0' })).toEqual({ index: 0, count: 4 });
    expect(parseShard('auto/4', { ...none, SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({ index: 2, count: 4 });
    // --array=1-4: ids 1..4 are shards 0..3; --array=10-16:2 steps
    expect(parseShard('auto/4', { ...none, SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({ index: 0, count: 4 });
    expect(parseShard('auto/4', { ...none, SLURM_ARRAY_TASK_ID: '14', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_STEP: '2' })).toEqual({ index: 2, count: 4 });
  });

  test('auto/N refuses in one line: nothing set, out of range, a Slurm array of another size', () => {
    expect(() => parseShard('auto/3', none)).toThrow('--shard auto/3: none of JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX is set; give K yourself (--shard K/3, K from 0)');
    expect(() => parseShard('auto/3', { ...none, JOB_COMPLETION_INDEX: '3' })).toThrow('--shard auto/3: K is 3 (from JOB_COMPLETION_INDEX=3), but must be from 0 to 2 (K is 0-based)');
    expect(() => parseShard('auto/3', { ...none, AWS_BATCH_JOB_ARRAY_INDEX: 'x' })).toThrow("AWS_BATCH_JOB_ARRAY_INDEX is 'x', not a whole number");
    expect(() => parseShard('auto/3', { ...none, SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '4' })).toThrow('the Slurm array has 4 tasks (SLURM_ARRAY_TASK_COUNT) but N is 3; use --shard auto/4');
    expect(() => parseShard('auto/3', { ...none, SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '1' })).toThrow('SLURM_ARRAY_TASK_ID=0 is not a task id of the array (first id 1, step 1)');
    expect(() => parseShard('auto/3', { ...none, SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_STEP: '2' })).toThrow('SLURM_ARRAY_TASK_ID=3 is not a task id of the array (first id 0, step 2)');
    expect(() => parseShard('auto/3', { ...none, SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1' })).toThrow('K is 3 (from SLURM_ARRAY_TASK_ID=4, SLURM_ARRAY_TASK_MIN=1), but must be from 0 to 2');
  });
});
