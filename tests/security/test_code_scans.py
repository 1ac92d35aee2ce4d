"""Static checks over the product code (services/, the simulator excepted: it is a test double of the platforms).

Each scan reads the source with `ast`, so code added later is checked too: secrets and signatures are compared in
constant time, SQL takes its values as parameters, and log events are constant strings (untrusted text goes into
key-value fields, which the JSON and console renderers escape).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
# The simulator fakes the platforms' APIs for tests and the demo; it guards nothing real.
EXCLUDED = (SERVICES / "simulator",)
_SENSITIVE = re.compile(
    r"(^|_)(sig|sigs|signature|signatures|token|tokens|secret|secrets|hmac|mac|password|passwd)($|_)"
)
_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|WITH|COPY|TRUNCATE)\b", re.IGNORECASE)
_CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")

# Comparisons with `==` on a sensitive-looking name that are not secrets, and why.
NOT_SECRET_COMPARISONS: dict[tuple[str, str], str] = {}
# Interpolations into SQL text that are not values, and why they are safe.
SQL_INTERPOLATIONS = {
    ("services/alerter/noise_api.py", "column"): "a column name from the fixed _SLA_GROUPS allow-list",
    ("services/shared/db.py", "schema"): "the schema identifier from the operator's settings, double-quoted",
    ("services/local_run.py", "schema"): "the local run's own schema identifier, double-quoted",
}


def product_modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SERVICES.rglob("*.py")):
        if any(path.is_relative_to(excluded) for excluded in EXCLUDED):
            continue
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _names(node: ast.AST) -> Iterator[str]:
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            yield child.id
        elif isinstance(child, ast.Attribute):
            yield child.attr
        elif isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and child.func.attr == "get":
            for arg in child.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield arg.value


def test_the_scans_see_the_product_code() -> None:
    """The scans walk the real tree (a wrong root would make every check below pass vacuously)."""
    modules = dict(product_modules())
    assert "services/pollers/webhooks.py" in modules and "services/alerter/api.py" in modules
    assert len(modules) > 50


def test_secrets_and_signatures_are_never_compared_with_equals() -> None:
    """No `==` / `!=` between values whose names say signature, token, secret, MAC or password: such checks
    must use hmac.compare_digest, or their timing leaks how much of a guess was right."""
    found = []
    for path, tree in product_modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare) or not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                continue
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Constant) and side.value is None for side in sides):
                continue
            if any(_SENSITIVE.search(name.lower()) for side in sides for name in _names(side)):
                text = ast.unparse(node)
                if (path, text) not in NOT_SECRET_COMPARISONS:
                    found.append(f"{path}:{node.lineno}: {text}")
    assert not found, "use hmac.compare_digest:\n" + "\n".join(found)


def test_every_verifier_uses_compare_digest() -> None:
    """Every function that verifies or authorises (webhook signatures, link signatures, API tokens) calls
    hmac.compare_digest, and the webhook, link and API modules each have one."""
    verifiers, using = [], set()
    for path, tree in product_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and re.search(
                r"verify|authori[sz]ed|authentic", node.name
            ):
                calls = {ast.unparse(call.func) for call in ast.walk(node) if isinstance(call, ast.Call)}
                delegated = any(re.search(r"verify|authori[sz]ed|authentic", c) for c in calls)
                verifiers.append((path, node.name, "hmac.compare_digest" in calls or delegated))
            if isinstance(node, ast.Attribute) and ast.unparse(node) == "hmac.compare_digest":
                using.add(path)
    assert [v for v in verifiers if not v[2]] == []
    assert {"services/pollers/webhooks.py", "services/alerter/links.py", "services/alerter/api.py"} <= using


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            constants[node.target.id] = node.value
    return constants


def _text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)  # type: ignore[misc]
    return ""


def test_sql_takes_values_as_parameters() -> None:
    """SQL text is built only from constants: an f-string, `%`, `+` or `.format()` that builds SQL interpolates
    nothing but module-level string constants (column lists) or an allow-listed identifier; values go in $n."""
    found = []
    for path, tree in product_modules():
        constants = _module_constants(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and _SQL.match(_text(node)):
                for part in node.values:
                    if not isinstance(part, ast.FormattedValue):
                        continue
                    expr = ast.unparse(part.value)
                    constant = _CONSTANT.match(expr) and isinstance(constants.get(expr), ast.Constant)
                    if not constant and (path, expr) not in SQL_INTERPOLATIONS:
                        found.append(f"{path}:{node.lineno}: {{{expr}}} in SQL")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
                if any(_SQL.match(_text(side)) for side in (node.left, node.right)):
                    found.append(f"{path}:{node.lineno}: SQL built with {type(node.op).__name__}")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"
                and _SQL.match(_text(node.func.value))
            ):
                found.append(f"{path}:{node.lineno}: SQL built with .format()")
    assert not found, "\n".join(found)


def test_sql_scan_catches_an_interpolated_value() -> None:
    """The SQL scan is not vacuous: it flags a value interpolated into a query."""
    tree = ast.parse("q = f\"SELECT * FROM incidents WHERE merchant_id = '{merchant}'\"")
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr))
    assert _SQL.match(_text(node))
    assert [ast.unparse(v.value) for v in node.values if isinstance(v, ast.FormattedValue)] == ["merchant"]


def test_log_events_are_constant_strings() -> None:
    """The event of every log call is a constant (or a variable holding one), never an f-string, `%` or
    `.format()` of data: untrusted text goes into key-value fields, which the renderers escape."""
    found = []
    levels = {"debug", "info", "warning", "error", "exception", "critical", "msg"}
    for path, tree in product_modules():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
                continue
            if node.func.attr not in levels or not re.search(r"(^|\.)(log|logger|_log)$", ast.unparse(node.func.value)):
                continue
            event = node.args[0]
            if isinstance(event, ast.JoinedStr | ast.BinOp) or (
                isinstance(event, ast.Call) and isinstance(event.func, ast.Attribute) and event.func.attr == "format"
            ):
                found.append(f"{path}:{node.lineno}: {ast.unparse(event)[:80]}")
    assert not found, "\n".join(found)
