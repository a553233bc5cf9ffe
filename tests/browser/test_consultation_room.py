"""The consultation room in real browsers: Chromium pages with a synthetic camera and microphone join one
room through the hub, reach a connected WebRTC state with media flowing, chat, and store an ultrasound
snapshot; the room fits a phone."""

from __future__ import annotations

import time

import pytest

from fhir_gateway.models import Resource
from hub.accounts.constants import Role
from hub.consultations import services as room_services
from hub.referrals import services as referral_services
from tests.browser.conftest import horizontal_overflow
from tests.factories import UserFactory, patient_resource
from tests.hub.consultations.conftest import consult
from tests.hub.referrals.conftest import store


def _stack(task) -> str:
    lines, coro = [], task.get_coro()
    while coro is not None and len(lines) < 40:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            consumer = frame.f_locals.get("self")
            if frame.f_code.co_name == "__call__" and hasattr(consumer, "scope"):
                lines.append(f"{type(consumer).__name__} {consumer.scope.get('path')} {vars(consumer).keys()}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return " <- ".join(reversed(lines))


@pytest.fixture
def pages(page_for):
    """``page_for``, whose pages leave (closing their websockets with a proper close) before their contexts
    close, and whose served websockets have all ended after the test: no consumer keeps reading the channel
    layer from the server's event loop while the suite's async tests read it from theirs."""
    import asyncio
    import time
    import warnings

    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers, get_channel_layer

    opened = []

    def make(*args, **kwargs):
        # These tests poll the room's scripts with wait_for_function (eval in the page, which the hub's policy
        # refuses); tests/browser/test_security_policy.py checks the room page under the policy.
        page = page_for(*args, bypass_csp=True, **kwargs)
        opened.append(page)
        return page

    yield make
    for page in opened:
        if not page.is_closed():
            page.goto("about:blank")
    layer = get_channel_layer()
    deadline = time.monotonic() + 30
    while getattr(layer, "receive_count", 0) and time.monotonic() < deadline:
        time.sleep(0.2)
    loop = getattr(layer, "receive_event_loop", None)
    if getattr(layer, "receive_count", 0) and loop is not None:
        stuck = [_stack(task) for task in asyncio.all_tasks(loop) if "run_asgi" in str(task.get_coro())]
        warnings.warn(f"websocket consumers still running after the test: {stuck}", stacklevel=1)
    # A socket the served hub has not yet seen close (it would, at its next ping) keeps the layer it reads from
    # the server's event loop; everything after this test gets a new one (a Redis layer serves one loop).
    channel_layers.backends[DEFAULT_CHANNEL_LAYER] = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)


@pytest.fixture
def room(dr_li_at_county_a, cardiologist_zhang, county_a):
    patient = store(patient_resource(1), owner="county-a")
    store(
        {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "code": {"text": "十二导联心电图"},
            "subject": {"reference": f"Patient/{patient['id']}"},
            "conclusion": "V1-V4 导联 ST 段抬高",
        },
        owner="county-a",
    )
    referral = consult(dr_li_at_county_a, patient)
    referral_services.task_accept(referral_id=referral.pk, actor=cardiologist_zhang)
    return referral.rooms.get()


@pytest.fixture
def radiologist_zhao(general_hospital):
    from hub.accounts.constants import Role

    return UserFactory(username="radiologist_zhao", display_name="赵雪梅", role=Role.SPECIALIST, site=general_hospital)


# The connection state of every peer connection of the page, and the bytes received so far per kind.
STATS = """async () => {
  const call = window.hubRoomCall;
  if (!call) return null;
  const out = {};
  for (const [id, peer] of Object.entries(call.peers)) {
    const report = await peer.pc.getStats();
    const bytes = {audio: 0, video: 0};
    report.forEach(s => { if (s.type === 'inbound-rtp') bytes[s.kind] += s.bytesReceived || 0; });
    out[id] = {state: peer.pc.connectionState, ice: peer.pc.iceConnectionState, bytes};
  }
  return out;
}"""


def enter(page, room):
    page.goto(f"/consultations/rooms/{room.pk}/")
    page.wait_for_function("document.getElementById('link-state').dataset.state === 'connected'")


def connected_to(page, count: int, timeout: float = 30_000):
    try:
        _connected_to(page, count, timeout)
    except Exception:
        raise AssertionError(page.evaluate(PEERS)) from None


PEERS = """() => Object.fromEntries(Object.entries(window.hubRoomCall ? window.hubRoomCall.peers : {}).map(
    ([id, p]) => [id, [p.pc.connectionState, p.pc.iceConnectionState, p.pc.signalingState, p.polite,
                       !!p.pc.remoteDescription]]))"""


def _connected_to(page, count, timeout):
    page.wait_for_function(
        """(n) => { const c = window.hubRoomCall; if (!c) return false;
                    const peers = Object.values(c.peers);
                    return peers.length === n && peers.every(p => p.pc.connectionState === 'connected'); }""",
        arg=count,
        timeout=timeout,
    )


def media_flows_again(page, seconds: float = 10) -> None:
    """Received audio and video bytes grow on every peer connection of the page within ``seconds``."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            media_flows(page)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def media_flows(page) -> None:
    """Received audio and video bytes grow on every peer connection of the page."""
    before = page.evaluate(STATS)
    page.wait_for_timeout(1500)
    after = page.evaluate(STATS)
    for peer, stats in after.items():
        for kind in ("audio", "video"):
            assert stats["bytes"][kind] > before[peer]["bytes"][kind], (peer, kind, before, after)


def test_a_county_doctor_on_a_phone_and_a_specialist_on_a_pc_see_and_hear_each_other(
    pages, room, dr_li_at_county_a, cardiologist_zhang, phone, pc
):
    li = pages(dr_li_at_county_a, viewport=phone)
    zhang = pages(cardiologist_zhang, viewport=pc, language="en")
    enter(li, room)
    enter(zhang, room)

    connected_to(li, 1)
    connected_to(zhang, 1)
    media_flows(li)
    media_flows(zhang)

    zhang.fill("#chat-text", "ST elevation V1-V4: activate the cath lab")
    zhang.click("#chat-form button[type=submit]")
    li.click('.room-tabs [data-tab="chat"]')
    li.wait_for_selector("text=activate the cath lab")
    assert li.locator(".message").count() == 1

    zhang.click("#records button.present")  # the ECG: everyone's view follows
    li.wait_for_selector("#presented-body >> text=V1-V4 导联 ST 段抬高")
    assert li.locator('.room-tabs [data-tab="record"]').get_attribute("aria-selected") == "true"
    assert li.locator('.room-tabs [data-tab="call"]').inner_text() == "视频"  # the phone is in Chinese

    assert horizontal_overflow(li) == 0
    small = li.evaluate(
        """() => [...document.querySelectorAll('#room button, #room select, #room summary, .room-tabs button')]
                 .filter(e => e.offsetParent !== null)
                 .filter(e => e.getBoundingClientRect().height < 44 || e.getBoundingClientRect().width < 44)
                 .map(e => e.id || e.textContent.trim())"""
    )
    assert small == []


def test_three_participants_form_a_mesh_with_media_flowing_everywhere(
    pages, room, dr_li_at_county_a, cardiologist_zhang, radiologist_zhao, phone, pc
):
    from hub.consultations import services

    services.participant_invite(room_id=room.pk, actor=cardiologist_zhang, invitees=[radiologist_zhao])
    pages = [
        pages(dr_li_at_county_a, viewport=phone),
        pages(cardiologist_zhang, viewport=pc),
        pages(radiologist_zhao, viewport=phone),
    ]
    for page in pages:
        enter(page, room)
    for page in pages:
        connected_to(page, 2, timeout=30_000)
    for page in pages:
        # Within a few seconds: a peer whose streams were renegotiated as the third one joined starts counting
        # again from zero.
        media_flows_again(page)


def test_the_expert_takes_an_ultrasound_snapshot_stored_in_the_patients_record(
    pages, room, dr_li_at_county_a, cardiologist_zhang, phone, pc
):
    li = pages(dr_li_at_county_a, viewport=phone)
    zhang = pages(cardiologist_zhang, viewport=pc)
    enter(li, room)
    enter(zhang, room)
    connected_to(li, 1)
    connected_to(zhang, 1)

    li.click(".ultrasound-setup summary")
    li.wait_for_function("document.querySelectorAll('#us-device option').length > 0")
    li.click("#btn-us-start")
    tile = zhang.locator(".tile.kind-ultrasound:not(.local)")
    tile.wait_for(timeout=20_000)
    zhang.wait_for_function(
        "() => { const v = document.querySelector('.tile.kind-ultrasound:not(.local) video');"
        " return v && v.videoWidth > 0; }"
    )
    tile.locator("video").hover()  # the pointer overlay reaches the county side
    li.wait_for_selector(".tile.kind-ultrasound.local .pointer:not([hidden])", state="attached")
    tile.locator("button.snapshot").click()
    zhang.wait_for_selector("#messages img.thumb", state="attached", timeout=15_000)

    media = Resource.objects.filter(resource_type="Media", deleted=False)
    assert media.count() == 1
    content = media.get().content
    assert content["modality"]["coding"][0]["code"] == "US"
    assert content["subject"]["reference"] == room.patient_ref
    assert content["width"] > 0
    # Shown in the record: the county doctor's list of records offers it for presenting.
    li.click('.room-tabs [data-tab="record"]')
    li.wait_for_selector(f'#records [data-ref="Media/{media.get().fhir_id}"]', state="attached")


# Every ICE candidate the page's first RTCPeerConnection sends is lost, trickled or inside a description (that
# connection is told apart by its DTLS fingerprint): ICE restarts cannot help, only a new connection can.
LOSE_FIRST_CONNECTIONS_CANDIDATES = """(() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    try {
      const frame = JSON.parse(data);
      if (frame.type === "signal" && frame.description && frame.description.sdp) {
        const fingerprint = (frame.description.sdp.match(/a=fingerprint:\\S+ (\\S+)/) || [])[1];
        if (fingerprint) {
          window.firstFingerprint = window.firstFingerprint || fingerprint;
          window.fingerprint = fingerprint;
        }
      }
      if (frame.type === "signal" && window.fingerprint === window.firstFingerprint) {
        if ("candidate" in frame) return;
        if (frame.description && frame.description.sdp) {  // nor inside a description sent after gathering
          frame.description.sdp = frame.description.sdp.split("\\r\\n")
            .filter(line => !line.startsWith("a=candidate") && !line.startsWith("a=end-of-candidates")).join("\\r\\n");
          data = JSON.stringify(frame);
        }
      }
    } catch (error) { /* not JSON */ }
    return send.call(this, data);
  };
})();"""


def test_a_connection_that_never_comes_up_is_built_anew(pages, room, dr_li_at_county_a, cardiologist_zhang, phone, pc):
    li = pages(dr_li_at_county_a, viewport=phone)
    zhang = pages(cardiologist_zhang, viewport=pc)
    for page in (li, zhang):
        page.add_init_script(LOSE_FIRST_CONNECTIONS_CANDIDATES)
    enter(li, room)
    enter(zhang, room)
    for page in (li, zhang):
        page.wait_for_function("() => window.hubRoomCall && Object.keys(window.hubRoomCall.peers).length === 1")
        page.evaluate("window.firstPc = Object.values(window.hubRoomCall.peers)[0].pc")
    connected_to(li, 1, timeout=45_000)
    connected_to(zhang, 1, timeout=15_000)
    # One side at least built a new connection (the other may take its new offer on its old one).
    rebuilt = [page.evaluate("Object.values(hubRoomCall.peers)[0].pc !== window.firstPc") for page in (li, zhang)]
    assert any(rebuilt), rebuilt
    media_flows_again(li)
    media_flows_again(zhang)


def test_after_a_network_change_media_is_back_within_seconds_without_rejoining(
    pages, room, dr_li_at_county_a, cardiologist_zhang, phone, pc
):
    from hub.consultations.models import RoomConnection, RoomEvent

    li = pages(dr_li_at_county_a, viewport=phone)
    zhang = pages(cardiologist_zhang, viewport=pc)
    enter(li, room)
    enter(zhang, room)
    connected_to(li, 1)
    connected_to(zhang, 1)
    media_flows(li)
    connection = li.evaluate("window.hubRoomCall.me")

    # Wi-Fi to 4G: the browser says the network changed; the room's socket is replaced and ICE restarts.
    elapsed = li.evaluate(
        """async () => {
      const call = window.hubRoomCall, peer = Object.values(call.peers)[0];
      const audio = async () => { let b = 0; (await peer.pc.getStats()).forEach(s => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') b += s.bytesReceived; }); return b; };
      const start = performance.now();
      const restarts = peer.lastRestart;
      window.dispatchEvent(new Event('online'));
      const before = await audio();
      while (performance.now() - start < 10000) {
        await new Promise(r => setTimeout(r, 100));
        if (peer.lastRestart !== restarts && peer.pc.connectionState === 'connected'
            && peer.pc.signalingState === 'stable' && await audio() > before) return performance.now() - start;
      }
      return null;
    }"""
    )
    assert elapsed is not None and elapsed < 3000, elapsed
    li.wait_for_function("document.getElementById('link-state').dataset.state === 'connected'")
    assert li.evaluate("window.hubRoomCall.me") == connection
    media_flows(li)
    media_flows(zhang)
    assert RoomConnection.objects.filter(room=room, user=dr_li_at_county_a).count() == 1
    assert not RoomEvent.objects.filter(room=room, kind="left").exists()


def test_wechats_in_app_browser_is_told_to_open_the_system_browser_when_it_cannot_send_media(
    pages, room, dr_li_at_county_a, phone
):
    li = pages(dr_li_at_county_a, viewport=phone)
    li.add_init_script(
        """Object.defineProperty(navigator, 'userAgent', {get: () =>
             'Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/116 Mobile MicroMessenger/8.0.47'});
           delete window.RTCPeerConnection;"""
    )
    enter(li, room)
    banner = li.locator("#room-banner")
    banner.wait_for()
    assert "在浏览器打开" in banner.inner_text()
    assert horizontal_overflow(li) == 0


def test_wechats_in_app_browser_that_can_send_media_gets_no_warning(pages, room, dr_li_at_county_a, phone):
    li = pages(dr_li_at_county_a, viewport=phone)
    li.add_init_script(
        """Object.defineProperty(navigator, 'userAgent', {get: () =>
             'Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/116 Mobile MicroMessenger/8.0.47'});"""
    )
    enter(li, room)
    li.wait_for_timeout(6000)  # the self-test gives up after 5 s
    assert li.locator("#room-banner").is_hidden()


def test_an_iphone_gets_h264_first(pages, room, dr_li_at_county_a, cardiologist_zhang, phone, pc):
    zhang = pages(cardiologist_zhang, viewport=pc)
    if not zhang.evaluate("RTCRtpReceiver.getCapabilities('video').codecs.some(c => c.mimeType === 'video/H264')"):
        pytest.skip("this Chromium has no H.264")
    li = pages(dr_li_at_county_a, viewport=phone)
    li.add_init_script(
        "Object.defineProperty(navigator, 'userAgent', {get: () => 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like "
        "Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1'});"
    )
    enter(li, room)
    enter(zhang, room)
    connected_to(li, 1)
    connected_to(zhang, 1)
    codecs = zhang.evaluate(
        """async () => { const peer = Object.values(window.hubRoomCall.peers)[0];
             const stats = await peer.pc.getStats();
             const codecs = {}; stats.forEach(s => { if (s.type === 'codec') codecs[s.id] = s.mimeType; });
             const out = []; stats.forEach(s => { if (s.type === 'outbound-rtp' && s.kind === 'video' && s.codecId)
               out.push(codecs[s.codecId]); }); return out; }"""
    )
    assert codecs and all(codec == "video/H264" for codec in codecs), codecs


def test_a_shared_screen_arrives_at_the_other_side_and_audio_keeps_priority(
    pages, room, dr_li_at_county_a, cardiologist_zhang, phone, pc
):
    li = pages(dr_li_at_county_a, viewport=phone)
    zhang = pages(cardiologist_zhang, viewport=pc)
    enter(li, room)
    enter(zhang, room)
    connected_to(li, 1)
    connected_to(zhang, 1)

    zhang.click("#btn-screen")  # the PACS viewer on the specialist's PC (Chromium's fake screen here)
    zhang.wait_for_selector(".tile.kind-screen.local", state="attached")
    li.wait_for_function(
        "() => { const v = document.querySelector('.tile.kind-screen:not(.local) video');"
        " return v && v.videoWidth >= 1280 && v.currentTime > 0; }",
        timeout=20_000,
    )
    # Bandwidth: the screen is sent at full resolution with its own cap, the camera is capped lower, and
    # audio has the high priority.
    zhang.wait_for_function(  # the parameters are set once negotiated (and checked again every 2 s)
        """() => Object.values(window.hubRoomCall.peers)[0].pc.getSenders().filter(s => s.track)
                 .every(s => s.getParameters().encodings[0].maxBitrate)""",
        timeout=10_000,
    )
    encodings = zhang.evaluate(
        """() => { const call = window.hubRoomCall, pc = Object.values(call.peers)[0].pc, out = {};
             pc.getSenders().filter(s => s.track).forEach(s => {
               const kind = s.track.kind === 'audio' ? 'audio' : call.kindOfTrack(s.track);
               const p = s.getParameters(); out[kind] = {...p.encodings[0], degradation: p.degradationPreference};
             }); return out; }"""
    )
    assert encodings["audio"]["priority"] == "high" and encodings["audio"]["networkPriority"] == "high", encodings
    assert encodings["screen"]["maxBitrate"] > encodings["camera"]["maxBitrate"]
    assert encodings["screen"]["scaleResolutionDownBy"] == 1
    assert encodings["camera"]["priority"] == "low"

    zhang.click("#btn-screen")  # stopped: the tile goes on the other side too
    li.wait_for_selector(".tile.kind-screen:not(.local)", state="detached", timeout=15_000)


def test_after_the_phone_goes_offline_and_back_media_flows_again_without_rejoining(
    pages, room, dr_li_at_county_a, cardiologist_zhang, phone, pc
):
    from hub.consultations.models import RoomEvent

    li = pages(dr_li_at_county_a, viewport=phone)
    zhang = pages(cardiologist_zhang, viewport=pc)
    enter(li, room)
    enter(zhang, room)
    connected_to(li, 1)
    connected_to(zhang, 1)
    connection = li.evaluate("window.hubRoomCall.me")
    restarts = li.evaluate("Object.values(window.hubRoomCall.peers)[0].lastRestart")

    li.context.set_offline(True)  # the socket drops; the browser fires "offline", then "online"
    li.wait_for_timeout(2000)
    li.context.set_offline(False)
    li.wait_for_function("document.getElementById('link-state').dataset.state === 'connected'", timeout=10_000)
    li.wait_for_function(
        "(before) => { const p = Object.values(window.hubRoomCall.peers)[0];"
        " return p.lastRestart !== before && p.pc.connectionState === 'connected'; }",
        arg=restarts,
        timeout=10_000,
    )
    media_flows_again(li)
    media_flows_again(zhang)
    assert li.evaluate("window.hubRoomCall.me") == connection  # the same connection: not a rejoin
    assert not RoomEvent.objects.filter(room=room, kind="left").exists()


def test_ending_the_room_with_a_conclusion_asks_for_the_signing_pin_on_a_phone(
    page_for, room, cardiologist_zhang, phone
):
    """Under the hub's Content-Security-Policy (static scripts only), at 360 px: the end dialog asks for the PIN
    once a conclusion is written; without it nothing is sent, a wrong one is refused with the room still open,
    the right one ends the room with a signed opinion that verifies."""
    import time

    from hub.consultations.models import Room
    from hub.signatures.services import opinion_signature_check
    from tests.factories import SIGNING_PIN, with_signing_pin

    with_signing_pin(cardiologist_zhang)
    page = page_for(cardiologist_zhang, viewport=phone, language="en")
    page.on("dialog", lambda dialog: dialog.accept())  # "End the consultation for everyone and sign the opinion?"
    page.goto(f"/consultations/rooms/{room.pk}/")
    page.locator("#link-state[data-state=connected]").wait_for(timeout=15_000)
    page.click("[data-tab=timeline]")
    page.click(".end-room summary")
    assert page.locator("#opinion-pin").is_hidden()  # no conclusion, nothing to sign
    page.fill("#opinion-conclusion", "急性前壁STEMI，建议立即转诊PCI")
    pin = page.locator("#opinion-pin")
    assert pin.is_visible() and pin.get_attribute("type") == "password"
    assert horizontal_overflow(page) == 0

    page.click("#end-form button[type=submit]")  # no PIN: asked for, nothing sent
    banner = page.locator("#room-banner")
    banner.wait_for()
    assert "six-digit signing PIN" in banner.inner_text()

    pin.fill("000000")
    page.click("#end-form button[type=submit]")
    page.locator("#room-banner", has_text="The signing PIN is not right.").wait_for()
    room.refresh_from_db()
    assert room.status == "open" and not room.referral.opinions.exists()
    assert horizontal_overflow(page) == 0

    pin.fill(SIGNING_PIN)
    page.click("#end-form button[type=submit]")
    deadline = time.monotonic() + 15
    while Room.objects.get(pk=room.pk).status != "ended" and time.monotonic() < deadline:
        time.sleep(0.2)
    room.refresh_from_db()
    assert room.status == "ended"
    opinion = room.referral.opinions.get()
    assert opinion_signature_check(opinion=opinion).valid
    page.goto("about:blank")


# --- a room larger than a mesh, through a real SFU ------------------------------------------------------------
# Five pages send their media through Janus (Debian's ``janus``, ``deploy/janus/``, started by
# ``tests/conftest.py``'s ``janus_server``) with the access the hub issued; a removed expert's page is cut off
# and the others stop receiving it.

# Per page: the SFU's state, and per remote feed its connection state and the audio and video bytes received.
FEEDS = """async () => {
  const sfu = window.HubSfu && window.HubSfu.room;
  if (!sfu) return null;
  const feeds = {};
  for (const [id, feed] of Object.entries(sfu.feeds)) {
    const bytes = {audio: 0, video: 0};
    const report = feed.pc ? await feed.pc.getStats() : new Map();
    report.forEach(s => { if (s.type === 'inbound-rtp') bytes[s.kind] += s.bytesReceived || 0; });
    feeds[feed.owner] = {state: feed.pc ? feed.pc.connectionState : 'none', bytes};
  }
  return {closed: sfu.closed, published: sfu.pub ? sfu.pub.connectionState : 'none', feeds};
}"""


def _feeds(page) -> dict:
    return page.evaluate(FEEDS)


def _wait(page, predicate, seconds: float, what: str) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        seen = _feeds(page)
        if seen is not None and predicate(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {seen}")
        page.wait_for_timeout(250)


def _media_flows(page, owners: set[str]) -> None:
    """Audio and video bytes from every one of ``owners`` grow on the page within a few seconds."""
    before = _feeds(page)["feeds"]
    deadline = time.monotonic() + 10
    while True:
        page.wait_for_timeout(1000)
        after = _feeds(page)["feeds"]
        grown = {
            owner
            for owner in owners
            if owner in after
            and owner in before
            and all(after[owner]["bytes"][k] > before[owner]["bytes"][k] for k in ("audio", "video"))
        }
        if grown == owners:
            return
        if time.monotonic() > deadline:
            raise AssertionError((owners - grown, before, after))


@pytest.fixture
def experts(general_hospital):
    return [
        UserFactory(username=f"sfu_expert{n}", display_name=f"专家{n}", role=Role.SPECIALIST, site=general_hospital)
        for n in range(3)
    ]


def test_five_participants_send_and_receive_through_janus_and_a_removed_expert_is_cut_off(
    janus, pages, room, dr_li_at_county_a, cardiologist_zhang, experts, phone, pc
):
    room_services.participant_invite(room_id=room.pk, actor=cardiologist_zhang, invitees=experts)
    room.refresh_from_db()
    assert room.media_mode == "sfu"  # five admitted: past a mesh
    people = [dr_li_at_county_a, cardiologist_zhang, *experts]
    opened = [pages(user, viewport=pc if user == cardiologist_zhang else phone) for user in people]
    for page in opened:
        enter(page, room)
    connections = {}
    for page, user in zip(opened, people, strict=True):
        seen = _wait(
            page,
            lambda s: (
                s["published"] == "connected"
                and len(s["feeds"]) == 4
                and all(f["state"] == "connected" for f in s["feeds"].values())
            ),
            60,
            f"{user.username} connected to the four others through Janus",
        )
        connections[user.pk] = set(seen["feeds"])
    assert not any(page.evaluate("Object.keys(window.hubRoomCall.peers).length") for page in opened)  # no mesh
    for page, user in zip(opened, people, strict=True):
        _media_flows(page, connections[user.pk])
    # The county doctor's phone shows the four others' cameras, each tile playing decoded frames.
    opened[0].wait_for_function(
        """() => { const videos = [...document.querySelectorAll('figure.tile:not(.local) video')];
                   return videos.length === 4 && videos.every(v => v.videoWidth > 0); }"""
    )

    removed, removed_page = experts[2], opened[4]
    removed_connection = removed_page.evaluate("window.hubRoomCall.me")
    assert all(removed_connection in connections[user.pk] for user in people[:4])
    room_services.participant_remove(room_id=room.pk, actor=cardiologist_zhang, user=removed)
    _wait(removed_page, lambda s: s["closed"] and not s["feeds"], 15, "the removed expert's page left Janus")
    for page in opened[:4]:
        _wait(page, lambda s: removed_connection not in s["feeds"], 15, "the others no longer receive the removed")
    for page, user in zip(opened[:4], people[:4], strict=True):
        _media_flows(page, connections[user.pk] - {removed_connection})


def _all_connected(count):
    return lambda s: (
        s["published"] == "connected"
        and len(s["feeds"]) == count
        and all(f["state"] == "connected" for f in s["feeds"].values())
    )


def test_through_janus_the_ultrasound_reaches_the_experts_and_a_phone_back_online_sends_again(
    janus, pages, room, dr_li_at_county_a, cardiologist_zhang, experts, phone, pc
):
    room_services.participant_invite(room_id=room.pk, actor=cardiologist_zhang, invitees=experts)
    people = [dr_li_at_county_a, cardiologist_zhang, *experts]
    opened = [pages(user, viewport=pc if user == cardiologist_zhang else phone) for user in people]
    for page in opened:
        enter(page, room)
    for page in opened:
        _wait(page, _all_connected(4), 60, "connected through Janus")
    li, zhang = opened[0], opened[1]
    li_connection = li.evaluate("window.hubRoomCall.me")

    # The county side shares the ultrasound as a second video: the expert sees it, and stores a snapshot.
    li.click(".ultrasound-setup summary")
    li.wait_for_function("document.querySelectorAll('#us-device option').length > 0")
    li.click("#btn-us-start")
    zhang.wait_for_function(
        "() => { const v = document.querySelector('.tile.kind-ultrasound:not(.local) video');"
        " return v && v.videoWidth > 0; }",
        timeout=20_000,
    )
    zhang.locator(".tile.kind-ultrasound:not(.local) button.snapshot").click()
    zhang.wait_for_selector("#messages img.thumb", state="attached", timeout=15_000)
    media = Resource.objects.filter(resource_type="Media", deleted=False).get()
    assert media.content["modality"]["coding"][0]["code"] == "US"

    # The phone loses its network for two seconds: its Janus session is built again, without rejoining the room.
    li.context.set_offline(True)
    li.wait_for_timeout(2000)
    li.context.set_offline(False)
    _wait(li, _all_connected(4), 20, "the phone connected to the others again")
    _wait(zhang, lambda s: s["feeds"].get(li_connection, {}).get("state") == "connected", 20, "the phone's feed back")
    _media_flows(zhang, {li_connection})
    _media_flows(li, set(_feeds(li)["feeds"]))
    assert li.evaluate("window.hubRoomCall.me") == li_connection  # the same connection: not a rejoin
