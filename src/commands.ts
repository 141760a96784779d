import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { eoIcon } from './icons';
import { IEOJLabModel } from './tokens';

export const COMMAND_IDS = {
  open: 'eo-jlab:open',
  refresh: 'eo-jlab:refresh'
};

const NO_ARGS = { args: { type: 'object' as const, properties: {} } };

/** Commands of the sidebar, also in the command palette under "Earth Observation". */
export function addCommands(
  app: JupyterFrontEnd,
  model: IEOJLabModel,
  sidebar: Widget,
  trans: TranslationBundle,
  palette: ICommandPalette | null
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
  const category = trans.__('Earth Observation');
  for (const command of Object.values(COMMAND_IDS)) {
    palette?.addItem({ command, category });
  }
}
