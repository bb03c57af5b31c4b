team = (
