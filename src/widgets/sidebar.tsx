import * as React from 'react';

import { AccordionPanel, Widget } from '@lumino/widgets';

import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import {
  ReactWidget,
  refreshIcon,
  SidePanel,
  ToolbarButton,
  UseSignal
} from '@jupyterlab/ui-components';

import {
  ISectionProps,
  JobsSection,
  ProcessesSection,
  SharedSection
} from '../components/Sections';
import { eoIcon } from '../icons';
import { IEOJLabModel } from '../tokens';

/** One accordion section re-rendered whenever the model changes. */
function section(
  id: string,
  label: string,
  Component: (props: ISectionProps) => JSX.Element,
  model: IEOJLabModel,
  trans: TranslationBundle
): ReactWidget {
  const widget = ReactWidget.create(
    <UseSignal signal={model.changed}>
      {() => <Component model={model} trans={trans} />}
    </UseSignal>
  );
  widget.id = `jp-EOJLab-section-${id}`;
  widget.addClass('jp-EOJLab-sectionWidget');
  widget.title.label = label;
  return widget;
}

/** The left-sidebar panel: Search, Processes, Jobs and Shared sections. */
export function createSidebar(
  model: IEOJLabModel,
  translator: ITranslator,
  search: Widget
): SidePanel {
  const trans = translator.load('eo_jlab');
  const panel = new SidePanel({ translator });
  panel.id = 'jp-EOJLab-sidebar';
  panel.addClass('jp-EOJLab-sidebar');
  panel.title.icon = eoIcon;
  panel.title.caption = trans.__('Earth Observation');

  const heading = ReactWidget.create(
    <h2 className="jp-EOJLab-heading">{trans.__('Earth Observation')}</h2>
  );
  panel.header.addWidget(heading);
  panel.toolbar.addItem(
    'refresh',
    new ToolbarButton({
      icon: refreshIcon,
      tooltip: trans.__('Reload the configuration and check the services'),
      onClick: () => void model.refresh()
    })
  );

  search.id = 'jp-EOJLab-section-search';
  search.title.label = trans.__('Search');
  panel.addWidget(search);
  panel.addWidget(
    section('processes', trans.__('Processes'), ProcessesSection, model, trans)
  );
  panel.addWidget(section('jobs', trans.__('Jobs'), JobsSection, model, trans));
  panel.addWidget(
    section('shared', trans.__('Shared'), SharedSection, model, trans)
  );
  // Search (map, form, results) gets the room: the other sections start folded, their
  // titles one click away.
  if (panel.content instanceof AccordionPanel) {
    for (const index of [1, 2, 3]) {
      panel.content.collapse(index);
    }
  }
  return panel;
}
