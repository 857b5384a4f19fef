// WebRTC plumbing shared by the WHIP and WHEP clients and the pages: the
// offer/answer exchange of RFC 9725 §4.2 (offer POSTed once ICE gathering
// is complete, no trickle), leaving a session, watching a connection, and
// the keep-a-session-up loop with backoff.

import { authHeaders, httpError } from './api.js';

/** How long to wait for ICE gathering before POSTing what there is. */
const GATHER_TIMEOUT_MS = 1500;
/** How long the POST may take. */
const POST_TIMEOUT_MS = 10000;
/** Time allowed from the POST's answer to an ICE+DTLS connection. */
const CONNECT_TIMEOUT_MS = 10000;
/** How long 'disconnected' may last before the session counts as lost. */
const DISCONNECTED_GRACE_MS = 4000;
/** Reconnect backoff bounds. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;
/** Longest wait a 503's Retry-After may impose. */
const RETRY_AFTER_MAX_MS = 60000;

/**
 * Creates pc's offer, POSTs it to url once gathered, applies the answer
 * and resolves to the session resource's URL (or null without Location).
 * Rejects with an HTTPError for a non-201 answer; the caller closes pc.
 */
export async function offerAnswer(pc, url, token, signal) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, GATHER_TIMEOUT_MS, signal);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Accept: 'application/sdp', ...authHeaders(token) },
    body: pc.localDescription.sdp,
    cache: 'no-store',
    signal: anySignal(signal, AbortSignal.timeout(POST_TIMEOUT_MS)),
  });
  if (res.status !== 201) throw await httpError(`POST ${url}`, res);
  const loc = res.headers.get('Location');
  const resource = loc ? new URL(loc, res.url).href : null;
  try {
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  } catch (err) {
    leave(resource, token);
    throw err;
  }
  return resource;
}

/** DELETEs a session resource, best-effort; keepalive lets it outlive the page. */
export function leave(resource, token) {
  if (!resource) return;
  fetch(resource, { method: 'DELETE', headers: authHeaders(token), keepalive: true, cache: 'no-store' })
    .catch(() => {});
}

/** Resolves when ICE gathering is complete, or after timeoutMs. */
function gathered(pc, timeoutMs, signal) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      signal?.removeEventListener('abort', abort);
    };
    const done = () => { cleanup(); resolve(); };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const abort = () => { cleanup(); reject(signal.reason); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
    signal?.addEventListener('abort', abort);
  });
}

/** An AbortSignal that aborts when any of the given ones does. */
function anySignal(...signals) {
  const list = signals.filter(Boolean);
  if (AbortSignal.any) return AbortSignal.any(list);
  const c = new AbortController();
  for (const s of list) {
    if (s.aborted) c.abort(s.reason);
    else s.addEventListener('abort', () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}

/**
 * Holds a session: waits until pc is connected, calls onup, then waits
 * until the connection is lost. Always ends by throwing why; err.wasUp
 * says whether it had connected.
 */
export async function hold(pc, signal, onup) {
  let up = false;
  try {
    await connected(pc, signal);
    up = true;
    onup();
    await lost(pc, signal);
    throw new Error('session ended');
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    err.wasUp = up;
    throw err;
  }
}

/** Resolves when pc is connected; rejects on failure, timeout or abort. */
function connected(pc, signal) {
  return watch(pc, signal, (fail, ok) => {
    const timer = setTimeout(() => fail('no connection within 10 s'), CONNECT_TIMEOUT_MS);
    const check = () => {
      const st = pc.connectionState;
      if (st === 'connected') ok();
      else if (st === 'failed' || st === 'closed') fail(`connection ${st}`);
    };
    return { check, cleanup: () => clearTimeout(timer) };
  });
}

/** Rejects when pc's connection is lost: failed, closed (also by the peer,
 * seen on the DTLS transport), or disconnected for longer than the grace. */
function lost(pc, signal) {
  let timer = null;
  return watch(pc, signal, (fail) => {
    const t = pc.getTransceivers()[0];
    const dtls = t?.receiver.transport ?? t?.sender.transport;
    const check = () => {
      const st = pc.connectionState;
      if (st === 'failed' || st === 'closed') return fail(`connection ${st}`);
      if (dtls && (dtls.state === 'failed' || dtls.state === 'closed')) return fail(`DTLS ${dtls.state}`);
      if (st === 'disconnected') {
        timer ??= setTimeout(() => fail('disconnected too long'), DISCONNECTED_GRACE_MS);
      } else {
        clearTimeout(timer);
        timer = null;
      }
    };
    dtls?.addEventListener('statechange', check);
    return { check, cleanup: () => { clearTimeout(timer); dtls?.removeEventListener('statechange', check); } };
  });
}

/** Runs setup's check on every connection state change until it calls
 * fail(reason) or ok(), or signal aborts. */
function watch(pc, signal, setup) {
  return new Promise((resolve, reject) => {
    let w = null;
    const finish = (f) => {
      pc.removeEventListener('connectionstatechange', onchange);
      signal.removeEventListener('abort', onabort);
      w?.cleanup();
      f();
    };
    const fail = (why) => finish(() => reject(new Error(why)));
    const ok = () => finish(resolve);
    const onchange = () => w.check();
    const onabort = () => finish(() => reject(signal.reason));
    w = setup(fail, ok);
    pc.addEventListener('connectionstatechange', onchange);
    signal.addEventListener('abort', onabort);
    if (signal.aborted) onabort();
    else w.check();
  });
}

/** Resolves after ms, rejects when signal aborts first. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { signal.removeEventListener('abort', onabort); resolve(); }, ms);
    const onabort = () => { clearTimeout(t); reject(signal.reason); };
    signal.addEventListener('abort', onabort, { once: true });
  });
}

/**
 * Keeps a session up until signal aborts: runOnce(signal), and after it
 * ends, ondown(err) and a pause (exponential backoff with jitter, reset
 * after a session that was up; a 503's Retry-After where given). ondown
 * returning false ends the loop (a 401/403 is not retried blindly).
 */
export async function keepUp(signal, runOnce, ondown) {
  let failures = 0;
  while (!signal.aborted) {
    let err;
    try {
      await runOnce(signal);
      err = new Error('session ended');
    } catch (e) {
      err = e instanceof Error ? e : new Error(String(e));
    }
    if (signal.aborted) return;
    if (ondown(err) === false) return;
    if (err.wasUp) failures = 0;
    const backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures++);
    const delay = err.retryAfterMs !== undefined
      ? Math.min(err.retryAfterMs, RETRY_AFTER_MAX_MS)
      : backoff * (0.5 + Math.random() / 2);
    await sleep(delay, signal).catch(() => {});
  }
}
