// The harness of the openid-client suite: a provider of our own on a fresh SQLite database,
// seeded with the CLI, and a minimal browser (cookie jar, redirects by hand, login form filled in).
//
// Nothing here knows OpenID Connect: the tests do that with openid-client only.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../../..');
export const BINARY = process.env.CENTRALAUTH_BIN || join(REPO, 'target/debug/centralauth');

export const PREFIX = '/provider';
export const CLIENT_ID = 'oidc-rp-node';
// A second application whose id_tokens are signed with EdDSA (Ed25519) instead of RS256.
export const EDDSA_CLIENT_ID = 'oidc-rp-node-eddsa';
export const CLIENT_SECRET = 'rp-secret-' + randomBytes(16).toString('hex');
// Never served: the browser stops at the redirect to it and hands the URL to the library.
export const REDIRECT_URI = 'http://127.0.0.1:9/cb';
export const POST_LOGOUT_REDIRECT_URI = 'http://127.0.0.1:9/signed-out';
export const USER = {
  username: 'alice',
  password: 'correct horse battery staple',
  email: 'alice@example.com',
  first_name: 'Alice',
  last_name: 'Liddell',
};
// Registered by the application over /perms/, then given to the membership.
export const PERMS = [
  { app_label: 'notes', codename: 'add_note', repr: 'Can add note' },
  { app_label: 'notes', codename: 'view_note', repr: 'Can view note' },
];
export const SCOPE = 'openid profile email offline_access';

const START_TIMEOUT_MS = 60_000;

/** A running `centralauth serve` with its own working directory and database. */
export class Provider {
  constructor(proc, workdir, env, baseUrl, log) {
    this.proc = proc;
    this.workdir = workdir;
    this.env = env;
    this.baseUrl = baseUrl;
    this._log = log;
  }

  get issuer() {
    return `${this.baseUrl}${PREFIX}/o`;
  }

  log() {
    return this._log.join('');
  }

  /** Start a provider; `refreshGraceSeconds` 0 makes reuse of a rotated refresh token fail at once. */
  static async start({ refreshGraceSeconds = 0 } = {}) {
    const workdir = mkdtempSync(join(tmpdir(), 'centralauth-oidc-node-'));
    // Only the settings given here: none of the caller's CENTRALAUTH_* variables.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CENTRALAUTH_')));
    env.CENTRALAUTH_MASTER_KEY = randomBytes(32).toString('base64url');
    env.CENTRALAUTH_DATABASE_URL = `sqlite://${join(workdir, 'c.db')}?mode=rwc`;
    const proc = spawn(
      BINARY,
      ['serve', '--listen', '127.0.0.1:0', '--prefix', PREFIX, '--refresh-grace-seconds', String(refreshGraceSeconds)],
      { cwd: workdir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: false },
    );
    const log = [];
    const baseUrl = await new Promise((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`centralauth serve did not start in time:\n${log.join('')}`)), START_TIMEOUT_MS);
      const onData = (chunk) => {
        log.push(chunk.toString());
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log.join(''));
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[1]);
        }
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`centralauth serve exited with ${code} before listening:\n${log.join('')}`));
      });
    });
    const provider = new Provider(proc, workdir, env, baseUrl, log);
    try {
      await provider.seed();
    } catch (e) {
      await provider.stop();
      throw e;
    }
    return provider;
  }

  /** Run a CLI command against this provider's database; return its stdout. */
  cli(args, stdin) {
    try {
      return execFileSync(BINARY, args, { cwd: this.workdir, env: this.env, input: stdin ?? '', encoding: 'utf8' });
    } catch (e) {
      throw new Error(`centralauth ${args.join(' ')} failed (${e.status}):\n${e.stdout}\n${e.stderr}`);
    }
  }

  /** Two confidential applications (RS256, EdDSA), one user with a password, the user's memberships. */
  async seed() {
    this.cli(
      ['app', 'create', 'OIDC relying party', '--client-id', CLIENT_ID, '--client-secret-stdin', '--redirect-uri', REDIRECT_URI,
        '--post-logout-redirect-uri', POST_LOGOUT_REDIRECT_URI],
      CLIENT_SECRET + '\n',
    );
    this.cli(
      ['app', 'create', 'OIDC relying party (EdDSA)', '--client-id', EDDSA_CLIENT_ID, '--client-secret-stdin',
        '--redirect-uri', REDIRECT_URI, '--id-token-signing-alg', 'EdDSA'],
      CLIENT_SECRET + '\n',
    );
    this.cli(
      ['user', 'create', USER.username, '--password-stdin', '--email', USER.email,
        '--first-name', USER.first_name, '--last-name', USER.last_name],
      USER.password + '\n',
    );
    const response = await fetch(`${this.baseUrl}${PREFIX}/perms/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, perms: PERMS }),
    });
    if (response.status !== 200) {
      throw new Error(`POST /perms/ answered ${response.status}: ${await response.text()}`);
    }
    const args = ['member', 'add', CLIENT_ID, USER.username, '--staff'];
    for (const p of PERMS) args.push('--perm', `${p.app_label}.${p.codename}`);
    this.cli(args);
    this.cli(['member', 'add', EDDSA_CLIENT_ID, USER.username]);
  }

  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.workdir, { recursive: true, force: true });
  }
}

/** A cookie jar and redirects followed by hand: what a person's browser does, no more. */
export class Browser {
  constructor() {
    this.cookies = new Map(); // name -> value (every request goes to one host)
    this.hops = []; // [method, url, status] of each request
  }

  _cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  _keepCookies(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.trim().split('=');
        return (k.toLowerCase() === 'max-age' && Number(v) <= 0) ||
          (k.toLowerCase() === 'expires' && Date.parse(a.trim().slice(8)) < Date.now());
      });
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(method, url, body) {
    const headers = { cookie: this._cookieHeader(), accept: 'text/html,*/*' };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, { method, headers, body, redirect: 'manual' });
    this._keepCookies(response);
    this.hops.push([method, String(url), response.status]);
    return response;
  }

  /**
   * Navigate to `url`, following redirects and signing in at a login form, until a redirect to
   * `stopAt` (a prefix): return that redirect's target without requesting it.
   * `confirm`: also submit a form without a password field once (e.g. "Do you want to sign out?").
   */
  async signIn(url, stopAt, { username = USER.username, password = USER.password, confirm = false } = {}) {
    let method = 'GET';
    let body;
    let signedIn = false;
    url = String(url);
    for (let i = 0; i < 20; i++) {
      const response = await this.request(method, url, body);
      if (response.status >= 300 && response.status < 400) {
        const target = new URL(response.headers.get('location'), url).href;
        await response.arrayBuffer();
        if (target.startsWith(stopAt)) return target;
        [url, method, body] = [target, 'GET', undefined];
        continue;
      }
      const text = await response.text();
      const [first] = forms(text);
      if (confirm && response.status === 200 && first && !first.hasPassword) {
        confirm = false;
        body = new URLSearchParams(first.hidden).toString();
        url = new URL(first.action || url, url).href;
        method = first.method;
        continue;
      }
      const form = loginForm(text);
      if (!form || signedIn) {
        throw new Error(`no redirect to ${stopAt}: ${method} ${url} answered ${response.status}:\n${text.slice(0, 2000)}\nhops: ${JSON.stringify(this.hops)}`);
      }
      signedIn = true;
      body = new URLSearchParams({ ...form.hidden, username, password }).toString();
      url = new URL(form.action || url, url).href;
      method = form.method;
    }
    throw new Error(`more than 20 hops: ${JSON.stringify(this.hops)}`);
  }
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#34': '"', '#x2F': '/', '#47': '/' };

function unescapeHtml(s) {
  return s.replace(/&(#?[a-zA-Z0-9]+);/g, (m, name) => {
    if (name in ENTITIES) return ENTITIES[name];
    if (/^#x[0-9a-f]+$/i.test(name)) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (/^#\d+$/.test(name)) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return m;
  });
}

function attributes(tag) {
  const attrs = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attrs[m[1].toLowerCase()] = unescapeHtml(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** Every <form>: its action, method, hidden inputs and whether it asks for a password. */
export function forms(html) {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((m) => {
    const formAttrs = attributes(m[1]);
    const inputs = [...m[2].matchAll(/<input\b([^>]*)>/gi)].map((i) => attributes(i[1]));
    const hidden = {};
    for (const i of inputs) {
      if ((i.type || '').toLowerCase() === 'hidden' && i.name) hidden[i.name] = i.value ?? '';
    }
    return {
      action: formAttrs.action || '',
      method: (formAttrs.method || 'get').toUpperCase(),
      hidden,
      hasPassword: inputs.some((i) => (i.type || '').toLowerCase() === 'password'),
    };
  });
}

/** The first form with a password field, or null. */
export function loginForm(html) {
  return forms(html).find((f) => f.hasPassword) ?? null;
}
