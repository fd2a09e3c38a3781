"""The cheap marker reads agree with pytest's own ``iter_markers`` / ``get_closest_marker``."""

from __future__ import annotations

import pytest

from pytest_orchestra.core.marks import MarkerSurvey, closest_marker


def test_marker_reads_agree_with_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.app("module-app")

        @pytest.mark.critical
        class TestOrders:
            @pytest.mark.app("method-app")
            def test_method(self):
                pass

            def test_inherits(self):
                pass

        @pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.env("db"))])
        def test_param(n):
            pass

        def test_plain():
            pass
        """
    )
    items, _ = pytester.inline_genitems("-p", "no:orchestra")
    names = MarkerSurvey().add(items[:2])  # the rest are surveyed when first asked for
    for item in items:
        assert names.of(item) == {marker.name for marker in item.iter_markers()}, item.nodeid
        for name in ("app", "critical", "env", "parametrize", "missing"):
            assert closest_marker(item, name) is item.get_closest_marker(name), (item.nodeid, name)
    by_id = {item.name: item for item in items}
    assert closest_marker(by_id["test_method"], "app").args == ("method-app",)
    assert closest_marker(by_id["test_inherits"], "app").args == ("module-app",)
    assert "env" in names.of(by_id["test_param[2]"]) and "env" not in names.of(by_id["test_param[1]"])
    assert names.seen == {"app", "critical", "env", "parametrize"}


def test_survey_grows_with_the_items_it_is_shown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_a="""
        def test_plain():
            pass
        """,
        test_b="""
        import pytest

        pytestmark = pytest.mark.app("billing")

        @pytest.mark.env("db")
        def test_env():
            pass
        """,
    )
    items, _ = pytester.inline_genitems("-p", "no:orchestra")
    survey = MarkerSurvey().add([items[0]])
    assert survey.seen == set()
    survey.add(items)
    assert survey.seen == {"app", "env"} and survey.of(items[1]) == {"app", "env"}
    assert survey.of(items[0]) == frozenset()
