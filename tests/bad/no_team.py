from gen import Team
X = 1
