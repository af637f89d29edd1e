"""LiteLLM proxy ``general_settings.custom_auth`` hook for live-check.py: virtual keys without a database.

live-check.py copies this file next to the proxy's config.yaml and names it there as
``custom_auth: litellm_keys.user_api_key_auth``. ``DYNMODELS_LITELLM_KEYS`` holds a JSON object
``{key: [model, ...]}``: a listed key reaches exactly its models (``GET /v1/models`` lists them,
a chat naming another model is refused); any other key is refused with 401.

When ``DYNMODELS_LITELLM_CALLS`` names a file, every request the hook sees is appended to it as one
line ``METHOD PATH LABEL``, LABEL being the key's name in ``DYNMODELS_LITELLM_LABELS``
(``{key: label}``) or ``unknown``: live-check.py counts the upstream ``/models`` fetches per key
from it, and no key is written.
"""

from __future__ import annotations

import json
import os

from fastapi import HTTPException, Request
from litellm.proxy._types import UserAPIKeyAuth

KEYS: dict[str, list[str]] = json.loads(os.environ.get("DYNMODELS_LITELLM_KEYS", "{}"))
LABELS: dict[str, str] = json.loads(os.environ.get("DYNMODELS_LITELLM_LABELS", "{}"))
CALLS = os.environ.get("DYNMODELS_LITELLM_CALLS", "")


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    key = api_key.removeprefix("Bearer ").strip()
    if CALLS:
        with open(CALLS, "a", encoding="utf-8") as calls:
            calls.write(f"{request.method} {request.url.path} {LABELS.get(key, 'unknown')}\n")
    models = KEYS.get(key)
    if models is None:
        raise HTTPException(status_code=401, detail="invalid api key")
    if request.method == "POST" and request.url.path.rstrip("/").endswith("/chat/completions"):
        body = json.loads(await request.body() or b"{}")
        if body.get("model") not in models:
            raise HTTPException(status_code=401, detail="this key cannot use that model")
    return UserAPIKeyAuth(api_key=key, models=models)
