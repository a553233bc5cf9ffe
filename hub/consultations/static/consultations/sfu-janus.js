// Rooms larger than a mesh carries send their media through the Janus WebRTC Server's VideoRoom plugin
// (deploy/janus/). The hub creates the Janus room and answers the room socket's "sfu" frame with a signed
// token, the room's number and this admission's access token. This page then speaks the Janus API over
// Janus's WebSocket (https://janus.conf.meetecho.com/docs/rest.html):
// - one publisher connection carries the microphone, the camera (simulcast: phones take the low layer) and
//   any extra source (ultrasound, screen), each video stream described by its kind;
// - one subscriber connection per other browser's feed, built anew when that feed's streams change;
// - keepalives every 25 s; a lost socket or a failed connection is rebuilt at once (media back within seconds
//   after a Wi-Fi to 4G switch), a failed subscription alone is subscribed again.
// The room's own socket still carries chat, presence, the pointer and everything else.
(function () {
  "use strict";
  var SIMULCAST = [
    { rid: "h", active: true, maxBitrate: 900000 },
    { rid: "m", active: true, maxBitrate: 300000, scaleResolutionDownBy: 2 },
    { rid: "l", active: true, maxBitrate: 120000, scaleResolutionDownBy: 4 },
  ];
  var SMALL_SCREEN = 600;

  function tx() { return Math.random().toString(36).slice(2, 12); }

  function Janus(frame, call) {
    this.frame = frame;
    this.call = call;
    this.pending = {};
    this.handles = {}; // handle id -> {onevent}
    this.feeds = {}; // feed id -> {handle, pc, owner, streams}
    this.closed = false;
    this.attempt = 0;
  }

  Janus.prototype.log = function () { this.call.log.apply(this.call, ["[sfu]"].concat([].slice.call(arguments))); };

  Janus.prototype.open = function () {
    var self = this;
    var ws = this.ws = new WebSocket(this.frame.url, "janus-protocol");
    ws.onmessage = function (message) { self.onmessage(JSON.parse(message.data)); };
    ws.onclose = function () { if (ws === self.ws) self.lost("socket closed"); };
    ws.onopen = function () {
      self.request({ janus: "create" }).then(function (answer) {
        self.session = answer.data.id;
        clearInterval(self.keepalive);
        self.keepalive = setInterval(function () { self.send({ janus: "keepalive", session_id: self.session }); }, 25000);
        return self.publish();
      }).then(function () { self.attempt = 0; }).catch(function (error) { self.lost(String(error && error.message || error)); });
    };
  };

  Janus.prototype.send = function (message) {
    message.transaction = message.transaction || tx();
    message.token = this.frame.token;
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(message));
    return message.transaction;
  };

  // A request answered by "success" (core) or by the plugin's event carrying the same transaction.
  Janus.prototype.request = function (message) {
    var self = this;
    return new Promise(function (resolve, reject) {
      self.pending[self.send(message)] = { resolve: resolve, reject: reject };
    });
  };

  Janus.prototype.message = function (handle, body, jsep) {
    var message = { janus: "message", session_id: this.session, handle_id: handle, body: body };
    if (jsep) message.jsep = jsep;
    return this.request(message);
  };

  Janus.prototype.onmessage = function (message) {
    var waiting = message.transaction && this.pending[message.transaction];
    if (message.janus === "ack" && waiting && !message.hint) return; // the plugin answers later
    if (waiting) {
      delete this.pending[message.transaction];
      var data = message.plugindata && message.plugindata.data;
      if (message.janus === "error") return waiting.reject(new Error(message.error.reason));
      if (data && data.error_code) return waiting.reject(new Error(data.error));
      waiting.resolve(message);
    }
    var handle = this.handles[message.sender];
    if (handle && message.janus === "event" && !waiting) handle.onevent(message.plugindata.data, message.jsep);
    if (handle && message.janus === "hangup" && handle.onhangup) handle.onhangup();
  };

  Janus.prototype.attach = function (onevent) {
    var self = this;
    return this.request({ janus: "attach", plugin: "janus.plugin.videoroom", session_id: this.session }).then(function (answer) {
      var id = answer.data.id;
      self.handles[id] = { onevent: onevent };
      return id;
    });
  };

  Janus.prototype.detach = function (id) {
    delete this.handles[id];
    this.send({ janus: "detach", session_id: this.session, handle_id: id });
  };

  Janus.prototype.peer = function (onfail) {
    var pc = new RTCPeerConnection({ iceServers: this.call.iceServers, bundlePolicy: "max-bundle" });
    var self = this;
    pc.hubCandidates = [];
    pc.onconnectionstatechange = function () { if (pc.connectionState === "failed") onfail(); };
    pc.onicecandidate = function (event) {
      var candidate = event.candidate ? event.candidate.toJSON() : { completed: true };
      if (pc.hubHandle) self.send({ janus: "trickle", session_id: self.session, handle_id: pc.hubHandle, candidate: candidate });
      else pc.hubCandidates.push(candidate);
    };
    return pc;
  };

  Janus.prototype.trickleQueued = function (pc, handle) {
    pc.hubHandle = handle;
    var self = this;
    pc.hubCandidates.splice(0).forEach(function (candidate) {
      self.send({ janus: "trickle", session_id: self.session, handle_id: handle, candidate: candidate });
    });
  };

  // --- publishing ------------------------------------------------------------------------------------------

  Janus.prototype.publish = function () {
    var self = this;
    var pc = this.pub = this.peer(function () { self.lost("publisher connection failed"); });
    this.pubKinds = {};
    return this.attach(function (data) { self.onroom(data); }).then(function (handle) {
      self.pubHandle = handle;
      self.trickleQueued(pc, handle);
      return self.message(handle, {
        request: "join", ptype: "publisher", room: self.frame.room, token: self.frame.access, display: self.frame.display,
      });
    }).then(function (answer) {
      var data = answer.plugindata.data;
      self.myId = data.id;
      self.privateId = data.private_id;
      self.onroom(data);
      var call = self.call;
      if (call.audio) {
        var audio = pc.addTransceiver(call.audio, { direction: "sendonly", streams: [call.audioStream] });
        if (call.tune) call.tune(audio.sender, "audio");
      }
      Object.keys(call.sources).forEach(function (kind) { self.addVideo(kind); });
      return self.renegotiate();
    });
  };

  Janus.prototype.addVideo = function (kind) {
    var source = this.call.sources[kind];
    if (!source || this.pubKinds[kind]) return;
    var init = { direction: "sendonly", streams: [source.stream] };
    if (kind === "camera") init.sendEncodings = SIMULCAST;
    this.pubKinds[kind] = this.pub.addTransceiver(source.track, init);
  };

  Janus.prototype.removeVideo = function (kind) {
    var transceiver = this.pubKinds[kind];
    if (!transceiver) return;
    delete this.pubKinds[kind];
    transceiver.sender.replaceTrack(null);
    transceiver.direction = "inactive";
  };

  Janus.prototype.renegotiate = function () {
    var self = this, pc = this.pub;
    return pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); }).then(function () {
      var descriptions = [];
      Object.keys(self.pubKinds).forEach(function (kind) {
        var mid = self.pubKinds[kind].mid;
        if (mid !== null && self.pubKinds[kind].direction !== "inactive") descriptions.push({ mid: mid, description: kind });
      });
      return self.message(self.pubHandle, { request: "configure", audio: true, video: true, descriptions: descriptions },
        { type: pc.localDescription.type, sdp: pc.localDescription.sdp });
    }).then(function (answer) {
      if (answer.jsep) return pc.setRemoteDescription(answer.jsep);
    });
  };

  // --- the room's feeds ------------------------------------------------------------------------------------

  Janus.prototype.onroom = function (data) {
    var self = this;
    (data.publishers || []).forEach(function (feed) { if (feed.id !== self.myId) self.subscribe(feed); });
    var gone = data.unpublished || data.leaving || data.kicked || null;
    if (gone && gone !== "ok") this.unsubscribe(gone);
    if (gone === "ok" || data.videoroom === "destroyed") this.stop(); // this page itself left, was kicked, or the room ended
  };

  Janus.prototype.subscribe = function (feed) {
    var self = this;
    var active = (feed.streams || []).filter(function (s) { return !s.disabled; });
    var signature = active.map(function (s) { return s.mid + ":" + s.type + ":" + (s.description || ""); }).join("|");
    var known = this.feeds[feed.id];
    if (known && known.signature === signature) return;
    if (known) this.unsubscribe(feed.id);
    var owner = String(feed.display || "").split(":")[1] || String(feed.id);
    var entry = this.feeds[feed.id] = { signature: signature, owner: owner, kinds: {} };
    var pc = entry.pc = this.peer(function () { if (self.feeds[feed.id] === entry) { self.unsubscribe(feed.id); self.subscribe(feed); } });
    pc.ontrack = function (event) {
      var kind = event.track.kind === "audio" ? "audio" : entry.kinds[event.transceiver.mid] || "camera";
      self.call.onremote({ id: owner, streams: {} }, new MediaStream([event.track]), event.track, kind === "audio" ? "camera" : kind);
    };
    return this.attach(function (data, jsep) {
      if (jsep) self.answer(entry, jsep);
      if (data.left === "ok" && self.feeds[feed.id] === entry) self.unsubscribe(feed.id); // the feed is gone
    }).then(function (handle) {
      entry.handle = handle;
      self.handles[handle].onhangup = function () { if (self.feeds[feed.id] === entry) self.unsubscribe(feed.id); };
      self.trickleQueued(pc, handle);
      return self.message(handle, { request: "join", ptype: "subscriber", room: self.frame.room, token: self.frame.access,
        private_id: self.privateId, streams: [{ feed: feed.id }] });
    }).then(function (answer) {
      (answer.plugindata.data.streams || []).forEach(function (s) { entry.kinds[s.mid] = s.feed_description || (s.type === "audio" ? "audio" : "camera"); });
      if (answer.jsep) return self.answer(entry, answer.jsep);
    }).catch(function (error) {
      self.log("subscription refused", feed.id, error && error.message);
      if (self.feeds[feed.id] === entry) self.unsubscribe(feed.id); // the next news of the feed tries again
    });
  };

  Janus.prototype.answer = function (entry, jsep) {
    var self = this, pc = entry.pc;
    return pc.setRemoteDescription(jsep).then(function () { return pc.createAnswer(); }).then(function (answer) {
      return pc.setLocalDescription(answer);
    }).then(function () {
      return self.message(entry.handle, { request: "start" }, { type: pc.localDescription.type, sdp: pc.localDescription.sdp });
    }).then(function () {
      // A phone's tiles are small: the lowest simulcast layer of every camera is enough.
      if (window.innerWidth < SMALL_SCREEN) self.message(entry.handle, { request: "configure", substream: 0 }).catch(function () {});
    });
  };

  Janus.prototype.unsubscribe = function (id) {
    var entry = this.feeds[id];
    if (!entry) return;
    delete this.feeds[id];
    if (entry.pc) entry.pc.close();
    if (entry.handle) this.detach(entry.handle);
    this.call.onremoteend(entry.owner);
  };

  // --- losing and ending -----------------------------------------------------------------------------------

  Janus.prototype.teardown = function () {
    var self = this;
    clearInterval(this.keepalive);
    Object.keys(this.feeds).forEach(function (id) { self.unsubscribe(id); });
    if (this.pub) this.pub.close();
    this.pub = null;
    Object.keys(this.pending).forEach(function (t) { self.pending[t].reject(new Error("closed")); });
    this.pending = {};
    this.handles = {};
    var ws = this.ws;
    this.ws = null;
    if (ws) {
      if (ws.readyState === 1 && this.session) ws.send(JSON.stringify({ janus: "destroy", session_id: this.session, transaction: tx(), token: this.frame.token }));
      ws.close();
    }
    this.session = null;
  };

  Janus.prototype.lost = function (why) {
    if (this.closed) return;
    this.log("lost:", why);
    this.teardown();
    var self = this, wait = Math.min(5000, 250 * Math.pow(2, this.attempt++));
    clearTimeout(this.retry);
    this.retry = setTimeout(function () { if (!self.closed) self.open(); }, wait);
  };

  Janus.prototype.stop = function () {
    this.closed = true;
    clearTimeout(this.retry);
    this.teardown();
  };

  window.HubSfu = {
    room: null,
    join: function (frame, call) {
      if (this.room) return;
      var janus = this.room = new Janus(frame, call);
      var setSource = call.setSource, removeSource = call.removeSource, stop = call.stop;
      call.setSource = function (kind) {
        setSource.apply(call, arguments);
        if (janus.pub && !janus.pubKinds[kind]) { janus.addVideo(kind); janus.renegotiate().catch(function (e) { janus.lost(String(e)); }); }
      };
      call.removeSource = function (kind) {
        removeSource.apply(call, arguments);
        if (janus.pub && janus.pubKinds[kind]) { janus.removeVideo(kind); janus.renegotiate().catch(function (e) { janus.lost(String(e)); }); }
      };
      call.stop = function () { janus.stop(); return stop.apply(call, arguments); };
      window.addEventListener("online", function () { if (!janus.closed && (!janus.pub || janus.pub.connectionState !== "connected")) janus.lost("back online"); });
      janus.open();
    },
  };
})();
