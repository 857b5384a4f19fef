// A WHIP publication (RFC 9725): one RTCPeerConnection sending one audio
// track, the session resource DELETEd on unpublish.

import { offerAnswer } from './rtc.js';

/**
 * Publishes track to the WHIP endpoint url. Resolves to {pc, sender,
 * resource} once the answer is applied; the caller closes pc and leaves
 * the resource. sender.replaceTrack swaps the microphone without a new
 * session. Rejects with an HTTPError for a non-201 answer.
 */
export async function publish({ url, token, track, signal }) {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  try {
    const { sender } = pc.addTransceiver(track, { direction: 'sendonly' });
    const resource = await offerAnswer(pc, url, token, signal);
    return { pc, sender, resource };
  } catch (err) {
    pc.close();
    throw err;
  }
}
