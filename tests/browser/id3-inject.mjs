#!/usr/bin/env node
// Test tool: adds an ID3 timed-metadata stream to the MPEG-TS segments of an HLS rendition, the
// way Apple's "Timed Metadata for HTTP Live Streaming" lays it out (and IVS carries PutMetadata):
// a PMT entry with stream_type 0x15 (metadata in PES), a metadata_pointer_descriptor (0x25) in
// program_info and a metadata_descriptor (0x26) on the stream, and one PES packet (stream_id 0xBD,
// data_alignment_indicator=1, PTS) per chosen segment whose payload is a whole ID3v2 tag.
//
//   node tests/browser/id3-inject.mjs <dir> --text <payload> [--frame TXXX|PRIV|TIT2]
//        [--desc <TXXX description>] [--owner <PRIV owner>] [--id3-version 3|4] [--encoding 0|1|3]
//        [--segments all|N,M,...] [--offset-s S] [--after-video-pes K] [--no-descriptors] [--pid N]
//
// Rewrites every *.ts in <dir> in place (all get the PMT entry; the chosen ones, by index in name
// order, get the tag right after the start of their K-th video PES (default 1), with that PES's
// PTS + S seconds as its PTS). It exists to learn what the IVS
// player turns into TEXT_METADATA_CUE and to self-test check.mjs; the emulator writes its own.

import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const TS = 188;

function usage(msg) {
  if (msg) process.stderr.write(`id3-inject.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node tests/browser/id3-inject.mjs <dir> --text <payload> [--frame TXXX|PRIV|TIT2]\n' +
      '         [--desc D] [--owner O] [--id3-version 3|4] [--encoding 0|1|3] [--segments all|N,M]\n' +
      '         [--offset-s S]\n' +
      '         [--after-video-pes K] [--no-descriptors] [--pid N]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    dir: null,
    text: null,
    frame: 'TXXX',
    desc: '',
    owner: 'metadata.live-video.net',
    id3Version: 4,
    segments: 'all',
    offsetS: 0.5,
    descriptors: true,
    pid: 0x102,
    afterPes: 1,
    encoding: 3,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--text') o.text = next();
    else if (a === '--frame') o.frame = next().toUpperCase();
    else if (a === '--desc') o.desc = next();
    else if (a === '--owner') o.owner = next();
    else if (a === '--id3-version') o.id3Version = Number(next());
    else if (a === '--segments') o.segments = next();
    else if (a === '--offset-s') o.offsetS = Number(next());
    else if (a === '--no-descriptors') o.descriptors = false;
    else if (a === '--pid') o.pid = Number(next());
    else if (a === '--after-video-pes') o.afterPes = Number(next());
    else if (a === '--encoding') o.encoding = Number(next());
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (o.dir === null) o.dir = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!o.dir || o.text === null) usage('need <dir> and --text');
  if (!['TXXX', 'PRIV', 'TIT2'].includes(o.frame)) usage('--frame must be TXXX, PRIV or TIT2');
  if (![3, 4].includes(o.id3Version)) usage('--id3-version must be 3 or 4');
  if (!Number.isFinite(o.offsetS) || o.offsetS < 0) usage('--offset-s must be >= 0');
  if (![0, 1, 3].includes(o.encoding)) usage('--encoding must be 0 (Latin-1), 1 (UTF-16 with BOM) or 3 (UTF-8)');
  if (!Number.isInteger(o.afterPes) || o.afterPes < 1) usage('--after-video-pes must be >= 1');
  if (!Number.isInteger(o.pid) || o.pid < 0x20 || o.pid > 0x1ffe) usage('--pid out of range');
  return o;
}

// MPEG-2 CRC32 (poly 0x04C11DB7, no reflection, init 0xFFFFFFFF, no final xor).
function crc32mpeg(buf) {
  let crc = 0xffffffff;
  for (const b of buf) {
    crc ^= b << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

function syncsafe(n) {
  return [(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f];
}

function be32(n) {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

// A text field in ID3 encoding `enc`: 0 Latin-1, 1 UTF-16 with BOM (LE here), 3 UTF-8.
function encodeText(str, enc) {
  if (enc === 0) return Buffer.from(str, 'latin1');
  if (enc === 1) return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(str, 'utf16le')]);
  return Buffer.from(str, 'utf8');
}

function id3Tag({ frame, text, desc, owner, id3Version, encoding }) {
  let body;
  const nul = Buffer.alloc(encoding === 1 ? 2 : 1);
  if (frame === 'TXXX') {
    body = Buffer.concat([Buffer.from([encoding]), encodeText(desc, encoding), nul, encodeText(text, encoding)]);
  } else if (frame === 'TIT2') {
    body = Buffer.concat([Buffer.from([encoding]), encodeText(text, encoding)]);
  } else {
    body = Buffer.concat([Buffer.from(owner, 'latin1'), Buffer.from([0]), Buffer.from(text, 'utf8')]);
  }
  const size = id3Version === 4 ? syncsafe(body.length) : be32(body.length);
  const frameBuf = Buffer.concat([Buffer.from(frame, 'latin1'), Buffer.from(size), Buffer.from([0, 0]), body]);
  const header = Buffer.from([0x49, 0x44, 0x33, id3Version, 0, 0, ...syncsafe(frameBuf.length)]);
  return Buffer.concat([header, frameBuf]);
}

function encodePts(pts) {
  const p = BigInt(pts) & 0x1ffffffffn;
  return Buffer.from([
    Number(0x21n | ((p >> 29n) & 0x0en)),
    Number((p >> 22n) & 0xffn),
    Number(((p >> 14n) & 0xfen) | 1n),
    Number((p >> 7n) & 0xffn),
    Number(((p << 1n) & 0xfen) | 1n),
  ]);
}

function decodePts(b, i) {
  return (
    (BigInt(b[i] & 0x0e) << 29n) |
    (BigInt(b[i + 1]) << 22n) |
    (BigInt(b[i + 2] & 0xfe) << 14n) |
    (BigInt(b[i + 3]) << 7n) |
    (BigInt(b[i + 4]) >> 1n)
  );
}

function pesPacket(pts, payload) {
  const header = Buffer.concat([Buffer.from([0x84, 0x80, 5]), encodePts(pts)]);
  const len = header.length + payload.length;
  if (len > 0xffff) throw new Error('ID3 payload too large for one PES packet');
  return Buffer.concat([Buffer.from([0, 0, 1, 0xbd, len >> 8, len & 0xff]), header, payload]);
}

// Splits a PES packet into TS packets on `pid`, stuffing the last one through an adaptation field.
function packetize(pes, pid, cc) {
  const out = [];
  let off = 0;
  let first = true;
  while (off < pes.length) {
    const remaining = pes.length - off;
    const pkt = Buffer.alloc(TS, 0xff);
    pkt[0] = 0x47;
    pkt[1] = (first ? 0x40 : 0) | ((pid >> 8) & 0x1f);
    pkt[2] = pid & 0xff;
    let p = 4;
    let take = Math.min(remaining, TS - 4);
    if (remaining < TS - 4) {
      const afLen = TS - 4 - 1 - remaining; // bytes after the length byte
      pkt[3] = 0x30 | (cc.v & 0x0f);
      pkt[4] = afLen;
      if (afLen > 0) pkt[5] = 0x00; // no flags; the rest is 0xFF stuffing
      p = 5 + afLen;
      take = remaining;
    } else {
      pkt[3] = 0x10 | (cc.v & 0x0f);
    }
    pes.copy(pkt, p, off, off + take);
    off += take;
    cc.v = (cc.v + 1) & 0x0f;
    first = false;
    out.push(pkt);
  }
  return out;
}

function payloadStart(pkt) {
  const afc = (pkt[3] >> 4) & 3;
  if (afc === 2) return -1;
  return afc === 3 ? 5 + pkt[4] : 4;
}

const pidOf = (pkt) => ((pkt[1] & 0x1f) << 8) | pkt[2];

function parsePmt(pkt) {
  let p = payloadStart(pkt);
  p += 1 + pkt[p]; // pointer_field
  const sec = p;
  if (pkt[sec] !== 0x02) throw new Error('PMT table_id is not 2');
  const sectionLength = ((pkt[sec + 1] & 0x0f) << 8) | pkt[sec + 2];
  const end = sec + 3 + sectionLength - 4; // before CRC
  if (end + 4 > TS) throw new Error('PMT spans more than one TS packet (not supported)');
  const programNumber = (pkt[sec + 3] << 8) | pkt[sec + 4];
  const pcrPid = ((pkt[sec + 8] & 0x1f) << 8) | pkt[sec + 9];
  const piLen = ((pkt[sec + 10] & 0x0f) << 8) | pkt[sec + 11];
  const programInfo = pkt.subarray(sec + 12, sec + 12 + piLen);
  const streams = [];
  for (let i = sec + 12 + piLen; i < end; ) {
    const esLen = ((pkt[i + 3] & 0x0f) << 8) | pkt[i + 4];
    streams.push({
      type: pkt[i],
      pid: ((pkt[i + 1] & 0x1f) << 8) | pkt[i + 2],
      info: Buffer.from(pkt.subarray(i + 5, i + 5 + esLen)),
    });
    i += 5 + esLen;
  }
  return { sec, programNumber, pcrPid, version: (pkt[sec + 5] >> 1) & 0x1f, programInfo: Buffer.from(programInfo), streams };
}

const ID3_FMT = [0xff, 0xff, 0x49, 0x44, 0x33, 0x20, 0xff, 0x49, 0x44, 0x33, 0x20];

function buildPmtPacket(orig, pmt, metaPid, descriptors) {
  const programInfo = descriptors
    ? Buffer.concat([pmt.programInfo, Buffer.from([0x25, 15, ...ID3_FMT, 0x00, 0x1f, pmt.programNumber >> 8, pmt.programNumber & 0xff])])
    : pmt.programInfo;
  const streams = [
    ...pmt.streams,
    { type: 0x15, pid: metaPid, info: descriptors ? Buffer.from([0x26, 13, ...ID3_FMT, 0x00, 0x0f]) : Buffer.alloc(0) },
  ];
  const body = [];
  body.push(pmt.programNumber >> 8, pmt.programNumber & 0xff);
  body.push(0xc1 | (pmt.version << 1), 0x00, 0x00);
  body.push(0xe0 | (pmt.pcrPid >> 8), pmt.pcrPid & 0xff);
  body.push(0xf0 | (programInfo.length >> 8), programInfo.length & 0xff, ...programInfo);
  for (const s of streams) {
    body.push(s.type, 0xe0 | (s.pid >> 8), s.pid & 0xff, 0xf0 | (s.info.length >> 8), s.info.length & 0xff, ...s.info);
  }
  const sectionLength = body.length + 4;
  const section = Buffer.from([0x02, 0xb0 | (sectionLength >> 8), sectionLength & 0xff, ...body]);
  const crc = crc32mpeg(section);
  const full = Buffer.concat([section, Buffer.from(be32(crc))]);
  const pkt = Buffer.alloc(TS, 0xff);
  orig.copy(pkt, 0, 0, 4);
  pkt[3] = 0x10 | (orig[3] & 0x0f); // payload only, keep the continuity counter
  pkt[4] = 0; // pointer_field
  if (5 + full.length > TS) throw new Error('rewritten PMT does not fit one TS packet');
  full.copy(pkt, 5);
  return pkt;
}

function rewriteSegment(buf, opts, tag, cc, inject) {
  if (buf.length % TS !== 0 || buf[0] !== 0x47) throw new Error('not a 188-byte-packet MPEG-TS file');
  const pkts = [];
  for (let i = 0; i < buf.length; i += TS) pkts.push(buf.subarray(i, i + TS));
  let pmtPid = -1;
  // PAT → PMT PID (first program).
  for (const pkt of pkts) {
    if (pidOf(pkt) !== 0 || !(pkt[1] & 0x40)) continue;
    let p = payloadStart(pkt);
    p += 1 + pkt[p];
    const sectionLength = ((pkt[p + 1] & 0x0f) << 8) | pkt[p + 2];
    for (let i = p + 8; i < p + 3 + sectionLength - 4; i += 4) {
      const prog = (pkt[i] << 8) | pkt[i + 1];
      if (prog !== 0) {
        pmtPid = ((pkt[i + 2] & 0x1f) << 8) | pkt[i + 3];
        break;
      }
    }
    break;
  }
  if (pmtPid < 0) throw new Error('no PAT/PMT found');
  let pmt = null;
  const out = [];
  let videoPid = -1;
  let pendingInsert = inject;
  let videoPesSeen = 0;
  for (const pkt of pkts) {
    const pid = pidOf(pkt);
    if (pid === opts.pid) throw new Error(`PID ${opts.pid} already used; pick another with --pid`);
    if (pid === pmtPid && pkt[1] & 0x40) {
      pmt = parsePmt(pkt);
      const v = pmt.streams.find((s) => s.type === 0x1b);
      videoPid = v ? v.pid : -1;
      if (!pmt.streams.some((s) => s.pid === opts.pid)) {
        out.push(buildPmtPacket(pkt, pmt, opts.pid, opts.descriptors));
        continue;
      }
    }
    out.push(pkt);
    // Put the tag right after the K-th video PES start, timed from its PTS.
    if (pendingInsert && pid === videoPid && pkt[1] & 0x40) {
      const p = payloadStart(pkt);
      if (p >= 0 && pkt[p] === 0 && pkt[p + 1] === 0 && pkt[p + 2] === 1 && pkt[p + 7] & 0x80 && ++videoPesSeen === opts.afterPes) {
        const pts = decodePts(pkt, p + 9) + BigInt(Math.round(opts.offsetS * 90000));
        out.push(...packetize(pesPacket(pts, tag), opts.pid, cc));
        pendingInsert = false;
      }
    }
  }
  if (pendingInsert) throw new Error('no video PES with a PTS found to time the tag from');
  return Buffer.concat(out);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const files = (await readdir(opts.dir)).filter((f) => f.endsWith('.ts')).sort();
  if (files.length === 0) usage(`no .ts files in ${opts.dir}`);
  const chosen =
    opts.segments === 'all' ? new Set(files.map((_, i) => i)) : new Set(opts.segments.split(',').map(Number));
  const tag = id3Tag(opts);
  const cc = { v: 0 };
  for (const [i, f] of files.entries()) {
    const path = join(opts.dir, f);
    const buf = await readFile(path);
    // Atomic replace: the directory may be being served (check.mjs --after-playing).
    await writeFile(`${path}.tmp`, rewriteSegment(buf, opts, tag, cc, chosen.has(i)));
    await rename(`${path}.tmp`, path);
  }
  process.stdout.write(
    JSON.stringify({ dir: opts.dir, segments: files.length, tagged: [...chosen].sort((a, b) => a - b), frame: opts.frame, id3Version: opts.id3Version, tagHex: tag.toString('hex') }) + '\n',
  );
}

main().catch((e) => {
  process.stderr.write(`id3-inject.mjs: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
