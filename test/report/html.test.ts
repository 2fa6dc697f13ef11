// The HTML report generator without a browser: escaping, relative links, embedded thumbnails, nothing external.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { renderHtmlReport, writeHtmlReport, relHref } from '../../src/report/html';
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
