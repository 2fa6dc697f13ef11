// The real ImageNet model from ../shared/data on the Grad-CAM paper's dog-and-cat photo: the dog's class
// must be in the top 3 with its map on the dog (upper part), the cat's with its map on the cat (lower part).
import * as path from 'path';
import { explain } from '../../src';
import { SHARED, hasShared, skipNotice } from '../helpers/cli';

const BULL_MASTIFF = 139; // Darknet class order (../shared/data/labels/imagenet_darknet_order.json)
const TIGER_CAT = 54;

const maybe = hasShared ? describe : describe.skip;
if (!hasShared) skipNotice('darknet_tiny tests');

maybe.each([
  ['wasm', 'gradcam', undefined],
  ['wasm', 'cam', undefined],
  ['wasm', 'gradcam++', ['leaky_re_lu_15']],
  ['cpu', 'gradcam', ['leaky_re_lu_15']],
] as const)('darknet_tiny on both.png (%s, %s, %s)', (backend, method, layers) => {
  test('bull mastiff peaks on the dog, tiger cat on the cat', async () => {
    const { report, maps } = await explain([path.join(SHARED, 'images', 'both.png')], {
      model: path.join(SHARED, 'darknet_tiny'),
      labels: path.join(SHARED, 'labels', 'imagenet_darknet_names.json'),
      backend,
      method,
      layers: layers ? [...layers] : undefined,
      topK: 3,
      out: null,
      returnMaps: true,
    });
    expect(report.backend).toBe(backend);
    const img = report.images[0];
    expect(img.status).toBe('ok');
    const top3 = img.top!.map((t) => t.index);
    expect(top3).toContain(BULL_MASTIFF);
    expect(top3).toContain(TIGER_CAT);
    expect(img.top![0].label).toBe('bull mastiff');
    expect(img.top![0].probability).toBeCloseTo(0.287, 2); // expected_top5.txt
    const dog = img.maps!.find((m) => m.class?.index === BULL_MASTIFF)!;
    const cat = img.maps!.find((m) => m.class?.index === TIGER_CAT)!;
    // both.png is 224x224: the dog stands in the upper half, the cat lies in the lower half.
    expect(dog.peak!.y).toBeLessThan(112);
    expect(cat.peak!.y).toBeGreaterThan(130);
    expect(dog.flat || cat.flat).toBe(false);
    // The returned arrays agree with the report.
    const m = maps![0].maps.find((x) => x.classIndex === TIGER_CAT)!;
    expect(m.map.length).toBe(224 * 224);
    let best = 0;
    m.map.forEach((v, i) => (v > m.map[best] ? (best = i) : 0));
    expect(Math.floor(best / 224) + 0.5).toBeCloseTo(cat.peak!.y, 0);
  });
});
