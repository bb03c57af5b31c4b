from gen import Team
team = Team(name="vision",
