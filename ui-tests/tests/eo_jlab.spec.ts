import { expect, galata, test } from '@jupyterlab/galata';
import { SIDEBAR, SHOTS } from './helpers';

test.describe('Earth Observation sidebar (eo-jlab demo)', () => {
  test('opens with its four sections and the health of each endpoint', async ({
    page
  }) => {
    const errors: string[] = [];
    page.on('console', message => {
      if (
        message.type() === 'error' &&
        /eo_jlab|eo-jlab/.test(message.text())
      ) {
        errors.push(message.text());
      }
    });

    await page.sidebar.openTab(SIDEBAR);
    const panel = page.locator(`#${SIDEBAR}`);
    await expect(panel).toBeVisible();
    for (const title of ['Search', 'Processes', 'Jobs', 'Shared']) {
      await expect(
        panel.locator('.jp-AccordionPanel-title', { hasText: title })
      ).toBeVisible();
    }

    // The static fixture answers; nothing listens behind the second endpoint.
    const fixture = panel.locator('[data-endpoint-id="fixture"]');
    const offline = panel.locator('[data-endpoint-id="offline"]');
    await expect(fixture).toHaveAttribute('data-health', 'ok');
    await expect(fixture.locator('.jp-EOJLab-health')).toHaveAttribute(
      'title',
      /Galata fixture catalogue/
    );
    await expect(offline).toHaveAttribute('data-health', 'error');
    await expect(offline.locator('.jp-EOJLab-endpoint-error')).toContainText(
      'connection refused'
    );
    // Endpoint texts are untrusted: markup shows as text, never as elements.
    await expect(offline).toContainText('Unreachable STAC <b>API</b>');
    expect(await offline.locator('b').count()).toBe(0);

    // The demo's processing service: the local PyWPS sandbox, which answers.
    await expect(panel.locator('[data-endpoint-id="sandbox"]')).toHaveAttribute(
      'data-health',
      'ok'
    );
    // The demo shares through its local store: the Shared section offers its lists.
    await expect(panel.locator('.jp-EOJLab-shares [data-scope]')).toHaveCount(
      3
    );

    await page.screenshot({ path: `${SHOTS}/sidebar-light.png` });
    expect(errors).toEqual([]);
  });

  test('follows the dark theme', async ({ page }) => {
    await page.theme.setDarkTheme();
    await page.sidebar.openTab(SIDEBAR);
    const panel = page.locator(`#${SIDEBAR}`);
    await expect(panel.locator('[data-endpoint-id="fixture"]')).toHaveAttribute(
      'data-health',
      'ok'
    );
    const background = await panel.evaluate(
      element => getComputedStyle(element).backgroundColor
    );
    // Dark theme layout colours are dark: every RGB channel well below the middle.
    const channels = (background.match(/\d+/g) ?? []).slice(0, 3).map(Number);
    expect(channels).toHaveLength(3);
    expect(Math.max(...channels)).toBeLessThan(100);
    await page.screenshot({ path: `${SHOTS}/sidebar-dark.png` });
    await page.theme.setLightTheme();
  });

  test('has command palette commands', async ({ page }) => {
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute(
        'apputils:activate-command-palette'
      );
    });
    const palette = page.locator('#command-palette');
    await palette.locator('.lm-CommandPalette-input').fill('Earth Observation');
    await expect(
      palette.locator('.lm-CommandPalette-item', {
        hasText: 'Open the Earth Observation panel'
      })
    ).toBeVisible();
    await page.keyboard.press('Escape');

    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('eo-jlab:open');
    });
    await expect(page.locator(`#${SIDEBAR}`)).toBeVisible();
  });

  test('stores its settings in the settings registry', async ({ page }) => {
    const settings = await page.evaluate(async () => {
      const registry = (window as any).galata.app.serviceManager.settings;
      const plugin = await registry.fetch('eo_jlab:plugin');
      return plugin.schema.properties;
    });
    expect(Object.keys(settings)).toContain('probeEndpoints');
    void galata;
  });
});
