/**
 * Issue 6, attack item: HTML and script in every text the browser shows (catalogue, process
 * and job texts, share messages) render as text, never as elements, never run.
 *
 * The payloads each set `window.__pwned` if they ever run; markup that became elements is
 * looked for in the whole page (an `img` with `src="x"`, a `script` or an `svg` with
 * `onload`, a `b` holding "bold", any `on*` attribute, any `javascript:` URL attribute).
 *
 * Sources: the "hostile" static catalogue (fixtures/hostile/, an endpoint of
 * jupyter_server_test_config.py), a sandbox process file uploaded at test time
 * (fixtures/hostile-sandbox/), and a notebook shared by the test.
 */
import { expect, test } from '@jupyterlab/galata';
import { SIDEBAR, SHOTS, openSection, foldSection, answer } from './helpers';
import * as fs from 'fs';
import * as path from 'path';

const SANDBOX_FIXTURES = path.resolve(
  __dirname,
  '..',
  'fixtures',
  'hostile-sandbox'
);

const IMG = '<img src=x onerror="window.__pwned=1">';
const SCRIPT = '<script>window.__pwned=2</script>';
const SVG = '<svg onload=window.__pwned=3>';
const JS_HREF = 'javascript:window.__pwned=4';
const BOLD = '"><b>bold</b>';
const ENDPOINT_TITLE =
  'Hostile <img src=x onerror="window.__pwned=5"> catalogue';

/** Runs in the page: every trace of a payload that ran or became markup. */
function traces(): { found: string[]; pwned: unknown } {
  const found: string[] = [];
  const urlAttributes = ['href', 'src', 'action', 'formaction', 'xlink:href'];
  for (const element of Array.from(document.querySelectorAll('*'))) {
    const tag = element.tagName.toLowerCase();
    for (const attribute of Array.from(element.attributes)) {
      if (/^on/i.test(attribute.name)) {
        found.push(`<${tag} ${attribute.name}="${attribute.value}">`);
      }
      if (
        urlAttributes.includes(attribute.name.toLowerCase()) &&
        /^\s*javascript:/i.test(attribute.value)
      ) {
        found.push(`<${tag} ${attribute.name}="${attribute.value}">`);
      }
    }
    if (tag === 'img' && element.getAttribute('src') === 'x') {
      found.push('<img src="x">');
    }
    if (tag === 'script' && (element.textContent ?? '').includes('__pwned')) {
      found.push('<script> with a payload');
    }
    if (tag === 'b' && /bold/.test(element.textContent ?? '')) {
      found.push('<b>bold</b>');
    }
  }
  return { found, pwned: (window as any).__pwned };
}

/** Messages of the browser dialogs (alert, confirm, prompt) the page opened. */
const browserDialogs: string[] = [];

/** Nothing ran, nothing became an element: in the whole page, then in the given roots. */
async function expectInert(page: any, roots: any[] = []): Promise<void> {
  expect(browserDialogs).toEqual([]);
  const result = await page.evaluate(traces);
  expect(result.found).toEqual([]);
  expect(result.pwned).toBeUndefined();
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  for (const root of roots) {
    expect(
      await root
        .locator('img[src="x"], script, svg[onload], [onerror], [onload], b')
        .count()
    ).toBe(0);
  }
}

/** The text of each element matched, as the DOM holds it (for `option`s, not visible). */
async function texts(locator: any): Promise<string[]> {
  return locator.evaluateAll((elements: Element[]) =>
    elements.map(e => e.textContent ?? '')
  );
}

test.use({ viewport: { width: 1400, height: 1100 } });

test.describe('Hostile texts show as text (issue 6)', () => {
  test.beforeEach(async ({ page }) => {
    test.setTimeout(180000);
    // An alert, confirm or prompt would be script running: recorded, then checked.
    browserDialogs.length = 0;
    page.on('dialog', (dialog: any) => {
      browserDialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.sidebar.openTab(SIDEBAR);
    await page.sidebar.setWidth(460);
  });

  test('catalogue: endpoint, collections, queryables, results and details', async ({
    page
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);

    // The endpoint itself: its configured title, and the root catalogue's title (health).
    const endpoint = panel.locator('[data-endpoint-id="hostile"]');
    await expect(endpoint).toHaveAttribute('data-health', 'ok', {
      timeout: 30000
    });
    await expect(
      endpoint.getByText(ENDPOINT_TITLE, { exact: true })
    ).toBeVisible();
    await expect(endpoint.locator('.jp-EOJLab-health')).toHaveAttribute(
      'title',
      new RegExp(`: ${IMG.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
    );

    const catalogue = panel.getByLabel('Catalogue', { exact: true });
    await catalogue.selectOption('hostile');
    expect(await texts(catalogue.locator('option[value="hostile"]'))).toEqual([
      ENDPOINT_TITLE
    ]);

    // Collection titles (the collection input's suggestions).
    const collections = panel.locator('datalist option');
    await expect(collections).toHaveCount(1);
    expect(await texts(collections)).toEqual([SCRIPT]);
    await expect(collections).toHaveAttribute('value', 'hostile-collection');
    await panel
      .getByLabel('Collection', { exact: true })
      .fill('hostile-collection');

    // Queryables from the items: a property named <b>key</b> and string values as choices
    // (not a common filter: it sits under "More filters").
    await panel.getByRole('button', { name: /^More filters/ }).click();
    const keyFilter = panel.locator('[data-filter="<b>key</b>"]');
    await expect(keyFilter).toBeVisible();
    await expect(
      keyFilter.getByText('<b>key</b>', { exact: true })
    ).toBeVisible();
    expect(await texts(keyFilter.locator('option'))).toEqual(['Any', SVG]);
    const platformFilter = panel.locator('[data-filter="platform"]');
    expect(await texts(platformFilter.locator('option'))).toEqual([
      'Any',
      SCRIPT
    ]);
    expect(
      await texts(panel.locator('[data-filter="product_type"] option'))
    ).toEqual(['Any', BOLD]);

    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    const result = panel.locator('.jp-EOJLab-result');
    await expect(result).toHaveCount(1);
    await expect(result).toHaveAttribute('data-item-id', BOLD);
    await expect(
      result.locator('.jp-EOJLab-result-title').getByText(IMG, { exact: true })
    ).toBeVisible();
    // The `javascript:` thumbnail is only ever a query parameter of the server's quicklook
    // route (which refuses it), never a URL the browser follows.
    await expect(result.locator('img.jp-EOJLab-thumb')).toHaveAttribute(
      'src',
      /\/eo-jlab\/catalogues\/hostile\/quicklook\?href=javascript%3Awindow.__pwned%3D4$/
    );
    const thumb = await page.request.get(
      (await result.locator('img.jp-EOJLab-thumb').getAttribute('src'))!
    );
    expect(thumb.status()).toBe(404);
    await expectInert(page, [panel]);

    // The details of the item.
    await result.click();
    const details = panel.locator('.jp-EOJLab-details');
    await expect(
      details.locator('.jp-EOJLab-details-title').getByText(IMG, {
        exact: true
      })
    ).toBeVisible();
    const row = (label: string) =>
      details.locator('tr', {
        has: page.locator('th', { hasText: new RegExp(`^${label}$`) })
      });
    await expect(row('Id').getByText(BOLD, { exact: true })).toBeVisible();
    await expect(
      row('Platform').getByText(SCRIPT, { exact: true })
    ).toBeVisible();
    await expect(
      row('Instrument').getByText(SVG, { exact: true })
    ).toBeVisible();
    await expect(
      row('Product type').getByText(BOLD, { exact: true })
    ).toBeVisible();
    // Assets: hostile key, title and type, `javascript:` hrefs, all as text; only the
    // https address is a link, and no `javascript:` address ever is.
    const assets = details.locator('.jp-EOJLab-assets');
    const asset = (key: string) =>
      assets.locator('.jp-EOJLab-asset', {
        has: page.locator('strong').getByText(key, { exact: true })
      });
    await expect(asset(SCRIPT)).toBeVisible();
    await expect(asset(SCRIPT).locator('.jp-EOJLab-assetType')).toHaveText(
      'text/html'
    );
    await expect(asset(SCRIPT).locator('.jp-EOJLab-assetHref')).toHaveText(
      JS_HREF
    );
    await expect(asset(SCRIPT).locator('a')).toHaveCount(0);
    await expect(asset('data').locator('.jp-EOJLab-assetType')).toHaveText(
      BOLD
    );
    await expect(asset('data').getByText(SVG, { exact: true })).toBeVisible();
    await expect(asset('data').locator('a')).toHaveAttribute(
      'href',
      'https://example.invalid/data.tif'
    );
    await expect(details.locator('a')).toHaveCount(1);
    await expect(details.locator('a[href^="javascript" i]')).toHaveCount(0);
    await expect(details.locator('img.jp-EOJLab-quicklook')).toHaveAttribute(
      'src',
      /\/quicklook\?href=javascript%3A/
    );
    await details.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/hostile-catalogue.png` });
    await expectInert(page, [panel]);
  });

  test('processes and jobs: descriptions, status messages, errors, outputs', async ({
    page,
    request
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);
    const files = ['hostile_xss.py', 'hostile_broken.py'];
    try {
      for (const file of files) {
        expect(
          await page.contents.uploadContent(
            fs.readFileSync(path.join(SANDBOX_FIXTURES, file), 'utf-8'),
            'text',
            `sandbox/${file}`
          )
        ).toBe(true);
      }

      // Search the hostile catalogue first: its assets feed the complex inputs.
      await panel
        .getByLabel('Catalogue', { exact: true })
        .selectOption('hostile');
      await panel.getByRole('button', { name: 'Search', exact: true }).click();
      await expect(panel.locator('.jp-EOJLab-result')).toHaveCount(1);
      await foldSection(panel, 'Search');

      await openSection(panel, 'Processes');
      const processes = panel.locator('#jp-EOJLab-section-processes');
      const reload = processes.locator('.jp-EOJLab-sandboxReload');
      await expect(reload).toBeEnabled({ timeout: 60000 });
      const reloaded = answer(page, '/reload', 'POST');
      await reload.click();
      expect((await reloaded).status()).toBe(200);

      // The file that fails to load: its message, as text.
      const errors = processes.locator('.jp-EOJLab-sandboxErrors li', {
        hasText: 'hostile_broken.py'
      });
      await expect(errors).toContainText(`${IMG} ${SVG}`);
      // ... and in the sandbox log.
      await processes.locator('.jp-EOJLab-sandboxLogToggle').click();
      await expect(
        processes.locator('.jp-EOJLab-sandboxLog pre')
      ).toContainText(`RuntimeError: ${IMG} ${SVG}`);
      await processes.locator('.jp-EOJLab-sandboxLogToggle').click();

      // The process list: title as text, abstract as the tooltip.
      const entry = processes.locator('[data-process-id="hostile_xss"]');
      await expect(
        entry.locator('.jp-EOJLab-processTitle').getByText(IMG, {
          exact: true
        })
      ).toBeVisible({ timeout: 30000 });
      await expect(entry.locator('button')).toHaveAttribute('title', SCRIPT);
      await expectInert(page, [panel]);
      await entry.locator('button').click();

      // The form: title, abstract, version, input and output titles and abstracts.
      const form = processes.locator('form[data-process-id="hostile_xss"]');
      await expect(
        form.locator('h3').getByText(IMG, { exact: true })
      ).toBeVisible();
      await expect(
        form.locator('.jp-EOJLab-abstract').getByText(SCRIPT, { exact: true })
      ).toBeVisible();
      await expect(form.locator('.jp-EOJLab-processMeta')).toHaveText(
        `hostile_xss · version ${BOLD}`
      );
      const choice = form.locator('[data-input-id="choice"]');
      await expect(choice.locator('legend')).toContainText(SVG);
      await expect(
        choice.getByText(BOLD, { exact: true }).first()
      ).toBeVisible();
      // Allowed values, as the choices of a select.
      const select = choice.locator('select');
      expect(await texts(select.locator('option'))).toEqual(
        expect.arrayContaining([IMG, JS_HREF, 'fail'])
      );
      const data = form.locator('[data-input-id="data"]');
      await expect(data.locator('legend')).toContainText(SCRIPT);
      await expect(data.getByText(IMG, { exact: true })).toBeVisible();
      // Asset titles of the search results, offered for the complex input.
      // (An optional input may start with one empty value, or none.)
      const give = data.getByRole('button', { name: 'Give a value' });
      if (await give.count()) {
        await give.click();
      }
      await data
        .locator('.jp-EOJLab-complexSource select')
        .selectOption('asset');
      const assetOptions = data.locator(
        'select[aria-label^="Asset for"] option'
      );
      expect(await texts(assetOptions)).toContain(`${IMG} · ${SVG}`);
      await data
        .getByRole('button', { name: 'Remove this value of data' })
        .click();
      const outputs = form.locator('details.jp-EOJLab-outputs');
      await outputs.locator('summary').click();
      await expect(
        outputs.locator('strong').getByText(SVG, { exact: true })
      ).toBeVisible();
      await expect(outputs.getByText(BOLD, { exact: true })).toBeVisible();
      await page.screenshot({ path: `${SHOTS}/hostile-process-form.png` });
      await expectInert(page, [panel]);

      // A run that succeeds: a hostile allowed value in, a hostile literal out.
      await select.selectOption(IMG);
      const jobs = panel.locator('#jp-EOJLab-section-jobs');
      const succeeded = await execute(page, form);
      const okRow = jobs.locator(`li[data-job-id="${succeeded}"]`);
      await expect(okRow).toHaveAttribute('data-status', 'successful', {
        timeout: 90000
      });
      const okToast = page
        .locator('.jp-toast-message', { hasText: 'hostile_xss' })
        .first();
      await expect(okToast).toBeVisible({ timeout: 15000 });
      // PyWPS's last status message names the process by its title.
      await expect(okToast).toContainText(`PyWPS Process ${IMG} finished`);
      await expect(
        okRow
          .locator('.jp-EOJLab-jobMessage')
          .getByText(`PyWPS Process ${IMG} finished`, { exact: true })
      ).toBeVisible();
      await okRow.locator('.jp-EOJLab-jobDetails').click();
      const echo = okRow.locator('[data-result-id="echo"] .jp-EOJLab-jobValue');
      await expect(echo).toHaveText(`${SCRIPT}${IMG}${BOLD} ${IMG}`);
      // "Open" shows the literal as JSON (the server never answers HTML for a result).
      const open = okRow.locator('[data-result-id="echo"] a');
      const served = await page.request.get((await open.getAttribute('href'))!);
      expect(served.headers()['content-type']).toMatch(/^application\/json/);
      expect(served.headers()['x-content-type-options']).toBe('nosniff');
      const [popup] = await Promise.all([
        page.waitForEvent('popup'),
        open.click()
      ]);
      await popup.waitForLoadState();
      await expect(popup.locator('body')).toContainText('window.__pwned=2');
      expect(
        await popup.evaluate(() => (window as any).__pwned)
      ).toBeUndefined();
      expect(await popup.locator('script, img, svg, b').count()).toBe(0);
      await popup.close();
      await expect(okRow.locator('.jp-EOJLab-jobInputs')).toContainText(
        JSON.stringify(IMG).slice(1, -1)
      );
      await expectInert(page, [panel]);

      // A run that fails: the last status message and the exception, as text.
      await select.selectOption('fail');
      const failed = await execute(page, form);
      const failRow = jobs.locator(`li[data-job-id="${failed}"]`);
      await expect(failRow).toHaveAttribute('data-status', 'failed', {
        timeout: 90000
      });
      // The exception's text, in the row's status message and (shortened) the notification.
      // (PyWPS: "Process error: method=…, line=…, msg=<the exception's text>".)
      const failMessage = failRow.locator('.jp-EOJLab-jobMessage');
      await expect(failMessage).toHaveText(/^Process error: /);
      await expect(failMessage).toContainText(`msg=${IMG} ${SVG}`);
      const failToast = page
        .locator('.jp-toast-message', { hasText: 'hostile_xss' })
        .filter({ hasText: 'Failed' })
        .first();
      await expect(failToast).toBeVisible({ timeout: 15000 });
      await expect(failToast).toContainText(`msg=${IMG} …`);
      await failRow.locator('.jp-EOJLab-jobDetails').click();
      await expect(
        failRow.locator('.jp-EOJLab-jobDetailsBody .jp-EOJLab-jobError')
      ).toContainText(`${IMG} ${SVG}`);
      await failRow.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/hostile-jobs.png` });
      await expectInert(page, [panel]);

      // The raw exchange of the successful run: XML shown as source text.
      await okRow.locator('.jp-EOJLab-jobExchange').click();
      const dialog = page.locator('.jp-Dialog');
      await expect(dialog).toContainText('ProcessSucceeded');
      await expect(dialog).toContainText(
        '&lt;script&gt;window.__pwned=2&lt;/script&gt;'
      );
      await page.screenshot({ path: `${SHOTS}/hostile-exchange.png` });
      await expectInert(page, [panel, dialog]);
      await page.keyboard.press('Escape');
      await expect(dialog).toHaveCount(0);
    } finally {
      // Leave the sandbox as the other specs expect it (through the server's REST API: the
      // page may be gone when the test failed).
      for (const file of files) {
        await request.delete(`/api/contents/sandbox/${file}`);
      }
      await request.post('/eo-jlab/processing/sandbox/reload', {
        timeout: 60000
      });
    }
  });

  test('sharing: names, messages, recipients, dialogs and the read-only view', async ({
    page,
    tmpPath
  }) => {
    const panel = page.locator(`#${SIDEBAR}`);
    // A notebook whose name, markdown and outputs are markup (HTML outputs included).
    const name = `${IMG}.ipynb`;
    const notebook = {
      cells: [
        {
          cell_type: 'markdown',
          metadata: {},
          source: [`# ${IMG}\n`, `${SCRIPT} ${BOLD}`]
        },
        {
          cell_type: 'code',
          execution_count: 1,
          metadata: {},
          source: ['print("hostile")'],
          outputs: [
            { output_type: 'stream', name: 'stdout', text: [`${SCRIPT}\n`] },
            {
              output_type: 'display_data',
              metadata: {},
              data: {
                'text/html': [`${IMG}${SVG}</svg><b>bold html</b>`],
                'text/plain': ['<IPython.core.display.HTML object>']
              }
            },
            {
              output_type: 'display_data',
              metadata: {},
              data: { 'text/html': [`<b>bold only html</b>${IMG}`] }
            },
            {
              output_type: 'execute_result',
              execution_count: 1,
              metadata: {},
              data: {
                'application/javascript': ['window.__pwned=6'],
                'image/svg+xml': [`${SVG}</svg>`],
                'text/plain': [BOLD]
              }
            },
            {
              output_type: 'error',
              ename: IMG,
              evalue: SCRIPT,
              traceback: []
            }
          ]
        }
      ],
      metadata: {},
      nbformat: 4,
      nbformat_minor: 5
    };
    const file = `${tmpPath}/${name}`;
    expect(
      await page.contents.uploadContent(JSON.stringify(notebook), 'text', file)
    ).toBe(true);

    // The "Share…" dialog on it.
    await page.evaluate((path: string) => {
      void (window as any).jupyterapp.commands.execute('eo-jlab:share', {
        path
      });
    }, file);
    const dialog = page.locator('.jp-Dialog');
    const pathInput = dialog.locator('input.jp-EOJLab-sharePath');
    await expect(pathInput).toHaveValue(file);
    // Refused recipient names are echoed in the message, as text.
    await dialog.getByLabel('Users').fill(IMG);
    await dialog.getByRole('button', { name: 'Share' }).click();
    await expect(
      dialog.getByText(
        'Not a user or group name: <img, onerror="window.__pwned=1">',
        { exact: true }
      )
    ).toBeVisible();
    await dialog.getByLabel('Users').fill('');
    await dialog.getByLabel(/^Public/).check();
    // The server's refusal names the (hostile) path, as text.
    await pathInput.fill(`${tmpPath}/${SVG}`);
    await dialog.getByRole('button', { name: 'Share' }).click();
    await expect(dialog.locator('.jp-EOJLab-error')).toContainText(SVG);
    await expectInert(page, [dialog]);
    await pathInput.fill(file);
    const message = `${SCRIPT} ${BOLD} ${JS_HREF}`;
    await dialog.getByLabel('Message (optional)').fill(message);
    await page.screenshot({ path: `${SHOTS}/hostile-share-dialog.png` });
    const created = answer(page, '/eo-jlab/shares', 'POST');
    await dialog.getByRole('button', { name: 'Share' }).click();
    const response = await created;
    expect(response.status()).toBe(201);
    const share = await response.json();
    expect(share.name).toBe(name);
    await expect(
      page
        .locator('.jp-toast-message', {
          hasText: `${name} is shared with everyone.`
        })
        .first()
    ).toBeVisible({ timeout: 10000 });

    // A second share through the REST API, to hostile recipient names (the server accepts
    // any name; the dialog refuses these).
    const rest = await page.request.post('/eo-jlab/shares', {
      data: {
        path: file,
        recipients: { users: [IMG, SVG], groups: [BOLD], public: false },
        message: IMG
      }
    });
    expect(rest.status()).toBe(201);
    const second = await rest.json();

    // The Shared section, "By me": names and messages as text.
    await foldSection(panel, 'Search');
    await openSection(panel, 'Shared');
    const section = panel.locator('#jp-EOJLab-section-shared');
    await section.locator('.jp-EOJLab-sharesRefresh').click();
    await section.locator('.jp-EOJLab-shareTab[data-scope="by-me"]').click();
    const mine = section.locator(`li[data-share-id="${share.id}"]`);
    await expect(mine).toBeVisible({ timeout: 15000 });
    await expect(
      mine.locator('.jp-EOJLab-shareName').getByText(name, { exact: true })
    ).toBeVisible();
    await expect(
      mine
        .locator('.jp-EOJLab-shareMessageText')
        .getByText(message, { exact: true })
    ).toBeVisible();
    const other = section.locator(`li[data-share-id="${second.id}"]`);
    await expect(
      other
        .locator('.jp-EOJLab-shareMessageText')
        .getByText(IMG, { exact: true })
    ).toBeVisible();
    // Details: recipients and files.
    await other.locator('.jp-EOJLab-shareDetails').click();
    const details = other.locator('.jp-EOJLab-shareDetailsBody');
    await expect(
      details.getByText(`${IMG}, ${SVG}`, { exact: true })
    ).toBeVisible();
    await expect(details.getByText(BOLD, { exact: true })).toBeVisible();
    await expect(
      details.locator('.jp-EOJLab-shareFiles').getByText(name)
    ).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/hostile-shared.png` });
    await expectInert(page, [panel]);

    // The read-only view: markdown as its source, HTML and JavaScript outputs never
    // rendered (their text/plain shows, or nothing), error names as text.
    const read = answer(page, `/files/${encodeURIComponent(name)}`, 'GET');
    await mine.locator('.jp-EOJLab-shareOpen').click();
    const served = await read;
    expect(served.status()).toBe(200);
    expect(served.headers()['content-type']).toMatch(/^application\/json/);
    expect(served.headers()['content-security-policy']).toContain('sandbox');
    const view = page.locator('.jp-EOJLab-sharedView');
    await expect(view.locator('.jp-EOJLab-sharedCell')).toHaveCount(2);
    await expect(
      view
        .locator('.jp-EOJLab-sharedViewTitle')
        .getByText(
          `${name} — shared by ${share.owner}, version 1 (read-only)`,
          { exact: true }
        )
    ).toBeVisible();
    await expect(
      view.locator('.jp-EOJLab-shareMessageText').getByText(message, {
        exact: true
      })
    ).toBeVisible();
    const sources = view.locator('.jp-EOJLab-sharedSource');
    await expect(sources.first()).toHaveText(`# ${IMG}\n${SCRIPT} ${BOLD}`);
    const outputs = view.locator('.jp-EOJLab-sharedOutput');
    expect(await texts(outputs)).toEqual([
      `${SCRIPT}\n`,
      '<IPython.core.display.HTML object>',
      BOLD,
      `${IMG}: ${SCRIPT}`
    ]);
    await expect(view.locator('img, svg, iframe, object, embed')).toHaveCount(
      0
    );
    await expect(view).not.toContainText('bold html');
    await expect(view).not.toContainText('bold only html');
    await expect(
      page.locator('.lm-TabBar-tab.jp-mod-current', {
        hasText: `${name} (shared)`
      })
    ).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/hostile-readonly.png` });
    await expectInert(page, [view, panel]);

    // Unshare both: the confirmation names the share, as text.
    for (const [row, id] of [
      [mine, share.id],
      [other, second.id]
    ] as [any, string][]) {
      await row.locator('.jp-EOJLab-shareDelete').click();
      const confirm = page.locator('.jp-Dialog');
      await expect(
        confirm.getByText(`Unshare ${name}?`, { exact: true })
      ).toBeVisible();
      await expectInert(page, [confirm]);
      const deleted = answer(page, `/shares/${id}`, 'DELETE');
      await confirm.getByRole('button', { name: 'Unshare' }).click();
      expect((await deleted).ok()).toBe(true);
      await expect(row).toHaveCount(0);
    }
    await expect(
      page
        .locator('.jp-toast-message', {
          hasText: `${name} is no longer shared.`
        })
        .first()
    ).toBeVisible();
    await expectInert(page, [panel]);
  });
});

/** Click Execute and return the id of the job the server created. */
async function execute(page: any, form: any): Promise<string> {
  const created = answer(page, '/execution', 'POST');
  await form.getByRole('button', { name: 'Execute' }).click();
  const response = await created;
  expect(response.status()).toBe(201);
  return (await response.json()).id;
}

/**
 * Issue 18, finding 1: a quicklook whose service answers `Content-Type: image/png, text/html`
 * (an HTML page with a meta refresh, a form and a script; the loopback service of
 * jupyter_server_test_config.py) is refused by eo-jlab, never sent with a type a browser
 * takes for HTML. Opened as a page of its own, in a bare tab (no JupyterLab around it).
 */
test.describe('Hostile upstream bodies are never pages (issue 18)', () => {
  test('a quicklook answered as "image/png, text/html" is not rendered as HTML', async ({
    context,
    baseURL
  }) => {
    const href = fs
      .readFileSync(
        path.resolve(
          __dirname,
          '..',
          '.demo-workspace',
          '.eo-jlab-hostile-quicklook'
        ),
        'utf-8'
      )
      .trim();
    const route = `${baseURL}/eo-jlab/catalogues/hostile/quicklook?href=${encodeURIComponent(href)}`;
    const tab = await context.newPage();
    const response = await tab.goto(route);
    // The page's meta refresh (to about:blank#refreshed) would leave this URL at once.
    await expect(
      tab.waitForURL(/refreshed/, { timeout: 3000 })
    ).rejects.toThrow();
    const seen = await tab.evaluate(() => ({
      type: document.contentType,
      forms: document.forms.length,
      metas: document.querySelectorAll('meta[http-equiv]').length,
      pwned: (window as any).__pwned,
      text: document.body?.innerText ?? ''
    }));
    expect(seen.type).not.toContain('html');
    expect(seen.forms).toBe(0);
    expect(seen.metas).toBe(0);
    expect(seen.pwned).toBeUndefined();
    expect(tab.url()).toBe(route);
    // eo-jlab refused it with a sentence, and says so in a type that is no page.
    expect(response!.status()).toBe(502);
    expect(response!.headers()['content-type']).not.toContain('html');
    expect(response!.headers()['x-content-type-options']).toBe('nosniff');
    expect(seen.text).toContain('is not a raster image');
    await tab.close();
  });
});
