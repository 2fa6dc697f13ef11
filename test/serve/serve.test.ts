// `tfjs-cam serve`'s server over real HTTP: what it serves, what it refuses (paths outside the model folder,
// also through '..', encoded '..', absolute paths and symbolic links; files of the model folder the page does not
// read: dotfiles, keys, .git, unused labels; unlisted images; other Host names; other methods), that it binds to
// loopback by default and warns when it does not, stops cleanly on Ctrl-C, and refuses bad input in one line.
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { spawn, ChildProcess } from 'child_process';
import { startServer, RunningServer } from '../../src/serve/server';
import { ROOT, runCli, tempDir } from '../helpers/cli';

const MODEL = path.join(ROOT, 'models', 'gap-cnn');
const SAMPLE = path.join(ROOT, 'samples', fs.readdirSync(path.join(ROOT, 'samples')).find((f) => f.endsWith('.png'))!);
const hasBuild = fs.existsSync(path.join(ROOT, 'dist', 'browser', 'tfjs-cam.mjs')) && fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'));
if (!hasBuild) console.log('skipped the serve tests: dist/ is missing (npm run build)');
const maybe = hasBuild ? describe : describe.skip;

/** A raw GET: the path is sent exactly as given (http.get would not normalise it either, fetch would). */
function get(url: string, rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; type: string; body: Buffer; headers: http.IncomingHttpHeaders }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(parts), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

maybe('the server', () => {
  let dir: string;
  let server: RunningServer;
  beforeAll(() => {
    dir = tempDir('serve');
    // A model folder with a link that leads out of it, and a secret beside it.
    const modelDir = path.join(dir, 'model');
    fs.cpSync(MODEL, modelDir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'secret');
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(modelDir, 'link.txt'));
    // What else lives in model folders: none of it is for the page (the sidecar lists the labels itself).
    fs.mkdirSync(path.join(modelDir, '.git'));
    fs.writeFileSync(path.join(modelDir, '.git', 'config'), '[remote "origin"] secret');
    fs.writeFileSync(path.join(modelDir, '.env'), 'API_KEY=secret');
    fs.writeFileSync(path.join(modelDir, 'id_rsa'), 'secret key');
    fs.writeFileSync(path.join(modelDir, 'notes.txt'), 'secret notes');
    fs.writeFileSync(path.join(modelDir, 'labels.txt'), 'secret\n'.repeat(10));
    fs.writeFileSync(path.join(modelDir, 'metadata.json'), JSON.stringify({ author: 'secret' }));
  });
  // A server of its own for each test, closed before the next: nothing one test leaves in flight reaches another.
  beforeEach(async () => {
    server = await startServer({ modelDir: path.join(dir, 'model'), images: [{ file: SAMPLE, name: 'sample.png' }], host: '127.0.0.1', port: 0, topK: 5 });
  });
  afterEach(async () => {
    await server?.close();
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('serves the page (with a same-origin-only policy), its scripts, the wasm files, the model and the listed image', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(server.url, '/');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    expect(page.body.toString()).toContain('<script type="importmap">');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    const config = JSON.parse((await get(server.url, '/config.json')).body.toString());
    expect(config).toMatchObject({ model: './models/model.json', images: [{ name: 'sample.png', url: './images/0' }], topK: 5 });
    for (const p of ['/app/tfjs-cam.mjs', '/app/explorer.mjs', '/app/explorer-worker.mjs', '/app/vendor/tfjs.mjs', '/app/vendor/tfjs-backend-wasm.mjs']) {
      const r = await get(server.url, p);
      expect([p, r.status, r.type]).toEqual([p, 200, 'text/javascript; charset=utf-8']);
    }
    const wasm = await get(server.url, '/app/tfjs-backend-wasm-simd.wasm'); // beside the bundle, where it looks
    expect(wasm.status).toBe(200);
    expect(wasm.type).toBe('application/wasm');
    expect(wasm.body.subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d])); // "\0asm"
    const modelJson = await get(server.url, '/models/model.json');
    expect(modelJson.status).toBe(200);
    expect(modelJson.body.equals(fs.readFileSync(path.join(MODEL, 'model.json')))).toBe(true);
    for (const f of ['weights.bin', 'tfjs-cam.json']) expect([f, (await get(server.url, `/models/${f}`)).body.equals(fs.readFileSync(path.join(MODEL, f)))]).toEqual([f, true]);
    const image = await get(server.url, '/images/0');
    expect(image.status).toBe(200);
    expect(image.type).toBe('image/png');
    expect(image.body.equals(fs.readFileSync(SAMPLE))).toBe(true);
  });

  test.each([
    '/models/../../etc/passwd',
    '/models/../secret.txt',
    '/models/%2e%2e/secret.txt',
    '/models/..%2fsecret.txt',
    '/models/%2fetc%2fpasswd',
    '/models//etc/passwd',
    '/models/link.txt', // a symbolic link out of the folder
    '/models/',
    '/models/.git/config',
    '/models/.env',
    '/models/id_rsa',
    '/models/notes.txt',
    '/models/labels.txt', // the sidecar gives the labels: the page never reads it
    '/models/metadata.json', // not Teachable Machine's: the resolution does not use it
    '/models/.%2e/secret.txt',
    '/app/wasm/tfjs-backend-wasm-simd.wasm',
    '/images/1',
    '/images/../secret.txt',
    '/app/../package.json',
    '/app/wasm/../../package.json',
    '/etc/passwd',
    '/package.json',
  ])('refuses %s with 404', async (p) => {
    const r = await get(server.url, p);
    expect(r.status).toBe(404);
    expect(r.body.toString()).not.toContain('secret');
    expect(r.body.toString()).not.toContain('root:');
  });

  test('model files: what the model resolution reads, by the same rules as the page (Teachable Machine, a labels file, the sidecar\'s file)', async () => {
    const variants: [string, Record<string, string>, string[], string[]][] = [
      // Teachable Machine's metadata.json gives labels and preprocessing: no labels file is read.
      ['tm', { 'metadata.json': JSON.stringify({ tmVersion: '2.4.7', labels: 'abcdefghij'.split('') }), 'labels.txt': 'x\n' }, ['metadata.json'], ['labels.txt', 'tfjs-cam.json']],
      // No sidecar, no metadata: the first labels file that parses (labels.json does not), and not the next one.
      ['guess', { 'labels.json': '{not json', 'labels.txt': '0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n', 'classes.txt': 'a\n' }, ['labels.txt'], ['labels.json', 'classes.txt', 'metadata.json']],
      // A labels file the sidecar names, in a subfolder.
      ['named', { 'tfjs-cam.json': JSON.stringify({ labels: 'meta/names.txt' }), 'meta/names.txt': 'zero\none\n', 'labels.txt': 'x\n' }, ['tfjs-cam.json', 'meta/names.txt'], ['labels.txt', 'metadata.json']],
    ];
    for (const [name, files, served, refused] of variants) {
      const d = path.join(dir, name);
      fs.mkdirSync(path.join(d, 'meta'), { recursive: true });
      for (const f of ['model.json', 'weights.bin']) fs.copyFileSync(path.join(MODEL, f), path.join(d, f));
      for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(d, f), text);
      const s = await startServer({ modelDir: d, images: [], host: '127.0.0.1', port: 0, topK: 5 });
      try {
        for (const f of ['model.json', 'weights.bin', ...served]) expect([name, f, (await get(s.url, `/models/${f}`)).status]).toEqual([name, f, 200]);
        for (const f of refused) expect([name, f, (await get(s.url, `/models/${f}`)).status]).toEqual([name, f, 404]);
      } finally {
        await s.close();
      }
    }
    // A labels file the sidecar names outside the folder: not under /models/, but given to the page as its labels.
    const d = path.join(dir, 'outside');
    fs.mkdirSync(d);
    for (const f of ['model.json', 'weights.bin']) fs.copyFileSync(path.join(MODEL, f), path.join(d, f));
    fs.writeFileSync(path.join(dir, 'shared-labels.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n');
    fs.writeFileSync(path.join(d, 'tfjs-cam.json'), JSON.stringify({ labels: '../shared-labels.txt' }));
    const s = await startServer({ modelDir: d, images: [], host: '127.0.0.1', port: 0, topK: 5 });
    try {
      expect(JSON.parse((await get(s.url, '/config.json')).body.toString()).labels).toBe('./labels');
      expect((await get(s.url, '/labels')).body.toString()).toBe(fs.readFileSync(path.join(dir, 'shared-labels.txt'), 'utf8'));
      expect((await get(s.url, '/models/../shared-labels.txt')).status).toBe(404);
    } finally {
      await s.close();
    }
  });

  test('answers only GET/HEAD, and only for the host names it was reached by', async () => {
    expect((await get(server.url, '/', {}, 'POST')).status).toBe(405);
    expect((await get(server.url, '/models/model.json', {}, 'HEAD')).status).toBe(200);
    expect((await get(server.url, '/models/model.json', { Host: 'evil.example:80' })).status).toBe(403);
    expect((await get(server.url, '/models/model.json', { Host: `localhost:${new URL(server.url).port}` })).status).toBe(200);
  });
});

/** Starts the built CLI's serve and waits for the URL it prints. */
function startCli(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tfjs-cam'), 'serve', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL: ${text}`)), 30_000);
    child.stdout!.on('data', () => {
      const m = /http:\/\/\S+\//.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[0], output: () => text });
      }
    });
    child.on('exit', () => reject(new Error(`serve exited: ${text}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

maybe('the serve command', () => {
  test('binds to 127.0.0.1 by default, serves, and stops cleanly on Ctrl-C (exit 0, port closed)', async () => {
    const { child, url, output } = await startCli(['-m', MODEL, SAMPLE, '--port', '0']);
    const port = Number(new URL(url).port);
    expect(new URL(url).hostname).toBe('127.0.0.1');
    expect((await get(url, '/models/model.json')).status).toBe(200);
    // Not reachable on the machine's other addresses.
    const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) expect(await canConnect(external.address, port)).toBe(false);
    else console.log('no non-loopback IPv4 address here: checked the printed address only');
    // A browser holding a keep-alive connection must not keep the server alive.
    const keepAlive = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) => http.get({ host: '127.0.0.1', port, path: '/config.json', agent: keepAlive }, (r) => (r.resume(), r.on('end', () => resolve()))));
    const t0 = Date.now();
    child.kill('SIGINT');
    const code = await exited(child);
    keepAlive.destroy();
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(output()).toContain('stopped');
    expect(output()).not.toMatch(/error|warning/i);
    expect(await canConnect('127.0.0.1', port)).toBe(false);
  });

  test('a --host that is not loopback: a warning on start that says who can then reach the page', async () => {
    const { child, output } = await startCli(['-m', MODEL, SAMPLE, '--host', '0.0.0.0', '--port', '0']);
    try {
      for (let i = 0; i < 100 && !/warning/.test(output()); i++) await new Promise((r) => setTimeout(r, 50));
      const port = /:(\d+)\//.exec(output())![1];
      expect(output()).toContain(
        `tfjs-cam serve: warning: listening on every network interface of this machine: any device that can reach this machine on port ${port} ` +
          '(its local network; the internet too if a router or firewall lets the port through) can open the page and download the model',
      );
      // It is reachable from elsewhere indeed: on the machine's other addresses too.
      const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
      if (external) expect(await canConnect(external.address, Number(port))).toBe(true);
    } finally {
      child.kill('SIGINT');
      await exited(child);
    }
  });

  test.each([
    [['-m', '/nonexistent/model', '--port', '0'], /^tfjs-cam: error: \/nonexistent\/model: model not found$/],
    [['-m', MODEL, '/nonexistent/photo.png', '--port', '0'], /^tfjs-cam: error: \/nonexistent\/photo\.png: no such file or folder$/],
    [['-m', MODEL, '--labels', '/nonexistent/labels.txt', '--port', '0'], /^tfjs-cam: error: \/nonexistent\/labels\.txt: labels file not found$/],
    [['-m', MODEL, '--interpolation', 'lanczos', '--port', '0'], /^tfjs-cam: error: --interpolation lanczos is not available in the browser/],
    [['-m', MODEL, '--port', '70000'], /^tfjs-cam: error: --port must be a whole number from 0 to 65535/],
    [['-m', 'http://127.0.0.1:1/m/', '--port', '0'], /^tfjs-cam: error: http:\/\/127\.0\.0\.1:1\/m\/: serve needs a local model folder/],
  ])('refuses bad input in one line, exit 2: %j', (args, message) => {
    const r = runCli(['serve', ...args]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  test('a port in use is one line, exit 2', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = runCli(['serve', '-m', MODEL, '--port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`tfjs-cam: error: port ${port} on 127.0.0.1 is in use (--port to choose another, 0 for any free port)`);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
