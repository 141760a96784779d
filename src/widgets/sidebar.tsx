import * as React from 'react';

import { AccordionPanel } from '@lumino/widgets';

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
  SearchSection,
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
  translator: ITranslator
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

  panel.addWidget(
    section('search', trans.__('Search'), SearchSection, model, trans)
  );
  panel.addWidget(
    section('processes', trans.__('Processes'), ProcessesSection, model, trans)
  );
  panel.addWidget(section('jobs', trans.__('Jobs'), JobsSection, model, trans));
  panel.addWidget(
    section('shared', trans.__('Shared'), SharedSection, model, trans)
  );
  // Search and Processes hold lists; Jobs and Shared start with a line of text.
  if (panel.content instanceof AccordionPanel) {
    panel.content.setRelativeSizes([3, 3, 1, 1]);
  }
  return panel;
}
