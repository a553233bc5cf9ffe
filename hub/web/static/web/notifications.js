// Live notifications: listen on ws/notifications/, show a toast, refresh the worklist when one is on the page.
(function () {
  "use strict";
  var box = document.getElementById("live-notifications");
  if (!box || !window.WebSocket) return;
  var delay = 1000;

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
    var socket = new WebSocket(scheme + window.location.host + "/ws/notifications/");
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
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
