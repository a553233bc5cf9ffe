// Rooms larger than a mesh carries send their media through LiveKit (deploy/livekit/): the hub issues the
// access token over the room's socket (the "sfu" frame); camera and microphone are published with simulcast
// and audio RED/DTX, the ultrasound and the screen as extra video tracks named by their source. The room's
// own socket still carries chat, presence, the pointer and everything else.
(function () {
  "use strict";
  var LK = window.LivekitClient;
  if (!LK) return;

  function ownerOf(participant) {
    var parts = (participant.identity || "").split(":");
    return parts[1] || parts[0];
  }

  window.HubSfu = {
    room: null,
    join: function (frame, call) {
      if (this.room) return;
      var room = this.room = new LK.Room({
        adaptiveStream: true, // subscribers get the layer their tile needs
        dynacast: true, // layers nobody watches are paused
        publishDefaults: {
          simulcast: true,
          videoSimulcastLayers: [LK.VideoPresets.h180, LK.VideoPresets.h360],
          red: true,
          dtx: true,
          degradationPreference: "balanced",
        },
        reconnectPolicy: { nextRetryDelayInMs: function (context) { return context.retryCount > 20 ? null : 300; } },
      });
      room.on(LK.RoomEvent.TrackSubscribed, function (track, publication, participant) {
        var owner = ownerOf(participant);
        var kind = publication.trackName === "ultrasound" ? "ultrasound" : track.source === LK.Track.Source.ScreenShare ? "screen" : "camera";
        call.onremote({ id: owner, streams: {} }, new MediaStream([track.mediaStreamTrack]), track.mediaStreamTrack, kind);
      });
      room.on(LK.RoomEvent.ParticipantDisconnected, function (participant) { call.onremoteend(ownerOf(participant)); });
      return room.connect(frame.url, frame.token, { rtcConfig: { iceServers: call.iceServers } }).then(function () {
        var local = room.localParticipant;
        if (call.audio) local.publishTrack(call.audio, { source: LK.Track.Source.Microphone, audioPriority: "high" });
        Object.keys(call.sources).forEach(function (kind) {
          var options = kind === "camera" ? { source: LK.Track.Source.Camera }
            : kind === "screen" ? { source: LK.Track.Source.ScreenShare, simulcast: false }
            : { name: "ultrasound", source: LK.Track.Source.Unknown, simulcast: false,
                videoEncoding: { maxBitrate: 2500000, maxFramerate: 30 } };
          local.publishTrack(call.sources[kind].track, options);
        });
      });
    },
  };
})();
