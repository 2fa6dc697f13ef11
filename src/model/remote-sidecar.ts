/**
 * The sidecar `tfjs-cam.json` of a model served over http(s): fetched from the model's own URL folder, like the
 * weight shards, with the same timeout (fetchTimeoutMs) and the same path rule (nothing outside that folder,
 * never another host). A labels file that the sidecar names is fetched from the same folder too, and put in the
 * sidecar as the list itself. No sidecar at the URL (404) is no sidecar.
 */
import { fetchTimeoutMs } from './artifacts';
import { Sidecar, SIDECAR_NAME, validateSidecar } from './config';
import { ModelError, UsageError } from '../util/errors';

const MAX_SIDECAR_BYTES = 1024 * 1024;
const MAX_LABELS_BYTES = 16 * 1024 * 1024;

/** `url` if it lies in the folder `base` (same origin, no `..`), else null. */
export function insideUrlFolder(rel: string, base: string): string | null {
  let url: URL;
  try {
    url = new URL(rel, base);
  } catch {
    return null;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (!url.toString().startsWith(base) || /(^|\/)\.\.(\/|$)/.test(decoded)) return null;
  return url.toString();
}

/** The body of url, or null on 404; over `limit` bytes, any other HTTP error, or a timeout: a ModelError. */
async function fetchSmall(url: string, limit: number, what: string): Promise<Buffer | null> {
  const ms = fetchTimeoutMs();
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(ms) });
  } catch (e) {
    const name = (e as Error)?.name;
    const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
    throw new ModelError(`${url}: could not fetch ${what}: ${name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${ms / 1000} s` : (cause?.code ?? cause?.message ?? (e as Error)?.message)}`);
  }
  if (res.status === 404) {
    await res.body?.cancel().catch(() => undefined);
    return null;
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new ModelError(`${url}: answered HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length'));
  if (declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new UsageError(`${url}: ${what} is ${declared} bytes, over the limit of ${limit}`);
  }
  let buf: Buffer;
  try {
    buf = Buffer.from(await res.arrayBuffer());
  } catch (e) {
    throw new ModelError(`${url}: could not fetch ${what}: ${(e as Error)?.name === 'TimeoutError' ? `timed out after ${ms / 1000} s` : (e as Error)?.message}`);
  }
  if (buf.length > limit) throw new UsageError(`${url}: ${what} is ${buf.length} bytes, over the limit of ${limit}`);
  return buf;
}

/** Labels from a JSON array or text with one label per line (as readLabels for files). */
export function parseLabels(text: string, where: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(trimmed);
    } catch (e) {
      throw new UsageError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(arr)) throw new UsageError(`${where}: expected a JSON array of labels`);
    return arr.map((l) => (typeof l === 'string' ? l : typeof l === 'object' && l && 'name' in l ? String((l as { name: unknown }).name) : String(l)));
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l, i, all) => l.length > 0 || i < all.length - 1);
}

/** The sidecar beside a model.json URL, labels fetched and inlined; null when there is none. */
export async function fetchRemoteSidecar(modelJsonUrl: string): Promise<Sidecar | null> {
  const base = modelJsonUrl.replace(/[^/]*$/, '');
  const url = base + SIDECAR_NAME;
  const buf = await fetchSmall(url, MAX_SIDECAR_BYTES, 'the sidecar');
  if (!buf) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new UsageError(`${url}: not valid JSON (${(e as Error).message})`);
  }
  const sidecar = validateSidecar(raw, url);
  if (typeof sidecar.labels === 'string') {
    const labelsUrl = insideUrlFolder(sidecar.labels, base);
    if (!labelsUrl) throw new UsageError(`${url}: field 'labels' names '${sidecar.labels}', outside the model's URL folder (refused)`);
    const body = await fetchSmall(labelsUrl, MAX_LABELS_BYTES, 'the labels file');
    if (!body) throw new UsageError(`${labelsUrl}: labels file not found (HTTP 404), named by ${url}`);
    return { ...sidecar, labels: parseLabels(body.toString('utf8'), labelsUrl) };
  }
  return sidecar;
}
