"""The generated module README as the ML engineer reads it: a Mermaid diagram of the stack that a
parser accepts and that names every service and capacity provider of the module's Terraform;
every `aws` command with the team's region; operating first; what each job holds while it runs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import hcl2
import pytest

from ecsgen.isolate import load_and_validate
from ecsgen.model import build
from ecsgen.model.readme import cost_rows, mermaid, ordinal
from ecsgen.pipeline import render_in_memory
from tests.conftest import EXAMPLES, ROOT

ID = r"[A-Za-z_][A-Za-z0-9_]*"
LABEL = r'"(?:[^"<>]|<br/>)*"'  # quoted; `"` `<` `>` only as entity codes, line breaks as <br/>
DIRECTIONS = ("LR", "RL", "TB", "TD", "BT")
RESERVED = {"end", "subgraph", "graph", "flowchart", "style", "class", "click", "linkStyle"}
NODE = re.compile(rf"^(?P<id>{ID})\[(?P<label>{LABEL})\]$")
SUBGRAPH = re.compile(rf"^subgraph (?P<id>{ID})\[(?P<label>{LABEL})\]$")
EDGE = re.compile(rf"^(?P<src>{ID}) (?P<arrow>-->|-\.->)(?:\|(?P<label>{LABEL})\|)? (?P<dst>{ID})$")


@dataclass
class Flowchart:
    nodes: dict[str, str] = field(default_factory=dict)  # id -> label text
    subgraphs: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (src, dst, label)

    def labels(self) -> str:
        return "\n".join([*self.nodes.values(), *self.subgraphs.values()])


def _text(label: str) -> str:
    return label[1:-1].replace("<br/>", "\n").replace("#quot;", '"').replace("#amp;", "&")


def parse_flowchart(block: str) -> Flowchart:
    """A strict parser for the subset of Mermaid's flowchart grammar ecsgen writes: a
    `flowchart DIR` header, `subgraph ID["label"]` ... `end`, nodes `ID["label"]` and edges
    `A --> B`, `A -.-> B`, each with an optional `|"label"|`. Anything else is an error, as are
    unbalanced subgraphs, an id defined twice or reserved, and an edge to an undefined node."""
    lines = [line.strip() for line in block.strip().splitlines()]
    assert lines and lines[0].split() == ["flowchart", lines[0].split()[-1]], lines[:1]
    assert lines[0].split()[-1] in DIRECTIONS, lines[0]
    chart = Flowchart()
    depth = 0
    for number, line in enumerate(lines[1:], start=2):
        where = f"line {number}: {line!r}"
        if line == "end":
            depth -= 1
            assert depth >= 0, f"{where}: `end` without `subgraph`"
        elif match := SUBGRAPH.match(line):
            name = match["id"]
            assert name not in RESERVED and name not in chart.nodes, where
            assert name not in chart.subgraphs, f"{where}: subgraph defined twice"
            chart.subgraphs[name] = _text(match["label"])
            depth += 1
        elif match := NODE.match(line):
            name = match["id"]
            assert name not in RESERVED and name not in chart.subgraphs, where
            assert name not in chart.nodes, f"{where}: node defined twice"
            chart.nodes[name] = _text(match["label"])
        elif match := EDGE.match(line):
            label = _text(match["label"]) if match["label"] else ""
            chart.edges.append((match["src"], match["dst"], label))
        else:
            pytest.fail(f"{where}: not Mermaid flowchart syntax ecsgen writes")
    assert depth == 0, "unclosed subgraph"
    for src, dst, _ in chart.edges:
        assert src in chart.nodes and dst in chart.nodes, (src, dst)
    return chart


def mermaid_blocks(readme: str) -> list[str]:
    return re.findall(r"^```mermaid\n(.*?)^```$", readme, re.S | re.M)


def _names(files: dict[str, str]) -> dict[str, set[str]]:
    """resource type -> the `name` arguments of its resources, from the module's parsed files.
    A name in a local value is read through it; an EC2 job's capacity name (a conditional on
    `<job>_capacity_generation`) is read at generation 0, the default."""
    found: dict[str, set[str]] = {}
    parsed = [hcl2.loads(text) for name, text in files.items() if name.endswith(".tf")]
    locals_ = {k: v for doc in parsed for block in doc.get("locals", []) for k, v in block.items()}

    def resolved(value: object) -> str:
        text = str(value).strip('"')
        local = re.fullmatch(r"\$\{local\.(\w+)\}", text)
        if local:
            text = str(locals_[local.group(1)])
            generation = re.search(r'_capacity_generation == 0 \? "([^"]+)"', text)
            return generation.group(1) if generation else text
        return text

    for doc in parsed:
        for block in doc.get("resource", []):  # labels keep their quotes
            for rtype, bodies in block.items():
                for body in bodies.values():
                    if "name" in body:
                        found.setdefault(rtype.strip('"'), set()).add(resolved(body["name"]))
    return found


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    return render_in_memory(sorted(EXAMPLES.glob("[!_]*.py")), ROOT / "output")


def test_the_parser_refuses_what_mermaid_would_not_draw() -> None:
    good = 'flowchart LR\n  subgraph s["x"]\n    a["A<br/>1"]\n  end\n  b["B"]\n  a -.->|"go"| b\n'
    chart = parse_flowchart(good)
    assert chart.nodes == {"a": "A\n1", "b": "B"} and chart.edges == [("a", "b", "go")]
    for bad in (
        good.replace("flowchart LR", "flowchart XY"),
        good.replace("  end\n", ""),
        good + "  a --> c\n",
        good + '  a["again"]\n',
        good + '  end["x"]\n',
    ):
        with pytest.raises(AssertionError):
            parse_flowchart(bad)
    for bad in (
        good + "  a --- b\n",
        good.replace("a -.->", "a ->"),
        good.replace('["B"]', '["say "hi""]'),
    ):
        with pytest.raises(pytest.fail.Exception):
            parse_flowchart(bad)


def test_each_diagram_parses_and_names_every_service_and_capacity_provider(
    rendered: dict[str, dict[str, str]],
) -> None:
    for team, files in rendered.items():
        (block,) = mermaid_blocks(files["README.md"])
        chart = parse_flowchart(block)
        labels = chart.labels()
        names = _names(files)
        services = names["aws_ecs_service"]
        providers = names.get("aws_ecs_capacity_provider", set())
        assert services, team
        for name in sorted(services | providers):
            assert re.search(rf"\b{re.escape(name)}\b", labels), (team, name)
        topic = names["aws_sns_topic"]
        assert any(f"SNS topic {t}" in labels for t in topic), team
        machines = names["aws_sfn_state_machine"]
        for name in machines:  # the completion path: rule -> state machine -> topic
            (sfn,) = [n for n, label in chart.nodes.items() if label.endswith(name)]
            assert (sfn, "topic", "outcome") in chart.edges, team


def test_the_committed_readmes_diagrams_parse() -> None:
    readmes = sorted((ROOT / "output").glob("*/README.md"))
    assert readmes
    for path in readmes:
        (block,) = mermaid_blocks(path.read_text(encoding="utf-8"))
        parse_flowchart(block)


def test_every_aws_command_names_the_team_region(rendered: dict[str, dict[str, str]]) -> None:
    regions = {c.name: c.region for c in load_and_validate(sorted(EXAMPLES.glob("[!_]*.py")))}
    for team, files in rendered.items():
        # the operating text (the inputs table only names `aws ecs execute-command` as a feature)
        operating = files["README.md"].split("<!-- BEGIN_TF_DOCS -->")[0]
        commands = re.findall(r"`(aws [^`]+)`", operating)
        assert len(commands) >= 5, team
        for command in commands:
            assert f"--region {regions[team]}" in command, (team, command)


def test_operating_comes_first_and_says_how_to_stop_now(
    rendered: dict[str, dict[str, str]],
) -> None:
    for team, files in rendered.items():
        headings = re.findall(r"^## (.+)$", files["README.md"], re.M)
        assert headings[0] == "Operating the jobs", (team, headings)
        assert "- Stop it now: `aws ecs update-service" in files["README.md"], team
        ordinals = re.findall(
            r"when the (\d+)(st|nd|rd|th) distinct leader task of", files["README.md"]
        )
        assert ordinals, team  # every example team has a job that runs to completion
        for number, suffix in ordinals:
            assert ordinal(int(number)) == number + suffix, team


def test_usage_source_matches_the_init_layout(rendered: dict[str, dict[str, str]]) -> None:
    from ecsgen.scaffold import scaffold_files

    root = scaffold_files()["terraform/main.tf"]
    (source,) = re.findall(r'source = "(\.\./[^"]+)"', root)
    for team, files in rendered.items():
        assert f'source = "../modules/{team}"' in files["README.md"], team
    assert source == "../modules/example"


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st",
        "111th",
    ]  # fmt: skip


def test_cost_rows_follow_the_capacity() -> None:
    teams = {c.name: c for c in load_and_validate(sorted(EXAMPLES.glob("[!_]*.py")))}
    checked = {"elastic": 0, "spot": 0, "fargate": 0}
    for config in teams.values():
        module = build(config, ROOT / "output", None)
        rows = cost_rows(module)
        assert len(mermaid(module)) > 5
        for job in config.jobs:
            mine = [r for r in rows if r.job == job.name]
            if job.elastic:
                checked["elastic"] += 1
                assert [r.nodes for r in mine] == [job.min_nodes, job.max_nodes]
            else:
                assert [r.nodes for r in mine] == [job.max_nodes]
            compute = job.compute
            for row in mine:
                if hasattr(compute, "instance"):
                    instance = compute.instance
                    per_hour = (
                        f"{row.nodes} instance-hours ({row.nodes * instance.vcpus} vCPU-hours"
                    )
                    assert row.per_hour.startswith(per_hour), row
                    assert row.per_day.startswith(f"{row.nodes * 24} instance-hours"), row
                    if compute.spot:
                        checked["spot"] += 1
                        assert "**Spot**" in row.capacity
                    else:
                        assert "on-demand" in row.capacity
                    assert job.keep_running or "at least 15 min" in row.after_run
                else:
                    checked["fargate"] += 1
                    vcpu = compute.cpu / 1024
                    assert row.capacity == f"Fargate {vcpu:g} vCPU / {compute.memory / 1024:g} GB"
                    assert f"{row.nodes * vcpu:g} vCPU-hours" in row.per_hour
                    assert job.keep_running or row.after_run.startswith("nothing")
    assert all(checked.values()), checked
