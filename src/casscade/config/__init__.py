"""The agent's configuration: models (models.py) and loading from YAML and the environment."""
