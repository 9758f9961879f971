import { expect } from 'chai';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { Worker } from '@temporalio/worker';
import { bearer, createTestKey } from '../support/auth';
import { makeBlobs } from '../support/blobs';
import { colourPixels, launchChromium, screenshot } from '../support/browser';
import { interleavedBlobsCsv } from '../support/interleaved-blobs';
import { blobRows, trainingBody, upload } from '../support/pipeline-data';
import { request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { createTestWorker } from '../support/with-worker';

// Functions passed to page.evaluate run in the browser: its globals, declared for this file only (the test build has
// no DOM library).
declare const window: any;
declare const document: any;
declare const MutationObserver: any;
declare const getComputedStyle: any;

/** The console's palette (console/lib/charts.js): clusters 0, 1, 2, 3; line series in the same order. */
const CLUSTER_COLOURS = ['#4e79a7', '#f28e2b', '#e15759'];
const FOURTH_COLOUR = '#76b7b2';

/** Three blobs in four dimensions (the scatter shows principal components) with a text label column: CSV. */
function blobsCsv(): { csv: string; rows: number } {
  const blobs = makeBlobs(
    80,
    [
      [0, 0, 0, 0],
      [5, 5, 1, 2],
      [-5, 5, 3, -2],
    ],
    1.4,
    11,
  );
  const lines = blobs.points.map((p, i) => `${p.map((v) => v.toFixed(4)).join(',')},${'xyz'[blobs.labels[i]]}`);
  return { csv: ['a,b,c,d,kind', ...lines].join('\n'), rows: lines.length };
}

/**
 * The web console in headless Chromium against the real stack (API, Temporal, Postgres, a CPU worker): every job
 * starts from the console's own forms or buttons, and the assertions read what the page shows (text, the DOM, the
 * charts' canvas pixels), not the API's answers.
 */
describe('web console in a browser', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let api: TestApi;
  let worker: Worker;
  let running: Promise<void>;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  /** Requests the page sent anywhere but the API's origin (the console loads nothing from the network). */
  const offsite: string[] = [];
  const data = blobsCsv();
  let datasetId: string;
  /** Keys of the default tenant: the console signs in with the admin's; the API calls of the test send them too. */
  let adminKey: string;
  let viewerKey: string;
  /** Starts the pipeline the console's admin approves (an approver never decides a pipeline they started). */
  let operatorKey: string;
  /** A second browser session (its own cookies), signed in as a viewer once a test needs it. */
  let viewerContext: BrowserContext | undefined;
  const admin = () => bearer(adminKey);

  before(async () => {
    // Without a browser this fails here, naming `apt-get install -y chromium` (test/support/chromium.ts).
    browser = await launchChromium();
    stack = await getTestStack();
    // Event streams re-check their credentials often (CREDENTIAL_RECHECK_MS is 5 s): the revoked-key test waits less.
    api = await startTestApi(stack, {}, {}, { sseRecheckMs: 250 });
    adminKey = await createTestKey(stack.pool, { role: 'admin', name: 'console-admin' });
    viewerKey = await createTestKey(stack.pool, { role: 'viewer', name: 'console-viewer' });
    operatorKey = await createTestKey(stack.pool, { role: 'operator', name: 'console-operator' });
    worker = await createTestWorker(stack);
    running = worker.run();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith(`${api.baseUrl}/`) && !url.startsWith('data:') && url !== 'about:blank') offsite.push(url);
    });
  });

  after(async () => {
    await viewerContext?.close();
    await browser?.close();
    if (worker) {
      worker.shutdown();
      await running;
    }
    await api?.close();
  });

  afterEach(() => {
    expect(pageErrors, 'errors thrown in the page').to.deep.equal([]);
    expect(offsite, 'requests beyond the API (CDN, validators, fonts)').to.deep.equal([]);
  });

  const goto = (hash: string) => page.goto(`${api.baseUrl}/#/${hash}`);

  /**
   * Waits until a start form has rendered its data: the datasets list and the chosen dataset's columns. Fields typed
   * before that are reset by the re-render (console/pages/forms.js gives its inputs `value` props, which Preact puts
   * back on every render): `k` typed as 4 became 3 again.
   */
  const formLoaded = async (form: 'clustering-form' | 'training-form') => {
    await page.locator(`#${form} select[name="datasetId"] option`).first().waitFor({ state: 'attached' });
    const columns = form === 'clustering-form' ? 'fieldset.columns-choice input' : 'select[name="target"] option';
    await page.locator(`#${form} ${columns}`).first().waitFor({ state: 'attached' });
  };

  /** Waits (2 s at most, else fails) until the sign-in form's key field has the focus (it takes it once rendered). */
  const keyFieldFocused = (on: Page) =>
    on.waitForFunction(() => document.activeElement?.name === 'apiKey', undefined, { timeout: 2000 });

  /**
   * Signs `on` in through the console's form, as a person would: the focus is in the key field on arrival, the key is
   * typed and Enter submits; then the header names the tenant and role.
   */
  const signIn = async (on: Page, key: string, role: string) => {
    await on.goto(`${api.baseUrl}/#/jobs`);
    await on.locator('#sign-in-form').waitFor();
    await keyFieldFocused(on);
    await on.keyboard.type(key);
    await on.keyboard.press('Enter');
    await on.locator(`#who [data-role="${role}"]`).waitFor();
    expect(await on.locator('#who').innerText()).to.match(new RegExp(`^Tenant default, role ${role}\\b`));
  };
  /** A page in its own browser context (cookies apart from `page`'s), signed in with the viewer key. */
  const viewerPage = async (): Promise<Page> => {
    viewerContext ??= await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const viewer = viewerContext.pages()[0] ?? (await viewerContext.newPage());
    if ((await viewer.locator('#who [data-role="viewer"]').count()) === 0) {
      viewer.on('pageerror', (err) => pageErrors.push(`viewer: ${err.message}`));
      await signIn(viewer, viewerKey, 'viewer');
    }
    return viewer;
  };
  /** Records every status badge the page shows from now on, and marks the window (a reload would clear both). */
  const watchStatuses = () =>
    page.evaluate(() => {
      const w = window as { __statuses: string[]; __sameWindow: boolean };
      w.__statuses = [];
      w.__sameWindow = true;
      const record = () => {
        const badge = document.querySelector('.status-line [data-status]');
        const s = badge?.getAttribute('data-status');
        if (s && w.__statuses[w.__statuses.length - 1] !== s) w.__statuses.push(s);
      };
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
  const watched = () =>
    page.evaluate(() => {
      const w = window as { __statuses?: string[]; __sameWindow?: boolean };
      return { statuses: w.__statuses ?? [], sameWindow: w.__sameWindow === true };
    });

  /**
   * What a chart's uPlot instance (console/lib/charts.js keeps it on the plot element) drew on one axis: its scale's
   * range and distribution, the tick positions and labels, the axis' size, and the width its widest label needs
   * (text, tick and gap, as uPlot lays them out).
   */
  const axisOf = (chart: string, axis: number) =>
    page.evaluate(
      ({ chart, axis }) => {
        const u = document.querySelector(`figure[data-chart="${chart}"] .chart-host`).uplot;
        const a = u.axes[axis];
        const scale = u.scales[a.scale];
        u.ctx.font = a.font[0];
        const widest = Math.max(
          0,
          ...a._values.map((v: string) => u.ctx.measureText(v).width / window.devicePixelRatio),
        );
        return {
          min: scale.min as number,
          max: scale.max as number,
          distr: scale.distr as number,
          splits: a._splits as number[],
          values: a._values as string[],
          size: a._size as number,
          needed: widest + a.ticks.size + a.gap,
        };
      },
      { chart, axis },
    );

  it('serves the console and Swagger UI from packages; /api paths stay JSON 404s', async () => {
    const root = await fetch(`${api.baseUrl}/`);
    expect(root.headers.get('content-type')).to.match(/text\/html/);
    const unknown = await request(api, 'GET', '/api/v1/no-such-route');
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error.code).to.equal('not_found');
    expect((await request(api, 'GET', '/vendor/lodash/index.js')).status).to.equal(404);
    const escape = await fetch(`${api.baseUrl}/console/..%2fpackage.json`);
    expect(escape.status).to.be.oneOf([403, 404]);

    // The docs page names its icon (an empty one, as the console's): the browser asks for no /favicon.ico.
    const failed: string[] = [];
    const onResponse = (res: { status(): number; url(): string }) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
    };
    page.on('response', onResponse);
    await page.goto(`${api.baseUrl}/docs`);
    await page.locator('.opblock').first().waitFor();
    await page.waitForLoadState('load');
    page.off('response', onResponse);
    expect(failed, 'failed requests of /docs').to.deep.equal([]);
    expect(await page.locator('head link[rel="icon"]').count()).to.equal(1);
    const operations = await page.locator('.opblock').count();
    expect(operations, 'operations Swagger UI lists').to.be.greaterThan(40);
    await page.getByText('/api/v1/jobs/{jobId}/projection').first().waitFor();
    await screenshot(page, 'docs');
  });

  it('asks for an API key: a wrong one is refused on the form, the admin key signs in', async () => {
    await page.goto(`${api.baseUrl}/#/datasets`);
    const form = page.locator('#sign-in-form');
    await form.waitFor();
    expect(await page.title()).to.equal('Sign in · Kiln console');
    // No console section is reachable before signing in.
    expect(await page.locator('nav[aria-label="Console sections"]').count()).to.equal(0);
    const field = page.getByLabel('API key or SSO token');
    expect(await field.getAttribute('type')).to.equal('password');
    await keyFieldFocused(page);
    await screenshot(page, 'sign-in');

    // A key of the right shape with a wrong secret: the API's refusal shows on the form, which stays.
    const [, keyId] = adminKey.split('_');
    await field.fill(`kiln_${keyId}_${'x'.repeat(43)}`);
    await page.keyboard.press('Enter');
    const alert = form.locator('[role="alert"]');
    await alert.waitFor();
    expect(await alert.innerText()).to.match(/invalid_credentials.*unknown API key/);
    await keyFieldFocused(page);
    expect((await page.context().cookies()).filter((c) => c.name === 'kiln_session')).to.deep.equal([]);

    await field.fill(adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#who [data-role="admin"]').waitFor();
    expect(await page.locator('#who').innerText()).to.match(/^Tenant default, role admin\b/);
    // The route asked for before signing in is the page shown after.
    await page.locator('h1', { hasText: 'Datasets' }).waitFor();
    const [cookie] = (await page.context().cookies()).filter((c) => c.name === 'kiln_session');
    expect(cookie).to.include({ httpOnly: true, sameSite: 'Strict', path: '/' });
    // An opaque server-side session id: no part of the key is in the browser's cookie jar.
    expect(cookie!.value).to.match(/^[A-Za-z0-9_-]{43}$/);
    for (const part of adminKey.split('_').slice(1)) expect(cookie!.value).not.to.include(part);
    // Out of the page's reach: no script can read it.
    expect(await page.evaluate(() => document.cookie)).to.not.contain('kiln_session');
  });

  it('uploads a CSV from the datasets page and shows its schema, statistics and histograms', async () => {
    await goto('datasets');
    await page.locator('#upload-form input[name="file"]').setInputFiles({
      name: 'blobs.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(data.csv),
    });
    await page.getByLabel('Series name (optional)').fill('console-blobs');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/#\/datasets\/[0-9a-f-]{36}$/);
    datasetId = page.url().split('/').pop()!;
    await page.locator('#schema-table tbody tr').nth(4).waitFor();
    expect(await page.locator('#schema-table tbody tr').allInnerTexts()).to.have.length(5);
    expect(await page.locator('h1').innerText()).to.equal('Dataset console-blobs');
    // Four number columns: a 20-bin histogram each, drawn; one text column: its three levels.
    const histograms = page.locator('figure[data-chart^="histogram-"]');
    await histograms.nth(3).locator('canvas').waitFor();
    expect(await histograms.count()).to.equal(4);
    for (let i = 0; i < 4; i++) expect(await histograms.nth(i).getAttribute('data-points')).to.equal('20');
    expect(await colourPixels(page, 'figure[data-chart="histogram-a"]', '#4e79a7', 40)).to.be.greaterThan(200);
    expect(await page.locator('[data-column="kind"] ul.levels li').count()).to.equal(3);
    // One word for a column's type, the API's: the schema table's and the column card's agree.
    const schemaTypes = await page.locator('#schema-table tbody td[data-type]').allInnerTexts();
    expect(schemaTypes).to.deep.equal(['number', 'number', 'number', 'number', 'string']);
    expect(await page.locator('[data-column="kind"] h3 [data-type]').innerText()).to.equal('string');
    expect(await page.locator('[data-column="a"] h3 [data-type]').innerText()).to.equal('number');
    expect(await page.locator('[data-column="a"]').innerText()).to.contain(String(data.rows));
    await screenshot(page, 'dataset');
  });

  it('starts a clustering job from its form, follows it to COMPLETED without a reload, and plots every point', async () => {
    await page.getByRole('link', { name: 'Cluster it' }).click();
    await page.waitForURL(/#\/new-clustering\?dataset=/);
    await formLoaded('clustering-form');
    await page.getByLabel('Clusters (k)').fill('3');
    await page.getByLabel('Known labels', { exact: false }).selectOption('kind');
    await page.getByLabel('Register as model', { exact: false }).fill('console-kmeans');
    await page.getByRole('button', { name: 'Start clustering' }).click();
    await page.waitForURL(/#\/jobs\/clustering-/);
    await watchStatuses();
    await page.locator('.status-line [data-status="COMPLETED"]').waitFor({ timeout: 60_000 });
    const { statuses, sameWindow } = await watched();
    expect(sameWindow, 'the page was not reloaded').to.equal(true);
    expect(statuses[statuses.length - 1]).to.equal('COMPLETED');

    const scatter = page.locator('figure[data-chart="scatter"]');
    await scatter.locator('canvas').waitFor();
    expect(await scatter.getAttribute('data-points')).to.equal(String(data.rows));
    expect(await scatter.innerText()).to.contain('principal components of 4 columns');
    // Every cluster painted its points in its own colour (the canvas, read back).
    for (const colour of CLUSTER_COLOURS)
      expect(await colourPixels(page, 'figure[data-chart="scatter"]', colour), colour).to.be.greaterThan(150);
    const quality = await page.locator('aside[aria-label="Quality metrics"]').innerText();
    expect(quality).to.match(/Silhouette/);
    const ari = Number(/Adjusted Rand index vs. known labels\s+([0-9.]+)/.exec(quality)?.[1]);
    expect(ari, 'ARI against the blobs').to.be.within(0.9, 1);
    expect(await page.getByRole('link', { name: /Model console-kmeans version 1/ }).count()).to.equal(1);
    await screenshot(page, 'clustering-job');
  });

  it('plots a large clustering as a sample drawn per cluster, over histograms whose counts start at 0 and show whole', async () => {
    // 30,000 rows cycling through four blobs: an evenly spaced sample showed two of the four clusters.
    const uploaded = await request(api, 'POST', '/api/v1/datasets?name=console-interleaved', interleavedBlobsCsv(), {
      'content-type': 'text/csv',
      ...admin(),
    });
    expect(uploaded.status, JSON.stringify(uploaded.body)).to.be.oneOf([200, 201]);
    await goto(`datasets/${uploaded.body.id}`);
    const histogram = page.locator('figure[data-chart="histogram-a"]');
    await histogram.locator('canvas').waitFor();
    // Counts in the thousands: the axis is as wide as its widest label ("20,000" was clipped to ",000"); bars stand on 0.
    const counts = await axisOf('histogram-a', 1);
    expect(counts.min).to.equal(0);
    expect(
      counts.values.some((v) => /^\d{1,3},\d{3}$/.test(v)),
      counts.values.join(' '),
    ).to.equal(true);
    expect(counts.size, JSON.stringify(counts)).to.be.at.least(counts.needed);
    await screenshot(page, 'dataset-interleaved');

    await page.getByRole('link', { name: 'Cluster it' }).click();
    await formLoaded('clustering-form');
    await page.getByLabel('Clusters (k)').fill('4');
    await page.getByLabel('Seed').fill('1');
    await page.getByRole('button', { name: 'Start clustering' }).click();
    await page.waitForURL(/#\/jobs\/clustering-/);
    await page.locator('.status-line [data-status="COMPLETED"]').waitFor({ timeout: 90_000 });
    const scatter = page.locator('figure[data-chart="scatter"]');
    await scatter.locator('canvas').waitFor();
    expect(await scatter.getAttribute('data-points')).to.equal('5000');
    expect(await scatter.locator('figcaption').innerText()).to.contain('5,000 of 30,000 points, sampled per cluster');
    for (const colour of [...CLUSTER_COLOURS, FOURTH_COLOUR])
      expect(await colourPixels(page, 'figure[data-chart="scatter"]', colour), colour).to.be.greaterThan(150);
    await screenshot(page, 'clustering-sampled');
  });

  it('offers every algorithm of the API on the clustering form, and starts a self-organising map with its grid', async () => {
    const { body } = await request(api, 'GET', '/api/v1/algorithms');
    const algorithms = body.algorithms as Array<{ name: string; assignsNewPoints: boolean }>;
    await goto(`new-clustering?dataset=${datasetId}`);
    const select = page.getByLabel('Algorithm');
    await select.waitFor();
    const offered = await select.locator('option').evaluateAll((options) => options.map((o) => o.value));
    expect([...offered].sort()).to.deep.equal(algorithms.map((a) => a.name).sort());
    // "Register as model" exactly for the algorithms whose result assigns new points; every field labelled.
    for (const algorithm of algorithms) {
      await select.selectOption(algorithm.name);
      expect(await page.locator('#clustering-form input[name="register"]').count(), algorithm.name).to.equal(
        algorithm.assignsNewPoints ? 1 : 0,
      );
      const unlabelled = await page.evaluate(
        () =>
          [...document.querySelectorAll('#clustering-form input, #clustering-form select')].filter(
            (el: any) => !el.labels?.length,
          ).length,
      );
      expect(unlabelled, algorithm.name).to.equal(0);
    }
    await formLoaded('clustering-form');
    await select.selectOption('som');
    await page.getByLabel('Grid rows').fill('1');
    await page.getByLabel('Grid columns').fill('3');
    await page.getByLabel('Iterations (epochs)').fill('20');
    await page.getByRole('button', { name: 'Start clustering' }).click();
    await page.waitForURL(/#\/jobs\/clustering-/);
    await page.locator('.status-line [data-status="COMPLETED"]').waitFor({ timeout: 60_000 });
    const facts = await page.locator('dl.facts').nth(1).innerText();
    expect(facts).to.match(/Algorithm\s+som/);
    expect(facts).to.match(/rows\s+1/);
    expect(facts).to.match(/cols\s+3/);
    await page.locator('figure[data-chart="scatter"] canvas').waitFor();
    expect(await page.locator('aside[aria-label="Quality metrics"]').innerText()).to.match(/Clusters\s+3/);
  });

  it('starts a training job from its form and draws its loss curve as epochs finish', async () => {
    await goto(`new-training?dataset=${datasetId}`);
    await formLoaded('training-form');
    await page.getByLabel('Model name', { exact: false }).fill('console-mlp');
    await page.getByLabel('Target column').selectOption('kind');
    await page.getByLabel('Epochs').fill('40');
    await page.getByLabel('Batch size').fill('16');
    await page.getByLabel('Learning rate').fill('0.01');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(/#\/jobs\/training-/);
    await watchStatuses();
    // Points on the loss chart while the job runs (counted by the page as they arrive), then the whole history.
    const seen: Array<{ status: string | null; points: number }> = [];
    // How the page follows the running job: the event stream, not polling.
    const liveModes = new Set<string>();
    // The progress bar's labels while it ran.
    const labels = new Set<string>();
    const deadline = Date.now() + 90_000;
    for (;;) {
      const status = await page.locator('.status-line [data-status]').getAttribute('data-status');
      const figure = page.locator('figure[data-chart="loss"]');
      const points = (await figure.count()) ? Number(await figure.getAttribute('data-points')) : 0;
      seen.push({ status, points });
      const mode = await page.locator('.status-line [data-live]').getAttribute('data-live');
      if (status === 'RUNNING' && mode) liveModes.add(mode);
      const label = page.locator('#job-progress + .progress-text');
      if (status === 'RUNNING' && (await label.count())) labels.add(await label.innerText());
      if (status === 'COMPLETED' || Date.now() > deadline) break;
      await page.waitForTimeout(150);
    }
    const { statuses, sameWindow } = await watched();
    expect(sameWindow).to.equal(true);
    expect(statuses, 'statuses shown').to.deep.equal(['RUNNING', 'COMPLETED']);
    const live = seen.filter((s) => s.status === 'RUNNING' && s.points > 0).map((s) => s.points);
    expect(live.length, `loss points shown while running: ${JSON.stringify(seen)}`).to.be.greaterThan(0);
    // 'idle' until the stream opens; then the stream, never the polling fallback.
    expect([...liveModes], 'live updates while running')
      .to.include('events')
      .and.not.include('polling');
    // One current phase in each label: not the view's stale "starting" beside the epochs, nor "training" twice.
    const phases = ['queued', 'starting', 'orchestrating', 'training'];
    for (const text of labels) {
      const named = phases.filter((p) => text.includes(p));
      expect(named.length, text).to.be.at.most(1);
      expect(text.split('training').length, text).to.be.at.most(2);
      if (/epoch \d+/.test(text)) expect(text, text).to.match(/· training · epoch \d+\/40( · loss |$)/);
    }
    expect(
      [...labels].some((t) => /epoch \d+\/40/.test(t)),
      [...labels].join(' | '),
    ).to.equal(true);
    // Loss and validation loss for each of the 40 epochs once it completed; both drawn.
    const loss = page.locator('figure[data-chart="loss"]');
    await page.waitForFunction(
      () => document.querySelector('figure[data-chart="loss"]')?.getAttribute('data-points') === '80',
    );
    // The curve grew while the job ran: partial curves of more than one length before the last epoch.
    expect(Math.min(...live)).to.be.lessThan(80);
    expect(new Set(live).size, JSON.stringify(live)).to.be.at.least(2);
    expect(await loss.innerText()).to.contain('40 epochs');
    expect(await colourPixels(page, 'figure[data-chart="loss"]', '#4e79a7', 30)).to.be.greaterThan(100);
    expect(await colourPixels(page, 'figure[data-chart="loss"]', '#f28e2b', 30)).to.be.greaterThan(50);
    // Epochs are whole: ticks at whole numbers only (no 0.1 steps, no 2.5).
    const epochsAxis = await axisOf('loss', 0);
    expect(epochsAxis.splits.length, JSON.stringify(epochsAxis.splits)).to.be.greaterThan(2);
    for (const tick of epochsAxis.splits)
      expect(Number.isInteger(tick), JSON.stringify(epochsAxis.splits)).to.equal(true);
    // A labelled checkbox puts the loss on a log scale, and back.
    const logScale = loss.getByLabel('Log scale (y axis)');
    expect(await axisOf('loss', 1)).to.include({ distr: 1 });
    await logScale.check();
    await page.waitForFunction(
      () => document.querySelector('figure[data-chart="loss"] .chart-host').uplot?.scales.y.distr === 3,
    );
    expect(await loss.getAttribute('data-points')).to.equal('80');
    await logScale.uncheck();
    await page.waitForFunction(
      () => document.querySelector('figure[data-chart="loss"] .chart-host').uplot?.scales.y.distr === 1,
    );
    // Accuracy and validation accuracy by epoch, in a second chart with its legend.
    const accuracy = page.locator('figure[data-chart="accuracy"]');
    expect(await accuracy.getAttribute('data-points')).to.equal('80');
    expect(await accuracy.locator('ul.legend li').allInnerTexts()).to.deep.equal([
      'accuracy',
      'validation accuracy (dashed)',
    ]);
    expect(await colourPixels(page, 'figure[data-chart="accuracy"]', '#4e79a7', 30)).to.be.greaterThan(100);
    for (const tick of (await axisOf('accuracy', 0)).splits) expect(Number.isInteger(tick)).to.equal(true);
    // The confusion matrix: three classes, its cells add up to the evaluated rows the page states.
    const matrix = page.locator('table[data-chart="confusion"]');
    await matrix.waitFor();
    const cells = (await matrix.locator('tbody td').allInnerTexts()).map(Number);
    expect(cells).to.have.length(9);
    const heading = await page.locator('h3', { hasText: 'Final metrics' }).innerText();
    expect(cells.reduce((a, b) => a + b, 0)).to.equal(Number(/(\d+) rows/.exec(heading)![1]));
    await screenshot(page, 'training-job');
  });

  it('moves an alias on the model page and lists both moves in its history', async () => {
    // A second version of the model, from the API.
    const second = await request(
      api,
      'POST',
      '/api/v1/training',
      {
        datasetId,
        target: 'kind',
        model: { name: 'console-mlp' },
        spec: { task: 'classification', layers: [{ units: 8, activation: 'relu' }] },
        training: { epochs: 10, batchSize: 16, learningRate: 0.05, validationSplit: 0.2, seed: 2 },
      },
      admin(),
    );
    expect(second.status, JSON.stringify(second.body)).to.equal(202);
    await request(api, 'GET', `/api/v1/jobs/${second.body.jobId}/result?wait=60`, undefined, admin());

    await goto('models/console-mlp');
    await page.locator('#versions-table tbody tr').nth(1).waitFor();
    const move = async (version: string) => {
      await page.getByLabel('Alias').fill('champion');
      await page.getByLabel('to version').selectOption(version);
      await page.getByRole('button', { name: 'Move alias' }).click();
      await page.locator(`#aliases [data-alias="champion"]`, { hasText: `v${version}` }).waitFor();
    };
    await move('1');
    await move('2');
    expect(await page.locator('#aliases').innerText()).to.contain('champion → v2');
    const history = await page.locator('#alias-history tbody tr').allInnerTexts();
    expect(history).to.have.length(2);
    // By: the principal the console's session acts for (the audit trail names it: issue 12), the admin's key.
    const by = `key:${adminKey.split('_')[1]}`;
    expect(history[0]).to.match(/champion\s+v1 → v2\s+/);
    expect(history[0]!.trim().endsWith(by), history[0]).to.equal(true);
    expect(history[1]).to.match(/champion\s+new → v1\s+/);
    expect(history[1]!.trim().endsWith(by), history[1]).to.equal(true);
    // The two versions' loss curves overlaid: 40 + 10 epochs, loss and validation loss; four colours, a legend.
    const compare = page.locator('figure[data-chart="compare"]');
    expect(await compare.getAttribute('data-points')).to.equal('100');
    const legend = compare.locator('ul.legend li');
    expect(await legend.allInnerTexts()).to.deep.equal([
      'v1 loss',
      'v1 validation loss (dashed)',
      'v2 loss',
      'v2 validation loss (dashed)',
    ]);
    const colours = await legend.evaluateAll((items) => items.map((li) => li.getAttribute('data-colour')));
    expect(new Set(colours).size).to.equal(4);
    for (const colour of colours)
      expect(await colourPixels(page, 'figure[data-chart="compare"]', colour!, 30), colour!).to.be.greaterThan(20);
    // Metric columns in a fixed order: loss, valLoss, accuracy, precision, recall, f1, then the rest alphabetically.
    const headers = await page.locator('#versions-table thead th').allInnerTexts();
    const metrics = headers.slice(headers.indexOf('Flavor') + 1, headers.indexOf('Lineage'));
    const first = ['loss', 'valLoss', 'accuracy', 'precision', 'recall', 'f1'];
    expect(metrics.slice(0, 4)).to.deep.equal(['accuracy', 'precision', 'recall', 'f1']);
    expect(metrics).to.deep.equal([
      ...first.filter((k) => metrics.includes(k)),
      ...metrics.filter((k) => !first.includes(k)).sort(),
    ]);
    await screenshot(page, 'model');

    // Another model's page starts afresh: no alias typed, no "Moved" note from this one.
    await goto('models/console-kmeans');
    await page.locator('h1', { hasText: 'Model console-kmeans' }).waitFor();
    await page.locator('#versions-table').waitFor();
    expect(await page.getByLabel('Alias').inputValue()).to.equal('');
    expect(await page.locator('#alias-moved').count()).to.equal(0);
  });

  it('approves a pipeline waiting for a reviewer', async () => {
    const train = await upload(api, 'console-pipeline', blobRows(21));
    const reference = await upload(api, 'console-pipeline-ref', blobRows(22, 1.5));
    const started = await request(
      api,
      'POST',
      '/api/v1/pipelines/full',
      {
        model: { name: 'console-pipeline' },
        datasetId: train,
        referenceDatasetId: reference,
        holdout: { fraction: 0.25, seed: 1 },
        training: trainingBody('label', true),
        gate: { thresholds: [{ metric: 'accuracy', threshold: 0.5 }], noChampion: 'absolute-only' },
        promote: { alias: 'champion' },
        approval: { required: true, timeout: '1h', onTimeout: 'reject' },
        // x drifts on purpose (one of the two features): reported per feature, a warning rather than a stop.
        checks: { severities: { dataset_drift: 'warn' } },
      },
      bearer(operatorKey),
    );
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    const id = started.body.pipelineId as string;

    await goto(`pipelines/${id}`);
    // Waiting for the reviewer, or ended without waiting (the page then says why).
    await page.locator('.status-line [data-status]:not([data-status="RUNNING"])').waitFor({ timeout: 120_000 });
    const status = await page.locator('.status-line [data-status]').getAttribute('data-status');
    expect(status, await page.locator('main').innerText()).to.equal('AWAITING_APPROVAL');
    await page.locator('#approve').waitFor();
    expect(await page.locator('[data-stage="awaiting-approval"]').getAttribute('data-state')).to.equal('active');
    expect(await page.locator('[data-stage="training"]').getAttribute('data-state')).to.equal('done');
    // The report: drift per feature (x shifted by 1.5, y not), the gate's verdict.
    await page.locator('#drift-table').waitFor();
    expect(await page.locator('#drift-table tr[data-feature="x"] td').last().innerText()).to.equal('yes');
    expect(await page.locator('#drift-table tr[data-feature="y"] td').last().innerText()).to.equal('no');
    expect(await page.locator('#gate-results li').first().innerText()).to.match(/✓ accuracy/);
    await screenshot(page, 'pipeline-awaiting');
    // A viewer sees the same pipeline waiting, and no way to decide it.
    const viewer = await viewerPage();
    await viewer.goto(`${api.baseUrl}/#/pipelines/${id}`);
    await viewer.locator('#decision-needs-role').waitFor();
    expect(await viewer.locator('.status-line [data-status]').getAttribute('data-status')).to.equal(
      'AWAITING_APPROVAL',
    );
    expect(await viewer.locator('#decision-form, #approve, #reject').count()).to.equal(0);

    await page.getByLabel('Comment (optional)').fill('looks good');
    await page.locator('#approve').click();
    await page.locator('.status-line [data-status="PROMOTED"]').waitFor({ timeout: 60_000 });
    const states = await page
      .locator('ol.stages li')
      .evaluateAll((items) => items.map((li) => li.getAttribute('data-state')));
    expect(states).to.deep.equal(['done', 'done', 'done', 'done', 'done', 'done', 'done', 'done']);
    expect(await page.locator('dl.facts').first().innerText()).to.match(/approve: looks good/);
    await screenshot(page, 'pipeline-promoted');
  });

  it('lists jobs with their status, filters them, and pauses a schedule', async () => {
    await goto('jobs?kind=training');
    await page.locator('#jobs-table tbody tr').first().waitFor();
    const kinds = await page.locator('#jobs-table tbody tr td:nth-child(2)').allInnerTexts();
    expect(kinds.length).to.be.greaterThan(0);
    expect(new Set(kinds)).to.deep.equal(new Set(['training']));
    await screenshot(page, 'jobs');

    const created = await request(
      api,
      'POST',
      '/api/v1/schedules',
      {
        action: {
          kind: 'clustering',
          request: {
            algorithm: 'kmeans',
            params: { k: 3, seed: 1 },
            dataset: { name: 'console-blobs' },
            columns: ['a', 'b', 'c', 'd'],
          },
        },
        spec: { intervals: [{ every: '24h' }] },
      },
      admin(),
    );
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const scheduleId = created.body.scheduleId as string;
    try {
      await goto(`schedules/${scheduleId}`);
      await page.locator('#next-runs li').first().waitFor();
      await page.getByLabel('Note').fill('data freeze');
      await page.locator('#pause').click();
      await page.locator('#unpause').waitFor();
      expect(await page.locator('dl.facts').innerText()).to.match(/paused: data freeze/);
      await screenshot(page, 'schedule');
    } finally {
      await request(api, 'DELETE', `/api/v1/schedules/${scheduleId}`, undefined, admin());
    }
  });

  it('is usable at 390 px wide and from the keyboard', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await goto('jobs');
    await page.locator('#jobs-table').waitFor();
    // Nothing but the tables' own scrolling boxes is wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);
    await screenshot(page, 'jobs-narrow');
    await goto('models/console-mlp');
    await page.locator('#versions-table').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(390);
    await screenshot(page, 'model-narrow');

    // Tab reaches the skip link, then the navigation; the focused link shows an outline. Coming from another console
    // page (a hash change, not a load) too: the focus starts at the top again, not in the page's first control.
    await page.setViewportSize({ width: 1280, height: 800 });
    await goto('jobs');
    await page.locator('h1', { hasText: 'Jobs' }).waitFor();
    await page.locator('#jobs-table').waitFor();
    expect(await page.title()).to.equal('Jobs · Kiln console');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal('Skip to content');
    // The skip link moves the focus to the content and leaves the route alone.
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal('main');
    expect(page.url()).to.equal(`${api.baseUrl}/#/jobs`);
    // Its target as a URL is no console route: the page stays (or, loaded so, is the default one), not "Not found".
    await page.goto(`${api.baseUrl}/#main`);
    await page.locator('#jobs-table').waitFor();
    expect(await page.locator('h1').innerText()).to.equal('Jobs');
    await page.goto('about:blank');
    await page.goto(`${api.baseUrl}/#main`);
    await page.locator('#jobs-table').waitFor();
    expect(await page.locator('h1').innerText()).to.equal('Jobs');
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal('main');
    await goto('models');
    await page.locator('h1', { hasText: 'Models' }).waitFor();
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.locator('#jobs-table').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      return { text: el.textContent, outline: getComputedStyle(el).outlineStyle };
    });
    expect(focused.text).to.equal('Jobs');
    expect(focused.outline).to.not.equal('none');
    // Every form control on the training form has a label.
    await goto(`new-training?dataset=${datasetId}`);
    await page.locator('#training-form').waitFor();
    const unlabelled = await page.evaluate(
      () =>
        [...document.querySelectorAll('#training-form input, #training-form select')].filter(
          (el: any) => !el.labels?.length,
        ).length,
    );
    expect(unlabelled).to.equal(0);
  });

  it('shows a viewer what it may see, without the controls its role cannot use', async () => {
    const viewer = await viewerPage();
    const nav = await viewer.locator('nav[aria-label="Console sections"] a').allInnerTexts();
    expect(nav).to.include.members(['Jobs', 'Datasets', 'Models', 'Pipelines', 'Schedules']);
    expect(nav).to.not.include.members(['New clustering']);
    expect(nav).to.not.include.members(['New training']);

    await viewer.goto(`${api.baseUrl}/#/jobs`);
    await viewer.locator('#jobs-table tbody tr').first().waitFor();
    expect(await viewer.getByRole('link', { name: /New (clustering|training) job/ }).count()).to.equal(0);
    await viewer.goto(`${api.baseUrl}/#/datasets`);
    await viewer.locator('#upload-needs-role').waitFor();
    expect(await viewer.locator('#upload-form').count()).to.equal(0);
    await viewer.goto(`${api.baseUrl}/#/datasets/${datasetId}`);
    await viewer.locator('#schema-table').waitFor();
    expect(await viewer.getByRole('link', { name: /Cluster it|Train on it/ }).count()).to.equal(0);
    // A start form's URL, typed in: a note, not a form the API would refuse.
    await viewer.goto(`${api.baseUrl}/#/new-training?dataset=${datasetId}`);
    await viewer.locator('#start-needs-role').waitFor();
    expect(await viewer.locator('#training-form').count()).to.equal(0);
    await viewer.goto(`${api.baseUrl}/#/models/console-mlp`);
    await viewer.locator('#versions-table tbody tr').first().waitFor();
    expect(await viewer.locator('#alias-form').count()).to.equal(0);
    await screenshot(viewer, 'viewer-model');

    // The same pages for the admin have them all (the checks above can fail).
    await goto(`datasets/${datasetId}`);
    await page.getByRole('link', { name: 'Cluster it' }).waitFor();
    await goto('models/console-mlp');
    await page.locator('#alias-form').waitFor();
  });

  it('returns to the sign-in form when the key stops working, and after signing out', async () => {
    // A key revoked while its session is open: the next request's 401 brings the form back, saying why.
    const doomed = await createTestKey(stack.pool, { role: 'viewer', name: 'console-doomed' });
    const other = await browser.newContext();
    try {
      const doomedPage = await other.newPage();
      doomedPage.on('pageerror', (err) => pageErrors.push(`doomed: ${err.message}`));
      await signIn(doomedPage, doomed, 'viewer');
      // Through the API, as an admin would: this process forgets the key's cached row at once (a key revoked in SQL
      // stays valid here for up to KEY_CACHE_MS, api/auth/gate.ts).
      const revoked = await request(api, 'DELETE', `/api/v1/api-keys/${doomed.split('_')[1]}`, undefined, admin());
      expect(revoked.status, JSON.stringify(revoked.body)).to.equal(204);
      await doomedPage.getByRole('link', { name: 'Models', exact: true }).click();
      await doomedPage.locator('#sign-in-form').waitFor();
      expect(await doomedPage.locator('main [role="status"]').innerText()).to.match(/session ended/);
    } finally {
      await other.close();
    }

    // Signing out: the cookie is gone, the form is back with the focus in it, and a reload stays signed out.
    await goto('jobs');
    await page.locator('#who').waitFor();
    const [before] = (await page.context().cookies()).filter((c) => c.name === 'kiln_session');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in-form').waitFor();
    await keyFieldFocused(page);
    expect((await page.context().cookies()).filter((c) => c.name === 'kiln_session')).to.deep.equal([]);
    // The server ended the session: a copy of the cookie taken before signing out opens nothing.
    const replay = await request(api, 'GET', '/api/v1/whoami', undefined, {
      authorization: '',
      cookie: `kiln_session=${before!.value}`,
    });
    expect(replay.status).to.equal(401);
    expect(replay.body.error.code).to.equal('session_expired');
    expect(await page.locator('#who').count()).to.equal(0);
    await page.reload();
    await page.locator('#sign-in-form').waitFor();
  });

  it('a job page whose key is revoked while its event stream is open shows the sign-in form, the stream not reconnecting', async () => {
    const key = await createTestKey(stack.pool, { role: 'editor', name: 'console-revoked' });
    const dataset = await upload(api, 'console-revoked', blobRows(7));
    const body = trainingBody('label', true, {
      datasetId: dataset,
      model: { name: 'console-revoked' },
      training: { epochs: 1000, batchSize: 1, learningRate: 0.01, seed: 1 },
    });
    const started = await request(api, 'POST', '/api/v1/training', body, bearer(key));
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    const jobId = started.body.jobId as string;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const revoked = await context.newPage();
      revoked.on('pageerror', (err) => pageErrors.push(`revoked: ${err.message}`));
      await signIn(revoked, key, 'editor');
      const streams: string[] = [];
      revoked.on('request', (req) => void (req.url().endsWith('/events') && streams.push(req.url())));
      await revoked.goto(`${api.baseUrl}/#/jobs/${jobId}`);
      await revoked.locator('.status-line [data-live="events"]').waitFor({ timeout: 60_000 });
      const opened = streams.length;

      const keyId = key.slice(5, 21);
      expect((await request(api, 'DELETE', `/api/v1/api-keys/${keyId}`, undefined, admin())).status).to.equal(204);
      // Within the re-check interval (plus a render), the refusal returns the page to the form.
      await revoked.locator('#sign-in-form').waitFor({ timeout: 5000 });
      // EventSource's own reconnect (2 s) would open the stream again: the page closed it instead.
      await revoked.waitForTimeout(2500);
      expect(streams.length, JSON.stringify(streams)).to.equal(opened);
    } finally {
      await context.close();
      await request(api, 'POST', `/api/v1/jobs/${jobId}/stop`, undefined, admin());
    }
  });
});
