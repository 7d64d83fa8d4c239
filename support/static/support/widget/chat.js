/* The shop's chat widget: one script tag, no framework.
 *   <script src="https://backoffice.example/support/widget/chat.js" data-channel="web"
 *           data-lang="fa" data-identifier="sara@example.com"
 *           data-identifier-hash="<HMAC-SHA256 of the identifier>" defer></script>
 * The back-office gives the words (translated) and the direction; the visitor's id and token
 * stay in localStorage. While the window is open the widget listens to its event stream
 * (server-sent events read through fetch, so the token travels in headers, never in a URL)
 * and fetches what is new when told; where the stream cannot be read it asks every few
 * seconds instead. A visitor may send a photo or a PDF (checked again by the server). */
(function () {
  "use strict";
  var tag = document.currentScript;
  if (!tag || window.__omniChat) return;
  window.__omniChat = true;
  var base = new URL(tag.src, location.href).origin;
  var data = tag.dataset;
  var channel = data.channel || "";
  var lang = data.lang || document.documentElement.lang || "";
  var storeKey = "omniChat:" + base + ":" + channel;
  var state = { visitor: null, last: 0, open: false, timer: null, seen: {}, busy: false,
    stream: null, streamFailures: 0 };

  function saved() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (e) { return null; }
  }
  function save(session) {
    try {
      localStorage.setItem(storeKey, JSON.stringify({
        visitor_id: session.visitor_id, visitor_token: session.visitor_token }));
    } catch (e) { /* private mode: the chat still works for this page */ }
  }
  function visitorHeaders(headers) {
    if (state.visitor) {
      headers["X-Visitor-Id"] = state.visitor.visitor_id;
      headers["X-Visitor-Token"] = state.visitor.visitor_token;
    }
    return headers;
  }
  function api(method, path, body) {
    var isForm = typeof FormData !== "undefined" && body instanceof FormData;
    var headers = visitorHeaders(isForm ? {} : { "Content-Type": "application/json" });
    return fetch(base + "/api/v1/webchat/" + path, {
      method: method, headers: headers, credentials: "omit",
      body: body ? (isForm ? body : JSON.stringify(body)) : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, json: json };
      });
    });
  }
  function el(name, attrs, text) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text) node.textContent = text;
    return node;
  }

  var css = el("link", { rel: "stylesheet", href: base + "/support/widget/chat.css" });
  document.head.appendChild(css);
  var root = el("div", { "class": "omni-chat", "data-omni-chat": "" });
  var launcher = el("button", { type: "button", "class": "omni-chat-launcher", "aria-expanded": "false" });
  var panel = el("section", { "class": "omni-chat-panel", role: "dialog" });
  panel.hidden = true;
  var header = el("header", { "class": "omni-chat-header" });
  var title = el("h2", { "class": "omni-chat-title", id: "omni-chat-title" });
  var close = el("button", { type: "button", "class": "omni-chat-close" }, "×");
  var status = el("p", { "class": "omni-chat-status" });
  var log = el("ol", { "class": "omni-chat-log", role: "log", "aria-live": "polite" });
  var form = el("form", { "class": "omni-chat-form" });
  var email = el("input", { type: "email", "class": "omni-chat-email", autocomplete: "email", dir: "ltr" });
  email.hidden = true;
  var text = el("textarea", { "class": "omni-chat-text", rows: "2", dir: "auto" });
  var file = el("input", { type: "file", "class": "omni-chat-file",
    accept: "image/jpeg,image/png,image/gif,image/webp,application/pdf" });
  // A paper clip drawn, not typed: no emoji font is needed on the visitor's machine.
  function clip() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "18");
    svg.setAttribute("height", "18"); svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "omni-chat-clip");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5");
    path.setAttribute("fill", "none"); path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.8"); path.setAttribute("stroke-linecap", "round");
    svg.appendChild(path);
    return svg;
  }
  var attach = el("button", { type: "button", "class": "omni-chat-attach" });
  attach.appendChild(clip());
  var chosen = el("bdi", { "class": "omni-chat-chosen", dir: "auto" });
  var send = el("button", { type: "submit", "class": "omni-chat-send" });
  var notice = el("p", { "class": "omni-chat-notice", role: "alert" });
  panel.setAttribute("aria-labelledby", "omni-chat-title");
  header.appendChild(title); header.appendChild(close);
  form.appendChild(email); form.appendChild(text); form.appendChild(attach);
  form.appendChild(send); form.appendChild(file); form.appendChild(chosen);
  panel.appendChild(header); panel.appendChild(status); panel.appendChild(log);
  panel.appendChild(notice); panel.appendChild(form);
  root.appendChild(panel); root.appendChild(launcher);
  launcher.hidden = true;

  var words = {};
  function show(messages) {
    (messages || []).forEach(function (message) {
      if (state.seen[message.id]) return;
      state.seen[message.id] = true;
      state.last = Math.max(state.last, message.id);
      var item = el("li", { "class": "omni-chat-message omni-chat-" + message.sender,
        "data-message-id": String(message.id) });
      var who = message.sender === "visitor" ? words.you : (message.agent || words.agent);
      item.appendChild(el("span", { "class": "omni-chat-who" }, who));
      if (message.text) item.appendChild(el("bdi", { "class": "omni-chat-body", dir: "auto" }, message.text));
      (message.attachments || []).forEach(function (attachment) {
        var file_ = el("span", { "class": "omni-chat-attachment" });
        file_.appendChild(clip());
        file_.appendChild(el("bdi", { dir: "auto" }, attachment.filename));
        item.appendChild(file_);
      });
      log.appendChild(item);
    });
    log.scrollTop = log.scrollHeight;
  }
  function online(isOnline) {
    status.textContent = isOnline ? words.online : words.offline;
    root.setAttribute("data-online", isOnline ? "yes" : "no");
    email.hidden = isOnline || !!data.identifier;
  }
  var channelQuery = channel ? "&channel=" + encodeURIComponent(channel) : "";
  function fetchNew() {
    if (!state.visitor) return Promise.resolve();
    return api("GET", "messages?after=" + state.last + channelQuery).then(function (answer) {
      if (answer.status === 200) { show(answer.json.messages); online(answer.json.online); }
    }).catch(function () { /* offline for a moment: the stream or the next poll tries again */ });
  }
  // Without a readable stream (an old browser, a proxy that buffers it), ask every few seconds.
  function poll() {
    if (!state.open) return;
    fetchNew().then(function () { if (!state.stream) schedule(poll, state.poll || 2); });
  }
  function schedule(what, seconds) {
    clearTimeout(state.timer);
    if (state.open) state.timer = setTimeout(what, seconds * 1000);
  }
  function listen() {
    if (!state.open || !state.visitor || state.stream) return;
    if (!window.ReadableStream || !window.TextDecoder || !window.AbortController) { poll(); return; }
    var controller = new AbortController();
    state.stream = controller;
    var opened = Date.now();
    fetch(base + "/api/v1/webchat/events?after_message=" + state.last + channelQuery, {
      headers: visitorHeaders({ Accept: "text/event-stream" }), credentials: "omit",
      signal: controller.signal
    }).then(function (response) {
      if (response.status !== 200 || !response.body) throw new Error("no stream");
      var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function read() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return;
          buffer += decoder.decode(chunk.value, { stream: true });
          var events = buffer.split("\n\n");
          buffer = events.pop();
          if (events.some(function (block) { return /^event: message$/m.test(block); })) fetchNew();
          return read();
        });
      }
      state.streamFailures = 0;
      return read();
    }).catch(function () {
      state.streamFailures += 1;
    }).then(function () {
      if (state.stream !== controller) return;
      state.stream = null;
      if (!state.open) return;
      // The stream ended (its lifetime) or broke: fetch what came meanwhile, then listen
      // again; after repeated failures in a row, poll instead.
      if (state.streamFailures >= 3) { poll(); return; }
      var wait = Date.now() - opened < 1000 ? (state.poll || 2) : 0.2;
      fetchNew().then(function () { schedule(listen, wait); });
    });
  }
  function stopListening() {
    clearTimeout(state.timer);
    if (state.stream) { var stream = state.stream; state.stream = null; stream.abort(); }
  }
  function toggle(open) {
    state.open = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) { text.focus(); fetchNew().then(listen); } else { stopListening(); }
  }
  function start() {
    var previous = saved() || {};
    var body = { lang: lang || undefined, channel: channel || undefined };
    if (previous.visitor_id) {
      body.visitor_id = previous.visitor_id; body.visitor_token = previous.visitor_token;
    }
    if (data.identifier) { body.identifier = data.identifier; body.identifier_hash = data.identifierHash || ""; }
    return api("POST", "session", body).then(function (answer) {
      if (answer.status === 403 && previous.visitor_id) {
        try { localStorage.removeItem(storeKey); } catch (e) { /* ignore */ }
        return start();
      }
      if (answer.status !== 200) return;
      var session = answer.json;
      state.visitor = session; state.poll = session.poll_seconds; words = session.strings;
      save(session);
      root.setAttribute("dir", data.dir || session.dir || document.documentElement.dir || "ltr");
      root.setAttribute("lang", lang || document.documentElement.lang || "");
      launcher.textContent = words.open; launcher.setAttribute("aria-label", words.title);
      title.textContent = words.title; close.setAttribute("aria-label", words.close);
      text.setAttribute("placeholder", words.placeholder); text.setAttribute("aria-label", words.placeholder);
      email.setAttribute("placeholder", words.email); email.setAttribute("aria-label", words.email);
      attach.setAttribute("aria-label", words.attach); attach.setAttribute("title", words.attach);
      file.setAttribute("aria-label", words.attach);
      send.textContent = words.send;
      online(session.online);
      show(session.messages);
      launcher.hidden = false;
    });
  }
  launcher.addEventListener("click", function () { toggle(!state.open); });
  close.addEventListener("click", function () { toggle(false); launcher.focus(); });
  attach.addEventListener("click", function () { file.click(); });
  file.addEventListener("change", function () {
    var picked = file.files && file.files[0];
    notice.textContent = "";
    if (picked && state.visitor && picked.size > state.visitor.max_attachment_bytes) {
      notice.textContent = words.too_big; file.value = "";
    }
    chosen.textContent = file.files && file.files[0] ? file.files[0].name : "";
  });
  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var words_ = text.value.trim();
    var picked = file.files && file.files[0];
    if ((!words_ && !picked) || state.busy) return;
    state.busy = true; send.disabled = true; notice.textContent = "";
    var body = {
      visitor_id: state.visitor.visitor_id, visitor_token: state.visitor.visitor_token,
      id: Date.now().toString(36) + Math.random().toString(36).slice(2, 10), text: words_
    };
    if (channel) body.channel = channel;
    if (!email.hidden && email.value) body.email = email.value;
    if (data.name) body.name = data.name;
    if (data.identifier) { body.identifier = data.identifier; body.identifier_hash = data.identifierHash || ""; }
    if (picked) {
      var formData = new FormData();
      Object.keys(body).forEach(function (key) { formData.append(key, body[key]); });
      formData.append("file", picked);
      body = formData;
    }
    api("POST", "messages", body).then(function (answer) {
      if (answer.status === 201 || answer.status === 200) {
        text.value = ""; file.value = ""; chosen.textContent = ""; show([answer.json]);
      } else if (answer.status === 400 && answer.json.error && answer.json.error.fields && answer.json.error.fields.file) {
        notice.textContent = words.too_big;
      } else {
        notice.textContent = answer.status === 429 ? words.slow_down : words.failed;
      }
    }).catch(function () { notice.textContent = words.failed; })
      .then(function () { state.busy = false; send.disabled = false; });
  });
  function mount() { document.body.appendChild(root); start(); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
