"""Frozen value types shared by every layer: the desired state read from the files
(`settings`), the live state read from maestro*, and where a database keeps them
(`mapping`). Nothing here does I/O."""

from mailprov.model.mapping import REFERENCE, DbMapping, mapping_from_data
from mailprov.model.settings import (
    CLIENTS,
    EDITIONS,
    FIELD_BY_NAME,
    GENERAL_SMTP_FIELDS,
    INHERITED_FIELDS,
    OVERRIDE,
    OVERRIDE_FIELDS,
    Config,
    DesiredGeneral,
    DesiredOverride,
    DesiredUser,
    GeneralSettings,
    LiveState,
    LiveUser,
    Locator,
    MailSettings,
    NoPositions,
    OverrideField,
    Safety,
    SmtpServer,
    Source,
    Target,
    split_setting,
    stored_values,
)

__all__ = [
    "CLIENTS", "EDITIONS", "FIELD_BY_NAME", "GENERAL_SMTP_FIELDS", "INHERITED_FIELDS",
    "OVERRIDE", "OVERRIDE_FIELDS", "REFERENCE", "Config", "DbMapping", "DesiredGeneral",
    "DesiredOverride", "DesiredUser", "GeneralSettings", "LiveState", "LiveUser", "Locator",
    "MailSettings", "NoPositions", "OverrideField", "Safety", "SmtpServer", "Source", "Target",
    "mapping_from_data", "split_setting", "stored_values",
]
