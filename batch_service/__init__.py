"""A local Azure Batch data-plane service speaking REST api-version 2025-06-01 (`python -m batch_service serve`)."""
from __future__ import annotations

API_VERSION = "2025-06-01"

__all__ = ["API_VERSION"]
