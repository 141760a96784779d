import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { COMMAND_IDS, addCommands } from './commands';
import { EOJLabModel } from './models/config';
import { IEOJLabModel, PLUGIN_ID } from './tokens';
// The sidebar is added to the shell during activation, so it is needed at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { createSidebar } from './widgets/sidebar';

/**
 * The eo_jlab sidebar: configured catalogues and processing services, jobs and shares.
 */
const plugin: JupyterFrontEndPlugin<IEOJLabModel> = {
  id: PLUGIN_ID,
  description:
    'Earth Observation catalogues, processing services, jobs and sharing in JupyterLab.',
  autoStart: true,
  provides: IEOJLabModel,
  optional: [ITranslator, ISettingRegistry, ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): IEOJLabModel => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('eo_jlab');
    const model = new EOJLabModel();
    const sidebar = createSidebar(model, translator);
    app.shell.add(sidebar, 'left', { rank: 850 });
    restorer?.add(sidebar, sidebar.id);
    addCommands(app, model, sidebar, trans, palette);

    const start = (): void => void model.refresh();
    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = (): void => {
            model.probeEndpoints = settings.get('probeEndpoints')
              .composite as boolean;
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason =>
          console.error('eo_jlab: could not load its settings.', reason)
        )
        .finally(start);
    } else {
      start();
    }
    console.debug(`eo_jlab activated; commands: ${Object.values(COMMAND_IDS)}`);
    return model;
  }
};

export default plugin;
