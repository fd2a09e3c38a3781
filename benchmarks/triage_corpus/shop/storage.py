"""SQLite persistence for customers and orders."""

from __future__ import annotations

import sqlite3


def connect(path: str = ":memory:", timeout: float = 5.0) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=timeout)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executescript(
        """
        CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL);
        CREATE TABLE IF NOT EXISTS orders (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            amount REAL NOT NULL
        );
        """
    )
    return conn


def add_customer(conn: sqlite3.Connection, customer_id: int, email: str | None) -> None:
    conn.execute("INSERT INTO customers (id, email) VALUES (?, ?)", (customer_id, email))


def add_order(conn: sqlite3.Connection, order_id: int, customer_id: int, amount: float) -> None:
    conn.execute(
        "INSERT INTO orders (id, customer_id, amount) VALUES (?, ?, ?)",
        (order_id, customer_id, amount),
    )


def order_total(conn: sqlite3.Connection, customer_id: int) -> float:
    row = conn.execute(
        "SELECT SUM(amount) FROM orders WHERE customer_id = ?", (customer_id,)
    ).fetchone()
    return row[0] * 1.0  # None when there are no orders
