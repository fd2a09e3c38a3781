"""The workflow file as pytest sees it, and the role x edition matrix."""

from __future__ import annotations

import pytest

from tests.conftest import history_rows, latest_summary

WORKFLOW = """
apps:
  billing: {paths: ["suite/billing/*"], owner: "@billing"}
matrix:
  dimensions:
    role:
      Admin: {claims: {admin: true}, headers: {X-Role: admin}}
      Guest: {claims: {}, headers: {X-Role: guest}}
    edition:
      lite: {flags: {refunds: false}}
      enterprise: {flags: {refunds: true, sso: true}}
  exclude:
    - {role: Guest, edition: enterprise, reason: "guests have no enterprise seat"}
"""


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            "gates: {min_success_rate: '95%'}\n",
            "ERROR: orchestra.yaml: gates.min_success_rate: expected a number between 0 and 1, got '95%'",
        ),
        (
            "gates: {min_succes_rate: 0.9}\n",
            "ERROR: orchestra.yaml: gates.min_succes_rate: unknown key; did you mean 'min_success_rate'?*",
        ),
        (
            "environments: {db: {}}\n",
            "ERROR: orchestra.yaml: environments.db: missing required key 'provider'",
        ),
        (
            "matrix:\n  dimensions: {role: [Admin]}\n  exclude: [{region: eu}]\n",
            "ERROR: orchestra.yaml: matrix.exclude[0].region: unknown matrix dimension 'region' (declared: role)",
        ),
        ("gates: [1, 2\n", "ERROR: orchestra.yaml:1:*: invalid YAML: *"),
    ],
)
def test_malformed_workflow_is_a_usage_error_naming_file_and_key(
    pytester: pytest.Pytester, document: str, expected: str
) -> None:
    pytester.makefile(".yaml", orchestra=document)
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert "Traceback" not in result.stderr.str()
    assert not (pytester.path / ".orchestra").exists()


def test_workflow_from_pyproject_and_from_an_explicit_path(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.orchestra.gates]\nmax_failures = 'none'\n")
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(
        ["ERROR: pyproject.toml [[]tool.orchestra[]]: gates.max_failures: expected *, got 'none'"]
    )
    (pytester.path / "ci").mkdir()
    (pytester.path / "ci" / "nightly.yaml").write_text("gates: {max_failures: 0}\n")
    pytester.makepyfile("def test_bad(): assert 0")
    result = pytester.runpytest("--orchestra-workflow", "ci/nightly.yaml")
    assert result.ret == 6
    assert latest_summary(pytester.path)["workflow"] == "ci/nightly.yaml"
    missing = pytester.runpytest("--orchestra-workflow", "ci/missing.yaml")
    missing.stderr.fnmatch_lines(["ERROR: --orchestra-workflow: no such file: *missing.yaml"])


def test_workflow_from_python_through_the_hook(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_orchestra_workflow(config, workflow):
            assert workflow.source is None
            return {"gates": {"max_failures": 0}, "matrix": {"dimensions": {"tenant": ["acme", "globex"]}}}
        """
    )
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.matrix("tenant")
        def test_tenant(orchestra_context):
            assert orchestra_context.tenant == "acme"
        """
    )
    result = pytester.runpytest("-v")
    assert result.ret == 6
    result.stdout.fnmatch_lines(["*test_tenant[[]acme[]] PASSED*", "*test_tenant[[]globex[]] FAILED*"])


def test_a_matrix_marker_on_a_module_or_class_expands_every_test_below_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_module_level="""
        import pytest
        pytestmark = pytest.mark.matrix(role=["Admin", "Guest"])

        def test_role(orchestra_context):
            assert orchestra_context.role in ("Admin", "Guest")
        """,
        test_class_level="""
        import pytest

        @pytest.mark.matrix(edition=["lite", "pro"])
        class TestEditions:
            def test_edition(self, orchestra_context):
                assert orchestra_context.edition in ("lite", "pro")

        def test_outside():
            pass
        """,
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines_random([
        "*test_role[[]Admin[]] PASSED*", "*test_role[[]Guest[]] PASSED*",
        "*TestEditions::test_edition[[]lite[]] PASSED*", "*TestEditions::test_edition[[]pro[]] PASSED*",
        "*test_class_level.py::test_outside PASSED*",
    ])


def test_hook_returning_bad_data_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_orchestra_workflow(config, workflow):
            return {"gates": {"max_flaky": -1}}
        """
    )
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(["ERROR: pytest_orchestra_workflow: gates.max_flaky: expected *, got -1"])


def test_matrix_expands_with_readable_ids_exclusions_and_attached_data(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra=WORKFLOW)
    (pytester.path / "suite" / "billing").mkdir(parents=True)
    (pytester.path / "suite" / "billing" / "test_refund.py").write_text(
        "import pytest\n"
        "@pytest.mark.matrix('role', 'edition')\n"
        "def test_refund(orchestra_context):\n"
        "    ctx = orchestra_context\n"
        "    assert ctx.values == {'role': ctx.role, 'edition': ctx['edition']}\n"
        "    assert ctx['headers']['X-Role'] == ctx.role.lower()\n"
        "    assert ctx.attached['edition'] == {'flags': ctx['flags']}\n"
        "    assert ctx['flags']['refunds'], 'refunds are off on ' + ctx.edition\n"
        "@pytest.mark.matrix(role=['Admin'], region=['eu', 'us'])\n"
        "def test_region(orchestra_context):\n"
        "    assert orchestra_context['claims'] == {'admin': True}\n"
        "    assert orchestra_context.get('flags') is None\n"
        "@pytest.mark.matrix(role=['Admin', 'Guest'])\n"
        "@pytest.mark.parametrize('amount', [1, 2])\n"
        "def test_without_context(amount):\n"
        "    pass\n"
    )
    result = pytester.runpytest("-v", "-rs")
    result.stdout.fnmatch_lines_random(
        [
            "*test_refund[[]Admin-lite[]] FAILED*",
            "*test_refund[[]Admin-enterprise[]] PASSED*",
            "*test_refund[[]Guest-lite[]] FAILED*",
            "*test_refund[[]Guest-enterprise[]] SKIPPED*",
            "*test_region[[]Admin-eu[]] PASSED*",
            "*test_without_context[[]Admin-1[]] PASSED*",
            "*excluded by matrix.exclude[[]0[]]: guests have no enterprise seat*",
        ]
    )
    result.assert_outcomes(passed=7, failed=2, skipped=1)
    rows = {r["nodeid"].split("::")[1]: r for r in history_rows(pytester.path)}
    assert rows["test_refund[Guest-lite]"]["matrix"] == '{"role": "Guest", "edition": "lite"}'
    assert rows["test_refund[Guest-lite]"]["app"] == "billing"
    summary = latest_summary(pytester.path)
    assert summary["by_cell"]["role=Guest,edition=lite"]["failed"] == 1
    report = (pytester.path / ".orchestra" / "reports" / "latest" / "report.md").read_text()
    assert "| role \\ edition | lite | enterprise |" in report
    assert "| Guest | ❌ 1 | ⏭️ |" in report


def test_context_outside_a_matrix_is_empty(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        def test_plain(orchestra_context):
            assert orchestra_context.values == {}
            with pytest.raises(KeyError, match="this test is not in a matrix"):
                orchestra_context["role"]
            with pytest.raises(AttributeError):
                orchestra_context.role
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("'region'", "*@pytest.mark.matrix: dimension 'region' has no values*declared: none*"),
        ("role=[]", "*@pytest.mark.matrix: role has no values*"),
        ("", "*@pytest.mark.matrix needs at least one dimension*"),
        ("role=['a', 'a']", "*@pytest.mark.matrix: role lists a value twice*"),
    ],
)
def test_bad_matrix_marker_is_a_collection_error_naming_the_test(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest
        @pytest.mark.matrix({marker})
        def test_cell():
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([message])
    assert "test_cell" in result.stdout.str()


def test_app_marker_beats_path_globs(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="apps:\n  auth: {paths: ['test_*.py']}\n")
    pytester.makepyfile(
        """
        import pytest
        def test_login(): pass
        @pytest.mark.app("billing")
        def test_invoice(): pass
        """
    )
    pytester.runpytest()
    apps = {r["nodeid"].split("::")[1]: r["app"] for r in history_rows(pytester.path)}
    assert apps == {"test_login": "auth", "test_invoice": "billing"}
