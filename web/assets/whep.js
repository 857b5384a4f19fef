// A WHEP subscription (draft-ietf-wish-whep): one RTCPeerConnection with
// SLOTS receive-only audio transceivers, the offer POSTed once ICE gathering
// is complete (no trickle), the session resource DELETEd on leave.

import { authHeaders, httpError } from './api.js';

/** Transceivers offered; the relay sends its host number i on the i-th. */
export const SLOTS = 8;

/** How long to wait for ICE gathering before POSTing what there is. */
const GATHER_TIMEOUT_MS = 1500;

/** How long the POST may take. */
const POST_TIMEOUT_MS = 10000;

/**
 * Subscribes to the WHEP endpoint url. ontrack(slot, track) is called for
 * every remote track with the transceiver index it arrived on. Resolves to
 * {pc, resource} once the answer is applied; the caller closes pc and
 * leaves the resource. Rejects with an HTTPError for a non-201 answer.
 */
export async function subscribe({ url, token, ontrack, signal }) {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  let resource = null;
  try {
    for (let i = 0; i < SLOTS; i++) pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (ev) => ontrack(pc.getTransceivers().indexOf(ev.transceiver), ev.track);
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
    if (loc) resource = new URL(loc, res.url).href;
    const sdp = await res.text();
    await pc.setRemoteDescription({ type: 'answer', sdp });
    return { pc, resource };
  } catch (err) {
    pc.close();
    leave(resource, token);
    throw err;
  }
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
