/* Inbox keyboard shortcuts and the canned-reply picker. No build step; htmx does the rest.
   List: j / k move, o or Enter open. Conversation: r reply, e resolve, a assign to me,
   j / k next / previous conversation of the last list seen. */
(function () {
  "use strict";
  var LIST_KEY = "support.inbox.order";

  function typing(event) {
    var el = event.target;
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-inbox] tr[data-href]")); }

  function rememberOrder() {
    var ids = rows().map(function (row) { return row.getAttribute("data-href"); });
    if (ids.length) { sessionStorage.setItem(LIST_KEY, JSON.stringify(ids)); }
  }

  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.setAttribute("aria-selected", i === index ? "true" : "false"); });
    all[index].scrollIntoView({ block: "nearest" });
  }

  function selectedIndex() {
    return rows().findIndex(function (row) { return row.getAttribute("aria-selected") === "true"; });
  }

  function neighbour(step) {
    var ids = JSON.parse(sessionStorage.getItem(LIST_KEY) || "[]");
    var here = window.location.pathname;
    var index = ids.indexOf(here);
    if (index < 0) { return null; }
    return ids[index + step] || null;
  }

  function click(selector) {
    var button = document.querySelector(selector);
    if (button) { button.click(); }
  }

  document.addEventListener("keydown", function (event) {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var inList = rows().length > 0;
    var key = event.key;
    if (inList && (key === "j" || key === "k")) {
      var current = selectedIndex();
      select(current < 0 ? 0 : current + (key === "j" ? 1 : -1));
      event.preventDefault();
    } else if (inList && (key === "o" || key === "Enter") && selectedIndex() >= 0) {
      window.location = rows()[selectedIndex()].getAttribute("data-href");
    } else if (!inList && (key === "j" || key === "k")) {
      var next = neighbour(key === "j" ? 1 : -1);
      if (next) { window.location = next; }
    } else if (key === "r") {
      var text = document.getElementById("composer-text");
      if (text) { text.focus(); event.preventDefault(); }
    } else if (key === "e") {
      click("[data-action=resolve]");
    } else if (key === "a") {
      click("[data-action=assign-me]");
    }
  });

  document.addEventListener("change", function (event) {
    var picker = event.target.closest && event.target.closest("[data-canned]");
    if (!picker) { return; }
    var option = picker.options[picker.selectedIndex];
    var text = document.getElementById("composer-text");
    if (option && text && option.getAttribute("data-text")) {
      text.value = option.getAttribute("data-text");
      text.focus();
    }
  });

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("[data-inbox] tr[data-href]");
    if (row && !event.target.closest("a")) { window.location = row.getAttribute("data-href"); }
  });

  // Refusals (422) carry the re-rendered conversation with the reason: swap them in too.
  if (window.htmx) {
    htmx.config.responseHandling = [{ code: "422", swap: true, error: false }].concat(
      htmx.config.responseHandling || [{ code: "...", swap: true }]
    );
  }

  document.addEventListener("DOMContentLoaded", rememberOrder);
  document.addEventListener("htmx:afterSwap", rememberOrder);
})();
