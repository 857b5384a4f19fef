// The listen page's states and the pure function that moves between them.
// States: idle, connecting, connected, reconnecting, denied, unsupported.

/**
 * The listener's next state after event ev:
 * idle --start--> connecting --up--> connected --down--> reconnecting --up--> connected;
 * a 401/403 leads to denied (no retry until the user asks); stop leads to idle.
 */
export function next(current, ev) {
  switch (ev.type) {
    case 'start':
      return current === 'idle' || current === 'denied' ? 'connecting' : current;
    case 'stop':
      return 'idle';
    case 'up':
      return current === 'connecting' || current === 'reconnecting' ? 'connected' : current;
    case 'down':
      if (current === 'idle') return current;
      return ev.error && ev.error.denied ? 'denied' : 'reconnecting';
    default:
      return current;
  }
}
