// socketcore demo chat. Server contract (namespace "/"):
//   client → "chat" (text)
//   server → "chat" {from, text, at}  to everyone
//   server → "presence" {count}       on every connect/disconnect
// The display name travels as auth.name; changing it reconnects.
// The client is socketcore's JS SDK (sdk/js, built by `make sdk`), which the
// server serves at /sdk/: the socket.io-client API, with the protocol run by
// core.wasm in the page.
(async function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const els = {
    state: $("state"),
    transport: $("transport"),
    presence: $("presence"),
    name: $("name"),
    messages: $("messages"),
    form: $("composer"),
    text: $("text"),
    send: $("send"),
  };

  const storedName = (() => {
    try { return localStorage.getItem("socketcore.name") || ""; } catch (_) { return ""; }
  })();
  els.name.value = storedName;
  let myName = storedName.trim();

  let io;
  try {
    ({ io } = await import("/sdk/index.js"));
  } catch (err) {
    setState("disconnected", "client library missing (/sdk/index.js: run make sdk)");
    return;
  }

  const socket = io("/", { auth: { name: myName } });

  // ---- connection state & transport -------------------------------------
  function setState(kind, label) {
    els.state.className = "pill state-" + kind;
    els.state.textContent = label;
    const up = kind === "connected";
    els.text.disabled = !up;
    els.send.disabled = !up;
  }

  function showTransport() {
    const engine = socket.io.engine;
    els.transport.textContent = engine && engine.transport ? engine.transport.name : "–";
  }

  let renaming = false;

  socket.on("connect", () => {
    if (renaming) {
      renaming = false;
      notice(myName ? "you are now " + myName : "you are now anonymous");
    }
    setState("connected", "connected");
    showTransport();
    const engine = socket.io.engine;
    engine.off("upgrade", onUpgrade); // engine is new after a reconnect
    engine.on("upgrade", onUpgrade);
  });
  function onUpgrade() {
    showTransport();
  }

  socket.on("disconnect", (reason) => {
    setState("disconnected", "disconnected");
    els.transport.textContent = "–";
    if (renaming) return; // our own reconnect to change the name
    notice("disconnected (" + reason + ")");
    if (reason === "io server disconnect") {
      // The server kicked us; the client does not retry this on its own.
      setTimeout(() => socket.connect(), 1000);
    }
  });

  socket.on("connect_error", (err) => {
    setState("disconnected", "can't connect");
    notice("connection error: " + err.message);
  });

  socket.io.on("reconnect_attempt", (n) => setState("connecting", "reconnecting… (" + n + ")"));

  // ---- presence & messages ----------------------------------------------
  socket.on("presence", (p) => {
    const n = p && typeof p.count === "number" ? p.count : 0;
    els.presence.textContent = n + " online";
  });

  socket.on("chat", (m) => {
    if (!m || typeof m.text !== "string") return;
    addMessage(m);
  });

  function clearEmpty() {
    const empty = els.messages.querySelector(".empty");
    if (empty) empty.remove();
  }

  function stickToBottom(fn) {
    const box = els.messages;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    fn();
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  function addMessage(m) {
    stickToBottom(() => {
      clearEmpty();
      const li = document.createElement("li");
      li.className = "msg";
      const from = typeof m.from === "string" && m.from ? m.from : "?";
      if (myName && from === myName) li.classList.add("mine");

      const meta = document.createElement("div");
      meta.className = "meta";
      const who = document.createElement("b");
      who.textContent = from;
      const when = document.createElement("time");
      const at = typeof m.at === "number" ? new Date(m.at) : new Date();
      when.dateTime = at.toISOString();
      when.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      meta.append(who, when);

      const text = document.createElement("div");
      text.className = "text";
      text.textContent = m.text;

      li.append(meta, text);
      els.messages.append(li);
    });
  }

  function notice(msg) {
    stickToBottom(() => {
      clearEmpty();
      const li = document.createElement("li");
      li.className = "notice";
      li.textContent = msg;
      els.messages.append(li);
    });
  }

  (function emptyState() {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "No messages yet. Say hi!";
    els.messages.append(li);
  })();

  // ---- sending -----------------------------------------------------------
  els.form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = els.text.value.trim();
    if (!text || !socket.connected) return;
    socket.emit("chat", text);
    els.text.value = "";
    els.text.focus();
  });

  // ---- name changes: reconnect with the new auth ---------------------------
  function applyName() {
    const name = els.name.value.trim().slice(0, 32);
    if (name === myName) return;
    myName = name;
    try { localStorage.setItem("socketcore.name", name); } catch (_) { /* private mode */ }
    socket.auth = { name };
    if (socket.connected) {
      renaming = true;
      socket.disconnect();
      setState("connecting", "reconnecting…");
      socket.connect();
    }
  }
  els.name.addEventListener("change", applyName);
  els.name.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      applyName();
      els.text.focus();
    }
  });
})();
