// The live player: the camera's fragmented MP4 appended to a SourceBuffer (Media Source
// Extensions, or ManagedMediaSource on iPhone Safari 17.1+), else the HLS playlist for
// players that play HLS themselves (older iPhone Safari), else the snapshot every second.
// One HTTP request per fragment: `?wait=1` makes the server hold it until it is published.
"use strict";
(() => {
  const video = document.getElementById("live");
  if (!video) return;
  const state = document.getElementById("live-state");
  const badge = document.getElementById("live-badge");
  const words = video.dataset;
  const view = "view=" + encodeURIComponent(words.view);
  const TARGET_LAG = 0.3; // seconds behind the newest frame we aim for after a jump
  const MAX_LAG = 1.2; // further behind than this: jump forward
  const say = (text, live) => {
    state.textContent = text;
    badge.hidden = !live;
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  class LoggedOut extends Error {}

  async function get(name, wait) {
    const url = "/live/" + name + "?" + view + (wait ? "&wait=1" : "");
    const r = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    if (r.status === 401) throw new LoggedOut();
    return r;
  }

  async function index() {
    const r = await get("live.json", false);
    return r.ok ? r.json() : null;
  }

  function append(sb, data) {
    return new Promise((resolve, reject) => {
      const done = () => { sb.removeEventListener("error", fail); resolve(); };
      const fail = () => { sb.removeEventListener("updateend", done); reject(new Error("append")); };
      sb.addEventListener("updateend", done, { once: true });
      sb.addEventListener("error", fail, { once: true });
      sb.appendBuffer(data);
    });
  }

  function keepUp() {
    const b = video.buffered;
    if (!b.length) return;
    const start = b.start(b.length - 1), end = b.end(b.length - 1);
    const lag = end - video.currentTime;
    if (video.currentTime < start || lag > MAX_LAG) {
      video.currentTime = Math.max(start, end - TARGET_LAG);
      say(words.behind, true);
    } else {
      // A little faster while behind, so the delay shrinks without a jump.
      video.playbackRate = lag > 0.7 ? 1.08 : 1.0;
    }
    if (video.paused) video.play().catch(() => {});
  }

  async function trim(sb) {
    const b = video.buffered;
    if (b.length && video.currentTime - b.start(0) > 8 && !sb.updating) {
      await new Promise((resolve) => {
        sb.addEventListener("updateend", resolve, { once: true });
        sb.remove(0, video.currentTime - 4);
      });
    }
  }

  // One run of the stream's generation (a new one starts when the camera's format changes).
  async function mse(MS) {
    let idx = await index();
    while (!idx || !idx.fragments.length || !idx.init) {
      say(idx && idx.generation ? words.waiting : words.stopped, false);
      await sleep(1000);
      idx = await index();
    }
    const type = 'video/mp4; codecs="' + idx.codec + '"';
    if (!MS.isTypeSupported(type)) return false;
    const ms = new MS();
    video.disableRemotePlayback = true; // ManagedMediaSource needs it (or an AirPlay source)
    const opened = new Promise((r) => ms.addEventListener("sourceopen", r, { once: true }));
    video.src = URL.createObjectURL(ms);
    await opened;
    const sb = ms.addSourceBuffer(type);
    sb.mode = "segments";
    const init = await get(idx.init, false);
    if (!init.ok) return true;
    await append(sb, await init.arrayBuffer());
    const starts = idx.fragments.filter((f) => f.independent);
    let n = (starts.length ? starts[starts.length - 1] : idx.fragments[0]).n;
    let appended = 0;
    for (;;) {
      const r = await get("f" + n + ".m4s", true);
      if (r.ok) {
        await append(sb, await r.arrayBuffer());
        n += 1;
        appended += 1;
        if (appended === 1) video.currentTime = video.buffered.start(0);
        keepUp();
        if (appended % 10 === 0) await trim(sb);
        if (!video.paused) say(words.playing, true);
        continue;
      }
      // Not there: not yet published (waited already), gone (we fell behind), or a new
      // generation. The index says which.
      const now = await index();
      if (!now || !now.fragments.length) { say(words.stopped, false); await sleep(1000); continue; }
      if (now.generation !== idx.generation) return true; // start again with the new format
      const oldest = now.fragments[0].n, newest = now.fragments[now.fragments.length - 1].n;
      if (n < oldest || n > newest + 4) {
        const s = now.fragments.filter((f) => f.independent);
        n = (s.length ? s[s.length - 1] : now.fragments[0]).n;
      }
    }
  }

  async function hls() {
    video.src = "/live/live.m3u8?" + view;
    video.addEventListener("playing", () => say(words.playing, true));
    video.play().catch(() => {});
  }

  async function snapshots() {
    say(words.unsupported, false);
    for (;;) {
      video.poster = "/live/snapshot.jpg?" + Date.now();
      await sleep(1000);
    }
  }

  async function main() {
    const MS = window.ManagedMediaSource || window.MediaSource;
    try {
      if (MS) {
        for (;;) {
          const played = await mse(MS);
          if (!played) break;
        }
      }
      if (video.canPlayType("application/vnd.apple.mpegurl")) return hls();
      return snapshots();
    } catch (e) {
      if (e instanceof LoggedOut) {
        say(words.login, false);
        window.location.href = "/login?next=/live";
        return;
      }
      say(words.stopped, false);
      await sleep(2000);
      return main();
    }
  }
  video.addEventListener("waiting", () => { if (!video.paused) keepUp(); });
  main();
})();
