import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { requestAPI } from './request';

/**
 * Initialization data for the eo_jlab extension.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'eo_jlab:plugin',
  description: 'Earth Observation platform tools for JupyterLab: catalogue search, processing services, job monitoring and workspace sharing.',
  autoStart: true,
  optional: [ISettingRegistry],
  activate: (app: JupyterFrontEnd, settingRegistry: ISettingRegistry | null) => {
    console.log('JupyterLab extension eo_jlab is activated!');

    if (settingRegistry) {
      settingRegistry
        .load(plugin.id)
        .then(settings => {
          console.log('eo_jlab settings loaded:', settings.composite);
        })
        .catch(reason => {
          console.error('Failed to load settings for eo_jlab.', reason);
        });
    }

    requestAPI<any>('hello', app.serviceManager.serverSettings)
      .then(data => {
        console.log(data);
      })
      .catch(reason => {
        console.error(
          `The eo_jlab server extension appears to be missing.\n${reason}`
        );
      });
  }
};

export default plugin;
