/* doorcam push service worker: shows a push as a notification, opens its page on click,
 * and tells the device when the browser replaced the subscription (renew.js).
 *
 * A push carries (encrypted, see device/web/push/message.py):
 *   {"title": "doorcam", "body": "Someone rang the doorbell", "url": "/live", "tag": "ring",
 *    "kind": "ring", "image": "/live/snapshot.jpg",
 *    "actions": [{"action": "live", "title": "Live", "url": "/live"}]}
 * `image` is a path on this device: the worker fetches it with the browser's login (the
 * picture never passes through the push service) and shows it where the browser shows
 * notification images; without a picture (logged out, no camera, or no answer within
 * PICTURE_WAIT_MS: a phone away from home may not reach the device) the notification still
 * shows. Tapping the notification opens `url`, tapping an action opens that action's `url`.
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

const MAX_ACTIONS = 2;
const MAX_IMAGE_BYTES = 2 * 1024 * 1024;
const PICTURE_WAIT_MS = 3000;

function actionsOf(data) {
  if (!Array.isArray(data.actions)) return [];
  return data.actions.filter((a) => a && typeof a.action === 'string' && a.action &&
                                    typeof a.title === 'string' && a.title)
    .slice(0, MAX_ACTIONS)
    .map((a) => ({ action: a.action, title: a.title, url: safePath(a.url) }));
}

async function pictureOf(path) {
  // A data: URL of the device's current snapshot, fetched with the login's cookie.
  if (typeof path !== 'string' || safePath(path) !== path || path === '/') return null;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), PICTURE_WAIT_MS);
  try {
    const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store',
                                         signal: abort.signal });
    const type = response.headers.get('Content-Type') || '';
    if (!response.ok || !type.startsWith('image/')) return null;
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length === 0 || bytes.length > MAX_IMAGE_BYTES) return null;
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return `data:${type.split(';')[0]};base64,${btoa(text)}`;
  } catch (e) {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

async function notificationOf(data) {
  if (data === null || typeof data !== 'object') data = {};
  const title = typeof data.title === 'string' && data.title ? data.title : 'doorcam';
  const actions = actionsOf(data);
  const options = {
    body: typeof data.body === 'string' ? data.body : '',
    data: { url: safePath(data.url),
            actions: Object.fromEntries(actions.map((a) => [a.action, a.url])) },
  };
  if (actions.length) {
    options.actions = actions.map((a) => ({ action: a.action, title: a.title }));
  }
  if (typeof data.tag === 'string' && data.tag) {
    options.tag = data.tag;
    options.renotify = true;
  }
  const picture = await pictureOf(data.image);
  if (picture) options.image = picture;
  return { title, options };
}

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = {};
  }
  event.waitUntil(notificationOf(data).then(
    ({ title, options }) => self.registration.showNotification(title, options)));
});

function targetOf(notification, action) {
  const data = notification.data || {};
  const byAction = action && data.actions && Object.prototype.hasOwnProperty.call(
    data.actions, action) ? data.actions[action] : null;
  return new URL(safePath(byAction || data.url), self.location.origin).href;
}

async function openPage(target) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const win of windows) {
    if (win.url === target && 'focus' in win) return win.focus();
  }
  return self.clients.openWindow(target);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openPage(targetOf(event.notification, event.action)));
});

// For tests and the page: what a push would show, and which page a tap would open.
self.doorcamNotify = { notificationOf, targetOf, safePath };

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(self.doorcamPush.renew(self.registration.pushManager,
                                         event.oldSubscription || null,
                                         event.newSubscription || null));
});
