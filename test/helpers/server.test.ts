// The per-test server (helpers/server.ts) that the URL tests use: what makes them independent of each other on a
// busy machine. A request still in flight when its test ends must end with it: never answered, never logged later.
import * as http from 'http';
import * as net from 'net';
import { startTestServer } from './server';

const stall: http.RequestListener = (_req, res) => {
  res.writeHead(200, { 'content-length': '1000' });
  res.write('{"partial": '); // and nothing more
};

test('close() ends a stalled answer at once (the client sees the connection end) instead of waiting for it', async () => {
  const server = await startTestServer(stall);
  const ended = new Promise<string>((resolve) => {
    const req = http.get(`${server.base}/stall/model.json`, (res) => {
      res.resume();
      res.on('error', () => resolve('ended'));
      res.on('close', () => resolve('ended'));
    });
    req.on('error', () => resolve('ended'));
  });
  while (!server.requests.length) await new Promise((r) => setTimeout(r, 5));
  // plain http.Server#close would wait for this connection, which the handler never finishes
  await server.close();
  expect(await ended).toBe('ended');
  expect(server.requests).toEqual(['/stall/model.json']);
});

test('a request written as its test ends is never logged, by that server or by the next test\'s', async () => {
  const first = await startTestServer(stall);
  const { port } = new URL(first.base);
  const client = net.connect(Number(port), '127.0.0.1');
  const outcome = new Promise<string>((resolve) => {
    let answer = '';
    client.on('data', (d) => (answer += d));
    client.on('error', () => resolve(answer));
    client.on('close', () => resolve(answer));
  });
  client.write('GET /late/model.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  // The test ends here, before this process has read the request.
  const closing = first.close();
  const second = await startTestServer(stall);
  await closing;
  expect(await outcome).toBe('');
  expect(first.requests).toEqual([]);
  expect(second.requests).toEqual([]);
  await second.close();
});
