/**
 * What the specs share: the sidebar's id, the screenshot folder, section folding and
 * waiting for one of eo-jlab's answers.
 */
import { expect } from '@jupyterlab/galata';

export const SIDEBAR = 'jp-EOJLab-sidebar';
export const SHOTS = 'screenshots';

/** Unfold a section of the sidebar (a click on a folded title; an open one stays open). */
export async function openSection(panel: any, name: string): Promise<void> {
  const title = panel.getByRole('heading', { name: `${name} Section` });
  if ((await title.getAttribute('aria-expanded')) !== 'true') {
    await title.click();
  }
  await expect(title).toHaveAttribute('aria-expanded', 'true');
}

/** Fold a section of the sidebar. */
export async function foldSection(panel: any, name: string): Promise<void> {
  const title = panel.getByRole('heading', { name: `${name} Section` });
  if ((await title.getAttribute('aria-expanded')) === 'true') {
    await title.click();
  }
  await expect(title).toHaveAttribute('aria-expanded', 'false');
}

/** The answer of a request whose URL path ends with `suffix` (requests carry a
 * cache-busting query, so the path is compared, not the whole URL). */
export function answer(
  page: any,
  suffix: string,
  method: string
): Promise<any> {
  return page.waitForResponse(
    (r: any) =>
      new URL(r.url()).pathname.endsWith(suffix) &&
      r.request().method() === method
  );
}

/** Runs in the page: the OpenLayers map of the Search section (through the app's shell). */
export function searchMap(): any {
  const app = (window as any).jupyterapp;
  const sidebar = Array.from(app.shell.widgets('left') as Iterable<any>).find(
    (w: any) => w.id === 'jp-EOJLab-sidebar'
  ) as any;
  const search = sidebar.widgets.find(
    (w: any) => w.id === 'jp-EOJLab-section-search'
  );
  return search.map.olMap;
}

/**
 * Draw a box on the Search section's map with the pointer, as a user does: the map is first
 * fitted on `view`, then dragged from the box's north-west to its south-east corner
 * (both [west, south, east, north] in degrees).
 */
export async function drawBox(
  page: any,
  panel: any,
  view: [number, number, number, number],
  box: [number, number, number, number]
): Promise<void> {
  await panel.getByRole('button', { name: 'Draw box' }).click();
  const map = panel.locator('.jp-EOJLab-map');
  const where = (await map.boundingBox())!;
  const corners = await page.evaluate(`(() => {
    const map = (${searchMap.toString()})();
    const R = 20037508.342789244;
    const merc = ([lon, lat]) => [lon * R / 180,
      Math.log(Math.tan((90 + lat) * Math.PI / 360)) / (Math.PI / 180) * R / 180];
    const [w, s] = merc([${view[0]}, ${view[1]}]), [e, n] = merc([${view[2]}, ${view[3]}]);
    map.getView().fit([w, s, e, n], { duration: 0 });
    map.renderSync();
    return [map.getPixelFromCoordinate(merc([${box[0]}, ${box[3]}])),
            map.getPixelFromCoordinate(merc([${box[2]}, ${box[1]}]))];
  })()`);
  const [[x1, y1], [x2, y2]] = corners as number[][];
  await page.mouse.move(where.x + x1, where.y + y1);
  await page.mouse.down();
  await page.mouse.move(where.x + x2, where.y + y2, { steps: 5 });
  await page.mouse.up();
}
