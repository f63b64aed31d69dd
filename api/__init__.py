"""Code the JSON API's routers share (``dashboard/api.py``, ``ingestion/batches/api.py``,
``ingestion/rejected/api.py``): authentication and permission checks, answer shapes, JSON
answers, parameter forms and their OpenAPI description. It imports none of those apps; the
one ``NinjaAPI`` that mounts their routers is wiring, in ``config/api.py``."""
