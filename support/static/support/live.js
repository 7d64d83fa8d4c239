/* Live inbox: listens to the server's event stream (support:events, ids only) and re-reads
   what changed through the normal pages: the inbox list, the list pane, the conversation's
   header, messages and customer panel, and who else is replying. Never touches what the agent
   is typing. The browser's EventSource reconnects after a drop and resumes from the last id.
   While typing a reply it tells the server every few seconds (the collision guard). */
(function () {
  "use strict";
  var root = document.querySelector("[data-live-events]");
  if (!root || !window.EventSource || !window.fetch) { return; }
  var KINDS = ["message_received", "message_sent", "note_added", "assigned", "status_changed",
    "priority_changed", "order_linked", "sla_breached", "typing"];
  var HEARTBEAT_MS = 3000;
  var TYPING_SECONDS = 8;
  var me = root.getAttribute("data-live-me");

  // Refusals the server renders for the page: 422 (invalid) and 409 (the conversation changed).
  if (window.htmx) {
    htmx.config.responseHandling = [{ code: "409", swap: true, error: false }].concat(
      htmx.config.responseHandling || [{ code: "...", swap: true }]
    );
  }

  function body() { return document.getElementById("conversation-body"); }
  function currentConversation() { var b = body(); return b ? b.getAttribute("data-conversation") : null; }

  function get(url) {
    return fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    });
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function holdsFocus(element) {
    var active = document.activeElement;
    return active && active !== document.body && element.contains(active);
  }

  function processed(element) { if (window.htmx) { htmx.process(element); } return element; }

  // One re-read at a time per part; a change during a re-read asks for one more after it.
  function refresher(work) {
    var running = false, again = false, timer = null;
    function run() {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      Promise.resolve().then(work).catch(function () {}).then(function () {
        running = false;
        if (again) { again = false; schedule(); }
      });
    }
    function schedule() { if (!timer) { timer = setTimeout(run, 100); } }
    return schedule;
  }

  var refreshList = refresher(function () {
    var list = document.getElementById("inbox-list");
    if (!list) { return null; }
    var selected = list.querySelector("tr[aria-selected=true]");
    var selectedId = selected && selected.getAttribute("data-conversation");
    return get(window.location.href).then(function (html) {
      var fresh = parse(html).getElementById("inbox-list");
      if (!fresh) { return; }
      var old = document.getElementById("inbox-list");
      old.replaceWith(fresh);
      processed(fresh);
      if (selectedId) {
        var row = fresh.querySelector("tr[data-conversation='" + selectedId + "']");
        if (row) { row.setAttribute("aria-selected", "true"); }
      }
      document.dispatchEvent(new CustomEvent("htmx:afterSwap"));
    });
  });

  var refreshPane = refresher(function () {
    var pane = document.getElementById("inbox-pane");
    var url = root.getAttribute("data-live-pane");
    if (!pane || !url) { return null; }
    var current = currentConversation();
    return get(url + (current ? "?current=" + encodeURIComponent(current) : "")).then(function (html) {
      var fresh = parse(html).getElementById("inbox-pane");
      if (fresh) { document.getElementById("inbox-pane").replaceWith(fresh); }
    });
  });

  var refreshConversation = refresher(function () {
    var conversation = body();
    if (!conversation) { return null; }
    return get(conversation.getAttribute("data-conversation-url")).then(function (html) {
      var fresh = parse(html);
      var here = body();
      if (!here) { return; }
      fresh.querySelectorAll("[data-live-part]").forEach(function (part) {
        var old = here.querySelector("[data-live-part='" + part.getAttribute("data-live-part") + "']");
        if (old && !holdsFocus(old)) { old.replaceWith(part); processed(part); }
      });
      var list = here.querySelector(".support-messages");
      if (!list) { return; }
      fresh.querySelectorAll(".support-messages > [data-message]").forEach(function (message) {
        var old = list.querySelector("[data-message='" + message.getAttribute("data-message") + "']");
        if (!old) {
          message.classList.add("support-message-new");
          list.appendChild(message);
        } else if (!holdsFocus(old) && !old.querySelector("input:checked")) {
          old.replaceWith(message);
        }
      });
    });
  });

  var typingTimer = null;
  var refreshTyping = refresher(function () {
    var box = document.querySelector("[data-typing]");
    if (!box) { return null; }
    return get(box.getAttribute("data-typing")).then(function (html) {
      var now = document.querySelector("[data-typing]");
      if (now) { now.innerHTML = html; }
      // Nobody says they stopped when a browser closes: look again once their note expires.
      clearTimeout(typingTimer);
      if (html.trim()) { typingTimer = setTimeout(refreshTyping, (TYPING_SECONDS + 1) * 1000); }
    });
  });

  function changed(kind, data) {
    refreshList();
    refreshPane();
    if (String(data.conversation) !== currentConversation()) { return; }
    if (kind === "typing") {
      if (String(data.user) !== me) { refreshTyping(); }
      return;
    }
    refreshConversation();
    if (kind === "message_sent" || kind === "note_added") { refreshTyping(); }
  }

  // Connect once the page has loaded and settled: the page is usable first, and nothing is
  // missed meanwhile (the stream starts after the last event the page was rendered with).
  function connect() {
    var source = new EventSource(root.getAttribute("data-live-events"));
    KINDS.forEach(function (kind) {
      source.addEventListener(kind, function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (error) { return; }
        changed(kind, data);
      });
    });
    source.addEventListener("open", function () { root.setAttribute("data-live-state", "open"); });
    source.addEventListener("error", function () { root.setAttribute("data-live-state", "reconnecting"); });
    window.addEventListener("pagehide", function () { source.close(); });
    if (currentConversation()) { refreshTyping(); }
  }
  function later() { setTimeout(connect, 1500); }
  if (document.readyState === "complete") { later(); } else { window.addEventListener("load", later); }

  // The collision guard's heartbeat: "I am replying" every few seconds while typing.
  var lastBeat = 0;
  function beat(state) {
    var box = document.querySelector("[data-typing]");
    var form = document.querySelector("[data-composer]");
    if (!box || !form) { return; }
    var token = form.querySelector("[name=csrfmiddlewaretoken]");
    var data = new URLSearchParams();
    data.set("state", state);
    fetch(box.getAttribute("data-typing"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "", "HX-Request": "true" }
    }).catch(function () {});
  }
  document.addEventListener("input", function (event) {
    if (event.target.id !== "composer-text") { return; }
    var now = Date.now();
    if (event.target.value.trim() && now - lastBeat > HEARTBEAT_MS) { lastBeat = now; beat("typing"); }
  });
  document.addEventListener("focusout", function (event) {
    if (event.target.id === "composer-text" && !event.target.value.trim() && lastBeat) {
      lastBeat = 0;
      beat("stopped");
    }
  });
  document.addEventListener("htmx:afterSwap", function () { lastBeat = 0; });
})();
