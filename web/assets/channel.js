// The channel page, the sample app of the channel model: join a channel as
// host or audience with a token; a host publishes the microphone over WHIP
// (PUBLISH/UNPUBLISH while staying joined), everyone joined subscribes over
// WHEP and hears every other host, each shown with its uid and a level
// meter. The WHEP and the WHIP session each follow state.js's machine;
// status() derives the status line from them alone.

import { getJSON, listeners, pageToken, pathChannel } from './api.js';
import { Player, dbfs } from './audio.js';
import { meterRow, showLevel } from './meter.js';
import { hold, keepUp, leave } from './rtc.js';
import { next } from './state.js';
import { claims, describe, precheck, refusal } from './token.js';
import { subscribe } from './whep.js';
import { publish } from './whip.js';

/** Host list poll while joined, and while not. */
const POLL_JOINED_MS = 1000;
const POLL_IDLE_MS = 3000;
/** The relay's stream id prefix naming a host (channel.HostStreamPrefix). */
const HOST_STREAM_PREFIX = 'onair-host-';
/** A channel name as the relay allows it (channel.ValidateName). */
const CHANNEL_NAME = /^[A-Za-z0-9 !#$%&()+\-:;<=.>?@[\]^_{|}~,]{1,64}$/;
const PROCESSING = ['echoCancellation', 'noiseSuppression', 'autoGainControl'];
const INSECURE = 'The microphone needs HTTPS (or localhost). Join as audience, or open this page over HTTPS.';

const $ = (id) => document.getElementById(id);
const player = new Player($('players'));
const params = new URLSearchParams(location.search);
/** The uid of an anonymous page (no token): ?uid= or a random one. */
const anonUID = params.get('uid') || `web-${Math.random().toString(16).slice(2, 6)}`;

let joined = null; // {channel, token, uid, run, whep, whip, pubRun} while joined
let listenState = 'idle'; // the WHEP session (state.js)
let publishState = 'idle'; // the WHIP session (state.js)
let listenErr = null;
let publishErr = null;
let notice = ''; // plain words for the last refusal or failure, '' for none
let mic = null; // {stream, track, meter} while the microphone is open
let muted = false;
let hosts = []; // the API's hosts of the channel: [{uid, slot, level}]
let audience = 0;
let fresh = false; // hosts were polled after the current WHEP answer
let streamUIDs = new Map(); // slot -> uid from the answer's msid, until fresh
let sessions = 0; // WHEP sessions created so far

// ---- joining and leaving ----

/** Joins the channel of the form with its token and role. */
function join() {
  if (joined) return;
  const channel = $('channel').value.trim();
  const token = $('token').value.trim();
  const host = role() === 'host';
  if (!CHANNEL_NAME.test(channel)) return fail('A channel name is 1 to 64 letters, digits, spaces or !#$%&()+-:;<=.>?@[]^_{|}~, characters.');
  if (host && !window.isSecureContext) return fail(INSECURE);
  const why = precheck(token, channel, host);
  if (why) return fail(why);
  notice = '';
  const query = token ? '' : `?uid=${encodeURIComponent(anonUID)}`;
  const seg = encodeURIComponent(channel);
  joined = {
    channel,
    token,
    uid: (token && claims(token)?.uid) || anonUID,
    run: new AbortController(),
    whep: new URL(`../whep/${seg}${query}`, location.href).href,
    whip: new URL(`../whip/${seg}${query}`, location.href).href,
    pubRun: null,
    whipSession: null,
  };
  if (channel !== pathChannel()) history.replaceState(null, '', `${seg}${location.search}`);
  document.title = `${channel} · onair`;
  player.start();
  startListening(joined);
  if (host) startPublishing();
  poll();
  render();
}

/** Leaves the channel: both sessions end (DELETE), the microphone closes.
 * why, if given, is shown as the reason. */
function leaveChannel(why = '') {
  const j = joined;
  if (!j) return;
  stopPublishing();
  joined = null;
  j.run.abort();
  notice = why;
  listenErr = null;
  listenState = next(listenState, { type: 'stop' });
  player.detachAll();
  render();
  renderHosts();
}

/** Refuses a request of the user with plain words. */
function fail(why) {
  notice = why;
  render();
}

/** Keeps the WHEP session of j up; a refused token ends the join. */
function startListening(j) {
  listenState = next(listenState, { type: 'start' });
  keepUp(j.run.signal, (signal) => listenOnce(j, signal), (err) => {
    listenErr = err;
    listenState = next(listenState, { type: 'down', error: err });
    if (err.denied) {
      leaveChannel(refusal(err, j.token, j.channel, false));
      return false;
    }
    render();
    return true;
  });
}

/** One WHEP session: every host's track on its slot's transceiver. */
async function listenOnce(j, signal) {
  fresh = false;
  streamUIDs = new Map();
  const s = await subscribe({ url: j.whep, token: j.token, signal, ontrack: onTrack });
  sessions++;
  try {
    await hold(s.pc, signal, () => {
      listenErr = null;
      listenState = next(listenState, { type: 'up' });
      render();
      poll();
    });
  } finally {
    s.pc.close();
    player.detachAll();
    leave(s.resource, j.token);
    fresh = false;
    renderHosts();
  }
}

/** A remote track arrived on transceiver slot: it plays from now on; the
 * answer's msid names the slot's host until the API is polled. A track
 * that goes quiet or resumes (a host left or came) polls the API at once. */
function onTrack(slot, track, streamId) {
  player.attach(slot, track);
  if (streamId.startsWith(HOST_STREAM_PREFIX)) {
    try {
      streamUIDs.set(slot, decodeURIComponent(streamId.slice(HOST_STREAM_PREFIX.length)));
    } catch {
      streamUIDs.set(slot, streamId.slice(HOST_STREAM_PREFIX.length));
    }
  }
  track.addEventListener('mute', poll);
  track.addEventListener('unmute', poll);
  renderHosts();
}

// ---- publishing ----

/** Opens the microphone and keeps a WHIP session up with it. */
async function startPublishing() {
  const j = joined;
  if (!j || j.pubRun) return;
  if (!window.isSecureContext) return fail(INSECURE);
  const why = precheck(j.token, j.channel, true);
  if (why) return fail(why);
  notice = '';
  const run = new AbortController();
  j.pubRun = run;
  publishState = next(publishState, { type: 'start' });
  render();
  try {
    await openMic();
  } catch (e) {
    if (j.pubRun === run) stopPublishing(micProblem(e));
    return;
  }
  if (run.signal.aborted) {
    closeMic();
    return;
  }
  keepUp(run.signal, (signal) => publishOnce(j, signal), (err) => {
    publishErr = err;
    publishState = next(publishState, { type: 'down', error: err });
    if (err.denied) {
      stopPublishing(refusal(err, j.token, j.channel, true));
      return false;
    }
    render();
    return true;
  });
}

/** One WHIP session of the open microphone. */
async function publishOnce(j, signal) {
  if (!mic) throw new Error('the microphone is closed');
  const s = await publish({ url: j.whip, token: j.token, track: mic.track, signal });
  j.whipSession = s;
  try {
    await hold(s.pc, signal, () => {
      publishErr = null;
      publishState = next(publishState, { type: 'up' });
      render();
    });
  } finally {
    if (j.whipSession === s) j.whipSession = null;
    s.pc.close();
    leave(s.resource, j.token);
  }
}

/** Stops publishing (the WHIP session is DELETEd, the microphone closed)
 * and stays joined; why, if given, is shown as the reason. */
function stopPublishing(why = '') {
  const j = joined;
  if (j?.pubRun) {
    j.pubRun.abort();
    j.pubRun = null;
  }
  closeMic();
  publishErr = null;
  publishState = next(publishState, { type: 'stop' });
  if (why) notice = why;
  render();
}

/** The capture constraints of the checkboxes. */
function constraints() {
  const audio = { channelCount: 1 };
  for (const k of PROCESSING) audio[k] = $(k).checked;
  return { audio, video: false };
}

/** Opens the microphone with the checkboxes' processing. */
async function openMic() {
  const stream = await navigator.mediaDevices.getUserMedia(constraints());
  const track = stream.getAudioTracks()[0];
  track.enabled = !muted;
  track.addEventListener('ended', () => {
    if (mic?.track === track) stopPublishing('The microphone stopped (unplugged, or taken by another app).');
  });
  mic = { stream, track, meter: player.meterOnly(stream) };
}

function closeMic() {
  if (!mic) return;
  mic.meter.close();
  mic.track.stop();
  mic = null;
}

/** Reopens the microphone with the new processing and swaps it into the
 * WHIP session without renegotiating. */
async function reopenMic() {
  if (!mic) return;
  const old = mic;
  try {
    await openMic();
  } catch (e) {
    stopPublishing(micProblem(e));
    return;
  }
  await joined?.whipSession?.sender.replaceTrack(mic.track).catch(() => {});
  old.meter.close();
  old.track.stop();
}

/** Mutes or unmutes: a muted track sends silence (track.enabled). */
function setMuted(m) {
  muted = m;
  if (mic) mic.track.enabled = !m;
  render();
}

/** Plain words for a getUserMedia failure. */
function micProblem(e) {
  switch (e?.name) {
    case 'NotAllowedError':
      return 'The browser did not allow the microphone. Allow it in the site settings and press Publish.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found. Connect one and press Publish.';
    case 'NotReadableError':
      return 'The microphone is in use by another app or cannot be opened.';
    default:
      return `The microphone could not be opened (${e?.message || e}).`;
  }
}

// ---- the channel's hosts ----

let pollTimer = null;
let polling = false;
let pollAgain = false;

/** Reads the channel's hosts from the API now, then every second while
 * joined (every three otherwise). */
async function poll() {
  if (polling) {
    pollAgain = true;
    return;
  }
  polling = true;
  clearTimeout(pollTimer);
  const channel = joined?.channel ?? pathChannel();
  const answered = listenState === 'connected';
  try {
    const info = await getJSON(new URL(`../api/channels/${encodeURIComponent(channel)}`, location.href).href, '', AbortSignal.timeout(3000));
    hosts = Array.isArray(info.hosts) ? info.hosts.map((h, i) => ({ uid: String(h.uid), slot: h.slot ?? i, level: h.level })) : [];
    audience = info.audience ?? 0;
  } catch (e) {
    if (e.status === 404) {
      hosts = [];
      audience = 0;
    }
  }
  if (answered && listenState === 'connected') fresh = true;
  polling = false;
  renderHosts();
  if (pollAgain) {
    pollAgain = false;
    poll();
    return;
  }
  pollTimer = setTimeout(poll, joined ? POLL_JOINED_MS : POLL_IDLE_MS);
}

/** The remote hosts the page plays: joined and listening, every host of
 * the channel but itself, by the API (by the answer's msid before the
 * first poll of the session). */
function heard() {
  if (!joined || listenState !== 'connected') return [];
  const list = fresh ? hosts : [...streamUIDs].map(([slot, uid]) => ({ uid, slot, level: null }));
  return list.filter((h) => h.uid !== joined.uid);
}

// ---- rendering ----

/** The status line: {kind, text}, kind one of idle, busy, ok, live, warn, error. */
function status() {
  if (typeof RTCPeerConnection === 'undefined') return { kind: 'error', text: 'This browser cannot do WebRTC audio.' };
  if (!joined) return notice ? { kind: 'error', text: notice } : { kind: 'idle', text: 'Not joined. Choose a role and press Join.' };
  const ch = `“${joined.channel}”`;
  if (listenState === 'connecting') return { kind: 'busy', text: `Joining ${ch}…` };
  if (listenState === 'reconnecting') return { kind: 'busy', text: `Connection lost (${plain(listenErr)}); reconnecting…` };
  if (role() === 'audience') {
    return notice ? { kind: 'warn', text: `${notice} Listening to ${ch}.` } : { kind: 'ok', text: `Listening to ${ch} as audience.` };
  }
  switch (publishState) {
    case 'connected':
      return muted
        ? { kind: 'warn', text: `On air in ${ch} as ${joined.uid}, microphone muted.` }
        : { kind: 'live', text: `On air in ${ch} as ${joined.uid}.` };
    case 'connecting':
      return { kind: 'busy', text: `Joined ${ch}; starting your microphone…` };
    case 'reconnecting':
      return { kind: 'busy', text: `Joined ${ch}; publishing again (${plain(publishErr)})…` };
    default:
      return notice
        ? { kind: 'warn', text: `${notice} You are still listening to ${ch}.` }
        : { kind: 'ok', text: `Joined ${ch} as ${joined.uid}, not publishing. Press Publish to go on air.` };
  }
}

/** Plain words for a session error that is retried. */
function plain(err) {
  if (!err) return 'no answer';
  if (err.status === 503) return 'the relay is busy or the channel is full';
  if (err.status) return `the relay answered ${err.status}`;
  if (err.name === 'TypeError') return 'cannot reach the relay';
  return String(err.message || err);
}

function role() {
  return $('role-audience').checked ? 'audience' : 'host';
}

function render() {
  const st = status();
  document.body.dataset.state = st.kind;
  $('status-text').textContent = st.text;
  const host = role() === 'host';
  const token = $('token').value.trim();
  const listenOnly = claims(token)?.role === 'audience';
  $('join').disabled = !!joined || typeof RTCPeerConnection === 'undefined';
  $('leave').disabled = !joined;
  $('channel').disabled = !!joined;
  $('token').disabled = !!joined;
  $('publish').disabled = !joined || !host || !!joined.pubRun || listenOnly || !window.isSecureContext;
  $('unpublish').disabled = !joined?.pubRun;
  $('mute').disabled = !mic;
  $('mute').textContent = muted ? 'Unmute' : 'Mute';
  $('mute').setAttribute('aria-pressed', String(muted));
  $('mic-card').hidden = !host;
  $('insecure').hidden = window.isSecureContext || !host;
  $('on-air').hidden = publishState !== 'connected';
  $('mic').querySelector('.uid').textContent = !mic ? 'Not publishing' : muted ? 'Muted' : `${joined?.uid ?? ''} (you)`;
  $('token-hint').textContent = describe(token);
}

function renderHosts() {
  const list = $('hosts');
  const rows = new Map([...list.children].map((li) => [li.dataset.uid, li]));
  const views = heard().sort((a, b) => a.uid.localeCompare(b.uid));
  for (const h of views) {
    let li = rows.get(h.uid);
    rows.delete(h.uid);
    if (!li) {
      li = meterRow('host');
      li.dataset.uid = h.uid;
      li.querySelector('.uid').textContent = h.uid;
      li.querySelector('.meter').setAttribute('aria-label', `level of ${h.uid}`);
    }
    li.dataset.slot = String(h.slot);
    li.dataset.relayDb = String(h.level?.rms_dbfs ?? '');
    list.append(li); // in order
  }
  for (const li of rows.values()) li.remove();
  $('no-hosts').hidden = views.length > 0;
  $('no-hosts').textContent = joined ? 'No other hosts on air.' : 'Join to hear the channel’s hosts.';
  const n = hosts.length;
  $('presence').textContent = `${n === 1 ? '1 host' : `${n} hosts`} on air · ${listeners(audience)}`;
  $('audience').textContent = views.length ? String(views.length) : '';
}

/** Animates the meters: each remote host from its track, the microphone. */
function drawMeters() {
  for (const li of $('hosts').children) {
    const local = player.level(Number(li.dataset.slot)).rms;
    showLevel(li, Number.isFinite(local) ? dbfs(local) : li.dataset.relayDb !== '' ? Number(li.dataset.relayDb) : -Infinity);
  }
  showLevel($('mic'), mic ? dbfs(mic.meter.level().rms) : -Infinity);
  requestAnimationFrame(drawMeters);
}

/** The view of remote host uid, or undefined. */
function view(uid) {
  return [...$('hosts').children].find((li) => li.dataset.uid === uid);
}

// ---- wiring ----

/** The read-only hook the end-to-end tests drive the page with. */
window.onairChannel = Object.freeze({
  get status() { return status(); },
  get listenState() { return listenState; },
  get publishState() { return publishState; },
  get joined() { return joined !== null; },
  get uid() { return joined?.uid ?? null; },
  get sessions() { return sessions; },
  get views() { return [...$('hosts').children].map((li) => ({ uid: li.dataset.uid, slot: Number(li.dataset.slot) })); },
  get micRms() { return mic ? mic.meter.level().rms : NaN; },
  dominantHz: (uid) => (view(uid) ? player.dominantHz(Number(view(uid).dataset.slot)) : NaN),
  rms: (uid) => (view(uid) ? player.level(Number(view(uid).dataset.slot)).rms : NaN),
  slotRms: (slot) => player.level(slot).rms,
});

const initialToken = pageToken();
$('channel').value = pathChannel();
$('token').value = initialToken;
if (claims(initialToken)?.role === 'audience' || !window.isSecureContext) $('role-audience').checked = true;
document.title = `${pathChannel()} · onair`;
$('title').textContent = pathChannel();
$('back').href = initialToken ? `../?token=${encodeURIComponent(initialToken)}` : '../';

$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  join();
});
$('leave').addEventListener('click', () => leaveChannel());
$('publish').addEventListener('click', () => startPublishing());
$('unpublish').addEventListener('click', () => stopPublishing());
$('mute').addEventListener('click', () => setMuted(!muted));
for (const k of PROCESSING) $(k).addEventListener('change', reopenMic);
for (const r of ['role-host', 'role-audience']) {
  $(r).addEventListener('change', () => {
    notice = '';
    if (joined && role() === 'host') startPublishing();
    else if (joined) stopPublishing();
    render();
  });
}
$('channel').addEventListener('input', () => {
  $('title').textContent = $('channel').value.trim() || '\u00a0';
  notice = '';
  render();
});
$('token').addEventListener('input', () => {
  if (claims($('token').value.trim())?.role === 'audience') $('role-audience').checked = true;
  notice = '';
  render();
});
$('volume').addEventListener('input', (e) => player.setVolume(Number(e.target.value)));
player.onstatechange = render;
addEventListener('pagehide', () => leaveChannel());

render();
renderHosts();
poll();
requestAnimationFrame(drawMeters);
