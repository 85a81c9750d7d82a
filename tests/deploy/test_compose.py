"""docker-compose.yml: four co-ops on one network, each with its own home volume,
bootstrapping from the other three, API published on the host's loopback only, and
each service's command a `coop node start` that the real `coop` command accepts.

There is no Docker engine here: this reads the file as compose would (PyYAML, merge
keys and anchors included) and parses each command with the real Typer app. The same
four-co-op topology runs for real in the netns tests.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Any

import multiaddr
import pytest
import yaml
from deploykit import COMPOSE_FILE, ROOT, Parsed, resolve_coop

COOPS = ("garden", "repair", "kitchen", "fablab")
OPERATORS_GUIDE = ROOT / "docs" / "operators.md"
GUIDE_SECTION = "## Run a four-co-op federation with docker-compose"
NETWORK = "federation"
P2P_PORT = 4140
API_PORT = 4141
# /dns4/<host>/tcp/<port>, optionally /p2p/<peer id> once ids are known.
BOOTSTRAP = re.compile(r"/dns4?/(?P<host>[a-z0-9-]+)/tcp/(?P<port>\d+)(?:/p2p/\w+)?")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def commands(services: dict[str, dict[str, Any]]) -> dict[str, Parsed]:
    """Each service's command, parsed by the real `coop` app."""
    parsed = {}
    for name, svc in services.items():
        command = svc.get("command")
        # The exec (list) form: no shell between docker and coop, nothing re-split.
        assert isinstance(command, list) and all(isinstance(a, str) for a in command), (
            f"{name}: command must be a list of strings, not {command!r}")
        parsed[name] = resolve_coop(command, f"service {name}")
    return parsed


def _volume(spec: Any) -> tuple[str, str]:
    """(source, target) of a short ("src:dst[:mode]") or long volume entry."""
    if isinstance(spec, dict):
        return spec.get("source", ""), spec["target"]
    source, target, *_ = str(spec).split(":")
    return source, target


def _port(spec: Any) -> tuple[str, str, str]:
    """(host_ip, published, target) of a short or long ports entry; host_ip "" if none."""
    if isinstance(spec, dict):
        return (str(spec.get("host_ip", "")), str(spec.get("published", "")),
                str(spec["target"]))
    text = str(spec).split("/", 1)[0]
    m = re.fullmatch(r"(?:(?P<ip>\[[^\]]+\]|[^:]+):)??(?:(?P<pub>[\d-]+):)?(?P<tgt>[\d-]+)",
                     text)
    assert m, f"cannot read the ports entry {spec!r}"
    return (m["ip"] or "").strip("[]"), m["pub"] or "", m["tgt"]


def _networks(svc: dict[str, Any]) -> set[str]:
    nets = svc.get("networks", [])
    return set(nets) if isinstance(nets, list) else set(nets or {})


def test_exactly_the_four_coops(services: dict[str, dict[str, Any]]) -> None:
    assert sorted(services) == sorted(COOPS)


def test_each_command_is_coop_node_start(commands: dict[str, Parsed]) -> None:
    for name, cmd in commands.items():
        assert cmd.path == ("coop", "node", "start"), f"{name} runs {' '.join(cmd.path)}"


def test_one_network_and_no_host_networking(compose: dict[str, Any],
                                            services: dict[str, dict[str, Any]]) -> None:
    assert set(compose.get("networks") or {}) == {NETWORK}
    for name, svc in services.items():
        assert _networks(svc) == {NETWORK}, name
        assert "network_mode" not in svc, f"{name} must not leave the federation network"


def test_each_coop_has_its_own_named_volume_holding_its_home(
        compose: dict[str, Any], services: dict[str, dict[str, Any]],
        commands: dict[str, Parsed]) -> None:
    declared = set(compose.get("volumes") or {})
    seen: dict[str, str] = {}
    for name, svc in services.items():
        mounts = [_volume(v) for v in svc.get("volumes", [])]
        assert len(mounts) == 1, f"{name}: one volume, its home's, not {mounts}"
        source, target = mounts[0]
        assert source in declared, f"{name}: {source!r} is not a named volume of this file"
        assert source not in seen, f"{name} shares the volume {source} with {seen[source]}"
        seen[source] = name
        home = commands[name].value("--home")
        # The home lies one level *inside* the volume, never at the mount point itself:
        # `coop init` builds a home beside its final place and renames it there, and a
        # mount point can be neither renamed over nor written beside.
        assert home is not None, f"{name}: give --home explicitly"
        assert PurePosixPath(str(home)).parent == PurePosixPath(target), (
            f"{name}: the home {home} must be a directory directly inside the volume at "
            f"{target}")
        env = svc.get("environment") or {}
        assert env.get("COOP_HOME") == str(home), (
            f"{name}: the entrypoint creates $COOP_HOME; it must be the --home the node "
            "starts with")
    assert set(seen) == declared


def test_each_coop_has_its_own_name(services: dict[str, dict[str, Any]]) -> None:
    names = [(svc.get("environment") or {}).get("COOP_NAME") for svc in services.values()]
    assert all(isinstance(n, str) and n.strip() for n in names), names
    assert len(set(names)) == len(names), names


def test_api_published_on_the_host_loopback_only(services: dict[str, dict[str, Any]],
                                                 commands: dict[str, Parsed]) -> None:
    published = []
    for name, svc in services.items():
        assert "expose" not in svc or not svc["expose"], f"{name}: nothing else is exposed"
        ports = [_port(p) for p in svc.get("ports", [])]
        assert len(ports) == 1, f"{name}: publish the API port only, not {ports}"
        host_ip, host_port, target = ports[0]
        assert host_ip == "127.0.0.1", (
            f"{name}: the API port must be published on 127.0.0.1 only, not on "
            f"{host_ip or 'every interface'}")
        assert host_port.isdigit(), f"{name}: give the host port explicitly"
        published.append(int(host_port))
        # Inside the container the API listens on all interfaces so the published port
        # reaches it; the loopback-only host side is what keeps it private.
        assert commands[name].value("--api") == f"0.0.0.0:{target}", name
        assert int(target) == API_PORT, name
    assert len(set(published)) == len(published), f"host ports collide: {published}"


def test_each_coop_bootstraps_from_the_other_three(commands: dict[str, Parsed]) -> None:
    for name, cmd in commands.items():
        listen = cmd.value("--listen")
        assert listen and any(f"/tcp/{P2P_PORT}" in a for a in listen), name
        peers = []
        for addr in [*listen, *(cmd.value("--bootstrap") or ())]:
            multiaddr.Multiaddr(addr)   # as the daemon reads them; raises if malformed
        for addr in cmd.value("--bootstrap") or ():
            m = BOOTSTRAP.fullmatch(addr)
            assert m, f"{name}: bootstrap address {addr!r} is not /dns4/<service>/tcp/<port>"
            assert int(m["port"]) == P2P_PORT, f"{name}: {addr} is not the p2p port"
            peers.append(m["host"])
        assert sorted(peers) == sorted(set(COOPS) - {name}), f"{name} bootstraps from {peers}"


def test_mdns_stays_on(commands: dict[str, Parsed]) -> None:
    for name, cmd in commands.items():
        if "--mdns" in cmd.by_flag:
            assert cmd.value("--mdns") in (True, None), f"{name} turns mDNS off"


def test_one_image_built_here(services: dict[str, dict[str, Any]]) -> None:
    images = {svc.get("image") for svc in services.values()}
    assert len(images) == 1 and None not in images, images
    builders = [name for name, svc in services.items() if "build" in svc]
    # One builder: several services building one tag at once can fail in compose.
    assert len(builders) == 1, builders
    build = services[builders[0]]["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile",
                                                                       "Dockerfile")
    assert (ROOT / context / dockerfile).is_file()
    for name, svc in services.items():
        if name not in builders:
            assert svc.get("pull_policy") == "never", (
                f"{name}: the image is local; never try to pull it from a registry")


def test_the_guide_runs_real_commands_on_real_services() -> None:
    """Every `docker compose exec SERVICE coop …` in the operators' guide names one of
    the four services and a `coop` command line the app accepts."""
    text = OPERATORS_GUIDE.read_text()
    assert GUIDE_SECTION in text
    section = text.split(GUIDE_SECTION, 1)[1].split("\n## ", 1)[0]
    found = 0
    for line in section.splitlines():
        m = re.search(r"docker compose exec (?:-T )?(\w+) (coop [^#`<>|]*)", line)
        if not m:
            continue
        found += 1
        assert m[1] in COOPS, line
        resolve_coop(shlex.split(m[2]), f"docs/operators.md: {line.strip()}")
    assert found >= 4
