import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { ADMIN_TOKEN, type ApiOnRealRay, startApiOnRealRay } from '../support/apiOnRealRay';
import { eventually } from '../support/stack';

/**
 * The web console in a real browser (Debian's Chromium driven by Playwright) against the real
 * stack: the API serving /console, a worker, Temporal, Postgres and a Ray node with the stand-in
 * engine. With ARGUS_CONSOLE_SCREENSHOTS set to a folder, the main pages are saved there.
 */
const CHROMIUM = process.env.ARGUS_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.ARGUS_CONSOLE_SCREENSHOTS;
const ROLLOUT_MS = 120_000;

let api: ApiOnRealRay;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let otherToken: string;
let qwenKey: string;

/** Waits until the locator shows the text (a substring, or a whole-text pattern). */
async function shows(locator: Locator, text: string | RegExp, timeout = 15_000): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout });
}

/** Waits until the locator matches exactly `count` elements. */
async function counts(locator: Locator, count: number, timeout = 15_000): Promise<void> {
  await eventually(async () => (await locator.count()) === count, timeout, `${count} of ${locator}`);
}

async function screenshot(name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(target: Page, token: string): Promise<void> {
  await target.goto(`${api.url}/console/`);
  await target.getByLabel('API token').fill(token);
  await target.getByRole('button', { name: 'Sign in' }).click();
  await shows(target.getByTestId('whoami'), /\S/);
}

async function applySpec(yaml: string): Promise<void> {
  await page.getByRole('link', { name: 'New model' }).first().click();
  await page.getByLabel('spec YAML').fill(yaml);
  await page.getByRole('button', { name: 'Apply' }).click();
}

beforeAll(async () => {
  api = await startApiOnRealRay('gwen');
  await api.call('POST', '/api/v2/users', JSON.stringify({ user_id: 'hugo' }), 'application/json', ADMIN_TOKEN);
  otherToken = (await api.call('POST', '/api/v2/users/hugo/tokens', undefined, 'application/json', ADMIN_TOKEN)).body.token;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe('the web console in a browser on the real stack', () => {
  it('is served by the API with no request leaving for another origin but the OpenAI endpoint', async () => {
    const response = await fetch(`${api.url}/console/models/anything`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`connect-src 'self' ${new URL(api.stack.config.serving.openai_base_url).origin}`);
    expect(csp).toContain("script-src 'self'");
    expect(await response.text()).toMatch(/<script type="module" crossorigin src="\/console\/assets\/index-[\w-]+\.js">/);
  });

  it('refuses a bad token, then signs in with a good one', async () => {
    await page.goto(`${api.url}/console/`);
    await page.getByLabel('API token').fill('argus_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await shows(page.getByRole('alert'), 'not valid');
    await page.getByLabel('API token').fill(api.userToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await shows(page.getByTestId('whoami'), /^gwen$/);
    await page.getByText('No models yet').first().waitFor();
    // The token is kept in this tab's session storage only: no cookie, nothing in local storage.
    expect(await page.evaluate('[sessionStorage.length, localStorage.length, document.cookie]')).toEqual([1, 0, '']);
  });

  it("shows the API's error at the field of a bad spec, and accepts nothing", async () => {
    await applySpec('model_id: qwen-0.5b\nmodel_source: $HOME/common/hf/demo/tiny-chat\nnum_replicas: 1\ngpus_per_replica: 0\n');
    const error = page.locator('.field-error');
    await page.locator('.field-error[data-field="gpus_per_replica"]').waitFor();
    await shows(error, 'gpus_per_replica (line 4)');
    await shows(error, 'must be a whole number from 1');
    await shows(page.locator('.gutter li.error-line'), /^4$/);
    await screenshot('spec-error');

    await page.getByLabel('spec YAML').fill('model_id: qwen-0.5b\nmodel_source: $HOME/common/hf/demo/tiny-chat\nreplicas: 2\n');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('.field-error[data-field="replicas"]').waitFor();
    await shows(error, 'unknown field(s): replicas');
    await shows(page.locator('.gutter li.error-line'), /^3$/);
    expect((await api.call('GET', '/api/v2/serve/models')).body.items).toEqual([]);
  });

  it('creates qwen-0.5b from YAML and shows it reach RUNNING without a reload', async () => {
    await page.getByLabel('spec YAML').fill('model_id: qwen-0.5b\nmodel_source: $HOME/common/hf/demo/tiny-chat\nnum_replicas: 1\ngpus_per_replica: 1\ndescription: the contract example\n');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/\/console\/models\/svc-gwen-/);
    qwenKey = page.url().split('/').pop() as string;
    await shows(page.getByTestId('state'), /^RUNNING$/, ROLLOUT_MS);
    await shows(page.getByTestId('replicas'), '1/1 running', 30_000);
    await shows(page.getByTestId('resolved-spec'), 'model_source: /private/hf/demo/tiny-chat');
    await page.locator('[data-event-type="RUNNING"]').first().waitFor();
    await page.getByRole('link', { name: 'Models' }).click();
    const row = page.locator(`tr[data-model-key="${qwenKey}"]`);
    await shows(row.getByTestId('state'), /^RUNNING$/);
    await shows(row, 'qwen-0.5b');
  });

  it('chats with the model through the OpenAI endpoint', async () => {
    await page.goto(`${api.url}/console/models/${qwenKey}`);
    await page.getByLabel('message').fill('hello there');
    await page.getByRole('button', { name: 'Send' }).click();
    await shows(page.locator('[data-role="assistant"]'), /^echo: hello there$/);
    await page.getByLabel('message').fill('and again');
    await page.getByRole('button', { name: 'Send' }).click();
    await shows(page.locator('[data-role="assistant"]').nth(1), /^echo: and again$/);
    await screenshot('model');
  });

  it('scales only once confirmed, and shows the new replicas running', async () => {
    await page.getByLabel('replicas', { exact: true }).fill('2');
    await page.getByRole('button', { name: 'Scale', exact: true }).click();
    await shows(page.getByRole('dialog'), 'From 1 to 2 replicas');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect((await api.call('GET', `/api/v2/serve/models/${qwenKey}`)).body.model.num_replicas).toBe(1);

    await page.getByRole('button', { name: 'Scale', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Scale to 2' }).click();
    await shows(page.getByTestId('replicas'), '2/2 running', ROLLOUT_MS);
    await page.locator('[data-event-type="SCALE_REQUESTED"]').first().waitFor();
  });

  it('updates the model from its spec in the editor', async () => {
    await page.getByRole('link', { name: 'Edit spec' }).click();
    const editor = page.getByLabel('spec YAML');
    await shows(page.locator('h1'), 'Edit qwen-0.5b');
    const current = await editor.inputValue();
    expect(current).toContain('num_replicas: 2');
    await editor.fill(current.replace('description: the contract example', 'description: updated in the console'));
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(`${api.url}/console/models/${qwenKey}`);
    await shows(page.getByTestId('resolved-spec'), 'description: updated in the console');
    await shows(page.getByTestId('state'), /^RUNNING$/, ROLLOUT_MS);
    expect((await api.call('GET', `/api/v2/serve/models/${qwenKey}`)).body.model.description).toBe('updated in the console');
  });

  it("shows a failed model's reason and its timeline", async () => {
    await applySpec('model_id: broken\nmodel_source: /private/hf/demo/broken-model\n');
    await page.waitForURL(/\/console\/models\/svc-gwen-/);
    await shows(page.getByTestId('state'), /^FAILED$/, ROLLOUT_MS + 60_000);
    const summary = page.getByTestId('error-summary');
    await shows(summary, 'Why it failed');
    await shows(summary, '/private/hf/demo/broken-model');
    await page.locator('.event.failure').first().waitFor();
    expect(await page.content()).not.toContain(api.stack.config.serving.storage_root);
    await screenshot('failed-model');
    await page.getByRole('link', { name: 'Models' }).click();
    await counts(page.locator('table.models tbody tr'), 2);
    await screenshot('models');
  });

  it("does not show one user's models to another", async () => {
    const other = await context.browser()!.newContext();
    try {
      const hugo = await other.newPage();
      await signIn(hugo, otherToken);
      await shows(hugo.getByTestId('whoami'), /^hugo$/);
      await hugo.getByText('No models yet').first().waitFor();
      await hugo.goto(`${api.url}/console/models/${qwenKey}`);
      await shows(hugo.getByRole('alert'), `No model ${qwenKey} of yours`);
      await counts(hugo.getByRole('link', { name: 'Admin' }), 0);
    } finally {
      await other.close();
    }
  });

  it('gives admins capacity, users, tokens and quotas', async () => {
    const other = await context.browser()!.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      const admin = await other.newPage();
      await signIn(admin, ADMIN_TOKEN);
      await admin.getByRole('link', { name: 'Admin' }).click();
      await admin.getByRole('table', { name: 'capacity' }).first().waitFor();
      const gwen = admin.locator('tr[data-user="gwen"]');
      await shows(gwen.locator('td').nth(2), /^2$/); // her two models
      await gwen.getByRole('button', { name: 'Manage' }).click();
      await admin.getByLabel('max gpus').fill('4');
      await admin.getByRole('button', { name: 'Save quota' }).click();
      await shows(gwen, '/ 4');
      if (SHOTS) await admin.screenshot({ path: path.join(SHOTS, 'admin.png'), fullPage: true });
      await admin.getByRole('button', { name: 'Issue a token' }).click();
      const issued = admin.getByTestId('issued-token').locator('code');
      const [tokenId, secret] = [(await issued.nth(0).textContent()) ?? '', (await issued.nth(1).textContent()) ?? ''];
      expect((await api.call('GET', '/api/v2/me', undefined, 'application/json', secret)).body).toEqual({ user_id: 'gwen', is_admin: false });
      await admin.locator('.tokens li').filter({ hasText: tokenId }).getByRole('button', { name: 'Revoke' }).click();
      await admin.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
      await shows(admin.locator('.tokens li').filter({ hasText: tokenId }), 'revoked');
      expect((await api.call('GET', '/api/v2/me', undefined, 'application/json', secret)).status).toBe(401);
    } finally {
      await other.close();
    }
    expect((await api.call('GET', '/api/v2/users/gwen/quota', undefined, 'application/json', ADMIN_TOKEN)).body).toMatchObject({ max_gpus: 4, source: 'user' });
  });

  it('deletes only once confirmed', async () => {
    await page.goto(`${api.url}/console/models/${qwenKey}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    await shows(page.getByRole('dialog'), 'cannot be undone');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect((await api.call('GET', `/api/v2/serve/models/${qwenKey}`)).body.model.state).toBe('RUNNING');
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(`${api.url}/console/`);
    await counts(page.locator(`tr[data-model-key="${qwenKey}"]`), 0, ROLLOUT_MS);
  });
});
