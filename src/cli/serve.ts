/**
 * `tfjs-cam serve -m <model> [images or folders...]`: the explorer page on a local web server. The model's
 * files and the images are checked here first, so that a bad path is a one-line error now rather than a
 * broken page later. Runs until Ctrl-C (or SIGTERM), then closes every connection and exits 0.
 */
import * as path from 'path';
import { resolveModelSource, loadArtifacts } from '../model/artifacts';
import { readLabels } from '../model/config';
import { collectImages } from '../batch/walk';
import { isLoopback, startServer } from '../serve/server';
import { UsageError } from '../util/errors';
import { preprocessFromFlags, parseIntFlag } from './flags';
import { reportError } from './errors';
import { out, printable } from './output';
import type { Interpolation } from '../image/fit';

/** Who can reach a server listening on a non-loopback address: said once, on stderr, when it starts. */
export function exposureWarning(host: string, port: number): string {
  const everywhere = host === '0.0.0.0' || host === '::' || host === '[::]';
  const who = everywhere
    ? `every network interface of this machine: any device that can reach this machine on port ${port}`
    : `${host}: any device that can reach that address on port ${port}`;
  return (
    `tfjs-cam serve: warning: listening on ${who} (its local network; the internet too if a router or firewall lets the port through) ` +
    `can open the page and download the model (model.json, weights, labels) and the images given; nothing asks for a password. ` +
    `Leave out --host (127.0.0.1) to keep it to this machine.`
  );
}

export async function runServe(images: string[], o: Record<string, unknown>): Promise<number> {
  try {
    const given = String(o.model);
    if (/^https?:\/\//i.test(given)) throw new UsageError(`${given}: serve needs a local model folder (the page loads the model from this server only)`);
    // The loader's own checks (model.json, every shard inside the folder and long enough), without building it.
    const source = resolveModelSource(given);
    await loadArtifacts(source.modelJson);
    const walk = collectImages(images);
    if (walk.problems.length) {
      const p = walk.problems[0];
      throw new UsageError(`${p.input}: ${p.message}`);
    }
    const labels = o.labels != null ? path.resolve(String(o.labels)) : null;
    if (labels) readLabels(labels);
    if (o.interpolation === 'lanczos') throw new UsageError("--interpolation lanczos is not available in the browser (it needs libvips): use bilinear, area, nearest, bicubic or pil-nearest");
    const port = parseIntFlag(o.port, '--port', 0);
    if (port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535 (got '${o.port}')`);
    const server = await startServer({
      modelDir: path.dirname(source.modelJson),
      modelJson: path.basename(source.modelJson),
      images: walk.jobs.map((j) => ({ file: path.resolve(j.file), name: j.rel.split(path.sep).join('/') })),
      labels,
      host: String(o.host),
      port,
      method: o.method != null ? String(o.method) : null,
      layer: o.layer != null ? String(o.layer) : null,
      topK: parseIntFlag(o.topK, '--top-k', 1),
      preprocess: preprocessFromFlags(o),
      interpolation: o.interpolation as Exclude<Interpolation, 'lanczos'> | undefined,
      alignCorners: o.alignCorners ? true : undefined,
    });
    process.stdout.write(`tfjs-cam serve: ${out.bold(server.url)}  (model ${printable(given)}, ${walk.jobs.length} image${walk.jobs.length === 1 ? '' : 's'}; Ctrl-C to stop)\n`);
    const host = String(o.host);
    if (!isLoopback(host)) process.stderr.write(exposureWarning(host, Number(new URL(server.url).port)) + '\n');
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    process.stderr.write('tfjs-cam serve: stopped\n');
    return 0;
  } catch (e) {
    return reportError(e, !!process.env.TFJS_CAM_DEBUG);
  }
}
