"""Every value-set code names where it came from; ICD-10-CM categories expand as the verified lists say."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from cdshooks.fhir_read import concept
from cdshooks.terminology import load_sources, vs

ROOT = Path(__file__).resolve().parent.parent

VALUESETS = ROOT / "valuesets"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"


def _files() -> dict[str, dict]:
    return {
        p.name: yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        for p in sorted(VALUESETS.glob("*.yaml"))
        if p.name != "sources.yaml"
    }


def test_every_code_names_a_known_source() -> None:
    sources = load_sources(VALUESETS)
    missing = [
        f"{file}: {name}: {code.get('code')}"
        for file, sets in _files().items()
        for name, body in sets.items()
        for code in (body or {}).get("codes", [])
        if code.get("source") not in sources
    ]
    assert missing == []


def test_vsac_sources_are_pinned_and_used() -> None:
    sources = load_sources(VALUESETS)
    used = {
        code["source"] for sets in _files().values() for body in sets.values() for code in (body or {}).get("codes", [])
    }
    for key, source in sources.items():
        if source.kind == "vsac":
            assert source.oid and source.version and source.repository and source.commit and source.path, key
    assert {k for k, s in sources.items() if s.kind == "vsac"} <= used, "a VSAC source no value set takes codes from"


def test_a_code_without_provenance_is_refused(tmp_path: Path) -> None:
    from cdshooks.terminology import load_valuesets

    (tmp_path / "sources.yaml").write_text((VALUESETS / "sources.yaml").read_text(encoding="utf-8"))
    (tmp_path / "x.yaml").write_text("x:\n  title: x\n  codes: [{system: snomed, code: '1', status: VERIFIED}]\n")
    with pytest.raises(ValueError, match="source"):
        load_valuesets(tmp_path)


VERIFIED_LISTS = {  # value set -> the verified ICD-10-CM leaf list it must cover exactly (leaves only)
    "cutaneous_scc": "cSCC_C44_SCC_leaves",
    "basal_cell_carcinoma": "BCC_C44_BCC_leaves",
    "melanoma": "melanoma_C43_leaves",
    "merkel_cell_carcinoma": "merkel_C4A_leaves",
    "breast_cancer": "breast_C50_leaves",
    "neuroendocrine_tumour": "malignant_NET_C7A_leaves",
}


@pytest.mark.parametrize(("name", "listed"), VERIFIED_LISTS.items())
def test_icd10cm_categories_expand_to_the_verified_leaf_lists(name: str, listed: str) -> None:
    lists = json.loads((VALUESETS / "icd10cm_April2026.json").read_text(encoding="utf-8"))
    leaves = {code.replace(".", "") for code, _ in lists[listed]}
    members = {code for system, code in vs(name).members if system == "icd10cm"}
    assert leaves <= members
    import simple_icd_10_cm as cm

    assert {c for c in members if cm.is_leaf(cm.add_dot(c) if "." not in c else c)} == leaves


def icd(code: str, system: str = ICD) -> object:
    return concept({"coding": [{"system": system, "code": code}]})


@pytest.mark.parametrize(
    ("valueset", "code", "member"),
    [
        ("cutaneous_scc", "C44.42", True),
        ("cutaneous_scc", "C44.102", False),  # unspecified malignant neoplasm of eyelid skin: not SCC
        ("cutaneous_scc", "C44.132", False),
        ("solid_organ_transplant", "T86.12", True),  # kidney transplant failure: proves the graft
        ("solid_organ_transplant", "T86.41", True),
        ("solid_organ_transplant", "T86.810", True),
        ("solid_organ_transplant", "T86.842", False),  # corneal transplant infection
        ("solid_organ_transplant", "T86.01", False),  # marrow
        ("solid_organ_transplant", "Z94.7", False),
        ("liver_or_lung_transplant", "T86.40", True),
        ("liver_or_lung_transplant", "T86.11", False),
        ("history_of_melanoma", "Z85.820", True),
        ("melanoma", "C43.59", True),
        ("melanoma", "D03.59", False),  # in situ
    ],
)
def test_icd10cm_membership(valueset: str, code: str, member: bool) -> None:
    assert vs(valueset).matches(icd(code)) is member
    assert vs(valueset).matches(icd(code, "urn:oid:2.16.840.1.113883.6.90")) is member


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_valuesets", ROOT / "scripts" / "refresh_valuesets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_refresh_prints_what_changed_upstream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "ecqm"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    path = repo / "vs.json"

    def publish(version: str, codes: list[tuple[str, str]]) -> str:
        contains = [{"system": "http://snomed.info/sct", "code": c, "display": d} for c, d in codes]
        path.write_text(
            json.dumps({"resourceType": "ValueSet", "version": version, "expansion": {"contains": contains}})
        )
        _git(repo, "add", "vs.json")
        _git(repo, "commit", "-qm", version)
        return _git(repo, "rev-parse", "HEAD")

    first = publish("1", [("111", "Hospice care"), ("222", "Seen in hospice")])
    publish("2", [("111", "Hospice care"), ("333", "Hospice admission")])
    folder = tmp_path / "valuesets"
    folder.mkdir()
    (folder / "sources.yaml").write_text(
        yaml.safe_dump(
            {
                "vsac-x": {
                    "title": "X",
                    "kind": "vsac",
                    "oid": "1.2.3",
                    "version": "1",
                    "repository": "o/ecqm",
                    "commit": first,
                    "path": "vs.json",
                }
            }
        )
    )
    codes = [{"system": "snomed", "code": c, "display": d, "status": "VERIFIED", "source": "vsac-x"}
             for c, d in [("111", "Hospice care"), ("222", "Seen in hospice")]]  # fmt: skip
    (folder / "h.yaml").write_text(yaml.safe_dump({"hospice": {"title": "Hospice", "codes": codes}}))
    status = _script().main(["--repo", f"o/ecqm={repo}", "--valuesets", str(folder)])
    out = capsys.readouterr().out
    assert status == 1
    assert "vsac-x: version 1 -> 2" in out
    assert "hospice: snomed 222 (Seen in hospice) no longer listed" in out
    assert "hospice: snomed 333 (Hospice admission) added upstream" in out
    assert "111" not in out
