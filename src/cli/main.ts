#!/usr/bin/env node
import { Command, Option } from 'commander';
import { ApiClient, ApiRefusal } from './apiClient';
import { type OutputFormat, eventLine, print } from './output';
import { NotLoggedIn, profilePath, readProfile, writeProfile } from './profile';
import { followEvents } from './watch';

/**
 * `argus`: the command line of the serving API. Tables for people, `-o json` for scripts; an
 * API refusal prints its message and code and exits 1; a rollout waited for that fails exits 2.
 */
const program = new Command('argus').description('Serve models behind one OpenAI-compatible endpoint').showHelpAfterError();
const output = () => new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table');
const client = () => new ApiClient(readProfile());
const format = (options: { output: string }) => options.output as OutputFormat;

program
  .command('login')
  .description(`keep the API URL and a token in ${profilePath()} (mode 0600)`)
  .requiredOption('--url <url>', 'the API, e.g. http://127.0.0.1:8080')
  .requiredOption('--token <token>', 'a token an admin issued you (or the admin token)')
  .action(async (options: { url: string; token: string }) => {
    const profile = { api_url: options.url, token: options.token };
    await new ApiClient(profile).list(); // proves the URL and the token before keeping them
    writeProfile(profile);
    process.stdout.write(`logged in to ${options.url}\n`);
  });

program
  .command('apply')
  .description('create or update a model from a ServingSpec (YAML or JSON)')
  .requiredOption('-f, --file <spec>', 'the spec file')
  .option('--wait', 'follow the rollout until RUNNING (exit 0) or FAILED (exit 2)')
  .addOption(output())
  .action(async (options: { file: string; wait?: boolean; output: string }) => {
    const api = client();
    const ack = await api.apply(options.file);
    if (!options.wait) {
      print(format(options), ack, { head: ['model_key', 'state', 'revision', 'changed'], rows: [[ack.model_key, ack.state, ack.revision, String(ack.changed)]] });
      return;
    }
    // Follow from the request this POST made: until its revision is RUNNING, rolled back, or the model FAILED.
    const events = (await api.get(ack.model_key)).events;
    const requested = events.find((e) => ['DEPLOY_REQUESTED', 'SCALE_REQUESTED'].includes(e.event_type) && e.payload.revision === ack.revision);
    const from = ack.changed && requested ? requested.seq - 1 : (events.at(-1)?.seq ?? 0);
    const detail = await followEvents(api, ack.model_key, from, (state, seen) =>
      !ack.changed || state === 'FAILED' || seen.some((e) => (e.type === 'RUNNING' && e.revision === ack.revision) || e.type === 'ROLLED_BACK'),
    );
    const m = detail.model;
    print(format(options), detail.model, { head: ['model_key', 'model_id', 'state', 'error_summary'], rows: [[m.model_key, m.model_id, m.state, m.error_summary]] });
    if (m.state === 'FAILED' || m.error_summary) {
      process.stderr.write(`rollout failed: ${m.error_summary ?? m.state}\n`);
      process.exitCode = 2;
    }
  });

program
  .command('ls')
  .description('your models')
  .addOption(output())
  .action(async (options: { output: string }) => {
    const list = await client().list();
    print(format(options), list, {
      head: ['model_id', 'state', 'replicas', 'gpus', 'model_key'],
      rows: list.items.map((m) => [m.model_id, m.state, `${m.replicas.running ?? '-'}/${m.replicas.target}`, m.total_gpus, m.model_key]),
    });
  });

program
  .command('get <model>')
  .description('one model (model_key, model_id or suffix) with its resolved spec')
  .addOption(output())
  .action(async (reference: string, options: { output: string }) => {
    const detail = await client().resolve(reference);
    const m = detail.model;
    print(format(options), detail, {
      head: ['field', 'value'],
      rows: [
        ['model_key', m.model_key],
        ['model_id', m.model_id],
        ['state', m.state],
        ['replicas (running/target)', `${m.replicas.running ?? '-'}/${m.replicas.target}`],
        ['endpoint', `${m.endpoint.openai_base_url} model=${m.endpoint.model}`],
        ['error_summary', m.error_summary],
        ['admission', m.admission ? `#${m.admission.position}: ${m.admission.reason}` : null],
        ['spec', detail.resolved_spec_yaml.trim()],
      ],
    });
  });

program
  .command('events <model>')
  .description("a model's events, oldest first")
  .option('--follow', 'keep printing new events until the model is DELETED')
  .addOption(output())
  .action(async (reference: string, options: { follow?: boolean; output: string }) => {
    const api = client();
    const detail = await api.resolve(reference);
    if (format(options) === 'json' && !options.follow) {
      process.stdout.write(`${JSON.stringify(detail.events, null, 2)}\n`);
      return;
    }
    for (const event of detail.events) process.stdout.write(`${eventLine(event)}\n`);
    if (options.follow) {
      await followEvents(api, detail.model.model_key, detail.events.at(-1)?.seq ?? 0, (state) => state === 'DELETED', (line) => process.stdout.write(`${line}\n`));
    }
  });

program
  .command('scale <model> <replicas>')
  .description('set a fixed replica count')
  .addOption(output())
  .action(async (reference: string, replicas: string, options: { output: string }) => {
    const api = client();
    const detail = await api.resolve(reference);
    const ack = await api.patch(detail.model.model_key, { num_replicas: Number(replicas) });
    print(format(options), ack, { head: ['model_key', 'state', 'revision', 'changed'], rows: [[ack.model_key, ack.state, ack.revision, String(ack.changed)]] });
  });

program
  .command('rm <model>')
  .description('undeploy a model')
  .option('--wait', 'wait until it is DELETED')
  .addOption(output())
  .action(async (reference: string, options: { wait?: boolean; output: string }) => {
    const api = client();
    const detail = await api.resolve(reference);
    const ack = await api.remove(detail.model.model_key);
    if (options.wait) await followEvents(api, ack.model_key, detail.events.at(-1)?.seq ?? 0, (state) => state === 'DELETED');
    print(format(options), options.wait ? { ...ack, state: 'DELETED' } : ack, { head: ['model_key', 'state'], rows: [[ack.model_key, options.wait ? 'DELETED' : ack.state]] });
  });

program
  .command('chat <model> <prompt>')
  .description('one chat completion through the OpenAI endpoint')
  .option('--max-tokens <n>', 'tokens to generate', '64')
  .action(async (reference: string, prompt: string, options: { maxTokens: string }) => {
    const { model } = await client().resolve(reference);
    const response = await fetch(`${model.endpoint.openai_base_url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: model.endpoint.model, messages: [{ role: 'user', content: prompt }], max_tokens: Number(options.maxTokens) }),
    });
    const body = (await response.json()) as { choices?: Array<{ message?: { content?: string } }>; error?: { message?: string; code?: string } };
    if (!response.ok) throw new ApiRefusal(response.status, body.error?.code ?? 'chat_failed', `${body.error?.message ?? 'the model did not answer'} (${response.status})`);
    process.stdout.write(`${body.choices?.[0]?.message?.content ?? ''}\n`);
  });

const users = program.command('users').description('users (admin)');
users
  .command('create <user_id>')
  .addOption(output())
  .action(async (userId: string, options: { output: string }) => {
    const created = await client().createUser(userId);
    print(format(options), created, { head: ['user_id'], rows: [[created.user_id]] });
  });
users
  .command('quota <user_id>')
  .description("set a user's quota (empty: no limit)")
  .option('--max-gpus <n>')
  .option('--max-models <n>')
  .addOption(output())
  .action(async (userId: string, options: { maxGpus?: string; maxModels?: string; output: string }) => {
    const quota = await client().setQuota(userId, { max_gpus: options.maxGpus ? Number(options.maxGpus) : null, max_models: options.maxModels ? Number(options.maxModels) : null });
    print(format(options), quota, { head: ['user_id', 'max_gpus', 'max_models', 'gpus used', 'models'], rows: [[quota.user_id, quota.max_gpus, quota.max_models, quota.usage.gpus, quota.usage.models]] });
  });

const tokens = program.command('tokens').description('tokens (admin)');
tokens
  .command('issue <user_id>')
  .description('issue a token; the secret is shown this once')
  .addOption(output())
  .action(async (userId: string, options: { output: string }) => {
    const issued = await client().issueToken(userId);
    print(format(options), issued, { head: ['user_id', 'token_id', 'token'], rows: [[issued.user_id, issued.token_id, issued.token]] });
  });
tokens
  .command('list <user_id>')
  .addOption(output())
  .action(async (userId: string, options: { output: string }) => {
    const list = await client().listTokens(userId);
    print(format(options), list, { head: ['token_id', 'created_at', 'revoked_at'], rows: list.items.map((t) => [t.token_id, t.created_at, t.revoked_at]) });
  });
tokens
  .command('revoke <user_id> <token_id>')
  .addOption(output())
  .action(async (userId: string, tokenId: string, options: { output: string }) => {
    const revoked = await client().revokeToken(userId, tokenId);
    print(format(options), revoked, { head: ['token_id', 'revoked'], rows: [[revoked.token_id, String(revoked.revoked)]] });
  });

program
  .command('status')
  .description('the cluster: capacity, the admission line, users and Serve apps (admin)')
  .addOption(output())
  .action(async (options: { output: string }) => {
    const status = await client().status();
    print(format(options), status, {
      head: ['accelerator', 'capacity', 'reserved', 'free', 'waiting'],
      rows: Object.entries(status.capacity.accelerators).map(([type, a]) => [type, a.capacity, a.reserved, a.free, status.capacity.queue.filter((q) => q.accelerator === type).length]),
    });
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ApiRefusal || err instanceof NotLoggedIn) {
    process.stderr.write(`argus: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`argus: ${(err as Error).message}\n`);
  process.exit(1);
});
