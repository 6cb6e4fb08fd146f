"""How every Azure function of the app is registered: `@registered(...)` on the lines above its definition.

The durable SDK's samples stack its decorators (`@bp.route(...)`, `@bp.durable_client_input(...)`) on the function,
and each module owns its blueprint, which `function_app` registers. Those decorators return the SDK's
`FunctionBuilder`, though, where this app needs the plain function: the local runner and the replay host drive the
orchestrator generators themselves, and tests call handlers as they are. `registered` applies the same decorators, in
the same order, and gives the function back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Function = TypeVar("Function", bound=Callable[..., Any])


def registered(*decorators: Callable[[Any], Any]) -> Callable[[Function], Function]:
    """Register the function with ``decorators`` as a stack of `@` lines would (the last one first)."""

    def register(function: Function) -> Function:
        built: Any = function
        for decorator in reversed(decorators):
            built = decorator(built)
        return function

    return register
