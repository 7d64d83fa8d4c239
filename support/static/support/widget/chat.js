/* The shop's chat widget: one script tag, no framework.
 *   <script src="https://backoffice.example/support/widget/chat.js" data-channel="web"
 *           data-lang="fa" data-identifier="sara@example.com"
 *           data-identifier-hash="<HMAC-SHA256 of the identifier>" defer></script>
 * The back-office gives the words (translated) and the direction; the visitor's id and token
 * stay in localStorage; replies are polled every few seconds while the window is open. */
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
  var state = { visitor: null, last: 0, open: false, timer: null, seen: {}, busy: false };

  function saved() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (e) { return null; }
  }
  function save(session) {
    try {
      localStorage.setItem(storeKey, JSON.stringify({
        visitor_id: session.visitor_id, visitor_token: session.visitor_token }));
    } catch (e) { /* private mode: the chat still works for this page */ }
  }
  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.visitor) {
      headers["X-Visitor-Id"] = state.visitor.visitor_id;
      headers["X-Visitor-Token"] = state.visitor.visitor_token;
    }
    return fetch(base + "/api/v1/webchat/" + path, {
      method: method, headers: headers, credentials: "omit",
      body: body ? JSON.stringify(body) : undefined
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
  var text = el("textarea", { "class": "omni-chat-text", rows: "2", dir: "auto", required: "" });
  var send = el("button", { type: "submit", "class": "omni-chat-send" });
  var notice = el("p", { "class": "omni-chat-notice", role: "alert" });
  panel.setAttribute("aria-labelledby", "omni-chat-title");
  header.appendChild(title); header.appendChild(close);
  form.appendChild(email); form.appendChild(text); form.appendChild(send);
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
      item.appendChild(el("bdi", { "class": "omni-chat-body", dir: "auto" }, message.text));
      log.appendChild(item);
    });
    log.scrollTop = log.scrollHeight;
  }
  function online(isOnline) {
    status.textContent = isOnline ? words.online : words.offline;
    root.setAttribute("data-online", isOnline ? "yes" : "no");
    email.hidden = isOnline || !!data.identifier;
  }
  function poll() {
    if (!state.open || !state.visitor) return;
    var query = "messages?after=" + state.last + (channel ? "&channel=" + encodeURIComponent(channel) : "");
    api("GET", query).then(function (answer) {
      if (answer.status === 200) { show(answer.json.messages); online(answer.json.online); }
    }).catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(function () { schedule(); });
  }
  function schedule() {
    clearTimeout(state.timer);
    if (state.open) state.timer = setTimeout(poll, (state.poll || 2) * 1000);
  }
  function toggle(open) {
    state.open = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) { text.focus(); poll(); } else { clearTimeout(state.timer); }
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
      send.textContent = words.send;
      online(session.online);
      show(session.messages);
      launcher.hidden = false;
    });
  }
  launcher.addEventListener("click", function () { toggle(!state.open); });
  close.addEventListener("click", function () { toggle(false); launcher.focus(); });
  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var words_ = text.value.trim();
    if (!words_ || state.busy) return;
    state.busy = true; send.disabled = true; notice.textContent = "";
    var body = {
      visitor_id: state.visitor.visitor_id, visitor_token: state.visitor.visitor_token,
      id: Date.now().toString(36) + Math.random().toString(36).slice(2, 10), text: words_
    };
    if (channel) body.channel = channel;
    if (!email.hidden && email.value) body.email = email.value;
    if (data.name) body.name = data.name;
    if (data.identifier) { body.identifier = data.identifier; body.identifier_hash = data.identifierHash || ""; }
    api("POST", "messages", body).then(function (answer) {
      if (answer.status === 201 || answer.status === 200) {
        text.value = ""; show([answer.json]);
      } else {
        notice.textContent = answer.status === 429 ? words.slow_down : words.failed;
      }
    }).catch(function () { notice.textContent = words.failed; })
      .then(function () { state.busy = false; send.disabled = false; schedule(); });
  });
  function mount() { document.body.appendChild(root); start(); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
