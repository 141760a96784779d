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
