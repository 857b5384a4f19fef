// The relay's HTTP API as the pages use it: JSON reads and error bodies.

/** An HTTP answer that was not the one expected. */
export class HTTPError extends Error {
  constructor(op, status, code, message, retryAfterMs) {
    super(`${op}: ${status}${code ? ' ' + code : ''}: ${message}`);
    this.name = 'HTTPError';
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  /** True for 401 and 403: retrying with the same token will not help. */
  get denied() {
    return this.status === 401 || this.status === 403;
  }
}

/** Authorization headers for a Bearer token, none without one. */
export function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Builds an HTTPError from a response with a JSON error body
 * ({"error":{"code","message"}}) or any other body. */
export async function httpError(op, res) {
  let code = '';
  let message = res.statusText || 'request failed';
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || '';
      message = body.error.message || message;
    }
  } catch {
    // not JSON: keep the status text
  }
  return new HTTPError(op, res.status, code, message, retryAfterMs(res));
}

/** Retry-After in milliseconds (seconds or an HTTP date), or undefined. */
function retryAfterMs(res) {
  const v = res.headers.get('Retry-After');
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

/** GETs a JSON document relative to the page. */
export async function getJSON(url, token, signal) {
  const res = await fetch(url, {
    headers: { Accept: 'application/json', ...authHeaders(token) },
    cache: 'no-store',
    signal,
  });
  if (!res.ok) throw await httpError(`GET ${url}`, res);
  return res.json();
}

/** The page's ?token= parameter, or ''. */
export function pageToken() {
  return new URLSearchParams(location.search).get('token') || '';
}

/** The channel named by the page path's last segment, decoded. */
export function pathChannel() {
  const seg = location.pathname.split('/').pop();
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** Formats an audience count for people. */
export function listeners(n) {
  n = Number(n) || 0;
  return n === 1 ? '1 listening' : `${n} listening`;
}
