/**
 * The first hour of a new user (issue 19): a job's "Copy as code" pasted into a notebook runs
 * (bug 1: a TypeError on the NDVI extent, a bounding box), names no private sandbox address
 * (bug 2), and the demo's example notebook names the sections and buttons the panel has
 * (bug 6: it said "Sharing → Public → Copy").
 */
import { expect, test } from '@jupyterlab/galata';
import { SIDEBAR, SHOTS, answer, foldSection, openSection } from './helpers';

test.use({ viewport: { width: 1400, height: 900 } });

test.describe('First hour: job code and the demo example (issue 19)', () => {
  test.beforeEach(async ({ page }) => {
    test.setTimeout(240000);
    await page.sidebar.openTab(SIDEBAR);
    await page.sidebar.setWidth(440);
  });

  test('an NDVI job copied as code runs in a notebook and prints the extent', async ({
    page,
    context
  }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const panel = page.locator(`#${SIDEBAR}`);
    await openSection(panel, 'Processes');
    const processes = panel.locator('#jp-EOJLab-section-processes');
    const ndvi = processes.locator('[data-process-id="ndvi"] button');
    await expect(ndvi).toBeVisible({ timeout: 60000 });
    await ndvi.click();
    const form = processes.locator('form[data-process-id="ndvi"]');
    await form.locator('[data-input-id="threshold"] input').fill('0.4');
    const submitted = answer(page, '/execution', 'POST');
    await form.getByRole('button', { name: 'Execute' }).click();
    const response = await submitted;
    expect(response.status()).toBe(201);
    const job = await response.json();

    await foldSection(panel, 'Processes');
    await openSection(panel, 'Jobs');
    const row = panel.locator(
      `#jp-EOJLab-section-jobs li[data-job-id="${job.id}"]`
    );
    await expect(row).toHaveAttribute('data-status', 'successful', {
      timeout: 90000
    });
    const final = await page.evaluate(async (id: string) => {
      const answer = await fetch(`/eo-jlab/jobs/${id}`);
      return answer.json();
    }, job.id);
    const extent = final.results.find((r: any) => r.id === 'extent').value;
    expect(extent.bbox).toHaveLength(4);

    await row.locator('.jp-EOJLab-jobDetails').click();
    const snippet = answer(page, '/eo-jlab/snippets', 'POST');
    await row.locator('.jp-EOJLab-jobCopy').click();
    expect((await snippet).status()).toBe(200);
    await expect(row.locator('.jp-EOJLab-jobCopy')).toHaveText('Copied');
    const code: string = await page.evaluate(() =>
      navigator.clipboard.readText()
    );
    expect(code).toContain('from owslib.wps import');
    // Bug 2 (the sandbox's address is read at run time): no private port in the code.
    expect(code).not.toMatch(/127\.0\.0\.1:\d+/);
    await page.screenshot({ path: `${SHOTS}/first-hour-job-copied.png` });

    // Pasted into a new Python notebook and run: no error, the extent as four numbers.
    await page.notebook.createNew('first-hour-job.ipynb', {
      kernel: 'python3'
    });
    await page.notebook.enterCellEditingMode(0);
    await page.keyboard.press('Control+v');
    await expect
      .poll(async () => (await page.notebook.getCellTextInput(0)).trim())
      .toBe(code.trim());
    await page.notebook.runCell(0, true);
    const output = page.locator('.jp-Cell').first().locator('.jp-OutputArea');
    await expect(output).toContainText('mean_ndvi:', { timeout: 60000 });
    await expect(output.locator('[data-mime-type*="error"]')).toHaveCount(0);
    await expect(output).not.toContainText('Error');
    const text = await output.innerText();
    const line = text.split('\n').find(l => l.startsWith('extent: '));
    expect(line).toBeTruthy();
    const printed = JSON.parse(line!.slice('extent: '.length));
    expect(printed.bbox).toHaveLength(4);
    for (const value of printed.bbox) {
      expect(typeof value).toBe('number');
    }
    expect(printed).toEqual(extent);
    await output.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/first-hour-job-code-run.png` });
  });

  test('the example notebook names the Shared section, its Public tab and its button', async ({
    page
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);
    await foldSection(panel, 'Search');
    await openSection(panel, 'Shared');
    const section = panel.locator('#jp-EOJLab-section-shared');
    const tab = section.locator('.jp-EOJLab-shareTab[data-scope="public"]');
    await tab.click();
    const examples = section.locator('li[data-share-name="examples"]');
    await expect(examples).toBeVisible({ timeout: 15000 });
    await examples.locator('.jp-EOJLab-shareOpen').click();
    const read = answer(page, '/files/eo-example.ipynb', 'GET');
    await examples
      .locator('.jp-EOJLab-shareFile', { hasText: 'eo-example.ipynb' })
      .click();
    expect((await read).status()).toBe(200);
    const view = page.locator('.jp-EOJLab-sharedView');
    await expect(view).toContainText('Earth Observation in the eo_jlab demo');

    // The path the notebook gives, step by step, is the panel's own words.
    const intro = (await view.innerText()).replace(/\s+/g, ' ');
    const path = intro.match(/\(([^()]*→[^()]*)\)/);
    expect(path).toBeTruthy();
    const steps = path![1].split('→').map(s => s.replace(/\*/g, '').trim());
    expect(steps).toHaveLength(3);
    expect(steps[0]).toMatch(/^Shared section\b/);
    await expect(
      panel.getByRole('heading', { name: 'Shared Section' })
    ).toBeVisible();
    await expect(tab).toContainText(steps[1]);
    await expect(
      examples.getByRole('button', { name: steps[2], exact: true })
    ).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/first-hour-example-notebook.png` });
  });
});
