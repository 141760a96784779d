import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Clipboard, ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

/* eslint-disable jupyter/prefer-lazy-imports --
   The sidebar, its models and commands are built during activation (the panel is in the
   shell from the start, and notebooks accept drops as soon as they open). */
import {
  addCommands,
  addShareCommands,
  ISearchCommandsContext
} from './commands';
import { EOJLabModel } from './models/config';
import { JobsModel, notifyJobEnded } from './models/jobs';
import { ProcessesModel } from './models/processes';
import { SearchModel } from './models/search';
import { SearchState } from './models/searchState';
import { SharesModel } from './models/shares';
import { acceptDrops } from './notebook';
import { JobsWidget } from './widgets/jobs';
import { ProcessesWidget } from './widgets/processes';
import { SearchWidget } from './widgets/search';
import { openSharedFile, SharesWidget } from './widgets/shares';
import { createSidebar, expandSection } from './widgets/sidebar';
/* eslint-enable jupyter/prefer-lazy-imports */
import {
  IEOJLabModel,
  IShare,
  PLUGIN_ID,
  ShareScope,
  SnippetLanguage
} from './tokens';

export const DEFAULT_BASEMAP = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';

/**
 * The eo_jlab sidebar: catalogue search with a map, processing services, jobs and shares.
 */
const plugin: JupyterFrontEndPlugin<IEOJLabModel> = {
  id: PLUGIN_ID,
  description:
    'Earth Observation catalogues, processing services, jobs and sharing in JupyterLab.',
  autoStart: true,
  provides: IEOJLabModel,
  optional: [
    ITranslator,
    ISettingRegistry,
    ILayoutRestorer,
    ICommandPalette,
    INotebookTracker,
    IStateDB
  ],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    state: IStateDB | null
  ): IEOJLabModel => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('eo_jlab');
    const model = new EOJLabModel();
    const search = new SearchModel();
    const contents = app.serviceManager.contents;
    const processes = new ProcessesModel({
      fileReader: async path => {
        const file = await contents.get(path, {
          content: true,
          format: 'text'
        });
        return {
          value:
            typeof file.content === 'string'
              ? file.content
              : JSON.stringify(file.content),
          mimeType: file.mimetype || null
        };
      }
    });
    const jobs = new JobsModel({ events: app.serviceManager.events });
    const context: ISearchCommandsContext = {
      search,
      processes,
      notebooks,
      flavour: 'portable'
    };
    const searchWidget = new SearchWidget({
      config: model,
      search,
      trans,
      basemapUrl: DEFAULT_BASEMAP,
      onInsert: () => void app.commands.execute('eo-jlab:insert-item')
    });
    const map = searchWidget.map;
    const showJob = (id: string): void => {
      app.shell.activateById(sidebar.id);
      expandSection(sidebar, 'jobs');
      jobs.reveal(id);
    };
    const copyCode = async (language: SnippetLanguage): Promise<void> => {
      const snippet = await processes.snippet(language);
      if (snippet) {
        Clipboard.copyToSystem(snippet.code);
        Notification.info(trans.__('Code copied to the clipboard.'), {
          autoClose: 2000
        });
      }
    };
    const processesWidget = new ProcessesWidget({
      config: model,
      model: processes,
      map,
      trans,
      results: () => search.results,
      onInsertCode: () =>
        void app.commands.execute('eo-jlab:insert-process-code'),
      onCopyCode: language => void copyCode(language),
      onShowJob: job => showJob(job.id)
    });
    processes.submitted.connect((_, job) => {
      jobs.upsert(job);
      if (job.status !== 'successful') {
        expandSection(sidebar, 'jobs');
      }
    });
    const jobsWidget = new JobsWidget({ model: jobs, map, trans });
    jobs.jobEnded.connect((_, job) => notifyJobEnded(job, trans, showJob));
    const shares = new SharesModel({ state });
    const openShared = (share: IShare, path?: string): void =>
      void openSharedFile(app, {
        model: shares,
        trans,
        share,
        path,
        onCopy: target => sharesWidget.copy(target)
      });
    const sharesWidget = new SharesWidget({
      model: shares,
      config: model,
      trans,
      openPath: path => app.commands.execute('docmanager:open', { path }),
      openFolder: path =>
        app.commands.execute('filebrowser:go-to-path', { path }),
      openShared,
      onShare: () => void app.commands.execute('eo-jlab:share')
    });
    const showShared = (scope?: ShareScope): void => {
      if (scope) {
        shares.scope = scope;
      }
      app.shell.activateById(sidebar.id);
      expandSection(sidebar, 'shared');
    };
    model.changed.connect(() => {
      const config = model.config;
      shares.user = config?.user?.name ?? null;
      shares.enabled = !!config?.sharing?.enabled;
    });
    // A dot on the sidebar's tab while something new is shared with the user.
    shares.changed.connect(() => {
      sidebar.title.className =
        shares.enabled && shares.newCount > 0 ? 'jp-EOJLab-mod-newShares' : '';
    });
    const sidebar = createSidebar(model, translator, {
      search: searchWidget,
      processes: processesWidget,
      jobs: jobsWidget,
      shared: sharesWidget
    });
    map.onReveal = () => expandSection(sidebar, 'search');
    app.shell.add(sidebar, 'left', { rank: 850 });
    restorer?.add(sidebar, sidebar.id);
    addCommands(app, model, sidebar, trans, palette, context);
    addShareCommands(app, trans, palette, {
      shares,
      config: model,
      showShared,
      openShared
    });
    notebooks?.widgetAdded.connect((_, panel) =>
      acceptDrops(panel, trans, () => context.flavour)
    );

    const start = (): void => {
      void model.refresh();
      void jobs.refresh();
    };
    // The search comes back after a reload (form per catalogue, last search re-run once on
    // screen), as the layout does; else the only catalogue is chosen at once, so a first
    // search needs no setup.
    const searchState = state
      ? new SearchState({ model: search, state })
      : null;
    // Every change waits for the one restore, so the default choice never races it.
    let restoring: Promise<void> | undefined;
    model.changed.connect(async () => {
      const catalogues = model.config?.catalogues;
      if (!catalogues) {
        return;
      }
      restoring ??=
        searchState?.restore(catalogues.map(c => c.id)) ?? Promise.resolve();
      await restoring;
      if (!search.form.catalogue && catalogues.length === 1) {
        void search.setCatalogue(catalogues[0].id);
      }
    });
    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = (): void => {
            model.probeEndpoints = settings.get('probeEndpoints')
              .composite as boolean;
            search.pageSize = settings.get('pageSize').composite as number;
            searchWidget.map.setBasemap(
              settings.get('basemapUrl').composite as string
            );
            context.flavour = settings.get('snippetFlavour').composite as
              'portable' | 'widgets';
            shares.checkInterval = settings.get('shareCheckInterval')
              .composite as number;
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
    return model;
  }
};

export default plugin;
