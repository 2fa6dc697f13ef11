/**
 * The sidecar `tfjs-cam.json` of a model served over http(s): fetched from the model's own URL folder, like the
 * weight shards, with the same timeout (fetchTimeoutMs) and the same path rule (nothing outside that folder,
 * never another host). A labels file that the sidecar names is fetched from the same folder too, and put in the
 * sidecar as the list itself. No sidecar at the URL (404) is no sidecar.
 */
import { fetchFailureReason, fetchTimeoutMs, insideUrlFolder } from './artifacts';
import { MAX_LABELS_BYTES, MAX_SIDECAR_BYTES, parseLabels, Sidecar, SIDECAR_NAME, validateSidecar } from './config';
import { ModelError, UsageError } from '../util/errors';

/** The body of url, or null on 404; over `limit` bytes, any other HTTP error, or a timeout: a ModelError. */
async function fetchSmall(url: string, limit: number, what: string): Promise<Buffer | null> {
  const ms = fetchTimeoutMs();
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(ms) });
  } catch (e) {
    throw new ModelError(`${url}: could not fetch ${what}: ${fetchFailureReason(e, ms)}`);
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
    throw new ModelError(`${url}: could not fetch ${what}: ${fetchFailureReason(e, ms)}`);
  }
  if (buf.length > limit) throw new UsageError(`${url}: ${what} is ${buf.length} bytes, over the limit of ${limit}`);
  return buf;
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
