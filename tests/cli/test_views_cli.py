"""cli/_views.py: one fetcher for any view of the view table (offline from the store,
or through the running node: the same document and the same refusal), and the builder
of list/show commands with --json, --csv and a table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from cli_support import Run, ok
from fake_node import serving
from typer.testing import CliRunner

from coopledger.cli._common import CoopError
from coopledger.cli._views import Column, fetch, view_command


@pytest.fixture
def riverside(run: Run, garden: Path) -> Path:
    ok(run("federation", "create", "--name", "Riverside", "--charter", "We share.",
           "--home", garden))
    return garden


def app() -> typer.Typer:
    a = typer.Typer()
    view_command(a, "list", "federations", help="The federations.", rows="federations",
                 columns=[Column("name", "name"), Column("members", "members", right=True),
                          Column("founder", lambda r: r["founder_name"])])
    view_command(a, "show", "federation", help="One federation.",
                 options={"federation": "FEDERATION"})
    view_command(a, "transfers", "transfers", help="Transfers.", rows="transfers",
                 columns=[Column("id", "id"), Column("status", "status")])
    return a


def invoke(*args: object) -> Any:
    return CliRunner().invoke(app(), [str(a) for a in args])


def refusal(home: Path, name: str, params: dict[str, str | None],
            options: dict[str, str] | None = None) -> str:
    with pytest.raises(CoopError) as exc:
        fetch(home, name, params, options=options)
    return str(exc.value)


def test_fetch_reads_the_same_offline_and_through_the_node(riverside: Path) -> None:
    cases: list[tuple[str, dict[str, str | None]]] = [
        ("federations", {"coop": None}), ("federation", {"federation": "Riverside"}),
        ("balances", {"federation": "Riverside", "as_of": "1"}),
        ("policy", {"federation": "Riverside"}), ("keys", {})]
    offline = [fetch(riverside, n, p) for n, p in cases]
    bad = [refusal(riverside, "balances", {"federation": "Lakeside"}),
           refusal(riverside, "federation", {"federation": "x"}, {"federation": "FED"}),
           refusal(riverside, "mandates", {"as_of": "soon"})]
    assert offline[1]["name"] == "Riverside"
    assert bad[0].startswith("--federation: no federation named 'Lakeside' here")
    assert bad[1].startswith("FED: no federation named 'x'")
    assert bad[2] == "--as-of: milliseconds since 1970, an integer"
    with serving(riverside) as node:
        assert [fetch(riverside, n, p) for n, p in cases] == offline
        assert [refusal(riverside, "balances", {"federation": "Lakeside"}),
                refusal(riverside, "federation", {"federation": "x"}, {"federation": "FED"}),
                refusal(riverside, "mandates", {"as_of": "soon"})] == bad
        assert node is not None


def test_a_built_list_command(riverside: Path) -> None:
    r = invoke("list", "--json", "--home", riverside)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == fetch(riverside, "federations", {})
    r = invoke("list", "--csv", "--home", riverside)
    assert r.output.splitlines()[0] == "name,members"
    assert r.output.splitlines()[1] == "Riverside,1"
    r = invoke("list", "--home", riverside)
    assert "Riverside" in r.output and "Hillside Garden" in r.output
    r = invoke("transfers", "--open", "--as-of", "2026-11-30", "--home", riverside)
    assert r.exit_code == 0 and "transfers: none" in r.output
    r = invoke("transfers", "--open", "--json", "--as-of", "1", "--home", riverside)
    assert json.loads(r.output)["as_of"] == 1


def test_a_built_show_command(riverside: Path) -> None:
    r = invoke("show", "Riverside", "--json", "--home", riverside)
    assert json.loads(r.output)["charter"] == "We share."
    r = invoke("show", "Riverside", "--home", riverside)
    assert "We share." in r.output and "(1)" in r.output   # one member
    r = invoke("show", "Lakeside", "--home", riverside)
    assert isinstance(r.exception, CoopError)
    assert str(r.exception).startswith("FEDERATION: no federation named 'Lakeside'")
    help_text = invoke("transfers", "--help").output
    for option in ("--open", "--as-of", "--federation", "--coop", "--json", "--csv"):
        assert option in help_text
