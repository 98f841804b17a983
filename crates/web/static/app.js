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

// --- live chat and in-app calls -----------------------------------------------------------------
// A chat page shows what is stored and sends by form without this. With it, the page talks over
// the chat's WebSocket: messages, queue place, the agent, typing and read marks arrive live; a
// message is shown at once and sent with an id of its own, and after a dropped connection the
// page reconnects from the last message it saw and sends again what was not acknowledged (the
// server keeps each id once). Enter sends unless an input method is composing (拼音 and other
// IMEs use Enter to pick a candidate); Shift+Enter is a new line.
// A call (data-voice) also carries the WebRTC signalling: the agent picks up, the caller's
// browser offers, audio flows browser to browser.

const newId = () =>
  (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;

function startChat(box) {
  const L = box.dataset;
  const side = L.side;
  const log = box.querySelector("[data-chat-log]");
  const status = box.querySelector("[data-chat-status]");
  const typing = box.querySelector("[data-chat-typing]");
  const notice = box.querySelector("[data-chat-notice]");
  const form = box.querySelector("[data-chat-form]");
  const input = box.querySelector("[data-chat-input]");
  const endForm = box.querySelector("[data-chat-end]");
  let last = Number(L.last) || 0;
  let ws = null;
  let backoff = 500;
  let ended = L.open !== "1";
  let typedAt = 0;
  let typingTimer = 0;
  let readSent = 0;
  const pending = new Map();
  const send = (frame) => {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  };
  const whoOf = (m) => {
    if (m.from === "system") return L.lSystem;
    if (m.from === side) return side === "customer" ? L.lYou : (m.author_name || L.lAgentName);
    return m.from === "customer" ? L.lCustomer : (m.author_name || L.lAgentName);
  };
  const show = (m) => {
    let li = m.client_id ? log.querySelector(`li[data-client="${CSS.escape(m.client_id)}"][data-from="${m.from}"]`) : null;
    if (!li && m.seq && log.querySelector(`li[data-seq="${m.seq}"]`)) return;
    if (!li) {
      li = document.createElement("li");
      const who = document.createElement("span");
      who.className = "who";
      const body = document.createElement("span");
      body.className = "body";
      const time = document.createElement("time");
      li.append(who, " ", body, " ", time);
      log.append(li);
    }
    li.className = `msg from-${m.from}${m.seq ? "" : " pending"}`;
    li.dataset.from = m.from;
    if (m.client_id) li.dataset.client = m.client_id;
    if (m.seq) li.dataset.seq = String(m.seq);
    li.querySelector(".who").textContent = whoOf(m);
    li.querySelector(".body").textContent = m.from === "system" ? L.lEndedBy : m.body;
    li.querySelector("time").textContent = m.at ? new Date(m.at).toLocaleTimeString() : "";
    log.scrollTop = log.scrollHeight;
  };
  for (const li of log.querySelectorAll("li")) li.dataset.from = (li.className.match(/from-(\w+)/) || [])[1] || "";
  const markRead = () => {
    if (document.visibilityState !== "visible" || last <= readSent) return;
    if (send({ type: "read", seq: last })) readSent = last;
  };
  const setStatus = (text) => { status.textContent = text; };
  const finish = () => {
    ended = true;
    setStatus(L.lEnded);
    if (form) form.hidden = true;
    if (endForm) endForm.hidden = true;
    box.dataset.open = "0";
    if (call) call.close();
  };
  const call = L.voice === "1" ? startCall(box, send) : null;
  const handle = (f) => {
    switch (f.type) {
      case "hello":
        if (call) call.hello(f);
        if (f.chat.state === "ended") { finish(); break; }
        if (side === "agent") setStatus(L.lYours);
        else if (f.chat.agent) setStatus(`${L.lAgent} ${f.chat.agent.name} (${f.chat.agent.badge})`);
        break;
      case "message":
        if (f.seq > last) last = f.seq;
        if (f.from === side) pending.delete(f.client_id);
        show(f);
        markRead();
        break;
      case "ack":
        pending.delete(f.client_id);
        break;
      case "queue":
        setStatus(L.lWaiting.replace("{n}", f.position).replace("{m}", Math.max(1, Math.ceil((f.eta_s || 0) / 60))));
        break;
      case "agent":
        if (side === "customer") setStatus(`${L.lAgent} ${f.name} (${f.badge})`);
        break;
      case "typing":
        typing.hidden = false;
        window.clearTimeout(typingTimer);
        typingTimer = window.setTimeout(() => { typing.hidden = true; }, 3000);
        break;
      case "read":
        for (const li of log.querySelectorAll(`li.from-${side}[data-seq]`)) {
          if (Number(li.dataset.seq) <= f.seq) li.dataset.read = L.lRead;
        }
        break;
      case "notice":
        notice.querySelector("p").textContent = L.lMasked;
        notice.hidden = false;
        break;
      case "ended":
        finish();
        break;
      case "call":
        if (call) call.state(f);
        break;
      case "signal":
        if (call) call.signal(f.data);
        break;
      case "error":
        if (f.code === "chat_ended") finish();
        break;
      default:
    }
  };
  const connect = () => {
    const url = new URL(L.ws, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("after", String(last));
    ws = new WebSocket(url);
    box.dataset.connected = "0";
    ws.addEventListener("open", () => {
      backoff = 500;
      box.dataset.connected = "1";
      for (const [client_id, body] of pending) send({ type: "send", client_id, body });
    });
    ws.addEventListener("message", (event) => {
      try { handle(JSON.parse(event.data)); } catch { /* a frame we do not know */ }
    });
    ws.addEventListener("close", () => {
      ws = null;
      box.dataset.connected = "0";
      if (ended) return;
      setStatus(L.lReconnecting);
      window.setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    });
  };
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = input.value.trim();
      if (!body || ended) return;
      const client_id = newId();
      pending.set(client_id, body);
      show({ from: side, client_id, body, at: new Date().toISOString() });
      send({ type: "send", client_id, body });
      input.value = "";
      input.focus();
    });
    input.addEventListener("keydown", (event) => {
      // keyCode 229: the key went to an input method (older browsers do not set isComposing).
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
      event.preventDefault();
      form.requestSubmit();
    });
    input.addEventListener("input", () => {
      const now = Date.now();
      if (now - typedAt > 1500 && input.value.trim() !== "") { typedAt = now; send({ type: "typing" }); }
    });
  }
  if (endForm) {
    endForm.addEventListener("submit", (event) => {
      if (event.defaultPrevented || !ws) return;
      event.preventDefault();
      send({ type: call ? "hangup" : "end" });
    });
  }
  document.addEventListener("visibilitychange", markRead);
  if (!ended) connect();
}

function startCall(box, send) {
  const L = box.dataset;
  const panel = box.querySelector("[data-call]");
  const label = box.querySelector("[data-call-label]");
  const error = box.querySelector("[data-call-error]");
  const audio = box.querySelector("[data-call-audio]");
  const answer = box.querySelector("[data-call-answer]");
  const hangup = box.querySelector("[data-call-hangup]");
  const agent = L.side === "agent";
  let ice = [];
  let pc = null;
  let stream = null;
  let early = [];
  let offered = false;
  const say = (text) => { label.textContent = text; };
  const fail = (text) => { error.textContent = text; error.hidden = false; };
  if (!window.RTCPeerConnection || !navigator.mediaDevices) {
    fail(L.lNoWebrtc);
    return { hello() {}, state() {}, signal() {}, close() {} };
  }
  const microphone = async () => {
    if (!stream) {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      } catch (e) {
        fail(L.lMicDenied);
        throw e;
      }
    }
    return stream;
  };
  const peer = async () => {
    if (pc) return pc;
    const mic = await microphone();
    pc = new RTCPeerConnection({ iceServers: ice });
    for (const track of mic.getTracks()) pc.addTrack(track, mic);
    pc.addEventListener("icecandidate", (e) => { if (e.candidate) send({ type: "signal", data: { candidate: e.candidate.toJSON() } }); });
    pc.addEventListener("track", (e) => {
      audio.srcObject = e.streams[0] || new MediaStream([e.track]);
      panel.dataset.remoteAudio = String(audio.srcObject.getAudioTracks().length);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (!pc) return;
      panel.dataset.rtc = pc.connectionState;
      if (pc.connectionState === "connected") { say(L.lCallConnected); watchAudio(pc); countTalk(); }
      if (pc.connectionState === "failed") send({ type: "hangup", reason: "failed" });
    });
    return pc;
  };
  // How much audio has arrived (data-audio-in, bytes): the page's own proof that the other side
  // is heard, read every two seconds while the call lasts.
  const watchAudio = (connection) => {
    const timer = window.setInterval(async () => {
      if (connection.connectionState === "closed") { window.clearInterval(timer); return; }
      try {
        const stats = await connection.getStats();
        stats.forEach((r) => {
          if (r.type === "inbound-rtp" && r.kind === "audio") panel.dataset.audioIn = String(r.bytesReceived || 0);
        });
      } catch {
        window.clearInterval(timer);
      }
    }, 2000);
  };
  // The talk time on the record counts while the call lasts (the server's figure replaces it
  // when the page is loaded again).
  const talked = box.querySelector("[data-call-talked]");
  const countTalk = () => {
    const from = Date.now();
    const timer = window.setInterval(() => {
      if (!pc) { window.clearInterval(timer); return; }
      if (talked) talked.textContent = String(Math.floor((Date.now() - from) / 1000));
    }, 1000);
  };
  const flush = async () => {
    const waiting = early;
    early = [];
    for (const c of waiting) await pc.addIceCandidate(c);
  };
  if (answer) {
    answer.addEventListener("click", async () => {
      answer.disabled = true;
      try {
        await peer();
        send({ type: "answer" });
      } catch {
        answer.disabled = false;
      }
    });
  }
  if (hangup) hangup.addEventListener("click", () => send({ type: "hangup" }));
  return {
    hello(f) {
      ice = f.ice_servers || [];
      // The caller is asked for the microphone while waiting, not when the agent picks up.
      if (!agent && f.chat.state !== "ended") microphone().catch(() => {});
    },
    async state(f) {
      panel.dataset.callState = f.state;
      const labels = { waiting: L.lCallWaiting, ringing: L.lCallRinging, connected: L.lCallMedia, ended: L.lCallEnded };
      say(labels[f.state] || f.state);
      if (answer) answer.hidden = !(agent && f.state === "ringing");
      if (hangup) hangup.hidden = f.state === "ended";
      if (f.state === "connected" && !agent && !offered) {
        offered = true;
        try {
          const connection = await peer();
          await connection.setLocalDescription(await connection.createOffer());
          send({ type: "signal", data: { description: connection.localDescription.toJSON() } });
        } catch (e) {
          fail(String(e && e.message ? e.message : e));
          send({ type: "hangup", reason: "failed" });
        }
      }
      if (f.state === "ended") this.close();
    },
    async signal(data) {
      try {
        if (data.description) {
          const connection = await peer();
          await connection.setRemoteDescription(data.description);
          if (data.description.type === "offer") {
            await connection.setLocalDescription(await connection.createAnswer());
            send({ type: "signal", data: { description: connection.localDescription.toJSON() } });
          }
          await flush();
        } else if (data.candidate) {
          if (pc && pc.remoteDescription) await pc.addIceCandidate(data.candidate);
          else early.push(data.candidate);
        }
      } catch (e) {
        fail(String(e && e.message ? e.message : e));
      }
    },
    close() {
      if (pc) pc.close();
      if (stream) for (const t of stream.getTracks()) t.stop();
      pc = null;
      stream = null;
      if (answer) answer.hidden = true;
      if (hangup) hangup.hidden = true;
      say(L.lCallEnded);
      panel.dataset.callState = "ended";
    },
  };
}

for (const box of document.querySelectorAll("[data-chat]")) startChat(box);
