// What a page can tell from a relay token without verifying it (only the
// relay can): its claims, for the form's hints, and plain words for why
// the relay refused a request.

/** The token's claims {channel, uid, role, exp} as its payload says, or
 * null when it is not a JWT with a JSON payload. Never trusted: the relay
 * verifies the signature. */
export function claims(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    const c = JSON.parse(json);
    if (!c || typeof c !== 'object') return null;
    return {
      channel: typeof c.channel === 'string' ? c.channel : '',
      uid: c.uid === undefined || c.uid === null ? '' : String(c.uid),
      role: c.role === 'host' || c.role === 'audience' ? c.role : '',
      exp: Number.isFinite(c.exp) ? c.exp * 1000 : NaN,
    };
  } catch {
    return null;
  }
}

/** The plain-words reason an audience token cannot publish. */
export const LISTEN_ONLY = 'This token lets you listen only; ask for a host token.';

/**
 * Plain words for a request the relay refused with 401 or 403 (err is an
 * HTTPError), for channel, with the page's token; wantHost for a WHIP
 * request. The relay's message says which rule failed; the token's claims
 * fill in the details.
 */
export function refusal(err, token, channel, wantHost) {
  const c = token ? claims(token) : null;
  const msg = String(err.message || '');
  if (!token) return 'This channel needs a token. Paste the token you were given.';
  if (msg.includes('expired')) {
    return c && Number.isFinite(c.exp)
      ? `This token expired ${when(c.exp)}. Ask for a new one.`
      : 'This token has expired. Ask for a new one.';
  }
  if (msg.includes('another channel')) {
    return c && c.channel
      ? `This token is for the channel “${c.channel}”, not “${channel}”.`
      : `This token is not for the channel “${channel}”.`;
  }
  if (msg.includes('host token') || (wantHost && err.status === 403 && c?.role === 'audience')) return LISTEN_ONLY;
  if (msg.includes('signature')) {
    return 'The relay did not accept this token: it was signed for another relay, or it was changed. Ask for a new one.';
  }
  if (!c) return 'This is not a valid token. Check that you copied all of it.';
  return 'The relay did not accept this token. Ask for a new one.';
}

/** A problem with the token the page can see before asking the relay:
 * plain words, or '' when there is none. */
export function precheck(token, channel, wantHost) {
  if (!token) return '';
  const c = claims(token);
  if (!c) return 'This is not a valid token. Check that you copied all of it.';
  if (c.channel && c.channel !== channel) return `This token is for the channel “${c.channel}”, not “${channel}”.`;
  if (wantHost && c.role === 'audience') return LISTEN_ONLY;
  return '';
}

/** "at 14:05" today, "on 3 May, 14:05" otherwise. */
function when(ms) {
  const d = new Date(ms);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === new Date().toDateString()) return `at ${time}`;
  return `on ${d.toLocaleDateString([], { day: 'numeric', month: 'short' })}, ${time}`;
}

/** A short description of the token for the form: "alice · host · valid
 * until 14:05", or why it cannot be read. */
export function describe(token) {
  if (!token) return '';
  const c = claims(token);
  if (!c) return 'Not a token this page can read.';
  const parts = [c.uid ? `uid ${c.uid}` : 'no uid', c.role ? `${c.role} token` : 'no role'];
  if (Number.isFinite(c.exp)) parts.push(c.exp < Date.now() ? `expired ${when(c.exp)}` : `valid until ${when(c.exp).replace(/^at /, '')}`);
  return parts.join(' · ');
}
