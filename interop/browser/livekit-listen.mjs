// Headless Chromium as an independent LiveKit subscriber for onair's interop
// tests (interop/livekit_test.go).
//
//   node livekit-listen.mjs --ws ws://127.0.0.1:7880 --token JWT --publisher UID --result FILE [--seconds 5]
//
// Serves a blank page and livekit-client's UMD build on 127.0.0.1, opens it
// in Debian's Chromium (playwright-core; no downloaded browser), joins the
// room of the token, waits for an audio track of participant UID and plays
// it into WebAudio. Once the analysis has filled up it samples the track's
// dominant frequency (32768-point FFT, parabolic interpolation, as
// web/assets/audio.js does) and RMS once a second for --seconds seconds,
// then writes one JSON object to FILE and exits:
//
//   {"ok":true,"identity":"host","participants":["host"],"hz":[440.1,…],"rms":[0.17,…]}
//   {"ok":false,"error":"…"}
//
// The page's console goes to stderr.


import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection',
];

const here = dirname(fileURLToPath(import.meta.url));
const umd = readFileSync(join(here, 'node_modules/livekit-client/dist/livekit-client.umd.js'));
const page = '<!doctype html><meta charset="utf-8"><title>livekit listener</title><script src="/livekit-client.umd.js"></script>';

function parseArgs(argv) {
  const opts = { ws: '', token: '', publisher: '', result: '', seconds: 5, executable: '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
    const v = argv[++i];
    if (a === '--ws') opts.ws = v;
    else if (a === '--token') opts.token = v;
    else if (a === '--publisher') opts.publisher = v;
    else if (a === '--result') opts.result = v;
    else if (a === '--seconds') opts.seconds = Number(v);
    else if (a === '--executable') opts.executable = v;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!opts.ws || !opts.token || !opts.publisher || !opts.result) {
    throw new Error('usage: node livekit-listen.mjs --ws URL --token JWT --publisher UID --result FILE [--seconds N]');
  }
  return opts;
}

// listen runs in the page: it joins the room, plays the publisher's audio
// track into WebAudio and samples it.
async function listen({ ws, token, publisher, seconds }) {
  const FFT_SIZE = 32768;
  const { Room, RoomEvent, Track } = window.LivekitClient;
  const room = new Room();
  const track = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no audio track of ${publisher} within 30 s`)), 30000);
    room.on(RoomEvent.TrackSubscribed, (t, _pub, participant) => {
      console.log(`subscribed to ${t.kind} of ${participant.identity}`);
      if (t.kind === Track.Kind.Audio && participant.identity === publisher) {
        clearTimeout(timer);
        resolve(t);
      }
    });
  });
  await room.connect(ws, token, { autoSubscribe: true });
  try {
    const t = await track;
    const stream = new MediaStream([t.mediaStreamTrack]);
    // Chrome feeds a remote stream to WebAudio only while an element plays it.
    const el = document.createElement('audio');
    el.muted = true;
    el.autoplay = true;
    el.srcObject = stream;
    document.body.append(el);
    el.play().catch(() => {});
    const ctx = new AudioContext();
    await ctx.resume();
    const source = ctx.createMediaStreamSource(stream);
    const fft = ctx.createAnalyser();
    fft.fftSize = FFT_SIZE;
    fft.smoothingTimeConstant = 0;
    source.connect(fft);
    const spec = new Float32Array(fft.frequencyBinCount);
    const wave = new Float32Array(FFT_SIZE);
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const dominant = () => {
      fft.getFloatFrequencyData(spec);
      let k = 1;
      for (let i = 2; i < spec.length - 1; i++) if (spec[i] > spec[k]) k = i;
      if (!(spec[k] > -100)) return NaN;
      const [a, b, c] = [spec[k - 1], spec[k], spec[k + 1]];
      const den = a - 2 * b + c;
      const delta = den !== 0 && Number.isFinite(den) ? (0.5 * (a - c)) / den : 0;
      return ((k + delta) * ctx.sampleRate) / FFT_SIZE;
    };
    const rms = () => {
      fft.getFloatTimeDomainData(wave);
      let sum = 0;
      for (const x of wave) sum += x * x;
      return Math.sqrt(sum / wave.length);
    };
    await sleep(1000 + (1000 * FFT_SIZE) / ctx.sampleRate); // fill the analysis with sound
    const hz = [];
    const levels = [];
    for (let i = 0; i < seconds; i++) {
      hz.push(dominant());
      levels.push(rms());
      await sleep(1000);
    }
    const participants = [...room.remoteParticipants.values()].map((p) => p.identity);
    return { identity: publisher, participants, hz, rms: levels };
  } finally {
    await room.disconnect();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const server = createServer((req, res) => {
    if (req.url === '/livekit-client.umd.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(umd);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(page);
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const profile = mkdtempSync(join(tmpdir(), 'onair-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: opts.executable,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    // Loopback candidates only for an origin holding a media permission.
    await context.grantPermissions(['microphone'], { origin });
    const p = context.pages()[0] ?? (await context.newPage());
    p.on('console', (m) => process.stderr.write(`page ${m.type()}: ${m.text()}\n`));
    p.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
    await p.goto(origin + '/', { waitUntil: 'load', timeout: 15000 });
    const result = await p.evaluate(listen, {
      ws: opts.ws, token: opts.token, publisher: opts.publisher, seconds: opts.seconds,
    });
    writeFileSync(opts.result, JSON.stringify({ ok: true, ...result }) + '\n');
  } catch (e) {
    writeFileSync(opts.result, JSON.stringify({ ok: false, error: String(e.message || e) }) + '\n');
    process.exitCode = 1;
  } finally {
    await context?.close().catch(() => {});
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main();
