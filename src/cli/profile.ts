import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** Where `argus login` keeps the API URL and token: $ARGUS_CLI_CONFIG, else ~/.config/argus/config.json. */
export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.ARGUS_CLI_CONFIG ?? path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'argus', 'config.json');
}

const profileSchema = z.object({ api_url: z.string().url(), token: z.string().min(1) }).strict();
export type Profile = z.infer<typeof profileSchema>;

export class NotLoggedIn extends Error {}

export function readProfile(file = profilePath()): Profile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new NotLoggedIn(`not logged in: run argus login --url <API URL> --token <token> (no ${file})`);
  }
  const parsed = profileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new NotLoggedIn(`${file} is not a profile argus login wrote; run argus login again`);
  return parsed.data;
}

/** Written readable by its owner only (mode 0600): it holds a token. */
export function writeProfile(profile: Profile, file = profilePath()): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode on write
}
