#!/usr/bin/env node
// End-to-end check of HLS playback and timed metadata with the real npm amazon-ivs-player in
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core).
//
//   node tests/browser/check.mjs <hlsUrl> [--expect-cue <text>] [--expect-ended] [--timeout-ms N]
//        [--serve-dir DIR] [--live-window N] [--wait-playlist-ms N] [--after-playing CMD]
//        [--chromium PATH] [--screenshot FILE]
//
// The page, the player's JS and its wasm worker are served from local files by a static HTTP
// server on 127.0.0.1 started here; nothing is fetched from anywhere else. With --serve-dir, DIR
// is served under /media/ on the same server and a <hlsUrl> starting with "/" is resolved against
// it (e.g. /media/index.m3u8). With --live-window N as well, every *.m3u8 under /media/ that ends
// in #EXT-X-ENDLIST is served as a live sliding window of N segments advancing in real time (no
// ENDLIST until its last segment is due, growing media sequence), so a finished VOD rendition can
// stand in for a live stream. With --wait-playlist-ms N, the runner first polls <hlsUrl> (loopback
// only) until it answers 200 with at least one #EXTINF, for up to N ms: the player itself gives up
// at once on a 404 playlist (ErrorNotAvailable), as it does on an offline IVS channel. With
// --after-playing CMD, CMD runs through `sh -c` once the player is PLAYING (e.g. the PutMetadata
// call whose payload --expect-cue then waits for: a viewer only sees metadata in segments it
// downloads after joining); its exit code and output are in the JSON, and a non-zero exit fails.
//
// Prints one JSON line (states, time to PLAYING, cues, errors, ...) and exits 0 only when the
// player reached PLAYING and, with --expect-cue, a TEXT_METADATA_CUE whose text equals <text>
// arrived and, with --expect-ended, the player then reached ENDED (stream end: #EXT-X-ENDLIST), all
// within the timeout. Exit 1 otherwise (the JSON says why), 2 on bad usage.

import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const IVS_ASSETS = join(HERE, 'node_modules', 'amazon-ivs-player', 'dist', 'assets');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.aac': 'audio/aac',
  '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment',
  '.png': 'image/png',
};

function usage(msg) {
  if (msg) process.stderr.write(`check.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node tests/browser/check.mjs <hlsUrl> [--expect-cue <text>] [--expect-ended] [--timeout-ms N]\n' +
      '         [--serve-dir DIR] [--live-window N] [--wait-playlist-ms N] [--after-playing CMD]\n' +
      '         [--chromium PATH] [--screenshot FILE]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    url: null,
    expectCue: null,
    expectEnded: false,
    timeoutMs: 30000,
    serveDir: null,
    liveWindow: 0,
    waitPlaylistMs: 0,
    afterPlaying: null,
    chromium: process.env.CHROMIUM || '/usr/bin/chromium',
    screenshot: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--expect-cue') opts.expectCue = next();
    else if (a === '--expect-ended') opts.expectEnded = true;
    else if (a === '--timeout-ms') opts.timeoutMs = Number(next());
    else if (a === '--serve-dir') opts.serveDir = resolve(next());
    else if (a === '--live-window') opts.liveWindow = Number(next());
    else if (a === '--wait-playlist-ms') opts.waitPlaylistMs = Number(next());
    else if (a === '--after-playing') opts.afterPlaying = next();
    else if (a === '--chromium') opts.chromium = next();
    else if (a === '--screenshot') opts.screenshot = resolve(next());
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (opts.url === null) opts.url = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!opts.url) usage('missing <hlsUrl>');
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) usage('--timeout-ms must be > 0');
  if (!Number.isInteger(opts.liveWindow) || opts.liveWindow < 0) usage('--live-window must be >= 0');
  if (!Number.isFinite(opts.waitPlaylistMs) || opts.waitPlaylistMs < 0) usage('--wait-playlist-ms must be >= 0');
  if (opts.liveWindow > 0 && !opts.serveDir) usage('--live-window needs --serve-dir');
  if (opts.url.startsWith('/') && !opts.serveDir) usage('a relative <hlsUrl> needs --serve-dir');
  return opts;
}

// Bundles amazon-ivs-player (a CommonJS build with bare requires of bowser, events, lodash and
// @babel/runtime) into one browser script exposing window.IVSPlayer.
async function bundlePlayer() {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    stdin: {
      contents: "import * as P from 'amazon-ivs-player'; window.IVSPlayer = P;",
      resolveDir: HERE,
      loader: 'js',
    },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    logLevel: 'silent',
  });
  return Buffer.from(out.outputFiles[0].contents);
}

// A finished (ENDLIST) media playlist → a live window of `size` segments that advances with
// wall-clock time since `startedAt` (the first window is there at once); when the last segment's
// end has passed, #EXT-X-ENDLIST comes back, as when a live stream ends. No looping.
function liveWindow(text, size, startedAt) {
  const lines = text.split(/\r?\n/);
  const header = [];
  const segments = [];
  let pending = [];
  let baseSeq = 0;
  for (const line of lines) {
    if (line === '' || line === '#EXT-X-ENDLIST' || line.startsWith('#EXT-X-PLAYLIST-TYPE')) continue;
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) {
      baseSeq = Number(line.split(':')[1]) || 0;
      continue;
    }
    if (segments.length === 0 && pending.length === 0 && !line.startsWith('#EXTINF') && line.startsWith('#')) {
      header.push(line);
      continue;
    }
    pending.push(line);
    if (!line.startsWith('#')) {
      const inf = pending.find((l) => l.startsWith('#EXTINF:'));
      const duration = inf ? parseFloat(inf.slice('#EXTINF:'.length)) : 2;
      segments.push({ lines: pending, duration });
      pending = [];
    }
  }
  const elapsed = (Date.now() - startedAt) / 1000;
  // Segment i is "published" once its end time has passed; the first window is there at once.
  let published = 0;
  let t = 0;
  while (published < segments.length && t + segments[published].duration <= elapsed) {
    t += segments[published].duration;
    published++;
  }
  const last = Math.min(segments.length, Math.max(size, published));
  const first = Math.max(0, last - size);
  const out = [...header, `#EXT-X-MEDIA-SEQUENCE:${baseSeq + first}`];
  for (const s of segments.slice(first, last)) out.push(...s.lines);
  // Once the last segment's end time has passed, the stream "ends" as a live one does.
  if (published === segments.length) out.push('#EXT-X-ENDLIST');
  return out.join('\n') + '\n';
}

function isLoopback(u) {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return (
    u.protocol === 'data:' ||
    u.protocol === 'blob:' ||
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}

function runCommand(cmd, timeoutMs) {
  return new Promise((done) => {
    execFile('sh', ['-c', cmd], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : err.killed ? 'timeout' : String(err.code)) : 0;
      done({ cmd, code, stdout: String(stdout).slice(0, 2000), stderr: String(stderr).slice(0, 2000) });
    });
  });
}

// Polls a loopback playlist until it lists a segment; returns null when ready, else why not.
async function waitForPlaylist(url, ms) {
  if (!isLoopback(new URL(url))) return `--wait-playlist-ms only polls loopback URLs, not ${url}`;
  const deadline = Date.now() + ms;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const text = await res.text();
      if (res.ok && text.includes('#EXTINF')) return null;
      last = `HTTP ${res.status}${res.ok ? ' without #EXTINF' : ''}`;
    } catch (e) {
      last = String(e && e.cause ? e.cause.code || e.cause.message : e && e.message);
    }
    if (Date.now() >= deadline) return `playlist not ready after ${ms} ms (${last})`;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function startServer(opts, playerJs) {
  const startedAt = Date.now();
  const roots = [
    { prefix: '/ivs/', dir: IVS_ASSETS },
    ...(opts.serveDir ? [{ prefix: '/media/', dir: opts.serveDir }] : []),
  ];
  const pageFiles = { '/': 'index.html', '/index.html': 'index.html', '/page.js': 'page.js' };

  const server = createServer(async (req, res) => {
    const send = (code, body, type) => {
      res.writeHead(code, {
        'Content-Type': type || 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
        'Access-Control-Allow-Origin': '*',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
      const path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
      if (path === '/player.js') return send(200, playerJs, MIME['.js']);
      if (path === '/favicon.ico') return send(204, '');
      if (pageFiles[path]) {
        const f = pageFiles[path];
        return send(200, await readFile(join(HERE, f)), MIME[extname(f)]);
      }
      for (const { prefix, dir } of roots) {
        if (!path.startsWith(prefix)) continue;
        const file = normalize(join(dir, path.slice(prefix.length)));
        if (file !== dir && !file.startsWith(dir + sep)) return send(403, 'forbidden');
        const st = await stat(file).catch(() => null);
        if (!st || !st.isFile()) return send(404, 'not found');
        const type = MIME[extname(file)] || 'application/octet-stream';
        let body = await readFile(file);
        if (prefix === '/media/' && opts.liveWindow > 0 && extname(file) === '.m3u8') {
          const text = body.toString('utf8');
          if (text.includes('#EXT-X-ENDLIST') && text.includes('#EXTINF')) {
            body = Buffer.from(liveWindow(text, opts.liveWindow, startedAt));
          }
        }
        return send(200, body, type);
      }
      return send(404, 'not found');
    } catch (e) {
      return send(500, String(e && e.message));
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  return server;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const result = {
    ok: false,
    url: null,
    expectCue: opts.expectCue,
    expectEnded: opts.expectEnded,
    timeoutMs: opts.timeoutMs,
    chromium: opts.chromium,
    browserVersion: null,
    playerVersion: null,
    supported: null,
    mse: null,
    timeToPlayingMs: null,
    states: [],
    cues: [],
    textCues: [],
    id3: [],
    errors: [],
    console: [],
    failedRequests: [],
    blockedRequests: [],
    afterPlaying: null,
    reason: null,
  };

  const st = await stat(opts.chromium).catch(() => null);
  if (!st) {
    result.reason = `no Chromium at ${opts.chromium} (run scripts/browser-check.sh, which installs it)`;
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(1);
  }

  const { chromium } = await import('playwright-core');
  const playerJs = await bundlePlayer();
  const server = await startServer(opts, playerJs);
  const origin = `http://127.0.0.1:${server.address().port}`;
  result.url = opts.url.startsWith('/') ? origin + opts.url : opts.url;

  if (opts.waitPlaylistMs > 0) {
    const why = await waitForPlaylist(result.url, opts.waitPlaylistMs);
    if (why) {
      server.close();
      result.reason = why;
      process.stdout.write(JSON.stringify(result) + '\n');
      process.exit(1);
    }
  }

  const userDataDir = await mkdtemp(join(tmpdir(), 'ivs-check-profile-'));
  let context = null;
  let timer = null;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: opts.chromium,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-proxy-server',
        '--autoplay-policy=no-user-gesture-required',
        // Only loopback resolves: the player's own calls home (PoP discovery, stats) fail fast
        // inside the browser instead of leaving the machine.
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
      ],
      viewport: { width: 480, height: 320 },
      timeout: 60000, // browser start-up, outside --timeout-ms
    });
    result.browserVersion = context.browser() ? context.browser().version() : null;
    // Belt and braces with the resolver rule: any request not to loopback is aborted and listed.
    await context.route(
      (u) => !isLoopback(u),
      (route) => {
        if (result.blockedRequests.length < 50) result.blockedRequests.push(route.request().url());
        return route.abort('blockedbyclient');
      },
    );
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') {
        if (result.console.length < 50) result.console.push(`${m.type()}: ${m.text()}`);
      }
    });
    page.on('pageerror', (e) => result.errors.push({ source: 'page', message: String(e && e.message) }));
    page.on('requestfailed', (r) => {
      if (result.failedRequests.length < 50) {
        result.failedRequests.push(`${r.method()} ${r.url()}: ${r.failure() && r.failure().errorText}`);
      }
    });

    const deadline = Date.now() + opts.timeoutMs;
    const timeout = new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
    });
    const run = (async () => {
      await page.goto(origin + '/', { waitUntil: 'load', timeout: opts.timeoutMs });
      await page.evaluate((o) => window.startCheck(o), {
        url: result.url,
        expectCue: opts.expectCue,
        expectEnded: opts.expectEnded,
        wasmWorker: origin + '/ivs/amazon-ivs-wasmworker.min.js',
        wasmBinary: origin + '/ivs/amazon-ivs-wasmworker.min.wasm',
      });
      if (opts.afterPlaying !== null) {
        await page.waitForFunction(() => window.__check && (window.__check.done || window.__check.timeToPlayingMs !== null), null, {
          timeout: Math.max(1, deadline - Date.now()),
          polling: 100,
        });
        const playing = await page.evaluate(() => window.__check.timeToPlayingMs !== null);
        if (playing) {
          result.afterPlaying = await runCommand(opts.afterPlaying, Math.max(1, deadline - Date.now()));
          if (result.afterPlaying.code !== 0) {
            throw new Error(`--after-playing command failed (exit ${result.afterPlaying.code})`);
          }
        }
      }
      await page.waitForFunction(() => window.__check && window.__check.done, null, {
        timeout: Math.max(1, deadline - Date.now()),
        polling: 100,
      });
    })();
    let failure = null;
    await Promise.race([run, timeout]).catch((e) => {
      failure = e;
    });
    run.catch(() => {});
    const rec = await page.evaluate(() => window.__check || null).catch(() => null);
    if (rec) {
      for (const k of ['playerVersion', 'supported', 'mse', 'timeToPlayingMs', 'states', 'cues', 'textCues', 'id3']) {
        result[k] = rec[k];
      }
      result.errors = [...rec.errors, ...result.errors];
      result.ok = rec.done && rec.ok;
      result.reason = rec.reason;
    }
    if (result.afterPlaying && result.afterPlaying.code !== 0) {
      result.ok = false;
      result.reason = `--after-playing command failed (exit ${result.afterPlaying.code})`;
    } else if (!result.ok && failure) {
      const what = [];
      if (result.timeToPlayingMs === null) what.push('PLAYING not reached');
      if (opts.expectCue !== null && !result.cues.some((c) => c.text === opts.expectCue)) {
        what.push('expected TEXT_METADATA_CUE not received');
      }
      if (opts.expectEnded && !result.states.some((s) => s.state === 'Ended')) what.push('ENDED not reached');
      result.reason = `${failure.message.split('\n')[0]}${what.length ? ': ' + what.join(', ') : ''}`;
    }
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot }).catch(() => {});
  } catch (e) {
    result.reason = `harness error: ${e && e.message ? e.message.split('\n')[0] : String(e)}`;
  } finally {
    clearTimeout(timer);
    if (context) await context.close().catch(() => {});
    server.close();
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(result.ok ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`check.mjs: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
