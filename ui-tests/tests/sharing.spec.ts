import { expect, test } from '@jupyterlab/galata';
import { SIDEBAR, SHOTS, openSection, foldSection, answer } from './helpers';

test.use({ viewport: { width: 1400, height: 1000 } });

test.describe('Sharing (eo-jlab demo, local share store)', () => {
  test.beforeEach(async ({ page }) => {
    test.setTimeout(120000);
    await page.sidebar.openTab(SIDEBAR);
    await page.sidebar.setWidth(440);
  });

  test('share a notebook publicly, find it under Public, copy and open shares', async ({
    page
  }) => {
    // Unique per run: the demo's share store outlives the test's folder.
    const name = `shared-${Date.now()}.ipynb`;
    await page.notebook.createNew(name);
    await page.notebook.setCell(0, 'markdown', '# Notes shared from Galata');
    await page.notebook.save();

    // "Share…" on the notebook in focus.
    await page.evaluate(() => {
      void (window as any).jupyterapp.commands.execute('eo-jlab:share');
    });
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('input.jp-EOJLab-sharePath')).toHaveValue(
      new RegExp(`${name.replace('.', '\\.')}$`)
    );
    // Nobody to share with: the dialog comes back and says so.
    await dialog.getByRole('button', { name: 'Share' }).click();
    await expect(
      dialog.getByText(
        'Name at least one user or group, or make the share public.'
      )
    ).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/sharing-dialog-invalid.png` });

    await dialog.getByLabel(/^Public/).check();
    await dialog.getByLabel('Message (optional)').fill('Week 1 notes');
    const created = answer(page, '/eo-jlab/shares', 'POST');
    await dialog.getByRole('button', { name: 'Share' }).click();
    const response = await created;
    expect(response.status()).toBe(201);
    const share = await response.json();
    expect(share).toMatchObject({ name, kind: 'file', version: 1 });
    expect(share.recipients.public).toBe(true);
    await expect(
      page.locator('.jp-toast-message', { hasText: 'is shared with' }).first()
    ).toBeVisible({ timeout: 10000 });

    // The Shared section, "Public": my share and the operator's seeded examples.
    const panel = page.locator(`#${SIDEBAR}`);
    // Something new is shared with me (the seeded examples, at least): a badge.
    await expect(
      panel.locator('.lm-AccordionPanel-title[data-eo-new]')
    ).toHaveCount(1);
    await foldSection(panel, 'Search');
    await openSection(panel, 'Shared');
    const section = panel.locator('#jp-EOJLab-section-shared');
    await section.locator('.jp-EOJLab-shareTab[data-scope="public"]').click();
    const mine = section.locator(`li[data-share-id="${share.id}"]`);
    const examples = section.locator('li[data-share-name="examples"]');
    await expect(mine).toBeVisible({ timeout: 15000 });
    await expect(mine).toContainText('Week 1 notes');
    await expect(mine.locator('.jp-EOJLab-shareUpdate')).toBeVisible();
    await expect(examples).toBeVisible();
    await expect(examples.locator('.jp-EOJLab-shareOwner')).toHaveText(
      'operator'
    );
    await expect(examples.locator('.jp-EOJLab-shareDelete')).toHaveCount(0);
    await page.screenshot({ path: `${SHOTS}/sharing-public.png` });

    // Details of my share: recipients, files, versions.
    await mine.locator('.jp-EOJLab-shareDetails').click();
    const details = mine.locator('.jp-EOJLab-shareDetailsBody');
    await expect(details).toContainText(name);
    await expect(details.locator('.jp-EOJLab-shareVersions li')).toHaveCount(1);

    // A new version of it.
    const versioned = answer(page, `/shares/${share.id}/versions`, 'POST');
    await mine.locator('.jp-EOJLab-shareUpdate').click();
    expect((await versioned).ok()).toBe(true);
    await expect(mine.locator('.jp-EOJLab-shareVersion')).toHaveText('v2');

    // Copy it to my workspace: the copy opens in a tab of its own.
    const copied = answer(page, `/shares/${share.id}/copy`, 'POST');
    await mine.locator('.jp-EOJLab-shareCopy').click();
    const copy = await copied;
    expect(copy.status()).toBe(200);
    const { path } = await copy.json();
    expect(path.split('/').pop()).toMatch(/^shared-\d+(-\d+)?\.ipynb$/);
    // The notebook in focus is the copy (not the original, in Galata's test folder).
    await expect
      .poll(
        () =>
          page.evaluate(
            () =>
              (window as any).jupyterapp.shell.currentWidget?.context?.path ??
              null
          ),
        { timeout: 15000 }
      )
      .toBe(path);
    await expect(
      page
        .locator('.jp-toast-message', { hasText: `copied to ${path}` })
        .first()
    ).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/sharing-copy-opened.png` });

    // The operator's folder: list its files, open its notebook read-only.
    await examples.locator('.jp-EOJLab-shareOpen').click();
    const file = examples.locator('.jp-EOJLab-shareFile', {
      hasText: 'eo-example.ipynb'
    });
    await expect(file).toBeVisible();
    const read = answer(page, '/files/eo-example.ipynb', 'GET');
    await file.click();
    expect((await read).status()).toBe(200);
    const view = page.locator('.jp-EOJLab-sharedView');
    await expect(view).toContainText('Earth Observation in the eo_jlab demo');
    await expect(view).toContainText('read-only');
    await expect(
      page.locator('.jp-mod-current.lm-TabBar-tab', {
        hasText: 'eo-example.ipynb (shared)'
      })
    ).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/sharing-readonly.png` });

    // Unshare mine (confirmed): it leaves the list.
    await mine.locator('.jp-EOJLab-shareDelete').click();
    const deleted = answer(page, `/shares/${share.id}`, 'DELETE');
    await page
      .locator('.jp-Dialog')
      .getByRole('button', { name: 'Unshare' })
      .click();
    expect((await deleted).ok()).toBe(true);
    await expect(mine).toHaveCount(0);
  });

  test('"Share…" is in the file browser context menu', async ({ page }) => {
    await page.notebook.createNew('context.ipynb');
    await page.notebook.close();
    await page.sidebar.openTab('filebrowser');
    await page
      .locator('.jp-DirListing-item', { hasText: 'context.ipynb' })
      .click({ button: 'right' });
    await expect(
      page.locator('.lm-Menu-item', { hasText: 'Share…' })
    ).toBeVisible();
    await page.keyboard.press('Escape');
  });
});
