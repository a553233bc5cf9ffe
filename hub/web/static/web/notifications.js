// Live notifications: listen on ws/notifications/; a sticky alert (patient, pathway, hospital) for requests, an inbox
// with an unread count, and the page brought up to date when a request it shows changes state.
// Every stored notification has an id: the tab remembers the last one it saw (sessionStorage) and reconnects with
// ?since=<last id> to get what it missed; each id is shown once. The inbox is kept in this browser (localStorage,
// per user) and filled from the server's (/api/notifications/: unread ones, marked read there too) when it answers;
// a server without it, or answering in another shape, leaves the browser's own.
(function () {
  "use strict";
  var box = document.getElementById("live-notifications");
  if (!box) return;
  var alerts = document.getElementById("live-alerts");
  var inbox = document.getElementById("inbox");
  var inboxButton = document.getElementById("inbox-button");
  var inboxList = document.getElementById("inbox-list");
  var inboxEmpty = document.getElementById("inbox-empty");
  var unreadBadge = document.getElementById("unread-count");
  var labels = {};
  try { labels = JSON.parse(document.getElementById("live-labels").textContent); } catch (error) { labels = {}; }
  var storeKey = "hub.inbox." + (box.dataset.user || "");
  var MAX_KEPT = 50;
  var delay = 1000;
  var LAST_KEY = "hub.notifications.last";
  var last = null;
  try { last = JSON.parse(window.sessionStorage.getItem(LAST_KEY)); } catch (error) { last = null; }

  function seenId(message) {
    if (typeof message.id !== "number") return;
    if (last === null || message.id > last) {
      last = message.id;
      try { window.sessionStorage.setItem(LAST_KEY, JSON.stringify(last)); } catch (error) { /* private mode */ }
    }
  }
  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function word(group, code) { return (labels[group] && labels[group][code]) || code || ""; }
  function titleOf(message) { return (labels.event && labels.event[message.event]) || message.title || ""; }

  function load() {
    try { return JSON.parse(window.localStorage.getItem(storeKey) || "[]"); } catch (error) { return []; }
  }
  function save(items) {
    try { window.localStorage.setItem(storeKey, JSON.stringify(items.slice(0, MAX_KEPT))); } catch (error) { /* full */ }
  }
  function keyOf(message) {
    return String(message.id || [message.event, message.at, message.referral && message.referral.id].join("|"));
  }
  function detailUrl(id) { return box.dataset.detailUrl.replace("/0/", "/" + encodeURIComponent(id) + "/"); }

  // Keeps the message in the inbox; answers whether it is new to this browser. ``shown``: it is about to be shown
  // (a toast or an alert), which it may be once: a message the server's inbox listed first (the page loaded while
  // the socket was still catching up) is still shown when the socket brings it, unless it was read meanwhile.
  function remember(message, read, shown) {
    var items = load();
    var key = keyOf(message);
    var known = items.filter(function (item) { return item.key === key; })[0];
    if (known) {
      if (!shown || known.shown || known.read) return false;
      known.shown = true;
      save(items);
      return true;
    }
    items.unshift({ key: key, message: message, read: !!read, shown: !!shown });
    save(items);
    return true;
  }

  function renderInbox() {
    if (!inboxList) return;
    var items = load();
    var unread = items.filter(function (item) { return !item.read; }).length;
    if (unreadBadge) {
      unreadBadge.textContent = unread ? String(unread) : "";
      unreadBadge.hidden = !unread;
      if (inboxButton) inboxButton.setAttribute("aria-label", inboxButton.textContent.trim() + (unread ? " (" + unread + " " + (box.dataset.unreadLabel || "") + ")" : ""));
    }
    inboxList.textContent = "";
    items.forEach(function (item) {
      var message = item.message || {};
      var li = document.createElement("li");
      if (!item.read) li.className = "unread";
      var title = document.createElement("strong");
      title.textContent = titleOf(message);
      li.append(title);
      var text = describe(message);
      if (text) { var p = document.createElement("div"); p.textContent = text; li.append(p); }
      if (message.referral && message.referral.id) {
        var link = document.createElement("a");
        link.href = detailUrl(message.referral.id);
        link.textContent = box.dataset.openLabel;
        li.append(link);
      }
      inboxList.append(li);
    });
    if (inboxEmpty) inboxEmpty.hidden = items.length > 0;
  }

  function markAllRead() {
    var items = load();
    var ids = items.map(function (item) { return item.message && item.message.id; })
      .filter(function (id) { return typeof id === "number"; });
    save(items.map(function (item) { item.read = true; return item; }));
    renderInbox();
    if (ids.length) {
      fetch("/api/notifications/read", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ up_to: Math.max.apply(null, ids) }),
      }).catch(function () {});
    }
  }

  function describe(message) {
    var r = message.referral;
    if (!r) return message.body || "";
    return [r.patient, word("pathway", r.pathway === "other" ? "" : r.pathway), r.requesting_site, word("status", r.status)]
      .filter(Boolean).join(" · ");
  }

  function alertFor(message) {
    var r = message.referral;
    var item = document.createElement("div");
    item.className = "live-alert" + (r.urgency === "emergency" ? "" : " info");
    item.dataset.referral = r.id;
    var what = document.createElement("span");
    what.className = "what";
    var title = document.createElement("strong");
    title.textContent = (r.urgency === "emergency" ? word("urgency", "emergency") + " · " : "") + titleOf(message);
    var detail = document.createElement("span");
    detail.textContent = " " + describe(message);
    what.append(title, detail);
    var open = document.createElement("a");
    open.href = detailUrl(r.id);
    open.textContent = box.dataset.openLabel;
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", box.dataset.closeLabel);
    close.onclick = function () { item.remove(); };
    item.append(what, open, close);
    if (message.link && message.link.url) { // e.g. a consultation room to join (hub/consultations)
      var join = document.createElement("a");
      join.href = message.link.url;
      join.textContent = message.link.label || box.dataset.openLabel;
      item.insertBefore(join, close);
    }
    alerts.prepend(item);
    if (r.urgency !== "emergency") setTimeout(function () { item.remove(); }, 30000);
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
    if (message.link && message.link.url) {
      var join = document.createElement("a");
      join.href = message.link.url;
      join.textContent = message.link.label || box.dataset.openLabel;
      item.append(join);
    }
    box.append(item);
    setTimeout(function () { item.remove(); }, 30000);
  }

  function refreshWorklist() {
    var list = document.getElementById("worklist");
    if (!list) return;
    fetch(window.location.href, { headers: { "X-Fragment": "worklist" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) { list.innerHTML = html; document.dispatchEvent(new Event("hub:updated")); } })
      .catch(function () {});
  }

  function editing(root) {
    var active = document.activeElement;
    if (active && root.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
    return Array.prototype.some.call(root.querySelectorAll("textarea, input[type=text], input[type=password]"), function (el) {
      return el.value && el.value !== el.defaultValue;
    });
  }

  // The request's page: fetch it again and put in the parts that changed; a form being filled in is left alone.
  function refreshReferral(id) {
    var page = document.getElementById("referral-page");
    if (!page || String(page.dataset.referral) !== String(id)) return;
    fetch(window.location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("referral-page");
        if (!fresh) return;
        var keep = editing(page);
        Array.prototype.forEach.call(fresh.children, function (part) {
          var old = part.id ? document.getElementById(part.id) : null;
          if (keep && old && old.querySelector("form textarea, form input[type=text]")) return;
          if (old) old.replaceWith(part.cloneNode(true));
        });
        if (!keep) page.replaceWith(fresh);
        else page.dataset.status = fresh.dataset.status;
        document.dispatchEvent(new Event("hub:updated"));
      })
      .catch(function () {});
  }

  function received(message, fromServer) {
    if (!message || typeof message !== "object" || message.type === "error" || message.type === "pong") return;
    seenId(message);
    var fresh = remember(message, false, !fromServer);
    renderInbox();
    if (fromServer || !fresh) return;
    if (message.referral && message.referral.id && alerts) alertFor(message);
    else toast(message);
    refreshWorklist();
    if (message.referral && message.referral.id) refreshReferral(message.referral.id);
  }

  function serverInbox() {
    fetch("/api/notifications/?unread=true&limit=100", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        var list = Array.isArray(data) ? data : data && (data.results || data.notifications || data.items);
        if (!Array.isArray(list)) return;
        list.forEach(function (item) {
          if (!item || typeof item !== "object") return;
          var message = Object.assign({}, item.payload && typeof item.payload === "object" ? item.payload : {}, item.message || {});
          ["id", "event", "title", "body", "at"].forEach(function (key) {
            if (item[key] !== undefined && message[key] === undefined) message[key] = item[key];
          });
          if (message.title === undefined) return;
          remember(message, item.read === true || !!item.read_at);
        });
        renderInbox();
      })
      .catch(function () {});
  }

  if (inboxButton && inbox) {
    inboxButton.hidden = false;
    inboxButton.addEventListener("click", function () {
      var open = inbox.hidden;
      inbox.hidden = !open;
      inboxButton.setAttribute("aria-expanded", String(open));
      if (open) { renderInbox(); inbox.querySelector("h2").setAttribute("tabindex", "-1"); inbox.querySelector("h2").focus(); }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !inbox.hidden) { inbox.hidden = true; inboxButton.setAttribute("aria-expanded", "false"); inboxButton.focus(); }
    });
    var readAll = document.getElementById("inbox-read");
    if (readAll) readAll.addEventListener("click", markAllRead);
  }
  renderInbox();
  serverInbox();

  // Countdowns to response deadlines (cards and badges with data-due).
  function tick() {
    var now = Date.now();
    Array.prototype.forEach.call(document.querySelectorAll(".countdown[data-due]"), function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      if (isNaN(left)) return;
      if (left <= 0) { el.className = "badge breached"; el.textContent = "0:00"; return; }
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
    });
  }
  tick();
  setInterval(tick, 1000);

  if (!window.WebSocket) return;
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var query = last === null ? "" : "?since=" + encodeURIComponent(last);
    var socket = new WebSocket(scheme + window.location.host + "/ws/notifications/" + query);
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      received(message, false);
    };
    socket.onclose = function (event) {
      if (event.code === 4401) return; // signed out
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
