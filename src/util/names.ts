/** How labels and method names appear in output file names (explain's overlays, the explorer page's downloads). */

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'class';
}

/** A method's name in file names: `gradcam++` -> `gradcam-pp`, `smoothgradcam++` -> `smoothgradcam-pp`. */
export function methodSlug(method: string): string {
  return method.replace(/\+\+/g, '-pp').replace(/[^a-z0-9-]+/gi, '-');
}
