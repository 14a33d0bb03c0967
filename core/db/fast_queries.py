"""Hot-path SELECTs run straight on the driver's cursor (compiled once per statement and
dialect), for the credential look-up on every request and for list pages: ``FixedQuery``,
``select_rows`` and ``fetch_on_driver``. They run inside a ``Work``'s transaction."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Connection, Dialect, Select
from sqlalchemy.exc import DBAPIError

from cvatcore.core.db.engine import Work, watched


class FixedQuery:
    """A fixed Core ``SELECT`` that a hot path runs on every request (the credential lookup).

    It is compiled once per dialect and then run straight on the driver's cursor, inside the
    caller's transaction, with the column types' own bind and result processors. That skips
    SQLAlchemy's per-execution machinery (cache key, execution context, result metadata),
    which measured ~100 us per call on this project's machines, more than the query. Only for
    statements whose types do not need the driver's column description to convert results.
    With ``echo`` on, it runs through SQLAlchemy as usual so the statement is logged.
    """

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._plans: weakref.WeakKeyDictionary[Dialect, _Plan] = weakref.WeakKeyDictionary()

    def all(self, db: Work | Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row, as tuples; ``db`` is a request's ``Work`` or a ``Connection`` that is
        in a transaction."""
        if isinstance(db, Work):
            if db.engine.echo:
                return [tuple(row) for row in db.connection.execute(self.statement, params)]
            driver_connection = db.driver_connection
        elif db.engine.echo or not db.in_transaction():
            return [tuple(row) for row in db.execute(self.statement, params)]
        else:
            driver_connection = db.connection.driver_connection
        dialect = db.dialect
        plan = self._plans.get(dialect)
        if plan is None:
            plan = self._plans[dialect] = _Plan(self.statement, dialect)
        rows = fetch_on_driver(driver_connection, dialect, plan.sql, plan.arguments(params),
                               plan.converters)
        return rows if plan.converters else [tuple(row) for row in rows]

    def first(self, db: Work | Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        rows = self.all(db, params)
        return rows[0] if rows else None


class _Plan:
    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.defaults = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        escaped = compiled.escaped_bind_names or {}
        self.names = [(name, escaped.get(name, name)) for name in compiled.binds]
        self.positional = compiled.positiontup
        self.bind_processors = {
            name: proc
            for name, bind in compiled.binds.items()
            if (proc := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]
        self.converters = [(i, p) for i, p in enumerate(processors) if p is not None]

    def arguments(self, params: dict[str, Any]) -> Any:
        values = {**self.defaults, **params}
        for name, proc in self.bind_processors.items():
            values[name] = proc(values[name])
        if self.positional is not None:
            return tuple(values[name] for name in self.positional)
        return {escaped: values[name] for name, escaped in self.names}


def select_rows(
    db: Work, statement: Select[Any], params: dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """Every row of a Core ``SELECT`` (a list page), as tuples, read straight off the driver's
    cursor inside ``db``'s transaction; ``params`` are values of its ``bindparam``s.

    The statement is compiled through the engine's own compiled cache (the entry
    ``Connection.execute`` would use, so a statement shape is compiled once) and its
    parameters are bound as ``Connection.execute`` binds them; what is skipped is the
    execution context, the result object and its ``Row``s, which on a page of 500 rows cost
    more than the query itself. A statement object run again (one kept by the caller, such
    as a list's ``ListPlans`` entry) skips the cache lookup too. Results get the column
    types' result processors, as ``FixedQuery``; with ``echo`` on, or a
    ``before_cursor_execute`` listener on the engine, it runs through SQLAlchemy so the
    statement is logged or seen.
    """
    engine = db.engine
    if engine.echo or watched(engine):  # logged, or watched (tests count statements)
        return [tuple(row) for row in db.connection.execute(statement, params or {})]
    dialect = engine.dialect
    plan = _PLANS.get(statement)
    if plan is None or plan[0] is not dialect:
        compiled, extracted, collected, _ = statement._compile_w_cache(
            dialect, compiled_cache=engine._compiled_cache, column_keys=[],
            linting=dialect.compiler_linting,
        )
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]
        converters = [(i, p) for i, p in enumerate(processors) if p is not None]
        plan = _PLANS[statement] = (dialect, compiled, extracted, collected, converters)
    _, compiled, extracted, collected, converters = plan
    values = compiled.construct_params(
        params, extracted_parameters=extracted, escape_names=False, _collected_params=collected
    )
    bind_processors: Any = compiled._bind_processors
    sql, positions = compiled.string, compiled.positiontup
    if compiled.literal_execute_params or compiled.post_compile_params:  # expanding IN
        expanded = compiled._process_parameters_for_postcompile(values)
        sql, positions = expanded.statement, expanded.positiontup
        bind_processors = {**bind_processors, **expanded.processors}
        values = expanded.parameters
    args: Any
    if compiled.positional:
        args = dialect.execute_sequence_format([
            bind_processors[k](values[k]) if k in bind_processors else values[k]
            for k in positions
        ])
    else:
        escaped = compiled.escaped_bind_names
        args = {escaped.get(k, k): bind_processors[k](v) if k in bind_processors else v
                for k, v in values.items()}
    return fetch_on_driver(db.driver_connection, dialect, sql, args, converters)


def fetch_on_driver(
    driver_connection: Any, dialect: Dialect, sql: str, args: Any,
    converters: list[tuple[int, Any]],
) -> list[Any]:
    """Every row of ``sql`` run on the driver's own cursor, with the result processors in
    ``converters`` applied ((column index, processor) pairs); driver errors become
    SQLAlchemy's ``DBAPIError``, as ``Connection.execute`` raises them. Rows are the
    driver's (tuples for sqlite3 and psycopg) where nothing needs converting."""
    cursor = driver_connection.cursor()
    try:
        cursor.execute(sql, args)
        rows = cursor.fetchall()
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, args, exc, dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()
    if not converters:
        return rows
    result = []
    for row in rows:
        converted = list(row)
        for index, convert in converters:
            converted[index] = convert(converted[index])
        result.append(tuple(converted))
    return result


# statement -> (dialect, compiled, extracted parameters, collected parameters, converters)
_PLANS: weakref.WeakKeyDictionary[Select[Any], tuple[Any, ...]] = weakref.WeakKeyDictionary()
