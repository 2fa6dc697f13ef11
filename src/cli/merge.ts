/** `tfjs-cam merge <shard dirs...> -o <dir>`: shard outputs -> one output folder, as a single run makes it. */
import { mergeShards } from '../report/merge';
import { err, printable } from './output';
import { EXIT } from './exit-codes';
import { exitCleanlyOnInterrupt, reportError } from './errors';

export async function runMerge(dirs: string[], o: Record<string, unknown>): Promise<number> {
  const debug = !!process.env.TFJS_CAM_DEBUG;
  // Ctrl-C: copies are whole or absent (temp file + rename); the one being written is removed.
  const stopHandling = exitCleanlyOnInterrupt('copied files are whole, nothing half-written is left; run merge again with --force', EXIT.INTERRUPTED);
  try {
    const { report, files } = await mergeShards(dirs, { out: String(o.out), force: !!o.force, html: o.html ? true : undefined });
    const json = !!o.json;
    if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    const s = report.summary;
    const line = `${s.images} image${s.images === 1 ? '' : 's'} from ${dirs.length} shard${dirs.length === 1 ? '' : 's'}: ${s.succeeded} explained, ${s.failed} failed; ${files} file${files === 1 ? '' : 's'} copied; outputs in ${printable(String(report.output.dir))}`;
    (json ? process.stderr : process.stdout).write((s.failed ? err.yellow(line) : line) + '\n');
    // As explain: an image that failed in its shard fails the merged run too (the report is written all the same).
    return s.failed ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    return reportError(e, debug);
  } finally {
    stopHandling();
  }
}
