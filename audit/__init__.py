"""audit: responsible-AI audits of classification models, by subgroup.

Examples
--------
>>> import audit
>>> result = audit.run("examples/adult/audit.yaml")  # doctest: +SKIP
>>> result.to_html("reports/adult/model_card.html")  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import TYPE_CHECKING, Any

from ._errors import AuditError

if TYPE_CHECKING:  # for type checkers and editors; at run time these load on first use (see __getattr__)
    from .settings._config import AuditConfig, config_from_dict, load_config
    from ._result import AuditResult, Written
    from ._run import audit, run

# The public API by the module that defines it. They are imported on first access so that `import audit`
# (and with it `audit --help`, `audit validate`, `audit init`) does not load scipy.stats, scikit-learn's
# estimators or shap, which only an audit run needs.
_LAZY = {"run": "._run", "audit": "._run", "AuditResult": "._result", "Written": "._result", "AuditConfig": ".settings._config",
         "load_config": ".settings._config",
         "config_from_dict": ".settings._config"}

__all__ = ["run", "audit", "AuditResult", "Written", "AuditConfig", "AuditError", "load_config", "config_from_dict",
           "__version__"]


def __getattr__(name: str) -> Any:
    """Import a public name on first access (PEP 562) and cache it in the package's namespace."""
    if name in _LAZY:
        value = getattr(_import_module(_LAZY[name], __name__), name)
    elif name == "__version__":
        # importlib.metadata scans the installed distributions: only worth it when asked for.
        from importlib import metadata

        try:
            value = metadata.version("rai-audit")
        except metadata.PackageNotFoundError:  # running from a source tree without installing
            value = "0.0.0"
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
