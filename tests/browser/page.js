// Runs inside the page. Drives the real amazon-ivs-player against one HLS URL and records what
// happens; check.mjs reads window.__check. No network access beyond the URLs it is given.
/* global IVSPlayer */
(function () {
  'use strict';

  function now(t0) {
    return Math.round(performance.now() - t0);
  }

  // opts: { url, expectCue, expectEnded, wasmWorker, wasmBinary }
  window.startCheck = function startCheck(opts) {
    const t0 = performance.now();
    const rec = {
      done: false,
      ok: false,
      playerVersion: null,
      supported: IVSPlayer.isPlayerSupported,
      mse: {
        'video/mp4; codecs="avc1.42E01E,mp4a.40.2"': self.MediaSource
          ? MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"')
          : false,
        'video/mp4; codecs="avc1.640028"': self.MediaSource
          ? MediaSource.isTypeSupported('video/mp4; codecs="avc1.640028"')
          : false,
        'audio/mp4; codecs="mp4a.40.2"': self.MediaSource
          ? MediaSource.isTypeSupported('audio/mp4; codecs="mp4a.40.2"')
          : false,
      },
      states: [],
      timeToPlayingMs: null,
      cues: [],
      textCues: [],
      id3: [],
      errors: [],
      reason: null,
    };
    window.__check = rec;

    function finish(ok, reason) {
      if (rec.done) return;
      rec.ok = ok;
      rec.reason = reason;
      rec.done = true;
    }

    function maybeDone() {
      if (rec.timeToPlayingMs === null) return;
      const cueOk = opts.expectCue == null || rec.cues.some((c) => c.text === opts.expectCue);
      const endedOk = !opts.expectEnded || rec.states.some((s) => s.state === IVSPlayer.PlayerState.ENDED);
      if (cueOk && endedOk) {
        finish(true, ['playing', opts.expectCue != null && 'expected cue received', opts.expectEnded && 'ended']
          .filter(Boolean)
          .join(', '));
      }
    }

    if (!IVSPlayer.isPlayerSupported) {
      finish(false, 'isPlayerSupported is false in this browser');
      return;
    }

    let player;
    try {
      player = IVSPlayer.create({ wasmWorker: opts.wasmWorker, wasmBinary: opts.wasmBinary });
    } catch (e) {
      finish(false, 'create() threw: ' + (e && e.message ? e.message : String(e)));
      return;
    }
    window.__player = player;
    rec.playerVersion = player.getVersion();

    const S = IVSPlayer.PlayerState;
    const E = IVSPlayer.PlayerEventType;
    for (const name of Object.keys(S)) {
      player.addEventListener(S[name], function () {
        rec.states.push({ state: S[name], atMs: now(t0) });
        if (S[name] === S.PLAYING && rec.timeToPlayingMs === null) {
          rec.timeToPlayingMs = now(t0);
        }
        maybeDone();
      });
    }
    player.addEventListener(E.ERROR, function (err) {
      rec.errors.push({
        atMs: now(t0),
        source: err && err.source,
        type: err && err.type,
        code: err && err.code,
        message: err && err.message,
      });
      finish(false, 'player error: ' + (err && err.message));
    });
    player.addEventListener(E.TEXT_METADATA_CUE, function (cue) {
      rec.cues.push({
        atMs: now(t0),
        text: cue.text,
        owner: cue.owner,
        description: cue.description,
        startTime: cue.startTime,
        endTime: cue.endTime,
        type: cue.type,
      });
      maybeDone();
    });
    player.addEventListener(E.TEXT_CUE, function (cue) {
      rec.textCues.push({ atMs: now(t0), text: cue.text, type: cue.type });
    });
    // Raw ID3 frames as the player parsed them: tells which frames it saw when no
    // TEXT_METADATA_CUE came.
    player.addEventListener(IVSPlayer.MetadataEventType.ID3, function (frames) {
      rec.id3.push({ atMs: now(t0), frames: JSON.parse(JSON.stringify(frames)) });
    });

    player.attachHTMLVideoElement(document.getElementById('video'));
    player.setMuted(true);
    player.setAutoplay(true);
    player.load(opts.url);
    player.play();
  };
})();
