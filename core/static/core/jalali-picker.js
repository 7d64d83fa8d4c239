// A small Jalali (Solar Hijri) date picker for <input data-jalali-date> (core.forms
// LocalisedDateInput). The calendar arithmetic is the browser's own (Intl with the "persian"
// calendar); the input keeps the typed text, 1405/01/01, which the server parses. Served from
// static, no inline script, so the pages' CSP holds.
(function () {
  "use strict";
  var DIGITS = {
    latin: "0123456789",
    persian: "۰۱۲۳۴۵۶۷۸۹",
    arabic_indic: "٠١٢٣٤٥٦٧٨٩"
  };
  var DAY = 24 * 60 * 60 * 1000;

  function toLatin(text) {
    return String(text).replace(/[۰-۹٠-٩]/g, function (c) {
      var i = DIGITS.persian.indexOf(c);
      return String(i >= 0 ? i : DIGITS.arabic_indic.indexOf(c));
    });
  }
  function digitsOf(input) {
    var placeholder = input.getAttribute("placeholder") || "";
    if (/[۰-۹]/.test(placeholder)) return "persian";
    if (/[٠-٩]/.test(placeholder)) return "arabic_indic";
    return "latin";
  }
  function localise(text, digits) {
    return String(text).replace(/[0-9]/g, function (c) { return DIGITS[digits][+c]; });
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  var partsFormat = new Intl.DateTimeFormat("en-u-ca-persian-nu-latn", {
    year: "numeric", month: "numeric", day: "numeric", timeZone: "UTC"
  });
  // Jalali {year, month, day} of a UTC midnight Date.
  function jalali(date) {
    var out = {};
    partsFormat.formatToParts(date).forEach(function (p) {
      if (p.type === "year" || p.type === "month" || p.type === "day") out[p.type] = parseInt(p.value, 10);
    });
    return out;
  }
  function compare(a, y, m, d) { return (a.year - y) || (a.month - m) || (a.day - d); }
  // The Gregorian UTC Date of a Jalali day: start near it, step until the calendars agree.
  function gregorianOf(y, m, d) {
    var guess = Date.UTC(y + 621, 2, 21) + ((m - 1) * 30.6 + (d - 1)) * DAY;
    var date = new Date(Math.round(guess / DAY) * DAY);
    for (var i = 0; i < 40; i++) {
      var c = compare(jalali(date), y, m, d);
      if (c === 0) return date;
      date = new Date(date.getTime() + (c > 0 ? -DAY : DAY));
    }
    return null;
  }
  function today() {
    var now = new Date();
    return new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()));
  }
  function parse(text) {
    var m = /^\s*(\d{3,4})\s*[\/\-.]\s*(\d{1,2})\s*[\/\-.]\s*(\d{1,2})\s*$/.exec(toLatin(text || ""));
    return m ? gregorianOf(+m[1], +m[2], +m[3]) : null;
  }

  function Picker(input) {
    this.input = input;
    this.digits = digitsOf(input);
    var persian = (document.documentElement.lang || "").indexOf("fa") === 0;
    var locale = (persian ? "fa-IR" : "en") + "-u-ca-persian-nu-latn";
    this.monthName = new Intl.DateTimeFormat(locale, { month: "long", timeZone: "UTC" });
    this.weekday = new Intl.DateTimeFormat(persian ? "fa-IR" : "en", { weekday: "narrow", timeZone: "UTC" });
    this.box = document.createElement("div");
    this.box.className = "jalali-picker";
    this.box.hidden = true;
    this.box.setAttribute("role", "dialog");
    input.insertAdjacentElement("afterend", this.box);
    var self = this;
    input.addEventListener("focus", function () { self.open(); });
    input.addEventListener("keydown", function (e) { if (e.key === "Escape") self.close(); });
    document.addEventListener("mousedown", function (e) {
      if (e.target !== input && !self.box.contains(e.target)) self.close();
    });
  }
  Picker.prototype.open = function () {
    // A date-and-time input (data-jalali-time) keeps its time: only the day is parsed here.
    this.show(parse(this.input.value.trim().split(/\s+/)[0]) || today());
    this.box.hidden = false;
  };
  Picker.prototype.close = function () { this.box.hidden = true; };
  Picker.prototype.show = function (date) {
    var self = this;
    var j = jalali(date);
    var first = gregorianOf(j.year, j.month, 1);
    var box = this.box;
    box.textContent = "";
    var head = document.createElement("div");
    head.className = "jalali-picker-head";
    // The arrows point the way the page reads: earlier months are to the right in RTL.
    var rtl = document.documentElement.dir === "rtl";
    var prev = button(rtl ? "›" : "‹", function () { self.show(new Date(first.getTime() - DAY)); });
    var next = button(rtl ? "‹" : "›", function () { self.show(new Date(first.getTime() + 32 * DAY)); });
    prev.setAttribute("data-jalali-prev", "");
    next.setAttribute("data-jalali-next", "");
    var title = document.createElement("span");
    // "فروردین ۱۴۰۵": the month's name, then the year, as dates read on the pages.
    title.textContent = this.monthName.format(first) + " " + localise(j.year, this.digits);
    head.appendChild(prev); head.appendChild(title); head.appendChild(next);
    box.appendChild(head);
    var grid = document.createElement("div");
    grid.className = "jalali-picker-grid";
    // Weeks start on Saturday.
    for (var w = 0; w < 7; w++) {
      var name = document.createElement("span");
      name.className = "jalali-picker-weekday";
      name.textContent = this.weekday.format(new Date(Date.UTC(2026, 2, 21 + w)));
      grid.appendChild(name);
    }
    for (var blank = (first.getUTCDay() + 1) % 7; blank > 0; blank--) {
      grid.appendChild(document.createElement("span"));
    }
    for (var day = first; jalali(day).month === j.month; day = new Date(day.getTime() + DAY)) {
      (function (d) {
        var parts = jalali(d);
        var cell = button(localise(parts.day, self.digits), function () {
          var day = localise(parts.year + "/" + pad(parts.month) + "/" + pad(parts.day), self.digits);
          if (self.input.hasAttribute("data-jalali-time")) {
            day += " " + (self.input.value.trim().split(/\s+/)[1] || localise("00:00", self.digits));
          }
          self.input.value = day;
          self.input.dispatchEvent(new Event("change", { bubbles: true }));
          self.close();
        });
        cell.setAttribute("data-jalali-day", parts.year + "/" + pad(parts.month) + "/" + pad(parts.day));
        grid.appendChild(cell);
      })(day);
    }
    box.appendChild(grid);
  };
  function button(text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function start() {
    var inputs = document.querySelectorAll("input[data-jalali-date]");
    for (var i = 0; i < inputs.length; i++) {
      if (!inputs[i].jalaliPicker) inputs[i].jalaliPicker = new Picker(inputs[i]);
    }
  }
  document.addEventListener("DOMContentLoaded", start);
  // Inputs that htmx swaps in later get one too.
  document.addEventListener("htmx:afterSwap", start);
})();
