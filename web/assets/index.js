// The channel list: the relay's channels, refreshed every few seconds, each
// a link to its listen page and one to its channel page (join as host or
// audience); and a form that opens the channel page of any name.

import { getJSON, listeners, pageToken } from './api.js';

const REFRESH_MS = 3000;
const $ = (id) => document.getElementById(id);
const token = pageToken();
const tokenQuery = token ? `?token=${encodeURIComponent(token)}` : '';

async function refresh() {
  try {
    const { channels = [] } = await getJSON('api/channels', token, AbortSignal.timeout(REFRESH_MS * 2));
    render(channels);
    $('status').hidden = true;
  } catch (e) {
    $('status').textContent = `Cannot reach the relay (${e.message}); retrying…`;
    $('status').hidden = false;
  }
  setTimeout(refresh, REFRESH_MS);
}

function render(channels) {
  const list = $('channels');
  const items = channels
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.className = 'channel';
      a.href = `listen/${encodeURIComponent(c.name)}${tokenQuery}`;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = c.name;
      const meta = document.createElement('span');
      meta.className = 'meta';
      const n = Array.isArray(c.hosts) ? c.hosts.length : 0;
      meta.textContent = `${n === 1 ? '1 host' : `${n} hosts`} · ${listeners(c.audience)}`;
      a.append(name, meta);
      const join = document.createElement('a');
      join.className = 'join';
      join.href = `channel/${encodeURIComponent(c.name)}${tokenQuery}`;
      join.textContent = 'Join';
      join.setAttribute('aria-label', `Join ${c.name}`);
      li.append(a, join);
      return li;
    });
  list.replaceChildren(...items);
  $('empty').hidden = items.length > 0;
}

$('open').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('open-name').value.trim();
  if (name) location.href = `channel/${encodeURIComponent(name)}${tokenQuery}`;
});

refresh();
