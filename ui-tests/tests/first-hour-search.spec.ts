/**
 * Issue 19, the first hour of a new user, the search form: the collection box asks for
 * queryables only for a real choice (bug 4); the common filters first, readable, typeable,
 * with Search and the results in view (friction 7); the search comes back after a reload
 * (friction 11).
 */
import { expect, test } from '@jupyterlab/galata';
import { answer, drawBox, SHOTS, SIDEBAR } from './helpers';

const S2 = 'sentinel-2-l2a-demo';

test.use({ viewport: { width: 1400, height: 900 } });

/** The Earth Observation sidebar, 420 px wide, with the demo catalogue chosen. */
async function searchDemo(page: any): Promise<any> {
  await page.sidebar.openTab(SIDEBAR);
  await page.sidebar.setWidth(420);
  const panel = page.locator(`#${SIDEBAR}`);
  const collections = answer(page, '/catalogues/demo/collections', 'GET');
  await panel.getByLabel('Catalogue', { exact: true }).selectOption('demo');
  expect((await collections).status()).toBe(200);
  return panel;
}

/** Runs in the page: is the element whole on screen and not hidden by a clipping
 * ancestor (its centre and its corners hit it)? */
function wholeInView(element: Element): boolean {
  const rect = element.getBoundingClientRect();
  if (rect.height === 0 || rect.bottom > window.innerHeight || rect.top < 0) {
    return false;
  }
  const inset = 2;
  const points = [
    [rect.left + rect.width / 2, rect.top + rect.height / 2],
    [rect.left + inset, rect.top + inset],
    [rect.right - inset, rect.bottom - inset]
  ];
  return points.every(([x, y]) => {
    const hit = document.elementFromPoint(x, y);
    return !!hit && (hit === element || element.contains(hit));
  });
}

test.describe('First hour: the search form (issue 19)', () => {
  test('typing a collection id asks queryables once, for a listed collection only (bug 4)', async ({
    page
  }) => {
    const asked: string[] = [];
    page.on('request', (request: any) => {
      const path = new URL(request.url()).pathname;
      if (path.endsWith('/queryables')) {
        asked.push(decodeURIComponent(path.split('/collections/')[1]));
      }
    });
    const warnings: string[] = [];
    page.on('console', (message: any) => {
      if (/queryables/.test(message.text())) {
        warnings.push(message.text());
      }
    });
    const panel = await searchDemo(page);
    const box = panel.getByLabel('Collection', { exact: true });

    // An id the catalogue does not list, typed letter by letter: nothing is asked, and the
    // box says so once it rests.
    await box.pressSequentially('sentinel-9-unknown', { delay: 40 });
    await expect(box).toHaveAttribute('aria-invalid', 'true');
    await expect(panel.locator('.jp-EOJLab-searchFieldHint')).toContainText(
      'Not a collection of this catalogue'
    );
    expect(asked).toEqual([]);

    // A listed id, typed letter by letter: one request, for that id, once typed.
    await box.fill('');
    const queryables = answer(page, `/collections/${S2}/queryables`, 'GET');
    await box.pressSequentially(S2, { delay: 40 });
    expect((await queryables).status()).toBe(200);
    await expect(panel.locator('[data-filter="cloud_cover"]')).toBeVisible();
    await expect(box).toHaveAttribute('aria-invalid', 'false');
    await page.waitForTimeout(1000);
    expect(asked).toEqual([`${S2}/queryables`]);
    expect(warnings).toEqual([]);
  });

  test('common filters first, readable and typeable; Search and five results in view (friction 7)', async ({
    page
  }) => {
    const panel = await searchDemo(page);
    const queryables = answer(page, `/collections/${S2}/queryables`, 'GET');
    await panel.getByLabel('Collection', { exact: true }).fill(S2);
    const schema = await (await queryables).json();
    // Offered: lists of values and numbers (free text is not).
    const offered = Object.values(schema.properties).filter(
      (p: any) => p.enum || p.type === 'number' || p.type === 'integer'
    ).length;
    expect(offered).toBeGreaterThanOrEqual(12);

    // The common filters, by readable names, the raw name in a tooltip.
    const cloud = panel.locator('[data-filter="cloud_cover"]');
    await expect(cloud).toBeVisible();
    await expect(cloud.locator('> span')).toHaveText('Cloud cover');
    await expect(cloud).toHaveAttribute('title', 'cloud_cover');
    await expect(panel.locator('[data-filter="platform"] > span')).toHaveText(
      'Platform'
    );
    const shown = await panel
      .locator('.jp-EOJLab-filter:visible > span')
      .allTextContents();
    expect(shown).toEqual(['Cloud cover', 'Platform']);

    // The cloud slider: 0-100 in whole steps.
    const slider = cloud.getByRole('slider');
    await expect(slider).toHaveAttribute('min', '0');
    await expect(slider).toHaveAttribute('max', '100');
    await expect(slider).toHaveAttribute('step', '1');

    // The rest folded under "More filters", humanised, with sliders on round steps.
    const toggle = panel.getByRole('button', { name: /^More filters/ });
    await expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await expect(panel.locator('[data-filter="s2:mgrs_tile"]')).toHaveCount(0);
    await toggle.click();
    await expect(toggle).toHaveAttribute('aria-expanded', 'true');
    const expected: Record<string, string> = {
      's2:mgrs_tile': 'MGRS tile',
      'mgrs:utm_zone': 'UTM zone',
      relative_orbit: 'Relative orbit',
      'processing:level': 'Processing level',
      product_type: 'Product type'
    };
    for (const [name, label] of Object.entries(expected)) {
      const filter = panel.locator(`[data-filter="${name}"]`);
      await expect(filter.locator('> span')).toHaveText(label);
      await expect(filter).toHaveAttribute('title', name);
    }
    const orbit = panel
      .locator('[data-filter="relative_orbit"]')
      .getByRole('slider');
    await expect(orbit).toHaveAttribute('min', '22');
    await expect(orbit).toHaveAttribute('max', '122');
    await expect(orbit).toHaveAttribute('step', '1');
    const labels = await panel
      .locator('.jp-EOJLab-filter > span')
      .allTextContents();
    expect(labels.length).toBe(offered);
    for (const label of labels) {
      expect(label).not.toMatch(/[_:]/);
    }
    // No label is cut: each fits its column (long ones wrap between words).
    for (const span of await panel.locator('.jp-EOJLab-filter > span').all()) {
      expect(
        await span.evaluate((e: HTMLElement) => e.scrollWidth <= e.clientWidth),
        await span.innerText()
      ).toBe(true);
    }
    // The whole form unfolded, for the user guide (a taller window, so it fits).
    await page.setViewportSize({ width: 1400, height: 1400 });
    await panel.locator('.jp-EOJLab-searchBody').evaluate((e: HTMLElement) => {
      e.scrollTop = 0;
    });
    await panel
      .locator('.jp-EOJLab-form')
      .screenshot({ path: `${SHOTS}/search-filters.png` });
    await page.setViewportSize({ width: 1400, height: 900 });
    await toggle.click();
    await expect(panel.locator('[data-filter="s2:mgrs_tile"]')).toHaveCount(0);

    // A typed value moves the slider and goes into the request.
    const typed = cloud.getByRole('spinbutton');
    await typed.fill('20');
    await expect(slider).toHaveValue('20');
    const request = page.waitForRequest(
      (r: any) =>
        new URL(r.url()).pathname.endsWith('/catalogues/demo/search') &&
        r.method() === 'POST'
    );
    const searched = answer(page, '/catalogues/demo/search', 'POST');
    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    const body = (await request).postDataJSON();
    expect(body.collections).toEqual([S2]);
    expect(body.filters).toEqual({ cloud_cover: { lte: 20 } });
    expect((await searched).status()).toBe(200);
    const results = panel.locator('.jp-EOJLab-result');
    await expect(results.first()).toBeVisible();
    for (const meta of await panel
      .locator('.jp-EOJLab-result-meta')
      .allTextContents()) {
      const percent = Number(/☁ (\d+)/.exec(meta)![1]);
      expect(percent).toBeLessThanOrEqual(20);
    }

    // In view at 1400x900: the filters, the Search button and five whole results.
    await page.mouse.move(700, 450);
    await page.waitForTimeout(300);
    const section = panel.locator('#jp-EOJLab-section-search');
    await section.screenshot({ path: `${SHOTS}/search-form-1400x900.png` });
    await page.screenshot({ path: `${SHOTS}/search-form-1400x900-page.png` });
    const search = panel.getByRole('button', { name: 'Search', exact: true });
    expect(await search.evaluate(wholeInView), 'the Search button').toBe(true);
    expect(await slider.evaluate(wholeInView), 'the cloud filter').toBe(true);
    expect(await typed.evaluate(wholeInView), 'the typed cloud cover').toBe(
      true
    );
    const whole = await results.evaluateAll((rows: Element[], fn: string) => {
      const check = eval(`(${fn})`);
      return rows.filter(row => check(row)).length;
    }, wholeInView.toString());
    expect(whole, 'results whole in view').toBeGreaterThanOrEqual(5);

    // A smaller window: no label cut, nothing overlapping.
    await page.setViewportSize({ width: 1000, height: 700 });
    await page.waitForTimeout(500);
    for (const span of await panel
      .locator('.jp-EOJLab-searchField > span')
      .all()) {
      expect(
        await span.evaluate((e: HTMLElement) => e.scrollWidth <= e.clientWidth),
        await span.innerText()
      ).toBe(true);
    }
    await section.screenshot({ path: `${SHOTS}/search-form-1000x700.png` });
    // And in a narrow sidebar: the rows wrap, no label is cut.
    await page.sidebar.setWidth(260);
    await page.waitForTimeout(300);
    for (const span of await panel
      .locator('.jp-EOJLab-searchField > span')
      .all()) {
      expect(
        await span.evaluate((e: HTMLElement) => e.scrollWidth <= e.clientWidth),
        await span.innerText()
      ).toBe(true);
    }
    await section.screenshot({ path: `${SHOTS}/search-form-narrow.png` });
  });

  test('the search comes back after a reload (friction 11)', async ({
    page
  }) => {
    const saves: string[] = [];
    page.on('request', (request: any) => {
      if (
        /\/api\/workspaces/.test(request.url()) &&
        request.method() === 'PUT'
      ) {
        saves.push(request.postData() ?? '');
      }
    });
    const panel = await searchDemo(page);
    const queryables = answer(page, `/collections/${S2}/queryables`, 'GET');
    await panel.getByLabel('Collection', { exact: true }).fill(S2);
    await queryables;
    await panel.getByLabel('From', { exact: true }).fill('2025-02-01');
    await panel.getByLabel('To', { exact: true }).fill('2025-05-31');
    await drawBox(page, panel, [0.3, 43.1, 2.1, 44.4], [0.9, 43.5, 1.5, 43.9]);
    const area = panel.locator('.jp-EOJLab-area-text');
    await expect(area).toHaveAttribute('data-area', 'bbox');
    const areaText = await area.innerText();
    const cloud = panel.locator('[data-filter="cloud_cover"]');
    await cloud.getByRole('spinbutton').fill('30');
    const searched = answer(page, '/catalogues/demo/search', 'POST');
    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    expect((await searched).status()).toBe(200);
    const results = panel.locator('.jp-EOJLab-result');
    await expect(results.first()).toBeVisible();
    const ids = await results.evaluateAll((rows: Element[]) =>
      rows.map(row => row.getAttribute('data-item-id'))
    );
    expect(ids.length).toBeGreaterThan(1);
    await results.nth(1).click();
    await expect(results.nth(1)).toHaveClass(/jp-mod-selected/);
    const count = await panel.locator('.jp-EOJLab-count').innerText();
    // Saved in the workspace (JupyterLab's state) with the selected product.
    await expect
      .poll(() => saves.some(body => body.includes(ids[1]!)), {
        timeout: 10000
      })
      .toBe(true);

    await page.reload();
    await page.sidebar.openTab(SIDEBAR);
    await expect(panel.getByLabel('Catalogue', { exact: true })).toHaveValue(
      'demo'
    );
    await expect(panel.getByLabel('Collection', { exact: true })).toHaveValue(
      S2
    );
    await expect(panel.getByLabel('From', { exact: true })).toHaveValue(
      '2025-02-01'
    );
    await expect(panel.getByLabel('To', { exact: true })).toHaveValue(
      '2025-05-31'
    );
    await expect(area).toHaveAttribute('data-area', 'bbox');
    await expect(area).toHaveText(areaText);
    await expect(cloud.getByRole('spinbutton')).toHaveValue('30');
    await expect(cloud.getByRole('slider')).toHaveValue('30');
    // The results come back (the last search re-run), the same products, the same one
    // selected.
    await expect(panel.locator('.jp-EOJLab-count')).toHaveText(count);
    await expect
      .poll(() =>
        results.evaluateAll((rows: Element[]) =>
          rows.map(row => row.getAttribute('data-item-id'))
        )
      )
      .toEqual(ids);
    await expect(
      panel.locator(`.jp-EOJLab-result[data-item-id="${ids[1]}"]`)
    ).toHaveClass(/jp-mod-selected/);
    await page.screenshot({ path: `${SHOTS}/search-restored.png` });
  });
});
