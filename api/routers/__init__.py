"""The API's routers, one module per area of the portal contract."""

from typing import Any

# A route's JSON object; its response_model (or the route's docs) states the shape.
Item = dict[str, Any]
