// The explorer page (src/browser/explorer/main.ts) as the browser tests read it: the state it keeps on
// window.tfjsCam, the map it shows, and waiting for a computation to finish. The functions given to page.evaluate
// run inside the page; their casts are erased.
import type { Page } from 'playwright-core';

/** window.tfjsCam.page, as far as the tests read it. */
export interface PageState {
  state: string;
  backend: string | null;
  image: string | null;
  top: { index: number; label: string; probability: number }[];
  message: string;
  computations: number;
  progress: { fraction: number; text: string; estimate: string | null } | null;
  cancelled: number;
  workerStarts: number;
}

/** window.tfjsCam.shownMap(): the map on screen. */
export interface Shown {
  method: string;
  layer: string;
  classIndex: number;
  label: string;
  map: number[];
  raw: { layer: string; data: number[]; height: number; width: number }[];
  flat: boolean;
  signed?: { clip: number; unit: number[] };
}

export type ExplorerHook = { tfjsCam: { page: PageState; shownMap(): Shown | null; numTensors(): Promise<number> } };

export const pageState = (page: Page) => page.evaluate(() => (globalThis as unknown as ExplorerHook).tfjsCam.page);
export const shownMap = (page: Page) => page.evaluate(() => (globalThis as unknown as ExplorerHook).tfjsCam.shownMap());

/** Waits until the page is idle again after more than `after` computations; returns the map it shows. */
export async function computed(page: Page, after: number): Promise<Shown> {
  await page.waitForFunction((n) => {
    const p = (globalThis as unknown as ExplorerHook).tfjsCam.page;
    return p.state === 'ready' && p.computations > n;
  }, after, { timeout: 480_000 });
  return (await shownMap(page))!;
}
