// What `npm install tfjs-cam` gets: the library, the CLI, the browser bundle with its .wasm files, the shipped
// models and samples that the README's commands use, the docs the README links to (their links landing in the
// package too), and none of the build's own scripts, benchmarks or tests, nor the generated API reference.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from '../helpers/cli';
import { codeBlocks, links, markdownFiles } from './markdown';

const built = fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js'));

function packedFiles(): string[] {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
}

(built ? test : test.skip)('the package holds the library, CLI, bundle, models and samples, and no scripts, benchmarks or tests', () => {
  const files = packedFiles();
  for (const f of ['bin/tfjs-cam', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/browser/tfjs-cam.mjs', 'models/gap-cnn/model.json', 'samples/check.yaml', 'README.md', 'package.json']) {
    expect(files).toContain(f);
  }
  expect(files.filter((f) => /^dist\/(scripts|bench|test)\//.test(f))).toEqual([]);
  // Every file the package's own entry points name is in it.
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string; types: string; exports: Record<string, Record<string, string> | string> };
  const named = [pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))].filter((p) => !p.includes('*'));
  for (const p of named) expect(files).toContain(p.replace(/^\.\//, ''));
  // The README's commands use only shipped folders that the package carries.
  const used = codeBlocks('README.md')
    .filter((b) => ['sh', 'bash'].includes(b.lang))
    .flatMap((b) => [...b.code.matchAll(/(?:^|\s)((?:models|samples)\/[\w./-]*)/g)].map((m) => m[1].replace(/\/$/, '')));
  expect(used.length).toBeGreaterThan(0);
  for (const u of used) expect(files.some((f) => f === u || f.startsWith(`${u}/`))).toBe(true);
  // The README and the pages it links to are read in node_modules/tfjs-cam too: their links land in the package.
  const pages = markdownFiles();
  for (const p of pages) expect(files).toContain(p);
  const outside = pages.flatMap((p) =>
    links(p)
      .map((l) => l.target.split('#')[0])
      .filter((t) => t && !/^[a-z][a-z0-9+.-]*:/i.test(t))
      .map((t) => path.posix.join(path.posix.dirname(p), decodeURIComponent(t)).replace(/\/$/, ''))
      .filter((t) => !files.some((f) => f === t || f.startsWith(`${t}/`)))
      .map((t) => `${p}: ${t}`),
  );
  expect(outside).toEqual([]);
  expect(files.filter((f) => f.startsWith('docs/api/'))).toEqual([]);
});
