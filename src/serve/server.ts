/**
 * The local web server behind `tfjs-cam serve`: the explorer page and its scripts, the model's files, and the
 * images given on the command line; nothing else. Of the model folder, only what the page reads is served:
 * model.json, the shards its weightsManifest names, and the files the model resolution reads (the sidecar,
 * Teachable Machine's metadata.json, the labels file it uses; src/model/resolve.ts decides, on disk here as in
 * the page), under the loader's rule (nothing outside the folder, symbolic links included). Images only as
 * listed; every other path (dotfiles, keys, .git, any other file) is a 404.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { contentSecurityPolicy, explorerHtml } from './page';
import { UsageError } from '../util/errors';
import type { Preprocessing } from '../model/config';
import { parseModelJson } from '../model/manifest';
import { readModelFolder, readSidecar } from '../model/resolve';
import { diskModelFiles } from '../model/files';
import type { Interpolation } from '../image/resize';

export interface ServeOptions {
  /** Folder holding model.json. */
  modelDir: string;
  /** The model.json's file name in that folder (default model.json). */
  modelJson?: string;
  /** The model's name on the page (default: the folder's name). */
  name?: string;
  /** Image files, each with the name the page shows. */
  images: { file: string; name: string }[];
  /** A labels file to serve to the page, if any. */
  labels?: string | null;
  host: string;
  /** 0: any free port. */
  port: number;
  method?: string | null;
  layer?: string | null;
  topK: number;
  preprocess?: Partial<Preprocessing>;
  interpolation?: Interpolation;
  alignCorners?: boolean;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.avif': 'image/avif',
};
const typeOf = (file: string) => TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';

/** dist/browser, from the compiled server (dist/src/serve) or from the sources under a test runner (src/serve). */
export function browserBuildDir(): string {
  for (const dir of [path.resolve(__dirname, '..', '..', 'browser'), path.resolve(__dirname, '..', '..', 'dist', 'browser')]) {
    if (fs.existsSync(path.join(dir, 'tfjs-cam.mjs'))) return dir;
  }
  throw new UsageError('the browser build (dist/browser/tfjs-cam.mjs) is missing: run `npm run build`');
}

/** A path inside the model folder as the page's URLs name it: '/'-separated, normalised; null when it leaves the folder. */
function folderName(dir: string, name: string): string | null {
  const rel = path.relative(dir, path.resolve(dir, name));
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return rel.split(path.sep).join('/');
}

/**
 * What the page reads from the model folder, by the names its URLs give: model.json, the shards its
 * weightsManifest names, and the files the model resolution reads, found by running it on disk (as the page will
 * over HTTP) with the same `labelsGiven`. A labels file that the sidecar names outside the folder is returned
 * apart, to be served as the page's labels instead (the page could not reach it under models/).
 */
export async function modelFilesToServe(modelDir: string, modelJson: string, labelsGiven: boolean): Promise<{ names: Set<string>; labelsOutside: string | null }> {
  const names = new Set<string>([modelJson]);
  const json = parseModelJson(fs.readFileSync(path.join(modelDir, modelJson), 'utf8'), path.join(modelDir, modelJson));
  for (const group of json.weightsManifest ?? []) {
    for (const rel of group.paths ?? []) {
      const name = typeof rel === 'string' ? folderName(modelDir, rel) : null;
      if (name) names.add(name);
    }
  }
  const files = diskModelFiles(modelDir);
  const folder = await readModelFolder(files, await readSidecar(files), { labelsGiven, metadata: json.userDefinedMetadata });
  let labelsOutside: string | null = null;
  for (const used of folder.used) {
    const name = folderName(modelDir, used);
    if (name) names.add(name);
    else if (used === folder.sidecar?.labels) labelsOutside = path.resolve(modelDir, used);
  }
  return { names, labelsOutside };
}

/**
 * `rel` (URL-decoded, '/'-separated) inside `dir`, or null: no '..' segment, no absolute path, no NUL, and its
 * real path (symbolic links followed) still inside the folder's real path; only regular files.
 */
export function fileInside(dir: string, rel: string): string | null {
  if (rel.includes('\0') || rel.split(/[\\/]/).some((s) => s === '..') || path.isAbsolute(rel)) return null;
  const file = path.resolve(dir, rel);
  const inside = path.relative(dir, file);
  if (!inside || inside.startsWith('..') || path.isAbsolute(inside)) return null;
  try {
    const real = fs.realpathSync(file);
    const realDir = fs.realpathSync(dir);
    if (!real.startsWith(realDir + path.sep)) return null;
    return fs.statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const app = browserBuildDir();
  // The page's scripts and the backend's .wasm files beside the bundle (where it looks for them), by exact name:
  // nothing else under these folders is served.
  const appFiles = new Map<string, string>([
    ['app/tfjs-cam.mjs', path.join(app, 'tfjs-cam.mjs')],
    ['app/tfjs-cam.mjs.map', path.join(app, 'tfjs-cam.mjs.map')],
    ['app/explorer.mjs', path.join(app, 'explorer.mjs')],
    ['app/explorer-worker.mjs', path.join(app, 'explorer-worker.mjs')],
    ['app/vendor/tfjs.mjs', path.join(app, 'vendor', 'tfjs.mjs')],
    ['app/vendor/tfjs-backend-wasm.mjs', path.join(app, 'vendor', 'tfjs-backend-wasm.mjs')],
    // tfjs-backend-wasm's binaries, copied beside the bundle by the build (scripts/build-browser.ts).
    ...fs.readdirSync(app).filter((n) => /^tfjs-backend-wasm[\w-]*\.wasm$/.test(n)).map((n) => [`app/${n}`, path.join(app, n)] as [string, string]),
  ]);
  const modelJson = opts.modelJson ?? 'model.json';
  const served = await modelFilesToServe(opts.modelDir, modelJson, !!opts.labels);
  const labelsFile = opts.labels ?? served.labelsOutside;
  const config = JSON.stringify({
    model: `./models/${encodeURIComponent(modelJson)}`,
    name: opts.name ?? path.basename(opts.modelDir),
    labels: labelsFile ? './labels' : null,
    images: opts.images.map((img, i) => ({ name: img.name, url: `./images/${i}` })),
    method: opts.method ?? null,
    layer: opts.layer ?? null,
    topK: opts.topK,
    preprocess: opts.preprocess ?? {},
    ...(opts.interpolation ? { interpolation: opts.interpolation } : {}),
    ...(opts.alignCorners != null ? { alignCorners: opts.alignCorners } : {}),
  });
  const page = explorerHtml();
  const csp = contentSecurityPolicy();
  let expectedHosts: Set<string> = new Set();

  const send = (res: http.ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8', head = false) => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' });
    res.end(head ? undefined : body);
  };
  const sendFile = (res: http.ServerResponse, file: string, head: boolean) => {
    fs.stat(file, (e, st) => {
      if (e || !st.isFile()) return send(res, 404, 'not found\n');
      res.writeHead(200, { 'Content-Type': typeOf(file), 'Content-Length': st.size, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' });
      if (head) return res.end();
      const stream = fs.createReadStream(file);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    });
  };

  const server = http.createServer((req, res) => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return send(res, 405, 'method not allowed\n');
    // A page on another site that points a name at 127.0.0.1 (DNS rebinding) must not read the model: only the
    // names this server was reached by are answered.
    if (expectedHosts.size && !expectedHosts.has((req.headers.host ?? '').toLowerCase())) return send(res, 403, 'forbidden host\n');
    let pathname: string;
    try {
      // The raw path, not a URL object's: `new URL` would resolve '..' segments before the checks see them.
      pathname = decodeURIComponent((req.url ?? '/').split('?')[0]);
    } catch {
      return send(res, 400, 'bad request\n');
    }
    const rel = pathname.replace(/^\/+/, '');
    if (rel === '' || rel === 'index.html') {
      res.setHeader('Content-Security-Policy', csp);
      return send(res, 200, page, TYPES['.html'], head);
    }
    // Browsers ask for it unprompted; an empty answer keeps the console free of 404s.
    if (rel === 'favicon.ico') return send(res, 204, '', TYPES['.txt'], head);
    if (rel === 'config.json') return send(res, 200, config, TYPES['.json'], head);
    if (rel === 'labels' && labelsFile) return sendFile(res, labelsFile, head);
    const appFile = appFiles.get(rel);
    if (appFile) return sendFile(res, appFile, head);
    const image = /^images\/(\d+)$/.exec(rel);
    if (image && Number(image[1]) < opts.images.length) return sendFile(res, opts.images[Number(image[1])].file, head);
    if (rel.startsWith('models/')) {
      const name = path.posix.normalize(rel.slice('models/'.length));
      const file = served.names.has(name) ? fileInside(opts.modelDir, name) : null;
      if (file) return sendFile(res, file, head);
    }
    send(res, 404, 'not found\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new UsageError(`port ${opts.port} on ${opts.host} is in use (--port to choose another, 0 for any free port)`));
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') reject(new UsageError(`--host ${opts.host}: not an address of this machine`));
      else if (e.code === 'EACCES') reject(new UsageError(`port ${opts.port} needs more privileges (use one above 1023)`));
      else reject(e);
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  if (isLoopback(opts.host)) expectedHosts = new Set([`${shown}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]);
  return {
    url: `http://${shown}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections (a browser tab) would hold close() open: end them now.
        server.closeAllConnections();
      }),
  };
}
