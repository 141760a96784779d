import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { addShareCommands, SHARE_COMMAND_IDS } from '../commands';
import { IShare } from '../tokens';

// The real apputils and ui-components pull in ES-module web components jest does not
// transform here; the commands under test use none of them.
jest.mock('@jupyterlab/apputils', () => ({
  Notification: { error: jest.fn() }
}));
jest.mock('@jupyterlab/ui-components', () => ({ refreshIcon: {} }));
jest.mock('@jupyterlab/notebook', () => ({ NotebookPanel: class {} }));
jest.mock('../icons', () => ({ eoIcon: {} }));
jest.mock('../notebook', () => ({}));
jest.mock('../widgets/shares', () => ({ showShareDialog: jest.fn() }));

/** A share as `GET shares?scope=` lists it: no `files`, `checksums` nor `versions`. */
const listed: IShare = {
  id: 'course-1',
  owner: 'alice',
  name: 'course',
  kind: 'directory',
  version: 2,
  created: '2026-12-06T02:00:00Z',
  updated: '2026-12-06T02:10:00Z',
  message: '',
  recipients: { users: [], groups: [], public: true },
  size: 12
};

function setUp(share: IShare) {
  const commands = new CommandRegistry();
  const app = { commands, contextMenu: { addItem: jest.fn() } } as any;
  const full = { ...share, files: ['week1/intro.ipynb', 'data.csv'] };
  const shares = {
    get: jest.fn(() => share),
    details: jest.fn(async () => full)
  } as any;
  const config = {
    config: { sharing: { enabled: true, mode: 'local' } }
  } as any;
  const openShared = jest.fn();
  addShareCommands(app, nullTranslator.load('eo_jlab'), null, {
    shares,
    config,
    showShared: jest.fn(),
    openShared
  });
  return { commands, shares, openShared, full };
}

describe('eo-jlab:open-shared', () => {
  it('fetches a listed folder share before opening it (lists carry no files)', async () => {
    const { commands, shares, openShared, full } = setUp(listed);
    await commands.execute(SHARE_COMMAND_IDS.openShared, { id: listed.id });
    expect(shares.details).toHaveBeenCalledWith(listed.id);
    expect(openShared).toHaveBeenCalledWith(full, undefined);
  });

  it('opens a listed file share as it is', async () => {
    const file: IShare = { ...listed, kind: 'file', name: 'notes.md' };
    const { commands, shares, openShared } = setUp(file);
    await commands.execute(SHARE_COMMAND_IDS.openShared, {
      id: file.id,
      path: 'notes.md'
    });
    expect(shares.details).not.toHaveBeenCalled();
    expect(openShared).toHaveBeenCalledWith(file, 'notes.md');
  });
});
