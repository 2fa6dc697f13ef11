// Reading the project's Markdown as a reader's tools do: the documents, their links, headings and code blocks.
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from '../helpers/cli';

/** README.md, CHANGELOG.md and everything under docs/, relative to the repository root. */
export function markdownFiles(): string[] {
  const top = ['README.md', 'CHANGELOG.md'].filter((f) => fs.existsSync(path.join(ROOT, f)));
  const docsDir = path.join(ROOT, 'docs');
  const docs = fs.existsSync(docsDir)
    ? fs.readdirSync(docsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))
    : [];
  return [...top, ...docs.sort()];
}

export interface CodeBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
}

export function codeBlocks(file: string): CodeBlock[] {
  const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*```(\S*)/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({ file, line: start + 1, lang: open[1].toLowerCase(), code: body.join('\n') });
  }
  return blocks;
}

/** Markdown without its code blocks and inline code (links there are examples, not links). */
function prose(text: string): string {
  return text.replace(/^\s*```[\s\S]*?^\s*```\s*$/gm, '').replace(/`[^`\n]*`/g, '');
}

export interface Link {
  file: string;
  target: string;
}

/** Inline links and images `[text](target)`, and reference definitions `[name]: target`. */
export function links(file: string): Link[] {
  const text = prose(fs.readFileSync(path.join(ROOT, file), 'utf8'));
  const found = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g), ...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]);
  return found.map((target) => ({ file, target }));
}

/** GitHub's anchors for a document's headings (lower case, punctuation dropped, spaces to '-', repeats numbered). */
export function anchors(file: string): Set<string> {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/^\s*```[\s\S]*?^\s*```\s*$/gm, '');
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  for (const m of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) out.add(m[1]);
  return out;
}
