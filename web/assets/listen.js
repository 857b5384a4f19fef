// The listen page: subscribes to one channel over WHEP, plays every host with
// a level meter, and reconnects by itself. The listener is a small state
// machine: next() works out the state from an event alone, enter() does the
// side effects (status line, button, console log).

import { getJSON, listeners, pageToken } from './api.js';
import { Player, dbfs } from './audio.js';
import { next } from './state.js';
import { leave, subscribe } from './whep.js';

/** Time allowed from the POST's answer to an ICE+DTLS connection. */
const CONNECT_TIMEOUT_MS = 10000;
/** How long 'disconnected' may last before the session counts as lost. */
const DISCONNECTED_GRACE_MS = 4000;
/** Reconnect backoff bounds. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;
/** Longest wait a 503's Retry-After may impose. */
const RETRY_AFTER_MAX_MS = 60000;
/** Period of the host list poll. */
const POLL_MS = 1000;

const $ = (id) => document.getElementById(id);
const token = pageToken();
const channel = channelFromPath();
const whepURL = new URL(`../whep/${encodeURIComponent(channel)}`, location.href).href;
const infoURL = new URL(`../api/channels/${encodeURIComponent(channel)}`, location.href).href;
const player = new Player($('players'));

let state = 'idle';
let run = null; // AbortController of the running connect loop
let session = null; // {pc, resource} while one exists
let sessions = 0; // WHEP sessions created so far
let lastError = null;
let hosts = []; // from the API: [{uid, slot, level, ...}]
let audience = 0;

/** Feeds an event to the state machine. */
function dispatch(ev) {
  if (ev.error) lastError = ev.error;
  const to = next(state, ev);
  if (to !== state) enter(state, to);
  else if (ev.error) render(); // same state, newer error
}

/** Enters state to: logs the change and shows it. */
function enter(from, to) {
  state = to;
  console.info(`onair listen: state ${from} -> ${to}${lastError && to !== 'connected' ? ` (${lastError.message})` : ''}`);
  document.body.dataset.state = to;
  render();
}

/** Starts listening (from the Listen button or ?autoplay=1). */
function start() {
  player.start();
  if (run) return;
  lastError = null;
  dispatch({ type: 'start' });
  run = new AbortController();
  connectLoop(run.signal);
}

/** Stops listening and leaves the session. */
function stop() {
  run?.abort();
  run = null;
  dispatch({ type: 'stop' });
}

/** Keeps a WHEP session up until signal aborts: runOnce, then a backoff. */
async function connectLoop(signal) {
  let failures = 0;
  while (!signal.aborted) {
    let err;
    try {
      await runOnce(signal);
      err = new Error('session ended');
    } catch (e) {
      err = e;
    }
    if (signal.aborted) return;
    dispatch({ type: 'down', error: err });
    if (err.denied) {
      run = null;
      return;
    }
    if (err.wasUp) failures = 0;
    const backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures++);
    const delay = err.retryAfterMs !== undefined
      ? Math.min(err.retryAfterMs, RETRY_AFTER_MAX_MS)
      : backoff * (0.5 + Math.random() / 2);
    await sleep(delay, signal).catch(() => {});
  }
}

/** One WHEP session: subscribe, wait to connect, wait until it is lost.
 * Always ends by throwing why; err.wasUp says whether it had connected. */
async function runOnce(signal) {
  const s = await subscribe({
    url: whepURL,
    token,
    signal,
    ontrack: (slot, track) => player.attach(slot, track),
  });
  session = s;
  sessions++;
  let up = false;
  try {
    await connected(s.pc, signal);
    up = true;
    dispatch({ type: 'up' });
    await lost(s.pc, signal);
  } catch (e) {
    e.wasUp = up;
    throw e;
  } finally {
    session = null;
    s.pc.close();
    player.detachAll();
    leave(s.resource, token);
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
    const dtls = pc.getReceivers()[0]?.transport;
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

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { signal.removeEventListener('abort', onabort); resolve(); }, ms);
    const onabort = () => { clearTimeout(t); reject(signal.reason); };
    signal.addEventListener('abort', onabort, { once: true });
  });
}

/** Summarises getStats() per inbound audio RTP stream of the session. */
async function stats() {
  const s = session;
  if (!s) return [];
  const ts = s.pc.getTransceivers();
  const slotByMid = new Map(ts.map((t, i) => [t.mid, i]));
  const slotByTrack = new Map(ts.map((t, i) => [t.receiver.track.id, i]));
  const out = [];
  (await s.pc.getStats()).forEach((r) => {
    if (r.type !== 'inbound-rtp' || r.kind !== 'audio') return;
    out.push({
      slot: slotByMid.get(r.mid) ?? slotByTrack.get(r.trackIdentifier) ?? -1,
      ssrc: r.ssrc,
      packetsReceived: r.packetsReceived ?? 0,
      packetsLost: r.packetsLost ?? 0,
      jitter: r.jitter ?? 0,
      bytesReceived: r.bytesReceived ?? 0,
      jitterBufferDelay: r.jitterBufferDelay ?? 0,
      jitterBufferEmittedCount: r.jitterBufferEmittedCount ?? 0,
      concealedSamples: r.concealedSamples ?? 0,
      totalSamplesReceived: r.totalSamplesReceived ?? 0,
    });
  });
  return out.sort((a, b) => a.slot - b.slot);
}

/** Polls the channel's hosts for the meters' labels. */
async function pollHosts() {
  try {
    const info = await getJSON(infoURL, token, AbortSignal.timeout(POLL_MS * 3));
    hosts = Array.isArray(info.hosts) ? info.hosts.map((h, i) => ({ ...h, slot: h.slot ?? i })) : [];
    audience = info.audience ?? 0;
    $('hosts-error').hidden = true;
  } catch (e) {
    if (e.status === 404) {
      hosts = [];
      audience = 0;
    } else {
      $('hosts-error').hidden = false;
    }
  }
  renderHosts();
  setTimeout(pollHosts, POLL_MS);
}

// ---- rendering ----

const stateText = {
  idle: 'Not listening',
  connecting: 'Connecting…',
  connected: 'Listening',
  reconnecting: 'Reconnecting…',
  denied: 'Access denied',
  unsupported: 'This browser cannot play WebRTC audio',
};

function render() {
  let text = stateText[state] ?? state;
  if (state === 'connected' && player.state === 'suspended') text = 'Connected — tap to hear';
  if ((state === 'reconnecting' || state === 'denied') && lastError) text += ` (${lastError.message})`;
  $('state-text').textContent = text;
  const btn = $('listen');
  const listening = state === 'connecting' || state === 'connected' || state === 'reconnecting';
  btn.textContent = !listening ? 'Listen' : player.state === 'suspended' ? 'Tap to hear' : 'Stop';
  btn.setAttribute('aria-pressed', String(listening));
  btn.disabled = state === 'unsupported';
}

function renderHosts() {
  const list = $('hosts');
  const rows = new Map([...list.children].map((li) => [li.dataset.slot, li]));
  for (const h of [...hosts].sort((a, b) => a.slot - b.slot)) {
    const key = String(h.slot);
    let li = rows.get(key);
    rows.delete(key);
    if (!li) {
      li = document.createElement('li');
      li.className = 'host';
      li.dataset.slot = key;
      li.innerHTML = '<span class="uid"></span><span class="db"></span>' +
        '<span class="meter" role="meter" aria-valuemin="-60" aria-valuemax="0"><span class="fill"></span></span>';
      list.append(li);
    }
    li.querySelector('.uid').textContent = String(h.uid ?? `host ${h.slot + 1}`);
    li.dataset.relayDb = String(h.level?.rms_dbfs ?? '');
    li.querySelector('.meter').setAttribute('aria-label', `level of ${h.uid}`);
  }
  for (const li of rows.values()) li.remove();
  $('no-hosts').hidden = hosts.length > 0;
  $('audience').textContent = listeners(audience);
}

/** Animates the meters: the local level while listening, the relay's otherwise. */
function drawMeters() {
  for (const li of $('hosts').children) {
    let db = -Infinity;
    const local = player.level(Number(li.dataset.slot)).rms;
    if (Number.isFinite(local)) db = dbfs(local);
    else if (li.dataset.relayDb !== '') db = Number(li.dataset.relayDb);
    const shown = Math.max(db, Number(li.dataset.shown ?? -Infinity) - 1.5); // fall 1.5 dB a frame
    li.dataset.shown = String(shown);
    const frac = Number.isFinite(shown) ? Math.min(1, Math.max(0, (shown + 60) / 60)) : 0;
    li.querySelector('.fill').style.clipPath = `inset(0 ${(100 - frac * 100).toFixed(1)}% 0 0)`;
    li.querySelector('.meter').setAttribute('aria-valuenow', Number.isFinite(db) ? db.toFixed(0) : '-60');
    li.querySelector('.db').textContent = Number.isFinite(db) && db > -90 ? `${db.toFixed(0)} dB` : '—';
  }
  requestAnimationFrame(drawMeters);
}

function channelFromPath() {
  const seg = location.pathname.split('/').pop();
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

// ---- wiring ----

/** The read-only hook the end-to-end tests drive the page with. */
window.onairListen = Object.freeze({
  get state() { return state; },
  get channel() { return channel; },
  get sessions() { return sessions; },
  get lastError() { return lastError ? String(lastError.message) : null; },
  get audioState() { return player.state; },
  get hosts() { return hosts.map((h) => ({ uid: h.uid, slot: h.slot })); },
  stats,
  dominantHz: (slot) => player.dominantHz(slot),
  rms: (slot) => player.level(slot).rms,
});

$('channel').textContent = channel;
document.title = `${channel} · onair`;
$('back').href = token ? `../?token=${encodeURIComponent(token)}` : '../';
$('listen').addEventListener('click', () => {
  if (state === 'idle' || state === 'denied') start();
  else if (player.state === 'suspended') player.start();
  else stop();
});
$('volume').addEventListener('input', (e) => player.setVolume(Number(e.target.value)));
player.onstatechange = render;

let resume = false;
addEventListener('pagehide', () => {
  resume = run !== null;
  if (session) {
    leave(session.resource, token);
    session.resource = null;
  }
  if (run) stop();
});
addEventListener('pageshow', (e) => {
  if (e.persisted && resume) start();
});

if (typeof RTCPeerConnection === 'undefined') {
  enter(state, 'unsupported');
} else {
  render();
  if (new URLSearchParams(location.search).get('autoplay') === '1') start();
}
renderHosts();
pollHosts();
requestAnimationFrame(drawMeters);
