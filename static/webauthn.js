// Lanyard WebAuthn: passkey and security-key registration and sign-in. No framework, no inline
// script (the CSP forbids it); the server keeps the ceremony state and checks everything.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) { return; }

  const b64uToBuf = (s) => {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
  };
  const bufToB64u = (buf) => {
    let s = "";
    new Uint8Array(buf).forEach((b) => { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  async function post(url, body, csrf) {
    const r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body || {}),
    });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) { throw new Error(j.message || ("The server answered " + r.status)); }
    return j;
  }

  function showError(root, err) {
    const p = root.querySelector("#webauthn-error") || document.getElementById("webauthn-error");
    if (!p) { return; }
    p.textContent = err && err.name === "NotAllowedError"
      ? "The request was cancelled or timed out. Try again."
      : (err && err.message) || "Something went wrong. Try again.";
    p.hidden = false;
  }

  function creationOptions(o) {
    const pk = o.publicKey;
    pk.challenge = b64uToBuf(pk.challenge);
    pk.user.id = b64uToBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => { c.id = b64uToBuf(c.id); });
    return { publicKey: pk };
  }

  function requestOptions(o) {
    const pk = o.publicKey;
    pk.challenge = b64uToBuf(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => { c.id = b64uToBuf(c.id); });
    return { publicKey: pk };
  }

  function registrationJSON(c) {
    return {
      id: c.id,
      rawId: bufToB64u(c.rawId),
      type: c.type,
      response: {
        attestationObject: bufToB64u(c.response.attestationObject),
        clientDataJSON: bufToB64u(c.response.clientDataJSON),
        transports: c.response.getTransports ? c.response.getTransports() : undefined,
      },
      extensions: c.getClientExtensionResults(),
    };
  }

  function assertionJSON(c) {
    return {
      id: c.id,
      rawId: bufToB64u(c.rawId),
      type: c.type,
      response: {
        authenticatorData: bufToB64u(c.response.authenticatorData),
        clientDataJSON: bufToB64u(c.response.clientDataJSON),
        signature: bufToB64u(c.response.signature),
        userHandle: c.response.userHandle ? bufToB64u(c.response.userHandle) : null,
      },
      extensions: c.getClientExtensionResults(),
    };
  }

  let pending = null;

  async function signIn(root, conditional) {
    if (pending) { pending.abort(); }
    const controller = new AbortController();
    pending = controller;
    const csrf = root.dataset.csrf;
    const next = root.dataset.next || "/";
    const o = await post("/signin/webauthn/start", { conditional: conditional }, csrf);
    const opts = requestOptions(o);
    opts.signal = controller.signal;
    if (conditional) { opts.mediation = "conditional"; }
    const cred = await navigator.credentials.get(opts);
    const res = await post("/signin/webauthn/finish?next=" + encodeURIComponent(next), assertionJSON(cred), csrf);
    window.location.assign(res.redirect);
  }

  async function register(form) {
    const csrf = form.dataset.csrf;
    const o = await post("/profile/webauthn/register/start", {
      name: form.querySelector("[name=name]").value,
      kind: form.querySelector("[name=kind]").value,
    }, csrf);
    const cred = await navigator.credentials.create(creationOptions(o));
    const res = await post("/profile/webauthn/register/finish", registrationJSON(cred), csrf);
    window.location.assign(res.redirect);
  }

  function init() {
    document.querySelectorAll("[data-webauthn-signin]").forEach((root) => {
      root.hidden = false;
      const button = root.querySelector("#passkey-signin");
      if (button) {
        button.addEventListener("click", () => { signIn(root, false).catch((e) => { if (e.name !== "AbortError") { showError(root, e); } }); });
      }
      if (!("secondFactor" in root.dataset) && PublicKeyCredential.isConditionalMediationAvailable) {
        PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
          if (ok) { signIn(root, true).catch(() => {}); }
        });
      }
    });
    document.querySelectorAll("[data-webauthn-register]").forEach((form) => {
      form.hidden = false;
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        register(form).catch((e) => showError(form, e));
      });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
