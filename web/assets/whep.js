// A WHEP subscription (draft-ietf-wish-whep): one RTCPeerConnection with
// SLOTS receive-only audio transceivers, the session resource DELETEd on
// leave.

import { leave, offerAnswer } from './rtc.js';

export { leave };

/** Transceivers offered; the relay sends its host number i on the i-th. */
export const SLOTS = 8;

/**
 * Subscribes to the WHEP endpoint url. ontrack(slot, track, streamId) is
 * called for every remote track with the transceiver index it arrived on
 * and the media stream id of its msid (the relay names the host in it),
 * '' without one. Resolves to {pc, resource} once the answer is applied;
 * the caller closes pc and leaves the resource. Rejects with an HTTPError
 * for a non-201 answer.
 */
export async function subscribe({ url, token, ontrack, signal }) {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  try {
    for (let i = 0; i < SLOTS; i++) pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (ev) => ontrack(pc.getTransceivers().indexOf(ev.transceiver), ev.track, ev.streams[0]?.id ?? '');
    const resource = await offerAnswer(pc, url, token, signal);
    return { pc, resource };
  } catch (err) {
    pc.close();
    throw err;
  }
}
