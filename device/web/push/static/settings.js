/* doorcam Notifications page: "until tomorrow" ends at this browser's next midnight, and the
 * snooze's end is shown in this browser's time. The page works without this file (the
 * device's midnight and time are used then). */
'use strict';

(() => {
  function nextMidnight(now) {
    const d = new Date(now);
    d.setHours(24, 0, 0, 0); // the next local midnight, across DST changes too
    return Math.floor(d.getTime() / 1000);
  }

  function attach() {
    for (const form of document.querySelectorAll('[data-snooze-tomorrow]')) {
      const until = form.querySelector('input[name=until]');
      const fill = () => { until.value = String(nextMidnight(Date.now())); };
      fill();
      form.addEventListener('submit', fill);
    }
    for (const el of document.querySelectorAll('[data-local-time]')) {
      const at = new Date(Number(el.dataset.localTime) * 1000);
      if (!Number.isNaN(at.getTime())) {
        el.textContent = at.toLocaleString([], { weekday: 'short', hour: '2-digit',
                                                 minute: '2-digit' });
      }
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', attach);
  } else {
    attach();
  }
})();
