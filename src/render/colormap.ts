// Colour maps as 256-entry RGB lookup tables: indexing a table is the fast path for large images.
//
// The tables are data, each 256 colours written as 6 hex digits (RRGGBB) per entry:
// - jet: OpenCV's COLORMAP_JET (what pytorch-grad-cam draws with), dumped from OpenCV 4.6 and stored as RGB.
//   It equals round-half-even(255 * clamp(1.5 - |4x - k|, 0, 1)), k = 3, 2, 1 for R, G, B, x = i / 255, except where
//   OpenCV's float32 arithmetic lands just under a .5 (entry 159, blue = 1): hence the table, not the formula.
// - turbo: Google's published Turbo table (Mikhailov 2019, Apache-2.0), rounded to 8 bits; identical to OpenCV's
//   COLORMAP_TURBO and within 1 of matplotlib's 'turbo'.
// - viridis, inferno: matplotlib's listed colormaps (van der Walt & Smith, CC0), rounded to 8 bits (matplotlib's
//   own bytes=True output truncates instead, so it can be 1 lower).

export type ColormapName = 'jet' | 'turbo' | 'viridis' | 'inferno';

export const COLORMAPS: ColormapName[] = ['jet', 'turbo', 'viridis', 'inferno'];

const TABLES: Record<ColormapName, string> = {
  jet:
    '00008000008400008800008c00009000009400009800009c0000a00000a40000a80000ac0000b00000b40000b80000bc' +
    '0000c00000c40000c80000cc0000d00000d40000d80000dc0000e00000e40000e80000ec0000f00000f40000f80000fc' +
    '0000ff0004ff0008ff000cff0010ff0014ff0018ff001cff0020ff0024ff0028ff002cff0030ff0034ff0038ff003cff' +
    '0040ff0044ff0048ff004cff0050ff0054ff0058ff005cff0060ff0064ff0068ff006cff0070ff0074ff0078ff007cff' +
    '0080ff0084ff0088ff008cff0090ff0094ff0098ff009cff00a0ff00a4ff00a8ff00acff00b0ff00b4ff00b8ff00bcff' +
    '00c0ff00c4ff00c8ff00ccff00d0ff00d4ff00d8ff00dcff00e0ff00e4ff00e8ff00ecff00f0ff00f4ff00f8ff00fcff' +
    '02fffe06fffa0afff60efff212ffee16ffea1affe61effe222ffde26ffda2affd62effd232ffce36ffca3affc63effc2' +
    '42ffbe46ffba4affb64effb252ffae56ffaa5affa65effa262ff9e66ff9a6aff966eff9272ff8e76ff8a7aff867eff82' +
    '82ff7e86ff7a8aff768eff7292ff6e96ff6a9aff669eff62a2ff5ea6ff5aaaff56aeff52b2ff4eb6ff4abaff46beff42' +
    'c2ff3ec6ff3acaff36ceff32d2ff2ed6ff2adaff26deff22e2ff1ee6ff1aeaff16eeff12f2ff0ef6ff0afaff06feff01' +
    'fffc00fff800fff400fff000ffec00ffe800ffe400ffe000ffdc00ffd800ffd400ffd000ffcc00ffc800ffc400ffc000' +
    'ffbc00ffb800ffb400ffb000ffac00ffa800ffa400ffa000ff9c00ff9800ff9400ff9000ff8c00ff8800ff8400ff8000' +
    'ff7c00ff7800ff7400ff7000ff6c00ff6800ff6400ff6000ff5c00ff5800ff5400ff5000ff4c00ff4800ff4400ff4000' +
    'ff3c00ff3800ff3400ff3000ff2c00ff2800ff2400ff2000ff1c00ff1800ff1400ff1000ff0c00ff0800ff0400ff0000' +
    'fc0000f80000f40000f00000ec0000e80000e40000e00000dc0000d80000d40000d00000cc0000c80000c40000c00000' +
    'bc0000b80000b40000b00000ac0000a80000a40000a000009c00009800009400009000008c0000880000840000800000',
  turbo:
    '30123b32154333184a341b51351e5836215f37246638276d392a733a2d793b2f803c32863d358b3e38913f3b973f3e9c' +
    '4040a24143a74146ac4249b1424bb5434eba4451bf4454c34456c74559cb455ccf455ed34661d64664da4666dd4669e0' +
    '466be3476ee64771e94773eb4776ee4778f0477bf2467df44680f64682f84685fa4687fb458afc458cfd448ffe4391fe' +
    '4294ff4196ff4099ff3e9bfe3d9efe3ba0fd3aa3fc38a5fb37a8fa35abf833adf731aff52fb2f42eb4f22cb7f02ab9ee' +
    '28bceb27bee925c0e723c3e422c5e220c7df1fc9dd1ecbda1ccdd81bd0d51ad2d21ad4d019d5cd18d7ca18d9c818dbc5' +
    '18ddc218dec018e0bd19e2bb19e3b91ae4b61ce6b41de7b21fe9af20eaac22ebaa25eca727eea42aefa12cf09e2ff19b' +
    '32f29835f39438f4913cf58e3ff68a43f78746f8844af8804ef97d52fa7a55fa7659fb735dfc6f61fc6c65fd6969fd66' +
    '6dfe6271fe5f75fe5c79fe597dff5680ff5384ff5188ff4e8bff4b8fff4992ff4796fe4499fe429cfe409ffd3fa1fd3d' +
    'a4fc3ca7fc3aa9fb39acfb38affa37b1f936b4f836b7f735b9f635bcf534bef434c1f334c3f134c6f034c8ef34cbed34' +
    'cdec34d0ea34d2e935d4e735d7e535d9e436dbe236dde037dfdf37e1dd37e3db38e5d938e7d739e9d539ebd339ecd13a' +
    'eecf3aefcd3af1cb3af2c93af4c73af5c53af6c33af7c13af8be39f9bc39faba39fbb838fbb637fcb336fcb136fdae35' +
    'fdac34fea933fea732fea431fea130fe9e2ffe9b2dfe992cfe962bfe932afe9029fd8d27fd8a26fc8725fc8423fb8122' +
    'fb7e21fa7b1ff9781ef9751df8721cf76f1af66c19f56918f46617f36315f26014f15d13f05b12ef5811ed5510ec530f' +
    'eb500eea4e0de84b0ce7490ce5470be4450ae2430ae14109df3f08dd3d08dc3b07da3907d83706d63506d43305d23105' +
    'd02f05ce2d04cc2b04ca2a04c82803c52603c32503c12302be2102bc2002b91e02b71d02b41b01b21a01af1801ac1701' +
    'a91601a71401a41301a112019e10019b0f01980e01950d01920b018e0a018b09028808028507028106027e05027a0403',
  viridis:
    '44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769' +
    '48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a' +
    '472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85' +
    '4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b' +
    '3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d' +
    '33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e' +
    '2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e' +
    '26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d' +
    '21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88' +
    '1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81' +
    '28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74' +
    '3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863' +
    '5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d' +
    '84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32' +
    'addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a' +
    'd8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725',
  inferno:
    '00000401000501010601010802010a02020c02020e03021004031204031405041706041907051b08051d09061f0a0722' +
    '0b07240c08260d08290e092b10092d110a30120a32140b34150b37160b39180c3c190c3e1b0c411c0c431e0c451f0c48' +
    '210c4a230c4c240c4f260c51280b53290b552b0b572d0b592f0a5b310a5c320a5e340a5f3609613809623909633b0964' +
    '3d09653e0966400a67420a68440a68450a69470b6a490b6a4a0c6b4c0c6b4d0d6c4f0d6c510e6c520e6d540f6d550f6d' +
    '57106e59106e5a116e5c126e5d126e5f136e61136e62146e64156e65156e67166e69166e6a176e6c186e6d186e6f196e' +
    '71196e721a6e741a6e751b6e771c6d781c6d7a1d6d7c1d6d7d1e6d7f1e6c801f6c82206c84206b85216b87216b88226a' +
    '8a226a8c23698d23698f24699025689225689326679526679727669827669a28659b29649d29649f2a63a02a63a22b62' +
    'a32c61a52c60a62d60a82e5fa92e5eab2f5ead305dae305cb0315bb1325ab3325ab43359b63458b73557b93556ba3655' +
    'bc3754bd3853bf3952c03a51c13a50c33b4fc43c4ec63d4dc73e4cc83f4bca404acb4149cc4248ce4347cf4446d04545' +
    'd24644d34743d44842d54a41d74b3fd84c3ed94d3dda4e3cdb503bdd513ade5238df5337e05536e15635e25734e35933' +
    'e45a31e55c30e65d2fe75e2ee8602de9612bea632aeb6429eb6628ec6726ed6925ee6a24ef6c23ef6e21f06f20f1711f' +
    'f1731df2741cf3761bf37819f47918f57b17f57d15f67e14f68013f78212f78410f8850ff8870ef8890cf98b0bf98c0a' +
    'f98e09fa9008fa9207fa9407fb9606fb9706fb9906fb9b06fb9d07fc9f07fca108fca309fca50afca60cfca80dfcaa0f' +
    'fcac11fcae12fcb014fcb216fcb418fbb61afbb81dfbba1ffbbc21fbbe23fac026fac228fac42afac62df9c72ff9c932' +
    'f9cb35f8cd37f8cf3af7d13df7d340f6d543f6d746f5d949f5db4cf4dd4ff4df53f4e156f3e35af3e55df2e661f2e865' +
    'f2ea69f1ec6df1ed71f1ef75f1f179f2f27df2f482f3f586f3f68af4f88ef5f992f6fa96f8fb9af9fc9dfafda1fcffa4',
};

// Bound once: a global lookup per pixel is slow where globals are intercepted (jest runs modules in a vm
// context, where applyColormap ran ~60x slower with Math.* looked up per value).
const { floor, fround } = Math;

// Parsed tables by name; the diverging ones under 'diverging:<name>'.
const LUTS = new Map<string, Uint8Array>();

/** The 256 x RGB lookup table of a colour map (shared: do not modify). */
export function colormapLut(name: ColormapName): Uint8Array {
  let lut = LUTS.get(name);
  if (!lut) {
    const hex = Object.prototype.hasOwnProperty.call(TABLES, name) ? TABLES[name] : undefined;
    if (hex === undefined) throw new RangeError(`unknown colormap '${String(name)}' (expected one of ${COLORMAPS.join(', ')})`);
    // Parsed by hand rather than with Buffer, which the browser build lacks.
    lut = Uint8Array.from({ length: hex.length >> 1 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
    if (lut.length !== 768) throw new Error(`colormap table ${name} is corrupt`);
    LUTS.set(name, lut);
  }
  return lut;
}

/**
 * Table index of a value in 0..1: floor(255 * v) computed in float32, i.e. numpy's np.uint8(255 * mask) on a
 * float32 mask, so colours match pytorch-grad-cam's show_cam_on_image entry for entry. Out-of-range values are
 * clamped; NaN maps to 0.
 */
export function lutIndex(v: number): number {
  const x = floor(fround(255 * fround(v)));
  return x > 0 ? (x < 255 ? x : 255) : 0;
}

export function colormap(name: ColormapName): (v: number) => [number, number, number] {
  const lut = colormapLut(name);
  return (v: number) => {
    const i = lutIndex(v) * 3;
    return [lut[i], lut[i + 1], lut[i + 2]];
  };
}

/** Colours every value: 3 bytes (RGB) per value. */
export function applyColormap(values: Float32Array, name: ColormapName): Uint8Array {
  const lut = colormapLut(name);
  const n = values.length;
  const out = new Uint8Array(n * 3);
  for (let k = 0, o = 0; k < n; k++, o += 3) {
    // lutIndex inlined: this runs once per pixel of the original photo (values[k] is float32 already).
    // Truncation is floor for x > 0; NaN and negatives fail x > 0.
    const x = fround(255 * values[k]);
    const i = (x >= 255 ? 255 : x > 0 ? x | 0 : 0) * 3;
    out[o] = lut[i];
    out[o + 1] = lut[i + 1];
    out[o + 2] = lut[i + 2];
  }
  return out;
}

/**
 * Diverging colour maps for signed attributions (render/signed.ts): white at zero, one hue per sign, saturated at
 * the clip value. Entry k (0..254) is the colour of t = (k - 127) / 127 in [-1, 1], linear in t on each side, and
 * entry 255 repeats entry 254. With the overlays' indexing (floor(255 * u), u = (t + 1) / 2) the bins are then
 * symmetric about zero: entry 127 holds t in [-1/255, 1/255), entry 127 - j mirrors entry 127 + j, and t = -1
 * and t = +1 (the clip value, and anything beyond it) get the two end colours.
 * - bwr (default): blue (0, 0, 255) for negative, white, red (255, 0, 0) for positive: red is evidence for the
 *   target, as in the heatmaps; matplotlib's 'bwr' has the same three anchors.
 * - rdwhgn: Captum's visualize_image_attr default for sign 'all': red (255, 0, 0) negative, white, green
 *   (0, 128, 0, matplotlib's 'green') positive. Not for red-green colour-blind readers.
 */
export type DivergingName = 'bwr' | 'rdwhgn';

export const DIVERGING_COLORMAPS: DivergingName[] = ['bwr', 'rdwhgn'];

const DIVERGING_ENDS: Record<DivergingName, { negative: [number, number, number]; positive: [number, number, number] }> = {
  bwr: { negative: [0, 0, 255], positive: [255, 0, 0] },
  rdwhgn: { negative: [255, 0, 0], positive: [0, 128, 0] },
};

/** The 256 x RGB lookup table of a diverging colour map (shared: do not modify). */
export function divergingLut(name: DivergingName): Uint8Array {
  const key = `diverging:${name}`;
  let lut = LUTS.get(key);
  if (!lut) {
    const ends = Object.prototype.hasOwnProperty.call(DIVERGING_ENDS, name) ? DIVERGING_ENDS[name] : undefined;
    if (!ends) throw new RangeError(`unknown diverging colormap '${String(name)}' (expected one of ${DIVERGING_COLORMAPS.join(', ')})`);
    lut = new Uint8Array(768);
    for (let k = 0; k < 256; k++) {
      const t = (Math.min(k, 254) - 127) / 127;
      const end = t < 0 ? ends.negative : ends.positive;
      const w = Math.abs(t); // 0 at white, 1 at the end colour
      for (let c = 0; c < 3; c++) lut[3 * k + c] = Math.round(255 + w * (end[c] - 255));
    }
    LUTS.set(key, lut);
  }
  return lut;
}
