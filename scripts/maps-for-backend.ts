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
import { getMethod, MethodOptions } from '../src/methods';
import { recordKernels } from './lib/kernel-recorder';

export interface MapsJob {
  name: string;
  model: string;
  image: string;
  layers?: string[];
  preprocess?: Partial<Preprocessing>;
  /** Methods to run where the model allows them (CAM needs a linear head, FullGrad and guided backprop a layers model). */
  methods: string[];
  methodOptions?: Partial<MethodOptions>;
}

export interface MapsResult {
  /** The methods run, in order. */
  methods: string[];
  /** The top 3 classes (by logit), with their probabilities. */
  top: { index: number; probability: number }[];
  /** method -> raw map per target layer, of the top class */
  raw: Record<string, number[][]>;
}

export interface MapsOutput {
  backend: string;
  results: Record<string, MapsResult>;
  /** The kernels the passes dispatched. */
  kernels: string[];
}

/** Whether the model can run a method at these layers. */
function allowed(method: string, c: Classifier, layers: string[]): boolean {
  const m = getMethod(method);
  if (m.needs.includes('cam-head')) {
    return layers.every((l) => {
      const h = c.camHead(l);
      if (h.kind === 'weights') h.weights.dispose();
      return h.kind !== 'none';
    });
  }
  if (m.needs.includes('full-gradients')) return c.fullGradPlan?.().kind === 'ok';
  if (m.needs.includes('guided-relu')) return c.format !== 'graph-model';
  return true;
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
        const methods = job.methods.filter((m) => allowed(m, c, session.layers));
        // Integrated Gradients' baseline as the CLI passes it: the preprocessed black image.
        const baseline = await baselineOf(session, {});
        const ex = explainTensor(c, x, { methods: methods.map(getMethod), layers: session.layers, topK: 1, reportTop: 3, score: 'logit', methodOptions: { ...job.methodOptions, baseline } });
        results[job.name] = {
          methods,
          top: ex.top.map((t) => ({ index: t.index, probability: t.probability })),
          raw: Object.fromEntries(ex.maps.map((m) => [m.method, m.raw.map((r) => Array.from(r.data))])),
        };
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
