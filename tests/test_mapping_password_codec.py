"""The mapping file's `password_codec:` key: which codec stores a target's SMTP passwords."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailprov.config.mapping_file import load_mapping
from mailprov.errors import ConfigError
from mailprov.model import REFERENCE, mapping_from_data

NOT_A_NAME = ("password_codec: must be the name of a password codec: letters, digits, '.', '_' "
              "or '-' (for example fernet, or the name a codec package declares in the "
              "entry-point group mailprov.password_codecs)")


def test_fernet_is_the_default_and_is_not_written() -> None:
    assert REFERENCE.password_codec == "fernet"
    assert REFERENCE.to_json() is None
    assert mapping_from_data({"version": 1}).password_codec == "fernet"


def test_another_codec_travels_with_the_mapping() -> None:
    mapping = mapping_from_data({"version": 1, "password_codec": "acme-maestro"})
    assert mapping.password_codec == "acme-maestro"
    assert not mapping.is_reference
    assert mapping.to_json() == {"version": 1, "password_codec": "acme-maestro"}
    assert mapping_from_data(mapping.to_json() or {}).password_codec == "acme-maestro"


def test_a_mapping_file_names_its_codec(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("version: 1\npassword_codec: acme.maestro_v2\n", encoding="utf-8")
    assert load_mapping(path).password_codec == "acme.maestro_v2"


@pytest.mark.parametrize("value", ["5", "'bad name'", "''", "[fernet]", "-fernet"])
def test_a_codec_name_that_cannot_be_one_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     value: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mapping.yaml").write_text(f"version: 1\npassword_codec: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_mapping("mapping.yaml")
    assert [p.format() for p in refused.value.problems] == [f"mapping.yaml:2:17: {NOT_A_NAME}"]
