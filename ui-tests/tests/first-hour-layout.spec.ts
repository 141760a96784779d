/**
 * Issue 19, the first hour of a new user: the map follows the theme, the sections share
 * the height, the details and the process form fit the default sidebar width, the
 * quicklook opens larger, and the Shared section shows what the user just shared.
 */
import { expect, test } from '@jupyterlab/galata';
import { SIDEBAR, SHOTS, openSection, foldSection, answer } from './helpers';

/** Runs in the page: the Search section's map widget (through the app's shell). */
function sidebarMap(): any {
  const app = (window as any).jupyterapp;
  const sidebar = Array.from(app.shell.widgets('left') as Iterable<any>).find(
    (w: any) => w.id === 'jp-EOJLab-sidebar'
  ) as any;
  return sidebar.widgets.find((w: any) => w.id === 'jp-EOJLab-section-search')
    .map;
}

/**
 * Runs in the page: the colour the map draws at a point of land (Central Africa), read
 * from the canvas pixels, and the fill colour of the land outline's style.
 */
async function landColour(
  page: any
): Promise<{ pixel: number[]; fill: string }> {
  return page.evaluate(`(() => {
    const widget = (${sidebarMap.toString()})();
    const map = widget.olMap;
    const R = 20037508.342789244;
    map.getView().setCenter([20 * R / 180, 0]);
    map.getView().setZoom(3);
    map.renderSync();
    const [x, y] = map.getPixelFromCoordinate([20 * R / 180, 0]);
    let pixel = [];
    for (const canvas of widget.node.querySelectorAll('canvas')) {
      const shown = canvas.getBoundingClientRect().width;
      if (!shown || !canvas.width) {
        continue;
      }
      const ratio = canvas.width / shown;
      const data = canvas.getContext('2d')
        .getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data;
      if (data[3] > 0) {
        pixel = Array.from(data);
      }
    }
    const fill = map.getLayers().getArray()[1].getStyle().getFill().getColor();
    return { pixel, fill: String(fill) };
  })()`);
}

/** Search the demo catalogue for Toulouse in March 2025 (results and footprints). */
async function searchToulouse(page: any, panel: any): Promise<void> {
  await panel.getByLabel('Catalogue', { exact: true }).selectOption('demo');
  await panel.getByLabel('Text', { exact: true }).fill('Toulouse 2025-03');
  const searched = answer(page, '/search', 'POST');
  await panel.getByRole('button', { name: 'Search', exact: true }).click();
  expect((await searched).status()).toBe(200);
  await expect(panel.locator('.jp-EOJLab-result').first()).toBeVisible();
}

/** How many lines the text of an element takes (distinct tops of its line boxes). */
function lineCount(element: Element): number {
  const range = document.createRange();
  range.selectNodeContents(element);
  const tops = new Set(
    Array.from(range.getClientRects()).map(r => Math.round(r.top))
  );
  return tops.size;
}

test.use({ viewport: { width: 1400, height: 900 } });

test.describe('First hour of a new user (eo-jlab demo)', () => {
  test.beforeEach(async ({ page }) => {
    test.setTimeout(180000);
    await page.sidebar.openTab(SIDEBAR);
  });

  test('the map takes the new theme colours at once (no hover)', async ({
    page
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);
    await expect(panel.locator('.jp-EOJLab-map canvas').first()).toBeVisible();
    // The pointer stays away from the map for the whole test.
    await page.mouse.move(5, 880);
    const light = await landColour(page);
    expect(light.pixel).toHaveLength(4);

    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', {
        theme: 'JupyterLab Dark'
      })
    );
    await expect(page.locator('body')).toHaveAttribute(
      'data-jp-theme-light',
      'false'
    );
    await expect
      .poll(async () => (await landColour(page)).fill, { timeout: 10000 })
      .not.toBe(light.fill);
    const dark = await landColour(page);
    expect(dark.pixel).not.toEqual(light.pixel);
    // Dark land on a dark theme: every channel well below the middle.
    expect(Math.max(...dark.pixel.slice(0, 3))).toBeLessThan(128);
    expect(Math.min(...light.pixel.slice(0, 3))).toBeGreaterThan(128);
    await page.screenshot({ path: `${SHOTS}/first-hour-map-dark.png` });

    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', {
        theme: 'JupyterLab Light'
      })
    );
    await expect
      .poll(async () => (await landColour(page)).fill, { timeout: 10000 })
      .toBe(light.fill);
    expect((await landColour(page)).pixel).toEqual(light.pixel);
  });

  test('Search, Jobs and Shared open together: each gets room, headings visible', async ({
    page
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);
    await searchToulouse(page, panel);
    await openSection(panel, 'Jobs');
    await openSection(panel, 'Shared');

    /** Every open section: heading on screen, a body with room, inside the window. */
    const check = async (when: string, resultsRoom = 100) => {
      const viewport = page.viewportSize()!;
      await page.screenshot({
        path: `${SHOTS}/first-hour-sections-${viewport.width}.png`
      });
      for (const name of ['Search', 'Jobs', 'Shared']) {
        const title = panel.getByRole('heading', { name: `${name} Section` });
        const box = (await title.boundingBox())!;
        expect(box, `${when}: ${name}'s heading`).not.toBeNull();
        expect(box.height).toBeGreaterThan(0);
        expect(
          box.y + box.height,
          `${when}: ${name}'s heading on screen`
        ).toBeLessThanOrEqual(viewport.height);
        const body = panel.locator(`#jp-EOJLab-section-${name.toLowerCase()}`);
        const room = (await body.boundingBox())!;
        expect(room.height, `${when}: ${name}'s height`).toBeGreaterThan(60);
        expect(room.y + room.height).toBeLessThanOrEqual(viewport.height + 1);
      }
      // The results have their own scroll area, in view inside the Search section.
      const search = (await panel
        .locator('#jp-EOJLab-section-search')
        .boundingBox())!;
      const results = (await panel
        .locator('.jp-EOJLab-results')
        .boundingBox())!;
      expect(results.height, `${when}: the results' height`).toBeGreaterThan(
        100
      );
      expect(results.y, `${when}: the results in view`).toBeGreaterThanOrEqual(
        search.y
      );
      expect(
        results.y + resultsRoom,
        `${when}: ${resultsRoom} px of results in view`
      ).toBeLessThanOrEqual(search.y + search.height);
    };
    await check('after opening');
    await page.screenshot({ path: `${SHOTS}/first-hour-sections.png` });

    // A theme switch re-lays the whole shell out.
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', {
        theme: 'JupyterLab Dark'
      })
    );
    await expect(page.locator('body')).toHaveAttribute(
      'data-jp-theme-light',
      'false'
    );
    await page.waitForTimeout(500);
    await check('after a theme switch');
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', {
        theme: 'JupyterLab Light'
      })
    );
    await expect(page.locator('body')).toHaveAttribute(
      'data-jp-theme-light',
      'true'
    );

    // A smaller window: every section keeps room (the results were scrolled into view for
    // the larger one: the start of the list stays in view).
    await page.setViewportSize({ width: 1000, height: 700 });
    await page.waitForTimeout(500);
    await check('at 1000x700', 16);

    // All four open at 1000x700: every heading still on screen, every section with room.
    await openSection(panel, 'Processes');
    await page.waitForTimeout(300);
    for (const name of ['Search', 'Processes', 'Jobs', 'Shared']) {
      const title = panel.getByRole('heading', { name: `${name} Section` });
      const box = (await title.boundingBox())!;
      expect(
        box.y + box.height,
        `all open: ${name}'s heading`
      ).toBeLessThanOrEqual(700);
      const body = (await panel
        .locator(`#jp-EOJLab-section-${name.toLowerCase()}`)
        .boundingBox())!;
      expect(body.height, `all open: ${name}'s height`).toBeGreaterThanOrEqual(
        60
      );
      expect(body.y + body.height).toBeLessThanOrEqual(701);
    }
    await page.screenshot({ path: `${SHOTS}/first-hour-sections-1000.png` });
  });

  test('details: whole-word labels, tile, orbit, level, assets with links', async ({
    page
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);
    await searchToulouse(page, panel);
    // A radar product: its orbit and direction.
    await panel
      .locator('.jp-EOJLab-result[data-item-id^="S1"]')
      .first()
      .click();
    const details = panel.locator('.jp-EOJLab-details');
    await expect(details).toContainText('sentinel-1-grd-demo');
    await expect(
      details.locator('tr', { hasText: 'Relative orbit' }).locator('td')
    ).toHaveText(/^\d+ \(ascending\)$/);
    // An optical one: tile, orbit, processing level.
    await panel
      .locator('.jp-EOJLab-result[data-item-id^="S2"]')
      .first()
      .click();
    await expect(details).toContainText('sentinel-2-l2a-demo');
    await expect(
      details.locator('tr', { hasText: 'Tile' }).locator('td')
    ).toHaveText('31TCJ');
    const labels = details.locator('th');
    for (const label of [
      'Collection',
      'Tile',
      'Relative orbit',
      'Processing level'
    ]) {
      await expect(labels.filter({ hasText: label })).toHaveCount(1);
    }
    expect(await labels.count()).toBeGreaterThan(5);
    for (const th of await labels.all()) {
      expect(await th.evaluate(lineCount), await th.innerText()).toBe(1);
    }
    const assets = details.locator('.jp-EOJLab-asset');
    expect(await assets.count()).toBeGreaterThan(0);
    const visual = assets.filter({ hasText: 'visual' });
    const link = visual.locator('a.jp-EOJLab-assetOpen');
    await expect(link).toHaveAttribute(
      'href',
      /\/eo-jlab\/catalogues\/demo\/quicklook\?href=/
    );
    await expect(link).toHaveAttribute('target', '_blank');
    await expect(visual).toContainText('image/png');
    await expect(visual).toContainText('overview');
    await expect(
      visual.getByRole('button', { name: /Copy the address/ })
    ).toBeVisible();
    // The link answers with the image.
    const href = (await link.getAttribute('href'))!;
    const image = await page.request.get(href);
    expect(image.status()).toBe(200);
    expect(image.headers()['content-type']).toBe('image/png');
    await details.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/first-hour-details.png` });
    // The same in the dark theme, to look at (theme colours only).
    await page.theme.setDarkTheme();
    await details.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/first-hour-details-dark.png` });
    await page.theme.setLightTheme();
  });

  test('process form: bbox edges show 6 decimals, CRS by short name, no cut labels', async ({
    page
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);
    await foldSection(panel, 'Search');
    await openSection(panel, 'Processes');
    const processes = panel.locator('#jp-EOJLab-section-processes');
    const dir = processes.locator('.jp-EOJLab-sandboxDir');
    await expect(dir).toBeVisible({ timeout: 60000 });
    expect(
      await dir.evaluate(e => e.scrollWidth <= e.clientWidth + 1),
      'the sandbox folder is not cut'
    ).toBe(true);
    await processes.locator('[data-process-id="ndvi"] button').click();
    const form = processes.locator('form[data-process-id="ndvi"]');
    const edges = form.locator('[data-input-id="bbox"] input[type="number"]');
    await expect(edges).toHaveCount(4);
    for (const edge of await edges.all()) {
      await edge.fill('1.234567');
      expect(
        await edge.evaluate(
          e =>
            (e as HTMLInputElement).scrollWidth <=
            (e as HTMLInputElement).clientWidth
        )
      ).toBe(true);
    }
    const crs = form.getByLabel('Coordinate reference system');
    const options = await crs.locator('option').allTextContents();
    expect(options).toEqual(['CRS84', 'EPSG:4326']);
    await expect(crs.locator('option').nth(0)).toHaveAttribute(
      'title',
      'urn:ogc:def:crs:OGC:1.3:CRS84'
    );
    expect(await crs.evaluate(e => e.scrollWidth <= e.clientWidth + 1)).toBe(
      true
    );
    await page.screenshot({ path: `${SHOTS}/first-hour-process-form.png` });
  });

  test('clicking a quicklook opens it larger; Escape closes it', async ({
    page
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);
    await searchToulouse(page, panel);
    const first = panel.locator('.jp-EOJLab-result').first();
    const thumb = first.locator('.jp-EOJLab-thumbButton');
    const view = answer(page, '/quicklook', 'GET');
    await thumb.click();
    const dialog = page.locator('.jp-Dialog');
    const image = dialog.locator('img.jp-EOJLab-quicklookLarge');
    await expect(image).toBeVisible();
    expect((await view).status()).toBe(200);
    await expect(image).toHaveJSProperty('complete', true);
    const box = (await image.boundingBox())!;
    expect(box.width).toBeGreaterThan(200);
    expect(box.height).toBeGreaterThan(200);
    await page.screenshot({ path: `${SHOTS}/first-hour-quicklook.png` });
    await expect(page.locator('.jp-Dialog :focus')).toHaveCount(1);
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
    // From the keyboard: the thumbnail is a button.
    await thumb.focus();
    await page.keyboard.press('Enter');
    await expect(
      page.locator('.jp-Dialog img.jp-EOJLab-quicklookLarge')
    ).toBeVisible();
    // The dialog takes the focus (its Close button), then Escape closes it.
    await expect(page.locator('.jp-Dialog :focus')).toHaveCount(1);
    await page.keyboard.press('Escape');
    await expect(page.locator('.jp-Dialog')).toHaveCount(0);
  });

  test('after sharing, the Shared section shows "By me" with the share', async ({
    page
  }) => {
    const name = `first-hour-${Date.now()}.ipynb`;
    await page.notebook.createNew(name);
    await page.notebook.save();
    await page.evaluate(() => {
      void (window as any).jupyterapp.commands.execute('eo-jlab:share');
    });
    const dialog = page.locator('.jp-Dialog');
    await dialog.getByLabel(/^Public/).check();
    const created = answer(page, '/eo-jlab/shares', 'POST');
    await dialog.getByRole('button', { name: 'Share' }).click();
    const response = await created;
    expect(response.status()).toBe(201);
    const share = await response.json();

    await page.sidebar.openTab(SIDEBAR);
    const panel = page.locator(`#${SIDEBAR}`);
    await foldSection(panel, 'Search');
    await openSection(panel, 'Shared');
    const section = panel.locator('#jp-EOJLab-section-shared');
    await expect(
      section.locator('.jp-EOJLab-shareTab[data-scope="by-me"]')
    ).toHaveAttribute('aria-selected', 'true');
    await expect(
      section.locator(`li[data-share-id="${share.id}"]`)
    ).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/first-hour-shared-by-me.png` });

    // Clean up: unshare it.
    await section
      .locator(`li[data-share-id="${share.id}"] .jp-EOJLab-shareDelete`)
      .click();
    await page
      .locator('.jp-Dialog')
      .getByRole('button', { name: 'Unshare' })
      .click();
    await expect(
      section.locator(`li[data-share-id="${share.id}"]`)
    ).toHaveCount(0);
  });

  test('screenshots: Search, Processes and Jobs with the demo data, 1400x900 and 1000x700', async ({
    page
  }) => {
    test.setTimeout(240000);
    const panel = page.locator(`#${SIDEBAR}`);
    const shots: Record<string, string[]> = {};
    /** A screenshot, and no label of the sidebar cut at its end (an ellipsis). */
    const shoot = async (name: string) => {
      const { width, height } = page.viewportSize()!;
      // The quicklooks in view (inside the list's scroll area) have loaded.
      await expect
        .poll(() =>
          panel.locator('img.jp-EOJLab-thumb').evaluateAll(imgs =>
            imgs
              .filter(i => {
                const list = i.closest('.jp-EOJLab-results');
                const a = i.getBoundingClientRect();
                const b = list?.getBoundingClientRect();
                return (
                  !!b && b.height > 0 && a.bottom > b.top && a.top < b.bottom
                );
              })
              .every(i => (i as HTMLImageElement).naturalWidth > 0)
          )
        )
        .toBe(true);
      await page.screenshot({
        path: `${SHOTS}/first-hour-layout-${name}-${width}x${height}.png`
      });
      shots[name] = await panel
        .locator('label > span, .jp-EOJLab-sandboxDir, option:checked')
        .evaluateAll(nodes =>
          nodes
            .filter(
              n =>
                (n as HTMLElement).scrollWidth >
                (n as HTMLElement).clientWidth + 1
            )
            .map(n => n.textContent ?? '')
        );
      expect(shots[name], `${name} at ${width}x${height}: cut labels`).toEqual(
        []
      );
    };

    // Search: the Sentinel-2 collection (its filters shown), results, one selected.
    await panel.getByLabel('Catalogue', { exact: true }).selectOption('demo');
    await panel
      .getByLabel('Collection', { exact: true })
      .fill('sentinel-2-l2a-demo');
    await expect(panel.locator('[data-filter]').first()).toBeVisible();
    const searched = answer(page, '/search', 'POST');
    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    expect((await searched).status()).toBe(200);
    await expect(panel.locator('.jp-EOJLab-result').first()).toBeVisible();
    await shoot('search');

    // Processes: the NDVI form with a typed box.
    await foldSection(panel, 'Search');
    await openSection(panel, 'Processes');
    const processes = panel.locator('#jp-EOJLab-section-processes');
    await processes
      .locator('[data-process-id="ndvi"] button')
      .click({ timeout: 60000 });
    const form = processes.locator('form[data-process-id="ndvi"]');
    const edges = form.locator('[data-input-id="bbox"] input[type="number"]');
    for (const [i, value] of ['1.3', '43.55', '1.55', '43.8'].entries()) {
      await edges.nth(i).fill(value);
    }
    await shoot('processes');

    // Jobs: run it, follow it to the end.
    const submitted = answer(page, '/execution', 'POST');
    await form.getByRole('button', { name: 'Execute' }).click();
    const job = await (await submitted).json();
    await foldSection(panel, 'Processes');
    await openSection(panel, 'Jobs');
    const row = panel.locator(`li[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-status', 'successful', {
      timeout: 90000
    });
    await shoot('jobs');

    // The same at 1000x700.
    await page.setViewportSize({ width: 1000, height: 700 });
    await foldSection(panel, 'Jobs');
    await openSection(panel, 'Search');
    await shoot('search');
    await foldSection(panel, 'Search');
    await openSection(panel, 'Processes');
    await shoot('processes');
    await foldSection(panel, 'Processes');
    await openSection(panel, 'Jobs');
    await shoot('jobs');
  });
});
