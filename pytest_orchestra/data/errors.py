"""The one error type of the data capability."""

from __future__ import annotations

from pytest_orchestra.core.errors import OrchestraError


class DataError(OrchestraError, ValueError):
    """A schema, dataset or file that cannot be used; the message names what and where.

    Messages name the dataset, table, column or key (``shop.orders.customer_id:
    foreign key 'clients.id' names an unknown table``), so they can be acted on
    without a traceback.
    """
