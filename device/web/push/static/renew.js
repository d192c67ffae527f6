/* doorcam push: what the page and the service worker share.
 *
 * When the device stores a subscription it answers with a change token for it, kept here in
 * this origin's IndexedDB with the subscription's endpoint and the device's key. When the
 * browser rotates the subscription (`pushsubscriptionchange` in the worker), `renew` posts the
 * new subscription with the old endpoint and its token to /push/change: the device replaces
 * the old subscription once, for the logged-in account, and answers with the next token.
 *
 *   self.doorcamPush.save({endpoint, token, key})   after a subscription was stored
 *   self.doorcamPush.load()                         -> that record, or undefined
 *   self.doorcamPush.renew(pushManager, oldSubscription, newSubscription)
 *       -> "renewed" | "unchanged" | "unknown" (nothing saved) | "refused: STATUS"
 *   self.doorcamPush.keyBytes(base64url)            -> Uint8Array (applicationServerKey)
 */
'use strict';

self.doorcamPush = (() => {
  const DB = 'doorcam-push';
  const STORE = 'subscription';
  const KEY = 'current';

  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function inStore(mode, action) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = action(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  const load = () => inStore('readonly', (store) => store.get(KEY));
  const save = (record) => inStore('readwrite', (store) => store.put(record, KEY));

  function keyBytes(base64url) {
    const base64 = (base64url + '='.repeat((4 - (base64url.length % 4)) % 4))
      .replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }

  async function renew(pushManager, oldSubscription, newSubscription) {
    const saved = await load();
    if (!saved || !saved.token || !saved.endpoint) return 'unknown';
    let subscription = newSubscription || await pushManager.getSubscription();
    if (subscription === null) {
      const key = (oldSubscription && oldSubscription.options &&
                   oldSubscription.options.applicationServerKey) || keyBytes(saved.key);
      subscription = await pushManager.subscribe({ userVisibleOnly: true,
                                                   applicationServerKey: key });
    }
    if (subscription.endpoint === saved.endpoint) return 'unchanged';
    const response = await fetch('/push/change', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ old_endpoint: saved.endpoint, token: saved.token,
                             subscription: subscription.toJSON() }),
    });
    if (!response.ok) return `refused: ${response.status}`;
    const answer = await response.json();
    await save({ endpoint: subscription.endpoint, token: answer.change_token, key: saved.key });
    return 'renewed';
  }

  return { load, save, renew, keyBytes };
})();
