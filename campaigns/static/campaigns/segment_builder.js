// Segment builder: turns the one-rule form into JSON and adds it to the rules ("all").
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("add-rule");
  if (!button) return;
  button.addEventListener("click", function () {
    var form = document.getElementById("rule-form");
    var data = new FormData(form);
    var kind = data.get("kind");
    var rule = {};
    var channels = (data.get("channels") || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    var days = parseInt(data.get("within_days"), 10);
    if (kind === "event") {
      rule = { event: data.get("event"), did: data.get("did") === "on" };
      if (channels.length) rule.channels = channels;
      if (days) rule.within_days = days;
      var count = parseInt(data.get("min_count"), 10);
      if (count > 1) rule.min_count = count;
    } else if (kind === "orders") {
      rule = { orders: {} };
      if (channels.length) rule.orders.bought_in = channels;
      if (days) rule.orders.within_days = days;
    } else if (kind === "consent") {
      rule = { consent: data.get("channel_kind") || "email", purpose: "marketing" };
    } else if (kind === "home_store") {
      rule = { home_store: data.get("store") };
    } else if (kind === "near_store") {
      rule = { near_store: data.get("store"), within_km: parseFloat(data.get("within_km")) || 5 };
    } else if (kind === "identity") {
      rule = { identity: data.get("event") || "email" };
    } else {
      rule = { trait: data.get("event") || "locale", op: "exists" };
    }
    var box = document.getElementById("id_rules");
    var rules = {};
    try { rules = JSON.parse(box.value || "{}"); } catch (e) { rules = {}; }
    if (!rules.all) rules = Object.keys(rules).length ? { all: [rules] } : { all: [] };
    rules.all.push(rule);
    box.value = JSON.stringify(rules, null, 2);
    box.dispatchEvent(new Event("change"));
  });
});
