// The listen page: subscribes to one channel over WHEP, plays every host with
// a level meter, and reconnects by itself. The listener is a small state
// machine: next() works out the state from an event alone, enter() does the
// side effects (status line, button, console log).

import { getJSON, listeners, pageToken, pathChannel } from './api.js';
import { Player, dbfs } from './audio.js';
import { meterRow, showLevel } from './meter.js';
import { next } from './state.js';
import { hold, keepUp } from './rtc.js';
import { leave, subscribe } from './whep.js';

/** Period of the host list poll. */
const POLL_MS = 1000;

const $ = (id) => document.getElementById(id);
const token = pageToken();
const channel = pathChannel();
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

/** Keeps a WHEP session up until signal aborts; a 401/403 ends it. */
function connectLoop(signal) {
  return keepUp(signal, runOnce, (err) => {
    dispatch({ type: 'down', error: err });
    if (err.denied) {
      run = null;
      return false;
    }
    return true;
  });
}

/** One WHEP session: subscribe, wait to connect, wait until it is lost. */
async function runOnce(signal) {
  const s = await subscribe({
    url: whepURL,
    token,
    signal,
    ontrack: (slot, track) => player.attach(slot, track),
  });
  session = s;
  sessions++;
  try {
    await hold(s.pc, signal, () => dispatch({ type: 'up' }));
  } finally {
    session = null;
    s.pc.close();
    player.detachAll();
    leave(s.resource, token);
  }
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
      li = meterRow('host');
      li.dataset.slot = key;
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
    const local = player.level(Number(li.dataset.slot)).rms;
    showLevel(li, Number.isFinite(local) ? dbfs(local) : li.dataset.relayDb !== '' ? Number(li.dataset.relayDb) : -Infinity);
  }
  requestAnimationFrame(drawMeters);
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
