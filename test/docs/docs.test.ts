// The docs stay true: every relative link lands on a file of the repository (and a heading there), every
// TypeScript example compiles under --strict against the library's own types, and every shell example that
// uses the shipped models and samples runs and exits as it says.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { ROOT, runCli, tempDir } from '../helpers/cli';
import { anchors, codeBlocks, links, markdownFiles } from './markdown';

const files = markdownFiles();

test('the docs exist: README.md and the pages under docs/', () => {
  expect(files).toContain('README.md');
});

test('every relative link resolves inside the repository, anchors included', () => {
  const bad: string[] = [];
  for (const file of files) {
    for (const { target } of links(file)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
      const [rel, anchor] = target.split('#') as [string, string | undefined];
      const abs = rel ? path.resolve(ROOT, path.dirname(file), decodeURIComponent(rel)) : path.join(ROOT, file);
      const inside = path.relative(ROOT, abs);
      if (inside.startsWith('..') || path.isAbsolute(inside)) bad.push(`${file}: ${target} leaves the repository`);
      else if (!fs.existsSync(abs)) bad.push(`${file}: ${target} does not exist`);
      else if (anchor && abs.endsWith('.md') && !anchors(inside).has(anchor)) bad.push(`${file}: ${target}: no heading '#${anchor}' in ${inside}`);
    }
  }
  expect(bad).toEqual([]);
});

test('the link checker sees broken links (it would pass vacuously otherwise)', () => {
  const dir = path.join(ROOT, '.tmp');
  fs.mkdirSync(dir, { recursive: true });
  const probe = path.join(dir, 'links-probe.md');
  fs.writeFileSync(probe, '# A title\n[ok](#a-title) [gone](nothing.md) `[code](not-a-link.md)`\n```\n[x](in-code.md)\n```\n');
  const rel = path.relative(ROOT, probe);
  expect(links(rel).map((l) => l.target)).toEqual(['#a-title', 'nothing.md']);
  expect(anchors(rel).has('a-title')).toBe(true);
});

const TS_LANGS = new Set(['ts', 'typescript']);

test('every TypeScript example compiles under --strict (as an ES module, against tfjs-cam and tfjs-cam/browser)', () => {
  const blocks = files.flatMap(codeBlocks).filter((b) => TS_LANGS.has(b.lang));
  expect(blocks.length).toBeGreaterThan(0);
  const dir = path.join(ROOT, '.tmp', 'doc-examples');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const where = new Map<string, string>();
  const sources = blocks.map((b, i) => {
    const f = path.join(dir, `example-${i}.mts`);
    // Each example is its own module, as a reader's file would be.
    fs.writeFileSync(f, `${b.code}\nexport {};\n`);
    where.set(f, `${b.file}:${b.line}`);
    return f;
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: ['node'],
    esModuleInterop: true,
    skipLibCheck: true,
    baseUrl: ROOT,
    paths: { 'tfjs-cam': ['src/index.ts'], 'tfjs-cam/browser': ['src/browser/index.ts'] },
  };
  const program = ts.createProgram(sources, options);
  const errors = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && where.has(path.resolve(d.file.fileName)))
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${where.get(path.resolve(d.file!.fileName))} (+${line + 1}): TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
  expect(errors).toEqual([]);
});

/** Shell lines running tfjs-cam on the shipped models or samples, with the exit code they say they end with. */
interface ShellCommand {
  where: string;
  /** The code block it is in: a block's commands run in order, in one folder (a later one may use an earlier one's output). */
  block: string;
  args: string[];
  exit: number;
}

function shippedCommands(): ShellCommand[] {
  const out: ShellCommand[] = [];
  for (const b of files.flatMap(codeBlocks).filter((b) => ['sh', 'bash', 'shell', 'console'].includes(b.lang))) {
    const joined = b.code.replace(/\\\n\s*/g, ' ').split('\n');
    joined.forEach((raw, i) => {
      const line = raw.replace(/^\$\s+/, '');
      const m = /^(?:npx\s+)?tfjs-cam\s+(.*)$/.exec(line.trim());
      if (!m) return;
      const [command, comment = ''] = m[1].split(/\s#\s?/, 2);
      const args = command.replace(/\s*[12]?>\s*\S+/g, '').trim().split(/\s+/);
      if (!args.some((a) => /^(\.\/)?(models|samples)(\/|$)/.test(a))) return;
      if (args.some((a) => /[|&;<>$`]/.test(a))) return; // pipelines are for the reader's shell
      const exit = /\bexit(?:s)? (\d+)/.exec(comment);
      out.push({ where: `${b.file}:${b.line + i + 1}`, block: `${b.file}:${b.line}`, args, exit: exit ? Number(exit[1]) : 0 });
    });
  }
  return out;
}

test('every shell example on the shipped models and samples runs', () => {
  const commands = shippedCommands();
  expect(commands.length).toBeGreaterThan(0);
  const failures: string[] = [];
  for (const block of new Set(commands.map((c) => c.block))) {
    // A reader's clone: the shipped folders, nothing written yet.
    const cwd = tempDir('docs');
    for (const d of ['models', 'samples', 'schema']) fs.symlinkSync(path.join(ROOT, d), path.join(cwd, d));
    for (const c of commands.filter((c) => c.block === block)) {
      const r = runCli(c.args, { cwd, timeoutMs: 540_000 });
      if (r.code !== c.exit) failures.push(`${c.where}: tfjs-cam ${c.args.join(' ')} exited ${r.code}, expected ${c.exit}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    }
    fs.rmSync(cwd, { recursive: true, force: true });
  }
  expect(failures).toEqual([]);
}, 900_000);

test("docs/backends.md gives the number of kernels that kernels-in-use.json lists (what kernels.test.ts checks)", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const inUse = require('../backend/kernels-in-use.json') as { kernels: Record<string, unknown> };
  const text = fs.readFileSync(path.join(ROOT, 'docs/backends.md'), 'utf8');
  const said = /runs every kernel tfjs-cam runs \((\d+),/.exec(text);
  expect(said).not.toBeNull();
  expect(Number(said![1])).toBe(Object.keys(inUse.kernels).length);
});
