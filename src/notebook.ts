/**
 * Putting generated code into notebooks: insert below the active cell, drop where the
 * result is dropped, replace the cell already generated for an item (found by metadata).
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

import { getItemSnippet } from './api';
import { IItem, ITEM_MIME, SnippetLanguage } from './tokens';

/** The metadata key of generated cells. */
export const CELL_METADATA = 'eo_jlab';

export type ICellTag =
  | {
      kind: 'item';
      catalogue: string;
      item: string;
      collection: string | null;
    }
  | { kind: 'process'; service: string; process: string }
  | { kind: 'job'; job: string };

/** The snippet language of a notebook's kernel, or null when eo_jlab cannot write it. */
export async function kernelLanguage(
  panel: NotebookPanel
): Promise<SnippetLanguage | null> {
  const kernel = panel.sessionContext.session?.kernel;
  let name: string | undefined;
  try {
    name = (await kernel?.info)?.language_info?.name;
  } catch {
    name = undefined;
  }
  const metadata = panel.content.model?.getMetadata('kernelspec') as
    { language?: string } | undefined;
  name = (name || metadata?.language || '').toLowerCase();
  if (name === 'python') {
    return 'python';
  }
  if (name === 'r') {
    return 'r';
  }
  if (['bash', 'sh', 'shell', 'zsh'].includes(name)) {
    return 'shell';
  }
  return null;
}

function isReadOnly(panel: NotebookPanel): boolean {
  return (
    panel.context.contentsModel?.writable === false ||
    panel.content.model?.readOnly === true
  );
}

/**
 * Generate the code for `item` and put it in `panel`: in place of the cell generated
 * earlier for the same item, else at `index` (default: below the active cell).
 */
export async function insertItemCell(
  panel: NotebookPanel,
  catalogue: string,
  item: IItem,
  trans: TranslationBundle,
  flavour: 'portable' | 'widgets',
  index?: number
): Promise<boolean> {
  const tag: ICellTag = {
    kind: 'item',
    catalogue,
    item: item.id,
    collection: item.properties.collection ?? null
  };
  return insertCodeCell(
    panel,
    async language =>
      (
        await getItemSnippet(
          catalogue,
          item,
          language,
          language === 'python' ? flavour : 'portable'
        )
      ).code,
    tag,
    item.id,
    trans,
    index
  );
}

/**
 * Put generated code (in the kernel's language) into `panel`. An item's cell replaces the
 * one generated earlier for the same item; other code goes at `index` (default: below the
 * active cell). `label` names the target in messages.
 */
export async function insertCodeCell(
  panel: NotebookPanel,
  generate: (language: SnippetLanguage) => Promise<string>,
  tag: ICellTag,
  label: string,
  trans: TranslationBundle,
  index?: number
): Promise<boolean> {
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) {
    return false;
  }
  if (isReadOnly(panel)) {
    Notification.warning(
      trans.__(
        '%1 is read-only: copy it to your workspace to add code to it.',
        panel.title.label
      ),
      { autoClose: 5000 }
    );
    return false;
  }
  await panel.sessionContext.ready;
  const language = await kernelLanguage(panel);
  if (!language) {
    Notification.warning(
      trans.__(
        'eo_jlab writes Python, R and shell code; the kernel of %1 is none of these.',
        panel.title.label
      ),
      { autoClose: 5000 }
    );
    return false;
  }
  let code: string;
  try {
    code = await generate(language);
  } catch (error) {
    Notification.error(
      trans.__(
        'No code for %1: %2',
        label,
        error instanceof Error ? error.message : String(error)
      ),
      { autoClose: 8000 }
    );
    return false;
  }
  const cells = model.sharedModel.cells;
  const existing =
    tag.kind !== 'item'
      ? -1
      : cells.findIndex(cell => {
          const meta = cell.getMetadata(CELL_METADATA) as ICellTag | undefined;
          return (
            meta?.kind === 'item' &&
            meta.catalogue === tag.catalogue &&
            meta.item === tag.item
          );
        });
  if (existing >= 0) {
    cells[existing].setSource(code);
    notebook.activeCellIndex = existing;
    Notification.info(trans.__('Updated the cell generated for %1.', label), {
      autoClose: 3000
    });
    return true;
  }
  const at = index ?? Math.min(notebook.activeCellIndex + 1, cells.length);
  model.sharedModel.insertCell(at, {
    cell_type: 'code',
    source: code,
    metadata: { [CELL_METADATA]: tag as any }
  });
  notebook.activeCellIndex = at;
  return true;
}

/** Accept search results dropped on a notebook: the cell goes where it is dropped. */
export function acceptDrops(
  panel: NotebookPanel,
  trans: TranslationBundle,
  flavour: () => 'portable' | 'widgets'
): void {
  const node = panel.content.node;
  node.addEventListener('dragover', event => {
    if (event.dataTransfer?.types.includes(ITEM_MIME)) {
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
    }
  });
  node.addEventListener('drop', event => {
    const payload = event.dataTransfer?.getData(ITEM_MIME);
    if (!payload) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    let data: { catalogue: string; item: IItem };
    try {
      data = JSON.parse(payload);
    } catch {
      return;
    }
    void insertItemCell(
      panel,
      data.catalogue,
      data.item,
      trans,
      flavour(),
      dropIndex(panel, event)
    );
  });
}

/** The index a cell dropped at the pointer gets: after the cell under it (or before its top half). */
function dropIndex(panel: NotebookPanel, event: DragEvent): number {
  const widgets = panel.content.widgets;
  for (let i = 0; i < widgets.length; i++) {
    const rect = widgets[i].node.getBoundingClientRect();
    if (event.clientY < rect.top + rect.height / 2) {
      return i;
    }
  }
  return widgets.length;
}
