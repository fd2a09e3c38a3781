"""Failures because the tests' input data is missing, corrupt or inconsistent."""

from __future__ import annotations

import base64
import csv
import datetime
import gzip
import json
import pickle
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from shop import formats, storage

DATA = Path(__file__).parent / "data"
FIXTURES = Path(__file__).parent / "fixtures"

data = pytest.mark.expect_category("data")


@data
def test_json_fixture_corrupt():
    json.loads((DATA / "catalog_broken.json").read_text())


@data
def test_json_orders_corrupt():
    with open(DATA / "orders_broken.json") as handle:
        assert len(json.load(handle)) == 2


@data
def test_product_reads_truncated_json():
    formats.load_json(DATA / "customers_truncated.json")


@data
def test_json_single_quotes():
    assert json.loads((FIXTURES / "users_broken.json").read_text())


@data
def test_fixture_seeds_from_corrupt_json(catalog_data):
    assert catalog_data["sku"]


@data
def test_yaml_corrupt():
    yaml.safe_load((DATA / "shipping_broken.yaml").read_text())


@data
def test_yaml_tabs():
    yaml.safe_load((DATA / "tabs_broken.yaml").read_text())


@data
def test_yaml_fixture_rates():
    assert yaml.safe_load((FIXTURES / "rates_broken.yaml").read_text())["eu"]


@data
def test_csv_corrupt():
    formats.load_csv(DATA / "stock_broken.csv")


@data
def test_csv_strict_in_test():
    with open(DATA / "stock_broken.csv", newline="") as handle:
        rows = list(csv.reader(handle, strict=True))
    assert rows


@data
def test_xml_corrupt():
    formats.load_xml(DATA / "catalog_broken.xml")


@data
def test_xml_unclosed():
    ET.fromstring((DATA / "feed_broken.xml").read_text())


@data
def test_gzip_corrupt():
    formats.load_gzip(DATA / "export_broken.gz")


@data
def test_gzip_truncated():
    gzip.decompress((DATA / "archive_truncated.gz").read_bytes())


@data
def test_zip_corrupt():
    formats.load_zip(DATA / "images_broken.zip")


@data
def test_zip_in_test():
    with zipfile.ZipFile(DATA / "images_broken.zip") as archive:
        assert archive.namelist()


@data
def test_pickle_corrupt():
    formats.load_pickle(DATA / "session_broken.pickle")


@data
def test_pickle_empty():
    pickle.loads((DATA / "cache_empty.pickle").read_bytes())


@data
def test_base64_corrupt():
    formats.load_token((DATA / "token_broken.b64").read_text().strip())


@data
def test_base64_in_test():
    base64.b64decode("abc", validate=True)


@data
def test_toml_corrupt():
    tomllib.loads((DATA / "settings_broken.toml").read_text())


@data
def test_text_fixture_wrong_encoding():
    assert (DATA / "names_latin1.txt").read_text(encoding="utf-8")


@data
def test_seed_unique_violation(seeded_db):
    assert seeded_db


@data
def test_seed_foreign_key_violation(orders_db):
    assert orders_db


@data
def test_seed_not_null_in_test():
    conn = storage.connect()
    rows = [(1, "ann@example.com"), (2, None)]
    for customer_id, email in rows:
        storage.add_customer(conn, customer_id, email)


@data
def test_missing_data_file():
    json.loads((DATA / "promotions.json").read_text())


@data
def test_missing_fixture_file():
    with open(FIXTURES / "warehouses.yaml") as handle:
        yaml.safe_load(handle)


@data
def test_product_reads_missing_data_file():
    formats.load_csv(DATA / "suppliers.csv")


@data
def test_unparsable_quantity():
    with open(DATA / "prices.csv", newline="") as handle:
        quantities = [int(row["qty"]) for row in csv.DictReader(handle)]
    assert sum(quantities) > 0


@data
def test_unparsable_date():
    with open(DATA / "deliveries.csv", newline="") as handle:
        row = list(csv.DictReader(handle))[0]
    assert datetime.date.fromisoformat(row["date"])


@data
def test_unparsable_decimal():
    values = (DATA / "discounts.txt").read_text().split()
    assert sum(Decimal(v.rstrip("%")) for v in values)


@data
def test_unparsable_weight():
    with open(DATA / "weights.csv", newline="") as handle:
        weights = [float(row["kg"]) for row in csv.DictReader(handle)]
    assert weights
