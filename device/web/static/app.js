// doorcam owner app: small progressive enhancements; every page works without this file.
"use strict";

// Times: the server renders them in the zone this cookie names (else the device's, with its
// offset); here each <time data-t> is restated in the browser's own zone, in the same
// formats as device/web/timefmt.py, and the zone is remembered for the next page.
const ZONE_COOKIE = "doorcam-tz";
const browserZone = (() => {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch { return ""; }
})();

function parts(date, options) {
  const out = {};
  for (const p of new Intl.DateTimeFormat("en-GB", { timeZone: browserZone, ...options })
    .formatToParts(date)) out[p.type] = p.value;
  return out;
}

function offsetText(date) {
  const name = parts(date, { timeZoneName: "longOffset" }).timeZoneName || "GMT";
  const m = /GMT([+-]\d\d):?(\d\d)?/.exec(name);
  return m ? `UTC${m[1]}:${m[2] || "00"}` : "UTC+00:00";
}

function formatTime(date, kind) {
  const hm = parts(date, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  if (kind === "clock") return `${hm.hour}:${hm.minute}`;
  if (kind === "seconds") return `${hm.hour}:${hm.minute}:${hm.second}`;
  if (kind === "day") {
    const d = parts(date, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
    return `${d.weekday} ${d.day} ${d.month} ${d.year}`;
  }
  // Month abbreviations as Python's %b spells them (ICU's en-GB says "Sept").
  const d = parts(date, { day: "numeric", month: "numeric", year: "numeric" });
  const month = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ")[d.month - 1];
  return `${d.day} ${month} ${d.year}, ${hm.hour}:${hm.minute} (${offsetText(date)})`;
}

function restateTimes() {
  for (const t of document.querySelectorAll("time[data-t]")) {
    const date = new Date(t.getAttribute("datetime"));
    if (!Number.isNaN(date.getTime())) t.textContent = formatTime(date, t.dataset.t);
  }
  const note = document.querySelector("[data-zone-note]");
  if (note) note.textContent = `Times in ${browserZone} (${offsetText(new Date())}), your browser's zone.`;
}

function adoptBrowserZone() {
  if (!browserZone || document.documentElement.dataset.zone === browserZone) return;
  restateTimes();
  // IANA names ("America/New_York") are cookie-safe as they are; anything else is not sent.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(browserZone)) return;
  const secure = location.protocol === "https:" ? "; secure" : "";
  document.cookie = `${ZONE_COOKIE}=${browserZone}; path=/; max-age=31536000; ` +
    `samesite=strict${secure}`;
  // Days ("Today", "Yesterday") are grouped on the device: reload once in the right zone.
  const stored = document.cookie.split("; ").includes(`${ZONE_COOKIE}=${browserZone}`);
  const key = `doorcam-tz-reloaded:${browserZone}`;
  if (stored && document.querySelector("[data-days], [data-zone-page]") &&
      !sessionStorage.getItem(key)) {
    sessionStorage.setItem(key, "1");
    location.replace(location.href);
  }
}

// The timeline: tapping an event plays it in place, with the newer and older event a tap
// away; without this script the row opens the clip's own page (same player, same steps).
function setUpTimeline() {
  const rows = [...document.querySelectorAll("li.event")];
  if (!rows.length) return;
  let open = null;
  const close = () => {
    if (!open) return;
    open.querySelector(".player")?.remove();
    open.classList.remove("playing");
    open = null;
  };
  const play = (li) => {
    close();
    const link = li.querySelector("a.row");
    const i = rows.indexOf(li);
    const player = document.createElement("div");
    player.className = "player";
    const video = document.createElement("video");
    video.controls = true;
    video.autoplay = true;
    video.playsInline = true;
    video.src = link.dataset.video;
    video.poster = li.querySelector("img")?.src || "";
    const steps = document.createElement("div");
    steps.className = "steps";
    const step = (label, target, attr) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = label;
      b.setAttribute(attr, "");
      b.disabled = !target;
      if (target) b.addEventListener("click", () => { play(target); });
      return b;
    };
    const details = document.createElement("a");
    details.className = "button secondary";
    details.href = link.getAttribute("href");
    details.textContent = "Details";
    steps.append(step("‹ Newer", rows[i - 1], "data-newer"), details,
      step("Older ›", rows[i + 1], "data-older"));
    player.append(video, steps);
    li.append(player);
    li.classList.add("playing");
    open = li;
    li.scrollIntoView({ block: "nearest" });
    video.play().catch(() => {});  // a browser may want a tap first: the controls are there
  };
  for (const li of rows) {
    li.querySelector("a.row").addEventListener("click", (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      if (open === li) close(); else play(li);
    });
  }
  const jump = document.querySelector("[data-jump]");
  if (jump) jump.addEventListener("change", () => { if (jump.value) jump.form.submit(); });
}

document.addEventListener("DOMContentLoaded", () => {
  adoptBrowserZone();
  setUpTimeline();
  // The share button says how many clips are ticked, and is off while none is.
  for (const form of document.querySelectorAll("form.share")) {
    const button = form.querySelector("[data-share-button]");
    const boxes = form.querySelectorAll("input[name=clip]");
    const update = () => {
      const n = [...boxes].filter((b) => b.checked).length;
      button.disabled = n === 0;
      button.textContent = n === 0 ? "Tick the clips to share" :
        `Review sharing ${n} clip${n === 1 ? "" : "s"} with this agency`;
    };
    boxes.forEach((b) => b.addEventListener("change", update));
    update();
  }
  // The push button's outcome (subscribe.js reports it as a "doorcam-push" event).
  const pushStatus = document.querySelector("[data-push-status]");
  if (pushStatus) {
    document.addEventListener("doorcam-push", (e) => { pushStatus.textContent = e.detail.message; });
  }
  // Only one video plays at a time (players added later included).
  document.addEventListener("play", (e) => {
    for (const o of document.querySelectorAll("video")) if (o !== e.target) o.pause();
  }, true);
});
