import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { eoIcon } from './icons';
import { ProcessesModel } from './models/processes';
import { SearchModel } from './models/search';
import { SharesModel } from './models/shares';
import { insertCodeCell, insertItemCell } from './notebook';
import { IEOJLabModel, IShare, ShareScope } from './tokens';
import { showShareDialog } from './widgets/shares';

export const COMMAND_IDS = {
  open: 'eo-jlab:open',
  refresh: 'eo-jlab:refresh',
  search: 'eo-jlab:search',
  insertItem: 'eo-jlab:insert-item',
  insertProcess: 'eo-jlab:insert-process-code',
  reloadSandbox: 'eo-jlab:reload-sandbox'
};

/** What the search commands act on. */
export interface ISearchCommandsContext {
  search: SearchModel;
  processes: ProcessesModel;
  notebooks: INotebookTracker | null;
  flavour: 'portable' | 'widgets';
}

const NO_ARGS = { args: { type: 'object' as const, properties: {} } };

/** Commands of the sidebar, also in the command palette under "Earth Observation". */
export function addCommands(
  app: JupyterFrontEnd,
  model: IEOJLabModel,
  sidebar: Widget,
  trans: TranslationBundle,
  palette: ICommandPalette | null,
  context: ISearchCommandsContext
): void {
  app.commands.addCommand(COMMAND_IDS.open, {
    label: trans.__('Open the Earth Observation panel'),
    icon: eoIcon,
    describedBy: NO_ARGS,
    execute: () => app.shell.activateById(sidebar.id)
  });
  app.commands.addCommand(COMMAND_IDS.refresh, {
    label: trans.__('Reload the Earth Observation configuration'),
    icon: refreshIcon,
    describedBy: NO_ARGS,
    execute: () => model.refresh()
  });
  app.commands.addCommand(COMMAND_IDS.search, {
    label: trans.__('Search the catalogue'),
    describedBy: NO_ARGS,
    isEnabled: () => !!context.search.form.catalogue,
    execute: () => context.search.search()
  });
  app.commands.addCommand(COMMAND_IDS.insertItem, {
    label: trans.__('Insert the selected product in the notebook'),
    describedBy: NO_ARGS,
    isEnabled: () => !!context.search.selected,
    execute: async () => {
      const item = context.search.selected;
      const catalogue = context.search.resultsCatalogue;
      if (!item || !catalogue) {
        Notification.info(trans.__('Select a search result first.'), {
          autoClose: 3000
        });
        return false;
      }
      const panel = await currentOrNewNotebook(app, context.notebooks);
      if (!panel) {
        Notification.warning(trans.__('Open a notebook to insert code into.'), {
          autoClose: 4000
        });
        return false;
      }
      return insertItemCell(panel, catalogue, item, trans, context.flavour);
    }
  });
  app.commands.addCommand(COMMAND_IDS.insertProcess, {
    label: trans.__('Insert code running the open process in the notebook'),
    describedBy: NO_ARGS,
    isEnabled: () => !!context.processes.process,
    execute: async () => {
      const processes = context.processes;
      const service = processes.service;
      const process = processes.process;
      if (!service || !process) {
        Notification.info(trans.__('Open a process first.'), {
          autoClose: 3000
        });
        return false;
      }
      const panel = await currentOrNewNotebook(app, context.notebooks);
      if (!panel) {
        Notification.warning(trans.__('Open a notebook to insert code into.'), {
          autoClose: 4000
        });
        return false;
      }
      return insertCodeCell(
        panel,
        async language => {
          const snippet = await processes.snippet(
            language,
            language === 'python' ? context.flavour : 'portable'
          );
          if (!snippet) {
            throw new Error(processes.error ?? trans.__('no code'));
          }
          return snippet.code;
        },
        { kind: 'process', service: service.id, process: process.id },
        process.title || process.id,
        trans
      );
    }
  });
  app.commands.addCommand(COMMAND_IDS.reloadSandbox, {
    label: trans.__('Reload the local processing sandbox'),
    icon: refreshIcon,
    describedBy: NO_ARGS,
    isEnabled: () => context.processes.service?.protocol === 'sandbox',
    execute: () => context.processes.reloadSandbox()
  });
  const category = trans.__('Earth Observation');
  for (const command of Object.values(COMMAND_IDS)) {
    palette?.addItem({ command, category });
  }
}

/** The notebook in focus, else a new one (Python kernel by default). */
async function currentOrNewNotebook(
  app: JupyterFrontEnd,
  notebooks: INotebookTracker | null
): Promise<NotebookPanel | null> {
  if (!notebooks) {
    return null;
  }
  const current = notebooks.currentWidget;
  if (current) {
    return current;
  }
  // Name the kernel: without one, JupyterLab asks the user to choose (a dialog).
  await app.serviceManager.kernelspecs.ready;
  const kernelName = app.serviceManager.kernelspecs.specs?.default;
  const panel = (await app.commands.execute('notebook:create-new', {
    kernelName
  })) as NotebookPanel;
  if (!panel) {
    return null;
  }
  await panel.context.ready;
  return panel;
}

/* ---- Sharing ---- */

export const SHARE_COMMAND_IDS = {
  share: 'eo-jlab:share',
  openShared: 'eo-jlab:open-shared'
};

/** What the sharing commands act on. */
export interface IShareCommandsContext {
  shares: SharesModel;
  config: IEOJLabModel;
  /** Open the sidebar on the Shared section (optionally on one list). */
  showShared: (scope?: ShareScope) => void;
  /** Open one file of a share read-only. */
  openShared: (share: IShare, path?: string) => void;
}

/**
 * `eo-jlab:share` (args: `path`; else the file browser's selection when run from its context
 * menu, else the document in focus) and `eo-jlab:open-shared` (args: `id`, `path`; without
 * an id, the Shared section). Both in the palette; "Share…" also in the file browser's
 * context menu, for files and folders.
 */
export function addShareCommands(
  app: JupyterFrontEnd,
  trans: TranslationBundle,
  palette: ICommandPalette | null,
  context: IShareCommandsContext
): void {
  const { shares, config } = context;
  app.commands.addCommand(SHARE_COMMAND_IDS.share, {
    label: args =>
      args.path
        ? trans.__('Share %1…', String(args.path).split('/').pop())
        : trans.__('Share…'),
    caption: trans.__('Share a file or folder with other users'),
    describedBy: {
      args: {
        type: 'object' as const,
        properties: {
          path: {
            type: 'string',
            description: trans.__('The file or folder to share')
          },
          origin: {
            type: 'string',
            description: trans.__(
              '"filebrowser": share the file browser\'s selection'
            )
          }
        }
      }
    },
    isVisible: () => !!config.config?.sharing?.enabled,
    execute: async args => {
      if (!config.config?.sharing?.enabled) {
        Notification.warning(trans.__('Sharing is off on this server.'), {
          autoClose: 4000
        });
        return null;
      }
      let path = typeof args.path === 'string' ? args.path : null;
      if (path === null && args.origin === 'filebrowser') {
        path = browserSelection(app);
      }
      if (path === null) {
        path = await currentDocumentPath(app);
      }
      if (path === null) {
        path = browserSelection(app);
      }
      return showShareDialog({
        model: shares,
        trans,
        path: path ?? '',
        mode: config.config.sharing.mode,
        onShow: () => context.showShared('by-me')
      });
    }
  });
  app.commands.addCommand(SHARE_COMMAND_IDS.openShared, {
    label: trans.__('Open shared files'),
    caption: trans.__(
      'Show what is shared with you, or open a file of a share read-only'
    ),
    describedBy: {
      args: {
        type: 'object' as const,
        properties: {
          id: { type: 'string', description: trans.__('The share id') },
          path: {
            type: 'string',
            description: trans.__('A file of the share')
          }
        }
      }
    },
    isEnabled: () => !!config.config?.sharing?.enabled,
    execute: async args => {
      const id = typeof args.id === 'string' ? args.id : null;
      if (!id) {
        context.showShared();
        return;
      }
      // Lists leave out a share's files: a folder opened without a path needs the details.
      const listed = shares.get(id);
      const share =
        listed && (listed.kind === 'file' || listed.files)
          ? listed
          : await shares.details(id);
      context.openShared(
        share,
        typeof args.path === 'string' ? args.path : undefined
      );
    }
  });
  app.contextMenu.addItem({
    command: SHARE_COMMAND_IDS.share,
    selector: '.jp-DirListing-item[data-isdir]',
    rank: 12,
    args: { origin: 'filebrowser' }
  });
  const category = trans.__('Earth Observation');
  for (const command of Object.values(SHARE_COMMAND_IDS)) {
    palette?.addItem({ command, category });
  }
}

/** The path of the first item selected in the default file browser, or null. */
function browserSelection(app: JupyterFrontEnd): string | null {
  const browser = Array.from(app.shell.widgets('left')).find(
    widget => widget.id === 'filebrowser'
  ) as any;
  const first = browser?.selectedItems?.().next?.();
  return first && !first.done && typeof first.value?.path === 'string'
    ? first.value.path
    : null;
}

/** The path of the document in focus (saved first when it has changes), or null. */
async function currentDocumentPath(
  app: JupyterFrontEnd
): Promise<string | null> {
  const widget = app.shell.currentWidget as any;
  const documentContext = widget?.context;
  if (!documentContext || typeof documentContext.path !== 'string') {
    return null;
  }
  if (documentContext.model?.dirty && documentContext.save) {
    await documentContext.save();
  }
  return documentContext.localPath ?? documentContext.path;
}
