from ecsgen import Team
X = 1
