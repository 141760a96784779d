/**
 * The browser benchmark (run by bench/browser.py, not by `make test`): the main
 * configuration with the specs of ./bench, one worker, no retries, and always a fresh
 * server (the benchmark catalogue is added through EO_JLAB_BENCH_CATALOGUE at start-up).
 * The specs are named *.bench.ts: the main configuration (no testDir, so every *.spec.ts
 * under ui-tests/) does not pick them up.
 */
const baseConfig = require('./playwright.config');

module.exports = {
  ...baseConfig,
  testDir: './bench',
  testMatch: '**/*.bench.ts',
  reporter: [['list']],
  retries: 0,
  workers: 1,
  timeout: 300 * 1000,
  webServer: { ...baseConfig.webServer, reuseExistingServer: false }
};
