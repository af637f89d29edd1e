"""The plain series.yaml reader answers exactly what PyYAML answers, or steps aside (None)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from librechat_dynmodels.catalog import default_catalog_dir
from librechat_dynmodels.plainyaml import parse_plain, yaml_scalar

SHIPPED = sorted(default_catalog_dir().glob("*/series.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_every_shipped_series_yaml_takes_the_plain_path_and_reads_as_pyyaml_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert parse_plain(text) is not None
    assert parse_plain(text) == yaml.safe_load(text)


TRICKY = [
    "id: a\nnative:\n",  # null, not an empty list
    "id: a\nnative: yes\n",  # YAML 1.1 boolean
    "id: a\nnative: on\n",
    "id: a\ncount: 12\n",
    "id: a\nversion: 1.5\n",
    "id: a\nwhen: 2024-01-01\n",
    "id: a\nnothing: null\n",
    "id: a\nnothing: ~\n",
    "id: 'it''s'\n",
    'id: "a \\"quoted\\" \\u00e9 word"\n',
    "id: a # a comment\n",
    "id: a#b\n",
    "id: 'a' # comment\n",
    'librechat: [v0.8.3, "v0.8.4"]\n',
    "librechat: []\n",
    "librechat: [[nested]]\n",
    "librechat: [a, {b: c}]\n",
    "librechat: [yes, no]\n",
    "description: a: b\n",
    "description: >\n  folded\n",
    "description: |\n  literal\n",
    "id: &anchor a\nother: *anchor\n",
    "id: a\nid: b\n",
    "patches:\n  - file: 0001-backend.patch\n    component: backend\n",
    "patches:\n  - file: 0001-backend.patch\n    file: again\n",
    "patches:\n  - file: x\n      component: too-deep\n",
    "patches:\n- file: x\n",
    "patches:\n\t- file: x\n",
    "patches: # the list\n  - file: x\n    description: \"with: colon\"\n",
    "description: ends with colon:\n",
    "description: !!str tagged\n",
    "description: 0x1F\n",
    "description: 0001-2-03\n",
    "description: 12-ab\n",
    "key: - a\n",
    "- just a list\n",
    "",
    "# only a comment\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_yaml_is_read_as_pyyaml_reads_it_or_left_to_pyyaml(text: str) -> None:
    plain = parse_plain(text)
    assert plain is None or plain == yaml.safe_load(text)


WORDS = ["v0.8.3", "backend", "client", "0001-x.patch", "it's", "a: b", "yes", "12", "1.5", "#x", "a #b", "é", "true"]


def random_series(rng: random.Random) -> dict[str, object]:
    def text() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))

    return {
        "id": text(),
        "description": text(),
        "librechat": [rng.choice(WORDS) for _ in range(rng.randint(0, 3))],
        "native": rng.choice([True, False]),
        "patches": [
            {"file": rng.choice(WORDS), "component": text(), "description": text()}
            for _ in range(rng.randint(1, 3))
        ],
    }


def test_random_series_dumped_by_pyyaml_in_every_style_read_back_the_same() -> None:
    rng = random.Random(7)
    plain_path_taken = 0
    for _ in range(300):
        data = random_series(rng)
        for flow in (None, False):  # None: lists of mappings in flow style, which the plain reader leaves alone
            text = yaml.safe_dump(data, default_flow_style=flow, sort_keys=False, allow_unicode=True)
            # the catalog's layout indents the items of `patches` by two spaces
            text = text.replace("\n- ", "\n  - ").replace("\n  ", "\n    ").replace("\n    - ", "\n  - ")
            plain = parse_plain(text)
            if plain is not None:
                plain_path_taken += 1
                assert plain == yaml.safe_load(text), text
    assert plain_path_taken > 20  # the plain path is really exercised


SCALARS = [
    "Backend: per-user cache, POST /api/models/fetch",
    "a # not a comment",
    "yes",
    "null",
    "12",
    "- a list?",
    "[v0.8.3]",
    "{not: a map}",
    " leading space",
    "trailing space ",
    "it's",
    'say "hi"',
    "tab\there",
    "é ünïcode – dash",
    "",
    "plain words, with (parens) and a/slash",
]


@pytest.mark.parametrize("value", SCALARS)
def test_a_written_scalar_reads_back_as_the_same_string_in_both_readers(value: str) -> None:
    text = f"id: x\ndescription: {yaml_scalar(value)}\n"
    assert yaml.safe_load(text)["description"] == value
    plain = parse_plain(text)
    assert plain is None or plain["description"] == value


def test_a_plain_word_stays_unquoted() -> None:
    assert yaml_scalar("dynmodels-v0.8.5") == "dynmodels-v0.8.5"
    assert yaml_scalar("0001-backend-user-models.patch") == "0001-backend-user-models.patch"
