"""Opening the database for a command, and saying in Chinese why it could not be opened.

A missing PostgreSQL database, a server that is not running, a wrong password or an SQLite file in
a folder that does not exist are first-run mistakes: the command names the database and what to do,
instead of printing psycopg's English error and a traceback.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from yibao.storage.db import normalize_url
from yibao.storage.migrate import current_revision, head_revision, upgrade
from yibao.storage.uow import Store


class CannotOpen(Exception):
    """The database cannot be used; the message says which one and what to do."""


def open_store(db: str, *, migrate: bool = True) -> Store:
    """The store at ``db`` (migrated to the newest schema unless ``migrate`` is false)."""
    try:
        store = Store.open(db, migrate=False)
        if migrate:
            upgrade(store.engine)
        return store
    except ArgumentError as exc:
        raise CannotOpen(
            f"数据库地址无法识别：{db}（应为 SQLite 文件路径或 postgresql://用户@主机:端口/库名）"
        ) from exc
    except OperationalError as exc:
        raise CannotOpen(explain(db, exc)) from exc


def migrate_and_report(db: str) -> str:
    """``yibao db upgrade``: migrate and say what was done, from which revision to which."""
    store = open_store(db, migrate=False)
    try:
        try:
            before = current_revision(store.engine)
            upgrade(store.engine)
            after = current_revision(store.engine)
        except OperationalError as exc:
            raise CannotOpen(explain(db, exc)) from exc
    finally:
        store.dispose()
    where = shown(db)
    if before is None:
        return f"已在 {where} 建立数据库结构：空库 → 版本 {after}（最新）"
    if before == after:
        return f"{where} 的数据库结构已是最新版本 {after}，无需迁移"
    return f"已迁移 {where} 的数据库结构：版本 {before} → {after}（最新 {head_revision()}）"


def shown(db: str) -> str:
    """The database as a person can read it, without a password."""
    try:
        return make_url(normalize_url(db)).render_as_string(hide_password=True).replace("+psycopg", "")
    except ArgumentError:
        return db


def explain(db: str, exc: OperationalError) -> str:
    """What went wrong opening ``db``, in Chinese, with the way out."""
    text = str(exc.orig or exc)
    url = make_url(normalize_url(db))
    if url.get_backend_name() == "sqlite":
        path = url.database or "（内存）"
        if "unable to open" in text:
            return f"无法打开 SQLite 数据库文件 {path}：所在目录不存在或没有写权限。"
        return f"无法使用 SQLite 数据库文件 {path}：{_first_line(text)}"
    server = f"{url.host or 'localhost'}:{url.port or 5432}"
    name = url.database or ""
    if m := re.search(r'database "([^"]+)" does not exist', text):
        user = f" -U {url.username}" if url.username else ""
        return (
            f"PostgreSQL 服务器 {server} 上没有数据库 {m[1]}。请先创建它："
            f"createdb -h {url.host or 'localhost'} -p {url.port or 5432}{user} {m[1]}"
            f'（或在 psql 中执行 CREATE DATABASE "{m[1]}";），然后重新运行本命令。'
        )
    if "password authentication failed" in text or "no password supplied" in text:
        return f"PostgreSQL 服务器 {server} 拒绝了用户 {url.username or ''} 的登录：用户名或密码错误。"
    if m := re.search(r'role "([^"]+)" does not exist', text):
        return f"PostgreSQL 服务器 {server} 上没有用户 {m[1]}：请检查数据库地址中的用户名。"
    if "Connection refused" in text or "could not connect" in text or "connection failed" in text:
        return f"无法连接 PostgreSQL 服务器 {server}（数据库 {name}）：请确认服务器已启动、地址和端口正确。"
    return f"无法使用数据库 {shown(db)}：{_first_line(text)}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "未知错误"
