"""Hostile strings in env values and tags: quotes, backslashes, template sequences, newlines,
control characters and non-ASCII text. They must reach AWS exactly as written."""

from gen import Fargate, Job, Team

team = Team(
    name="hostile",
    region="eu-west-1",
    tags={
        'quote"key': 'value with "quotes" and \\backslashes\\',
        "template": "${jsonencode(var.tags)} and %{ if true }x%{ endif }",
        "unicode": "Zürich – 東京 – 🚀",
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
                "CONTROL": "bell\x07 esc\x1b del\x7f",
                "UNICODE": "naïve café ☕",
                "JSONISH": '{"a": [1, "b\\\\c"]}',
            },
        ),
    ],
)
