import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import { nullTranslator } from '@jupyterlab/translation';

import * as api from '../api';
import {
  isValid,
  IShareFormValues,
  ShareForm,
  toRecipients,
  validateShareForm
} from '../components/ShareDialog';
import {
  formatSize,
  ISeenStore,
  parseNames,
  SCOPE_KEY_PREFIX,
  SEEN_KEY_PREFIX,
  SharesModel
} from '../models/shares';
import { IShare, ShareScope } from '../tokens';

jest.mock('../api', () => {
  const actual = jest.requireActual('../api');
  return {
    ...actual,
    listShares: jest.fn(),
    getShare: jest.fn(),
    createShare: jest.fn(),
    newShareVersion: jest.fn(),
    deleteShare: jest.fn(),
    copyShare: jest.fn(),
    fetchSharedFile: jest.fn(),
    listShareNames: jest.fn()
  };
});

const mocked = <T extends (...args: any[]) => any>(fn: T) =>
  fn as unknown as jest.MockedFunction<T>;
const listShares = mocked(api.listShares);
const createShare = mocked(api.createShare);
const newShareVersion = mocked(api.newShareVersion);
const deleteShare = mocked(api.deleteShare);
const copyShare = mocked(api.copyShare);
const listShareNames = mocked(api.listShareNames);

const trans = nullTranslator.load('eo_jlab');

function share(id: string, patch: Partial<IShare> = {}): IShare {
  return {
    id,
    owner: 'alice',
    name: `${id}.ipynb`,
    kind: 'file',
    version: 1,
    created: '2025-01-01T10:00:00Z',
    updated: '2025-01-01T10:00:00Z',
    message: '',
    recipients: { users: ['me'], groups: [], public: false },
    size: 1200,
    files: [`${id}.ipynb`],
    ...patch
  };
}

/** Serve the three lists from a table. */
function serve(lists: Partial<Record<ShareScope, IShare[]>>): void {
  listShares.mockImplementation(async scope => ({
    shares: lists[scope] ?? []
  }));
}

/** A state DB stand-in. */
class MemoryStore implements ISeenStore {
  data = new Map<string, unknown>();
  async fetch(key: string): Promise<unknown> {
    return this.data.get(key);
  }
  async save(key: string, value: unknown): Promise<void> {
    this.data.set(key, value);
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
}

let models: SharesModel[] = [];
function create(
  options: ConstructorParameters<typeof SharesModel>[0] = {},
  user = 'me'
): SharesModel {
  const model = new SharesModel({
    state: new MemoryStore(),
    checkInterval: 0,
    ...options
  });
  model.user = user;
  models.push(model);
  return model;
}

beforeEach(() => {
  listShares.mockReset();
  createShare.mockReset();
  newShareVersion.mockReset();
  deleteShare.mockReset();
  copyShare.mockReset();
  listShareNames.mockReset();
});

afterEach(() => {
  models.forEach(m => m.dispose());
  models = [];
  jest.useRealTimers();
});

describe('SharesModel', () => {
  it('loads nothing while sharing is off', async () => {
    serve({});
    const model = create();
    await model.refresh();
    expect(listShares).not.toHaveBeenCalled();
    expect(model.loaded).toBe(false);
  });

  it('loads the three lists, newest first, with counts', async () => {
    serve({
      'with-me': [share('a'), share('b', { updated: '2025-01-03T00:00:00Z' })],
      'by-me': [share('mine', { owner: 'me' })],
      public: [share('examples', { owner: 'operator' })]
    });
    const model = create();
    model.enabled = true;
    await flush();
    expect(listShares.mock.calls.map(c => c[0]).sort()).toEqual([
      'by-me',
      'public',
      'with-me'
    ]);
    expect(model.loaded).toBe(true);
    expect(model.shares().map(s => s.id)).toEqual(['b', 'a']);
    expect(model.counts).toEqual({ 'with-me': 2, 'by-me': 1, public: 1 });
    let changes = 0;
    model.changed.connect(() => changes++);
    model.scope = 'public';
    model.scope = 'public';
    expect(changes).toBe(1);
    expect(model.shares().map(s => s.id)).toEqual(['examples']);
    expect(model.isMine(model.get('mine')!)).toBe(true);
    expect(model.isMine(model.get('a')!)).toBe(false);
  });

  it('opens on a list that has shares until the user chooses one', async () => {
    const lists: Partial<Record<ShareScope, IShare[]>> = {
      public: [share('examples', { owner: 'operator' })]
    };
    serve(lists);
    const model = create();
    model.enabled = true;
    await flush();
    // Nothing with me: the public list is shown, not an empty "With me (0)".
    expect(model.scope).toBe('public');
    // Something with me arrives later: the list in view stays.
    lists['with-me'] = [share('a')];
    await model.refresh();
    expect(model.scope).toBe('public');
  });

  it('shows "by me" after sharing and remembers the choice per user', async () => {
    serve({ public: [share('examples', { owner: 'operator' })] });
    const state = new MemoryStore();
    const model = create({ state });
    model.enabled = true;
    await flush();
    const mine = share('mine', {
      owner: 'me',
      updated: '2025-02-01T00:00:00Z'
    });
    createShare.mockResolvedValue(mine);
    await model.create('notes.ipynb', {
      users: ['bob'],
      groups: [],
      public: false
    });
    expect(model.scope).toBe('by-me');
    expect(model.shares().map(s => s.id)).toEqual(['mine']);
    await flush();
    expect(state.data.get(SCOPE_KEY_PREFIX + 'me')).toBe('by-me');

    // Next session, same user: back on "by me" (it has shares)...
    serve({
      'by-me': [mine],
      public: [share('examples', { owner: 'operator' })]
    });
    const next = create({ state });
    next.enabled = true;
    await flush();
    expect(next.scope).toBe('by-me');
    // ... and a list the user clicks is kept, even when it is empty.
    next.scope = 'with-me';
    await next.refresh();
    expect(next.scope).toBe('with-me');
    await flush();
    expect(state.data.get(SCOPE_KEY_PREFIX + 'me')).toBe('with-me');

    // The remembered list is empty next time: a list that has shares is shown.
    const third = create({ state });
    third.enabled = true;
    await flush();
    expect(third.scope).toBe('by-me');
  });

  it('takes the server\'s "by me" list as the word on what is mine', async () => {
    // The server may name owners otherwise than config.user.name (e.g. the
    // server's account for an anonymous browser session).
    const owned = share('s1', {
      owner: 'jovyan',
      updated: '2025-03-01T00:00:00Z'
    });
    serve({ 'by-me': [owned], public: [owned] });
    const model = create({}, '0123456789abcdef0123456789abcdef');
    model.enabled = true;
    await flush();
    expect(model.isMine(owned)).toBe(true);
    expect(model.newCount).toBe(0);
  });

  it('keeps the error sentence when a list fails', async () => {
    listShares.mockRejectedValue(
      new api.EOJLabRequestError('The share store is not readable.', 500)
    );
    const model = create();
    model.enabled = true;
    await flush();
    expect(model.error).toBe('The share store is not readable.');
    expect(model.loading).toBe(false);
  });

  it('counts what is new for me and remembers what I saw, per user', async () => {
    const store = new MemoryStore();
    const lists = {
      'with-me': [share('a', { updated: '2025-01-02T00:00:00Z' })],
      'by-me': [
        share('mine', {
          owner: 'me',
          recipients: { users: [], groups: [], public: true }
        })
      ],
      public: [
        share('a', { updated: '2025-01-02T00:00:00Z' }),
        share('examples', { owner: 'operator' }),
        share('mine', {
          owner: 'me',
          updated: '2025-02-01T00:00:00Z'
        })
      ]
    };
    serve(lists);
    const model = create({ state: store });
    model.enabled = true;
    await flush();
    // "a" once (with me and public), "examples"; never my own share.
    expect(model.newCount).toBe(2);
    expect(model.newShares.map(s => s.id).sort()).toEqual(['a', 'examples']);

    await model.markSeen();
    expect(model.newCount).toBe(0);
    expect(store.data.get(`${SEEN_KEY_PREFIX}me`)).toBe('2025-01-02T00:00:00Z');

    // Another session of the same user starts from what was seen.
    lists['with-me'].push(share('c', { updated: '2025-01-05T00:00:00Z' }));
    const again = create({ state: store });
    again.enabled = true;
    await flush();
    expect(again.newShares.map(s => s.id)).toEqual(['c']);
    // Another user has seen nothing yet (and owns nothing).
    serve({ ...lists, 'by-me': [] });
    const other = create({ state: store }, 'bob');
    other.enabled = true;
    await flush();
    expect(other.newCount).toBe(4); // including my public share
  });

  it('falls back on localStorage-like storage without a state DB', async () => {
    const items = new Map<string, string>();
    const storage = {
      getItem: (key: string) => items.get(key) ?? null,
      setItem: (key: string, value: string) => void items.set(key, value)
    };
    serve({ 'with-me': [share('a')] });
    const model = create({ state: null, storage });
    model.enabled = true;
    await flush();
    expect(model.newCount).toBe(1);
    await model.markSeen();
    expect(items.get(`${SEEN_KEY_PREFIX}me`)).toBe('2025-01-01T10:00:00Z');
    const again = create({ state: null, storage });
    again.enabled = true;
    await flush();
    expect(again.newCount).toBe(0);
  });

  it('creates, updates, copies and unshares', async () => {
    serve({});
    const model = create();
    model.enabled = true;
    await flush();
    const created = share('n1', {
      owner: 'me',
      name: 'ndvi.ipynb',
      recipients: { users: [], groups: ['course'], public: true }
    });
    createShare.mockResolvedValue(created);
    const result = await model.create(
      'work/ndvi.ipynb',
      { users: [], groups: ['course'], public: true },
      'Week 1'
    );
    expect(result).toBe(created);
    expect(createShare).toHaveBeenCalledWith({
      path: 'work/ndvi.ipynb',
      recipients: { users: [], groups: ['course'], public: true },
      message: 'Week 1'
    });
    expect(model.shares('by-me').map(s => s.id)).toEqual(['n1']);
    expect(model.shares('public').map(s => s.id)).toEqual(['n1']);
    expect(model.newCount).toBe(0); // mine

    newShareVersion.mockResolvedValue({
      ...created,
      version: 2,
      updated: '2025-01-02T00:00:00Z'
    });
    const updated = await model.newVersion('n1');
    expect(updated.version).toBe(2);
    expect(model.get('n1')!.version).toBe(2);

    copyShare.mockResolvedValue({ path: 'ndvi-1.ipynb' });
    await expect(model.copy('n1')).resolves.toBe('ndvi-1.ipynb');
    expect(copyShare).toHaveBeenCalledWith('n1', undefined);

    deleteShare.mockResolvedValue(undefined);
    await model.unshare('n1');
    expect(deleteShare).toHaveBeenCalledWith('n1');
    expect(model.get('n1')).toBeUndefined();
    expect(model.counts).toEqual({ 'with-me': 0, 'by-me': 0, public: 0 });
  });

  it('lets action errors through to the caller', async () => {
    serve({});
    const model = create();
    createShare.mockRejectedValue(
      new api.EOJLabRequestError('There is no file missing.ipynb.', 404)
    );
    await expect(
      model.create('missing.ipynb', {
        users: ['bob'],
        groups: [],
        public: false
      })
    ).rejects.toThrow('There is no file missing.ipynb.');
  });

  it('checks every N seconds only while sharing is on, and stops when disposed', async () => {
    jest.useFakeTimers();
    serve({});
    const model = create({ checkInterval: 30 });
    expect(model.polling).toBe(false);
    model.enabled = true;
    expect(model.polling).toBe(true);
    await flush();
    const calls = listShares.mock.calls.length;
    expect(calls).toBe(3);
    jest.advanceTimersByTime(30000);
    await flush();
    expect(listShares.mock.calls.length).toBe(6);

    model.checkInterval = 0;
    expect(model.polling).toBe(false);
    jest.advanceTimersByTime(120000);
    await flush();
    expect(listShares.mock.calls.length).toBe(6);

    model.checkInterval = 10;
    expect(model.polling).toBe(true);
    model.enabled = false;
    expect(model.polling).toBe(false);

    model.enabled = true;
    expect(model.polling).toBe(true);
    model.dispose();
    expect(model.polling).toBe(false);
    expect(model.isDisposed).toBe(true);
  });

  it('offers suggestions only when the server has them', async () => {
    listShareNames.mockImplementation(async what =>
      what === 'users' ? ['alice', 'bob'] : null
    );
    const model = create();
    await expect(model.suggestions('users')).resolves.toEqual(['alice', 'bob']);
    await expect(model.suggestions('groups')).resolves.toBeNull();
    await model.suggestions('users');
    expect(listShareNames).toHaveBeenCalledTimes(2); // asked once each
  });
});

describe('helpers', () => {
  it('parses typed names', () => {
    expect(parseNames(' alice, bob;carol  dave,,alice ')).toEqual([
      'alice',
      'bob',
      'carol',
      'dave'
    ]);
    expect(parseNames('')).toEqual([]);
  });

  it('formats sizes', () => {
    expect(formatSize(812)).toBe('812 B');
    expect(formatSize(1434)).toBe('1.4 KB');
    expect(formatSize(5 * 1024 * 1024)).toBe('5.0 MB');
  });
});

describe('the Share dialog', () => {
  const values = (patch: Partial<IShareFormValues> = {}): IShareFormValues => ({
    path: 'work/ndvi.ipynb',
    users: '',
    groups: '',
    public: false,
    message: '',
    ...patch
  });

  it('needs at least one recipient or public', () => {
    const errors = validateShareForm(values(), trans);
    expect(isValid(errors)).toBe(false);
    expect(errors.recipients).toBe(
      'Name at least one user or group, or make the share public.'
    );
    expect(isValid(validateShareForm(values({ public: true }), trans))).toBe(
      true
    );
    expect(isValid(validateShareForm(values({ users: 'bob' }), trans))).toBe(
      true
    );
    expect(
      isValid(validateShareForm(values({ groups: ' course-2025 ' }), trans))
    ).toBe(true);
    expect(isValid(validateShareForm(values({ users: ' , ; ' }), trans))).toBe(
      false
    );
  });

  it('refuses a missing path, "..", bad names and long messages', () => {
    expect(
      validateShareForm(values({ path: ' ', public: true }), trans).path
    ).toBeTruthy();
    expect(
      validateShareForm(values({ path: '../etc/passwd', public: true }), trans)
        .path
    ).toBeTruthy();
    expect(
      validateShareForm(values({ users: 'bob, "x"' }), trans).recipients
    ).toContain('"x"');
    expect(
      validateShareForm(
        values({ public: true, message: 'x'.repeat(2001) }),
        trans
      ).message
    ).toBeTruthy();
  });

  it('turns the typed names into recipients', () => {
    expect(
      toRecipients(values({ users: 'alice bob, alice', groups: 'course' }))
    ).toEqual({ users: ['alice', 'bob'], groups: ['course'], public: false });
  });

  describe('form', () => {
    let container: HTMLDivElement;
    let root: Root;
    beforeEach(() => {
      (globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
      container = document.createElement('div');
      document.body.appendChild(container);
      root = createRoot(container);
    });
    afterEach(() => {
      act(() => root.unmount());
      container.remove();
    });

    it('shows the recipient error, and suggestions when there are some', async () => {
      let latest: IShareFormValues | null = null;
      await act(async () => {
        root.render(
          <ShareForm
            initial={values()}
            trans={trans}
            showErrors
            onChange={v => {
              latest = v;
            }}
            suggestions={async what =>
              what === 'users' ? ['alice', 'bob'] : null
            }
          />
        );
      });
      expect(container.textContent).toContain(
        'Name at least one user or group, or make the share public.'
      );
      const suggestions = container.querySelectorAll(
        '.jp-EOJLab-share-users .jp-EOJLab-shareSuggestion'
      );
      expect(Array.from(suggestions).map(b => b.textContent)).toEqual([
        'alice',
        'bob'
      ]);
      expect(
        container.querySelectorAll(
          '.jp-EOJLab-share-groups .jp-EOJLab-shareSuggestion'
        )
      ).toHaveLength(0);
      await act(async () => {
        (suggestions[1] as HTMLButtonElement).click();
      });
      expect(latest!.users).toBe('bob, ');
      expect(container.textContent).not.toContain(
        'Name at least one user or group'
      );
      const box = container.querySelector<HTMLInputElement>(
        'input.jp-EOJLab-sharePublic'
      )!;
      await act(async () => {
        box.click();
      });
      expect(latest!.public).toBe(true);
    });
  });
});
