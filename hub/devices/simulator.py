"""Simulated bedside monitors and ventilators: realistic-looking physiology (numerics at 1 Hz, an ECG lead at
250 Hz and a pleth at 100 Hz for some), deterioration scenarios (``stemi``: ST elevation, rising heart rate,
falling blood pressure; ``stroke``: rising blood pressure; ``desat``: falling SpO2), published over MQTT (JSON)
or sent as HL7 v2 ORU^R01 over MLLP, as a site's gateway would.

``manage.py simulate_devices --count 200`` registers the devices it needs (``sim-001``...) at a site and
attaches them to that site's patients; ``make demo`` starts a few for the demo's chest-pain and stroke
patients (``demo_device_simulators_start``)."""

from __future__ import annotations

import json
import logging
import math
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

logger = logging.getLogger(__name__)
SCENARIOS = ("normal", "stemi", "stroke", "desat")


@dataclass
class Physiology:
    """One patient's vital signs, drifting; ``scenario`` worsens them over ``onset``..``onset + 300`` s."""

    scenario: str = "normal"
    seed: int = 0
    onset: float = 60.0
    hr: float = 78.0
    spo2: float = 97.0
    sys: float = 125.0
    dia: float = 78.0
    rr: float = 16.0
    temp: float = 36.8
    etco2: float = 36.0
    st: float = 0.0
    t: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.hr += self.rng.uniform(-12, 12)
        self.sys += self.rng.uniform(-15, 15)

    def step(self, dt: float = 1.0) -> dict[str, float]:
        self.t += dt
        worse = min(1.0, max(0.0, (self.t - self.onset) / 300.0))
        r = self.rng.gauss
        hr, spo2, sys, dia, st = self.hr, self.spo2, self.sys, self.dia, self.st
        if self.scenario == "stemi":
            hr, sys, dia, st = hr + 40 * worse, sys - 45 * worse, dia - 25 * worse, 3.5 * worse
        elif self.scenario == "stroke":
            sys, dia, hr = sys + 70 * worse, dia + 30 * worse, hr - 10 * worse
        elif self.scenario == "desat":
            spo2, hr = spo2 - 15 * worse, hr + 25 * worse
        values = {
            "hr": round(hr + r(0, 1.5)),
            "spo2": round(min(100.0, spo2 + r(0, 0.5))),
            "rr": round(self.rr + r(0, 1)),
            "sys": round(sys + r(0, 2)),
            "dia": round(dia + r(0, 1.5)),
            "temp": round(self.temp + r(0, 0.05), 1),
            "etco2": round(self.etco2 + r(0, 1)),
            "st2": round(st + r(0, 0.1), 2),
        }
        self.current = values
        return values

    def ecg(self, start: float, count: int, rate: float) -> list[float]:
        """A synthetic lead II: P, QRS, T as Gaussians at the current heart rate; ST raised in a STEMI."""
        hr = getattr(self, "current", {"hr": self.hr})["hr"]
        st = getattr(self, "current", {"st2": 0.0})["st2"] / 10.0  # mm -> mV
        beat = 60.0 / max(hr, 20)
        out = []
        for i in range(count):
            phase = ((start + i / rate) % beat) / beat
            v = 0.12 * math.exp(-(((phase - 0.12) / 0.03) ** 2))
            v -= 0.1 * math.exp(-(((phase - 0.22) / 0.008) ** 2))
            v += 1.1 * math.exp(-(((phase - 0.24) / 0.012) ** 2))
            v -= 0.2 * math.exp(-(((phase - 0.26) / 0.01) ** 2))
            v += (0.3 + st) * math.exp(-(((phase - 0.45) / 0.06) ** 2))
            if 0.28 < phase < 0.42:
                v += st
            out.append(round(v + self.rng.gauss(0, 0.01), 3))
        return out

    def pleth(self, start: float, count: int, rate: float) -> list[float]:
        hr = getattr(self, "current", {"hr": self.hr})["hr"]
        beat = 60.0 / max(hr, 20)
        out = []
        for i in range(count):
            phase = ((start + i / rate) % beat) / beat
            out.append(
                round(
                    50 + 40 * math.exp(-(((phase - 0.25) / 0.1) ** 2)) + 12 * math.exp(-(((phase - 0.55) / 0.08) ** 2)),
                    1,
                )
            )
        return out


CODES = {
    "hr": "147842",
    "spo2": "150456",
    "rr": "151562",
    "sys": "150021",
    "dia": "150022",
    "temp": "150364",
    "etco2": "151708",
    "st2": "131842",
}
UNITS = {
    "hr": "/min",
    "spo2": "%",
    "rr": "/min",
    "sys": "mm[Hg]",
    "dia": "mm[Hg]",
    "temp": "Cel",
    "etco2": "mm[Hg]",
    "st2": "mm",
}
HL7_UNITS = {
    "hr": "264864^MDC_DIM_BEAT_PER_MIN^MDC",
    "spo2": "262688^MDC_DIM_PERCENT^MDC",
    "rr": "264928^MDC_DIM_RESP_PER_MIN^MDC",
    "sys": "266016^MDC_DIM_MMHG^MDC",
    "dia": "266016^MDC_DIM_MMHG^MDC",
    "temp": "268192^MDC_DIM_DEGC^MDC",
    "etco2": "266016^MDC_DIM_MMHG^MDC",
    "st2": "mm^mm^UCUM",
}


def json_payload(values: dict[str, float], *, at: float, waves: dict | None = None) -> dict:
    body = {
        "time": datetime.fromtimestamp(at, tz=UTC).isoformat(),
        "numerics": [{"code": CODES[k], "value": v, "unit": UNITS[k]} for k, v in values.items()],
    }
    if waves:
        body["waves"] = waves
    return body


WAVE_OBX = {  # key: MDC code, reference id, unit (as IHE PCD's waveform content sends them)
    "ecg2": ("131330", "MDC_ECG_ELEC_POTL_II", "266418^MDC_DIM_MILLI_VOLT^MDC"),
    "pleth": ("150452", "MDC_PULS_OXIM_PLETH", "262656^MDC_DIM_DIMLESS^MDC"),
}


def hl7_ts(at: float) -> str:
    moment = datetime.fromtimestamp(at, tz=UTC)
    return moment.strftime("%Y%m%d%H%M%S") + f".{moment.microsecond // 1000:03d}+0000"


def oru_message(
    *,
    site: str,
    device: str,
    values: dict[str, float],
    at: float,
    control_id: str,
    waves: dict[str, tuple[float, float, list[float]]] | None = None,
) -> str:
    """An IHE PCD-01 style ORU^R01: MDS / VMD / channel rows, then the metrics (ordinals shuffled on purpose:
    receivers match on codes); ``waves`` (key: (rate, time of the first sample, samples)) as NA rows, each
    followed by its sample period (MDC_ATTR_TIME_PD_SAMP, ms)."""
    ts = datetime.fromtimestamp(at, tz=UTC).strftime("%Y%m%d%H%M%S+0000")
    segments = [
        f"MSH|^~\\&|{device}^^EUI-64|{site}|ALLIANCE-HUB|ALLIANCE|{ts}||ORU^R01^ORU_R01|{control_id}|P|2.6"
        + "|||NE|AL||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
        "PID|||sim^^^alliance^MR",
        f"OBR|1|{control_id}^{device}|{control_id}^{device}|182777000^monitoring of patient^SCT|||{ts}",
        f"OBX|1||69837^MDC_DEV_METER_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||{device}",
    ]
    keys = list(values)
    random.shuffle(keys)
    for i, key in enumerate(keys, start=2):
        name = {
            "hr": "MDC_ECG_HEART_RATE",
            "spo2": "MDC_PULS_OXIM_SAT_O2",
            "rr": "MDC_RESP_RATE",
            "sys": "MDC_PRESS_BLD_NONINV_SYS",
            "dia": "MDC_PRESS_BLD_NONINV_DIA",
            "temp": "MDC_TEMP_BODY",
            "etco2": "MDC_AWAY_CO2_ET",
            "st2": "MDC_ECG_AMPL_ST_II",
        }[key]
        segments.append(f"OBX|{i}|NM|{CODES[key]}^{name}^MDC|1.{i}.1.{i}|{values[key]}|{HL7_UNITS[key]}|||||R|||{ts}")
    n = len(segments)
    for key, (rate, start, data) in (waves or {}).items():
        code, name, unit = WAVE_OBX[key]
        samples = "^".join(f"{x:g}" for x in data)
        segments.append(f"OBX|{n}|NA|{code}^{name}^MDC|1.1.2.{n}|{samples}|{unit}|||||R|||{hl7_ts(start)}")
        period = f"{1000 / rate:g}"
        segments.append(
            f"OBX|{n + 1}|NM|67981^MDC_ATTR_TIME_PD_SAMP^MDC|1.1.2.{n}.1|{period}|264338^MDC_DIM_MILLI_SEC^MDC"
        )
        n += 2
    return "\r".join(segments) + "\r"


def mllp_send(sock: socket.socket, message: str) -> str:
    """Send one message framed for MLLP and read its ACK."""
    sock.sendall(b"\x0b" + message.encode() + b"\x1c\x0d")
    data = b""
    while not data.endswith(b"\x1c\x0d"):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("MLLP: connection closed")
        data += chunk
    return data.strip(b"\x0b\x1c\x0d").decode()


@dataclass
class SimDevice:
    site: str
    key: str
    physiology: Physiology
    waves: bool = False
    hl7: bool = False


class Simulator:
    """Runs ``devices`` until ``stop()``: one thread for MQTT (all devices, each second), one for MLLP."""

    def __init__(self, devices: list[SimDevice], *, mqtt_url: str = "", mllp: tuple[str, int] | None = None):
        self.devices, self.mqtt_url, self.mllp = devices, mqtt_url, mllp
        self._stop = threading.Event()
        self.sent = 0
        self.acks: dict[str, int] = {}

    def start(self) -> Simulator:
        if self.mqtt_url and any(not d.hl7 for d in self.devices):
            threading.Thread(target=self._mqtt_loop, name="sim-mqtt", daemon=True).start()
        if self.mllp and any(d.hl7 for d in self.devices):
            threading.Thread(target=self._mllp_loop, name="sim-mllp", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _mqtt_loop(self) -> None:
        from hub.devices.ingest.mqtt import client_for

        client, host, port = client_for(self.mqtt_url, f"sim-{random.getrandbits(32):08x}")
        client.connect_async(host, port)
        client.loop_start()
        devices = [d for d in self.devices if not d.hl7]
        tick = time.time()
        while not self._stop.is_set():
            now = time.time()
            for device in devices:
                values = device.physiology.step()
                waves = None
                if device.waves:
                    waves = [
                        {
                            "code": "131330",
                            "rate": 250,
                            "time": datetime.fromtimestamp(now - 1, tz=UTC).isoformat(),
                            "data": device.physiology.ecg(now - 1, 250, 250),
                        },
                        {
                            "code": "150452",
                            "rate": 100,
                            "time": datetime.fromtimestamp(now - 1, tz=UTC).isoformat(),
                            "data": device.physiology.pleth(now - 1, 100, 100),
                        },
                    ]
                body = json_payload(values, at=now, waves=waves)
                client.publish(f"alliance/{device.site}/devices/{device.key}/vitals", json.dumps(body), qos=1)
                self.sent += 1
            tick += 1.0
            self._stop.wait(max(0.0, tick - time.time()))
        client.loop_stop()
        client.disconnect()

    def _mllp_loop(self) -> None:
        devices = [d for d in self.devices if d.hl7]
        sock = None
        n = 0
        tick = time.time()
        while not self._stop.is_set():
            try:
                if sock is None:
                    sock = socket.create_connection(self.mllp, timeout=10)
                for device in devices:
                    n += 1
                    now = time.time()
                    values = device.physiology.step()
                    waves = None
                    if device.waves:
                        waves = {
                            "ecg2": (250, now - 1, device.physiology.ecg(now - 1, 250, 250)),
                            "pleth": (100, now - 1, device.physiology.pleth(now - 1, 100, 100)),
                        }
                    answer = mllp_send(
                        sock,
                        oru_message(
                            site=device.site,
                            device=device.key,
                            values=values,
                            at=now,
                            control_id=f"SIM{n}",
                            waves=waves,
                        ),
                    )
                    code = answer.split("MSA|", 1)[1][:2] if "MSA|" in answer else "??"
                    self.acks[code] = self.acks.get(code, 0) + 1
                    self.sent += 1
            except OSError:
                logger.warning("simulator: MLLP connection lost; retrying")
                sock = None
                self._stop.wait(2)
            tick += 1.0
            self._stop.wait(max(0.0, tick - time.time()))
        if sock is not None:
            sock.close()


def devices_provision(
    *,
    site_code: str,
    count: int,
    waves: int = 20,
    hl7_every: int = 5,
    patients: list[str] | None = None,
    scenarios: dict[str, str] | None = None,
    prefix: str = "sim",
) -> list[SimDevice]:
    """Register ``count`` devices at the site (if missing) and attach them to its patients (round robin)."""
    from federation.sites.models import Site
    from fhir_gateway.public import ids_owned
    from hub.devices.models import Binding, Device
    from hub.devices.services import device_bind_internal, device_register

    site = Site.objects.get(code=site_code)
    patients = patients or [
        f"Patient/{i}" for i in ids_owned(resource_type="Patient", owner=site_code, limit=max(count, 1))
    ]
    if not patients:
        raise RuntimeError(f"no patients at {site_code}")
    scenarios = scenarios or {}
    out = []
    for i in range(count):
        key = f"{prefix}-{i + 1:03d}"
        device = Device.objects.filter(site=site, key=key).first() or device_register(
            site=site,
            key=key,
            kind="ventilator" if i % 10 == 9 else "monitor",
            manufacturer="Alliance Sim",
            model_name="SimMon 1",
            ward="急诊" if i < 20 else "病房",
            bed=str(i + 1),
        )
        patient = patients[i % len(patients)]
        if not Binding.objects.filter(device=device, end__isnull=True, patient_ref=patient).exists():
            device_bind_internal(device=device, patient_ref=patient)
        scenario = scenarios.get(patient) or ("normal" if i % 7 else SCENARIOS[(i // 7) % 4])
        out.append(
            SimDevice(
                site_code,
                key,
                Physiology(scenario=scenario, seed=i),
                waves=i < waves,
                hl7=hl7_every > 0 and i % hl7_every == hl7_every - 1,
            )
        )
    return out


def demo_device_simulators_start(*, mqtt_url: str) -> list[Simulator] | None:
    """The demo's monitors: one per chest-pain and stroke patient of the demo's requests (worsening), a few more."""
    from django.conf import settings

    from hub.referrals.models import Referral

    scenarios: dict[str, str] = {}
    by_site: dict[str, list[str]] = {}
    for referral in (
        Referral.objects.select_related("requesting_site")
        .filter(pathway__in=("chest_pain", "stroke"))
        .order_by("pk")[:6]
    ):
        scenarios[referral.patient_ref] = "stemi" if referral.pathway == "chest_pain" else "stroke"
        by_site.setdefault(referral.requesting_site.code, []).append(referral.patient_ref)
    devices: list[SimDevice] = []
    try:
        for site, patients in by_site.items():
            devices += devices_provision(
                site_code=site,
                count=len(patients),
                waves=len(patients),
                hl7_every=0,
                patients=patients,
                scenarios=scenarios,
                prefix="demo",
            )
    except Exception:
        logger.exception("demo monitors not started")
        return None
    if not devices:
        return None
    mllp = ("127.0.0.1", settings.DEVICES_MLLP_PORT) if settings.DEVICES_MLLP_PORT else None
    simulators = []
    for site in by_site:  # each site's gateway with its own MQTT credentials (the embedded broker checks them)
        url = mqtt_url if settings.MQTT_URL else _site_url(mqtt_url, site)
        simulators.append(Simulator([d for d in devices if d.site == site], mqtt_url=url, mllp=mllp).start())
    return simulators


def _site_url(hub_url: str, site_code: str) -> str:
    """The embedded broker takes sites' credentials: give the demo's gateway one."""
    import secrets
    from urllib.parse import urlsplit

    from federation.sites.models import Site
    from hub.devices.services import mqtt_credential_set

    password = secrets.token_urlsafe(16)
    mqtt_credential_set(site=Site.objects.get(code=site_code), username=f"gw-{site_code}", password=password)
    parts = urlsplit(hub_url)
    return f"mqtt://gw-{site_code}:{password}@{parts.hostname}:{parts.port}"
