"""Failures because the machine or its configuration is not set up."""

from __future__ import annotations

import ctypes
import importlib
import importlib.metadata
import locale
import os
import shutil
import subprocess
import zoneinfo

import pytest

from shop import exporters, settings, tools

env = pytest.mark.expect_category("environment")


@env
def test_missing_third_party_module():
    import vendor_payment_sdk  # noqa: F401

    assert vendor_payment_sdk


@env
def test_missing_module_via_importlib():
    importlib.import_module("graphviz_renderer_missing")


@env
def test_product_optional_dependency_missing():
    exporters.export_pdf(["a"])


@env
def test_missing_executable():
    subprocess.run(["invoice-renderer-not-installed", "--version"], check=True)


@env
def test_product_runs_missing_tool():
    tools.run_tool("wkhtmltopdf-missing", "in.html", "out.pdf")


@env
def test_product_finds_missing_tool():
    tools.find_tool("convert-missing")


@env
def test_which_returned_none():
    path = shutil.which("ghostscript-missing")
    assert path is not None, "ghostscript executable not found on PATH"


@env
def test_shell_command_not_found():
    subprocess.run("pdftk-missing --help", shell=True, check=True, capture_output=True)


@env
def test_missing_env_var():
    assert os.environ["SHOP_DATABASE_URL_NOT_SET"].startswith("postgres")


@env
def test_product_reads_missing_env_var():
    assert settings.api_key()


@env
def test_fixture_needs_env_var(api_token):
    assert api_token


@env
def test_product_requires_env_var():
    settings.require_env("SHOP_REGION_NOT_SET")


@env
def test_missing_system_config():
    settings.load_config("/etc/shop-corpus/shop.ini")


@env
def test_missing_user_config():
    settings.load_config(os.path.expanduser("~/.shop-corpus/config.toml"))


@env
def test_unsupported_locale():
    locale.setlocale(locale.LC_ALL, "xx_XX.UTF-8")


@env
def test_unknown_timezone():
    zoneinfo.ZoneInfo("Mars/Olympus_Mons")


@env
def test_missing_shared_library():
    ctypes.CDLL("libshop-renderer-missing.so.3")


@env
def test_missing_distribution():
    assert importlib.metadata.version("shop-plugins-not-installed") >= "2"


@env
def test_name_missing_from_installed_package():
    from json import dumps_pretty  # noqa: F401 - not in this Python's json
