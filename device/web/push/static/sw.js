/* doorcam push service worker: shows a push as a notification, opens its page on click,
 * and tells the device when the browser replaced the subscription (renew.js).
 *
 * A push carries (encrypted, see device/web/push/message.py):
 *   {"title": "doorcam", "body": "New request from …", "url": "/#request-ID", "tag": "…"}
 * Only a same-origin path is ever opened; anything else opens "/".
 */
'use strict';

importScripts('/push/renew.js');

function safePath(url) {
  if (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//') ||
      url.includes('\\')) {
    return '/';
  }
  return url;
}

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = {};
  }
  if (data === null || typeof data !== 'object') data = {};
  const title = typeof data.title === 'string' && data.title ? data.title : 'doorcam';
  const options = {
    body: typeof data.body === 'string' ? data.body : '',
    data: { url: safePath(data.url) },
  };
  if (typeof data.tag === 'string' && data.tag) {
    options.tag = data.tag;
    options.renotify = true;
  }
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const path = safePath(event.notification.data && event.notification.data.url);
  const target = new URL(path, self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const win of windows) {
      if (win.url === target && 'focus' in win) return win.focus();
    }
    return self.clients.openWindow(target);
  })());
});

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(self.doorcamPush.renew(self.registration.pushManager,
                                         event.oldSubscription || null,
                                         event.newSubscription || null));
});
