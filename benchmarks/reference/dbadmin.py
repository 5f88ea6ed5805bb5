"""Create or drop the benchmark's database; run by perf.py with the generated project's Python.

python dbadmin.py create|drop SERVER_URL NAME
"""

from __future__ import annotations

import asyncio
import sys
import urllib.parse


async def postgres(action: str, server_url: str, name: str) -> None:
    import asyncpg

    parsed = urllib.parse.urlsplit(server_url)
    admin_url = urllib.parse.urlunsplit(
        ("postgresql", parsed.netloc, parsed.path or "/postgres", parsed.query, "")
    )
    connection = await asyncpg.connect(admin_url)
    try:
        if action == "create":
            await connection.execute(f'CREATE DATABASE "{name}"')
        else:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def mongodb(action: str, server_url: str, name: str) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(server_url)
    try:
        if action == "drop":
            await client.drop_database(name)
    finally:
        await client.close()


def main() -> None:
    action, server_url, name = sys.argv[1:4]
    if action not in {"create", "drop"}:
        raise SystemExit(f"unknown action {action!r}")
    handler = mongodb if server_url.startswith("mongodb") else postgres
    asyncio.run(handler(action, server_url, name))


if __name__ == "__main__":
    main()
