// The HTML report generator without a browser: escaping, relative links, embedded thumbnails, nothing external.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { explainHtml, renderHtmlReport, writeHtmlReport, relHref } from '../../src/report/html';
import { checkHtml } from '../../src/check/html';
import type { ExplainReport } from '../../src/report/schema';
import type { CheckReport } from '../../src/check/run';
import { tempDir } from '../helpers/cli';

test('text is escaped, file names become relative URLs, columns come in order', () => {
  const html = renderHtmlReport({
    title: 'a <b> & "c"',
    meta: [['model', 'm<1>']],
    summary: '2 checks',
    columns: ['score', 'label'],
    rows: [
      { title: 'x/<img src=y>.png', status: 'fail', images: [{ src: 'o/a #1.png', caption: 'cat 90%' }], cells: { score: 0.123456, label: '<i>' }, notes: ['why <not>'] },
      { title: 'ok.png', status: 'pass', cells: { score: 2 } },
    ],
  });
  expect(html).toContain('<title>a &lt;b&gt; &amp; &quot;c&quot;</title>');
  expect(html).toContain('x/&lt;img src=y&gt;.png');
  expect(html).toContain('<a href="o/a%20%231.png"><img src="o/a%20%231.png" alt="cat 90%">');
  expect(html).toContain('<td class="num">0.123</td><td>&lt;i&gt;</td>');
  expect(html).toContain('<li>why &lt;not&gt;</li>');
  expect(html).toMatch(/<th scope="col">score<\/th><th scope="col">label<\/th>/);
  expect(html).toContain('show only failures (1)');
  // Nothing from elsewhere: no absolute URLs, no external scripts, styles or fonts.
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  expect(html).not.toMatch(/<link|@import|url\(/);
  expect(relHref('sub dir/a?.png')).toBe('sub%20dir/a%3F.png');
  expect(relHref('data:image/png;base64,xx')).toBe('data:image/png;base64,xx');
});

test('writeHtmlReport embeds thumbnails (never enlarged) that link to the full-size files', async () => {
  const dir = tempDir('html-unit');
  try {
    await sharp({ create: { width: 400, height: 200, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toFile(path.join(dir, 'big.png'));
    await sharp({ create: { width: 20, height: 10, channels: 3, background: { r: 0, g: 0, b: 200 } } }).png().toFile(path.join(dir, 'small.png'));
    const file = path.join(dir, 'out', 'index.html');
    fs.mkdirSync(path.dirname(file));
    await writeHtmlReport(file, { title: 't', rows: [{ title: 'r', images: [{ src: '../big.png' }, { src: '../small.png' }, { src: '../missing.png' }] }] });
    const html = fs.readFileSync(file, 'utf8');
    const uris = [...html.matchAll(/<img(?: class="small")? src="data:image\/(?:png|jpeg);base64,([^"]+)"/g)].map((m) => Buffer.from(m[1], 'base64'));
    expect(uris).toHaveLength(2);
    expect(await sharp(uris[0]).metadata()).toMatchObject({ width: 192, height: 96 });
    expect(await sharp(uris[1]).metadata()).toMatchObject({ width: 20, height: 10 });
    expect(html).toContain('<a href="../big.png">');
    expect(html).toContain('<img class="small" src="data:');
    // An unreadable file stays a plain relative link (and shows as broken, which the browser test would catch).
    expect(html).toContain('<img src="../missing.png"');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['index.html']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('colour scales on the pages', () => {
  const report = (methods: string[], output: Partial<ExplainReport['output']>) =>
    ({ model: { source: 'm' }, method: methods.join(','), methods, layers: ['l'], backend: 'cpu', summary: { images: 0, succeeded: 0, failed: 0 }, images: [], output: { dir: null, colormap: 'jet', alpha: 0.5, ...output } }) as unknown as ExplainReport;
  const captions = (html: string) => [...html.matchAll(/<svg [^>]*aria-label="([^"]*)"/g)].map((m) => m[1]);

  test("explain: the heatmaps' scale, and the signed maps' when some method was drawn signed, above the table", () => {
    const html = renderHtmlReport(explainHtml(report(['gradcam', 'integrated-gradients'], { colormap: 'viridis', render: 'auto', signedColormap: 'rdwhgn', outlierPercent: 5 })));
    expect(captions(html)).toEqual([
      'viridis, each map scaled on its own: 0 = its minimum, 1 = its maximum',
      'rdwhgn, attribution summed over channels: white = 0, ends = \u00b1clip, per map; the top 5% of |attribution| saturates',
    ]);
    expect(html.indexOf('class="legends"')).toBeLessThan(html.indexOf('<table>'));
    // one scale only where all maps are drawn one way; the gradient images' own scale under --render gradient
    expect(captions(renderHtmlReport(explainHtml(report(['gradcam', 'scorecam'], {}))))).toEqual(['jet, each map scaled on its own: 0 = its minimum, 1 = its maximum']);
    expect(captions(renderHtmlReport(explainHtml(report(['guided-backprop'], { render: 'gradient' }))))[0]).toMatch(/^each colour channel is that input channel&apos;s attribution/);
    // a report from before --render drew everything as a heatmap
    expect(captions(renderHtmlReport(explainHtml(report(['saliency'], {}))))).toHaveLength(1);
  });

  test("check: the overlays' colour map, whether or not overlays were written", () => {
    const check = { spec: 's.yaml', backend: 'cpu', output: { dir: null, colormap: 'inferno' }, results: [], summary: { cases: 0, checks: 0, passed: 0, failed: 0, errors: 0 } } as unknown as CheckReport;
    expect(captions(renderHtmlReport(checkHtml(check)))).toEqual(['inferno, each map scaled on its own: 0 = its minimum, 1 = its maximum']);
  });
});
