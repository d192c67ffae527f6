/* doorcam passkeys: add one on the Device page, sign in with one on the login page.
 *
 *   [data-passkey-add]    a form with "label" and "password"; data-begin-url,
 *                         data-finish-url, data-csrf-token (sent as X-CSRF-Token)
 *   [data-passkey-login]  data-begin-url, data-finish-url, data-login-token (sent as
 *                         X-Login-Token), data-next
 * Inside each: [data-passkey-start] (hidden and disabled until this browser can use
 * passkeys here, so the form never submits without this script) and
 * [data-passkey-status], which says what happened, or why passkeys cannot work here.
 */
'use strict';

(() => {
  const bytes = (text) => {
    const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)),
                           (c) => c.charCodeAt(0));
  };
  const text = (buffer) => {
    if (!buffer) return '';
    let s = '';
    for (const b of new Uint8Array(buffer)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };

  async function post(url, headers, body) {
    const response = await fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error((await response.text()).slice(0, 300));
    return response.json();
  }

  const why = (e) => {
    if (e && e.name === 'NotAllowedError') return 'Cancelled, or the passkey was not allowed.';
    if (e && e.name === 'InvalidStateError') return 'This passkey is already added.';
    if (e && e.name === 'SecurityError') {
      return 'This browser does not trust this address for passkeys (a certificate it ' +
             'does not trust, or not the address set up for them).';
    }
    return e && e.message ? e.message : String(e);
  };

  async function add(el, status) {
    const d = el.dataset;
    const headers = { 'X-CSRF-Token': d.csrfToken || '' };
    const options = (await post(d.beginUrl, headers, {
      label: el.elements.label.value, password: el.elements.password.value })).publicKey;
    el.elements.password.value = '';
    options.challenge = bytes(options.challenge);
    options.user.id = bytes(options.user.id);
    for (const c of options.excludeCredentials || []) c.id = bytes(c.id);
    status.textContent = 'Follow your browser to make the passkey…';
    const credential = await navigator.credentials.create({ publicKey: options });
    const answer = await post(d.finishUrl, headers, {
      id: text(credential.rawId),
      clientDataJSON: text(credential.response.clientDataJSON),
      attestationObject: text(credential.response.attestationObject),
    });
    window.location.assign('/device?done=passkey_added#passkeys');
    return answer;
  }

  async function signIn(el, status) {
    const d = el.dataset;
    const headers = { 'X-Login-Token': d.loginToken || '' };
    const options = (await post(d.beginUrl, headers, {})).publicKey;
    options.challenge = bytes(options.challenge);
    for (const c of options.allowCredentials || []) c.id = bytes(c.id);
    status.textContent = 'Choose your passkey…';
    const credential = await navigator.credentials.get({ publicKey: options });
    const answer = await post(d.finishUrl, headers, {
      id: text(credential.rawId),
      clientDataJSON: text(credential.response.clientDataJSON),
      authenticatorData: text(credential.response.authenticatorData),
      signature: text(credential.response.signature),
      userHandle: text(credential.response.userHandle),
      next: d.next || '/',
    });
    window.location.assign(answer.next);
  }

  function attach(selector, run, event) {
    for (const el of document.querySelectorAll(selector)) {
      const start = el.querySelector('[data-passkey-start]');
      const status = el.querySelector('[data-passkey-status]');
      if (!window.isSecureContext || !window.PublicKeyCredential || !navigator.credentials) {
        status.textContent = 'Passkeys cannot work in this browser at this address (they ' +
                             'need a host name with a certificate the browser trusts).';
        continue;
      }
      start.hidden = false;
      start.disabled = false;
      el.addEventListener(event, async (e) => {
        if (event === 'click' && !e.target.closest('[data-passkey-start]')) return;
        e.preventDefault();
        start.disabled = true;
        status.textContent = '';
        try {
          await run(el, status);
        } catch (err) {
          status.textContent = why(err);
        } finally {
          start.disabled = false;
        }
      });
    }
  }

  const ready = () => {
    attach('[data-passkey-add]', add, 'submit');
    attach('[data-passkey-login]', signIn, 'click');
  };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', ready);
  } else {
    ready();
  }
})();
