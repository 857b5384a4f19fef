// The driver shared by listen.mjs and channel.mjs: Debian's Chromium through
// playwright-core (no downloaded browser), one page, and the line-by-line
// JSON command protocol that the Go tests speak (documented in listen.mjs).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

/** The Chromium flags every test browser needs (see RECIPES.md). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection',
];

/** Parses the command line: URL [--profile DIR] [--width W --height H]
 * [--executable PATH], and the extra flags of extra (name -> option key). */
export function parseArgs(argv, usage, extra = {}) {
  const opts = { url: '', profile: '', width: 1280, height: 800, executable: '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--profile') opts.profile = val();
    else if (a === '--width') opts.width = Number(val());
    else if (a === '--height') opts.height = Number(val());
    else if (a === '--executable') opts.executable = val();
    else if (extra[a]) opts[extra[a]] = val();
    else if (!opts.url) opts.url = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!opts.url) throw new Error(`usage: ${usage}`);
  return opts;
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function evaluate(page, expr) {
  // Indirect eval in the page; awaits a returned promise.
  return page.evaluate(async (src) => await (0, eval)(src), expr);
}

async function waitFor(page, expr, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await evaluate(page, expr);
      if (last) return last;
    } catch (e) {
      last = String(e.message || e);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${expr} (last: ${JSON.stringify(last)})`);
    }
    await sleep(100);
  }
}

/** Opens opts.url in Chromium, launched with CHROMIUM_ARGS and opts.args,
 * and answers commands on stdin until it ends (see listen.mjs). */
export async function main(opts) {
  const ownProfile = !opts.profile;
  const profile = opts.profile || mkdtempSync(join(tmpdir(), 'onair-chromium-'));
  let context;
  const close = async () => {
    try {
      await context?.close();
    } catch {
      // already gone
    }
    if (ownProfile) rmSync(profile, { recursive: true, force: true });
  };
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => close().finally(() => process.exit(1)));
  }

  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: opts.executable,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
      viewport: { width: opts.width, height: opts.height },
      handleSIGTERM: false,
      handleSIGINT: false,
    });
    // Chrome offers loopback candidates (--allow-loopback-in-peer-connection)
    // and plain instead of mDNS host addresses only to an origin that holds a
    // media capture permission; the page never captures, the grant is enough.
    const { origin } = new URL(opts.url);
    // An origin that is not secure cannot hold it (nor capture at all).
    if (origin.startsWith('http')) {
      await context.grantPermissions(['microphone'], { origin }).catch((e) => {
        process.stderr.write(`no microphone permission for ${origin}: ${e.message}\n`);
      });
    }
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => process.stderr.write(`page ${m.type()}: ${m.text()}\n`));
    page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
    const res = await page.goto(opts.url, { waitUntil: 'load', timeout: 15000 });
    if (!res || !res.ok()) throw new Error(`GET ${opts.url}: ${res ? res.status() : 'no response'}`);
    print({ ready: true, url: opts.url, userAgent: await page.evaluate(() => navigator.userAgent) });

    const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line.trim()) continue;
      let cmd;
      try {
        cmd = JSON.parse(line);
      } catch (e) {
        print({ ok: false, error: `bad command: ${e.message}` });
        continue;
      }
      try {
        let value = null;
        if (cmd.op === 'eval') {
          value = await evaluate(page, cmd.expr);
        } else if (cmd.op === 'wait') {
          value = await waitFor(page, cmd.expr, cmd.timeout_ms ?? 10000);
        } else if (cmd.op === 'goto') {
          const r = await page.goto(cmd.url, { waitUntil: 'load', timeout: 15000 });
          if (!r || !r.ok()) throw new Error(`GET ${cmd.url}: ${r ? r.status() : 'no response'}`);
          value = cmd.url;
        } else if (cmd.op === 'click') {
          await page.click(cmd.selector, { timeout: 30000 });
          value = cmd.selector;
        } else if (cmd.op === 'screenshot') {
          if (cmd.width && cmd.height) await page.setViewportSize({ width: cmd.width, height: cmd.height });
          if (cmd.color_scheme) await page.emulateMedia({ colorScheme: cmd.color_scheme });
          await page.screenshot({ path: cmd.path, fullPage: true });
          value = cmd.path;
        } else {
          throw new Error(`unknown op ${cmd.op}`);
        }
        print({ id: cmd.id, ok: true, value: value ?? null });
      } catch (e) {
        print({ id: cmd.id, ok: false, error: String(e.message || e) });
      }
    }
  } catch (e) {
    print({ ready: false, error: String(e.message || e) });
    process.exitCode = 1;
  } finally {
    await close();
  }
}
