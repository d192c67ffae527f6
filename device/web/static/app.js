// doorcam owner app: small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The share button says how many clips are ticked, and is off while none is.
  for (const form of document.querySelectorAll("form.share")) {
    const button = form.querySelector("[data-share-button]");
    const boxes = form.querySelectorAll("input[name=clip]");
    const update = () => {
      const n = [...boxes].filter((b) => b.checked).length;
      button.disabled = n === 0;
      button.textContent = n === 0 ? "Tick the clips to share" :
        `Share ${n} clip${n === 1 ? "" : "s"} with this agency`;
    };
    boxes.forEach((b) => b.addEventListener("change", update));
    update();
  }
  // The push button's outcome (subscribe.js reports it as a "doorcam-push" event).
  const pushStatus = document.querySelector("[data-push-status]");
  if (pushStatus) {
    document.addEventListener("doorcam-push", (e) => { pushStatus.textContent = e.detail.message; });
  }
  // Only one video plays at a time.
  const videos = document.querySelectorAll("video");
  videos.forEach((v) => v.addEventListener("play", () => {
    videos.forEach((o) => { if (o !== v) o.pause(); });
  }));
});
