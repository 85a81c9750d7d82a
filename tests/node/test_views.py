"""The one view table (node/_views.py, node/_views_table.py): one parser per parameter
type, so a parameter reads (and is refused) alike in every view; parameters parsed when
a view reads them, once; the former declarations still work."""

# ruff: noqa: F811  (the fixtures are parameters of the tests)

from __future__ import annotations

from typing import Any

import pytest
from test_econview import T0, store, world  # noqa: F401  (the fixtures)

import coopledger.node as node
from coopledger.node import NodeError, Store
from coopledger.node import _views_table as views
from coopledger.node._views import AS_OF, COOP, LOTTERY, TEXT, LookupFailed, Param, View, run


def refused(store: Store, view: str, params: dict[str, str], me: bytes | None
            ) -> tuple[str, str, int]:
    with pytest.raises(LookupFailed) as exc:
        views.answer(store, view, params, me=me)
    return exc.value.field, exc.value.message, exc.value.status


def test_lookup_failed_is_a_node_error_and_a_value_error() -> None:
    assert issubclass(LookupFailed, NodeError) and issubclass(LookupFailed, ValueError)
    from coopledger.node import _econview as econview
    assert econview.LookupFailed is LookupFailed is node.LookupFailed


@pytest.mark.parametrize(("params", "economy_view", "governance_view"), [
    ({"as_of": "soon"}, "balances", "mandates"),
    ({"as_of": "12345678901234567"}, "board", "alerts"),
    ({"open": "yes"}, "transfers", "proposals"),
    ({"federation": "Lakeside"}, "balances", "roles"),
    ({"federation": "ab"}, "exceptions", "lotteries"),
    ({"coop": "Nobody"}, "federations", "keys"),
    ({"coop": "1234"}, "metrics", "misconduct"),
])
def test_a_parameter_is_refused_alike_everywhere(
        store: Store, world: dict[str, Any],
        params: dict[str, str], economy_view: str, governance_view: str) -> None:
    me = world["garden"].id
    extra = {"federation": "Riverside"} if economy_view == "board" else {}
    a = refused(store, economy_view, {**params, **extra}, me)
    b = refused(store, governance_view, params, me)
    assert a == b and a[0] == next(iter(params))


def test_unknown_and_missing_parameters(store: Store, world: dict[str, Any]
                                        ) -> None:
    assert refused(store, "fund", {}, None) == ("federation", "required", 400)
    assert refused(store, "mandate", {}, None) == ("mandate", "required", 400)
    assert refused(store, "policy", {"x": "1"}, None) == (
        "x", "unknown parameter; policy takes coop, federation", 400)
    assert refused(store, "proof-fork", {"as_of": "1"}, None) == (
        "as_of", "unknown parameter; proof-fork takes coop", 400)


def test_the_same_figure_reads_the_same(store: Store, world: dict[str, Any]
                                        ) -> None:
    """The economy's federation is resolved by the one parser in both tables' views:
    its id, by name or by prefix, is the body of the governance views."""
    fed = world["fed"].id
    by_name = views.answer(store, "balances", {"federation": "Riverside",
                                               "as_of": str(T0)}, me=None)
    by_prefix = views.answer(store, "balances", {"federation": fed.hex()[:8],
                                                 "as_of": str(T0)}, me=None)
    assert by_name == by_prefix
    policy = views.answer(store, "policy", {"federation": fed.hex()[:10]}, me=None)
    assert policy["body"] == fed.hex() and policy["body_name"] == "Riverside"


def test_parameters_are_parsed_when_read_and_once(
        store: Store, world: dict[str, Any]) -> None:
    calls: list[str] = []
    counting = AS_OF.__class__(lambda s, text, field: calls.append(text) or int(text),
                               AS_OF.schema, AS_OF.absent)

    def fn(s: Any, args: Any, me: bytes | None) -> dict[str, Any]:
        return {"a": args.value("as_of"), "b": args.value("as_of"), "raw": dict(args)}

    v = View("/v1/test", fn, "a test", (Param("as_of", counting), Param("coop", COOP)))
    doc = run("test", v, store, {"as_of": "7", "coop": "Nobody"}, None)
    # coop names nothing here, but the view never read it
    assert doc == {"a": 7, "b": 7, "raw": {"as_of": "7", "coop": "Nobody"}}
    assert calls == ["7"]


def test_a_parameter_is_typed_by_its_name_unless_declared() -> None:
    assert Param("lottery").kind is LOTTERY and Param("coop").kind is COOP
    assert Param("checkpoint").kind is TEXT and Param("as_of", TEXT).kind is TEXT
    v = View("/v1/x/{lottery}", lambda s, a, m: {}, "x", (Param("as_of", None, "when", True),))
    assert v.required == {"lottery", "as_of"} and v.param("as_of").kind is AS_OF
    assert v.url({"lottery": "a/b c", "as_of": "1"}) == ("/v1/x/a%2Fb%20c", {"as_of": "1"})


def test_every_view_is_routed_and_described_once() -> None:
    assert views.VIEWS is node.VIEWS
    paths = [v.path for v in views.VIEWS.values()]
    assert len(paths) == len(set(paths))
    described = views.openapi({})
    assert list(described) == paths
    transfers = {p["name"]: p for p in described["/v1/transfers"]["get"]["parameters"]}
    assert transfers["open"]["schema"] == {"type": "boolean"}
    assert transfers["as_of"]["schema"] == {"type": "integer", "minimum": 0}
    mandates = {p["name"]: p for p in described["/v1/mandates"]["get"]["parameters"]}
    assert mandates["as_of"]["schema"] == transfers["as_of"]["schema"]


def test_an_empty_coop_is_kept_as_it_was(store: Store, world: dict[str, Any]) -> None:
    """As before the table: ``coop=`` (empty) names no co-op in the economy's views,
    and is no filter in those of self-government (Param.blank_is_absent)."""
    assert refused(store, "balances", {"coop": ""}, None)[:2] == (
        "coop", "no co-op named '' here (give its name or at least 8 hex characters of "
        "its key)")
    assert views.answer(store, "mandates", {"coop": "", "as_of": "1"}, me=None) == \
        views.answer(store, "mandates", {"as_of": "1"}, me=None)
