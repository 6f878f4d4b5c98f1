"""audit: responsible-AI audits of classification models, by subgroup.

Examples
--------
>>> import audit
>>> result = audit.run("examples/adult/audit.yaml")  # doctest: +SKIP
>>> result.to_html("reports/adult/model_card.html")  # doctest: +SKIP
"""

from importlib import metadata as _metadata

from ._config import AuditConfig, config_from_dict, load_config
from ._errors import AuditError
from ._result import AuditResult
from ._run import run

try:
    __version__ = _metadata.version("rai-audit")
except _metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["run", "AuditResult", "AuditConfig", "AuditError", "load_config", "config_from_dict", "__version__"]
