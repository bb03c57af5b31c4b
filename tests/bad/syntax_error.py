from ecsgen import Team
team = Team(name="vision",
