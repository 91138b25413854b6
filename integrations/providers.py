"""The identity providers the Integrations page offers, one card and one drawer each.

The card and drawer templates are generic; everything provider-specific (name, logo, the
settings to use on the provider's side) comes from the entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.models import IntegrationInstance

_NAMES = dict(IntegrationInstance.KIND_CHOICES)


@dataclass(frozen=True)
class Provider:
    kind: str
    vendor: str
    description: str
    logo: str  # a path under static/
    hints_template: str
    guide: str  # a slug of integrations.guides.GUIDE_FILES

    @property
    def name(self) -> str:
        """The card and drawer title, e.g. "OKTA via SCIM"."""
        return _NAMES[self.kind]


PROVIDERS: dict[str, Provider] = {
    provider.kind: provider
    for provider in (
        Provider(
            kind=IntegrationInstance.KIND_OKTA_SCIM,
            vendor="Okta",
            description="Create, update and deactivate ActivTrak users and push groups from Okta.",
            logo="img/okta.svg",
            hints_template="integrations/hints/okta_scim.html",
            guide="okta-setup",
        ),
        Provider(
            kind=IntegrationInstance.KIND_ENTRA_SCIM,
            vendor="Microsoft Entra ID",
            description=(
                "Provision ActivTrak users and groups from Microsoft Entra ID (formerly Azure AD)."
            ),
            logo="img/entra.svg",
            hints_template="integrations/hints/entra_scim.html",
            guide="entra-setup",
        ),
    )
}


def provider_get(kind: str) -> Provider | None:
    return PROVIDERS.get(kind)
