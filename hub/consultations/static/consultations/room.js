// The consultation room in the browser: the room's websocket (join, replay from the last seen sequence
// number, heartbeats, reconnect at once on a network change), chat with an outbox resent until acknowledged
// (shown once: by id and sequence number), presence, the presented record with annotations, the timeline,
// and the video call (call.js) signalled over the same socket.
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root) return;
  var T = JSON.parse(document.getElementById("room-strings").textContent);
  var ROOM = root.dataset.room, ME = Number(root.dataset.me);
  var SESSION_KEY = "hub.room." + ROOM + ".session", OUTBOX_KEY = "hub.room." + ROOM + ".outbox";
  var session = sessionStorage.getItem(SESSION_KEY);
  if (!session) { session = uid(); sessionStorage.setItem(SESSION_KEY, session); }

  var socket = null, lastSeq = 0, me = null, joined = false, everJoined = false, closedForGood = false;
  var seen = {}, byClientId = {}, presence = {}, participants = {}, annotations = [], presented = null;
  var outbox = JSON.parse(sessionStorage.getItem(OUTBOX_KEY) || "[]");
  var pongAt = 0, heartbeat = null, reconnectDelay = 500, gapTimer = null;
  var call = null, tool = "arrow", unread = 0;
  var early = []; // signals that came before the call existed (the devices were still being asked for)

  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function csrf() { var m = document.cookie.match(/csrftoken=([^;]+)/); return m ? m[1] : ""; }
  function time(iso) { var d = new Date(iso); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }
  function fmt(template, values) { return template.replace(/%\((\w+)\)s/g, function (_m, k) { return values[k] == null ? "" : values[k]; }); }

  // --- the socket ------------------------------------------------------------------------------------
  function linkState(state) { var e = $("link-state"); e.dataset.state = state; e.textContent = T["link_" + state] || state; }

  var signals = []; // signalling while the socket is being replaced (a network change): sent once joined again

  function send(frame) {
    if (socket && socket.readyState === 1 && (joined || frame.type === "join")) { socket.send(JSON.stringify(frame)); return true; }
    if (frame.type === "signal") signals.push(frame);
    return false;
  }

  var retryTimer = null;

  function connect() {
    if (closedForGood) return;
    // One socket at a time: a retry still pending from an earlier drop must not replace this one (the hub
    // would tell the newer one "replaced" and end the call).
    clearTimeout(retryTimer);
    retryTimer = null;
    if (socket) { var old = socket; socket = null; old.onclose = null; old.onmessage = null; try { old.close(); } catch (e) { /* gone */ } }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.dataset.ws);
    linkState(everJoined ? "reconnecting" : "connecting");
    var mine = socket;
    socket.onopen = function () {
      reconnectDelay = 500;
      send({ type: "join", session: session, since: lastSeq || null, device: { kind: HubCall.deviceKind(), label: HubCall.deviceLabel() } });
    };
    socket.onmessage = function (message) {
      if (mine !== socket) return; // a frame of a socket already replaced (its "replaced" is not for us)
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      pongAt = Date.now();
      handle(frame);
    };
    socket.onclose = function (event) {
      if (mine !== socket) return;
      joined = false;
      clearInterval(heartbeat);
      if (event.code === 4404 || event.code === 4403 || event.code === 4410 || event.code === 4409 || closedForGood) return;
      linkState("reconnecting");
      retryTimer = setTimeout(connect, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 5000);
    };
  }

  function reconnectNow() {
    // A network change leaves the old TCP connection dead without telling anyone: replace it at once.
    if (closedForGood) return;
    joined = false;
    clearInterval(heartbeat);
    connect();
  }

  function startHeartbeat() {
    clearInterval(heartbeat);
    pongAt = Date.now();
    heartbeat = setInterval(function () {
      if (Date.now() - pongAt > 12000) { reconnectNow(); return; }
      send({ type: "ping", t: Date.now() });
    }, 5000);
  }

  window.addEventListener("online", reconnectNow);
  if (navigator.connection && navigator.connection.addEventListener) navigator.connection.addEventListener("change", function () { if (everJoined) reconnectNow(); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden && socket && socket.readyState !== 1) reconnectNow(); });

  function handle(frame) {
    switch (frame.type) {
      case "state": return onState(frame);
      case "event": return onEvent(frame);
      case "events": frame.events.forEach(onEvent); return;
      case "ack": return onAck(frame);
      case "presence": return onPresence(frame.connection);
      case "presence.left": return onLeft(frame.connection);
      case "speaking": return onSpeaking(frame);
      case "signal": if (call) call.onsignal(frame); else if (early.length < 500) early.push(frame); return;
      case "pointer": return onPointer(frame);
      case "sfu": if (window.HubSfu && call) window.HubSfu.join(frame, call); return;
      case "media": return onMediaMode(frame.mode);
      case "removed": case "ended": case "replaced": return onClosed(frame);
      case "error": return onError(frame);
    }
  }

  function onState(state) {
    var again = !!call;
    me = state.me;
    joined = everJoined = true;
    linkState("connected");
    startHeartbeat();
    participants = {};
    state.participants.forEach(function (p) { participants[p.id] = p; });
    Object.keys(presence).forEach(function (id) { if (!state.presence.some(function (c) { return c.id === id; })) onLeft(id); });
    state.presence.forEach(onPresence);
    state.events.forEach(onEvent);
    if (state.truncated) $("messages").prepend(el("li", "muted", T.older_in_history));
    lastSeq = Math.max(lastSeq, state.room.seq);
    annotations = state.annotations || [];
    showPresented(state.presented && state.presented.ref ? state.presented : null);
    renderPeople();
    flushOutbox();
    startCall(state.media);
    var queued = signals;
    signals = [];
    queued.forEach(send);
    if (again) publishPresence();
  }

  function onEvent(event) {
    if (seen[event.seq]) return;
    if (event.seq > lastSeq + 1 && joined && Object.keys(seen).length) scheduleGapFill();
    seen[event.seq] = true;
    lastSeq = Math.max(lastSeq, event.seq);
    var data = event.data || {};
    switch (event.kind) {
      case "chat": addMessage(event); break;
      case "presented": timeline(event, data.ref ? fmt(T.presented, { ref: data.title || data.ref }) : T.stopped_presenting);
        if (event.seq >= (presented ? presented.seq || 0 : 0)) showPresented(data.ref ? { ref: data.ref, by: event.actor && event.actor.id, seq: event.seq } : null);
        break;
      case "annotation": annotations.push({ seq: event.seq, target: data.target, shape: data.shape }); drawAnnotations(); break;
      case "snapshot": addMessage(event); timeline(event, T.snapshot_taken); addRecord(data.media, data.title); break;
      case "decision": timeline(event, (T["decision_" + data.decision] || data.decision) + ": " + data.text); break;
      case "joined": timeline(event, T.joined); break;
      case "left": timeline(event, T.left); break;
      case "admitted": participants[data.user] = participants[data.user] || { id: data.user, name: data.name }; timeline(event, fmt(T.admitted, { name: data.name })); renderPeople(); break;
      case "removed": delete participants[data.user]; timeline(event, fmt(T.removed, { name: data.name })); renderPeople(); break;
      case "opened": timeline(event, T.opened); break;
      case "ended": timeline(event, T.ended); break;
    }
  }

  function scheduleGapFill() {
    clearTimeout(gapTimer);
    var from = lastSeq;
    gapTimer = setTimeout(function () { send({ type: "sync", since: Math.max(0, from - 50) }); }, 1500);
  }

  function onAck(ack) {
    outbox = outbox.filter(function (item) { return item.id !== ack.id; });
    sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox));
    var pending = document.querySelector('[data-client-id="' + ack.id + '"]');
    if (pending) pending.classList.remove("pending");
  }

  function onError(frame) {
    if (frame.id) {
      outbox = outbox.filter(function (item) { return item.id !== frame.id; });
      sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox));
      var pending = document.querySelector('[data-client-id="' + frame.id + '"]');
      if (pending) { pending.classList.add("failed"); pending.title = frame.detail; }
    }
    banner(frame.detail, "error");
  }

  function onClosed(frame) {
    closedForGood = frame.type !== "replaced";
    if (call) call.stop();
    banner(frame.detail || (frame.type === "replaced" ? T.replaced : ""), frame.type === "ended" ? "info" : "error");
    if (frame.type === "ended") setTimeout(function () { location.href = root.dataset.historyUrl; }, 2500);
  }

  function banner(text, kind) {
    var box = $("room-banner");
    box.textContent = text;
    box.className = "room-banner " + (kind || "info");
    box.hidden = !text;
    if (kind !== "error-sticky") setTimeout(function () { if (box.textContent === text && kind !== "wechat") box.hidden = true; }, 8000);
  }

  // --- chat ----------------------------------------------------------------------------------------
  function flushOutbox() { outbox.forEach(function (item) { send(item); }); }

  function addMessage(event) {
    var list = $("messages");
    var existing = event.id && event.actor && event.actor.id === ME ? list.querySelector('[data-client-id="' + event.id + '"]') : null;
    var item = existing || el("li", "message");
    item.className = "message" + (event.actor && event.actor.id === ME ? " mine" : "");
    item.dataset.seq = event.seq;
    if (event.id) item.dataset.clientId = event.id;
    item.textContent = "";
    var head = el("div", "who", (event.actor ? event.actor.name : "") + " · " + time(event.at));
    item.append(head);
    var data = event.data || {};
    if (data.text) item.append(el("p", "text", data.text));
    var attachment = data.attachment || (event.kind === "snapshot" ? { media: data.media, name: data.title, content_type: "image/jpeg" } : null);
    if (attachment) {
      if (attachment.media) {
        var img = el("img", "thumb");
        img.alt = attachment.name || "";
        img.loading = "lazy";
        img.src = root.dataset.mediaUrl.replace("MEDIA", attachment.media.split("/")[1]);
        item.append(img);
        var present = el("button", "present", T.present);
        present.type = "button";
        present.dataset.ref = attachment.media;
        item.append(present);
      } else {
        item.append(el("span", "file", attachment.name));
      }
    }
    if (!existing) {
      // Ordered by sequence number, whatever order frames arrived in.
      var after = null;
      Array.prototype.forEach.call(list.children, function (child) { if (Number(child.dataset.seq || Infinity) > event.seq && !after) after = child; });
      list.insertBefore(item, after);
    }
    list.scrollTop = list.scrollHeight;
    if (!activeTab("chat") && !(event.actor && event.actor.id === ME)) { unread++; $("unread").hidden = false; $("unread").textContent = unread; }
  }

  $("chat-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = $("chat-text"), text = input.value.trim();
    if (!text) return;
    var frame = { type: "chat", id: uid(), text: text };
    outbox.push(frame);
    sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox));
    var item = el("li", "message mine pending");
    item.dataset.clientId = frame.id;
    item.append(el("div", "who", T.you), el("p", "text", text));
    $("messages").append(item);
    input.value = "";
    send(frame);
  });

  $("chat-file").addEventListener("change", function () {
    var file = this.files[0];
    if (!file) return;
    var form = new FormData();
    form.append("file", file);
    form.append("id", uid());
    upload(root.dataset.attachmentUrl, form);
    this.value = "";
  });

  function upload(url, form) {
    return fetch(url, { method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": csrf() } })
      .then(function (r) { return r.json().then(function (body) { if (!r.ok) banner(body.detail || T.failed, "error"); return body; }); })
      .catch(function () { banner(T.failed, "error"); });
  }

  // --- presence and participants --------------------------------------------------------------------
  function onPresence(connection) {
    presence[connection.id] = connection;
    renderPeople();
    if (call && me && connection.id !== me.connection && connection.state === "connected") call.connect(connection.id, connection.label);
    updateTile(connection);
    placeStreams(connection.id);
  }

  // Each remote video stream in the tile of its source (camera, ultrasound, screen), as the sender's
  // presence names them; a stream that arrived before its presence is placed again when it does.
  function placeStreams(id) {
    var peer = call && call.peers[id];
    if (!peer) return;
    var connection = presence[id];
    Object.keys(peer.streams).forEach(function (streamId) {
      var stream = peer.streams[streamId];
      if (!stream.getVideoTracks().length) return;
      var kind = kindOfStream(id, streamId);
      if (!kind) {
        var listed = connection && connection.sources && connection.sources.length;
        if (listed) return; // not (or no longer) one of its sources
        kind = "camera";
      }
      var video = tile(id, kind, connection ? connection.user.name : "").querySelector("video");
      if (video.srcObject !== stream) video.srcObject = stream;
    });
  }

  function onLeft(id) {
    delete presence[id];
    if (call) call.disconnect(id);
    removeTiles(id);
    renderPeople();
  }

  function onSpeaking(frame) {
    document.querySelectorAll('[data-connection="' + frame.connection + '"]').forEach(function (tile) { tile.classList.toggle("speaking", frame.speaking); });
  }

  function renderPeople() {
    var list = $("people");
    if (!list) return;
    list.textContent = "";
    Object.keys(participants).forEach(function (id) {
      var person = participants[id];
      var devices = Object.keys(presence).map(function (k) { return presence[k]; }).filter(function (c) { return c.user.id === Number(id); });
      var item = el("li", devices.length ? "online" : "offline");
      item.append(el("strong", null, person.name || ""), el("span", "muted", " " + (person.site || "")));
      devices.forEach(function (c) {
        var state = c.state === "reconnecting" ? T.reconnecting : (c.audio_muted ? T.muted : T.speaking_on);
        item.append(el("span", "device", " · " + (T["device_" + c.device] || c.device) + " (" + state + ")"));
      });
      if (me && me.host && Number(id) !== ME && person.room_role !== "owner" && person.room_role !== "requester") {
        var remove = el("button", "remove", T.remove);
        remove.type = "button";
        remove.onclick = function () {
          if (!confirm(fmt(T.confirm_remove, { name: person.name }))) return;
          fetch(root.dataset.participantsUrl + "/" + id, { method: "DELETE", credentials: "same-origin", headers: { "X-CSRFToken": csrf() } });
        };
        item.append(remove);
      }
      list.append(item);
    });
  }

  // --- timeline --------------------------------------------------------------------------------------
  function timeline(event, text) {
    var list = $("timeline");
    var item = el("li", "kind-" + event.kind);
    item.dataset.seq = event.seq;
    item.append(el("time", null, time(event.at)), el("span", null, " " + (event.actor ? event.actor.name + " · " : "") + text));
    var after = null;
    Array.prototype.forEach.call(list.children, function (child) { if (Number(child.dataset.seq) > event.seq && !after) after = child; });
    list.insertBefore(item, after);
  }

  $("decision-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("decision-text").value.trim();
    if (!text) return;
    send({ type: "decision", id: uid(), decision: $("decision-kind").value, text: text });
    $("decision-text").value = "";
  });

  var invite = $("invite-form");
  if (invite) invite.addEventListener("submit", function (e) {
    e.preventDefault();
    fetch(root.dataset.participantsUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ usernames: [$("invitee").value] }),
    }).then(function (r) { if (!r.ok) r.json().then(function (b) { banner(b.detail, "error"); }); });
  });

  // Ending with a conclusion signs the opinion: the signer's PIN is asked then (and sent only then).
  function errorText(body) {
    var detail = body && body.detail;
    if (detail && typeof detail === "object") {
      return Object.keys(detail).map(function (k) { return [].concat(detail[k]).join(" "); }).join(" ");
    }
    return detail || T.failed;
  }
  var end = $("end-form"), conclusion = $("opinion-conclusion"), pinRow = $("opinion-pin-row"), pin = $("opinion-pin");
  function signing() { return !!(conclusion && conclusion.value.trim()); }
  if (conclusion && pinRow) conclusion.addEventListener("input", function () { pinRow.hidden = !signing(); });
  if (end) end.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = {};
    ["title", "conclusion", "recommendations"].forEach(function (k) { var f = $("opinion-" + k); if (f) body[k] = f.value; });
    if (signing()) {
      pinRow.hidden = false;
      if (!/^\d{6}$/.test(pin.value.trim())) { banner(T.pin_needed, "error"); pin.focus(); return; }
      if (!confirm(T.confirm_end_signed)) return;
      body.pin = pin.value.trim();
    } else if (!confirm(T.confirm_end)) return;
    fetch(root.dataset.endUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() }, body: JSON.stringify(body),
    }).then(function (r) {
      if (pin) pin.value = "";
      if (!r.ok) r.json().then(function (b) { banner(errorText(b), "error"); if (signing()) pin.focus(); });
    });
  });

  // --- the shared record ---------------------------------------------------------------------------
  document.addEventListener("click", function (e) {
    var button = e.target.closest("button.present");
    if (button) send({ type: "present", ref: button.dataset.ref });
  });
  $("btn-unpresent").addEventListener("click", function () { send({ type: "present", ref: null }); });

  function addRecord(ref, title) {
    var list = $("records");
    if (!list || !ref || list.querySelector('[data-ref="' + ref + '"]')) return;
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var item = el("li");
    item.dataset.ref = ref;
    var button = el("button", "present", T.present);
    button.type = "button";
    button.dataset.ref = ref;
    item.append(el("span", "record-title", "Media · " + (title || ref)), button);
    list.prepend(item);
  }

  function showPresented(next) {
    var box = $("presented");
    if (!next) { presented = null; box.hidden = true; $("presented-body").textContent = ""; return; }
    if (presented && presented.ref === next.ref) { presented = next; return; }
    presented = next;
    var parts = next.ref.split("/");
    var url = root.dataset.recordUrl.replace("/T/", "/" + parts[0] + "/").replace("/I/", "/" + parts[1] + "/");
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : ""; }).then(function (html) {
      if (!presented || presented.ref !== next.ref) return;
      $("presented-body").innerHTML = html;
      var who = participants[next.by];
      $("presented-by").textContent = fmt(T.presented_by, { name: who ? who.name : "" });
      box.hidden = false;
      setupCanvas();
      switchTab("record");
    });
  }

  // Annotations: drawn in coordinates relative to the shown image (0..1), so every screen size agrees.
  document.querySelectorAll(".annot-tools .tool[data-tool]").forEach(function (b) {
    b.addEventListener("click", function () { tool = b.dataset.tool; document.querySelectorAll(".annot-tools .tool").forEach(function (x) { x.setAttribute("aria-pressed", x === b); }); });
  });

  function setupCanvas() {
    var stage = document.querySelector("#presented-body .annotatable");
    if (!stage) return;
    var canvas = el("canvas", "annotations");
    stage.append(canvas);
    var img = stage.querySelector("img");
    function resize() { canvas.width = stage.clientWidth; canvas.height = stage.clientHeight; drawAnnotations(); }
    if (img && !img.complete) img.addEventListener("load", resize); else resize();
    window.addEventListener("resize", resize);
    var points = null;
    function at(e) { var r = canvas.getBoundingClientRect(); return [Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (e.clientY - r.top) / r.height))]; }
    canvas.addEventListener("pointerdown", function (e) { points = [at(e)]; canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener("pointermove", function (e) { if (points && tool === "freehand" && points.length < 400) { points.push(at(e)); drawAnnotations({ kind: tool, points: points, color: "#ff3b30" }); } });
    canvas.addEventListener("pointerup", function (e) {
      if (!points) return;
      points.push(at(e));
      if (tool !== "freehand") points = [points[0], points[points.length - 1]];
      send({ type: "annotate", id: uid(), target: presented.ref, shape: { kind: tool, points: points, color: "#ff3b30" } });
      points = null;
    });
  }

  function drawAnnotations(draft) {
    var canvas = document.querySelector("#presented-body canvas.annotations");
    if (!canvas || !presented) return;
    var c = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    c.clearRect(0, 0, w, h);
    var shapes = annotations.filter(function (a) { return a.target === presented.ref; }).map(function (a) { return a.shape; });
    if (draft) shapes.push(draft);
    shapes.forEach(function (s) {
      c.strokeStyle = s.color || "#ff3b30"; c.lineWidth = 3; c.beginPath();
      var p = s.points.map(function (q) { return [q[0] * w, q[1] * h]; });
      if (s.kind === "circle" && p.length > 1) { c.arc(p[0][0], p[0][1], Math.hypot(p[1][0] - p[0][0], p[1][1] - p[0][1]), 0, 2 * Math.PI); }
      else { c.moveTo(p[0][0], p[0][1]); p.slice(1).forEach(function (q) { c.lineTo(q[0], q[1]); }); }
      c.stroke();
      if (s.kind === "arrow" && p.length > 1) {
        var a = p[p.length - 2], b = p[p.length - 1], angle = Math.atan2(b[1] - a[1], b[0] - a[0]);
        c.beginPath(); c.moveTo(b[0], b[1]);
        c.lineTo(b[0] - 14 * Math.cos(angle - 0.4), b[1] - 14 * Math.sin(angle - 0.4));
        c.lineTo(b[0] - 14 * Math.cos(angle + 0.4), b[1] - 14 * Math.sin(angle + 0.4));
        c.closePath(); c.fillStyle = s.color; c.fill();
      }
    });
  }

  // --- tabs (phones show one pane at a time) --------------------------------------------------------
  function activeTab(name) { var pane = document.querySelector('.pane[data-pane="' + name + '"]'); return pane && pane.classList.contains("active"); }
  function switchTab(name) {
    document.querySelectorAll(".room-tabs [data-tab]").forEach(function (b) { b.setAttribute("aria-selected", b.dataset.tab === name); });
    document.querySelectorAll(".pane").forEach(function (p) { p.classList.toggle("active", p.dataset.pane === name); });
    if (name === "chat") { unread = 0; $("unread").hidden = true; }
  }
  document.querySelectorAll(".room-tabs [data-tab]").forEach(function (b) { b.addEventListener("click", function () { switchTab(b.dataset.tab); }); });

  // --- video ---------------------------------------------------------------------------------------
  function tileId(owner, kind) { return "tile-" + owner + "-" + kind; }

  function tile(owner, kind, name) {
    var id = tileId(owner, kind), box = $(id);
    if (box) return box;
    box = el("figure", "tile kind-" + kind);
    box.id = id;
    box.dataset.connection = owner;
    box.dataset.kind = kind;
    var video = el("video");
    video.autoplay = true; video.playsInline = true; video.setAttribute("playsinline", "");
    if (owner === (me && me.connection)) video.muted = true;
    box.append(video, el("figcaption", null, (name || "") + (kind !== "camera" ? " · " + (T["source_" + kind] || kind) : "")));
    if (kind === "ultrasound" || kind === "screen") {
      var pointer = el("span", "pointer"); pointer.hidden = true; box.append(pointer);
      var shot = el("button", "snapshot", T.snapshot); shot.type = "button"; box.append(shot);
      shot.onclick = function () { snapshot(video, kind); };
      video.addEventListener("pointermove", throttle(function (e) { pointAt(e, video, owner, kind, true); }, 50));
      video.addEventListener("pointerleave", function (e) { pointAt(e, video, owner, kind, false); });
      $("tiles").prepend(box);
    } else {
      $("tiles").append(box);
    }
    return box;
  }

  function throttle(fn, ms) { var last = 0; return function (e) { var now = Date.now(); if (now - last >= ms) { last = now; fn(e); } }; }

  function pointAt(e, video, owner, kind, visible) {
    var r = video.getBoundingClientRect();
    var x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), y = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));
    send({ type: "pointer", owner: owner, source: kind, x: x, y: y, visible: visible });
  }

  function onPointer(frame) {
    var box = $(tileId(frame.owner, frame.source));
    if (!box) return;
    var dot = box.querySelector(".pointer");
    dot.hidden = !frame.visible;
    dot.style.left = (frame.x * 100) + "%";
    dot.style.top = (frame.y * 100) + "%";
  }

  function snapshot(video, kind) {
    if (!video.videoWidth) return;
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob(function (blob) {
      var form = new FormData();
      form.append("file", blob, "snapshot.jpg");
      form.append("id", uid());
      form.append("source", kind);
      form.append("width", canvas.width);
      form.append("height", canvas.height);
      upload(root.dataset.snapshotUrl, form).then(function (body) { if (body && body.seq) banner(T.snapshot_saved, "info"); });
    }, "image/jpeg", 0.92);
  }

  function updateTile(connection) {
    document.querySelectorAll('[data-connection="' + connection.id + '"]').forEach(function (box) {
      box.classList.toggle("muted-audio", connection.audio_muted);
      box.classList.toggle("reconnecting", connection.state === "reconnecting");
      var kinds = (connection.sources || []).map(function (s) { return s.kind; });
      if (box.dataset.kind !== "camera" && kinds.indexOf(box.dataset.kind) < 0 && connection.id !== (me && me.connection)) box.remove();
    });
  }

  function removeTiles(owner) { document.querySelectorAll('[data-connection="' + owner + '"]').forEach(function (b) { b.remove(); }); }

  function kindOfStream(connectionId, streamId) {
    var connection = presence[connectionId];
    var source = connection && (connection.sources || []).filter(function (s) { return s.stream === streamId; })[0];
    return source ? source.kind : null;
  }

  function publishPresence() {
    if (!call) return;
    send({ type: "presence", audio_muted: call.audioMuted, video_muted: call.videoMuted, sources: call.sourceList() });
  }

  function startCall(media) {
    if (call) { call.refresh(media.ice_servers, false); Object.keys(presence).forEach(function (id) { if (id !== me.connection && presence[id].state === "connected") call.connect(id, presence[id].label); }); return; }
    var sfu = media.mode === "sfu" && window.HubSfu;
    call = new HubCall.Call({
      send: send,
      log: function () { if (window.console) console.debug.apply(console, ["[room]"].concat([].slice.call(arguments))); },
      onlocal: function (kind, stream) {
        if (!stream) { var gone = $(tileId(me.connection, kind)); if (gone) gone.remove(); publishPresence(); return; }
        var box = tile(me.connection, kind, T.you);
        box.classList.add("local");
        box.querySelector("video").srcObject = stream;
        publishPresence();
      },
      onremote: function (peer, stream, track, sfuKind) {
        if (sfuKind) { // a track from the SFU: the sender named its source
          if (track.kind === "audio") {
            var a = $("audio-" + peer.id) || document.body.appendChild(Object.assign(el("audio"), { id: "audio-" + peer.id, autoplay: true }));
            a.srcObject = stream;
            return;
          }
          var owner = presence[peer.id];
          tile(peer.id, sfuKind, owner ? owner.user.name : "").querySelector("video").srcObject = stream;
          return;
        }
        if (track.kind === "audio") {
          var audio = $("audio-" + peer.id) || document.body.appendChild(Object.assign(el("audio"), { id: "audio-" + peer.id, autoplay: true }));
          audio.srcObject = stream;
          return;
        }
        placeStreams(peer.id);
      },
      onremoteend: function (id) { removeTiles(id); var a = $("audio-" + id); if (a) a.remove(); },
      onpeerstate: function (peer, state) { document.querySelectorAll('[data-connection="' + peer.id + '"]').forEach(function (b) { b.dataset.ice = state; }); },
    });
    call.me = me.connection;
    call.iceServers = media.ice_servers || [];
    call.sfu = !!sfu;
    if (sfu) call.connect = function () { return null; }; // media through the SFU, not a mesh
    call.remoteMuted = function (id) { return presence[id] && presence[id].audio_muted; };
    window.hubRoomCall = call; // for diagnostics and the browser tests
    early.splice(0).forEach(function (frame) { call.onsignal(frame); });
    call.start().then(function () {
      if (sfu) send({ type: "sfu" });
      Object.keys(presence).forEach(function (id) { if (id !== me.connection && presence[id].state === "connected") call.connect(id, presence[id].label); });
      publishPresence();
      speakingDetector();
      listCameras();
    }).catch(function () { banner(T.no_media, "error"); });
  }

  // The room grew past a mesh (an expert more than four): the peers are dropped and media goes through the SFU.
  function onMediaMode(mode) {
    if (!call || mode !== "sfu" || call.sfu || !window.HubSfu) return;
    call.sfu = true;
    call.connect = function () { return null; };
    Object.keys(call.peers).forEach(function (id) { call.disconnect(id); });
    send({ type: "sfu" });
  }

  function speakingDetector() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx || !call.audio) return;
    var ctx = new Ctx(), analyser = ctx.createAnalyser(), data = new Uint8Array(256), speaking = false, changed = 0;
    ctx.createMediaStreamSource(new MediaStream([call.audio])).connect(analyser);
    setInterval(function () {
      analyser.getByteFrequencyData(data);
      var level = data.reduce(function (a, b) { return a + b; }, 0) / data.length;
      var now = level > 18 && !call.audioMuted;
      if (now !== speaking && Date.now() - changed > 400) { speaking = now; changed = Date.now(); send({ type: "speaking", speaking: now }); }
    }, 200);
  }

  function listCameras() {
    call.cameras().then(function (cameras) {
      var select = $("us-device");
      select.textContent = "";
      cameras.forEach(function (camera, i) { var option = el("option", null, camera.label || (T.camera + " " + (i + 1))); option.value = camera.deviceId; select.append(option); });
      if (cameras.length > 1) select.selectedIndex = cameras.length - 1; // the capture card is usually the last camera
    });
  }

  function pressed(button, on) { button.setAttribute("aria-pressed", on ? "true" : "false"); }
  $("btn-mic").onclick = function () { call.setAudioMuted(!call.audioMuted); pressed(this, !call.audioMuted); publishPresence(); };
  $("btn-cam").onclick = function () { call.setVideoMuted(!call.videoMuted); pressed(this, !call.videoMuted); publishPresence(); };
  $("btn-flip").onclick = function () { call.flip().catch(function () { banner(T.no_media, "error"); }); };
  $("btn-audio-only").onclick = function () { call.setAudioOnly(!call.audioOnly); pressed(this, call.audioOnly); };
  $("btn-screen").onclick = function () {
    if (call.sources.screen) { call.removeSource("screen"); return; }
    if (!navigator.mediaDevices.getDisplayMedia) { banner(T.no_screen, "error"); return; }
    call.startScreen().catch(function () {});
  };
  $("btn-us-start").onclick = function () {
    call.startUltrasound($("us-device").value).then(function () { $("btn-us-start").hidden = true; $("btn-us-stop").hidden = false; })
      .catch(function () { banner(T.no_media, "error"); });
  };
  $("btn-us-stop").onclick = function () { call.removeSource("ultrasound"); $("btn-us-start").hidden = false; $("btn-us-stop").hidden = true; };
  $("btn-leave").onclick = function () { closedForGood = true; send({ type: "leave" }); if (call) call.stop(); location.href = root.querySelector(".room-back").href; };

  // --- WeChat's in-app browser: can it send and receive media? ------------------------------------------
  if (HubCall.WECHAT || !window.RTCPeerConnection) {
    HubCall.selfTest().then(function (ok) { if (!ok) banner(T.open_in_browser, "wechat"); });
  }

  connect();
})();
