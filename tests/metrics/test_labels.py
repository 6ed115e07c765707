from service.metrics.labels import OTHER, VersionLabels


def test_new_versions_fill_free_slots() -> None:
    labels = VersionLabels(max_versions=2)

    first = labels.label(1, "1.0.0")
    second = labels.label(1, "1.1.0")
    third = labels.label(1, "1.2.0")

    assert first == "1.0.0"
    assert second == "1.1.0"
    assert third == OTHER


def test_slots_are_counted_per_app() -> None:
    labels = VersionLabels(max_versions=1)

    labels.label(1, "1.0.0")

    assert labels.label(2, "2.0.0") == "2.0.0"
    assert labels.label(1, "2.0.0") == OTHER


def test_load_keeps_busiest_versions() -> None:
    labels = VersionLabels(max_versions=2)
    labels.label(1, "0.9.0")

    labels.load(1, ["3.0.0", "2.0.0", "1.0.0"])

    assert labels.label(1, "3.0.0") == "3.0.0"
    assert labels.label(1, "2.0.0") == "2.0.0"
    assert labels.label(1, "1.0.0") == OTHER
    assert labels.label(1, "0.9.0") == OTHER
