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

import { ISectionProps, SharedSection } from '../components/Sections';
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

/** The sections of the sidebar, in order. */
export const SECTIONS = ['search', 'processes', 'jobs', 'shared'] as const;
export type SectionId = (typeof SECTIONS)[number];

/**
 * How the open sections share the height: Search holds the map, the form and the results;
 * each open section also keeps a minimum height (CSS `min-height`, which the accordion
 * honours), so none is squeezed to nothing when the window shrinks.
 */
const SECTION_WEIGHTS = [3, 1.6, 1, 0.8];

/** Unfold one section of the sidebar (the others keep their state). */
export function expandSection(panel: SidePanel, id: SectionId): void {
  if (panel.content instanceof AccordionPanel) {
    panel.content.expand(SECTIONS.indexOf(id));
  }
}

/** The left-sidebar panel: Search, Processes, Jobs and Shared sections. */
export function createSidebar(
  model: IEOJLabModel,
  translator: ITranslator,
  sections: { search: Widget; processes: Widget; jobs: Widget; shared?: Widget }
): SidePanel {
  const { search, processes, jobs, shared } = sections;
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
  processes.id = 'jp-EOJLab-section-processes';
  processes.title.label = trans.__('Processes');
  panel.addWidget(processes);
  jobs.id = 'jp-EOJLab-section-jobs';
  jobs.title.label = trans.__('Jobs');
  panel.addWidget(jobs);
  if (shared) {
    shared.id = 'jp-EOJLab-section-shared';
    shared.title.label = trans.__('Shared');
    panel.addWidget(shared);
  } else {
    panel.addWidget(
      section('shared', trans.__('Shared'), SharedSection, model, trans)
    );
  }
  // Search (map, form, results) gets the room: the other sections start folded, their
  // titles one click away.
  if (panel.content instanceof AccordionPanel) {
    const accordion = panel.content;
    for (const index of [1, 2, 3]) {
      accordion.collapse(index);
    }
    // Sections folded before the panel was laid out have no size to come back to: share
    // the height between the open ones whenever one opens or folds.
    accordion.expansionToggled.connect(() => {
      const open = accordion.widgets.map(w => !w.isHidden);
      if (open.some(Boolean)) {
        accordion.setRelativeSizes(
          open.map((isOpen, i) => (isOpen ? SECTION_WEIGHTS[i] : 0))
        );
      }
    });
  }
  return panel;
}
