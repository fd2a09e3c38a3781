"""A capability's schema module, for the lazy-section test: importing it is observable."""

from pytest_orchestra.workflow.schema import Field, Int, Record


def plans_node() -> Record:
    return Record({"count": Field(Int(0, "How many."), default=0)}, "Plans.")
