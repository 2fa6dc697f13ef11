// Seeded fuzzing through the library API: hundreds of mutated images through explain() and mutated model.json
// files through loadModel() (and explain() when they load). The process must never see an unexpected exception
// (only the tool's one-line errors) and no case may hang or take long. FUZZ_SEED=<n> explores other cases.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { initBackend } from '../../src/backend';
import { explain, loadModel } from '../../src';
import type { LoadedModel } from '../../src';
import { UserError } from '../../src/util/errors';
import { tempDir } from '../helpers/cli';
import { noiseRaw, rng, saveModel, smallCnn, spotPng, writeGraphModel } from './fixtures';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const IMAGE_CASES = 300;
const MODEL_CASES = 300;
/** No single case may take longer than this (a hang shows up as a timeout with the case named). */
const CASE_LIMIT_MS = 8_000;

// What a failed image may say: the decoder's one-liners (decode.ts) and nothing else.
const IMAGE_MESSAGES = [
  /^empty file$/,
  /^truncated or corrupt image data$/,
  /^not an image or unsupported format$/,
  /^image is \d+x\d+ = \d+ pixels, over the limit of \d+$/,
  /^cannot decode image: [^\n]+$/,
  /^decoded to \d+ channels \(unsupported colour layout\)$/,
];

let dir: string;
let model: LoadedModel;
let modelDir: string;
let graphDir: string;
let photo: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = tempDir('faults-fuzz');
  modelDir = await saveModel(smallCnn(16, 4), path.join(dir, 'model'));
  graphDir = writeGraphModel(path.join(dir, 'graph'), 'Identity');
  model = await loadModel(modelDir);
  photo = path.join(dir, 'photo.png');
  fs.writeFileSync(photo, await spotPng(20, 16));
});

afterAll(() => {
  model?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs one case with a time limit; returns what it resolved to, or rethrows with the case named. */
async function limited<T>(what: string, run: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still running after ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS)));
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
    // A case that blocked the event loop never lets the timer fire: measure it afterwards as well.
    const ms = Date.now() - t0;
    if (ms > CASE_LIMIT_MS) throw new Error(`${what}: took ${ms} ms`);
  }
}

// ---- images ----

function mutateBytes(seed: Buffer, r: () => number): { data: Buffer; how: string } {
  const data = Buffer.from(seed);
  const pick = (n: number) => Math.floor(r() * n);
  switch (pick(6)) {
    case 0: {
      const n = 1 + pick(8);
      for (let i = 0; i < n; i++) data[pick(data.length)] ^= 1 << pick(8);
      return { data, how: `${n} bit flips` };
    }
    case 1: {
      // Overwrite bytes in the header, where sizes and types live.
      const at = pick(Math.min(64, data.length));
      const n = 1 + pick(4);
      for (let i = 0; i < n && at + i < data.length; i++) data[at + i] = pick(256);
      return { data, how: `header bytes at ${at}` };
    }
    case 2: {
      const len = pick(data.length);
      return { data: data.subarray(0, len), how: `cut to ${len} bytes` };
    }
    case 3: {
      const at = pick(data.length);
      const junk = Buffer.from(Array.from({ length: 1 + pick(64) }, () => pick(256)));
      return { data: Buffer.concat([data.subarray(0, at), junk, data.subarray(at)]), how: `${junk.length} bytes inserted at ${at}` };
    }
    case 4: {
      const at = pick(data.length);
      const n = 1 + pick(256);
      return { data: Buffer.concat([data.subarray(0, at), data.subarray(at + n)]), how: `${n} bytes removed at ${at}` };
    }
    default: {
      const at = pick(data.length);
      const n = 1 + pick(32);
      data.fill(pick(2) ? 0 : 0xff, at, Math.min(data.length, at + n));
      return { data, how: `${n} bytes filled at ${at}` };
    }
  }
}

test(`${IMAGE_CASES} mutated images: explain() never throws, every failure is a known one-line message`, async () => {
  const raw = noiseRaw(24, 18, 5);
  const img = sharp(raw, { raw: { width: 24, height: 18, channels: 3 } });
  const frames = Buffer.concat([0, 1, 2].map((k) => Buffer.from(Array.from({ length: 8 * 6 }, (_, i) => [k * 80, i * 5, 255 - k * 80, 255]).flat())));
  const seeds: [string, Buffer][] = [
    ['png', await img.clone().png().toBuffer()],
    ['jpg', await img.clone().jpeg({ quality: 80 }).withMetadata({ orientation: 6 }).toBuffer()],
    ['webp', await img.clone().webp({ quality: 80 }).toBuffer()],
    ['gif', await sharp(frames, { raw: { width: 8, height: 18, channels: 4, pageHeight: 6 } }).gif({ loop: 0 }).toBuffer()],
    ['tif', await img.clone().tiff().toBuffer()],
  ];
  const r = rng(SEED);
  const out = path.join(dir, 'out-images');
  const seen = new Map<string, number>();
  let ok = 0;
  for (let i = 0; i < IMAGE_CASES; i++) {
    const [ext, seed] = seeds[i % seeds.length];
    const { data, how } = mutateBytes(seed, r);
    const file = path.join(dir, `case${i}.${ext}`);
    fs.writeFileSync(file, data);
    const what = `seed ${SEED} image case ${i} (${ext}, ${how})`;
    const { report } = await limited(what, () => explain([file], { model, out, force: true, topK: 2, timings: false, jobs: 1 })).catch((e: unknown) => {
      throw new Error(`${what}: explain() threw ${(e as Error)?.stack ?? e}`);
    });
    const entry = report.images[0];
    if (entry.status === 'ok') {
      ok++;
      expect(entry.maps?.length).toBe(2);
    } else {
      const msg = entry.error ?? '';
      if (!IMAGE_MESSAGES.some((re) => re.test(msg))) throw new Error(`${what}: unexpected message '${msg}'`);
      const key = msg.replace(/\d+/g, 'N');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    fs.rmSync(file);
  }
  // The mutations really reach both sides: some images still decode, many do not.
  expect(ok).toBeGreaterThan(IMAGE_CASES / 20);
  expect(IMAGE_CASES - ok).toBeGreaterThan(IMAGE_CASES / 5);
  expect(fs.readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});

// ---- model.json ----

type Json = unknown;

function randomValue(r: () => number): Json {
  const choices: Json[] = [null, true, false, 0, -1, 1e9, -1e-9, 3.5, NaN, '', 'x', 'float32', 'int32', 'Conv2D', 'relu', [], [1], [-1, 3], [null], {}, { a: 1 }, '../x.bin', '/etc/passwd', 'weights.bin'];
  const v = choices[Math.floor(r() * choices.length)];
  return typeof v === 'number' && Number.isNaN(v) ? 'NaN' : structuredClone(v);
}

/** One structural change somewhere in the JSON tree: replace, delete, duplicate or retype a value. */
function mutateJson(root: Json, r: () => number): string {
  const paths: (string | number)[][] = [];
  const walk = (v: Json, p: (string | number)[]) => {
    paths.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(root, []);
  const p = paths[1 + Math.floor(r() * (paths.length - 1))];
  const parent = p.slice(0, -1).reduce((o: any, k) => o[k], root as any);
  const key = p[p.length - 1];
  const kind = Math.floor(r() * 4);
  if (kind === 0) parent[key] = randomValue(r);
  else if (kind === 1) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (kind === 2 && typeof parent[key] === 'number') parent[key] = [0, -1, 2, 1e6, 0.5][Math.floor(r() * 5)];
  else if (kind === 2 && typeof parent[key] === 'string') parent[key] = parent[key].slice(0, Math.floor(r() * parent[key].length));
  else parent[key] = Array.isArray(parent[key]) ? {} : [parent[key]];
  return `${['replace', 'delete', 'tweak', 'wrap'][kind]} ${p.join('.')}`;
}

test(`${MODEL_CASES} mutated model.json files: loadModel() and explain() fail only with the tool's one-line errors`, async () => {
  const seeds = [modelDir, graphDir].map((d) => ({ dir: d, json: fs.readFileSync(path.join(d, 'model.json'), 'utf8'), weights: fs.readFileSync(path.join(d, 'weights.bin')) }));
  const r = rng(SEED + 1);
  const caseDir = path.join(dir, 'm');
  const out = path.join(dir, 'out-models');
  let loaded = 0;
  let explained = 0;
  for (let i = 0; i < MODEL_CASES; i++) {
    const s = seeds[i % seeds.length];
    let text: string;
    let how: string;
    if (r() < 0.8) {
      const json = JSON.parse(s.json);
      how = mutateJson(json, r);
      if (r() < 0.3) how += '; ' + mutateJson(json, r);
      text = JSON.stringify(json);
    } else {
      const m = mutateBytes(Buffer.from(s.json), r);
      text = m.data.toString('latin1');
      how = m.how;
    }
    fs.rmSync(caseDir, { recursive: true, force: true });
    fs.mkdirSync(caseDir);
    fs.writeFileSync(path.join(caseDir, 'model.json'), text);
    fs.writeFileSync(path.join(caseDir, 'weights.bin'), s.weights);
    const what = `seed ${SEED} model case ${i} (${path.basename(s.dir)}: ${how})`;
    const expectUserError = (e: unknown) => {
      if (!(e instanceof UserError)) throw new Error(`${what}: not a one-line tool error: ${(e as Error)?.stack ?? e}`);
      expect(e.message).not.toContain('\n');
    };
    const m = await limited(what, () => loadModel(caseDir)).catch((e: unknown) => {
      expectUserError(e);
      return null;
    });
    if (!m) continue;
    loaded++;
    try {
      const res = await limited(what, () => explain([photo], { model: m, out, force: true, topK: 2, timings: false, jobs: 1 })).catch((e: unknown) => {
        expectUserError(e);
        return null;
      });
      if (res?.report.images[0].status === 'ok') explained++;
    } finally {
      m.dispose();
    }
  }
  expect(loaded).toBeGreaterThan(MODEL_CASES / 10);
  expect(explained).toBeGreaterThan(0);
  expect(loaded).toBeLessThan(MODEL_CASES);
});
