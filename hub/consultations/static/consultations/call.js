// WebRTC for the consultation room: a mesh of peer connections signalled over the room's websocket with
// "perfect negotiation" (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example), ICE restarts on
// network changes, audio first, a second video source for the remote ultrasound, screen sharing, codec
// fallback for iOS Safari, and a self-test that tells WeChat's in-app browser users to open the system one.
(function () {
  "use strict";

  var UA = navigator.userAgent || "";
  var IOS = /iPhone|iPad|iPod/.test(UA) || (/Macintosh/.test(UA) && navigator.maxTouchPoints > 1);
  var SAFARI = /Safari/.test(UA) && !/Chrome|Chromium|CriOS|Edg|MicroMessenger/.test(UA);
  var WECHAT = /MicroMessenger/i.test(UA);
  // Bits per second per source; the camera's cap shrinks with the number of peers (each gets its own copy).
  var CAMERA_BITRATE = 600000, WEAK_CAMERA_BITRATE = 150000, ULTRASOUND_BITRATE = 2500000, SCREEN_BITRATE = 1500000;

  function deviceLabel() {
    var os = IOS ? "iOS" : /Android/.test(UA) ? "Android" : /Windows/.test(UA) ? "Windows" : /Mac/.test(UA) ? "macOS" : "Linux";
    var browser = WECHAT ? "WeChat" : SAFARI ? "Safari" : /Edg/.test(UA) ? "Edge" : /Firefox/.test(UA) ? "Firefox" : "Chrome";
    return os + " · " + browser;
  }

  function deviceKind() {
    if (/iPad|Tablet/.test(UA)) return "tablet";
    return /Mobi|Android|iPhone/.test(UA) || Math.min(screen.width, screen.height) < 600 ? "phone" : "pc";
  }

  function wantsH264(label) { return /iOS|Safari/.test(label || ""); }

  // Order the video codecs: H.264 (constrained baseline) first when iOS Safari is on either end (its VP8
  // decoding was missing or software-only: the "black video"), VP8 first otherwise; both stay offered.
  function codecOrder(h264First) {
    if (!window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return null;
    var caps = RTCRtpReceiver.getCapabilities("video");
    if (!caps) return null;
    function rank(codec) {
      var mime = codec.mimeType.toLowerCase();
      if (mime === "video/h264") return h264First ? (/42e01f/.test(codec.sdpFmtpLine || "") ? 0 : 1) : 2;
      if (mime === "video/vp8") return h264First ? 2 : 0;
      if (mime === "video/rtx" || mime === "video/red" || mime === "video/ulpfec") return 5;
      return 3;
    }
    return caps.codecs.slice().sort(function (a, b) { return rank(a) - rank(b); });
  }

  function Peer(call, id, polite) {
    this.call = call;
    this.id = id;
    this.polite = polite;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.streams = {};
    this.audioBytes = 0;
    this.audioStalledSince = 0;
    this.lastRestart = 0;
    this.disconnectedTimer = null;
    this.openedAt = this.builtAt = Date.now();
    this.everConnected = false;
    this.open();
  }

  // A connection that never came up (negotiated, restarted, and still no media after REBUILD_MS): start again
  // with a new RTCPeerConnection, as the other side will when our offer no longer fits its old one.
  var REBUILD_MS = 15000;
  Peer.prototype.rebuild = function (why) {
    this.call.log("new connection with " + this.id + " (" + why + ")");
    clearTimeout(this.disconnectedTimer);
    this.pc.onnegotiationneeded = this.pc.onicecandidate = this.pc.ontrack = this.pc.oniceconnectionstatechange = null;
    this.pc.close();
    this.makingOffer = this.ignoreOffer = false;
    this.offerSince = this.idleSince = 0;
    this.streams = {};
    this.call.onremoteend(this.id);
    this.openedAt = this.builtAt = Date.now();
    this.open();
  };

  Peer.prototype.open = function () {
    var self = this, call = this.call;
    var pc = this.pc = new RTCPeerConnection({ iceServers: call.iceServers, bundlePolicy: "max-bundle" });
    pc.onnegotiationneeded = function () {
      self.makingOffer = true;
      pc.setLocalDescription().then(function () {
        call.signal(self.id, { description: pc.localDescription });
      }).catch(function (error) { call.log("offer failed", error); }).then(function () { self.makingOffer = false; });
    };
    pc.onicecandidate = function (event) { call.signal(self.id, { candidate: event.candidate }); };
    pc.ontrack = function (event) {
      var stream = event.streams[0] || new MediaStream([event.track]);
      self.streams[stream.id] = stream;
      call.onremote(self, stream, event.track);
    };
    pc.oniceconnectionstatechange = function () {
      var state = pc.iceConnectionState;
      call.onpeerstate(self, state);
      clearTimeout(self.disconnectedTimer);
      if (state === "connected" || state === "completed") { self.everConnected = true; call.tunePeer(self); } // a change refused before negotiation
      if (state === "failed") self.restart("failed");
      else if (state === "disconnected") {
        // Often a network switch (Wi-Fi to 4G/5G): restart ICE after a second instead of waiting for "failed".
        self.disconnectedTimer = setTimeout(function () {
          if (pc.iceConnectionState === "disconnected") self.restart("disconnected");
        }, 1000);
      }
    };
    call.localSenders(this);
  };

  // An offer can be lost (the other side's socket was reconnecting): while one stays unanswered, send it again.
  Peer.prototype.check = function () {
    var pc = this.pc;
    if (!this.everConnected && Date.now() - this.builtAt > REBUILD_MS && Date.now() - this.lastRestart > 5000) {
      this.rebuild("never connected");
      return;
    }
    // Never negotiated (an offer lost before the other side was listening, or tracks added before negotiation
    // was wanted): offer now; perfect negotiation settles a collision.
    if (pc.signalingState === "stable" && !pc.remoteDescription && !this.makingOffer && Date.now() - this.openedAt > 3000
        && pc.getSenders().length && pc.onnegotiationneeded) {
      this.openedAt = Date.now();
      pc.onnegotiationneeded();
      return;
    }
    // Negotiated, but ICE never started (the other side's candidates were lost with a socket that was being
    // replaced): restart ICE, which sends fresh candidates both ways.
    if (pc.signalingState === "stable" && pc.remoteDescription && pc.iceConnectionState === "new") {
      if (!this.idleSince) this.idleSince = Date.now();
      else if (Date.now() - this.idleSince > 5000) { this.idleSince = 0; this.restart("ICE never started"); }
    } else {
      this.idleSince = 0;
    }
    if (pc.signalingState === "have-local-offer") {
      if (!this.offerSince) this.offerSince = Date.now();
      else if (Date.now() - this.offerSince > 3000 && pc.localDescription) {
        this.offerSince = Date.now();
        this.call.signal(this.id, { description: pc.localDescription });
      }
    } else {
      this.offerSince = 0;
    }
  };

  Peer.prototype.restart = function (why) {
    var now = Date.now();
    if (now - this.lastRestart < 2000 || this.pc.signalingState === "closed") return;
    this.lastRestart = now;
    this.call.log("ICE restart with " + this.id + " (" + why + ")");
    this.pc.setConfiguration({ iceServers: this.call.iceServers, bundlePolicy: "max-bundle" });
    this.pc.restartIce();
  };

  Peer.prototype.onsignal = function (message) {
    var pc = this.pc, self = this, call = this.call;
    if (message.description) {
      var description = message.description;
      var collision = description.type === "offer" && (this.makingOffer || pc.signalingState !== "stable");
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return Promise.resolve();
      return pc.setRemoteDescription(description).then(function () {
        if (description.type === "offer") {
          return pc.setLocalDescription().then(function () { call.signal(self.id, { description: pc.localDescription }); });
        }
      }).catch(function (error) {
        call.log("description failed", error);
        // An offer from a connection the other side built anew (its keys no longer fit ours): build ours anew too.
        if (description.type === "offer" && !message.retried && self.pc === pc) {
          self.rebuild("the other side started again");
          return self.onsignal(Object.assign({}, message, { retried: true }));
        }
      });
    }
    if ("candidate" in message) {
      return pc.addIceCandidate(message.candidate || undefined).catch(function (error) {
        if (!self.ignoreOffer) call.log("candidate failed", error);
      });
    }
    return Promise.resolve();
  };

  Peer.prototype.close = function () {
    clearTimeout(this.disconnectedTimer);
    this.pc.close();
  };

  function Call(options) {
    this.send = options.send;
    this.onremote = options.onremote || function () {};
    this.onremoteend = options.onremoteend || function () {};
    this.onpeerstate = options.onpeerstate || function () {};
    this.onlocal = options.onlocal || function () {};
    this.log = options.log || function () {};
    this.iceServers = [];
    this.me = null;
    this.peers = {};
    this.sources = {}; // kind -> {stream, track}
    this.audio = null;
    this.audioMuted = false;
    this.videoMuted = false;
    this.weak = false;
    this.audioOnly = false;
    this.facing = "user";
    this.remoteLabels = {};
  }

  Call.prototype.start = function () {
    var self = this;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return Promise.reject(new Error("no-media"));
    return navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      video: { facingMode: this.facing, width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } },
    }).catch(function () {
      return navigator.mediaDevices.getUserMedia({ audio: true }); // no camera: still audio
    }).then(function (stream) {
      self.audio = stream.getAudioTracks()[0] || null;
      self.audioStream = new MediaStream(self.audio ? [self.audio] : []);
      // Peers opened while the devices were being asked for (an offer came in first) get the audio now.
      Object.keys(self.peers).forEach(function (id) { self.addAudio(self.peers[id]); });
      var video = stream.getVideoTracks()[0];
      if (video) self.setSource("camera", new MediaStream([video]));
      self.watch();
      self.networkWatch();
      return stream;
    });
  };

  Call.prototype.setSource = function (kind, stream) {
    var track = stream.getVideoTracks()[0];
    if (kind !== "camera" && "contentHint" in track) track.contentHint = "detail";
    this.sources[kind] = { stream: stream, track: track };
    this.onlocal(kind, stream);
    var self = this;
    Object.keys(this.peers).forEach(function (id) { self.addSource(self.peers[id], kind); });
  };

  Call.prototype.removeSource = function (kind) {
    var source = this.sources[kind];
    if (!source) return;
    delete this.sources[kind];
    source.track.stop();
    var self = this;
    Object.keys(this.peers).forEach(function (id) {
      var pc = self.peers[id].pc;
      pc.getSenders().forEach(function (sender) { if (sender.track === source.track) pc.removeTrack(sender); });
    });
    this.onlocal(kind, null);
  };

  Call.prototype.addAudio = function (peer) {
    if (!this.audio || peer.pc.getSenders().some(function (s) { return s.track && s.track.kind === "audio"; })) return;
    this.tune(peer.pc.addTrack(this.audio, this.audioStream), "audio");
  };

  Call.prototype.localSenders = function (peer) {
    this.addAudio(peer);
    var self = this;
    Object.keys(this.sources).forEach(function (kind) { self.addSource(peer, kind); });
  };

  Call.prototype.addSource = function (peer, kind) {
    var source = this.sources[kind];
    var sender = peer.pc.addTrack(source.track, source.stream);
    var order = codecOrder(IOS || SAFARI || wantsH264(this.remoteLabels[peer.id]));
    peer.pc.getTransceivers().forEach(function (transceiver) {
      if (transceiver.sender === sender && order && transceiver.setCodecPreferences) {
        try { transceiver.setCodecPreferences(order); } catch (error) { /* older engines */ }
      }
    });
    this.tune(sender, kind);
  };

  // Audio keeps priority; video is capped per source, and further on a weak link. One change at a time per
  // sender: a getParameters/setParameters pair begun while another is pending is refused (and the audio
  // priority was lost that way when a peer opened).
  Call.prototype.tune = function (sender, kind) {
    if (!sender.getParameters) return;
    var self = this;
    if (!sender.transport && "transport" in sender) return null; // not negotiated yet: tuned once connected
    sender.hubTuning = (sender.hubTuning || Promise.resolve()).then(function () {
      if (!sender.track) return null;
      var parameters = sender.getParameters();
      if (!parameters.encodings || !parameters.encodings.length) parameters.encodings = [{}];
      var encoding = parameters.encodings[0];
      var peers = Math.max(1, Object.keys(self.peers).length);
      if (kind === "audio") {
        encoding.priority = "high";
        encoding.networkPriority = "high";
        encoding.maxBitrate = 64000;
      } else if (kind === "camera") {
        encoding.priority = "low";
        encoding.networkPriority = "low";
        encoding.maxBitrate = self.weak ? WEAK_CAMERA_BITRATE : Math.round(CAMERA_BITRATE / Math.min(peers, 3));
        encoding.scaleResolutionDownBy = self.weak ? 4 : peers > 2 ? 2 : 1;
        encoding.active = !self.audioOnly && !self.videoMuted;
      } else {
        encoding.priority = "medium";
        encoding.networkPriority = "medium";
        encoding.maxBitrate = kind === "ultrasound" ? ULTRASOUND_BITRATE : SCREEN_BITRATE;
        encoding.scaleResolutionDownBy = 1;
        parameters.degradationPreference = "maintain-resolution";
      }
      sender.hubKind = kind;
      // A change that never settles must not hold the next ones back.
      return Promise.race([sender.setParameters(parameters), new Promise(function (resolve) { setTimeout(resolve, 2000); })]);
    }).catch(function (error) { self.log("setParameters " + kind, error); });
    return sender.hubTuning;
  };

  Call.prototype.tunePeer = function (peer) {
    var self = this;
    peer.pc.getSenders().forEach(function (sender) {
      if (sender.track) self.tune(sender, sender.track.kind === "audio" ? "audio" : self.kindOfTrack(sender.track));
    });
  };

  Call.prototype.retune = function () {
    var self = this;
    Object.keys(this.peers).forEach(function (id) { self.tunePeer(self.peers[id]); });
  };

  Call.prototype.kindOfTrack = function (track) {
    var kinds = Object.keys(this.sources);
    for (var i = 0; i < kinds.length; i++) if (this.sources[kinds[i]].track === track) return kinds[i];
    return "camera";
  };

  Call.prototype.connect = function (id, label) {
    if (id === this.me) return null;
    if (label) this.remoteLabels[id] = label;
    if (!this.peers[id]) {
      this.peers[id] = new Peer(this, id, this.me > id);
      this.retune();
    }
    return this.peers[id];
  };

  Call.prototype.disconnect = function (id) {
    var peer = this.peers[id];
    if (!peer) return;
    peer.close();
    delete this.peers[id];
    this.onremoteend(id);
    this.retune();
  };

  Call.prototype.signal = function (to, payload) {
    this.send(Object.assign({ type: "signal", to: to }, JSON.parse(JSON.stringify(payload))));
  };

  Call.prototype.onsignal = function (message) {
    var peer = this.peers[message.from] || this.connect(message.from);
    if (peer) peer.onsignal(message);
  };

  // After a network change or a reconnect of the room's socket: new TURN credentials, and an ICE restart
  // of every peer not connected (media back without rejoining).
  Call.prototype.refresh = function (iceServers, force) {
    if (iceServers) this.iceServers = iceServers;
    var self = this;
    Object.keys(this.peers).forEach(function (id) {
      var peer = self.peers[id], state = peer.pc.iceConnectionState;
      if (force || state === "disconnected" || state === "failed") peer.restart(force ? "network change" : state);
    });
  };

  Call.prototype.networkWatch = function () {
    var self = this;
    function changed() { self.refresh(null, true); self.assess(); }
    window.addEventListener("online", changed);
    if (navigator.connection && navigator.connection.addEventListener) navigator.connection.addEventListener("change", changed);
    this.assess();
  };

  Call.prototype.assess = function () {
    var link = navigator.connection;
    var weak = !!(link && (link.saveData || /(^|-)2g|3g/.test(link.effectiveType || "") || (link.downlink && link.downlink < 0.7)));
    if (weak !== this.weak) { this.weak = weak; this.retune(); }
  };

  // Every 2 s: is audio still arriving from each connected peer? Audio that stalls while the link is up is
  // restarted (the LiveKit/Jitsi complaint: video back, audio gone). A local microphone that ended (device
  // or route change) is reopened and swapped in.
  Call.prototype.watch = function () {
    var self = this;
    clearInterval(this.watchTimer);
    this.watchTimer = setInterval(function () {
      if (self.audio && self.audio.readyState === "ended") self.reopenMicrophone();
      Object.keys(self.peers).forEach(function (id) {
        var peer = self.peers[id];
        peer.check();
        if (peer.pc.iceConnectionState !== "connected" && peer.pc.iceConnectionState !== "completed") return;
        // A sender whose parameters were lost or never taken (renegotiation, a refused change) gets them again:
        // audio keeps its priority, video its caps.
        peer.pc.getSenders().forEach(function (sender) {
          if (!sender.track || !sender.getParameters) return;
          var encoding = (sender.getParameters().encodings || [])[0];
          if (!encoding || !encoding.maxBitrate || (sender.track.kind === "audio" && encoding.priority !== "high")) {
            self.tune(sender, sender.track.kind === "audio" ? "audio" : self.kindOfTrack(sender.track));
          }
        });
        peer.pc.getStats().then(function (report) {
          var bytes = 0, bitrate = 0;
          report.forEach(function (stat) {
            if (stat.type === "inbound-rtp" && stat.kind === "audio") bytes += stat.bytesReceived || 0;
            if (stat.type === "candidate-pair" && stat.nominated && stat.availableOutgoingBitrate) bitrate = stat.availableOutgoingBitrate;
          });
          if (bytes > peer.audioBytes || self.remoteMuted(id)) peer.audioStalledSince = 0;
          else if (!peer.audioStalledSince) peer.audioStalledSince = Date.now();
          else if (Date.now() - peer.audioStalledSince > 4000) { peer.audioStalledSince = 0; peer.restart("audio stalled"); }
          peer.audioBytes = bytes;
          if (bitrate && bitrate < 250000 && !self.weak) { self.weak = true; self.retune(); }
        }).catch(function () {});
      });
    }, 2000);
  };

  Call.prototype.remoteMuted = function () { return false; };

  Call.prototype.reopenMicrophone = function () {
    var self = this;
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var track = stream.getAudioTracks()[0];
      var old = self.audio;
      self.audio = track;
      track.enabled = !self.audioMuted;
      Object.keys(self.peers).forEach(function (id) {
        self.peers[id].pc.getSenders().forEach(function (sender) { if (sender.track === old || (sender.track === null && old)) sender.replaceTrack(track); });
      });
    }).catch(function () {});
  };

  Call.prototype.setAudioMuted = function (muted) {
    this.audioMuted = muted;
    if (this.audio) this.audio.enabled = !muted;
  };

  Call.prototype.setVideoMuted = function (muted) {
    this.videoMuted = muted;
    if (this.sources.camera) this.sources.camera.track.enabled = !muted;
    this.retune();
  };

  Call.prototype.setAudioOnly = function (on) { this.audioOnly = on; this.retune(); };

  Call.prototype.flip = function () {
    var self = this;
    this.facing = this.facing === "user" ? "environment" : "user";
    return navigator.mediaDevices.getUserMedia({ video: { facingMode: this.facing } }).then(function (stream) {
      var track = stream.getVideoTracks()[0];
      var source = self.sources.camera;
      if (!source) { self.setSource("camera", stream); return; }
      var old = source.track;
      source.stream.removeTrack(old);
      source.stream.addTrack(track);
      source.track = track;
      Object.keys(self.peers).forEach(function (id) {
        self.peers[id].pc.getSenders().forEach(function (sender) { if (sender.track === old) sender.replaceTrack(track); });
      });
      old.stop();
      self.onlocal("camera", source.stream);
    });
  };

  // The remote ultrasound: the capture device shows up as a camera; send it at high resolution.
  Call.prototype.startUltrasound = function (deviceId) {
    var self = this;
    return navigator.mediaDevices.getUserMedia({
      video: { deviceId: { exact: deviceId }, width: { ideal: 1920 }, height: { ideal: 1080 }, frameRate: { ideal: 30 } },
    }).then(function (stream) { self.setSource("ultrasound", stream); return stream; });
  };

  Call.prototype.startScreen = function () {
    var self = this;
    return navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10 } }, audio: false }).then(function (stream) {
      stream.getVideoTracks()[0].addEventListener("ended", function () { self.removeSource("screen"); });
      self.setSource("screen", stream);
      return stream;
    });
  };

  Call.prototype.cameras = function () {
    return navigator.mediaDevices.enumerateDevices().then(function (devices) {
      return devices.filter(function (d) { return d.kind === "videoinput"; });
    });
  };

  Call.prototype.sourceList = function () {
    var self = this;
    return Object.keys(this.sources).map(function (kind) { return { kind: kind, stream: self.sources[kind].stream.id }; });
  };

  Call.prototype.stop = function () {
    var self = this;
    clearInterval(this.watchTimer);
    Object.keys(this.peers).forEach(function (id) { self.peers[id].close(); });
    this.peers = {};
    Object.keys(this.sources).forEach(function (kind) { self.sources[kind].track.stop(); });
    if (this.audio) this.audio.stop();
  };

  // Can this browser send and receive media at all? Two local peer connections exchange a synthetic video
  // track; bytes must arrive within 5 s. WeChat's in-app browser on some phones fails here.
  function selfTest() {
    if (!window.RTCPeerConnection || !navigator.mediaDevices) return Promise.resolve(false);
    var canvas = document.createElement("canvas");
    canvas.width = 64; canvas.height = 48;
    if (!canvas.captureStream) return Promise.resolve(!WECHAT);
    var context = canvas.getContext("2d"), frame = 0;
    var painter = setInterval(function () { context.fillStyle = frame++ % 2 ? "#0a6ebd" : "#f5a623"; context.fillRect(0, 0, 64, 48); }, 100);
    var stream = canvas.captureStream(10);
    var a = new RTCPeerConnection(), b = new RTCPeerConnection();
    a.onicecandidate = function (e) { if (e.candidate) b.addIceCandidate(e.candidate).catch(function () {}); };
    b.onicecandidate = function (e) { if (e.candidate) a.addIceCandidate(e.candidate).catch(function () {}); };
    stream.getTracks().forEach(function (t) { a.addTrack(t, stream); });
    function finish(ok) { clearInterval(painter); a.close(); b.close(); stream.getTracks().forEach(function (t) { t.stop(); }); return ok; }
    return a.createOffer().then(function (o) { return a.setLocalDescription(o); })
      .then(function () { return b.setRemoteDescription(a.localDescription); })
      .then(function () { return b.createAnswer(); })
      .then(function (answer) { return b.setLocalDescription(answer); })
      .then(function () { return a.setRemoteDescription(b.localDescription); })
      .then(function () {
        return new Promise(function (resolve) {
          var tries = 0;
          var poll = setInterval(function () {
            b.getStats().then(function (report) {
              var bytes = 0;
              report.forEach(function (s) { if (s.type === "inbound-rtp") bytes += s.bytesReceived || 0; });
              if (bytes > 0 || ++tries > 25) { clearInterval(poll); resolve(finish(bytes > 0)); }
            });
          }, 200);
        });
      }).catch(function () { return finish(false); });
  }

  window.HubCall = { Call: Call, selfTest: selfTest, deviceLabel: deviceLabel, deviceKind: deviceKind, WECHAT: WECHAT, IOS: IOS };
})();
