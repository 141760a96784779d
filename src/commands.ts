import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { eoIcon } from './icons';
import { ProcessesModel } from './models/processes';
import { SearchModel } from './models/search';
import { insertCodeCell, insertItemCell } from './notebook';
import { IEOJLabModel } from './tokens';

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
