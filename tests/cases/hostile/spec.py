"""Hostile strings in env values and the command: quotes, backslashes, template sequences,
newlines, control characters and non-ASCII text. They must reach AWS exactly as written. Tags
take what IAM and ECS accept (letters and digits in any script, spaces, _ . : / = + - @)."""

from ecsgen import Fargate, Job, Team

team = Team(
    name="hostile",
    region="eu-west-1",
    tags={
        "unicode": "Zürich Genève 東京 Ελλάδα",
        "punctuation": "a_b.c:d/e=f+g-h@i",
    },
    jobs=[
        Job(
            name="escape",
            image="ghcr.io/example/trainer:v1",
            command=["python", "train.py", "--prompt", 'say "hi"\n${not.interpolated}'],
            nodes=2,
            compute=Fargate(cpu=1024, memory=2048),
            env={
                "MULTILINE": "line one\nline two\r\n\ttabbed",
                "TEMPLATE": "$${already} ${var.x} %{for} %%{x} $$ %",
                "CONTROL": "del\x7f nel\x85 (C0 controls but tab, newline and return are refused)",
                "UNICODE": "naïve café ☕",
                "JSONISH": '{"a": [1, "b\\\\c"]}',
            },
        ),
    ],
)
