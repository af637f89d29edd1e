"""librechat-dynmodels: apply, check, verify and roll back the dynamic per-user models patches."""

__version__ = "0.1.0"
