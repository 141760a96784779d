import { expect, test } from '@jupyterlab/galata';
import { drawBox, searchMap, SIDEBAR, SHOTS } from './helpers';

test.use({ viewport: { width: 1400, height: 1000 } });

test.describe('Catalogue search (eo-jlab demo catalogue)', () => {
  test('draw an area, search, see results, footprints and details', async ({
    page
  }) => {
    await page.sidebar.openTab(SIDEBAR);
    await page.sidebar.setWidth(420);
    const panel = page.locator(`#${SIDEBAR}`);
    await panel.getByLabel('Catalogue', { exact: true }).selectOption('demo');
    const collection = panel.getByLabel('Collection', { exact: true });
    await collection.fill('sentinel-2-l2a-demo');
    // Filters come from the collection's queryables.
    await expect(panel.locator('[data-filter="cloud_cover"]')).toBeVisible();
    await expect(
      panel.locator('[data-filter="platform"] select')
    ).toBeVisible();

    await panel.getByLabel('From', { exact: true }).fill('2025-03-01');
    await panel.getByLabel('To', { exact: true }).fill('2025-03-31');

    // Draw a box around Toulouse on the map (drag with the pointer).
    await drawBox(page, panel, [0.3, 43.1, 2.1, 44.4], [0.9, 43.5, 1.5, 43.9]);
    await expect(panel.locator('.jp-EOJLab-area-text')).toHaveAttribute(
      'data-area',
      'bbox'
    );

    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    const results = panel.locator('.jp-EOJLab-result');
    await expect(results.first()).toBeVisible();
    await expect(panel.locator('.jp-EOJLab-count')).toContainText(/of \d+/);
    const count = await results.count();
    expect(count).toBeGreaterThan(0);
    for (const title of await panel
      .locator('.jp-EOJLab-result-title')
      .allTextContents()) {
      expect(title).toContain('Toulouse');
      expect(title).toContain('2025-03');
    }
    // Footprints on the map, one per result.
    const footprints = await page.evaluate(
      `(${searchMap.toString()})().getLayers().getArray()[2].getSource().getFeatures().length`
    );
    expect(footprints).toBe(count);

    await results.first().click();
    const details = panel.locator('.jp-EOJLab-details');
    await expect(details).toContainText('sentinel-2-l2a-demo');
    await expect(details.locator('img.jp-EOJLab-quicklook')).toHaveJSProperty(
      'complete',
      true
    );
    const width = await details
      .locator('img.jp-EOJLab-quicklook')
      .evaluate(img => (img as HTMLImageElement).naturalWidth);
    expect(width).toBe(128);
    await page.screenshot({ path: `${SHOTS}/search.png` });
    await details.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/search-details.png` });
  });
});

test.describe('Results into notebooks', () => {
  test('drag a result onto a notebook, run the cell, see the item id', async ({
    page
  }) => {
    await page.notebook.createNew('drop.ipynb');
    await page.sidebar.openTab(SIDEBAR);
    await page.sidebar.setWidth(420);
    const panel = page.locator(`#${SIDEBAR}`);
    await panel.getByLabel('Catalogue', { exact: true }).selectOption('demo');
    await panel.getByLabel('Text', { exact: true }).fill('Rome 2025-04');
    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    const result = panel.locator('.jp-EOJLab-result').first();
    await expect(result).toBeVisible();
    const id = (await result.getAttribute('data-item-id'))!;
    expect(id).toContain('T33TTG');

    await result.dragTo(page.locator('.jp-NotebookPanel .jp-Notebook').first());
    const cells = page.locator('.jp-NotebookPanel .jp-Cell');
    await expect(cells).toHaveCount(2);
    const generated = await page.evaluate(() => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      return panel.content.model.sharedModel.cells.map((c: any) => ({
        source: c.getSource(),
        meta: c.getMetadata('eo_jlab')
      }));
    });
    const cell = generated.find((c: any) => c.meta)!;
    expect(cell.meta.item).toBe(id);
    expect(cell.source).toContain(id);

    const index = generated.indexOf(cell);
    await page.notebook.runCell(index);
    await expect(
      cells.nth(index).locator('.jp-OutputArea-output')
    ).toContainText(id, { timeout: 60000 });

    // Insert again for the same item: the generated cell is replaced, not duplicated.
    const before = await cells.count();
    await result.click();
    await expect(result).toHaveClass(/jp-mod-selected/);
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('eo-jlab:insert-item')
    );
    await expect(cells).toHaveCount(before);
    const tagged = await page.evaluate(() => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      return panel.content.model.sharedModel.cells.filter((c: any) =>
        c.getMetadata('eo_jlab')
      ).length;
    });
    expect(tagged).toBe(1);
    await page.screenshot({ path: `${SHOTS}/drop-into-notebook.png` });
  });

  test('hostile catalogue texts show as text', async ({ page }) => {
    const dialogs: string[] = [];
    page.on('dialog', dialog => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.sidebar.openTab(SIDEBAR);
    const panel = page.locator(`#${SIDEBAR}`);
    await panel
      .getByLabel('Catalogue', { exact: true })
      .selectOption('fixture');
    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    const result = panel.locator('.jp-EOJLab-result').first();
    await expect(result.locator('.jp-EOJLab-result-title')).toHaveText(
      '<img src=x onerror=alert(1)>'
    );
    await result.click();
    const details = panel.locator('.jp-EOJLab-details');
    await expect(details).toContainText('<script>alert(2)</script>');
    await expect(details).toContainText('hostile"\'<b>id</b>');
    expect(await panel.locator('img[src="x"], b, script').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });
});

test.describe('Beside ipyleaflet', () => {
  test('an ipyleaflet map in a notebook and the sidebar map both work', async ({
    page
  }) => {
    await page.notebook.createNew('leaflet.ipynb');
    await page.notebook.setCell(
      0,
      'code',
      [
        'from ipyleaflet import Map, GeoJSON',
        'from eo_jlab.widgets import show_items',
        'm = Map(center=(43.7, 1.2), zoom=6)',
        'm.add(GeoJSON(data={"type": "Feature", "properties": {}, "geometry": {',
        '    "type": "Polygon", "coordinates": [[[0.5, 43.2], [1.9, 43.2], [1.9, 44.2], [0.5, 43.2]]]}}))',
        'm'
      ].join('\n')
    );
    await page.notebook.runCell(0);
    const leaflet = page.locator('.jp-OutputArea-output .leaflet-container');
    await expect(leaflet).toBeVisible({ timeout: 60000 });
    await expect(leaflet.locator('path.leaflet-interactive')).toHaveCount(1);

    await page.sidebar.openTab(SIDEBAR);
    const panel = page.locator(`#${SIDEBAR}`);
    await panel.getByLabel('Catalogue', { exact: true }).selectOption('demo');
    await panel.getByLabel('Text', { exact: true }).fill('Lisbon 2025-05');
    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    await expect(panel.locator('.jp-EOJLab-result').first()).toBeVisible();
    const count = await panel.locator('.jp-EOJLab-result').count();
    const footprints = await page.evaluate(
      `(${searchMap.toString()})().getLayers().getArray()[2].getSource().getFeatures().length`
    );
    expect(footprints).toBe(count);
    // Both maps are still there and drawn.
    await expect(leaflet).toBeVisible();
    await expect(panel.locator('.jp-EOJLab-map canvas').first()).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/beside-ipyleaflet.png` });
  });
});

test.describe('Kernel languages and failures', () => {
  test('a result dropped on an R notebook becomes R code that runs', async ({
    page
  }) => {
    await page.notebook.createNew('in-r.ipynb', { kernel: 'ir' });
    await expect(page.locator('.jp-NotebookPanel-toolbar')).toContainText('R', {
      timeout: 30000
    });
    await page.sidebar.openTab(SIDEBAR);
    const panel = page.locator(`#${SIDEBAR}`);
    await panel.getByLabel('Catalogue', { exact: true }).selectOption('demo');
    await panel.getByLabel('Text', { exact: true }).fill('Nairobi 2025-02');
    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    const result = panel.locator('.jp-EOJLab-result').first();
    await expect(result).toBeVisible();
    const id = (await result.getAttribute('data-item-id'))!;
    await result.dragTo(page.locator('.jp-NotebookPanel .jp-Notebook').first());
    const cells = page.locator('.jp-NotebookPanel .jp-Cell');
    await expect(cells).toHaveCount(2);
    const source = await page.evaluate(() => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      const cell = panel.content.model.sharedModel.cells.find((c: any) =>
        c.getMetadata('eo_jlab')
      );
      return cell.getSource();
    });
    expect(source).toContain('jsonlite::read_json');
    const index = await page.evaluate(() => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      return panel.content.model.sharedModel.cells.findIndex((c: any) =>
        c.getMetadata('eo_jlab')
      );
    });
    await page.notebook.runCell(index);
    await expect(
      cells.nth(index).locator('.jp-OutputArea-output')
    ).toContainText(id, { timeout: 90000 });
  });

  test('a catalogue that does not answer gives a readable message', async ({
    page
  }) => {
    await page.sidebar.openTab(SIDEBAR);
    const panel = page.locator(`#${SIDEBAR}`);
    await panel
      .getByLabel('Catalogue', { exact: true })
      .selectOption('offline');
    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    const alert = panel.locator('.jp-EOJLab-search [role="alert"]');
    await expect(alert).toContainText('connection refused');
    await expect(alert).not.toContainText('Traceback');
  });
});

test.describe('Insert', () => {
  test('with no notebook open, Insert creates one with the cell', async ({
    page
  }) => {
    await page.sidebar.openTab(SIDEBAR);
    const panel = page.locator(`#${SIDEBAR}`);
    await panel.getByLabel('Catalogue', { exact: true }).selectOption('demo');
    await panel.getByLabel('Text', { exact: true }).fill('Toulouse 2025-01');
    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    const result = panel.locator('.jp-EOJLab-result').first();
    await result.click();
    const id = (await result.getAttribute('data-item-id'))!;
    await panel.getByRole('button', { name: 'Insert in notebook' }).click();
    await expect(page.locator('.jp-NotebookPanel')).toBeVisible({
      timeout: 30000
    });
    await expect
      .poll(
        async () =>
          page.evaluate(() => {
            const current = (window as any).jupyterapp.shell.currentWidget;
            const cells = current?.content?.model?.sharedModel?.cells ?? [];
            return cells
              .filter((c: any) => c.getMetadata('eo_jlab'))
              .map((c: any) => c.getMetadata('eo_jlab').item);
          }),
        { timeout: 30000 }
      )
      .toEqual([id]);
  });

  test('a read-only notebook is refused with a message', async ({ page }) => {
    // As root (CI), file modes cannot make a notebook read-only: mark its model read-only,
    // as JupyterLab does for documents it cannot write.
    await page.notebook.createNew('locked.ipynb');
    await page.evaluate(() => {
      (window as any).jupyterapp.shell.currentWidget.content.model.readOnly =
        true;
    });
    await page.sidebar.openTab(SIDEBAR);
    const panel = page.locator(`#${SIDEBAR}`);
    await panel.getByLabel('Catalogue', { exact: true }).selectOption('demo');
    await panel.getByLabel('Text', { exact: true }).fill('Rome 2025-01');
    await panel.getByRole('button', { name: 'Search', exact: true }).click();
    const result = panel.locator('.jp-EOJLab-result').first();
    await result.dragTo(page.locator('.jp-NotebookPanel .jp-Notebook').first());
    await expect(
      page.locator('.jp-Notification-Toast-warning, .Toastify__toast--warning')
    ).toContainText('read-only');
    await expect(page.locator('.jp-NotebookPanel .jp-Cell')).toHaveCount(1);
  });
});
