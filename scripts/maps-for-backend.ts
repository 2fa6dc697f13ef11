/**
 * Runs tfjs-cam's methods on one backend for a list of models and writes what test/backend/maps-across-backends
 * compares: the top classes with their probabilities and every raw map, in full precision (the CLI's report rounds
 * probabilities to 4 decimals), and the kernels the passes ran.
 *
 *   npm run build && node dist/scripts/maps-for-backend.js <jobs.json> <wasm|cpu> <out.json>
 *
 * A plain node process, not the test's own: under jest the CPU backend's JS kernels run ~3.5x slower.
 */
import * as fs from 'fs';
import { BackendName, initBackend } from '../src/backend';
import { openSession } from '../src/pipeline/session';
import { baselineOf, prepareInput } from '../src/pipeline/explain';
import { decodeImage } from '../src/image/decode';
import { explainTensor } from '../src/pipeline/explain-tensor';
import { Classifier } from '../src/model/classifier';
import { Preprocessing } from '../src/model/config';
import { getMethod, MethodOptions, selectMethods } from '../src/methods';
import { methodSupport } from '../src/methods/support';
import type { ScoreKind } from '../src/capture/gradients';
import { recordKernels } from './lib/kernel-recorder';

export interface MapsJob {
  name: string;
  model: string;
  image: string;
  layers?: string[];
  preprocess?: Partial<Preprocessing>;
  /**
   * Methods to run where the model allows them, as `--method all` decides (CAM needs a linear head, FullGrad and
   * guided backprop a layers model, ShapleyCAM twice-differentiable layers after the target, RefineCAM two target
   * layers). 'name@probability' differentiates the softmax probability instead of the logit (ShapleyCAM's Hessian
   * term is zero on a logit behind piecewise-linear layers, not on a probability).
   */
  methods: string[];
  methodOptions?: Partial<MethodOptions>;
}

export interface MapsResult {
  /** The methods run (as named in the job, 'name@probability' included), in order. */
  methods: string[];
  /** The top 3 classes (by logit), with their probabilities. */
  top: { index: number; probability: number }[];
  /** method (as named in the job) -> raw map per target layer, of the top class */
  raw: Record<string, number[][]>;
}

export interface MapsOutput {
  backend: string;
  results: Record<string, MapsResult>;
  /** The kernels the passes dispatched. */
  kernels: string[];
}

/** The methods of the job that the model can run at these layers: those `--method all` would keep. */
function allowed(methods: string[], c: Classifier, layers: string[]): string[] {
  const kept = new Set(selectMethods('all', methodSupport(c, layers)).methods.map((m) => m.name));
  return methods.filter((m) => kept.has(m.split('@')[0]));
}

export async function mapsOnBackend(jobs: MapsJob[], backend: BackendName): Promise<MapsOutput> {
  await initBackend(backend);
  const rec = recordKernels();
  const results: Record<string, MapsResult> = {};
  try {
    for (const job of jobs) {
      const session = await openSession({ model: job.model, layers: job.layers, preprocess: job.preprocess });
      const { x } = await prepareInput(session, await decodeImage(job.image));
      try {
        const c = session.model.classifier;
        const methods = allowed(job.methods, c, session.layers);
        // Integrated Gradients' baseline as the CLI passes it: the preprocessed black image.
        const baseline = await baselineOf(session, {});
        const raw: Record<string, number[][]> = {};
        let top: MapsResult['top'] = [];
        const scoreOf = (m: string) => (m.split('@')[1] ?? 'logit') as ScoreKind;
        const scores = [...new Set(methods.map(scoreOf))];
        for (const score of scores.length ? scores : (['logit'] as ScoreKind[])) {
          const named = methods.filter((m) => scoreOf(m) === score);
          const ex = explainTensor(c, x, { methods: named.map((m) => getMethod(m.split('@')[0])), layers: session.layers, topK: 1, reportTop: 3, score, methodOptions: { ...job.methodOptions, baseline } });
          // The top classes are the model's, whichever score the methods differentiate.
          if (!top.length) top = ex.top.map((t) => ({ index: t.index, probability: t.probability }));
          for (const m of ex.maps) raw[named.find((n) => n.split('@')[0] === m.method)!] = m.raw.map((r) => Array.from(r.data));
        }
        results[job.name] = { methods, top, raw };
      } finally {
        x.dispose();
        session.model.dispose();
      }
    }
  } finally {
    rec.stop();
  }
  return { backend, results, kernels: [...rec.seen.keys()].sort() };
}

if (require.main === module) {
  const [jobsFile, backend, out] = process.argv.slice(2);
  if (!jobsFile || (backend !== 'wasm' && backend !== 'cpu') || !out) {
    process.stderr.write('usage: maps-for-backend <jobs.json> <wasm|cpu> <out.json>\n');
    process.exit(2);
  }
  mapsOnBackend(JSON.parse(fs.readFileSync(jobsFile, 'utf8')) as MapsJob[], backend)
    .then((r) => fs.writeFileSync(out, JSON.stringify(r)))
    .catch((e) => {
      process.stderr.write(`maps-for-backend (${backend}): ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    });
}
