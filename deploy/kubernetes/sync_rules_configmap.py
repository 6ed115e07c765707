"""Write prometheus-rules-configmap.yaml from deploy/prometheus/rules.yaml.

Run it after every change to the rules:
    python3 deploy/kubernetes/sync_rules_configmap.py
With --check it writes nothing and exits 1 when the ConfigMap is out of date.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULES = HERE.parent / "prometheus" / "rules.yaml"
CONFIGMAP = HERE / "prometheus-rules-configmap.yaml"

HEADER = """\
# Generated from deploy/prometheus/rules.yaml by sync_rules_configmap.py.
# Do not edit: change the rules file and run the script again.
apiVersion: v1
kind: ConfigMap
metadata:
  name: pinwatch-prometheus-rules
  labels:
    app.kubernetes.io/name: pinwatch
    app.kubernetes.io/component: monitoring
data:
  pinwatch-rules.yaml: |
"""


def render(rules: str) -> str:
    """Return the ConfigMap text that carries ``rules`` unchanged."""
    lines = [f"    {line}" if line else "" for line in rules.splitlines()]
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    expected = render(RULES.read_text(encoding="utf-8"))
    if "--check" in argv:
        current = CONFIGMAP.read_text(encoding="utf-8") if CONFIGMAP.exists() else ""
        if current != expected:
            print(f"{CONFIGMAP} is out of date: run {Path(__file__).name}")
            return 1
        return 0
    CONFIGMAP.write_text(expected, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
