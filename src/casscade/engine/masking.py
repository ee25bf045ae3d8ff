"""The configured masking, ready to use: a Masker with its keys and the token vault.

One place for every command that masks or reads masked data (run, verify, audit,
detokenize), so they all use the same rules, keys and vault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from casscade.config.models import AgentConfig, ClickHouseDestination
from casscade.errors import ConfigError
from casscade.masking import KeyRing, Masker, TokenVault, load_keys


class Masking(NamedTuple):
    """A rule set and the vault of its tokens: what masks, replaced together on a reload."""

    masker: Masker | None = None
    vault: TokenVault | None = None


def masking_for(config: AgentConfig, environ: Mapping[str, str]) -> Masking:
    """The masker (None without rules) and the vault (None unless a rule tokenizes).

    Raises:
        ConfigError: a key cannot be read (its variable unset, its file unreadable...).
    """
    if not config.masking.tables:
        return Masking()
    keys = load_keys(config.masking, environ=environ)
    masker = Masker(config.masking, keys)
    vault = vault_for(config, keys) if config.masking.tokenizes else None
    return Masking(masker, vault)


def vault_for(config: AgentConfig, keys: KeyRing) -> TokenVault:
    """The token vault in the database of `masking.vault.destination`.

    Raises:
        ConfigError: no such postgres or timescaledb destination.
    """
    name = config.masking.vault.destination
    for destination in config.destinations:
        if destination.name == name and not isinstance(destination, ClickHouseDestination):
            return TokenVault(destination.conninfo(), keys, config.masking.vault)
    raise ConfigError("masking.vault.destination", f"no postgres destination named {name}")
