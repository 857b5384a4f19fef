// Headless Chromium as a real listener for onair's end-to-end tests.
//
//   node listen.mjs URL [--profile DIR] [--width W --height H]
//
// Opens URL in Debian's Chromium (through playwright-core; no downloaded
// browser) and then answers commands, one JSON object a line on stdin, with
// one JSON object a line on stdout:
//
//   {"id":1,"op":"eval","expr":"onairListen.stats()"}      -> {"id":1,"ok":true,"value":…}
//   {"id":2,"op":"wait","expr":"onairListen.state === 'connected'","timeout_ms":15000}
//                                                          -> {"id":2,"ok":true,"value":…} once truthy
//   {"id":3,"op":"goto","url":"http://…"}                  -> {"id":3,"ok":true,"value":"http://…"}
//   {"id":4,"op":"click","selector":"#listen"}              (a real user gesture)
//   {"id":5,"op":"screenshot","path":"/tmp/x.png","width":390,"height":844,"color_scheme":"dark"}
//
// The first line printed is {"ready":true,"url":…} (or {"ready":false,"error":…}).
// Expressions are evaluated in the page and may return promises. The browser
// is closed when stdin ends or on SIGTERM/SIGINT; the page's console goes to
// stderr.

import { main, parseArgs } from './driver.mjs';

main(parseArgs(process.argv.slice(2), 'node listen.mjs URL [--profile DIR] [--width W --height H]'));
