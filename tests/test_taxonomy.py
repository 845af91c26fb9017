"""Taxonomy files: validation with lines, extends, bundled names, examples."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from analyzer.errors import TaxonomyError
from analyzer.taxonomy import bundled_taxonomies, load_taxonomy, taxonomy_from_text
from analyzer.taxonomy_check import test_taxonomy as run_examples

TAXONOMIES = Path(__file__).parent / "fixtures" / "taxonomies"

#: (line, key, words of the message) of every problem in fixtures/taxonomies/broken.yaml.
BROKEN = [
    (3, "version", 'expected a text, got 1.2 (put it in quotes: "1.2")'),
    (5, "treshold", 'unknown key "treshold"'),
    (7, "settings.min_score", 'expected a number, got "high"'),
    (8, "settings.ambiguity_ratio", "at most 1, got 2"),
    (9, "settings.fields[1]", 'unknown field "summary"'),
    (13, "scope.in_scope_contexts[1]", 'unknown context "kids" (known: youth)'),
    (19, "dimensions.approach.categories", 'duplicate category id "response"'),
    (20, "dimensions.approach.categories", '"unclassified" is implicit'),
    (21, "dimensions.approach.categories[3].side", 'unknown side "sideways"'),
    (22, "dimensions.rights", "has no categories"),
    (25, 'dimensions.rights.categories[0] "health"', 'missing required key "label"'),
    (27, 'rules[0] "police-prevention"', 'unknown category "responce"'),
    (33, "rules[1].weight", 'expected a number, got "high"'),
    (37, "rules[2].treshold", 'unknown key "treshold"'),
    (40, "rules[3].patterns[0]", "look-around or a back-reference"),
    (41, 'rules[4] "empty"', "at least one phrase or pattern"),
    (43, 'rules[5] "weighted"', 'duplicate rule id "weighted"'),
    (45, "rules[5].phrases[0]", 'phrase "..." has no letters or digits'),
    (48, "examples[0].approach", 'unknown approach category "responce"'),
    (49, "examples[1]", "an example needs an expected category"),
]

MINIMAL = """
name: mini
version: "1"
description: minimal
dimensions:
  approach:
    kind: primary
    categories:
      - {id: response, label: Response, order: 1}
      - {id: intervention, label: Intervention, order: 2}
"""


def test_a_broken_taxonomy_gives_every_problem_with_its_line():
    with pytest.raises(TaxonomyError) as error:
        load_taxonomy(TAXONOMIES / "broken.yaml")
    problems = error.value.problems
    assert str(error.value.message).endswith(f"{len(BROKEN)} problems")
    assert len(problems) == len(BROKEN)
    for (line, key, words), problem in zip(BROKEN, problems, strict=True):
        assert problem.startswith(f"{TAXONOMIES / 'broken.yaml'}, line {line}, {key}: "), problem
        assert words in problem


def test_unknown_category_suggests_the_closest():
    with pytest.raises(TaxonomyError) as error:
        load_taxonomy(TAXONOMIES / "broken.yaml")
    assert 'did you mean "response"?' in error.value.describe()


def test_invalid_yaml_and_empty_files_say_where():
    with pytest.raises(TaxonomyError) as error:
        taxonomy_from_text("name: x\nrules: [\n  - a: b\n", source="bad.yaml")
    assert "bad.yaml, line" in error.value.problems[0]
    assert "not valid YAML" in error.value.problems[0]
    with pytest.raises(TaxonomyError, match="1 problem"):
        taxonomy_from_text("", source="empty.yaml")


def test_exactly_one_primary_dimension():
    text = MINIMAL.replace("kind: primary", "kind: multi")
    with pytest.raises(TaxonomyError) as error:
        taxonomy_from_text(text)
    assert "exactly one dimension of kind primary, found none" in error.value.describe()


def test_a_decimal_number_in_a_phrase_list_must_be_quoted():
    text = (
        MINIMAL
        + "rules:\n  - {id: trafficking-cfda, category: intervention, phrases: [16.320, 1983]}\n"
    )
    with pytest.raises(TaxonomyError) as error:
        taxonomy_from_text(text, source="t.yaml")
    assert "rules[0].phrases[0]: 16.32 was read as a number" in error.value.describe()
    assert "1983" not in error.value.describe()  # a whole number loses nothing
    quoted = taxonomy_from_text(text.replace("16.320", '"16.320"'))
    assert quoted.rules[0].phrases == ("16.320", "1983")


def test_extends_adds_replaces_and_disables(tmp_path):
    child = load_taxonomy(TAXONOMIES / "child.yaml")
    base = load_taxonomy(TAXONOMIES / "base.yaml")
    assert [r.id for r in child.rules] == ["task-force", "shelter", "schools"]
    shelter = next(r for r in child.rules if r.id == "shelter")
    assert shelter.phrases == ("shelter", "safe home") and shelter.requires == ()
    assert child.settings.min_score == 0.5 and child.settings.split_min_score == 2.0
    assert list(child.primary.categories) == ["response", "intervention", "prevention"]
    assert len(child.examples) == 3
    assert child.files == ["base.yaml", str(TAXONOMIES / "child.yaml")]
    assert child.sha256 != base.sha256
    assert run_examples(child).passed


def test_extends_a_bundled_taxonomy_and_disable_unknown_rule():
    text = """
name: mine
version: "1"
description: prevention levels, plus a category
extends: prevention-levels
disable: [nope]
dimensions:
  approach:
    categories:
      - {id: harm-reduction, label: Harm reduction, order: 4}
rules:
  - {id: syringes, category: harm-reduction, phrases: [syringe services]}
"""
    with pytest.raises(TaxonomyError) as error:
        taxonomy_from_text(text)
    assert 'no inherited rule "nope" to disable' in error.value.describe()
    extended = taxonomy_from_text(text.replace("disable: [nope]", "disable: [not-health]"))
    assert "not-health" not in {r.id for r in extended.rules}
    assert list(extended.primary.categories)[-1] == "harm-reduction"
    assert extended.files == ["prevention-levels.yaml", "inline.yaml"]


def test_extends_loops_are_refused():
    with pytest.raises(TaxonomyError, match="extends itself"):
        load_taxonomy(TAXONOMIES / "loop_a.yaml")


def test_bundled_taxonomies_resolve_through_package_data():
    assert {"csec", "prevention-levels"} <= set(bundled_taxonomies())
    assert resources.files("analyzer.taxonomies").joinpath("csec.yaml").is_file()
    csec = load_taxonomy("csec")
    assert csec.source == "csec.yaml" and csec.primary.id == "approach"
    with pytest.raises(TaxonomyError) as error:
        load_taxonomy("cesc")
    assert "prevention-levels" in error.value.describe()
    with pytest.raises(TaxonomyError, match="not found"):
        load_taxonomy("no/such/file.yaml")


def test_an_examples_text_fields_are_read_in_a_fixed_order():
    # They were read from a set: the order changed with the hash seed of the process.
    text = MINIMAL + "examples:\n  - {description: b, title: t, text: a, approach: response}\n"
    example = taxonomy_from_text(text).examples[0]
    assert example.fields == {"description": "a b", "title": "t"}
    assert example.label() == "a b / t"
