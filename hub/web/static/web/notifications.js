// Live notifications: listen on ws/notifications/, show a toast, refresh the worklist when one is on the page.
// Every notification has an id: the tab remembers the last one it saw and the ids it showed (sessionStorage),
// reconnects with ?since=<last id> to get what it missed, and shows each id once.
(function () {
  "use strict";
  var box = document.getElementById("live-notifications");
  if (!box || !window.WebSocket) return;
  var delay = 1000;
  var LAST_KEY = "hub.notifications.last", SEEN_KEY = "hub.notifications.seen", SEEN_KEPT = 200;

  function stored(key, fallback) {
    try { var value = JSON.parse(window.sessionStorage.getItem(key)); return value === null ? fallback : value; }
    catch (error) { return fallback; }
  }
  function store(key, value) {
    try { window.sessionStorage.setItem(key, JSON.stringify(value)); } catch (error) { /* private mode: in memory only */ }
  }
  var last = stored(LAST_KEY, null), seen = stored(SEEN_KEY, []);

  function firstTime(message) {
    if (typeof message.id !== "number") return true; // not a stored notification: nothing to deduplicate on
    if (seen.indexOf(message.id) !== -1) return false;
    seen.push(message.id);
    if (seen.length > SEEN_KEPT) seen = seen.slice(-SEEN_KEPT);
    if (last === null || message.id > last) last = message.id;
    store(SEEN_KEY, seen);
    store(LAST_KEY, last);
    return true;
  }

  function toast(message) {
    var item = document.createElement("div");
    item.className = "toast";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", box.dataset.closeLabel);
    close.onclick = function () { item.remove(); };
    var title = document.createElement("strong");
    title.textContent = message.title || "";
    item.append(close, title);
    if (message.body) {
      var body = document.createElement("p");
      body.textContent = message.body;
      item.append(body);
    }
    if (message.link && message.link.url) { // e.g. a consultation room to join (hub/consultations)
      var join = document.createElement("a");
      join.href = message.link.url;
      join.textContent = message.link.label || box.dataset.openLabel;
      item.append(join);
    }
    if (message.referral && message.referral.id) {
      var link = document.createElement("a");
      link.href = box.dataset.detailUrl.replace("/0/", "/" + encodeURIComponent(message.referral.id) + "/");
      link.textContent = box.dataset.openLabel;
      item.append(link);
    }
    box.append(item);
    setTimeout(function () { item.remove(); }, 30000);
  }

  function refreshWorklist() {
    var list = document.getElementById("worklist");
    if (!list) return;
    fetch(window.location.href, { headers: { "X-Fragment": "worklist" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) list.innerHTML = html; })
      .catch(function () {});
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var query = last === null ? "" : "?since=" + encodeURIComponent(last);
    var socket = new WebSocket(scheme + window.location.host + "/ws/notifications/" + query);
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (message.type === "error" || message.type === "pong" || !firstTime(message)) return;
      toast(message);
      refreshWorklist();
    };
    socket.onclose = function (event) {
      if (event.code === 4401) return; // signed out
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
