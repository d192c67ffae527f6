/* doorcam push subscription: asks permission, subscribes, sends the subscription home.
 *
 * Mark up a button (or any element) with:
 *   data-push-subscribe                  this element starts it on click
 *   data-push-key="BASE64URL"           the device's applicationServerKey (PushService.public_key)
 *   data-push-url="/push/subscriptions" where the subscription JSON is POSTed (same origin)
 *   data-csrf-token="…"                  sent in the header named by data-csrf-header
 *   data-csrf-header="X-CSRF-Token"      (optional; this is the default)
 *   data-sw-url="/sw.js"                 the service worker script (optional; this is the default)
 * Progress is reported as a "doorcam-push" CustomEvent on the element, detail
 * {state: "subscribed" | "denied" | "unsupported" | "failed", message}, and in its
 * data-push-state attribute. Needs renew.js loaded first: the device's answer carries the
 * subscription's change token, kept for the service worker (see renew.js).
 */
'use strict';

(() => {
  function report(el, state, message) {
    el.dataset.pushState = state;
    el.dispatchEvent(new CustomEvent('doorcam-push', { bubbles: true,
                                                       detail: { state, message } }));
  }

  async function subscribe(el) {
    const d = el.dataset;
    if (!('serviceWorker' in navigator) || !('PushManager' in window) ||
        !('Notification' in window)) {
      report(el, 'unsupported', 'This browser cannot receive push notifications here ' +
             '(it needs a trusted https connection; on iPhone, add the page to the home screen).');
      return;
    }
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') {
      report(el, 'denied', 'Notifications are blocked for this site.');
      return;
    }
    try {
      const registration = await navigator.serviceWorker.register(d.swUrl || '/sw.js');
      await navigator.serviceWorker.ready;
      let subscription = await registration.pushManager.getSubscription();
      if (subscription === null) {
        subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: self.doorcamPush.keyBytes(d.pushKey),
        });
      }
      const response = await fetch(d.pushUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json',
                   [d.csrfHeader || 'X-CSRF-Token']: d.csrfToken || '' },
        body: JSON.stringify(subscription.toJSON()),
      });
      if (!response.ok) {
        const text = (await response.text()).slice(0, 200);
        report(el, 'failed', `The device refused the subscription: ${text}`);
        return;
      }
      const answer = await response.json();
      await self.doorcamPush.save({ endpoint: subscription.endpoint,
                                    token: answer.change_token, key: d.pushKey });
      report(el, 'subscribed', 'Notifications are on for this browser.');
    } catch (e) {
      report(el, 'failed', `Could not subscribe: ${e && e.message ? e.message : e}`);
    }
  }

  function attach() {
    for (const el of document.querySelectorAll('[data-push-subscribe]')) {
      el.addEventListener('click', (event) => {
        event.preventDefault();
        subscribe(el);
      });
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', attach);
  } else {
    attach();
  }
})();
