// okwallet's only script: progressive enhancement. Every page works without it, except the
// passkey buttons, which need the browser's WebAuthn API and are hidden where it is missing.

// Forms that do something drastic ask once more before they post.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

// --- passkeys ---------------------------------------------------------------------------------
// The server speaks base64url for every binary field (webauthn-rs); the browser wants bytes.

const fromB64u = (text) => {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "===".slice((b64.length + 3) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
};
const toB64u = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function requestOptions(options) {
  const pk = options.publicKey;
  pk.challenge = fromB64u(pk.challenge);
  for (const c of pk.allowCredentials || []) c.id = fromB64u(c.id);
  return pk;
}

function creationOptions(options) {
  const pk = options.publicKey;
  pk.challenge = fromB64u(pk.challenge);
  pk.user.id = fromB64u(pk.user.id);
  for (const c of pk.excludeCredentials || []) c.id = fromB64u(c.id);
  return pk;
}

function assertionJSON(cred) {
  const r = cred.response;
  return {
    id: cred.id,
    rawId: toB64u(cred.rawId),
    type: cred.type,
    response: {
      authenticatorData: toB64u(r.authenticatorData),
      clientDataJSON: toB64u(r.clientDataJSON),
      signature: toB64u(r.signature),
      userHandle: r.userHandle ? toB64u(r.userHandle) : null,
    },
    clientExtensionResults: cred.getClientExtensionResults(),
  };
}

function attestationJSON(cred) {
  const r = cred.response;
  return {
    id: cred.id,
    rawId: toB64u(cred.rawId),
    type: cred.type,
    response: {
      attestationObject: toB64u(r.attestationObject),
      clientDataJSON: toB64u(r.clientDataJSON),
      transports: r.getTransports ? r.getTransports() : [],
    },
    clientExtensionResults: cred.getClientExtensionResults(),
  };
}

function showError(scope, message) {
  const box = scope.querySelector("[data-passkey-error]");
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
}

const supported = typeof window.PublicKeyCredential === "function";

// A fresh passkey answer from a public challenge.
async function answerChallenge() {
  const answer = await fetch("/api/v1/passkey-challenges", { method: "POST" });
  const body = await answer.json();
  if (!answer.ok) throw new Error(body.detail || answer.statusText);
  const cred = await navigator.credentials.get({ publicKey: requestOptions(body.options) });
  return { ceremony_id: body.ceremony_id, credential: JSON.stringify(assertionJSON(cred)) };
}

// Forms whose proof is a passkey (accounts whose only second factor is one) carry hidden
// proof fields; fill them from the authenticator before the form goes.
async function fillProof(form) {
  const field = form.elements.proof_credential;
  if (!field || field.value) return;
  const proof = await answerChallenge();
  form.elements.proof_ceremony_id.value = proof.ceremony_id;
  field.value = proof.credential;
}

for (const form of document.querySelectorAll("form[data-passkey-proof]")) {
  if (!form.elements.proof_credential || form.dataset.passkeyCreate) continue;
  form.addEventListener("submit", async (event) => {
    if (form.elements.proof_credential.value) return;
    event.preventDefault();
    try {
      await fillProof(form);
      form.submit();
    } catch (error) {
      showError(form, error.message || String(error));
    }
  });
}

// Sign in (or the second step) with a passkey: answer a challenge, post it with the form.
for (const button of document.querySelectorAll("[data-passkey-get]")) {
  const form = document.getElementById(button.dataset.passkeyGet);
  if (!supported) { button.hidden = true; continue; }
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const proof = await answerChallenge();
      form.elements.ceremony_id.value = proof.ceremony_id;
      form.elements.credential.value = proof.credential;
      for (const input of form.querySelectorAll("input[required]")) input.required = false;
      form.submit();
    } catch (error) {
      // A spent proof cannot be used twice: the next try answers a new challenge.
      if (form.elements.proof_credential) form.elements.proof_credential.value = "";
      showError(form, error.message || String(error));
      button.disabled = false;
    }
  });
}

// Add a passkey: the form's proof buys creation options, the browser makes the credential,
// and the form posts it.
for (const form of document.querySelectorAll("form[data-passkey-create]")) {
  if (!supported) { form.hidden = true; continue; }
  form.addEventListener("submit", async (event) => {
    if (form.elements.credential.value) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await fillProof(form);
      const answer = await fetch(form.dataset.passkeyCreate, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
      });
      const body = await answer.json();
      if (!answer.ok) throw new Error(body.detail || answer.statusText);
      const cred = await navigator.credentials.create({ publicKey: creationOptions(body.options) });
      form.elements.ceremony_id.value = body.ceremony_id;
      form.elements.credential.value = JSON.stringify(attestationJSON(cred));
      form.submit();
    } catch (error) {
      // A spent proof cannot be used twice: the next try answers a new challenge.
      if (form.elements.proof_credential) form.elements.proof_credential.value = "";
      showError(form, error.message || String(error));
      button.disabled = false;
    }
  });
}

// --- live sections ------------------------------------------------------------------------------
// A page with a refresh link marked `data-refresh="<ms>"` (the deposit page) works without this:
// the link reloads it. With it, the page's `data-live` sections are fetched again every few
// seconds while the tab is visible, and replaced when they changed — except one the person is
// using (focus inside it), which waits for the next round.

const refresher = document.querySelector("a[data-refresh]");
if (refresher) {
  const every = Math.max(1000, Number(refresher.dataset.refresh) || 3000);
  let busy = false;
  const refresh = async () => {
    if (busy || document.visibilityState !== "visible") return;
    busy = true;
    try {
      const answer = await fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!answer.ok || answer.redirected) return;
      const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
      for (const section of document.querySelectorAll("[data-live][id]")) {
        const next = fresh.getElementById(section.id);
        if (!next || next.innerHTML === section.innerHTML) continue;
        if (section.contains(document.activeElement) && document.activeElement !== document.body) continue;
        section.innerHTML = next.innerHTML;
      }
    } catch {
      // Offline for a moment: the next round tries again, and the link still works.
    } finally {
      busy = false;
    }
  };
  window.setInterval(refresh, every);
  document.addEventListener("visibilitychange", refresh);
}

// --- quote countdown ----------------------------------------------------------------------------
// A locked price says until when it holds (that works without this); here it also counts down,
// and when it runs out the confirm button is disabled and the page says to get a new quote.

for (const box of document.querySelectorAll("[data-countdown]")) {
  const running = box.querySelector("[data-countdown-running]");
  const left = box.querySelector("[data-countdown-left]");
  const over = box.querySelector("[data-countdown-over]");
  const end = Date.now() + Number(box.dataset.countdown) * 1000;
  const confirm = document.querySelector("[data-countdown-confirm]");
  let timer = 0;
  const tick = () => {
    const seconds = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    left.textContent = String(seconds);
    if (seconds > 0) return;
    window.clearInterval(timer);
    running.hidden = true;
    over.hidden = false;
    if (confirm) confirm.disabled = true;
  };
  running.hidden = false;
  tick();
  timer = window.setInterval(tick, 1000);
}

// --- copy buttons -------------------------------------------------------------------------------
// A reference to quote to support can be copied in one tap where the clipboard is available.

if (navigator.clipboard) {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = button.dataset.copied;
      } catch {
        // Not allowed here: the reference is on the page to copy by hand.
      }
    });
  }
}

// --- the reader's time zone -----------------------------------------------------------------------
// Help pages show opening hours in the reader's time. Without this script they use the operator's
// zone and say so; with it, the browser's zone goes into a cookie the server reads, and a page
// that showed the operator's zone is loaded once more (once per tab, so a browser that refuses the
// cookie is not reloaded forever).

const zoned = document.querySelector("[data-tz-auto]");
if (zoned) {
  const hasCookie = document.cookie.split(";").some((c) => c.trim().startsWith("okw_tz="));
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    // No Intl: the page keeps the zone it names.
  }
  if (!hasCookie && /^[A-Za-z0-9_+\-/]+$/.test(zone)) {
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `okw_tz=${zone}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
    const shown = zoned.dataset.tzAuto;
    let reloaded = false;
    try {
      reloaded = window.sessionStorage.getItem("okw_tz_reloaded") === "1";
      window.sessionStorage.setItem("okw_tz_reloaded", "1");
    } catch {
      reloaded = true;
    }
    if (zoned.dataset.tzSource === "operator" && zone !== shown && !reloaded) window.location.reload();
  }
}

// --- two agents on one ticket -------------------------------------------------------------------
// The agent console says "I have this ticket open (and am writing)" every few seconds and shows
// who else has it open, and when the ticket changed since the page was loaded. Without this
// script the page shows who was there when it loaded, and the server still refuses a reply to a
// ticket that changed meanwhile until the agent has looked again.

const collision = document.querySelector("[data-viewing]");
if (collision) {
  const draft = document.querySelector("[data-composing]");
  const seen = Number(collision.dataset.seen);
  const ping = async () => {
    if (document.visibilityState !== "visible") return;
    const body = new URLSearchParams({
      csrf: collision.dataset.csrf,
      composing: draft && draft.value.trim() !== "" ? "1" : "0",
    });
    try {
      const answer = await fetch(collision.dataset.viewing, { method: "POST", body, credentials: "same-origin" });
      if (!answer.ok) return;
      const { others, updated_ms: updated } = await answer.json();
      const lines = others.map((o) => `${o.name} ${o.composing ? collision.dataset.writingLabel : collision.dataset.viewingLabel}`);
      if (updated !== seen) lines.push(collision.dataset.changedLabel);
      const p = document.createElement("p");
      p.textContent = lines.join(" · ");
      collision.replaceChildren(p);
      collision.hidden = lines.length === 0;
    } catch {
      // Offline for a moment: the next round tries again.
    }
  };
  window.setInterval(ping, 8000);
  if (draft) draft.addEventListener("input", () => { if (draft.value.length === 1) ping(); });
}
