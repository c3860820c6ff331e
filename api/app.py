"""Chalice entry point: the app, its blueprints and its error middleware; the code is in ``chalicelib``."""

from __future__ import annotations

from chalice import Chalice
from chalicelib.auth import auth_bp
from chalicelib.http import http_middleware
from chalicelib.routes import BLUEPRINTS

app = Chalice(app_name="assurcredit-api")
app.register_blueprint(auth_bp)
for blueprint in BLUEPRINTS:
    app.register_blueprint(blueprint)
app.register_middleware(http_middleware, "http")
