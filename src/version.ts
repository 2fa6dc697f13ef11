/** The tool's version, read from package.json at run time (one source of truth). */
import * as fs from 'fs';
import * as path from 'path';

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    const p = path.join(__dirname, rel);
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tfjs-cam' && pkg.version) return pkg.version;
    }
  }
  return '0.0.0';
}

export const TOOL_VERSION = readVersion();
