#!/usr/bin/env python3
"""Renders what the reference charm writes for tests/e2e_refresh.rs: its kratos.yaml and
the `config` it publishes on public-route.

Run with a checkout of canonical/kratos-operator (commit 530db02), Jinja2 and PyYAML:

    python3 render.py /path/to/kratos-operator .

`kratos.yaml` reproduces `ConfigFile.from_sources` (src/configs.py) for the scenario the test sets up:
the template `templates/kratos.yaml.j2` rendered with the ChainMap of the sources'
`to_service_configs()` that `KratosCharm.config_file` (src/charm.py) passes, with

- `CharmConfig`: the config defaults (enable_local_idp, enforce_mfa true; the others false);
- `ClaimMapper`: `claim_mappers/*.jsonnet` as `base64://` (unused without OIDC providers);
- `LoginUIEndpointData`: the login UI's pages under http://login-ui.test/ui (as the test's
  ui-endpoint-info relation gives them), `default_browser_return_url` = the settings page;
- `PublicRouteData`: https://iam.example.com (`domain`, `origin`: used by WebAuthn only);
- `TracingData`: not ready; no web-hooks, no external IdP, no OIDC providers in the ConfigMap;
- `IdentitySchema`: `DefaultIdentitySchemaProvider` (nothing in the config option or the
  ConfigMap): `identity_schemas/*.json` as `base64://` of the file text, the default from
  `identity_schemas/default.schema`.

`public-route.yaml` reproduces `PublicRouteData.load` (src/integrations.py) and
`TraefikRouteRequirer.submit_to_traefik` (lib/charms/traefik_k8s/v0/traefik_route.py):
`templates/public-route.j2` for model `test-model` (the emulator's), app `kratos`, port 4433
and Traefik's `external_host` iam.example.com, parsed as JSON, then `yaml.safe_dump`.

Nothing in them is secret: the DSN, the cookie secret and the public URL reach Kratos as
environment variables of the Pebble layer, which the test builds itself.
"""

import base64
import json
import sys
from collections import ChainMap
from pathlib import Path

import yaml
from jinja2 import Template


def b64(text: str) -> str:
    return f"base64://{base64.b64encode(text.encode('utf-8')).decode('utf-8')}"


def main(root: Path, out: Path) -> None:
    ui = "http://login-ui.test/ui"
    charm_config = {
        "enable_local_idp": True,
        "enforce_mfa": True,
        "enable_passwordless_login_method": False,
        "enable_oidc_webauthn_sequencing": False,
        "enable_verification": False,
    }
    mappers = {"mappers": {p.stem: b64(p.read_text()) for p in sorted((root / "claim_mappers").glob("*.jsonnet"))}}
    login_ui = {
        "default_browser_return_url": f"{ui}/settings",
        "login_ui_url": f"{ui}/login",
        "error_ui_url": f"{ui}/error",
        "settings_ui_url": f"{ui}/settings",
        "recovery_ui_url": f"{ui}/recovery",
        "verification_ui_url": f"{ui}/verification",
        "webauthn_settings_url": f"{ui}/webauthn-settings",
        "account_linking_settings_url": f"{ui}/account-linking-settings",
        "registration_ui_url": f"{ui}/registration",
    }
    public_route = {"domain": "iam.example.com", "origin": "https://iam.example.com"}
    tracing = {"tracing_enabled": False}
    external_idp = {"external_oidc_providers": []}
    schemas_dir = root / "identity_schemas"
    schemas = {
        "default_identity_schema_id": (schemas_dir / "default.schema").read_text(),
        "identity_schemas": {p.stem: b64(p.read_text()) for p in sorted(schemas_dir.glob("*.json"))},
    }
    configmap = {"configmap_oidc_providers": []}
    sources = [charm_config, mappers, login_ui, public_route, tracing, {}, {}, external_idp, schemas, configmap]
    template = Template((root / "templates" / "kratos.yaml.j2").read_text())
    (out / "kratos.yaml").write_text(template.render(ChainMap(*sources)))

    route = Template((root / "templates" / "public-route.j2").read_text()).render(
        model="test-model", app="kratos", public_port=4433, external_host="iam.example.com"
    )
    (out / "public-route.yaml").write_text(yaml.safe_dump(json.loads(route)))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
