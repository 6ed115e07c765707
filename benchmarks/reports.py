"""TrustKit report bodies of a rotation casualty, as iOS and Android send them."""

from datetime import UTC, datetime

from benchmarks.database import BUNDLE_ID, SEED, IngestRegistry
from service.simulate.scenario import build_scenario
from service.simulate.trustkit import android_report, ios_report

# Distinct vendor ids, so that reports come from many installs.
REPORT_INSTALLS = 200


def report_bodies(registry: IngestRegistry) -> tuple[tuple[str, bytes], ...]:
    """Return (ingest key, body) of builds that lack the key the backend serves.

    Half are iOS reports, half Android reports, each with its own vendor id.
    """
    hostname = registry.hostnames[0]
    scenario = build_scenario(hostname, SEED)
    chain = scenario.rotated.certificates
    known = [scenario.current_pin]
    now = datetime.now(UTC).replace(microsecond=0)
    bodies = []
    for index in range(REPORT_INSTALLS):
        vendor_id = f"BENCH-{index:08d}-0000-4000-8000-000000000000"
        if index % 2:
            body = android_report(
                bundle_id=BUNDLE_ID,
                app_version="5.0.0",
                vendor_id=vendor_id,
                hostname=hostname,
                served_chain=chain,
                validated_chain=chain,
                known_pins=known,
                local_time=now.replace(tzinfo=None),
            )
            bodies.append((registry.keys["android"], body))
        else:
            body = ios_report(
                bundle_id=BUNDLE_ID,
                app_version="5.0.0",
                vendor_id=vendor_id,
                hostname=hostname,
                validated_chain=chain,
                known_pins=known,
                time=now,
            )
            bodies.append((registry.keys["ios"], body))
    return tuple(bodies)
