/**
 * Galata on Debian's Chromium (no browser download), against `eo-jlab demo`.
 */
const path = require('path');
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const workspace = path.resolve(__dirname, '.demo-workspace');
// The demo's own Jupyter data directory (job store, sandbox outputs; see eo_jlab/demo):
// emptied before each server start, so no run lists the jobs of an earlier one.
const dataDir = path.join(workspace, '.eo-jlab-data');

module.exports = {
  ...baseConfig,
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--headless=new',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  },
  webServer: {
    command: `rm -rf "${dataDir}" && eo-jlab demo --workspace "${workspace}" --port 8888 --token "" -- --config jupyter_server_test_config.py 2> demo-server.log`,
    url: 'http://localhost:8888/lab',
    env: { ...process.env, JUPYTERLAB_GALATA_ROOT_DIR: workspace },
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI
  }
};
