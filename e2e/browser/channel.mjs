// Headless Chromium with a fake microphone, for the channel page tests.
//
//   node channel.mjs URL [--mic FILE.wav] [--alias NAME] [--profile DIR] [--width W --height H]
//
// Like listen.mjs (same commands on stdin, same answers on stdout), but
// Chromium's microphone plays FILE.wav in a loop (its fake capture device;
// the page is granted the microphone without a prompt). The file is one
// per browser process: a test with two microphones launches two. With
// --alias, the host name NAME resolves to 127.0.0.1: a page loaded from it
// over plain HTTP is not a secure context, as on a real network.

import { main, parseArgs } from './driver.mjs';

const usage = 'node channel.mjs URL [--mic FILE.wav] [--alias NAME] [--profile DIR] [--width W --height H]';
const opts = parseArgs(process.argv.slice(2), usage, { '--mic': 'mic', '--alias': 'alias' });
opts.args = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
if (opts.mic) opts.args.push(`--use-file-for-fake-audio-capture=${opts.mic}`);
if (opts.alias) opts.args.push(`--host-resolver-rules=MAP ${opts.alias} 127.0.0.1`);
main(opts);
