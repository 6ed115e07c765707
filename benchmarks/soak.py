"""The soak run: batch ingest for a long time while the server's memory is sampled."""

import threading
import time
from dataclasses import dataclass

from benchmarks.cases import (
    PINWATCH_APP,
    RunConfig,
    drive,
    native_source,
    pinwatch_env,
)
from benchmarks.database import migrated_engine, postgres_database, seed_ingest
from benchmarks.load import LoadResult
from benchmarks.servers import Server, running_server

SAMPLE_SECONDS = 5.0
# Memory counts as flat when the last quarter of the run averages at most
# this much above the second quarter. The first quarter is the warm-up, in
# which caches and connection pools fill.
FLAT_GROWTH = 0.05


@dataclass(frozen=True)
class SoakResult:
    seconds: float
    load: LoadResult
    # (seconds since the start, resident set size in MiB)
    samples: list[tuple[float, float]]

    def _quarter_mean(self, quarter: int) -> float:
        count = len(self.samples)
        part = self.samples[quarter * count // 4 : (quarter + 1) * count // 4]
        return sum(rss for _, rss in part) / len(part) if part else float("nan")

    @property
    def early_mib(self) -> float:
        return self._quarter_mean(1)

    @property
    def late_mib(self) -> float:
        return self._quarter_mean(3)

    @property
    def growth(self) -> float:
        return self.late_mib / self.early_mib - 1

    @property
    def flat(self) -> bool:
        return len(self.samples) >= 8 and self.growth <= FLAT_GROWTH


def _sample(
    server: Server, stop: threading.Event, samples: list[tuple[float, float]]
) -> None:
    started = time.monotonic()
    while not stop.wait(SAMPLE_SECONDS):
        samples.append((time.monotonic() - started, server.rss_mib()))


def soak(config: RunConfig, seconds: float) -> SoakResult:
    """Run batch ingest on PostgreSQL for ``seconds`` and sample the server's RSS."""
    soak_config = RunConfig(**{**vars(config), "duration_seconds": seconds})
    with postgres_database() as url, migrated_engine(url) as engine:
        registry = seed_ingest(engine)
        env = pinwatch_env(url)
        with running_server(
            "soak", PINWATCH_APP, env, config.log_dir, config.workers, "/healthz"
        ) as server:
            samples: list[tuple[float, float]] = []
            stop = threading.Event()
            sampler = threading.Thread(target=_sample, args=(server, stop, samples))
            sampler.start()
            try:
                source = native_source(registry, 100)
                load = drive(server, source, soak_config, config.connections)
            finally:
                stop.set()
                sampler.join()
            return SoakResult(seconds, load, samples)
