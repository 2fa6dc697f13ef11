/**
 * The files beside a model.json URL, fetched: the ModelFileReader of the browser bundle and the explorer, and of
 * the Node build for models given as http(s) URLs, so that both read the same files in the same way. As for the
 * weight shards: only from the model's own URL folder (never another path or host), within the size limits;
 * HTTP 404 means "no such file", any other failure names the URL and the status.
 */
import { insideUrlFolder } from './manifest';
import { ModelError, UsageError } from '../util/errors';
import type { ModelFileReader } from './resolve';

/** Why a fetch failed, in a few words: fetch() itself says only "fetch failed"; the reason (ECONNREFUSED...) is its cause. */
export function fetchFailureReason(e: unknown, timeoutMs?: number): string {
  const name = (e as Error)?.name;
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  if ((name === 'TimeoutError' || name === 'AbortError') && timeoutMs) return `timed out after ${timeoutMs / 1000} s`;
  return cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e);
}

/** `base`: the URL folder of model.json, ending in '/'. `timeoutMs`: for each file, headers and body (none: the platform's). */
export function httpModelFiles(base: string, opts: { timeoutMs?: number } = {}): ModelFileReader {
  return {
    locate: (name) => insideUrlFolder(name, base),
    async read(name, limit, what) {
      const url = insideUrlFolder(name, base);
      if (!url) throw new UsageError(`${base}: '${name}' is outside the model's URL folder (refused)`);
      const signal = opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined;
      let res: Response;
      try {
        res = await fetch(url, { signal });
      } catch (e) {
        throw new ModelError(`${url}: could not fetch ${what}: ${fetchFailureReason(e, opts.timeoutMs)}`);
      }
      const drop = () => res.body?.cancel().catch(() => undefined);
      if (res.status === 404) {
        await drop();
        return null;
      }
      if (!res.ok) {
        await drop();
        throw new ModelError(`${url}: answered HTTP ${res.status}`);
      }
      const declared = Number(res.headers.get('content-length'));
      if (declared > limit) {
        await drop();
        throw new UsageError(`${url}: ${what} is ${declared} bytes, over the limit of ${limit}`);
      }
      let bytes: ArrayBuffer;
      try {
        bytes = await res.arrayBuffer();
      } catch (e) {
        throw new ModelError(`${url}: could not fetch ${what}: ${fetchFailureReason(e, opts.timeoutMs)}`);
      }
      if (bytes.byteLength > limit) throw new UsageError(`${url}: ${what} is ${bytes.byteLength} bytes, over the limit of ${limit}`);
      return new TextDecoder().decode(bytes);
    },
  };
}
