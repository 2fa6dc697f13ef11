// Reading a TypeScript file's imports without a compiler: static and dynamic imports, re-exports and require
// calls. Shared by the architecture tests (what the core may import, and that no import circle is left).
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from './cli';

const SPEC = /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;

export interface ImportSpec {
  spec: string;
  /** `import type` / `export type`: erased at build time. */
  typeOnly: boolean;
}

export function importsOf(file: string): ImportSpec[] {
  const src = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...src.matchAll(SPEC)].map((m) => ({ spec: m[3] ?? m[4] ?? m[5], typeOnly: !!m[2] }));
}

export function resolveLocal(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const f of [`${base}.ts`, path.join(base, 'index.ts'), base]) if (fs.existsSync(f) && fs.statSync(f).isFile()) return f;
  throw new Error(`${path.relative(ROOT, from)}: cannot resolve '${spec}'`);
}
