// A loopback HTTP server for one test: its own port and its own request log, so that a request left over from an
// earlier test (a fetch still in flight when that test ended, on a busy machine) can never reach it or show up in
// its log. close() ends every connection and resolves once the server is closed: nothing of it outlives its test.
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo, Socket } from 'net';
import * as path from 'path';

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Paths requested, in arrival order. */
  requests: string[];
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Serves the files under `dir` (404 for anything else). */
export function filesUnder(dir: string): Handler {
  return (req, res) => {
    const file = path.join(dir, decodeURIComponent(req.url ?? '/'));
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) return void res.writeHead(404).end();
    res.writeHead(200).end(fs.readFileSync(file));
  };
}

export async function startTestServer(handler: Handler): Promise<TestServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closed: Promise<void> | null = null;
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        // No new connections; those open (a stalled answer, a keep-alive client) are ended now, not at their timeout.
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      })),
  };
}

/** Runs `body` with a server of its own, closed (every connection ended) before this returns, whatever happens. */
export async function withServer<T>(handler: Handler, body: (server: TestServer) => Promise<T>): Promise<T> {
  const server = await startTestServer(handler);
  try {
    return await body(server);
  } finally {
    await server.close();
  }
}
