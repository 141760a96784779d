import { expect, test } from '@jupyterlab/galata';
import { SIDEBAR, SHOTS, openSection } from './helpers';

/** Click Execute and return the id of the job the server created. */
async function execute(page: any, form: any): Promise<string> {
  const answer = page.waitForResponse(
    (r: any) =>
      new URL(r.url()).pathname.endsWith('/execution') &&
      r.request().method() === 'POST'
  );
  await form.getByRole('button', { name: 'Execute' }).click();
  const response = await answer;
  expect(response.status()).toBe(201);
  return (await response.json()).id;
}

/** Runs in the page: the OpenLayers map of the sidebar (through the app's shell). */
function sidebarMap(): any {
  const app = (window as any).jupyterapp;
  const sidebar = Array.from(app.shell.widgets('left') as Iterable<any>).find(
    (w: any) => w.id === 'jp-EOJLab-sidebar'
  ) as any;
  const search = sidebar.widgets.find(
    (w: any) => w.id === 'jp-EOJLab-section-search'
  );
  return search.map;
}

test.use({ viewport: { width: 1400, height: 1100 } });

test.describe('Processes and jobs (eo-jlab demo sandbox)', () => {
  test.beforeEach(async ({ page }) => {
    test.setTimeout(180000);
    await page.sidebar.openTab(SIDEBAR);
    await page.sidebar.setWidth(440);
  });

  test('NDVI: draw the box, run async, follow it, see the result on the map', async ({
    page
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);
    await openSection(panel, 'Processes');
    const processes = panel.locator('#jp-EOJLab-section-processes');
    // The demo's only processing service (the local PyWPS sandbox) is chosen at once.
    const ndvi = processes.locator('[data-process-id="ndvi"] button');
    await expect(ndvi).toBeVisible({ timeout: 60000 });
    await expect(
      processes.locator('[data-process-id="area_buffer"]')
    ).toBeVisible();
    await expect(
      processes.locator('[data-process-id="slow_progress"]')
    ).toBeVisible();
    await processes.getByLabel('Filter processes').fill('vegetation');
    await expect(
      processes.locator('[data-process-id="slow_progress"]')
    ).toHaveCount(0);
    await ndvi.click();

    const form = processes.locator('form[data-process-id="ndvi"]');
    await expect(form.locator('[data-input-id="bbox"]')).toBeVisible();
    await expect(form.getByLabel('Async (follow it in Jobs)')).toBeChecked();

    // Validation before submit: a threshold out of its range is refused in the browser.
    const threshold = form.locator('[data-input-id="threshold"] input');
    await threshold.fill('3');
    await form.getByRole('button', { name: 'Execute' }).click();
    await expect(
      form.locator('[data-input-id="threshold"] .jp-EOJLab-fieldError')
    ).toContainText('Enter a value in');
    await threshold.fill('0.4');

    // Draw the box on the map: the Search section (the map) unfolds.
    await form.getByRole('button', { name: 'Draw on map' }).click();
    const map = panel.locator('.jp-EOJLab-map');
    await expect(map).toHaveClass(/jp-mod-drawing/);
    const box = (await map.boundingBox())!;
    const corners = await page.evaluate(`(() => {
      const map = (${sidebarMap.toString()})().olMap;
      const R = 20037508.342789244;
      const merc = ([lon, lat]) => [lon * R / 180,
        Math.log(Math.tan((90 + lat) * Math.PI / 360)) / (Math.PI / 180) * R / 180];
      const [w, s] = merc([1.1, 43.4]), [e, n] = merc([1.8, 44.0]);
      map.getView().fit([w, s, e, n], { duration: 0 });
      map.renderSync();
      return [map.getPixelFromCoordinate(merc([1.30, 43.80])),
              map.getPixelFromCoordinate(merc([1.55, 43.55]))];
    })()`);
    const [[x1, y1], [x2, y2]] = corners as number[][];
    await page.mouse.move(box.x + x1, box.y + y1);
    await page.mouse.down();
    await page.mouse.move(box.x + x2, box.y + y2, { steps: 5 });
    await page.mouse.up();
    const edges = form.locator('[data-input-id="bbox"] input[type="number"]');
    await expect(edges.nth(0)).not.toHaveValue('');
    const west = Number(await edges.nth(0).inputValue());
    const north = Number(await edges.nth(3).inputValue());
    expect(west).toBeGreaterThan(1.25);
    expect(west).toBeLessThan(1.35);
    expect(north).toBeGreaterThan(43.75);
    expect(north).toBeLessThan(43.85);
    await page.screenshot({ path: `${SHOTS}/processes-ndvi-form.png` });

    const jobId = await execute(page, form);
    const jobs = panel.locator('#jp-EOJLab-section-jobs');
    const row = jobs.locator(`li[data-job-id="${jobId}"]`);
    await expect(row).toBeVisible({ timeout: 30000 });
    await expect(row).toHaveAttribute('data-status', 'successful', {
      timeout: 90000
    });
    // The end of the job is announced.
    await expect(
      page.locator('.jp-toast-message', { hasText: 'NDVI' }).first()
    ).toBeVisible({ timeout: 15000 });

    // The PNG lands on the map, placed by the process's extent output.
    const png = page.waitForResponse((r: any) =>
      new URL(r.url()).pathname.endsWith(`/jobs/${jobId}/results/ndvi_png`)
    );
    await row.locator('.jp-EOJLab-jobPreview').click();
    const pngResponse = await png;
    expect(pngResponse.status()).toBe(200);
    expect(pngResponse.headers()['content-type']).toBe('image/png');
    await expect(row.locator('.jp-EOJLab-jobPreview')).toHaveAttribute(
      'aria-pressed',
      'true'
    );
    const extent = (await page.evaluate(`(() => {
      const m = (${sidebarMap.toString()})();
      const layer = m.olMap.getLayers().getArray().find(l => l.get('eoJLabOverlay') &&
        l.getSource() && l.getSource().getImageExtent);
      return layer.getSource().getImageExtent();
    })()`)) as number[];
    expect(extent[0]).toBeCloseTo(west, 1);
    expect(extent[3]).toBeCloseTo(north, 1);

    await row.locator('.jp-EOJLab-jobDetails').click();
    await expect(
      row.locator('[data-result-id="mean_ndvi"] .jp-EOJLab-jobValue')
    ).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/processes-ndvi-result.png` });

    // The raw exchange, for service providers.
    await row.locator('.jp-EOJLab-jobExchange').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('Execute');
    await expect(dialog).toContainText('ProcessSucceeded');
    await page.screenshot({ path: `${SHOTS}/processes-exchange.png` });
    await page.keyboard.press('Escape');

    // A reload shows the same persisted list.
    await page.reload();
    await page.sidebar.openTab(SIDEBAR);
    await openSection(panel, 'Jobs');
    await expect(
      panel.locator(`#jp-EOJLab-section-jobs li[data-job-id="${jobId}"]`)
    ).toHaveAttribute('data-status', 'successful', { timeout: 20000 });
  });

  test('slow process: live progress, then dismiss another run', async ({
    page
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);
    await openSection(panel, 'Processes');
    const processes = panel.locator('#jp-EOJLab-section-processes');
    await processes
      .locator('[data-process-id="slow_progress"] button')
      .click({ timeout: 60000 });
    const form = processes.locator('form[data-process-id="slow_progress"]');
    await form.locator('[data-input-id="seconds"] input').fill('8');
    await form.locator('[data-input-id="steps"] input').fill('8');
    const jobId = await execute(page, form);

    const jobs = panel.locator('#jp-EOJLab-section-jobs');
    const row = jobs.locator(`li[data-job-id="${jobId}"]`);
    await expect(row).toBeVisible({ timeout: 30000 });
    // Record the progress values the row shows until the job ends.
    const seen = new Set<string>();
    const deadline = Date.now() + 60000;
    let shot = false;
    while (Date.now() < deadline) {
      const status = await row.getAttribute('data-status');
      const bar = row.locator('progress[value]');
      if ((await bar.count()) > 0) {
        seen.add((await bar.getAttribute('value')) ?? '');
        if (!shot && seen.size >= 2) {
          await page.screenshot({ path: `${SHOTS}/jobs-progress.png` });
          shot = true;
        }
      }
      if (status === 'successful' || status === 'failed') {
        break;
      }
      await page.waitForTimeout(250);
    }
    await expect(row).toHaveAttribute('data-status', 'successful');
    const between = [...seen].filter(v => v !== '' && v !== '0' && v !== '100');
    expect(between.length).toBeGreaterThanOrEqual(2);

    // Dismiss a second run while it runs.
    await form.locator('[data-input-id="seconds"] input').fill('60');
    const secondId = await execute(page, form);
    const second = jobs.locator(`li[data-job-id="${secondId}"]`);
    await second.locator('.jp-EOJLab-jobDismiss').click();
    await expect(second).toHaveAttribute('data-status', 'dismissed', {
      timeout: 15000
    });
    await jobs.locator('.jp-EOJLab-jobFilter').selectOption('dismissed');
    await expect(second).toBeVisible();
    await expect(row).toHaveCount(0);
    await page.screenshot({ path: `${SHOTS}/jobs-dismissed.png` });
  });
});
