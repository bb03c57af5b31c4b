from ecsgen import Team
X = 1
team = Team(name=undefined_name)
